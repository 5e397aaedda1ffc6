'use strict';
// src/convert/callables.rs: JS functions called from Python, on the JS thread and from others.
const test = require('node:test');
const assert = require('node:assert');
const { promisify } = require('util');
const { clib, PythonError } = require('..');
const { runNode, lastJson } = require('./helpers');

clib._exec(`
import threading, time
from concurrent.futures import ThreadPoolExecutor
def apply(f, *args, **kw):
    return f(*args, **kw)
def in_thread(f, x):
    out = []
    def run():
        try:
            out.append(f(x))
        except Exception as e:
            out.append('%s: %s' % (type(e).__name__, e))
    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]
def pool_map(f, xs):
    with ThreadPoolExecutor(4) as ex:
        return list(ex.map(f, xs))
def catch(f):
    import python_ts
    try:
        f()
    except python_ts.JSError as e:
        return ['caught', e.js_message, 'Error' in (e.js_stack or '')]
def nest(f, depth):
    return f(depth)
`);
const main = clib._import_module('__main__');
const callAsync = promisify((m, args, cb) => clib._call_python(main, m, args, null, null, cb));

test('a JS function is a Python callable; called on the JS thread it runs at once', () => {
  assert.strictEqual(clib._call_python(main, 'apply', [(a, b) => a * b, 6, 7]), 42);
  assert.deepStrictEqual(clib._call_python(main, 'apply', [(a, kw) => [a, kw], 1, clib.kwargs({ k: 2 })]), [1, { k: 2 }]);
  assert.strictEqual(clib._call_python(main, 'apply', [() => undefined]), null);
});

test('a JS throw reaches Python as python_ts.JSError and can be caught there', () => {
  const r = clib._call_python(main, 'catch', [() => { throw new Error('js says no'); }]);
  assert.deepStrictEqual(r, ['caught', 'js says no', true]);
});

test('an uncaught JS error comes back to JS as the original error object', () => {
  const original = new RangeError('original');
  assert.throws(() => clib._call_python(main, 'apply', [() => { throw original; }]), (e) => e === original && /in apply/.test(e.pythonTraceback));
});

test('re-entrancy JS → Python → JS → Python works, 50 levels deep, and a bottom error surfaces with both stacks', () => {
  const down = (n) => (n === 0 ? 'bottom' : clib._call_python(main, 'nest', [down, n - 1]));
  assert.strictEqual(down(50), 'bottom');
  const boom = (n) => {
    if (n === 0) return clib._eval('1/0');
    return clib._call_python(main, 'nest', [boom, n - 1]);
  };
  // JavaScriptCore (Bun) leaves strict-mode JS frames out of a stack that runs through native
  // calls (measured: only `_eval` and `_call_python` frames); V8 lists them.
  const jsFrames = process.versions.bun ? /_eval/ : /boom/;
  assert.throws(() => boom(50), (e) => e instanceof PythonError && e.name === 'ZeroDivisionError' && /in nest/.test(e.pythonTraceback) && jsFrames.test(e.stack));
});

test('from a Python thread, in the async form, the call is queued to the JS thread', async () => {
  assert.strictEqual(await callAsync('in_thread', [(x) => x * 3, 5]), 15);
  assert.deepStrictEqual(await callAsync('pool_map', [(x) => x + 1, [1, 2, 3, 4, 5, 6]]), [2, 3, 4, 5, 6, 7]);
  assert.strictEqual(await callAsync('apply', [(x) => `worker ${x}`, 1]), 'worker 1');
  assert.strictEqual(await callAsync('in_thread', [() => { throw new Error('thread boom'); }, 0]), 'JSError: thread boom');
});

test('from a Python thread while JS is inside a sync call: RuntimeError at once, never a deadlock', () => {
  // Both calls return (a deadlock would never): the Python threads got the RuntimeError.
  const r = clib._call_python(main, 'in_thread', [(x) => x, 1]);
  assert.match(r, /^RuntimeError: .*async form/);
  assert.throws(() => clib._call_python(main, 'pool_map', [(x) => x, [1, 2]]), (e) => e.name === 'RuntimeError');
});

test('a Python thread that calls JS while JS is idle is served, and threads keep running between calls', () => {
  const r = runNode(`const { clib } = require('.');
    const seen = [];
    clib._exec('import threading, time\\ncount = 0\\ndef loop(f):\\n    global count\\n    for i in range(5):\\n        count += 1\\n        f(i)\\n        time.sleep(0.02)');
    const m = clib._import_module('__main__');
    clib._call_python(m, 'loop', [(i) => seen.push(i)], null, null, () => {});
    setTimeout(() => console.log(JSON.stringify({ seen, count: clib._eval('count') })), 600);`);
  assert.deepStrictEqual(lastJson(r), { seen: [0, 1, 2, 3, 4], count: 5 });
});

// After a call from a Python thread the JS thread watches for the next one for a moment
// (src/env/outbox.rs) instead of going back to its event loop: a thread calling without pause
// must still leave the loop its turns, and every call is served once, in order.
const HOPS = `
def hop_until(f, ticks, limit):
    n = 0
    while ticks() < 20 and n < limit:
        if f(n) != n + 1:
            return ['wrong answer', n]
        n += 1
    return [n, ticks()]
`;
const hopScript = `
  const ticks = { n: 0, stop: false };
  const turn = () => { if (!ticks.stop) { ticks.n++; setImmediate(turn); } };
  setImmediate(turn);
  const got = [];
  const m = clib._import_module('__main__');
  clib._call_python(m, 'hop_until', [(i) => { got.push(i); return i + 1; }, () => ticks.n, 200000], null, null, (err, r) => {
    ticks.stop = true;
    const inOrder = got.every((v, i) => v === i);
    done({ err: err ? err.message : null, n: r && r[0], ticks: r && r[1], calls: got.length, inOrder });
  });`;

test('calls one after another from a Python thread are served once each, in order, and the event loop keeps its turns', async () => {
  clib._exec(HOPS);
  const r = await new Promise((resolve) => new Function('clib', 'done', hopScript)(clib, resolve));
  assert.strictEqual(r.err, null);
  // The loop ran 20 turns while the thread called (a JS thread kept watching would have run
  // none, and the thread would have reached the limit).
  assert.ok(r.ticks >= 20 && r.n < 200000, JSON.stringify(r));
  assert.strictEqual(r.calls, r.n);
  assert.ok(r.inOrder);
});

// In a child: the same with no watching, and with the longest window (10 ms: gaps between the
// thread's calls never end a watch then, only its bounded turn does).
for (const us of ['0', '10000']) {
  test(`PYTHON_TS_SPIN_US=${us}: calls from a Python thread, the same results and turns of the loop`, () => {
    const r = runNode(`const { clib } = require('.');
      clib._exec(${JSON.stringify(HOPS)});
      const done = (x) => console.log(JSON.stringify(x));
      ${hopScript}`, { env: { PYTHON_TS_SPIN_US: us } });
    const j = lastJson(r);
    assert.ok(j && j.err === null && j.ticks >= 20 && j.n < 200000 && j.calls === j.n && j.inOrder, r.stdout + r.stderr);
  });
}
