'use strict';
// 100 async calls in flight at once, µs per call.
const { bench, peer, pythonTs, PY_DIR, BENCH_MOD } = require('./lib');

const ROUNDS = 40;
const loop = (f) => async () => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) await Promise.all(Array.from({ length: 100 }, f));
  return Number(process.hrtime.bigint() - t0) / 1e3 / (ROUNDS * 100);
};
bench({
  name: 'async calls, 100 in flight',
  unit: 'µs',
  variants: {
    baseline: async () => loop(() => new Promise((r) => setImmediate(r))),
    'python-ts': async () => {
      const { clib } = pythonTs();
      clib._set_plugins_path(PY_DIR);
      const m = clib._import_module('bench_mod');
      return loop(() => new Promise((res, rej) => clib._call_python(m, 'add', [1, 2], null, null, (e, r) => (e ? rej(e) : res(r)))));
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return loop(() => py.call(m, 'add', 1, 2));
    },
  },
});
