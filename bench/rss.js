'use strict';
// RSS growth after 1M sync calls (after gc).
const { bench, peer, pythonTs, PY_DIR, BENCH_MOD, benchModule } = require('./lib');

const N = 1000000;
const growth = (call) => async () => {
  for (let i = 0; i < 10000; i++) call();
  global.gc();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < N; i++) call();
  global.gc();
  await new Promise((r) => setImmediate(r));
  global.gc();
  return (process.memoryUsage().rss - before) / 1048576;
};
bench({
  name: 'RSS growth after 1M sync calls',
  unit: 'MB',
  reps: 3,
  variants: {
    baseline: async () => {
      const f = (a, b) => [a, b];
      return growth(() => f(1, 2));
    },
    'python-ts': async () => {
      const { clib, m } = benchModule();
      const args = [1, 2];
      return growth(() => clib._call_python(m, 'add', args));
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return growth(() => py.callSync(m, 'add', 1, 2));
    },
  },
});
