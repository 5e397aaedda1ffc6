'use strict';
// 100 async calls in flight at once, µs per call.
const { bench, pythonTsAsyncAdd, peerAsyncAdd } = require('./lib');

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
    'python-ts': async () => loop(pythonTsAsyncAdd()),
    'node-calls-python': async () => loop(peerAsyncAdd()),
  },
});
