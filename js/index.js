'use strict';
/**
 * python-ts: CPython embedded in Node.js.
 *
 * `Python` is the friendly layer over `clib`: wrapped modules and objects whose attributes are
 * read from Python lazily and whose methods call Python, sync or async.
 * @module python-ts
 */
const clib = require('./native');

const { PythonError, kwargs } = clib;
const HANDLE_TYPE = 'python-ts/PyObject*';
/** Marks wrapped objects; registered, so the native serializer can recognise them too. */
const WRAPPED = Symbol.for('python-ts.wrapped');
const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Names JS itself probes on objects; answered on the JS side, never as a Python getattr. */
const JS_PROBES = new Set(['then', 'toJSON', 'constructor', 'inspect', 'asymmetricMatch', '$$typeof', 'nodeType', 'toString', 'valueOf']);

/** @returns {boolean} whether `x` is a handle made by the native side. */
function isHandle(x) {
  return x !== null && typeof x === 'object' && clib._internals.is_pyobject(x);
}

/** The handle behind a handle, wrapped object or wrapped callable; otherwise undefined. */
function handleOf(x) {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return undefined;
  const w = x[WRAPPED];
  if (w) return w.handle();
  if (typeof x === 'object' && clib._internals.is_pyobject(x)) return x;
  return undefined;
}

// Wrapped objects inside arguments need no translation here: the native serializer knows a
// wrapper by `WRAPPED` (a registered symbol) at any depth — twice in one call, inside a Map, a
// Set, a class instance or kwargs({...}) — and passes the Python object itself.
function argsOf(args) {
  if (args === undefined || args === null) return [];
  if (!Array.isArray(args)) throw new TypeError('python-ts: args must be an Array');
  return args;
}

function kwargsOf(kw) {
  if (kw === undefined || kw === null) return null;
  if (typeof kw !== 'object' || Array.isArray(kw)) throw new TypeError('python-ts: kwargs must be an Object');
  return kw;
}

/**
 * A Python interpreter context seen from JS. Several instances share one interpreter unless
 * `context` asks for a sub-interpreter of their own.
 */
