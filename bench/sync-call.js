'use strict';
// Sync call of add(1, 2): the floor (plain C), clib._call_python, a bound native method
// (clib._method), a wrapped method (which is one), the same wrapped method of another checkout
// (PYTHON_TS_BASE: a checkout of an earlier commit with its addon built — its own js/ and .node —
// to compare two builds in one run), the peer's callSync.
const { bench, perCall, peer, pythonTs, floorAddon, PY_DIR, BENCH_MOD, benchModule } = require('./lib');

const N = 200000;
bench({
  name: 'sync call add(1, 2)',
  unit: 'µs',
  variants: {
    baseline: async () => {
      const noop = (a, b) => a + b;
      return perCall(() => noop(1, 2), N);
    },
    'floor (C, direct args)': async () => {
      const floor = floorAddon();
      if (!floor) throw new Error('the floor addon could not be built (gcc, node and Python headers)');
      return perCall(() => floor.add(1, 2), N);
    },
    'python-ts clib': async () => {
      const { clib, m } = benchModule();
      const args = [1, 2];
      return perCall(() => clib._call_python(m, 'add', args), N);
    },
    'python-ts clib._method': async () => {
      const { clib, m } = benchModule();
      const add = clib._method(m, 'add');
      return perCall(() => add(1, 2), N);
    },
    'python-ts wrapped': async () => {
      const { Python } = pythonTs();
      const py = new Python({ plugins_path: PY_DIR });
      const m = py.import('bench_mod');
      return perCall(() => m.add(1, 2), N);
    },
    'python-ts wrapped (base checkout)': async () => {
      if (!process.env.PYTHON_TS_BASE) throw new Error('set PYTHON_TS_BASE to a built checkout of an earlier commit to compare');
      const { Python } = require(process.env.PYTHON_TS_BASE);
      const py = new Python({ plugins_path: PY_DIR });
      const m = py.import('bench_mod');
      return perCall(() => m.add(1, 2), N);
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return perCall(() => py.callSync(m, 'add', 1, 2), N);
    },
  },
});
