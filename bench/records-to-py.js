'use strict';
// 10 000 records ({ id, name, score, tags }) JS → Python only (Python returns their count).
// Floor: JSON.stringify in JS + json.loads in Python (Python's own time), the same run.
const { bench, timeMs, peer, benchModule, BENCH_MOD } = require('./lib');

const N = 10000;
const recs = Array.from({ length: N }, (_, i) => ({ id: i, name: `n${i}`, score: i * 0.5, tags: ['a', 'b'] }));
bench({
  name: '10 000 records JS → Python',
  unit: 'ms',
  variants: {
    baseline: async () => {
      const { clib, m } = benchModule();
      return async () => {
        const t0 = process.hrtime.bigint();
        const s = JSON.stringify(recs);
        const js = Number(process.hrtime.bigint() - t0) / 1e6;
        return { value: js + clib._call_python(m, 'time_json_loads', [s]), extra: { floor: 'JSON.stringify + json.loads' } };
      };
    },
    'python-ts': async () => {
      const { clib, m } = benchModule();
      return timeMs(async () => { if (clib._call_python(m, 'count_records', [recs]) !== N) throw new Error('bad count'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { if (py.callSync(m, 'count_records', recs) !== N) throw new Error('bad count'); });
    },
  },
});
