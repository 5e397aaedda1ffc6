'use strict';
// Import of a large module (email with its submodules) through the wrapper, vs Python's own
// import time of the same modules in the same interpreter.
const { bench, pythonTs } = require('./lib');

const FORGET = "import sys\nfor _k in [k for k in sys.modules if k == 'email' or k.startswith('email.')]:\n    del sys.modules[_k]";
bench({
  name: 'import email (wrapper) vs Python\'s own import',
  unit: 'ms',
  variants: {
    baseline: async () => {
      const { clib } = pythonTs();
      clib._exec('import time, importlib');
      return async () => {
        clib._exec(FORGET);
        return clib._eval("(lambda t0: (importlib.import_module('email.mime.multipart'), importlib.import_module('email'), (time.perf_counter() - t0) * 1e3)[2])(time.perf_counter())");
      };
    },
    'python-ts': async () => {
      const { Python, clib } = pythonTs();
      const py = new Python();
      return async () => {
        clib._exec(FORGET);
        const t0 = process.hrtime.bigint();
        py.import('email.mime.multipart');
        const email = py.import('email');
        if (typeof email.message_from_string !== 'function') throw new Error('bad');
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
    },
  },
  note: 'baseline: the same imports timed inside Python with time.perf_counter (Python\'s own cost).',
});
