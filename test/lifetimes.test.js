'use strict';
// The leak matrix: every way JS can hold a Python object, and Python a JS one. For each holder a
// child process makes 10 000 of them (each Python object carrying 4 KB), drops them and collects
// garbage — three rounds, the first a warm-up — and reports the exact counts (live handles, live
// Python objects of the test class, references to a shared object, JS objects finalized) against
// their baseline, and RSS growth over the last two rounds. A holder that keeps what it should not
// shows in the counts at once (and as +40 MB per round in RSS). docs/design.md says who owns what.
const test = require('node:test');
const assert = require('node:assert');
const { runNode, lastJson, ROOT, supportedPythons } = require('./helpers');

const N = Number(process.env.PYTHON_TS_LEAK_N || 10000);
const UNDER_SANITIZER = /asan/.test(process.env.LD_PRELOAD || '');
/** RSS growth allowed over two rounds of N objects (a leak is ≥ 80 MB there). */
const RSS_LIMIT_MB = 30;

const PRELUDE = `
  const { Python, PythonPool, clib, jsobject } = require(${JSON.stringify(ROOT)});
  const py = new Python();
  const N = ${N};
  py.exec([
    'import sys, gc',
    'class C:',
    '    alive = 0',
    '    def __init__(self):',
    '        self.buf = bytearray(4096)',
    '        C.alive += 1',
    '    def __del__(self):',
    '        C.alive -= 1',
    '    def m(self, x=None):',
    '        return x',
    '    @property',
    '    def fresh(self):',
    '        return C()',
    '    def __getitem__(self, i):',
    '        return C()',
    'class E(Exception):',
    '    alive = 0',
    '    def __init__(self):',
    '        self.buf = bytearray(4096)',
    '        E.alive += 1',
    '    def __del__(self):',
    '        E.alive -= 1',
    'def gen(n):',
    '    for _ in range(n):',
    '        yield C()',
    'async def acreate():',
    '    return C()',
    'async def agen(n):',
    '    for _ in range(n):',
    '        yield C()',
    'import array',
    'shared = array.array("b", bytes(4096))',
    'kept = []',
  ].join('\\n'));
  const main = py.import('__main__');
  const tick = () => new Promise((r) => setImmediate(r));
  async function settle() { for (let i = 0; i < 8; i++) { global.gc(); await tick(); } py.eval('0'); }
  const counts = () => ({ handles: clib.references.length, alive: py.eval('C.alive + E.alive'), shared: py.eval('sys.getrefcount(shared)') });
  // RSS outside the JS engine's heap, which Node 24 grows by 100 MB once under this load (its
  // young generation); a leaked Python object or native handle record lives outside it, and a
  // leaked JS object shows in the counts.
  const nativeRss = () => { const m = process.memoryUsage(); return m.rss - m.heapTotal; };
  // The baseline is taken after a warm-up round: what a first use caches for good (the support
  // module's handle, a context's __main__) is not a leak.
  async function matrix(name, round, extra = () => ({})) {
    await round();
    await settle();
    const base = { ...counts(), ...extra() };
    const rss0 = nativeRss();
    await round();
    await settle();
    await round();
    await settle();
    const after = { ...counts(), ...extra() };
    const mb = (from) => Math.round((nativeRss() - from) / 1e5) / 10;
    let rssMB = mb(rss0);
    // Hosts differ in how much freed memory they keep mapped. A leak grows RSS by the same
    // amount every round: over the limit, two more rounds decide.
    let settledMB;
    if (rssMB >= ${RSS_LIMIT_MB}) {
      const rss1 = nativeRss();
      await round();
      await settle();
      await round();
      await settle();
      settledMB = mb(rss1);
    }
    return { name, base, after, rssMB, settledMB };
  }
`;

