'use strict';
// src/runtime/context.rs and src/clib/contexts.rs: sub-interpreters, own GIL, PythonPool.
const test = require('node:test');
const assert = require('node:assert');
const { promisify } = require('util');
const { clib, Python, PythonPool, PythonError } = require('..');
const { runNode, runNodeAsync, lastJson, supportedPythons } = require('./helpers');

const py313 = supportedPythons().find((p) => p.version[0] === 3 && p.version[1] >= 13);

test('a context object has the documented shape and is listed in clib.contexts', () => {
  const before = clib.contexts.length;
  const ctx = clib._create_pycontext();
  assert.strictEqual(ctx.type, 'python-ts/PyThreadState*');
  assert.match(ctx.state, /^\d+$/);
  assert.strictEqual(ctx.main, false);
  assert.strictEqual(typeof ctx.time, 'number');
  assert.strictEqual(typeof ctx.index, 'number');
  assert.strictEqual(clib._internals.is_pycontext(ctx), true);
  assert.strictEqual(clib.contexts.length, before + 1);
  assert.ok(clib.contexts.includes(ctx));
  assert.strictEqual(clib._delete_pycontext(ctx), true);
  assert.strictEqual(clib._delete_pycontext(ctx), false);
  assert.strictEqual(clib.contexts.length, before);
  assert.throws(() => clib._eval('1', { type: 'python-ts/PyThreadState*', state: ctx.state }), TypeError);
});

test('isolation: module variables, sys.path and __main__ stay in their context', () => {
  const a = new Python({ context: true });
  const b = new Python({ context: true });
  const main = new Python();
  a.exec('import sys\nshared = "a"\nsys.path.insert(0, "/only/in/a")');
  b.exec('shared = "b"');
  assert.strictEqual(a.eval('shared'), 'a');
  assert.strictEqual(b.eval('shared'), 'b');
  assert.strictEqual(main.eval("'shared' in dir()"), false);
  assert.strictEqual(b.eval('"/only/in/a" in __import__("sys").path'), false);
  assert.strictEqual(main.eval('"/only/in/a" in __import__("sys").path'), false);
  a.exec('import json\njson.marker = 1');
  assert.strictEqual(b.eval('hasattr(__import__("json"), "marker")'), false);
  assert.strictEqual(a.delete(), true);
  assert.strictEqual(b.delete(), true);
});

test('objects of one context are refused by another with a clear error; after delete() they throw', () => {
  const a = new Python({ context: true });
  const b = new Python({ context: true });
  const obj = a.eval('object()').__wrapper__;
  assert.strictEqual(a.sameContext(obj), true);
  assert.strictEqual(b.sameContext(obj), false);
  assert.strictEqual(obj.state, a.context);
  const inspect = b.import('inspect');
  assert.throws(() => inspect.isclass(obj), /belongs to another context/);
  assert.throws(() => clib._call_python(obj, '__repr__', [], null, b.context), /belongs to another context/);
  assert.strictEqual(a.delete(), true);
  assert.throws(() => clib._call_python(obj, '__repr__', [], null, a.context), /was deleted/);
  assert.throws(() => clib._internals.pyobject_to_napi_value(obj), /was deleted/);
  b.delete();
});

test('a context with calls in flight or Python threads alive is refused, then deleted once they end', async () => {
  const ctx = clib._create_pycontext();
  clib._exec('import threading, time\nstop = threading.Event()\ndef wait():\n    stop.wait()', ctx);
  // A sleeping async call.
  const pending = promisify(clib._eval)('time.sleep(0.3) or 1', ctx);
  assert.throws(() => clib._delete_pycontext(ctx), /in flight/);
  assert.strictEqual(await pending, 1);
  // A daemon thread, then a non-daemon thread.
  for (const daemon of ['True', 'False']) {
    clib._exec(`stop.clear()\nt = threading.Thread(target=wait, daemon=${daemon})\nt.start()`, ctx);
    assert.throws(() => clib._delete_pycontext(ctx), /Python threads running/);
    clib._exec('stop.set()\nt.join()', ctx);
  }
  assert.strictEqual(clib._delete_pycontext(ctx), true);
});