class Python {
  /**
   * @param {object} [options]
   * @param {string} [options.runtime_path] Python executable, shared library, or the folder holding it.
   * @param {string} [options.plugins_path] a folder put first on `sys.path`.
   * @param {boolean|'isolated'} [options.context] `true`: a sub-interpreter of its own; `'isolated'`: one with its own GIL.
   * @param {boolean} [options.debug] log each clib call on stderr.
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('python-ts: new Python(options): options must be an Object');
    const { runtime_path: runtimePath, plugins_path: pluginsPath, context, debug } = options;
    if (debug !== undefined) clib._set_debug(Boolean(debug));
    if (runtimePath !== undefined && runtimePath !== null) clib._set_runtime_path(String(runtimePath));
    clib._init_python();
    /** The clib context object (`{}` for the main interpreter). */
    this.context = {};
    this.ownContext = false;
    /** What clib calls get: null for the main interpreter (cheaper than `{}`). */
    this._ctx = null;
    if (context === true || context === 'isolated') {
      if (typeof clib._create_pycontext !== 'function') throw new Error('python-ts: contexts are not available in this build');
      this.context = clib._create_pycontext(context === 'isolated' ? { ownGil: true } : {});
      this.ownContext = true;
      this._ctx = this.context;
    } else if (context !== undefined && context !== false && context !== null) {
      throw new TypeError("python-ts: new Python({ context }): context must be true, 'isolated' or false");
    }
    this._wrappers = new WeakMap();
    /** Handles this instance handed out (main context only), for clear(): weakly held. */
    this._mine = [];
    this._minePruned = 0;
    this._support = null;
    this._deleted = false;
    if (pluginsPath !== undefined && pluginsPath !== null) this.add_syspath(String(pluginsPath));
  }

  _check() {
    if (this._deleted) throw new Error('python-ts: this Python instance was deleted (delete()); create a new one');
  }

  /**
   * Give every handle inside `v` an `.unwrap()` bound to this instance.
   * @private
   */
  _decorate(v, seen) {
    if (v === null || typeof v !== 'object') return v;
    if (v.type === HANDLE_TYPE && clib._internals.is_pyobject(v)) {
      this._track(v);
      if (!Object.prototype.hasOwnProperty.call(v, 'unwrap')) {
        Object.defineProperty(v, 'unwrap', { value: () => this.unwrap(v), enumerable: false, configurable: true });
      }
      return v;
    }
    const visit = (x) => {
      if (x !== null && typeof x === 'object') {
        seen = seen || new Set();
        if (!seen.has(x)) {
          seen.add(x);
          this._decorate(x, seen);
        }
      }
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) visit(v[i]);
    } else if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k);
        visit(x);
      }
    } else if (!Buffer.isBuffer(v) && !(v instanceof Date)) {
      for (const k of Object.keys(v)) visit(v[k]);
    }
    return v;
  }

  /** @private the handle of a handle or wrapped object, checked. */
  _handle(obj, what = 'obj') {
    const h = handleOf(obj);
    if (!h) {
      throw new TypeError(`python-ts: ${what} must be a Python object (a handle or a wrapped object from import/unwrap), got ${obj === null ? 'null' : typeof obj}`);
    }
    return h;
  }

  /**
   * Import a module and return it wrapped.
   * @param {string} name
   */
  import(name) {
    this._check();
    if (typeof name !== 'string') throw new TypeError('python-ts: import(name): name must be a string');
    return this.unwrap(clib._import_module(name, this._ctx));
  }

  /**
   * Wrap a handle: attributes read Python values, methods call Python.
   * @param {object} handle
   */
  unwrap(handle) {
    const h = this._handle(handle, 'handle');
    let w = this._wrappers.get(h);
    if (!w) {
      w = makeWrapper(this, h);
      this._wrappers.set(h, w);
      this._track(h);
    }
    return w;
  }

  /**
   * `getattr(obj, method)(*args, **kwargs)`; `method` empty or null calls `obj` itself.
   * @returns the result converted (handles have `.unwrap()`).
   */
  call(obj, method, args, kw) {
    this._check();
    const h = this._handle(obj);
    return this._decorate(clib._call_python(h, method === undefined ? null : method, argsOf(args), kwargsOf(kw), this._ctx));
  }

  /** `call` as a Promise, run off the JS thread; awaits `async def` results. */
  call_async(obj, method, args, kw) {
    return new Promise((resolve, reject) => {
      this._check();
      const h = this._handle(obj);
      clib._call_python(h, method === undefined ? null : method, argsOf(args), kwargsOf(kw), this._ctx, (err, r) => (err ? reject(err) : resolve(this._decorate(r))));
    });
  }

  /** Run statements in this context's `__main__`. */
  exec(code) {
    this._check();
    return clib._exec(code, this._ctx);
  }

  /** Evaluate an expression in this context's `__main__`. */
  eval(expr) {
    this._check();
    return this._decorate(clib._eval(expr, this._ctx));
  }

  /** `exec` as a Promise, off the JS thread. */
  exec_async(code) {
    return new Promise((resolve, reject) => {
      this._check();
      clib._exec(code, this._ctx, (err, r) => (err ? reject(err) : resolve(r)));
    });
  }

  /** `eval` as a Promise, off the JS thread. */
  eval_async(expr) {
    return new Promise((resolve, reject) => {
      this._check();
      clib._eval(expr, this._ctx, (err, r) => (err ? reject(err) : resolve(this._decorate(r))));
    });
  }

  /**
   * `importlib.reload` by module name or wrapped module.
   * @returns {boolean}
   */
  reload(module) {
    this._check();
    if (typeof module === 'string') return clib._reload_module(module, this._ctx);
    return clib._reload_module(this._handle(module, 'module'), this._ctx);
  }

  /** Put `dir` first on this context's `sys.path` (moving it there if present). */
  add_syspath(dir) {
    this._check();
    if (typeof dir !== 'string') throw new TypeError('python-ts: add_syspath(dir): dir must be a string');
    if (!this._support) this._support = clib._import_module('python_ts', this._ctx);
    clib._call_python(this._support, 'add_syspath', [dir], null, this._ctx);
    return true;
  }

  /**
   * Attribute values are read live already; this forgets which names a wrapped object has seen
   * as methods (kept for the seed's code). Returns `obj`.
   */
  refresh(obj) {
    if (obj && obj[WRAPPED] && typeof obj.__refresh__ === 'function') obj.__refresh__();
    return obj;
  }

  /**
   * Release one Python object now (a handle or wrapped object).
   * @returns {boolean} false if it was already released.
   */
  gc(obj) {
    const h = handleOf(obj);
    if (!h) throw new TypeError('python-ts: gc(obj): obj must be a Python object (handle or wrapped object)');
    return clib._delete_pyobject(h, this._ctx);
  }

  /**
   * Remember a handle this instance handed out, so clear()/delete() release this instance's
   * objects and never another instance's of the same interpreter.
   * @private
   */
  _track(h) {
    if (this.ownContext) return;
    const mine = this._mine;
    mine.push(new WeakRef(h));
    if (mine.length > 2 * this._minePruned + 1024) {
      this._mine = mine.filter((r) => r.deref() !== undefined);
      this._minePruned = this._mine.length;
    }
  }

  /**
   * Release every handle this instance handed out (all of its context's when it has its own).
   * An object that another instance also holds is the same handle (identity is kept), so it is
   * released for both.
   * @returns {number} how many were released
   */
  clear() {
    if (this.ownContext) return clib._delete_all_pyobjects(this._ctx);
    const mine = this._mine;
    this._mine = [];
    this._minePruned = 0;
    let n = 0;
    for (const r of mine) {
      const h = r.deref();
      if (h !== undefined && clib._delete_pyobject(h, this._ctx)) n++;
    }
    return n;
  }

  /**
   * End this instance: its sub-interpreter (when it has one) and its objects.
   * @returns {boolean}
   */
  delete() {
    if (this._deleted) return false;
    if (this.ownContext) {
      clib._delete_pycontext(this._ctx);
    } else {
      this.clear();
    }
    this._deleted = true;
    return true;
  }

  /** Whether `x` is a Python object (a handle or a wrapped object). */
  isPyObject(x) {
    return handleOf(x) !== undefined;
  }

  /** Whether `obj` belongs to this instance's context. */
  sameContext(obj) {
    const h = handleOf(obj);
    if (!h) return false;
    if (!this.ownContext) return h.state === undefined;
    return h.state === this.context;
  }

  /**
   * A typed-array view of an object with the buffer protocol: `{ data, shape, strides, format, readonly }`.
   */
  view(obj) {
    this._check();
    if (typeof clib._buffer_view !== 'function') throw new Error('python-ts: buffer views are not available in this build');
    return clib._buffer_view(this._handle(obj), this._ctx);
  }

  [dispose]() {
    this.delete();
  }
}

