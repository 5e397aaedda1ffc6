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

test('a wrong use fails to compile (the check has teeth)', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const fs = require('fs');
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'python-ts-types-'));
  fs.writeFileSync(path.join(dir, 'bad.ts'), "import { Python } from 'python-ts';\nconst n: number = new Python().exec('x');\n");
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: [], baseUrl: '.', paths: { 'python-ts': [path.join(ROOT, 'js', 'index.d.ts')] } }, files: ['bad.ts'] }));
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.notStrictEqual(r.status, 0);
  assert.match(r.stdout, /not assignable to type 'number'/);
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