/** Run `body` (which ends by printing JSON rows) in a child with --expose-gc. */
function run(body, env = {}) {
  const r = runNode(`${PRELUDE}\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(3); });`, { args: ['--expose-gc'], env, timeout: 1200000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr.slice(-4000)}`);
  return lastJson(r);
}

function check(t, rows) {
  for (const row of rows) {
    t.diagnostic(`${row.name}: ${JSON.stringify(row.base)} -> ${JSON.stringify(row.after)}, RSS +${row.rssMB} MB over 2 × ${N}${row.settledMB === undefined ? '' : `, then +${row.settledMB} MB over 2 more`}`);
    for (const k of Object.keys(row.base)) {
      if (k === 'jsFinalized') continue;
      assert.strictEqual(row.after[k], row.base[k], `${row.name}: ${k} back to its baseline`);
    }
    if (row.base.jsFinalized !== undefined) assert.strictEqual(row.after.jsFinalized - row.base.jsFinalized, 2 * N, `${row.name}: every JS object given to Python was collected`);
    // Freed memory stays in the sanitizer's quarantine: RSS says nothing there.
    if (!UNDER_SANITIZER) assert.ok(row.rssMB < RSS_LIMIT_MB || row.settledMB < RSS_LIMIT_MB, `${row.name}: RSS grew ${row.rssMB} MB over two rounds, then ${row.settledMB} MB over two more`);
  }
}

test(`JS holding Python: wrapped results, bound methods, attributes, items, raw handles (${N} each)`, (t) => {
  check(t, run(`
    const rows = [];
    rows.push(await matrix('wrapped result (py.eval)', async () => { for (let i = 0; i < N; i++) py.eval('C()'); }));
    rows.push(await matrix('bound method read and called', async () => { for (let i = 0; i < N; i++) { const o = py.eval('C()'); o.m(1); } }));
    rows.push(await matrix('bound method kept after its object', async () => { let ms = []; for (let i = 0; i < N; i++) ms.push(py.eval('C()').m); ms = null; }));
    const holder = py.eval('C()');
    rows.push(await matrix('attribute read (a property)', async () => { for (let i = 0; i < N; i++) holder.fresh; }));
    rows.push(await matrix('item (obj[i], getitem)', async () => { for (let i = 0; i < N; i++) { holder[i]; py.getitem(holder, i); } }));
    rows.push(await matrix('raw clib handle', async () => { for (let i = 0; i < N; i++) clib._eval('C()'); }));
    rows.push(await matrix('call() and method results', async () => { for (let i = 0; i < N; i++) { py.call(main, 'C'); main.C(); } }));
    rows.push(await matrix('py.gc() released early', async () => { for (let i = 0; i < N; i++) py.gc(py.eval('C()')); }));
    // Python handing its objects over live: pyobject(x) given to a JS function (a callable) and
    // to a proxied one (jsobject: wrapped objects, a method called), kept by JS, then dropped.
    py.exec('from python_ts import pyobject\\ndef give(f, n):\\n    for _ in range(n):\\n        f(pyobject(C()))');
    let held = [];
    const take = (w) => { held.push(w); };
    const takeLive = jsobject((w) => { if (w.m(3) !== 3) throw new Error('not live'); held.push(w); });
    rows.push(await matrix('pyobject(x) given to JS functions (kept, then dropped)', async () => {
      main.give(take, N / 2);
      main.give(takeLive, N / 2);
      if (held.length !== N) throw new Error('not all held');
      held = [];
    }));
    // A handle passed to proxied functions keeps (weakly) the wrapped object made for it: new
    // objects each time, and the same object again and again (its wrapped object given again).
    py.exec('from python_ts import pyobject\\nKEEP = C()\\ndef give_same(f, n):\\n    for _ in range(n):\\n        f(pyobject(KEEP))\\ndef give_new(f, n):\\n    for _ in range(n):\\n        f(pyobject([1, 2, 3]))');
    const count = jsobject((w) => { if (w.length !== 3 && w.m(1) !== 1) throw new Error('not live'); });
    rows.push(await matrix('pyobject(x) to a proxied JS function: new objects, and the same one again', async () => {
      main.give_new(count, N / 2);
      main.give_same(count, N / 2);
    }));
    // Each Python instance keeps its support functions as bound native functions (made on first
    // use: registering the host); they go with the instance.
    rows.push(await matrix('Python instances made and dropped (their bound support functions)', async () => {
      for (let i = 0; i < N; i++) {
        const p = new Python();
        if (p.eval('__import__("python_ts").pyobject([1, 2, 3])').length !== 3) throw new Error('wrong length');
      }
    }));
    console.log(JSON.stringify(rows));`));
});

test(`JS holding Python: iteration, for await, async results, awaited coroutines, views, pyException, converter results (${N} each)`, (t) => {
  check(t, run(`
    const rows = [];
    rows.push(await matrix('for..of over a generator', async () => { let n = 0; for (const x of main.gen(N)) n++; if (n !== N) throw new Error('short'); }));
    rows.push(await matrix('for..of left early (break)', async () => { for (let i = 0; i < N / 100; i++) { let k = 0; for (const x of main.gen(1000)) { if (++k === 100) break; } } }));
    rows.push(await matrix('for await over an async generator', async () => { let n = 0; for await (const x of main.agen(N)) n++; if (n !== N) throw new Error('short'); }));
    rows.push(await matrix('async results (call_async, _async methods)', async () => {
      for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => (j % 2 ? py.call_async(main, 'C') : main.C_async())));
    }));
    rows.push(await matrix('coroutines awaited from JS (then on a wrapped coroutine)', async () => {
      for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: 100 }, () => main.acreate()));
    }));
    const b = py.eval('shared');
    rows.push(await matrix('buffer views', async () => { for (let i = 0; i < N; i++) py.view(b); }));
    rows.push(await matrix('PythonError#pyException', async () => {
      for (let i = 0; i < N; i++) { try { py.exec('raise E()'); } catch (e) { if (!e.pyException) throw new Error('no pyException'); } }
    }));
    rows.push(await matrix('errors not read', async () => { for (let i = 0; i < N; i++) { try { py.exec('raise E()'); } catch (e) { /* dropped */ } } }));
    py.registerConverter('__main__.C', (w) => ({ wrapped: w }));
    rows.push(await matrix('registerConverter results', async () => { for (let i = 0; i < N; i++) py.eval('C()'); }));
    py.registerConverter('__main__.C', null);
    console.log(JSON.stringify(rows));`));
});

test(`JS holding Python: a context's objects, a PythonPool's results (${N} each)`, (t) => {
  check(t, run(`
    const rows = [];
    const ctx = new Python({ context: true });
    ctx.exec('import sys\\nclass D:\\n    alive = 0\\n    def __init__(self):\\n        self.buf = bytearray(4096)\\n        D.alive += 1\\n    def __del__(self):\\n        D.alive -= 1');
    rows.push(await matrix('objects of a context', async () => { for (let i = 0; i < N; i++) ctx.eval('D()'); }, () => ({ contextAlive: ctx.eval('D.alive') })));
    ctx.delete();
    const setup = 'class D:\\n    alive = 0\\n    def __init__(self):\\n        self.buf = bytearray(4096)\\n        D.alive += 1\\n    def __del__(self):\\n        D.alive -= 1\\ndef make():\\n    return D()\\ndef count():\\n    return D.alive';
    const pool = new PythonPool({ size: 2, setup });
    rows.push(await matrix('PythonPool results', async () => {
      for (let i = 0; i < N; i += 200) await Promise.all(Array.from({ length: 200 }, () => pool.call('__main__', 'make')));
    }));
    // Each pool context's objects are released in that context by the next call there (which
    // drains its queue first; a drain runs __del__ code, so calls beside it may see it midway):
    // one round of calls to reach both contexts, then the counts.
    await Promise.all(Array.from({ length: 8 }, () => pool.call('__main__', 'count')));
    await settle();
    const left = await Promise.all(Array.from({ length: 8 }, () => pool.call('__main__', 'count')));
    await pool.close();
    rows.push({ name: 'PythonPool contexts after the rounds', base: { alive: 0 }, after: { alive: Math.max(...left) }, rssMB: 0 });
    console.log(JSON.stringify(rows));`));
});

test(`JS holding Python: a Worker's handles (${N} in each of three Workers)`, (t) => {
  check(t, run(`
    const rows = [];
    const { Worker } = require('worker_threads');
    rows.push(await matrix('a Worker that held handles and ended', async () => {
      const w = new Worker(\`const { clib } = require(\${JSON.stringify(${JSON.stringify(ROOT)})}); globalThis.keep = []; for (let i = 0; i < \${N}; i++) keep.push(clib._eval('C()')); require('worker_threads').parentPort.postMessage(keep.length);\`, { eval: true });
      await new Promise((res, rej) => { w.on('message', () => w.terminate()); w.on('exit', res); w.on('error', rej); });
    }));
    console.log(JSON.stringify(rows));`));
});

