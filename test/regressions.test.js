'use strict';
// Regression specs: one test per defect found in real use, named after what broke. Each failed
// before its fix. docs/reliability.md lists the defect classes, their causes and these tests.
// Cases that crashed or hung the process run in a child and the test reads its exit status.
const test = require('node:test');
const assert = require('node:assert');
const { Python, PythonPool, clib, kwargs, PythonError } = require('..');
const { runNode, runNodeAsync, lastJson, ROOT, supportedPythons, asanPython, tmpdir } = require('./helpers');

const ADDON = `require(${JSON.stringify(ROOT)})`;
const py = new Python();
const builtins = py.import('builtins');
py.exec(`
import gc, threading, time, datetime
def _rt_two(a, b):
    return [type(a).__name__, type(b).__name__, a is b]
def _rt_kw(**k):
    return {n: type(v).__name__ for n, v in k.items()}
def _rt_repr(x):
    return repr(x)
def _rt_call(f, *a):
    return f(*a)
`);
const main = py.import('__main__');
/** 3.13 or newer on this machine (own-GIL contexts), or undefined. */
const py313 = supportedPythons().find((p) => p.version[1] >= 13);

// 1. Strings.

test('strings whose UTF-8 nearly fills the short-string buffer arrive whole (é×200, kana×20, emoji×100)', () => {
  for (const s of ['é'.repeat(200), 'a' + 'こんにちは世界'.repeat(20), '😀'.repeat(100), 'x'.repeat(252) + '😀', 'é'.repeat(127)]) {
    assert.strictEqual(builtins.len(s), [...s].length, `length of ${s.slice(0, 8)}…`);
    assert.strictEqual(main._rt_call((x) => x, s), s);
  }
});

test('long kwargs keys, Map keys and method names arrive whole', () => {
  const key = 'ключ'.repeat(40); // 320 bytes of UTF-8
  assert.deepStrictEqual(main._rt_kw(kwargs({ [key]: 1 })), { [key]: 'int' });
  assert.strictEqual(main._rt_repr(new Map([[key, 1]])), `{'${key}': 1}`);
  const name = 'метод_' + 'й'.repeat(70);
  py.exec(`def ${name}():\n    return 7`);
  assert.strictEqual(clib._call_python(clib._import_module('__main__'), name, []), 7);
});

test('a Python str longer than the longest JS string is a RangeError naming the limit', () => {
  const r = runNode(`
    const { clib } = ${ADDON};
    try { clib._eval("'x' * (2**29)"); console.log(JSON.stringify({ ok: true })); }
    catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message })); }`);
  const out = lastJson(r);
  assert.strictEqual(out.name, 'RangeError', r.stderr);
  assert.match(out.message, /longest JavaScript string/);
});

// 2–3. Thread states: contexts and the main interpreter.

function contextLeakSource() {
  return `
    const { Python, clib } = ${ADDON};
    clib._set_max_threads(1);
    (async () => {
      const c = new Python({ context: true });
      await c.exec_async('only_in_context = 5');
      const leaked = await new Python().eval_async('"only_in_context" in globals()');
      c.delete();
      const after = await new Python().eval_async('3 + 3');
      console.log(JSON.stringify({ leaked, after }));
    })();`;
}

