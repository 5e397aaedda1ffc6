'use strict';
// Python uses JS: a 10 000-element list each way — a Python list given to a JS function, a live
// JS Array copied into Python (`to_py`).
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
  name: 'a 10 000-element list each way (Python → a JS function; a live JS Array → Python by to_py)',
  unit: 'µs',
  variants: {
    baseline: async () => { const a = Array.from({ length: 10000 }, (_, i) => i); return perCall(() => a.slice(), 100); },
    'python-ts, Python list → JS': async () => {
      const m = instance();
      const f = (a) => a.length;
      return async () => m.list_to_js(f);
    },
    'python-ts, JS Array → Python (to_py)': async () => {
      const m = instance();
      const { jsobject } = pythonTs();
      const a = jsobject(Array.from({ length: 10000 }, (_, i) => i));
      return async () => m.list_from_js(a);
    },
  },
});
