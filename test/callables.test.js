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