test(`Python holding JS: JS functions, JS errors, external strings, live proxies of JS objects (${N} each)`, (t) => {
  check(t, run(`
    const rows = [];
    let finalized = 0;
    const registry = new FinalizationRegistry(() => { finalized++; });
    const keep = py.eval('kept.append');
    rows.push(await matrix('JS functions held by Python', async () => {
      for (let i = 0; i < N; i++) { const payload = new ArrayBuffer(4096); const f = () => payload.byteLength; registry.register(f, null); keep(f); }
      py.exec('kept.clear()');
    }, () => ({ jsFinalized: finalized })));
    class Payload { constructor() { this.buf = new ArrayBuffer(4096); } size() { return this.buf.byteLength; } }
    rows.push(await matrix('JS objects held by Python as live proxies (called, then dropped)', async () => {
      for (let i = 0; i < N; i++) { const o = new Payload(); registry.register(o, null); keep(o); }
      py.exec('assert kept[0].size() == 4096 and type(kept[0]).__name__ == "JsProxy"\\nkept.clear()');
    }, () => ({ jsFinalized: finalized })));
    py.exec('def throw_through(f):\\n    try:\\n        f()\\n    except Exception as e:\\n        return type(e).__name__');
    rows.push(await matrix('JS errors thrown through Python', async () => {
      for (let i = 0; i < N; i++) { if (main.throw_through(() => { throw new Error('x'.repeat(100)); }) !== 'JSError') throw new Error('not a JSError'); }
    }));
    py.exec('big = "é" * 40000\\ndef get_big():\\n    return big');
    const strRefs = () => ({ strRefs: py.eval('sys.getrefcount(big)') });
    rows.push(await matrix('external strings (40 000 characters)', async () => {
      let s = []; for (let i = 0; i < N; i++) s.push(main.get_big()); if (s[N - 1].length !== 40000) throw new Error('wrong string'); s = null;
    }, strRefs));
    console.log(JSON.stringify(rows));`));
});

test('the leak matrix also holds on the newest CPython here (3.13+)', { skip: !supportedPythons().some((p) => p.version[1] >= 13) && 'no CPython 3.13+ here' }, (t) => {
  const newest = supportedPythons().filter((p) => p.version[1] >= 13).pop();
  const env = { PYTHON_TS_PYTHON: newest.exe };
  check(t, run(`
    const rows = [];
    rows.push(await matrix('wrapped result', async () => { for (let i = 0; i < N; i++) py.eval('C()'); }));
    rows.push(await matrix('bound method read and called', async () => { for (let i = 0; i < N; i++) py.eval('C()').m(1); }));
    rows.push(await matrix('async results', async () => { for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: 100 }, () => main.C_async())); }));
    console.log(JSON.stringify(rows));`, env));
});
