'use strict';
// 8 × time.sleep(0.2) at once: total ms (they should overlap: ≈ 200 ms).
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD, benchModule } = require('./lib');

bench({
  name: '8 × sleep(0.2) in flight',
  unit: 'ms',
  reps: 5,
  variants: {
    baseline: async () => timeMs(() => Promise.all(Array.from({ length: 8 }, () => new Promise((r) => setTimeout(r, 200))))),
    'python-ts': async () => {
      const { clib, m } = benchModule();
      return timeMs(() => Promise.all(Array.from({ length: 8 }, () => new Promise((res, rej) => clib._call_python(m, 'sleep', [0.2], null, null, (e, r) => (e ? rej(e) : res(r)))))));
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(() => Promise.all(Array.from({ length: 8 }, () => py.call(m, 'sleep', 0.2))));
    },
  },
});
