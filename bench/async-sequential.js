'use strict';
// Awaited async calls one after another, µs per call.
const { bench, pythonTsAsyncAdd, peerAsyncAdd } = require('./lib');

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
    'python-ts': async () => loop(pythonTsAsyncAdd()),
    'node-calls-python': async () => loop(peerAsyncAdd()),
  },
});
