'use strict';
// Python uses JS: a call through a proxy from Python — `js.Math.max(1, 2)` in a Python loop —
// on the JS thread (a sync call), the same with the method read once, and from a Python thread
// (an async call's worker: every call hops to the JS thread); a 10 000-element list each way.
// Times are taken in Python (time.perf_counter) over the loop, per call. The in-process peer
// (PythonMonkey) and the pipe-based one (pythonia/JSPyBridge) are Python packages, not installed
// by bench/package.json: their rows say so.
const { bench, perCall, pythonTs, jsproxyModule } = require('./lib');

const N = 20000;

bench({
  name: 'a JS call from Python: js.Math.max(1, 2)',
  unit: 'µs',
  variants: {
    baseline: async () => perCall(() => Math.max(1, 2), N * 10),
    'python-ts, JS thread': async () => { const m = jsproxyModule(); return async () => m.loop(N); },
    'python-ts, JS thread, method read once': async () => { const m = jsproxyModule(); return async () => m.loop_bound(N); },
    'python-ts, from a Python thread': async () => { const m = jsproxyModule(); return async () => m.loop_async(N / 10); },
    pythonmonkey: async () => { throw new Error('not installed here (PyPI pythonmonkey)'); },
    'pythonia (JSPyBridge)': async () => { throw new Error('not installed here (PyPI javascript)'); },
  },
});
