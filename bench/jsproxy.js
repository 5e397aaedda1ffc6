'use strict';
// Python uses JS: a call through a proxy from Python — `js.Math.max(1, 2)` in a Python loop —
// on the JS thread (a sync call), the same with the method read once, and from a Python thread
// (an async call's worker: every call hops to the JS thread); a 10 000-element list each way.
// Times are taken in Python (time.perf_counter) over the loop, per call. The in-process peer
// (PythonMonkey) and the pipe-based one (pythonia/JSPyBridge) are Python packages, not installed
// by bench/package.json: their rows say so.
const { bench, perCall, pythonTs } = require('./lib');

const N = 20000;
const SOURCE = `
import time
from python_ts import js
def loop(n):
    t = time.perf_counter()
    for _ in range(n):
        js.Math.max(1, 2)
    return (time.perf_counter() - t) / n * 1e6
def loop_bound(n):
    mx = js.Math.max
    t = time.perf_counter()
    for _ in range(n):
        mx(1, 2)
    return (time.perf_counter() - t) / n * 1e6
def list_to_js(f):
    items = list(range(10000))
    t = time.perf_counter()
    f(items)
    return (time.perf_counter() - t) * 1e6
def list_from_js(proxy):
    t = time.perf_counter()
    proxy.to_py()
    return (time.perf_counter() - t) * 1e6
`;

function instance() {
  const { Python } = pythonTs();
  const py = new Python();
  py.exec(SOURCE);
  return py.import('__main__');
}

bench({
  name: 'a JS call from Python: js.Math.max(1, 2)',
  unit: 'µs',
  variants: {
    baseline: async () => perCall(() => Math.max(1, 2), N * 10),
    'python-ts, JS thread': async () => { const m = instance(); return async () => m.loop(N); },
    'python-ts, JS thread, method read once': async () => { const m = instance(); return async () => m.loop_bound(N); },
    'python-ts, from a Python thread': async () => { const m = instance(); return async () => m.loop_async(N / 10); },
    pythonmonkey: async () => { throw new Error('not installed here (PyPI pythonmonkey)'); },
    'pythonia (JSPyBridge)': async () => { throw new Error('not installed here (PyPI javascript)'); },
  },
});
