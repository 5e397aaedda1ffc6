'use strict';
// class Python: the friendly layer over clib. Each public method: check → arguments → clib →
// results. Everything it hands back with no plain JS form is a wrapped object (also inside
// converted containers); raw handles stay at the clib level.
const clib = require('./native');
const { WRAPPED, isHandle, handleOf, looksLikeHandle } = require('./internal/handles');
const { argsOf, kwargsOf, splitOptions } = require('./internal/args');
const { Watcher } = require('./internal/watch');
const jsproxy = require('./internal/jsproxy');
const fs = require('fs');
const path = require('path');
const { wrapHandle, walkable } = require('./internal/wrapper');

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');

/** The `python_ts` support module of the main interpreter (one per process generation). */
let mainSupport = null;
/** Type name → how many converters of this env's instances name it (clib `_keep_wrapped`). */
const keptTypes = new Map();
function keepWrapped(name, on) {
  const n = (keptTypes.get(name) || 0) + (on ? 1 : -1);
  if (n > 0) keptTypes.set(name, n);
  else keptTypes.delete(name);
  clib._keep_wrapped(name, on);
}
const STALE = /python-ts: this Python object (was released|belongs to a Python runtime that was destroyed)/;

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
    // Names a different Python while one runs: an Error naming both (never a silent switch).
    if (runtimePath !== undefined && runtimePath !== null) clib._set_runtime_path(String(runtimePath));
    clib._init_python();
    let ctx = null;
    if (context === true || context === 'isolated') {
      if (typeof clib._create_pycontext !== 'function') throw new Error('python-ts: contexts are not available in this build');
      ctx = clib._create_pycontext(context === 'isolated' ? { ownGil: true } : {});
    } else if (context !== undefined && context !== false && context !== null) {
      throw new TypeError("python-ts: new Python({ context }): context must be true, 'isolated' or false");
    }
    this._setup(ctx);
    this._registerHost();
    if (pluginsPath !== undefined && pluginsPath !== null) this.add_syspath(String(pluginsPath));
  }

  /**
   * Give this thread's JS global scope and `require` to the interpreter (`from python_ts import
   * js, require`). Each instance does (one call): a runtime made again after `_destroy_python()`
   * has a fresh support module that knows no thread yet.
   * @private
   */
  _registerHost() {
    this._helper('_register_host', [clib.jsobject(globalThis), jsproxy.requireForPython]);
  }

  /**
   * Every field of an instance, in one place (the constructor and instances the library makes
   * over an existing context both come here).
   * @private
   * @param ctx a context object, or null for the main interpreter
   */
  _setup(ctx) {
    /** The clib context object (`{}` for the main interpreter). */
    this.context = ctx || {};
    this.ownContext = ctx !== null;
    /** What clib calls get: null for the main interpreter (cheaper than `{}`). */
    this._ctx = ctx;
    this._wrappers = new WeakMap();
    /** Handles this instance handed out (main context only), for clear(): weakly held. */
    this._mine = [];
    this._minePruned = 0;
    this._supportHandle = null;
    /** Python type name → converter (registerConverter). */
    this._converters = new Map();
    /** `watch()` watchers, closed with the instance. */
    this._watchers = new Set();
    this._deleted = false;
    /** Wraps a call's object result (bound methods call it; primitives skip it). */
    this._wrapResult = (v) => this._wrap(v);
  }

  _check() {
    if (this._deleted) throw new Error('python-ts: this Python instance was deleted (delete()); create a new one');
  }

  /** @private the `python_ts` support module of this instance's context. */
  _support() {
    if (this.ownContext) {
      if (!this._supportHandle) this._supportHandle = clib._import_module('python_ts', this._ctx);
      return this._supportHandle;
    }
    if (!mainSupport) mainSupport = clib._import_module('python_ts');
    return mainSupport;
  }

  /**
   * `_call_python(h, name, args)` in this context, result unconverted. The main context passes
   * three arguments: the native fast path.
   * @private
   */
  _raw(h, name, args) {
    return this._ctx === null ? clib._call_python(h, name, args) : clib._call_python(h, name, args, null, this._ctx);
  }

  /** @private a call in this context, its result wrapped. */
  _callMethod(h, name, args, isAsync) {
    if (isAsync) {
      const [positional, options] = splitOptions(args);
      return this.call_async(h, name, positional, null, options);
    }
    return this._wrap(this._raw(h, name, args));
  }

  /**
   * @private a call of a support function on a handle of this context, through a bound native
   * method made once per function (`clib._method`: no handle check, name or arguments Array per
   * call — a wrapped list's `length` is one of these).
   */
  _helper(name, args) {
    try {
      return this._helperFn(name)(...args);
    } catch (e) {
      // The cached support module went with a destroyed runtime (or a raw clib release): import
      // it again, once. (An argument released by the user fails the same way on the retry.)
      if (!STALE.test(e && e.message)) throw e;
      if (this.ownContext) this._supportHandle = null;
      else mainSupport = null;
      return this._helperFn(name)(...args);
    }
  }

  /** @private the bound support function `name`, for the current support module. */
  _helperFn(name) {
    const support = this._support();
    let fns = this._helperFns;
    if (!fns || fns.support !== support) fns = this._helperFns = { support, byName: new Map() };
    let f = fns.byName.get(name);
    if (!f) {
      f = this._ctx === null ? clib._method(support, name) : clib._method(support, name, this._ctx);
      fns.byName.set(name, f);
    }
    return f;
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
   * A converted result as the Python class hands it out: handles become wrapped objects (or what
   * a registered converter makes of them), also inside Arrays, plain objects and Maps, which
   * come fresh from the converter and are updated in place.
   * @private
   */
  _wrap(v, seen) {
    if (v === null || typeof v !== 'object') return v;
    if (looksLikeHandle(v)) return this._fromHandle(v);
    if (!walkable(v)) return v;
    seen = seen || new Set();
    if (seen.has(v)) return v;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x !== null && typeof x === 'object') v[i] = this._wrap(x, seen);
      }
    } else if (v instanceof Map) {
      const entries = Array.from(v);
      if (entries.some(([k, x]) => (k !== null && typeof k === 'object') || (x !== null && typeof x === 'object'))) {
        v.clear();
        for (const [k, x] of entries) v.set(this._wrap(k, seen), this._wrap(x, seen));
      }
    } else {
      for (const k of Object.keys(v)) {
        const x = v[k];
        if (x !== null && typeof x === 'object') {
          const w = this._wrap(x, seen);
          // defineProperty: `v['__proto__'] = w` would set a prototype.
          if (w !== x) Object.defineProperty(v, k, { value: w, writable: true, enumerable: true, configurable: true });
        }
      }
    }
    return v;
  }

  /** @private a handle as handed out: converted by a registered converter, else wrapped. */
  _fromHandle(h) {
    if (keptTypes.size) {
      const name = this.typeOf(h);
      const conv = this._converters.get(name);
      if (conv) {
        this._track(h);
        return conv(h);
      }
      // Kept wrapped for another instance's converter: this one converts it the built-in way.
      if (keptTypes.has(name)) {
        // (A type with no built-in conversion comes back as this same handle.)
        const v = clib._to_js(h, this._ctx);
        if (v !== h) {
          this._track(h);
          return this._wrap(v);
        }
      }
    }
    // Tracked when its wrapper is made.
    return this._wrapperOf(h);
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
   * Wrap a handle: attributes read Python values, methods call Python. A wrapped object gives
   * itself back.
   * @param {object} handle
   */
  unwrap(handle) {
    if (handle !== null && (typeof handle === 'function' || typeof handle === 'object') && handle[WRAPPED]) return handle;
    return this._wrapperOf(this._handle(handle, 'handle'));
  }

  /** @private the wrapped object of a handle known to be one (made once per handle). */
  _wrapperOf(h) {
    let w = this._wrappers.get(h);
    if (!w) {
      w = wrapHandle(this, h);
      this._wrappers.set(h, w);
      this._track(h);
    }
    return w;
  }

  /**
   * `getattr(obj, method)(*args, **kwargs)`; `method` empty or null calls `obj` itself.
   * @returns the result converted; objects with no plain JS form are wrapped.
   */
  call(obj, method, args, kw) {
    this._check();
    const h = this._handle(obj);
    return this._wrap(clib._call_python(h, method === undefined ? null : method, argsOf(args), kwargsOf(kw), this._ctx));
  }

  /**
   * `call` as a Promise, run off the JS thread; awaits `async def` results.
   * @param {{ signal?: AbortSignal }} [options] an aborted signal cancels the call (see `_async`)
   */
  call_async(obj, method, args, kw, options) {
    return this._async(options, (done) => {
      const h = this._handle(obj);
      return clib._call_python(h, method === undefined ? null : method, argsOf(args), kwargsOf(kw), this._ctx, done);
    }, true);
  }

  /**
   * Run `start(callback)` (a clib call with a callback, which returns its job id) as a Promise.
   * With `options.signal`: an abort rejects at once with an AbortError and cancels the job — not
   * yet started: skipped; running: `python_ts.CancelledError` at its next bytecode; awaiting a
   * coroutine: the coroutine is cancelled.
   * @private
   */
  _async(options, start, wrap) {
    // The JS call site, for errors that come back without JS frames (Python's, delivered from
    // a worker): captured now, formatted only if the call fails.
    const site = {};
    Error.captureStackTrace(site, this._async);
    return new Promise((resolve, reject) => {
      this._check();
      const signal = options && options.signal;
      if (signal !== undefined && signal !== null && (typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
        throw new TypeError('python-ts: options.signal must be an AbortSignal');
      }
      if (signal && signal.aborted) {
        reject(abortError(signal));
        return;
      }
      let settled = false;
      let id;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        if (id !== undefined) clib._cancel_job(id);
        reject(abortError(signal));
      };
      id = start((err, r) => {
        if (signal) signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) reject(withCallSite(err, site));
        else resolve(wrap ? this._wrap(r) : r);
      });
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
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
    return this._wrap(clib._eval(expr, this._ctx));
  }

  /** `exec` as a Promise, off the JS thread; `options.signal` cancels it. */
  exec_async(code, options) {
    return this._async(options, (done) => clib._exec(code, this._ctx, done), false);
  }

  /** `eval` as a Promise, off the JS thread; `options.signal` cancels it. */
  eval_async(expr, options) {
    return this._async(options, (done) => clib._eval(expr, this._ctx, done), true);
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

  /**
   * Reload Python code when its files change, while developing: `target` is a module (wrapped,
   * or its name: its file, or its package's folder), or a path (absolute or `./…`) to a folder or
   * a file. A changed `.py` file reloads
   * the modules loaded from it; a reload that fails keeps the module's last good code and is
   * reported. Returns a watcher (`close()`; events `'reload'` (name) and `'error'` (err, with
   * `err.module`)); `onReload(err, name)` is called for each reload too. Ends with the instance.
   */
  watch(target, onReload) {
    this._check();
    if (onReload !== undefined && typeof onReload !== 'function') throw new TypeError('python-ts: watch(target, onReload?): onReload must be a function');
    let root;
    if (typeof target === 'string' && (path.isAbsolute(target) || target.startsWith('.')) && fs.existsSync(target)) root = fs.realpathSync(target);
    else {
      const module = typeof target === 'string' ? this.import(target) : target;
      root = this._helper('watch_root', [this._handle(module, 'target')]);
      if (typeof root !== 'string') throw new TypeError('python-ts: watch(target): the module has no file to watch (a built-in or namespace module)');
    }
    const w = new Watcher(root, (file) => this._reloadFile(file), onReload, () => this._watchers.delete(w));
    this._watchers.add(w);
    return w;
  }

  /** @private reload the modules loaded from `file`: [[name, error | null], ...]. */
  _reloadFile(file) {
    if (this._deleted) return [];
    const names = this._helper('modules_at', [file]);
    return names.map((name) => {
      try {
        this._helper('reload_keeping', [name]);
        return [name, null];
      } catch (e) {
        if (e && typeof e === 'object') e.module = name;
        return [name, e];
      }
    });
  }

  /** Put `dir` first on this context's `sys.path` (moving it there if present). */
  add_syspath(dir) {
    this._check();
    if (typeof dir !== 'string') throw new TypeError('python-ts: add_syspath(dir): dir must be a string');
    this._helper('add_syspath', [dir]);
    return true;
  }

  /**
   * Attribute values are read live already; this forgets which names a wrapped object has seen
   * as callables (kept for the seed's code). Returns `obj`.
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
    for (const w of [...this._watchers]) w.close();
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

  /**
   * The qualified Python type name of a handle or wrapped object (`'decimal.Decimal'`, bare for
   * builtins: `'int'`); undefined for a JS value.
   */
  typeOf(x) {
    const h = handleOf(x);
    if (!h) return undefined;
    if ((h.state === undefined) === (this._ctx === null)) return this._helper('type_name', [h]);
    return clib._call_python(clib._import_module('python_ts', h.state || null), 'type_name', [h], null, h.state || null);
  }

  /** `obj[key]` for any key (dicts, sequences, `os.environ`, pandas frames); KeyError is a PythonError. */
  getitem(obj, key) {
    this._check();
    return this._wrap(this._helper('getitem', [this._handle(obj), key]));
  }

  /** `obj[key] = value`. */
  setitem(obj, key, value) {
    this._check();
    this._helper('setitem', [this._handle(obj), key, value]);
  }

  /** `del obj[key]`. */
  delitem(obj, key) {
    this._check();
    this._helper('delitem', [this._handle(obj), key]);
  }

  /**
   * Convert a Python type your own way on the way to JS. `fn` is a Python callable (a wrapped
   * one, e.g. `py.eval('str')`), called with the object, or a JS function given the wrapped
   * object; either's result is what JS gets. `fn` null removes the converter.
   * @param {string} typeName qualified, as `typeOf` gives it (`'decimal.Decimal'`)
   */
  registerConverter(typeName, fn) {
    if (typeof typeName !== 'string') throw new TypeError('python-ts: registerConverter(typeName, fn): typeName must be a string');
    if (fn === null || fn === undefined) {
      if (this._converters.delete(typeName)) keepWrapped(typeName, false);
      return;
    }
    if (typeof fn !== 'function') throw new TypeError('python-ts: registerConverter(typeName, fn): fn must be a Python callable or a JS function');
    const pyFn = handleOf(fn);
    if (!this._converters.has(typeName)) keepWrapped(typeName, true);
    this._converters.set(typeName, pyFn ? (h) => this._wrap(this._raw(pyFn, null, [h])) : (h) => fn(this.unwrap(h)));
  }

  /** Whether `obj` belongs to this instance's context. */
  sameContext(obj) {
    const h = handleOf(obj);
    if (!h) return false;
    if (!this.ownContext) return h.state === undefined;
    return h.state === this.context;
  }

  /**
   * A typed-array view of an object with the buffer protocol: `{ data, shape, strides, format, readonly, copied }`.
   */
  view(obj) {
    this._check();
    if (typeof clib._buffer_view !== 'function') throw new Error('python-ts: buffer views are not available in this build');
    return clib._buffer_view(this._handle(obj), this._ctx);
  }

  /** @private `for..of` over a Python iterable: one `next()` per step, lazily. */
  * _iterate(h) {
    const it = this._helper('iter_of', [h]);
    // One call per step: the next item, or the interpreter's END marker (a handle, the same JS
    // object on every step while it is held here).
    const end = this._helper('__getattribute__', ['END']);
    const support = this._support();
    try {
      for (;;) {
        const v = this._raw(support, 'next_or_end', [it]);
        if (v === end) return;
        yield this._wrap(v);
      }
    } finally {
      clib._delete_pyobject(it, this._ctx);
    }
  }

  /** @private `for await` over an async iterable (or a sync one), each step off the JS thread. */
  async* _aiterate(h) {
    const [isAsync, it] = this._helper('aiter_of', [h]);
    try {
      for (;;) {
        const [done, v] = await this.call_async(this._support(), isAsync ? 'astep' : 'step', [it]);
        if (done) return;
        yield v;
      }
    } finally {
      clib._delete_pyobject(it, this._ctx);
    }
  }

  [dispose]() {
    this.delete();
  }
}

/** Files of this package: their frames are left out of a call site. */
const OWN_FRAMES = new RegExp(`\\(?${__dirname.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}[\\\\/]`);

/**
 * `err` with the frames of `site` (a `captureStackTrace` target) below its own message when it
 * has no JS frames of its own, as Node's own async APIs report where a call was made.
 */
function withCallSite(err, site) {
  if (!(err instanceof Error)) return err;
  const stack = typeof err.stack === 'string' ? err.stack : '';
  if (/\n\s+at /.test(stack)) return err;
  const frames = String(site.stack).split('\n').slice(1).filter((l) => !OWN_FRAMES.test(l));
  if (!frames.length) return err;
  // (JavaScriptCore gives an error made natively no header line: the message, naming its type once.)
  const header = stack || (String(err.message).startsWith(`${err.name}: `) ? err.message : `${err.name}: ${err.message}`);
  Object.defineProperty(err, 'stack', { value: `${header}\n${frames.join('\n')}`, writable: true, configurable: true });
  return err;
}

/** The rejection of an aborted call: an `AbortError` (a DOMException, as `fetch` gives). */
function abortError(signal) {
  const e = new DOMException('python-ts: the call was aborted', 'AbortError');
  if (signal && signal.reason !== undefined) Object.defineProperty(e, 'cause', { value: signal.reason, configurable: true });
  return e;
}

/** Instances the library itself uses to wrap handles it finds (exceptions), by context. */
const internal = new WeakMap();
let internalMain = null;
// Python's proxies of JS objects: their arguments from Python (handles) become wrapped objects,
// Python callables JS functions.
jsproxy.install((v) => {
  if (v === null || typeof v !== 'object') return v;
  // A handle (most often: `pyobject(x)` as an argument) is checked once, then wrapped.
  if (looksLikeHandle(v)) return pythonFor(v)._fromHandle(v);
  return pythonFor({})._wrap(v);
});
function pythonFor(h) {
  if (h.state === undefined) {
    if (!internalMain) internalMain = new Python();
    return internalMain;
  }
  let py = internal.get(h.state);
  if (!py) {
    // An instance over an existing context (not its owner: it never deletes the context).
    py = Object.create(Python.prototype);
    py._setup(h.state);
    py.delete = () => false;
    internal.set(h.state, py);
  }
  return py;
}

/** `PythonError#pyException`: the exception object, wrapped (`e.pyException.args`). */
Object.defineProperty(clib.PythonError.prototype, 'pyException', {
  configurable: true,
  get() {
    const h = this.pyExceptionHandle;
    return h === undefined ? undefined : pythonFor(h).unwrap(h);
  },
});

module.exports = { Python, isHandle };