/** Make the Proxy that stands for a Python object. */
function makeWrapper(py, handle) {
  const fnCache = new Map();
  const state = {
    handle: () => handle,
    py,
  };
  const callMethod = (name, a, isAsync) => {
    if (isAsync) return py.call_async(handle, name, a);
    // The main context needs no ctx argument: three arguments take the native fast path.
    return py._decorate(py._ctx === null ? clib._call_python(handle, name, a) : clib._call_python(handle, name, a, null, py._ctx));
  };
  const methodFor = (name, isAsync) => {
    const key = isAsync ? `${name}\0async` : name;
    let f = fnCache.get(key);
    if (!f) {
      f = (...args) => callMethod(name, args, isAsync);
      Object.defineProperty(f, 'name', { value: isAsync ? `${name}_async` : name });
      Object.defineProperty(f, WRAPPED, { value: { handle: () => clib._getattr(handle, name, py._ctx, true)[1] } });
      Object.defineProperty(f, '__wrapper__', { get: () => f[WRAPPED].handle() });
      fnCache.set(key, f);
    }
    return f;
  };
  const get = (name) => {
    // A name seen callable is assumed to stay callable on this wrapper (each call still looks
    // the method up live in Python); values are always read live. `__refresh__()` and
    // assignments through the wrapper forget what was seen.
    const known = fnCache.get(name);
    if (known) return known;
    const [kind, value] = clib._getattr(handle, name, py._ctx, false);
    if (kind === 2) {
      // An attribute with no plain form (a submodule, an instance) is wrapped too, so nested
      // attributes work: os.path.join(...).
      if (value !== null && typeof value === 'object' && value.type === HANDLE_TYPE && clib._internals.is_pyobject(value)) return py.unwrap(value);
      return py._decorate(value);
    }
    if (kind === 1) return methodFor(name, false);
    if (name.endsWith('_async') && name.length > 6) {
      const base = name.slice(0, -6);
      const [k2] = clib._getattr(handle, base, py._ctx, false);
      if (k2 === 1) return methodFor(base, true);
    }
    return undefined;
  };
  const describe = () => {
    let repr;
    try {
      repr = handle.repr;
    } catch (e) {
      repr = '<repr failed>';
    }
    return `[PyObject ${handle.pytype}: ${repr}]`;
  };
  // util.inspect looks at a Proxy's target, not through its traps: give the target the custom
  // inspector.
  const target = () => {};
  Object.defineProperty(target, inspectCustom, { value: () => describe(), configurable: true });
  const proxy = new Proxy(target, {
    get(_t, prop) {
      if (typeof prop === 'symbol') {
        if (prop === WRAPPED) return state;
        if (prop === dispose) return () => py.gc(handle);
        if (prop === inspectCustom) return () => describe();
        if (prop === Symbol.toPrimitive) return () => describe();
        return undefined;
      }
      if (prop === '__wrapper__') return handle;
      if (prop === '__refresh__') {
        return () => {
          fnCache.clear();
          return proxy;
        };
      }
      if (JS_PROBES.has(prop)) {
        if (prop === 'toJSON') return () => ({ type: handle.type, value: handle.value, pytype: handle.pytype });
        if (prop === 'toString') return () => describe();
        if (prop === 'constructor') return Object;
        return undefined;
      }
      const v = get(prop);
      // A wrapped object answers `.unwrap()` like a handle does (unless Python has that name).
      if (v === undefined && prop === 'unwrap') return () => proxy;
      return v;
    },
    set(_t, prop, value) {
      if (typeof prop === 'symbol') return false;
      fnCache.delete(prop);
      clib._setattr(handle, prop, value, py._ctx);
      return true;
    },
    has(_t, prop) {
      if (typeof prop === 'symbol') return prop === WRAPPED;
      return clib._getattr(handle, prop, py._ctx, false)[0] !== 0;
    },
    ownKeys() {
      return clib._attr_names(handle, py._ctx);
    },
    getOwnPropertyDescriptor(_t, prop) {
      if (typeof prop === 'symbol') return undefined;
      return { configurable: true, enumerable: true, get: () => get(prop) };
    },
    apply(_t, _this, args) {
      return callMethod(null, args, false);
    },
    defineProperty() {
      return false;
    },
    deleteProperty() {
      return false;
    },
    getPrototypeOf() {
      return Object.prototype;
    },
  });
  return proxy;
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

module.exports = { Python, PythonPool, clib, PythonError, kwargs };
