'use strict';
// Context create + delete time (a sub-interpreter that imports json).
const { bench, pythonTs, python313 } = require('./lib');

const PY313 = process.env.PYTHON_TS_PYTHON || python313();

bench({
  name: 'context create + delete',
  unit: 'ms',
  variants: {
    baseline: async () => {
      const { clib } = pythonTs();
      clib._init_python();
      return async () => {
        const t0 = process.hrtime.bigint();
        clib._exec('import json');
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
    },
    'python-ts shared GIL': async () => {
      const { clib } = pythonTs();
      return async () => {
        const t0 = process.hrtime.bigint();
        const c = clib._create_pycontext();
        clib._exec('import json', c);
        clib._delete_pycontext(c);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
    },
    'python-ts own GIL': async () => {
      const { clib } = pythonTs();
      clib._init_python();
      return async () => {
        const t0 = process.hrtime.bigint();
        const c = clib._create_pycontext({ ownGil: true });
        clib._exec('import json', c);
        clib._delete_pycontext(c);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
    },
  },
  env: () => (PY313 ? { PYTHON_TS_PYTHON: PY313 } : {}),
  note: 'on CPython 3.13; baseline: `import json` in the main interpreter (already imported: the cost of a call). Own GIL needs CPython 3.13 (PYTHON_TS_PYTHON).',
});
