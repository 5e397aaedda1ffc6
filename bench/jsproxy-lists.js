'use strict';
// Python uses JS: a 10 000-element list each way — a Python list given to a JS function (a copy by
// the table, or live with `pyobject(list)`), a live JS Array copied into Python (`to_py`).
// Times are taken in Python (time.perf_counter) around a run of calls, per call: 2 000 for the live
// rows of the same list (python-ts and PythonMonkey alike: a few µs each, so 20 would time the
// loop's first, cold calls as much as the pass), 20 for the copies and the new lists.
const { bench, perCall, pythonTs, jsproxyModule, peerLoop } = require('./lib');

bench({
  name: 'a 10 000-element list each way (Python → a JS function; a live JS Array → Python by to_py)',
  unit: 'µs',
  variants: {
    baseline: async () => { const a = Array.from({ length: 10000 }, (_, i) => i); return perCall(() => a.slice(), 100); },
    'python-ts, Python list → JS': async () => {
      const m = jsproxyModule();
      const f = (a) => a.length;
      return async () => m.list_to_js(f);
    },
    // Through a proxy call (a JS function that reached Python as a proxy): the argument is a
    // wrapped object; the function reads its length (one call into Python).
    'python-ts, Python list → JS, pyobject(list), the same list each time': async () => {
      const m = jsproxyModule();
      const { jsobject } = pythonTs();
      const f = jsobject((a) => a.length);
      return async () => m.list_live_to_js(f, false, 2000);
    },
    'python-ts, Python list → JS, pyobject(list), a new list each time': async () => {
      const m = jsproxyModule();
      const { jsobject } = pythonTs();
      const f = jsobject((a) => a.length);
      return async () => m.list_live_to_js(f, true);
    },
    'pythonmonkey, Python list → JS': async () => peerLoop('import pythonmonkey as pm\nf = pm.eval("(a) => a.length")\nitems = list(range(10000))\ncall = lambda: f(items)', 2000),
    'pythonmonkey, JS Array → Python (list())': async () => peerLoop('import pythonmonkey as pm\na = pm.eval("Array.from({ length: 10000 }, (_, i) => i)")\ncall = lambda: list(a)', 20),
    'python-ts, JS Array → Python (to_py)': async () => {
      const m = jsproxyModule();
      const { jsobject } = pythonTs();
      const a = jsobject(Array.from({ length: 10000 }, (_, i) => i));
      return async () => m.list_from_js(a);
    },
  },
});
