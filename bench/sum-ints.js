'use strict';
// A JS array of 1M ints → Python sum().
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD, benchModule } = require('./lib');

const xs = Array.from({ length: 1000000 }, (_, i) => i);
bench({
  name: '1M-int array → sum',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { xs.reduce((a, b) => a + b, 0); }),
    'python-ts': async () => {
      const { clib, m } = benchModule();
      return timeMs(async () => { clib._call_python(m, 'sum_list', [xs]); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { py.callSync(m, 'sum_list', xs); });
    },
  },
});
