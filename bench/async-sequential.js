'use strict';
// Awaited async calls one after another, µs per call.
const { bench, peer, pythonTs, PY_DIR, BENCH_MOD } = require('./lib');

const N = 3000;
const loop = (f) => async () => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await f();
  return Number(process.hrtime.bigint() - t0) / 1e3 / N;
};
bench({
  name: 'async call, sequential await',
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
