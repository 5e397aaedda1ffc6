'use strict';
// src/runtime/executor.rs and the callback forms of clib: the library's own threads.
const test = require('node:test');
const assert = require('node:assert');
const { promisify } = require('util');
const { clib, PythonError } = require('..');
const { runNode, runNodeAsync, lastJson } = require('./helpers');

clib._exec(`
import time, asyncio
def nap(t):
    s = time.monotonic()
    time.sleep(t)
    return [s, time.monotonic()]
def spin(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n
async def co(x):
    await asyncio.sleep(0.02)
    return x * 2
async def co_fail():
    await asyncio.sleep(0.01)
    raise KeyError('inside the coroutine')
def fail():
    raise ValueError('async failure')
`);
const main = clib._import_module('__main__');
const call = promisify((obj, m, args, cb) => clib._call_python(obj, m, args, null, null, cb));

test('eight blocking calls overlap while JS timers keep ticking', async () => {
  let ticks = 0;
  const iv = setInterval(() => ticks++, 10);
  const spans = await Promise.all(Array.from({ length: 8 }, () => call(main, 'nap', [0.2])));
  clearInterval(iv);
  const latestStart = Math.max(...spans.map((s) => s[0]));
  const earliestEnd = Math.min(...spans.map((s) => s[1]));
  assert.ok(latestStart < earliestEnd, 'all eight intervals intersect');
  assert.ok(ticks >= 2, `setInterval ticked ${ticks} times`);
});

test('libuv\'s thread pool is not used: with UV_THREADPOOL_SIZE=1 a file read finishes before eight sleeping calls', async () => {
  const r = await runNodeAsync(`const { clib } = require('.');
    const fs = require('fs');
    clib._exec('import time');
    const order = [];
    let done = 0;
    for (let i = 0; i < 8; i++) clib._eval('time.sleep(0.5)', null, () => { order.push('py'); if (++done === 8) console.log(JSON.stringify(order)); });
    fs.promises.readFile(${JSON.stringify(__filename)}).then(() => order.push('fs'));`, { env: { UV_THREADPOOL_SIZE: '1' } });
  const order = lastJson(r);
  assert.strictEqual(order[0], 'fs');
  assert.strictEqual(order.length, 9);
});

test('a 1-second CPU-bound async call does not block JS timers', async () => {
  let ticks = 0;
  const iv = setInterval(() => ticks++, 20);
  const n = await call(main, 'spin', [1]);
  clearInterval(iv);
  assert.ok(n > 0);
  // A loop blocked for the call would fire none before the call's result.
  assert.ok(ticks >= 2, `timers fired ${ticks} times during the call`);
});

test('an async def result is awaited on the context loop; its exception rejects', async () => {
  assert.strictEqual(await call(main, 'co', [21]), 42);
  await assert.rejects(call(main, 'co_fail', []), (e) => e instanceof PythonError && e.name === 'KeyError' && /co_fail/.test(e.traceback));
  const coro = clib._call_python(main, 'co', [1]);
  assert.strictEqual(coro.pytype, 'coroutine', 'the sync form returns the coroutine itself');
  clib._call_python(coro, 'close', []);
});

test('_exec and _eval take callbacks too; _exec reports null', async () => {
  assert.strictEqual(await promisify(clib._exec)('_async_x = 7', null), null);
  assert.strictEqual(await promisify(clib._eval)('_async_x * 6', null), 42);
  await assert.rejects(promisify(clib._eval)('1/0', null), (e) => e.name === 'ZeroDivisionError');
});

test('success and error callbacks are each called exactly once, with Node\'s (err, result) convention', async () => {
  const calls = [];
  await new Promise((resolve) => {
    let pending = 2;
    clib._call_python(main, 'nap', [0], null, null, (...a) => { calls.push(['ok', a.length, a[0]]); if (--pending === 0) setTimeout(resolve, 50); });
    clib._call_python(main, 'fail', [], null, null, (...a) => { calls.push(['err', a.length, a[0] && a[0].name]); if (--pending === 0) setTimeout(resolve, 50); });
  });
  assert.deepStrictEqual(calls.sort(), [['err', 1, 'ValueError'], ['ok', 2, null]]);
});

test('argument errors throw at once, before anything is scheduled', () => {
  let called = false;
  assert.throws(() => clib._call_python(main, 'nap', [Symbol('x')], null, null, () => { called = true; }), TypeError);
  assert.throws(() => clib._call_python({ type: 'python-ts/PyObject*', value: '1' }, 'nap', [], null, null, () => { called = true; }), /cannot be forged/);
  assert.throws(() => clib._eval(5, null, () => { called = true; }), TypeError);
  assert.strictEqual(called, false);
});

