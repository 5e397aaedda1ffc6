'use strict';
// Python uses JS: a call through a proxy from Python — `js.Math.max(1, 2)` in a Python loop —
// on the JS thread (a sync call), the same with the method read once, and from a Python thread
// (an async call's worker: every call hops to the JS thread); a 10 000-element list each way.
// Times are taken in Python (time.perf_counter) over the loop, per call. The in-process peer
// (PythonMonkey: SpiderMonkey inside CPython) is a Python package: `bash bench/peers.sh` makes a
// venv with it that bench/lib.js uses (or set PYTHON_TS_PEERS_PYTHON to a python that has it); its rows run the
// same loop there; so do pythonia's (JSPyBridge, PyPI `javascript`, in the same venv: every
// operation is a message to a node child over a pipe, so its loops are 50x shorter).
const { bench, perCall, pythonTs, jsproxyModule, peerLoop } = require('./lib');


const N = 20000;

bench({
  name: 'a JS call from Python: js.Math.max(1, 2)',
  unit: 'µs',
  variants: {
    baseline: async () => perCall(() => Math.max(1, 2), N * 10),
    'python-ts, JS thread': async () => { const m = jsproxyModule(); return async () => m.loop(N); },
    'python-ts, JS thread, method read once': async () => { const m = jsproxyModule(); return async () => m.loop_bound(N); },
    'python-ts, from a Python thread': async () => { const m = jsproxyModule(); return async () => m.loop_async(N / 10); },
    'pythonmonkey, method read each time': async () => peerLoop('import pythonmonkey as pm\nMath = pm.eval("Math")\ncall = lambda: Math.max(1, 2)', N),
    'pythonmonkey, method read once': async () => peerLoop('import pythonmonkey as pm\nmx = pm.eval("Math.max")\ncall = lambda: mx(1, 2)', N),
    'pythonia, method read each time': async () => peerLoop('from javascript import globalThis\nMath = globalThis.Math\ncall = lambda: Math.max(1, 2)', N / 50),
    'pythonia, method read once': async () => peerLoop('from javascript import globalThis\nmx = globalThis.Math.max\ncall = lambda: mx(1, 2)', N / 50),
  },
});
