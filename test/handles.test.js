'use strict';
// src/convert/handles.rs: identity, release, garbage collection, forged and stale handles.
const test = require('node:test');
const assert = require('node:assert');
const { clib } = require('..');
const { runNode, lastJson } = require('./helpers');

test('a handle has the documented fields and a lazy repr', () => {
  const h = clib._eval('object()');
  assert.strictEqual(h.type, 'python-ts/PyObject*');
  assert.match(h.value, /^\d+$/);
  assert.strictEqual(h.pytype, 'object');
  assert.strictEqual(typeof h.time, 'number');
  assert.strictEqual(typeof h.index, 'number');
  assert.strictEqual(h.state, undefined);
  assert.match(h.repr, /^<object object at 0x/);
});

test('one Python object maps to one live handle (identity kept)', () => {
  const a = clib._import_module('json');
  const b = clib._import_module('json');
  assert.strictEqual(a, b);
  clib._exec('_o = object()');
  assert.strictEqual(clib._eval('_o'), clib._eval('_o'));
  assert.notStrictEqual(clib._eval('object()'), clib._eval('object()'));
});

test('references and objects are live views', () => {
  const before = clib.references.length;
  const h = clib._eval('object()');
  assert.strictEqual(clib.references.length, before + 1);
  assert.ok(clib.references.includes(h));
  assert.strictEqual(clib.objects[h.value], h);
  clib._delete_pyobject(h);
  assert.strictEqual(clib.references.length, before);
  assert.strictEqual(clib.objects[h.value], undefined);
});

test('_delete_pyobject releases early; a released handle throws a clear error', () => {
  clib._exec('import sys\nclass _T: pass\n_t = _T()');
  const h = clib._eval('_t');
  const rc = clib._eval('sys.getrefcount(_t)');
  assert.strictEqual(clib._delete_pyobject(h), true);
  assert.strictEqual(clib._eval('sys.getrefcount(_t)'), rc - 1);
  assert.strictEqual(clib._delete_pyobject(h), false);
  assert.throws(() => clib._call_python(h, '__repr__', []), /was released/);
  assert.throws(() => clib._internals.pyobject_to_napi_value(h), /was released/);
  const again = clib._eval('_t');
  assert.notStrictEqual(again, h);
  assert.strictEqual(again.value, h.value);
});

test('forged handles and wrong types are errors, never dereferenced', () => {
  const real = clib._import_module('os');
  const forged = { type: 'python-ts/PyObject*', value: real.value, repr: 'x', pytype: 'module' };
  assert.throws(() => clib._call_python(forged, 'getcwd', []), (e) => e instanceof Error && /cannot be forged/.test(e.message));
  assert.throws(() => clib._internals.deserialize_pyobject(forged), /cannot be forged/);
  assert.throws(() => clib._internals.deserialize_pyobject({ type: 'python-ts/PyObject*', value: '12345' }), /cannot be forged/);
  assert.throws(() => clib._call_python(Object.assign(Object.create(real), {}), 'getcwd', []), /cannot be forged/);
  assert.throws(() => clib._call_python('12345', 'getcwd', []), TypeError);
  assert.throws(() => clib._call_python(12345, 'getcwd', []), TypeError);
  assert.throws(() => clib._delete_pyobject(forged), /not a Python object handle/);
  assert.strictEqual(clib._internals.is_pyobject(forged), false);
  assert.strictEqual(clib._internals.is_pyobject(real), true);
});

test('handles of a destroyed runtime are dead: clear errors, and a fresh runtime works', () => {
  const r = runNode(`const { clib } = require('.');
    const h = clib._eval('object()');
    clib._destroy_python();
    const out = {};
    try { clib._call_python(h, '__repr__', []); } catch (e) { out.call = e.message; }
    out.released = clib._delete_pyobject(h);
    out.fresh = clib._eval('1 + 1');
    try { clib._internals.pyobject_to_napi_value(h); } catch (e) { out.after = e.message; }
    console.log(JSON.stringify(out));`, { env: { PYTHON_TS_PYTHON: require('./helpers').supportedPythons().filter(require('./helpers').reinitSafe).pop().exe } });
  const out = lastJson(r);
  assert.match(out.call, /destroyed/);
  assert.strictEqual(out.released, false);
  assert.strictEqual(out.fresh, 2);
  assert.match(out.after, /destroyed/);
});

test('JS garbage collection releases Python references by itself (10 000 handles)', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('import sys\\nclass _T: pass\\n_t = _T()');
    const base = clib._eval('sys.getrefcount(_t)');
    const start = clib.references.length;
    let hs = [];
    for (let i = 0; i < 10000; i++) hs.push(clib._eval('object()'));
    const peak = clib.references.length;
    let hold = []; for (let i = 0; i < 100; i++) hold.push(clib._eval('_t'));
    const held = clib._eval('sys.getrefcount(_t)');
    hs = null; hold = null;
    const wait = () => new Promise((r) => setImmediate(r));
    (async () => {
      for (let i = 0; i < 10; i++) { global.gc(); await wait(); }
      clib._eval('0');
      console.log(JSON.stringify({ start, peak, end: clib.references.length, base, held, after: clib._eval('sys.getrefcount(_t)') }));
    })();`, { args: ['--expose-gc'] });
  const out = lastJson(r);
  assert.strictEqual(out.peak - out.start, 10000);
  assert.ok(out.end - out.start < 100, `references fell back: ${JSON.stringify(out)}`);
  assert.strictEqual(out.held, out.base + 1, 'one handle holds one reference');
  assert.strictEqual(out.after, out.base, 'refcount back to its start');
});

test('a handle from a worker thread env is unknown to another env', () => {
  const r = runNode(`const { Worker } = require('worker_threads');
    const { clib } = require('.');
    const mine = clib._import_module('os');
    const w = new Worker(\`const { clib } = require(${JSON.stringify(require('path').resolve(__dirname, '..'))});
      const { parentPort } = require('worker_threads');
      const h = clib._import_module('os');
      parentPort.postMessage({ value: h.value, cwd: clib._call_python(h, 'getcwd', []) });\`, { eval: true });
    w.on('message', (m) => {
      const out = { same: m.value === mine.value, cwd: typeof m.cwd };
      try { clib._call_python({ type: 'python-ts/PyObject*', value: m.value }, 'getcwd', []); } catch (e) { out.err = e.message; }
      out.mine = typeof clib._call_python(mine, 'getcwd', []);
      console.log(JSON.stringify(out));
    });`);
  const out = lastJson(r);
  assert.strictEqual(out.same, true);
  assert.strictEqual(out.cwd, 'string');
  assert.match(out.err, /cannot be forged/);
  assert.strictEqual(out.mine, 'string');
});