test('an async call in a context leaves no worker in that context: main calls stay in main, and after delete they still work', async () => {
  const r = await runNodeAsync(contextLeakSource(), { timeout: 60000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.deepStrictEqual(lastJson(r), { leaked: false, after: 6 });
});

test('the same on every runtime >= 3.8 here (3.9 spun, others segfaulted)', async (t) => {
  const pys = supportedPythons();
  assert.ok(pys.length > 0, 'no CPython >= 3.8 found');
  for (const p of pys) {
    await t.test(p.label, async () => {
      const r = await runNodeAsync(contextLeakSource(), { env: { PYTHON_TS_PYTHON: p.exe }, timeout: 60000 });
      assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
      assert.deepStrictEqual(lastJson(r), { leaked: false, after: 6 });
    });
  }
});

test('own-GIL pool calls interleaved with main async and allocating sync calls do not corrupt the heap (3.13+)', { skip: !py313 && 'no CPython 3.13+ here' }, async () => {
  const r = await runNodeAsync(`
    const { Python, PythonPool } = ${ADDON};
    (async () => {
      const pool = new PythonPool({ size: 1 });
      const py = new Python();
      let sum = 0;
      for (let round = 0; round < 20; round++) {
        const ps = [];
        for (let i = 0; i < 10; i++) {
          ps.push(pool.call('builtins', 'sum', [[1, 2, 3]]));
          ps.push(py.eval_async('1 + 1'));
          py.eval('[object() for _ in range(50)]');
        }
        for (const v of await Promise.all(ps)) sum += v;
      }
      await pool.close();
      console.log(JSON.stringify({ ownGil: pool.ownGil, sum }));
    })();`, { env: { PYTHON_TS_PYTHON: py313.exe }, timeout: 120000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.deepStrictEqual(lastJson(r), { ownGil: true, sum: 20 * 10 * 8 });
});

test('own-GIL and main async calls calling one JS function back do not free objects under the wrong interpreter (3.13+)', { skip: !py313 && 'no CPython 3.13+ here' }, async () => {
  const r = await runNodeAsync(`
    const { Python } = ${ADDON};
    (async () => {
      const iso = new Python({ context: 'isolated' });
      const py = new Python();
      const code = 'def run(f, n):\\n    return sum(f(i) for i in range(n))';
      py.exec(code); iso.exec(code);
      const mm = py.import('__main__'), im = iso.import('__main__');
      const f = (x) => x * 2;
      let bad = 0;
      for (let round = 0; round < 30; round++) {
        const ps = [];
        for (let i = 0; i < 10; i++) { ps.push(mm.run_async(f, 20)); ps.push(im.run_async(f, 20)); }
        for (const v of await Promise.all(ps)) if (v !== 380) bad++;
        py.eval('[object() for _ in range(50)]');
      }
      iso.delete();
      console.log(JSON.stringify({ bad }));
    })();`, { env: { PYTHON_TS_PYTHON: py313.exe }, timeout: 120000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.deepStrictEqual(lastJson(r), { bad: 0 });
});

// 4. Exit and lifecycle.

test('exit while a Python thread calls a JS function every 1 ms: exit 0 in 8 of 8 runs', async () => {
  const src = `
    const { Python } = ${ADDON};
    const py = new Python();
    py.exec('import threading, time\\ndef spin(f):\\n    def run():\\n        while True:\\n            f(1)\\n            time.sleep(0.001)\\n    threading.Thread(target=run, daemon=True).start()');
    let n = 0;
    py.import('__main__').spin(() => { n++; });
    // Exit as soon as the thread has called JS (however long its start takes).
    const t = setInterval(() => { if (n > 0) { clearInterval(t); console.log(JSON.stringify({ called: true })); } }, 1);`;
  const runs = await Promise.all(Array.from({ length: 8 }, () => runNodeAsync(src, { timeout: 300000 })));
  for (const r of runs) {
    assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
    assert.deepStrictEqual(lastJson(r), { called: true });
  }
});

// A daemon thread that calls JS while the exit is ending Python raised RuntimeError there and
// printed its traceback as Python was finalized; CPython then aborted (SIGABRT, "could not acquire
// lock for <stderr> at interpreter shutdown"; 1 exit in 8 on i386). It now waits for the end,
// as a thread already waiting for JS does: the exception never reaches it.
test('a daemon thread calling JS during the exit waits for the end instead of raising (no abort)', () => {
  const marker = require('path').join(tmpdir(), 'raised.txt');
  const r = runNode(`
    const { Python } = ${ADDON};
    const py = new Python();
    py.exec([
      'import threading, time',
      'go, calling = threading.Event(), threading.Event()',
      'def spin(f, marker):',
      '    def run():',
      '        go.wait()',
      '        calling.set()',
      '        try:',
      '            f(1)',
      '        except BaseException as e:',
      '            open(marker, "w").write(repr(e))',
      '    threading.Thread(target=run, daemon=True).start()',
      'def at_exit():',
      '    go.set()',
      '    calling.wait(10)',
      '    for _ in range(200):',  // what the thread would do before Python ends: write the marker
      '        time.sleep(0.005)',
      'threading._register_atexit(at_exit)',
    ].join('\\n'));
    py.import('__main__').spin(() => 1, ${JSON.stringify(marker)});
    console.log(JSON.stringify({ ok: true }));`);
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Fatal Python error|Exception in thread/);
  assert.ok(!require('fs').existsSync(marker), `the daemon thread got: ${require('fs').existsSync(marker) && require('fs').readFileSync(marker, 'utf8')}`);
});

test('atexit handlers, weakref.finalize and __del__ that call JS do not deadlock the exit', async () => {
  const r = await runNodeAsync(`
    const { Python } = ${ADDON};
    const py = new Python();
    py.exec('import atexit, weakref\\nclass Holder:\\n    pass\\ndef reg(f):\\n    global h\\n    atexit.register(lambda: f("atexit"))\\n    h = Holder()\\n    weakref.finalize(h, f, "finalize")');
    py.import('__main__').reg(() => {});
    console.log(JSON.stringify({ ok: true }));`, { timeout: 300000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.deepStrictEqual(lastJson(r), { ok: true });
  assert.match(r.stderr, /cannot be called while Python is shutting down/);
});

test('an async def raising SystemExit or KeyboardInterrupt rejects with a PythonError and later coroutines still run', async () => {
  py.exec('async def _rt_exit(e):\n    raise e\nasync def _rt_seven():\n    return 7');
  for (const exc of ['SystemExit(3)', 'KeyboardInterrupt()']) {
    await assert.rejects(py.eval_async(`_rt_exit(${exc})`), (e) => e instanceof PythonError && e.name === exc.split('(')[0]);
    assert.strictEqual(await py.eval_async('_rt_seven()'), 7);
  }
});

test('threads made from JS are not daemons, so _destroy_python() refuses while one runs', () => {
  const r = runNode(`
    const { clib } = ${ADDON};
    const out = { daemon: clib._eval('__import__("threading").Thread().daemon') };
    clib._exec('import threading, time\\nt = threading.Thread(target=time.sleep, args=(0.3,))\\nt.start()');
    try { clib._destroy_python(); out.destroyed = true; } catch (e) { out.refused = /non-daemon/.test(e.message); }
    clib._exec('t.join()');
    out.destroyedAfter = clib._destroy_python();
    console.log(JSON.stringify(out));`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(lastJson(r), { daemon: false, refused: true, destroyedAfter: true });
});

test('_destroy_python() with an async call pending refuses at once instead of blocking the JS thread', async () => {
  const r = await runNodeAsync(`
    const { clib } = ${ADDON};
    clib._exec('import time, threading\\nrelease = threading.Event()\\nfinished = False\\ndef job():\\n    global finished\\n    release.wait(60)\\n    finished = True\\n    return 1');
    clib._eval('job()', null, (e, v) => {
      const out = { v, finishedAtRefusal };
      out.destroyed = clib._destroy_python();
      console.log(JSON.stringify(out));
    });
    let refused = false;
    try { clib._destroy_python(); } catch (e) { refused = /in flight/.test(e.message); }
    // Refused while the job still waits (it blocked for the job before, which waits for us).
    const finishedAtRefusal = clib._eval('finished');
    clib._exec('release.set()');
    if (!refused) throw new Error('not refused');`, { timeout: 120000 });
  assert.strictEqual(r.status, 0, r.stderr);
  const out = lastJson(r);
  assert.strictEqual(out.v, 1);
  assert.strictEqual(out.finishedAtRefusal, false, 'refused before the job ended');
  assert.strictEqual(out.destroyed, true);
});

// 5. The JS layer.

test('a wrapped object arrives as itself: twice in one call, in Arrays, Maps, Sets, class instances and kwargs', () => {
  const d = py.eval('__import__("decimal").Decimal("1.5")');
  assert.deepStrictEqual(main._rt_two(d, d), ['Decimal', 'Decimal', true]);
  assert.deepStrictEqual(main._rt_two([d, d], [d]), ['list', 'list', false]);
  assert.strictEqual(main._rt_repr([d, d]), "[Decimal('1.5'), Decimal('1.5')]");
  assert.strictEqual(main._rt_repr(new Map([[1, d]])), "{1: Decimal('1.5')}");
  assert.strictEqual(main._rt_repr(new Set([d])), "{Decimal('1.5')}");
  class Point { constructor() { this.x = d; } }
  assert.strictEqual(py.eval('lambda o: repr(o.x)')(new Point()), "Decimal('1.5')", 'a class instance is live in Python (JsProxy); its attribute is the Decimal itself');
  assert.strictEqual(main._rt_repr({ ...new Point() }), "{'x': Decimal('1.5')}");
  assert.deepStrictEqual(main._rt_kw(kwargs({ a: d, b: [d] })), { a: 'Decimal', b: 'list' });
  const m = py.import('math');
  assert.strictEqual(main._rt_repr(m.floor), '<built-in function floor>', 'a wrapped callable is the Python callable, not a JS function');
});

test('delete() on one Python instance leaves another instance\'s objects alone', () => {
  const a = new Python();
  const b = new Python();
  const oa = a.eval('object()');
  const ob = b.eval('[1, 2, 3].__iter__()');
  a.delete();
  assert.strictEqual(b.call(ob, '__next__'), 1);
  assert.throws(() => clib._call_python(oa.__wrapper__ || oa, '__repr__', []), /released|deleted|dead/i);
});

test('PythonPool.close() resolves after a call whose arguments failed to convert', async () => {
  const pool = new PythonPool({ size: 1 });
  await assert.rejects(pool.call('builtins', 'len', [Symbol('x')]), TypeError);
  await pool.close();
});

test('wrapped _async calls that call JS back never fail because the wrapper reads attributes meanwhile', async () => {
  py.exec('def _rt_run(f, n):\n    return sum(f(i) for i in range(n))');
  const f = (x) => x;
  const ps = [];
  for (let i = 0; i < 200; i++) {
    ps.push(main._rt_run_async(f, 10)); // each reads an attribute synchronously while earlier calls run
    if (i % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  const got = await Promise.all(ps);
  assert.ok(got.every((v) => v === 45));
});

test('a sparse array with a[1e9] set through the wrapper is a RangeError at once', () => {
  const a = [];
  a[1e9] = 1;
  assert.throws(() => main._rt_repr(a), RangeError);
  // Nothing walks its elements first (the wrapper copied it: ~19 s): seen through a Proxy, not
  // one index is read before the RangeError.
  let reads = 0;
  const p = new Proxy(a, { get: (t, k) => { if (typeof k === 'string' && /^\d+$/.test(k)) reads++; return t[k]; } });
  assert.throws(() => main._rt_repr(p), RangeError);
  assert.strictEqual(reads, 0);
});

// 6. Values.

test('a set subclass whose __iter__ never ends is a RangeError, not gigabytes of memory', () => {
  py.exec('class _RtEndless(set):\n    def __iter__(self):\n        while True:\n            yield 1');
  assert.throws(() => py.eval('_RtEndless([1])'), (e) => e instanceof RangeError && /set of 1 items/.test(e.message));
});

test('boxed primitives convert as their primitive; weak collections are TypeErrors', () => {
  assert.strictEqual(main._rt_repr(new Number(5)), '5');
  assert.strictEqual(main._rt_repr(new String('s')), "'s'");
  assert.strictEqual(main._rt_repr(new Boolean(false)), 'False');
  assert.strictEqual(main._rt_repr(Object(3n)), '3');
  assert.throws(() => main._rt_repr(Object(Symbol('q'))), TypeError);
  for (const v of [new WeakMap(), new WeakSet(), new WeakRef({})]) assert.throws(() => main._rt_repr(v), (e) => e instanceof TypeError && /Weak/.test(e.message));
});

test('a Proxy over an Array converts like the Array', () => {
  assert.strictEqual(main._rt_repr(new Proxy([1, 'a', [2]], {})), "[1, 'a', [2]]");
  const big = new Proxy([], { get: (t, k) => (k === 'length' ? 2 ** 31 : undefined) });
  assert.throws(() => main._rt_repr(big), RangeError);
});

test('a JS callback that throws 42, null, a string, undefined or a Symbol surfaces as that same value', () => {
  for (const v of [42, null, 'plain string', undefined, Symbol('s'), { code: 1 }]) {
    let caught = 'nothing';
    try {
      main._rt_call(() => { throw v; });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught === v, `got ${String(caught)} for ${String(v)}`);
  }
});

test('kwargs keep a "__proto__" key; a copied handle is an Error, not a dict', () => {
  assert.deepStrictEqual(Object.entries(main._rt_kw(kwargs(JSON.parse('{"__proto__": 5, "x": 1}')))), [['__proto__', 'int'], ['x', 'int']]);
  const h = clib._eval('object()');
  for (const copy of [{ ...h }, structuredClone(h)]) {
    assert.throws(() => main._rt_repr(copy), (e) => e instanceof Error && /not made by python-ts/.test(e.message));
  }
});

test('datetimes floor their microseconds (no rounding into the next millisecond; datetime.max stays in 9999)', () => {
  assert.strictEqual(py.eval('datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)').toISOString(), '1969-12-31T23:59:59.999Z');
  assert.strictEqual(py.eval('datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)').toISOString(), '9999-12-31T23:59:59.999Z');
  assert.strictEqual(py.eval('datetime.datetime(2020, 1, 1, 0, 0, 0, 1500, tzinfo=datetime.timezone.utc)').getTime(), Date.UTC(2020, 0, 1) + 1);
});

test('gc.disable() run by a getter during a conversion stays in force afterwards', () => {
  const arg = { a: [1], get b() { clib._exec('gc.disable()'); return 2; } };
  try {
    main._rt_repr(arg);
    assert.strictEqual(py.eval('gc.isenabled()'), false);
  } finally {
    py.exec('gc.enable()');
  }
});

// 7. Docs made exact.

test('a big-endian buffer is viewed as a byte-swapped copy', () => {
  py.exec('import ctypes\n_rt_be = (ctypes.c_int16.__ctype_be__ * 3)(1, -2, 300)');
  const v = py.view(py.eval('_rt_be'));
  assert.strictEqual(v.format, '>h');
  assert.deepStrictEqual(Array.from(v.data), [1, -2, 300]);
  assert.strictEqual(v.copied, true);
});

test('JS → Python → JS re-entrancy ends in a clean RangeError at the JS stack limit, and the process goes on', () => {
  py.exec('def _rt_nest(f, n):\n    return f(n)');
  let depth = 0;
  const f = (n) => { depth = Math.max(depth, n); return main._rt_nest(f, n + 1); };
  // Whichever stack ends first: V8's (~190 levels here; ~90 under AddressSanitizer) gives a
  // RangeError; JavaScriptCore's is deeper (Bun), so Python's recursion limit ends it there.
  assert.throws(() => main._rt_nest(f, 0), (e) => e instanceof RangeError || (e.name === 'RecursionError' && /maximum recursion depth/.test(e.message)));
  assert.ok(depth >= 50, `only ${depth} levels`);
  assert.strictEqual(py.eval('1 + 1'), 2);
});

test('JS → Python → JS re-entrancy that reaches Python\'s recursion limit first is a RecursionError with its message', () => {
  // It was "RuntimeError: RecursionError: <str() of the exception failed>": at the limit, str() of
  // the RecursionError and the making of the JSError carrying it both raised again.
  py.exec('import sys\n_rt_limit = sys.getrecursionlimit()\ndef _rt_nest2(f, n):\n    return f(n)');
  const f = (n) => { const r = main._rt_nest2(f, n + 1); return r; };
  py.exec('sys.setrecursionlimit(120)');
  try {
    assert.throws(() => main._rt_nest2(f, 0), (e) => e.name === 'RecursionError' && /^RecursionError: maximum recursion depth/.test(e.message));
  } finally {
    py.exec('sys.setrecursionlimit(_rt_limit)');
  }
  assert.strictEqual(py.eval('1 + 1'), 2);
});

// 6. Lifetimes: who owns a Python reference, a thread state, a process.

test('objects whose method was called are released when JS drops them (20 000 calls left 20 000 objects, +347 MB)', () => {
  const r = runNode(`
    const { Python, clib } = ${ADDON};
    const py = new Python();
    py.exec('class C:\\n    alive = 0\\n    def __init__(self):\\n        self.buf = bytearray(10000)\\n        C.alive += 1\\n    def __del__(self):\\n        C.alive -= 1\\n    def m(self):\\n        return 1');
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += py.eval('C()').m();
    const kept = py.eval('C()');
    const m = kept.m;
    const wait = () => new Promise((r) => setImmediate(r));
    (async () => {
      for (let i = 0; i < 6; i++) { global.gc(); await wait(); }
      py.eval('0');
      console.log(JSON.stringify({ sum, alive: py.eval('C.alive'), handles: clib.references.length, call: m() }));
    })();`, { args: ['--expose-gc'] });
  assert.strictEqual(r.status, 0, r.stderr);
  const out = lastJson(r);
  assert.strictEqual(out.sum, 20000);
  assert.strictEqual(out.call, 1, 'a method read from an object JS still holds keeps working');
  assert.strictEqual(out.alive, 1, 'only the object JS still holds is alive');
  assert.ok(out.handles <= 3, `${out.handles} handles left`);
});

test('a JS value is read once per conversion: getters in records of two shapes, beside a NUL key or a lone-surrogate key', () => {
  const ids = py.eval('lambda x: x');
  let calls = 0;
  const rows = Array.from({ length: 16 }, () => ({ get v() { return ++calls; } }));
  rows.push({ w: 1 });
  const back = ids(rows);
  assert.strictEqual(calls, 16, 'records of two shapes read each getter once (was 32)');
  assert.deepStrictEqual(back.slice(0, 16).map((r) => r.v), Array.from({ length: 16 }, (_, i) => i + 1));
  calls = 0;
  assert.deepStrictEqual(ids({ get a() { return ++calls; }, 'b\0c': 2 }), { a: 1, 'b\0c': 2 });
  assert.strictEqual(calls, 1, 'a NUL in a later key');
  calls = 0;
  assert.deepStrictEqual(ids({ get a() { return ++calls; }, ['x\uD800']: 2 }), { a: 1, ['x\uD800']: 2 });
  assert.strictEqual(calls, 1, 'a lone surrogate in a key');
  // Records whose values are objects keep the columns path, and read each getter once too.
  calls = 0;
  const nested = Array.from({ length: 20 }, (_, i) => ({ i, o: { get g() { return ++calls; } } }));
  const r = ids(nested);
  assert.strictEqual(calls, 20);
  assert.deepStrictEqual(r.map((x) => x.o.g), Array.from({ length: 20 }, (_, i) => i + 1));
});

test('records holding objects, shared values, cycles and long or nested Arrays convert with identity kept', () => {
  const shared = { s: 1 };
  const list = [1, 2];
  const rows = Array.from({ length: 20 }, (_, i) => ({ i, shared, list, deep: [[i], { k: i }], big: Array.from({ length: 70 }, (_, j) => j), self: null }));
  rows[3].self = rows[3];
  rows[4].self = rows;
  const f = py.eval('lambda rs: [rs[0]["shared"] is rs[19]["shared"], rs[0]["list"] is rs[19]["list"], rs[3]["self"] is rs[3], rs[4]["self"] is rs, rs[7]["deep"], len(rs[9]["big"]), type(rs[0]["shared"]).__name__, list(rs[0].keys())]');
  assert.deepStrictEqual(f(rows), [true, true, true, true, [[7], { k: 7 }], 70, 'dict', ['i', 'shared', 'list', 'deep', 'big', 'self']]);
  const back = py.eval('lambda x: x')(rows);
  assert.strictEqual(back[0].shared, back[19].shared);
  assert.strictEqual(back[3].self, back[3]);
  assert.strictEqual(back[4].self, back);
});

test('the pyException of an error raised in a context hands out wrapped objects from its methods (raw handles before)', () => {
  const cpy = new Python({ context: true });
  try {
    cpy.exec('class E(Exception):\n    def me(self):\n        return [self, object()]');
    let err;
    try { cpy.exec('raise E("x")'); } catch (e) { err = e; }
    const [self, other] = err.pyException.me();
    for (const w of [self, other]) {
      assert.strictEqual(typeof w, 'function', 'a wrapped object, not a raw handle');
      assert.ok(cpy.isPyObject(w) && cpy.sameContext(w));
    }
    assert.strictEqual(cpy.typeOf(other), 'object');
    assert.strictEqual(String(self), 'x');
  } finally {
    cpy.delete();
  }
});

test('a replaced builtins.__import__ breaks no call: eval, errors, dates, coroutines, contexts and destroy work without it', () => {
  const r = runNode(`
    const { Python, clib } = ${ADDON};
    const py = new Python();
    py.exec('import builtins\\ndef evil(*a, **k):\\n    raise ImportError("hook says no")\\nbuiltins.__import__ = evil');
    const out = { sum: py.eval('1 + 1') };
    try { py.exec('raise KeyError("k")'); } catch (e) { out.error = e.message; out.tb = /^Traceback[^]*KeyError: 'k'/.test(e.traceback); }
    out.date = py.eval('lambda d: d')(new Date(86400000)).getTime();
    py.exec('async def seven():\\n    return 7');
    out.os = typeof py.import('os').getcwd();
    const ctx = new Python({ context: true });
    out.ctx = ctx.eval('2 + 2');
    out.deleted = ctx.delete();
    py.eval_async('seven()').then((v) => {
      out.coroutine = v;
      try { py.exec('import json'); } catch (e) { out.userImport = e.message; }
      py.exec('builtins.__import__ = __builtins__.__dict__.get("__import__") if False else builtins.__import__');
      out.destroyed = clib._destroy_python();
      console.log(JSON.stringify(out));
    }, (e) => console.log(JSON.stringify({ rejected: e.message })));`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(lastJson(r), {
    sum: 2, error: "KeyError: 'k'", tb: true, date: 86400000, os: 'string', ctx: 4, deleted: true, coroutine: 7,
    // User code still meets its own hook; only python-ts's work does not go through it.
    userImport: 'ImportError: hook says no', destroyed: true,
  });
});

test('Python starts again after _destroy_python() only once daemon threads of the old runtime are gone (a sleeping one segfaulted the next calls)', () => {
  const r = runNode(`
    const { clib } = ${ADDON};
    clib._exec('import threading, time\\nthreading.Thread(target=time.sleep, args=(0.5,), daemon=True).start()');
    const out = { destroyed: clib._destroy_python(), tries: 0 };
    const attempt = () => {
      out.tries++;
      try { clib._init_python(); } catch (e) {
        if (!out.first) out.first = e.message;
        // CPython 3.14+ parks such a thread for good: refused for as long as it lives.
        if (out.tries < 200) return setTimeout(attempt, 50);
        console.log(JSON.stringify(out));
        return;
      }
      out.restarted = true;
      let n = 0;
      const t = setInterval(() => {
        clib._eval('sum(range(1000))');
        if (++n === 100) { clearInterval(t); out.evals = n; console.log(JSON.stringify(out)); }
      }, 5);
    };
    attempt();`, { timeout: 120000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const out = lastJson(r);
  assert.strictEqual(out.destroyed, true);
  if (/not safe/.test(out.first || '')) return; // a version whose re-init is refused anyway
  assert.match(out.first, /daemon thread\(s\) of the destroyed runtime are still alive/);
  if (out.restarted) assert.strictEqual(out.evals, 100);
});

test('a ProcessPoolExecutor (forkserver) made at import leaves no process behind when node exits, as under python', async () => {
  const { tmpdir } = require('./helpers');
  const dir = tmpdir();
  require('fs').writeFileSync(require('path').join(dir, 'ppmod.py'), [
    'import multiprocessing as mp',
    'from concurrent.futures import ProcessPoolExecutor',
    'mp.set_start_method("forkserver", force=True)',
    'ex = ProcessPoolExecutor(2)',
    'r = ex.submit(abs, -1).result()',
    'from multiprocessing import forkserver, resource_tracker',
    'pids = list(ex._processes) + [forkserver._forkserver._forkserver_pid, resource_tracker._resource_tracker._pid]',
  ].join('\n'));
  // The child's output goes to a file: processes left behind would hold a pipe open for ever.
  const outFile = require('path').join(dir, 'out.json');
  const { spawn } = require('child_process');
  const child = spawn(process.execPath, ['-e', `
    const { Python } = ${ADDON};
    const m = new Python({ plugins_path: ${JSON.stringify(dir)} }).import('ppmod');
    require('fs').writeFileSync(${JSON.stringify(outFile)}, JSON.stringify({ r: m.r, pids: m.pids }));`], { stdio: 'ignore', env: process.env });
  const status = await new Promise((res) => child.on('exit', (code) => res(code)));
  assert.strictEqual(status, 0);
  const out = JSON.parse(require('fs').readFileSync(outFile, 'utf8'));
  assert.strictEqual(out.r, 1);
  assert.ok(out.pids.length >= 3, 'a pool worker, the forkserver and the resource tracker');
  const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code !== 'ESRCH'; } };
  // They end as the parent's pipes close: give them until they have (a slow machine's seconds).
  for (let i = 0; i < 200 && out.pids.some(alive); i++) await new Promise((res) => setTimeout(res, 50));
  const left = out.pids.filter(alive);
  for (const pid of left) try { process.kill(pid, 'SIGKILL'); } catch (e) { /* gone */ }
  assert.deepStrictEqual(left, [], 'processes left behind');
});

/** Contexts made and deleted while library workers run calls in them and in the main interpreter. */
const CONTEXT_CHURN = `
    const { Python, clib } = require(process.env.PYTHON_TS_ADDON);
    const main = new Python();
    const idle = () => new Promise((res) => { const t = setInterval(() => { if (clib._executor_stats().threads === 0) { clearInterval(t); res(); } }, 10); });
    (async () => {
      const counts = [];
      let sum = 0;
      for (let round = 0; round < 12; round++) {
        const py = new Python({ context: true });
        py.exec('import time');
        const rs = await Promise.all(Array.from({ length: 4 }, (_, i) => py.eval_async('time.sleep(0.002) or ' + i)));
        counts.push(clib._internals.thread_states().contexts);
        py.delete();
        // The workers that held states of the deleted context go on in the main interpreter.
        const ms = await Promise.all(Array.from({ length: 4 }, (_, i) => main.eval_async('1 + ' + i)));
        sum += rs.reduce((a, b) => a + b, 0) + ms.reduce((a, b) => a + b, 0);
        if (round % 4 === 3) await idle();
      }
      console.log(JSON.stringify({ counts, sum, after: clib._internals.thread_states() }));
    })();`;

test('a context deleted while workers hold thread states of it: each state is given back by its own thread, and those threads go on (since 3.12 one deleted elsewhere stayed bound to its thread: Worker start-up corruption)', () => {
  // Since 3.12 attaching a thread state binds it as the thread's PyGILState state, and deleting
  // it from another thread leaves that binding behind: the thread's next attach wrote into the
  // freed state. A sanitized CPython pinned it down (the test below); here, the bookkeeping.
  const r = runNode(CONTEXT_CHURN.replace('process.env.PYTHON_TS_ADDON', JSON.stringify(require('path').join(__dirname, '..'))),
    { env: { PYTHON_TS_WORKER_IDLE_MS: '20' }, timeout: 300000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const { counts, sum, after } = lastJson(r);
  assert.strictEqual(sum, 12 * (6 + 10));
  // Bounded by the threads that hold states at once (this thread's and the workers'), not by
  // the contexts or the worker lifetimes.
  assert.ok(Math.max(...counts) <= 1 + 8, `thread states: ${counts}`);
  assert.deepStrictEqual(after, { contexts: 0, ending: 0 }, 'every context state given back, every deleted context ended');
});

test('the same under CPython built with AddressSanitizer: no use-after-free (3 of 3 runs reported heap-use-after-free before)', { skip: !asanPython() && 'no AddressSanitizer CPython (scripts/python-313t.sh --asan)' }, async () => {
  const asan = asanPython();
  const dir = tmpdir('python-ts-asan-');
  const src = CONTEXT_CHURN.replace('process.env.PYTHON_TS_ADDON', JSON.stringify(require('path').join(__dirname, '..')));
  for (let run = 0; run < 3; run++) {
    const log = require('path').join(dir, `asan-${run}`);
    const r = await runNodeAsync(src, { env: { ...asan.env, ASAN_OPTIONS: `${asan.env.ASAN_OPTIONS}:log_path=${log}`, PYTHON_TS_WORKER_IDLE_MS: '20' }, timeout: 600000 });
    const reports = require('fs').readdirSync(dir).filter((f) => f.startsWith(`asan-${run}`)).map((f) => require('fs').readFileSync(require('path').join(dir, f), 'utf8'));
    assert.deepStrictEqual(reports.map((t) => t.split('\n').slice(0, 12).join('\n')), [], `run ${run}: AddressSanitizer reports`);
    assert.strictEqual(r.status, 0, `run ${run}: status ${r.status} signal ${r.signal}\n${r.stderr}`);
    assert.deepStrictEqual(lastJson(r).after, { contexts: 0, ending: 0 });
  }
});

test('sync calls into a context keep their thread state: threading.local, contextvars and the decimal context persist between calls', () => {
  const { Python } = require('..');
  const py = new Python({ context: true });
  try {
    py.exec([
      'import threading, contextvars, decimal',
      'L = threading.local()',
      'L.x = 5',
      'V = contextvars.ContextVar("V", default=0)',
      'V.set(7)',
      'decimal.getcontext().prec = 50',
    ].join('\n'));
    assert.strictEqual(py.eval('L.x'), 5);
    assert.strictEqual(py.eval('V.get()'), 7);
    assert.strictEqual(py.eval('len(str(decimal.Decimal(1) / 7)) - 2'), 50);
  } finally {
    py.delete();
  }
});

test('a worker whose main state is one of our own (not PyGILState\'s) gives it back without a fatal error when it ends', () => {
  const r = runNode(`
    const { Python, clib } = ${ADDON};
    const py = new Python();
    py.exec('import time');
    const idle = () => new Promise((res) => { const t = setInterval(() => { if (clib._executor_stats().threads === 0) { clearInterval(t); res(); } }, 10); });
    (async () => {
      let sum = 0;
      for (let round = 0; round < 5; round++) {
        const rs = await Promise.all(Array.from({ length: 4 }, (_, i) => py.eval_async('time.sleep(0.002) or ' + i)));
        sum += rs.reduce((a, b) => a + b, 0);
        await idle();
      }
      console.log(JSON.stringify({ sum, main: py.eval('1 + 1') }));
    })();`, { env: { PYTHON_TS_WORKER_IDLE_MS: '20', PYTHON_TS_TEST_OWN_MAIN_STATE: '1' }, timeout: 120000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.deepStrictEqual(lastJson(r), { sum: 30, main: 2 });
});
