'use strict';
// 1M floats returned to JS: as an Array (list[float]) and as a typed view (array('d')).
const { bench, timeMs, peer, pythonTs, PY_DIR, BENCH_MOD, benchModule } = require('./lib');

const N = 1000000;
bench({
  name: '1M floats returned',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Array.from({ length: N }, (_, i) => i * 0.5); }),
    'python-ts Array': async () => {
      const { clib, m } = benchModule();
      clib._exec('import bench_mod\n_floats = bench_mod.floats(1000000)');
      const main = clib._import_module('__main__');
      return timeMs(async () => { if (clib._getattr(main, '_floats')[1].length !== N) throw new Error('bad'); });
    },
    'python-ts typed view': async () => {
      const { clib } = pythonTs();
      if (typeof clib._buffer_view !== 'function') throw new Error('no _buffer_view in this build');
      clib._set_plugins_path(PY_DIR);
      clib._exec('import bench_mod\n_arr = bench_mod.float_array(1000000)');
      const arr = clib._eval('_arr');
      return timeMs(async () => { if (clib._buffer_view(arr).data.length !== N) throw new Error('bad'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      py.execSync ? py.execSync(m, '_floats = floats(1000000)') : null;
      const data = py.callSync(m, 'floats', N);
      if (data.length !== N) throw new Error('bad');
      return timeMs(async () => { if (py.callSync(m, 'floats', N).length !== N) throw new Error('bad'); });
    },
  },
  note: 'python-ts Array reads a prebuilt list (conversion only); the peer has no way to return an existing object, so its figure includes building the list in Python (≈ 40 ms of it).',
});
