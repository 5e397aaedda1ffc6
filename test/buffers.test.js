'use strict';
// src/convert/buffers.rs: zero-copy TypedArray views over Python buffers, and numpy.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { clib, Python } = require('..');
const { runNode, runNodeAsync, lastJson, supportedPythons, numpyPython, reinitSafe, ROOT } = require('./helpers');

clib._exec("import array\n_arr = array.array('d', [1.5, 2.5, 3.5])\n_ba = bytearray(b'abc')\n_by = b'xyz'");

test('a view of array.array("d") is a Float64Array over its memory: writes are seen by Python', () => {
  const v = clib._buffer_view(clib._eval('_arr'));
  assert.ok(v.data instanceof Float64Array);
  assert.deepStrictEqual(Array.from(v.data), [1.5, 2.5, 3.5]);
  assert.deepStrictEqual(v.shape, [3]);
  assert.deepStrictEqual(v.strides, [1]);
  assert.strictEqual(v.format, 'd');
  assert.strictEqual(v.readonly, false);
  assert.strictEqual(v.copied, false);
  v.data[1] = 42;
  assert.strictEqual(clib._eval('_arr[1]'), 42);
});

test('bytes are viewed read-only (through a memoryview handle); bytearray writable', () => {
  const rb = clib._buffer_view(clib._eval('memoryview(_by)'));
  assert.strictEqual(rb.readonly, true);
  assert.deepStrictEqual(Buffer.from(rb.data.buffer, rb.data.byteOffset, rb.data.length).toString(), 'xyz');
  const wb = clib._buffer_view(clib._eval('memoryview(_ba)'));
  assert.strictEqual(wb.readonly, false);
  wb.data[0] = 'z'.charCodeAt(0);
  assert.deepStrictEqual(clib._eval('bytes(_ba)'), Buffer.from('zbc'));
});

test('2-D shapes and strides; non-contiguous data is copied in C order', () => {
  const v = clib._buffer_view(clib._eval("memoryview(bytearray(range(12))).cast('B', [3, 4])"));
  assert.deepStrictEqual(v.shape, [3, 4]);
  assert.deepStrictEqual(v.strides, [4, 1]);
  assert.strictEqual(v.copied, false);
  const s = clib._buffer_view(clib._eval('memoryview(bytearray(range(12)))[::3]'));
  assert.deepStrictEqual(Array.from(s.data), [0, 3, 6, 9]);
  assert.strictEqual(s.copied, true);
});

test('formats with no TypedArray are refused clearly; objects without the buffer protocol are PythonErrors', () => {
  assert.throws(() => clib._buffer_view(clib._eval("array.array('u', 'ab')")), (e) => e instanceof TypeError && /buffer format "[uw]"/.test(e.message));
  clib._exec('import ctypes\nclass _P(ctypes.Structure):\n    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]\n_structs = (_P * 2)()');
  assert.throws(() => clib._buffer_view(clib._eval('_structs')), (e) => e instanceof TypeError && /has no TypedArray/.test(e.message));
  assert.throws(() => clib._buffer_view(clib._eval('object()')), (e) => e.name === 'TypeError' && e.pyType === 'TypeError');
  assert.throws(() => clib._buffer_view(5), TypeError);
});

test('the view keeps the Python object alive after Python drops it', () => {
  clib._exec("_tmp = array.array('i', range(1000))");
  const v = clib._buffer_view(clib._eval('_tmp'));
  clib._exec('del _tmp\nimport gc; gc.collect()\n_junk = [bytearray(4000) for _ in range(1000)]');
  assert.strictEqual(v.data[999], 999);
  assert.strictEqual(v.data[0], 0);
});

test('Python#view gives the same, and 1M floats are viewed without a copy', () => {
  const py = new Python();
  py.exec("_big = array.array('d', range(1000000))");
  const v = py.view(py.eval('_big'));
  assert.strictEqual(v.data.length, 1000000);
  assert.strictEqual(v.data[999999], 999999);
  assert.strictEqual(v.copied, false);
});

