'use strict';
// Echo 10 000 records ({ id, name, score, tags }): the everyday payload of plugins.
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD } = require('./lib');

const recs = Array.from({ length: 10000 }, (_, i) => ({ id: i, name: `n${i}`, score: i * 0.5, tags: ['a', 'b'] }));
bench({
  name: '10 000 records echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { structuredClone(recs); }),
    'python-ts': async () => {
      const { clib } = pythonTs();
      clib._set_plugins_path(PY_DIR);
      const m = clib._import_module('bench_mod');
      return timeMs(async () => { if (clib._call_python(m, 'echo', [recs])[9999].name !== 'n9999') throw new Error('bad echo'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { if (py.callSync(m, 'echo', recs)[9999].name !== 'n9999') throw new Error('bad echo'); });
    },
  },
});