test('the process exits cleanly after contexts were used and deleted (and with one left alive)', () => {
  const r = runNode(`const { clib } = require('.');
    const a = clib._create_pycontext(); clib._exec('import json', a); clib._delete_pycontext(a);
    const b = clib._create_pycontext(); clib._exec('import decimal, atexit', b);
    console.log(JSON.stringify({ ok: clib._eval('1 + 1', b) }));`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(lastJson(r), { ok: 2 });
});

test('sync and async calls into several contexts at once from the same JS thread', async () => {
  const ctxs = [clib._create_pycontext(), clib._create_pycontext(), clib._create_pycontext()];
  ctxs.forEach((c, i) => clib._exec(`import time\nwho = ${i}`, c));
  const results = await Promise.all(ctxs.map((c) => promisify(clib._eval)('time.sleep(0.1) or who', c)));
  assert.deepStrictEqual(results, [0, 1, 2]);
  assert.deepStrictEqual(ctxs.map((c) => clib._eval('who', c)), [0, 1, 2]);
  // Nested: a JS callback of a call in one context calls into another.
  const m0 = clib._import_module('__main__', ctxs[0]);
  clib._exec('def apply(f):\n    return f() + who', ctxs[0]);
  assert.strictEqual(clib._call_python(m0, 'apply', [() => clib._eval('who * 10', ctxs[2])], null, ctxs[0]), 20);
  ctxs.forEach((c) => clib._delete_pycontext(c));
});

test('ownGil is a clear error before CPython 3.13 and works on 3.13+ (checked in a child per version)', async () => {
  for (const p of supportedPythons()) {
    const r = await runNodeAsync(`const { clib } = require('.');
      try { const c = clib._create_pycontext({ ownGil: true }); clib._exec('import json', c); clib._delete_pycontext(c); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ error: e.message })); }`, { env: { PYTHON_TS_PYTHON: p.exe } });
    const out = lastJson(r);
    if (p.version[1] >= 13) assert.deepStrictEqual(out, { ok: true }, p.label);
    else assert.match(out.error, new RegExp(`3\\.13 or newer \\(this runtime is 3\\.${p.version[1]}`), p.label);
  }
});

test('own-GIL contexts run CPU-bound work in parallel (3.13): the intervals overlap', async (t) => {
  if (!py313) return t.skip('no CPython 3.13 here');
  const r = await runNodeAsync(`const { clib } = require('.');
    const code = 'import time\\ndef spin(s):\\n    t0 = time.monotonic()\\n    n = 0\\n    while time.monotonic() - t0 < s:\\n        n += 1\\n    return [t0, time.monotonic()]';
    const ctxs = [clib._create_pycontext({ ownGil: true }), clib._create_pycontext({ ownGil: true })];
    ctxs.forEach((c) => clib._exec(code + '\\nimport ssl, decimal, json, hashlib', c));
    let n = 0; const spans = [];
    const t0 = Date.now();
    ctxs.forEach((c) => clib._call_python(clib._import_module('__main__', c), 'spin', [0.5], null, c, (e, s) => {
      spans.push(s);
      if (++n === 2) {
        ctxs.forEach((x) => clib._delete_pycontext(x));
        console.log(JSON.stringify({ ms: Date.now() - t0, overlap: Math.max(spans[0][0], spans[1][0]) < Math.min(spans[0][1], spans[1][1]), destroyed: clib._destroy_python() }));
      }
    }));`, { env: { PYTHON_TS_PYTHON: py313.exe } });
  const out = lastJson(r);
  assert.strictEqual(out.overlap, true);
  assert.strictEqual(out.destroyed, true);
});

test('an extension module that refuses sub-interpreters is an ImportError, not a crash (3.13, own GIL)', async (t) => {
  if (!py313) return t.skip('no CPython 3.13 here');
  const r = await runNodeAsync(`const { clib } = require('.');
    const c = clib._create_pycontext({ ownGil: true });
    try { clib._exec('import _testsinglephase', c); console.log('{}'); } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
  { env: { PYTHON_TS_PYTHON: py313.exe } });
  const out = lastJson(r);
  assert.strictEqual(out.name, 'ImportError');
  assert.match(out.message, /does not support loading in subinterpreters/);
});

test('PythonPool(size 2) runs 4 jobs with correct results and survives a job that raises', async () => {
  const pool = new PythonPool({ size: 2, setup: 'import math' });
  const results = await Promise.all([5, 6, 7, 8].map((n) => pool.call('math', 'factorial', [n])));
  assert.deepStrictEqual(results, [120, 720, 5040, 40320]);
  await assert.rejects(pool.call('math', 'sqrt', [-1]), (e) => e instanceof PythonError && e.name === 'ValueError');
  assert.strictEqual(await pool.call('math', 'gcd', [12, 18]), 6);
  assert.strictEqual(await pool.call('builtins', 'sorted', [[3, 1, 2]], { reverse: true }).then((r) => r.join()), '3,2,1');
  await pool.close();
  await assert.rejects(pool.call('math', 'factorial', [1]), /closed/);
  assert.throws(() => new PythonPool({ size: 0 }), RangeError);
});

test('creating and deleting 200 contexts leaves RSS bounded', () => {
  const r = runNode(`const { clib } = require('.');
    const rss = () => process.memoryUsage().rss / 1048576;
    for (let i = 0; i < 20; i++) { const c = clib._create_pycontext(); clib._exec('import json', c); clib._delete_pycontext(c); }
    const before = rss();
    for (let i = 0; i < 200; i++) { const c = clib._create_pycontext(); clib._exec('import json', c); clib._delete_pycontext(c); }
    console.log(JSON.stringify({ growth: rss() - before, left: clib.contexts.length }));`, { timeout: 1200000 });
  const out = lastJson(r);
  assert.strictEqual(out.left, 0);
  // 3.13's own bookkeeping of ended interpreters grows ~40–57 MB over 200 (docs/contexts.md). A
  // free-threaded build keeps far more of each ended interpreter's heap: CPython alone
  // (`_interpreters.create()` + `destroy()` × 200) grows 455 MB on 3.13t; ours ≈ 940 MB.
  const freeThreaded = clib._eval('not getattr(__import__("sys"), "_is_gil_enabled", lambda: True)()');
  const limit = freeThreaded ? 1200 : clib._eval('__import__("sys").version_info >= (3, 13)') ? 100 : 40;
  assert.ok(out.growth < limit, `RSS grew ${out.growth.toFixed(1)} MB over 200 contexts (limit ${limit} MB)`);
});

test('handles given to a JS callback from a context carry that context as state', () => {
  const ctx = clib._create_pycontext();
  clib._exec('def give(f):\n    return f(object())', ctx);
  let seen;
  clib._call_python(clib._import_module('__main__', ctx), 'give', [(h) => { seen = h; return 1; }], null, ctx);
  assert.strictEqual(seen.state, ctx);
  assert.strictEqual(typeof clib._call_python(seen, '__repr__', [], null, ctx), 'string');
  clib._delete_pycontext(ctx);
});

test("new Python({ context: 'isolated' }) gets its own GIL on 3.13 and a clear error before", async () => {
  for (const p of supportedPythons().filter((x) => x.version[1] === 11 || x.version[1] >= 13)) {
    const r = await runNodeAsync(`const { Python } = require('.');
      (async () => { try {
        const py = new Python({ context: 'isolated' });
        py.exec('import json\\nx = json.dumps([1])');
        const out = { x: py.eval('x'), own: py.context.ownGil };
        out.sum = await py.eval_async('sum(range(10))');
        out.deleted = py.delete();
        console.log(JSON.stringify(out));
      } catch (e) { console.log(JSON.stringify({ error: e.message })); } })();`, { env: { PYTHON_TS_PYTHON: p.exe } });
    const out = lastJson(r);
    if (p.version[1] >= 13) assert.deepStrictEqual(out, { x: '[1]', own: true, sum: 45, deleted: true }, p.label);
    else assert.match(out.error, /own GIL need CPython 3\.13/, p.label);
  }
});

test('a context a Worker made and left alive ends with the runtime on another thread: its atexit runs, threading raises nothing (3.8 asserted, on every runtime >= 3.8)', async () => {
  const runs = await Promise.all(supportedPythons().map(async (p) => {
    const dir = require('./helpers').tmpdir();
    const marker = require('path').join(dir, 'atexit.txt');
    const r = await runNodeAsync(`
      const { Worker } = require('worker_threads');
      const { Python, clib } = require(${JSON.stringify(require('path').join(__dirname, '..'))});
      new Python().exec('x = 1');
      const w = new Worker(\`
        const { Python } = require(${JSON.stringify(require('path').join(__dirname, '..'))});
        const py = new Python({ context: true });
        py.exec('import threading, atexit\\\\nL = threading.local(); L.v = 3\\\\natexit.register(lambda: open(${JSON.stringify(marker)}, "w").write("ran"))');
        require('worker_threads').parentPort.postMessage(py.eval('L.v'));
      \`, { eval: true });
      let got;
      w.on('message', (m) => { got = m; });
      w.on('exit', () => {
        const before = clib._internals.thread_states();
        const destroyed = clib._destroy_python();
        const ran = require('fs').existsSync(${JSON.stringify(marker)});
        console.log(JSON.stringify({ got, before, destroyed, ran, after: clib._internals.thread_states() }));
      });`, { env: { PYTHON_TS_PYTHON: p.exe }, timeout: 120000 });
    return { p, r };
  }));
  for (const { p, r } of runs) {
    assert.strictEqual(r.status, 0, `${p.label}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Error|Traceback/, p.label);
    assert.deepStrictEqual(lastJson(r), { got: 3, before: { contexts: 1, ending: 0 }, destroyed: true, ran: true, after: { contexts: 0, ending: 0 } }, p.label);
  }
});

test('a PythonPool of several contexts that share one GIL warns once per process; with own GILs it does not; await using closes it', async () => {
  const run = (py) => runNode(`const { PythonPool } = require('.');
    (async () => {
      const warnings = [];
      process.on('warning', (w) => warnings.push([w.code, w.message]));
      const a = new PythonPool({ size: 2 });
      const b = new PythonPool({ size: 3 });
      const one = new PythonPool({ size: 1 });
      const sum = await a.call('builtins', 'sum', [[1, 2, 3]]);
      await a[Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose')]();
      await Promise.all([b.close(), one.close()]);
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ warnings, ownGil: a.ownGil, sum, closed: a._closed }));
    })();`, { env: { PYTHON_TS_PYTHON: py.exe } });
  const old = supportedPythons().find((p) => p.version[1] < 13);
  if (old) {
    const o = lastJson(run(old));
    assert.strictEqual(o.ownGil, false);
    assert.strictEqual(o.warnings.length, 1, JSON.stringify(o.warnings));
    assert.strictEqual(o.warnings[0][0], 'PYTHON_TS_POOL_SHARED_GIL');
    assert.match(o.warnings[0][1], /share one GIL on CPython 3\.\d+/);
    assert.deepStrictEqual([o.sum, o.closed], [6, true]);
  }
  if (py313 && !py313.freeThreaded) {
    const o = lastJson(run(py313));
    assert.deepStrictEqual([o.ownGil, o.warnings, o.sum, o.closed], [true, [], 6, true]);
  }
});
