'use strict';
// `python-ts types`: the .d.ts of Python modules, from what the embedded interpreter knows of them
// (extract.py, run inside it) rendered to TypeScript (render.js).
const fs = require('fs');
const path = require('path');
const { render } = require('./render');

const EXTRACTOR = path.join(__dirname, 'extract.py');

/**
 * The models of `modules` (names, submodules included: 'os.path'), made in `py`.
 * @param py a Python instance
 * @param modules module names
 * @param stubs extra folders searched first for .pyi stubs (a typeshed checkout's stdlib/)
 */
function describe(py, modules, { stubs = [] } = {}) {
  // The extractor is loaded under a private name, not put on sys.path.
  py.exec([
    'import importlib.util as _u, sys as _s',
    "if '_python_ts_typegen' not in _s.modules:",
    `    _spec = _u.spec_from_file_location('_python_ts_typegen', ${JSON.stringify(EXTRACTOR)})`,
    '    _m = _u.module_from_spec(_spec)',
    "    _s.modules['_python_ts_typegen'] = _m",
    '    _spec.loader.exec_module(_m)',
    'del _u, _s',
  ].join('\n'));
  const gen = py.import('_python_ts_typegen');
  return gen.describe(modules, stubs);
}

/**
 * Write one .d.ts per module into `out`; returns what was written.
 * @returns {{ files: string[], models: object[], bytes: number }}
 */
function generate(py, modules, { out = 'python-types', stubs = [] } = {}) {
  const models = describe(py, modules, { stubs });
  // each module's file is named after it (`os.path` → `os.path.d.ts`)
  const files = Object.fromEntries(modules.map((m) => [m, m]));
  fs.mkdirSync(out, { recursive: true });
  const written = [];
  let bytes = 0;
  for (const model of models) {
    const text = render(model, files);
    const file = path.join(out, `${model.name}.d.ts`);
    fs.writeFileSync(file, text);
    written.push(file);
    bytes += Buffer.byteLength(text);
  }
  return { files: written, models, bytes };
}

/** The modules of a plugin folder: its top-level .py files and packages. */
function modulesIn(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
    if (e.isFile() && e.name.endsWith('.py')) out.push(e.name.slice(0, -3));
    else if (e.isDirectory() && fs.existsSync(path.join(dir, e.name, '__init__.py'))) out.push(e.name);
  }
  return out.sort();
}

module.exports = { describe, generate, modulesIn, render };
