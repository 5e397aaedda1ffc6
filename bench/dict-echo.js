'use strict';
// Echo a dict with 10 000 keys.
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD } = require('./lib');

const obj = {};
for (let i = 0; i < 10000; i++) obj[`key${i}`] = i;
bench({
  name: '10 000-key dict echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { structuredClone(obj); }),
    'python-ts': async () => {
      const { clib } = pythonTs();
      clib._set_plugins_path(PY_DIR);
      const m = clib._import_module('bench_mod');
      return timeMs(async () => { if (clib._call_python(m, 'echo', [obj]).key9999 !== 9999) throw new Error('bad'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { if (py.callSync(m, 'echo', obj).key9999 !== 9999) throw new Error('bad'); });
    },
  },
});