test('views are detached (length 0) when their context or the runtime ends', () => {
  const r = runNode(`const { clib } = require('.');
    const ctx = clib._create_pycontext();
    clib._exec("import array\\nx = array.array('i', [1, 2, 3])", ctx);
    const cv = clib._buffer_view(clib._eval('x', ctx), ctx);
    const before = cv.data.length;
    clib._delete_pycontext(ctx);
    clib._exec("import array\\ny = array.array('d', [1, 2])");
    const mv = clib._buffer_view(clib._eval('y'));
    clib._destroy_python();
    console.log(JSON.stringify({ before, ctx: cv.data.length, main: mv.data.length }));`,
  { env: { PYTHON_TS_PYTHON: supportedPythons().filter(reinitSafe).pop().exe } });
  assert.deepStrictEqual(lastJson(r), { before: 3, ctx: 0, main: 0 });
});

test('a worker holding views blocks destroying the runtime with a clear error', async () => {
  const r = await runNodeAsync(`const { Worker } = require('worker_threads');
    const { clib } = require('.');
    clib._exec('1');
    const w = new Worker(${JSON.stringify(`const { clib } = require(${JSON.stringify(ROOT)}); clib._exec("import array\\nz = array.array('d', [1])"); globalThis.v = clib._buffer_view(clib._eval('z')); setInterval(() => {}, 1000); require('worker_threads').parentPort.postMessage(v.data[0]);`)}, { eval: true });
    w.on('message', () => {
      let err; try { clib._destroy_python(); } catch (e) { err = e.message; }
      console.log(JSON.stringify({ err: /another JavaScript environment/.test(err), msg: err }));
      w.terminate();
    });`);
  const out = lastJson(r);
  assert.strictEqual(out.err, true, out.msg);
});

test('numpy: arrays are viewed with dtype, shape and strides, without a copy; JS typed arrays reach numpy with the right dtype', (t) => {
  const py = numpyPython();
  if (!py) return t.skip('numpy could not be installed into a venv on this machine');
  const r = runNode(`const { clib } = require('.');
    clib._exec('import numpy as np\\na = np.arange(12, dtype=np.float64).reshape(3, 4)\\ni = np.arange(6, dtype=np.int32)\\nt = a.T\\ndef info(m):\\n    x = np.asarray(m)\\n    return [str(x.dtype), list(x.shape), bool(np.shares_memory(x, m)), float(x.sum())]');
    const v = clib._buffer_view(clib._eval('a'));
    v.data[5] = 100;
    const vi = clib._buffer_view(clib._eval('i'));
    const vt = clib._buffer_view(clib._eval('t'));
    const m = clib._import_module('__main__');
    const fromJs = clib._call_python(m, 'info', [new Float64Array([1, 2, 3.5])]);
    const fromJsI = clib._call_python(m, 'info', [new Int16Array([1, 2])]);
    console.log(JSON.stringify({
      kind: v.data.constructor.name, shape: v.shape, strides: v.strides, copied: v.copied, seen: clib._eval('float(a[1, 1])'),
      ikind: vi.data.constructor.name, tshape: vt.shape, tcopied: vt.copied, tfirst: Array.from(vt.data.slice(0, 4)),
      fromJs, fromJsI,
    }));`, { env: { PYTHON_TS_PYTHON: py }, timeout: 120000 });
  const out = lastJson(r);
  assert.strictEqual(out.kind, 'Float64Array');
  assert.deepStrictEqual(out.shape, [3, 4]);
  assert.deepStrictEqual(out.strides, [4, 1]);
  assert.strictEqual(out.copied, false);
  assert.strictEqual(out.seen, 100);
  assert.strictEqual(out.ikind, 'Int32Array');
  assert.deepStrictEqual(out.tshape, [4, 3]);
  assert.strictEqual(out.tcopied, true);
  assert.deepStrictEqual(out.tfirst, [0, 4, 8, 1]);
  assert.deepStrictEqual(out.fromJs, ['float64', [3], true, 6.5]);
  assert.deepStrictEqual(out.fromJsI, ['int16', [2], true, 3]);
});

test('where external memory is refused (Electron; PYTHON_TS_NO_EXTERNAL_BUFFERS=1) views arrive as snapshots with copied: true', () => {
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    const a = py.eval('__import__("array").array("d", [1.5, 2, 3])');
    const v = py.view(a);
    v.data[0] = 99;
    console.log(JSON.stringify({ copied: v.copied, data: Array.from(v.data), python: py.call(py.eval('lambda a: a[0]'), null, [a]) }));`,
  { env: { PYTHON_TS_NO_EXTERNAL_BUFFERS: '1' } });
  assert.deepStrictEqual(lastJson(r), { copied: true, data: [99, 2, 3], python: 1.5 });
});
