'use strict';
// Echo a 10 MB string through Python.
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD } = require('./lib');

const s = 'abcdefghij'.repeat(1024 * 1024);
bench({
  name: '10 MB string echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Buffer.from(s, 'utf8').toString('utf8'); }),
    'python-ts': async () => {
      const { clib } = pythonTs();
      clib._set_plugins_path(PY_DIR);
      const m = clib._import_module('bench_mod');
      return timeMs(async () => { if (clib._call_python(m, 'echo', [s]).length !== s.length) throw new Error('bad echo'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { if (py.callSync(m, 'echo', s).length !== s.length) throw new Error('bad echo'); });
    },
  },
});
