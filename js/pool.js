'use strict';
// PythonPool: several contexts, each with its own GIL where the runtime allows it (3.13+), for
// CPU-bound work in parallel. Results come back as clib gives them (raw handles).
const clib = require('./native');
const { argsOf, kwargsOf } = require('./internal/args');

const asyncDispose = Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose');

let warnedSharedGil = false;
/** Once per process: a pool of several contexts that share one GIL runs its calls one at a time. */
function warnSharedGil(size) {
  if (warnedSharedGil) return;
  warnedSharedGil = true;
  const v = (clib._runtime_info() || {}).version || '< 3.13';
  process.emitWarning(`python-ts: this PythonPool's ${size} contexts share one GIL on CPython ${v} (contexts with their own GIL need 3.13+): its calls run one at a time`, { code: 'PYTHON_TS_POOL_SHARED_GIL' });
}

/**
 * A pool of isolated contexts — each with its own GIL where the Python allows it (3.13+), else
 * sharing the main GIL — for CPU-bound work in parallel. Calls go to the least busy context.
 */
class PythonPool {
  /**
   * @param {object} options
   * @param {number} options.size number of contexts (>= 1)
   * @param {string} [options.runtime_path]
   * @param {string} [options.plugins_path] put first on each context's `sys.path`
   * @param {string} [options.setup] code run once in each context
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('python-ts: new PythonPool(options): options must be an Object');
    const { size, runtime_path: runtimePath, plugins_path: pluginsPath, setup } = options;
    if (!Number.isInteger(size) || size < 1) throw new RangeError('python-ts: new PythonPool({ size }): size must be a positive integer');
    if (setup !== undefined && typeof setup !== 'string') throw new TypeError('python-ts: new PythonPool({ setup }): setup must be a string of Python code');
    if (runtimePath !== undefined && runtimePath !== null) clib._set_runtime_path(String(runtimePath));
    clib._init_python();
    this.size = size;
    this.ownGil = true;
    this._workers = [];
    this._closed = false;
    try {
      for (let i = 0; i < size; i++) {
        let ctx;
        if (this.ownGil) {
          try {
            ctx = clib._create_pycontext({ ownGil: true });
          } catch (e) {
            this.ownGil = false;
          }
        }
        if (!ctx) ctx = clib._create_pycontext({});
        this._workers.push({ ctx, busy: 0, modules: new Map() });
        const support = clib._import_module('python_ts', ctx);
        if (pluginsPath !== undefined && pluginsPath !== null) clib._call_python(support, 'add_syspath', [String(pluginsPath)], null, ctx);
        if (setup) clib._exec(setup, ctx);
      }
      if (size > 1 && !this.ownGil) warnSharedGil(size);
    } catch (e) {
      for (const w of this._workers) {
        try {
          clib._delete_pycontext(w.ctx);
        } catch (_) { /* best effort */ }
      }
      throw e;
    }
  }

  /**
   * `module.func(*args, **kwargs)` in the least busy context.
   * @returns {Promise<any>}
   */
  call(module, func, args, kw) {
    return new Promise((resolve, reject) => {
      if (this._closed) throw new Error('python-ts: this PythonPool was closed');
      if (typeof module !== 'string' || typeof func !== 'string') throw new TypeError('python-ts: pool.call(module, func, args?, kwargs?): module and func must be strings');
      const w = this._workers.reduce((a, b) => (b.busy < a.busy ? b : a));
      let mod = w.modules.get(module);
      if (!mod) {
        mod = clib._import_module(module, w.ctx);
        w.modules.set(module, mod);
      }
      const done = () => {
        w.busy--;
        if (this._idle && this._workers.every((x) => x.busy === 0)) this._idle();
      };
      w.busy++;
      try {
        clib._call_python(mod, func, argsOf(args), kwargsOf(kw), w.ctx, (err, r) => {
          done();
          if (err) reject(err);
          else resolve(r);
        });
      } catch (e) {
        // Arguments that fail to convert throw before anything is scheduled: the call is not
        // in flight (close() waited for it forever when this count leaked).
        done();
        throw e;
      }
    });
  }

  /** `await using pool = new PythonPool(...)`: close() at the end of the scope. */
  [asyncDispose]() {
    return this.close();
  }

  /** End every context once the calls in flight have finished. */
  async close() {
    if (this._closed) return;
    this._closed = true;
    if (this._workers.some((w) => w.busy > 0)) await new Promise((resolve) => { this._idle = resolve; });
    for (const w of this._workers) {
      w.modules.clear();
      clib._delete_pycontext(w.ctx);
    }
  }
}


module.exports = { PythonPool };