test('pending async work keeps the process alive until its callback runs; finished work does not', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('import time');
    clib._eval('time.sleep(0.3) or 5', null, (e, v) => console.log(JSON.stringify({ v })));`);
  assert.deepStrictEqual(lastJson(r), { v: 5 });
  assert.strictEqual(r.status, 0);
});

test('an async Python exception reaches only its callback: no uncaughtException or unhandledRejection', () => {
  const r = runNode(`const { clib } = require('.');
    const util = require('util');
    let stray = 0;
    process.on('uncaughtException', () => stray++);
    process.on('unhandledRejection', () => stray++);
    const p = util.promisify(clib._eval)('1/0', null).catch((e) => e.name);
    clib._eval('undefined_name', null, (e) => { p.then((n) => setTimeout(() => console.log(JSON.stringify({ n, e: e.name, stray })), 50)); });`);
  assert.deepStrictEqual(lastJson(r), { n: 'ZeroDivisionError', e: 'NameError', stray: 0 });
});

test('_set_max_threads limits the workers (two threads: four 0.2 s sleeps take two rounds)', () => {
  const r = runNode(`const { clib } = require('.');
    const prev = clib._set_max_threads(2);
    clib._exec('import time');
    const t0 = Date.now();
    let n = 0;
    for (let i = 0; i < 4; i++) clib._eval('time.sleep(0.2)', null, () => { if (++n === 4) console.log(JSON.stringify({ prev, ms: Date.now() - t0 })); });`);
  const { prev, ms } = lastJson(r);
  assert.strictEqual(prev, 64);
  assert.ok(ms >= 390, `took ${ms} ms`);
  assert.throws(() => clib._set_max_threads(0), RangeError);
  assert.throws(() => clib._set_max_threads('x'), TypeError);
});

test('releasing a handle while an async call on it is pending is safe: the call completes, the release follows', async () => {
  clib._exec('import sys, time\nclass _Pinned:\n    def slow(self, x):\n        time.sleep(0.1)\n        return x + 1\n_pinned = _Pinned()');
  const h = clib._eval('_pinned');
  const base = clib._eval('sys.getrefcount(_pinned)');
  const p = new Promise((res, rej) => clib._call_python(h, 'slow', [41], null, null, (e, r) => (e ? rej(e) : res(r))));
  assert.strictEqual(clib._delete_pyobject(h), true);
  assert.throws(() => clib._call_python(h, 'slow', [1]), /was released/);
  assert.strictEqual(await p, 42);
  await new Promise((r) => setImmediate(r));
  clib._eval('0');
  assert.strictEqual(clib._eval('sys.getrefcount(_pinned)'), base - 1);
});

test('async calls with scalar and non-scalar arguments give the same results', async () => {
  clib._exec('def _kinds(*a):\n    return [type(x).__name__ for x in a]');
  const kinds = (args) => new Promise((res, rej) => clib._call_python(main, '_kinds', args, null, null, (e, r) => (e ? rej(e) : res(r))));
  assert.deepStrictEqual(await kinds([1, 1.5, 'x', null, true, undefined]), ['int', 'float', 'str', 'NoneType', 'bool', 'NoneType']);
  assert.deepStrictEqual(await kinds([[1], { a: 1 }, 2n ** 70n, 'x\ud800']), ['list', 'dict', 'int', 'str']);
});

test('a callback that throws is reported by Node once, and the other callbacks of the same batch still run', () => {
  const r = runNode(`const { clib } = require('.');
    const seen = [];
    let reported = 0;
    process.on('uncaughtException', (e) => { reported++; seen.push('reported:' + e.message); });
    let n = 0;
    for (let i = 0; i < 20; i++) clib._eval(String(i), null, (e, v) => {
      seen.push(v);
      if (v === 3) throw new Error('from callback ' + v);
      if (++n === 19) setTimeout(() => console.log(JSON.stringify({ reported, values: seen.filter((x) => typeof x === 'number').sort((a, b) => a - b) })), 50);
    });`);
  const out = lastJson(r);
  assert.strictEqual(out.reported, 1);
  assert.deepStrictEqual(out.values, Array.from({ length: 20 }, (_, i) => i));
});

test('the pool grows while calls block and shrinks when idle (PYTHON_TS_WORKER_IDLE_MS)', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('import time');
    let n = 0;
    for (let i = 0; i < 8; i++) clib._eval('time.sleep(0.2)', null, () => {
      if (++n === 8) {
        const busy = clib._executor_stats();
        setTimeout(() => console.log(JSON.stringify({ busy: busy.threads, later: clib._executor_stats().threads, max: busy.max })), 800);
      }
    });`, { env: { PYTHON_TS_WORKER_IDLE_MS: '200' } });
  const out = lastJson(r);
  assert.ok(out.busy >= 8, `${out.busy} workers for 8 blocking calls`);
  assert.strictEqual(out.later, 0, 'idle workers ended');
  assert.strictEqual(out.max, 64);
});

test('worker threads have a main-thread-sized C stack: deep C recursion that works sync works async', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('import sys, json\\nsys.setrecursionlimit(100000)\\nd = []\\nfor i in range(30000):\\n    d = [d]');
    // 3.13 caps C recursion itself (json raises RecursionError on the JS thread too): then the
    // worker must give the same error, never a crash.
    let sync;
    try { sync = clib._eval('len(json.dumps(d))'); } catch (e) { sync = e.name; }
    clib._eval('len(json.dumps(d))', null, (e, v) => console.log(JSON.stringify({ sync, async: e ? e.name : v })));`);
  assert.strictEqual(r.signal, null, r.stderr);
  const out = lastJson(r);
  assert.ok(out.sync === 60002 || out.sync === 'RecursionError', JSON.stringify(out));
  assert.strictEqual(out.async, out.sync);
});
