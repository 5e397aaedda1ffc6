'use strict';
// 4 CPU-bound calls of ~0.5 s each: one context on a GIL build vs one context on a free-threaded
// build (3.13t, from the test manifest) vs PythonPool(size 2) with own-GIL contexts vs the peer,
// with the event-loop lag during each. Set PYTHON_TS_PYTHON to a 3.13 interpreter for own-GIL
// contexts; PYTHON_TS_PYTHON_FT to a free-threaded one (default: the manifest's).
const { bench, timeMs, withLag, peer, pythonTs, python313, PY_DIR, BENCH_MOD, benchModule } = require('./lib');

const PY313 = process.env.PYTHON_TS_PYTHON || python313();
const PY313T = process.env.PYTHON_TS_PYTHON_FT || (() => {
  try {
    const ft = require('../test/helpers').freeThreadedPythons();
    return ft.length ? ft[ft.length - 1].exe : undefined;
  } catch (e) {
    return undefined;
  }
})();

const WORK = Number(process.env.BENCH_CPU_WORK || 6000000); // ≈ 0.5 s of Python on this machine
const four = (call) => withLag(() => Promise.all([0, 1, 2, 3].map(() => call()))).then(({ lag }) => ({ lagMs: +lag.toFixed(2) }));
bench({
  name: '4 CPU-bound calls (~0.5 s each)',
  unit: 'ms',
  reps: 3,
  variants: {
    'python-ts one context': async () => {
      const { clib, m } = benchModule();
      return timeMs(() => four(() => new Promise((res, rej) => clib._call_python(m, 'count', [WORK], null, null, (e, r) => (e ? rej(e) : res(r))))));
    },
    'python-ts one context, free-threaded': async () => {
      if (!PY313T) throw new Error('no free-threaded CPython (PYTHON_TS_PYTHON_FT or the test manifest)');
      const { clib, m } = benchModule();
      const gil = clib._eval('getattr(__import__("sys"), "_is_gil_enabled", lambda: True)()');
      return timeMs(() => four(() => new Promise((res, rej) => clib._call_python(m, 'count', [WORK], null, null, (e, r) => (e ? rej(e) : res(r))))).then((x) => ({ ...x, gil })));
    },
    'python-ts PythonPool(2)': async () => {
      const { PythonPool } = pythonTs();
      const pool = new PythonPool({ size: 2, plugins_path: PY_DIR });
      return timeMs(() => four(() => pool.call('bench_mod', 'count', [WORK])).then((x) => ({ ...x, ownGil: pool.ownGil })));
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(() => four(() => py.call(m, 'count', WORK)));
    },
  },
  env: (name) => (name.endsWith('free-threaded') ? { PYTHON_TS_PYTHON: PY313T || '' } : name.startsWith('python-ts') && PY313 ? { PYTHON_TS_PYTHON: PY313 } : {}),
  note: `python-ts runs on ${PY313 || 'the default Python'} (3.13+ gives PythonPool own-GIL contexts), the free-threaded row on ${PY313T || '(none found)'}; the peer uses the Python it was built against (3.11). The same fixed amount of work per call (count(6e6)).`,
});
