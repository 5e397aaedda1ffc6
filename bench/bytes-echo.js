'use strict';
// Echo 10 MB of bytes through Python (Buffer → bytes → Buffer: two copies are the floor).
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD } = require('./lib');

const buf = Buffer.alloc(10 * 1024 * 1024, 7);
bench({
  name: '10 MB bytes echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Buffer.from(Buffer.from(buf)); }),
    'python-ts': async () => {
      const { clib } = pythonTs();
      clib._set_plugins_path(PY_DIR);
      const m = clib._import_module('bench_mod');
      return timeMs(async () => { if (clib._call_python(m, 'echo', [buf]).length !== buf.length) throw new Error('bad echo'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { const r = py.callSync(m, 'echo', buf); if ((r.byteLength ?? r.length) !== buf.length) throw new Error('bad echo'); });
    },
  },
});
