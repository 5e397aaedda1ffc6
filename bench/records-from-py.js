'use strict';
// 10 000 records ({ id, name, score, tags }) Python → JS only (built in Python, returned).
// Floor: Python's own time to build them + structuredClone of the result (V8 making as many
// objects), the same run.
const { bench, timeMs, peer, benchModule, BENCH_MOD } = require('./lib');

const N = 10000;
const shape = Array.from({ length: N }, (_, i) => ({ id: i, name: `n${i}`, score: i * 0.5, tags: ['a', 'b'] }));
const ok = (r) => r.length === N && r[N - 1].name === `n${N - 1}` && r[N - 1].tags[1] === 'b';
bench({
  name: '10 000 records Python → JS',
  unit: 'ms',
  variants: {
    baseline: async () => {
      const { clib, m } = benchModule();
      return async () => {
        const py = clib._call_python(m, 'time_make_records', [N]);
        const t0 = process.hrtime.bigint();
        structuredClone(shape);
        return { value: py + Number(process.hrtime.bigint() - t0) / 1e6, extra: { floor: 'building in Python + structuredClone' } };
      };
    },
    'python-ts': async () => {
      const { clib, m } = benchModule();
      return timeMs(async () => { if (!ok(clib._call_python(m, 'make_records', [N]))) throw new Error('bad records'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { if (!ok(py.callSync(m, 'make_records', N))) throw new Error('bad records'); });
    },
  },
});
