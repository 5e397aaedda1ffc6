'use strict';
// js/index.d.ts and js/index.mjs: the typings compile against a usage file; ES module import works.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { lastJson, nodeFor, ROOT } = require('./helpers');

test('the typings compile against a file that uses every public method (tsc --noEmit)', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
});

/** Compile `files` ({ name: source }) with strict settings and `lib` (undefined: the target's default). */
function compile(files, lib) {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const fs = require('fs');
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'python-ts-types-'));
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
  const compilerOptions = { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: [], baseUrl: '.', paths: { 'python-ts': [path.join(ROOT, 'js', 'index.d.ts')] } };
  if (lib) compilerOptions.lib = lib;
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: Object.keys(files) }));
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

test('the typings compile on the default lib of the target and with esnext (Symbol.dispose declared once either way)', () => {
  const usage = require('fs').readFileSync(path.join(__dirname, 'types', 'usage.ts'), 'utf8');
  for (const lib of [undefined, ['esnext']]) {
    const r = compile({ 'usage.ts': usage }, lib);
    assert.strictEqual(r.status, 0, `lib ${lib}: ${r.stdout}${r.stderr}`);
  }
});

test('each wrong use fails to compile (the check has teeth)', () => {
  const head = "import { Python, PythonPool, clib, kwargs } from 'python-ts';\nconst py = new Python();\n";
  const misuses = {
    'result.ts': "const n: number = py.exec('x');",
    'pool-size.ts': 'const pool = new PythonPool({});',
    'converter.ts': "py.registerConverter('decimal.Decimal', 5);",
    'converter-name.ts': 'py.registerConverter(7, null);',
    'context.ts': "clib._create_pycontext({ ownGil: 'yes' });",
    'import.ts': 'py.import(5);',
    'readonly.ts': "const pool = new PythonPool({ size: 1 }); pool.ownGil = true;",
    'unknown.ts': "py.evaluate('1');",
    'kwargs.ts': "py.call(py.import('os'), 'getcwd', [], kwargs('indent'));",
  };
  const files = Object.fromEntries(Object.entries(misuses).map(([name, body]) => [name, head + body + '\n']));
  const r = compile(files);
  assert.notStrictEqual(r.status, 0);
  for (const name of Object.keys(misuses)) assert.match(r.stdout, new RegExp(`\\b${name.replace('.', '\\.')}\\(\\d+,\\d+\\): error TS`), `${name} must fail to compile:\n${r.stdout}`);
});

test('import { Python } from python-ts works as an ES module', () => {
  // A module file inside the package (its self-reference resolves 'python-ts'); a file rather than
  // `-e`, which Deno's Node compatibility runs without dynamic import().
  const dir = path.join(ROOT, 'test', '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `esm-import-${process.pid}.mjs`);
  fs.writeFileSync(file, `import { Python, clib, kwargs, PythonError, PythonPool } from 'python-ts';
    import cjs from 'python-ts';
    const py = new Python();
    console.log(JSON.stringify({ v: py.eval('40 + 2'), same: cjs.clib === clib, types: [typeof kwargs, typeof PythonError, typeof PythonPool] }));`);
  try {
    const r = spawnSync(nodeFor({}), [file], { cwd: ROOT, encoding: 'utf8' });
    assert.deepStrictEqual(lastJson({ stdout: r.stdout || '', stderr: r.stderr, status: r.status }), { v: 42, same: true, types: ['function', 'function', 'function'] });
  } finally {
    fs.rmSync(file, { force: true });
  }
});
