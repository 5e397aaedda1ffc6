//! Per-environment state (main thread and each Worker have their own), kept in N-API instance
//! data, never in process globals: the `PythonError` class, the handle registry, the JS helpers
//! the serializer calls (Map/Set iteration, the identity memo), and what later layers hang on it.
//! Process globals hold only the loaded library and the interpreter state.
//!
//! Invariant: an `EnvData` is only touched on its own JS thread, so `RefCell`s suffice; borrows
//! are never held across a call into JS or Python.

use crate::error::{Error, PyErrInfo, Result};
use crate::sys::napi::{Env, Ref, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// What the registry knows of one live handle: a weak reference to the JS object and the
/// native data it wraps.
pub struct HandleEntry {
    pub weak: Ref,
    pub data: *const crate::convert::handles::HandleData,
}

pub struct EnvData {
    python_error: Ref,
    /// What other threads may know of this env (its threadsafe function, its JS thread).
    pub shared: std::sync::Arc<crate::runtime::executor::EnvShared>,
    helpers: Helpers,
    /// One live handle per (context, object address): identity is kept.
    pub handles: RefCell<HashMap<(u64, usize), HandleEntry>>,
    pub next_index: Cell<u64>,
    /// JS errors that crossed into Python, by id, until Python lets go of them.
    pub js_errors: RefCell<HashMap<u64, Ref>>,
    pub next_js_error: Cell<u64>,
    /// Context objects made in this env, by id (strong: a context lives until deleted).
    pub contexts: RefCell<HashMap<u64, Ref>>,
    /// Zero-copy buffer views made in this env: (context, weak ref to the ArrayBuffer).
    pub views: RefCell<Vec<(u64, Ref)>>,
}

/// JS functions and constructors the native side calls.
pub struct Helpers {
    pub map: Ref,
    pub map_entries: Ref,
    pub set_values: Ref,
    pub memo_new: Ref,
    pub memo_set: Ref,
    pub json: Ref,
    pub make_handle: Ref,
    pub numbers_to_f64: Ref,
    pub records_of: Ref,
    pub make_records: Ref,
    pub f64_to_array: Ref,
    pub parts_object: Ref,
    pub inspect: Ref,
    pub make_kwargs: Ref,
    pub make_context: Ref,
    pub wrapped_handle: Ref,
    pub make_tuple: Ref,
    pub unbox: Ref,
    pub array_from: Ref,
    pub describe: Ref,
}

/// `PythonError`, made in each env by script so it is a real `Error` subclass.
const PYTHON_ERROR_CLASS: &str = r#"(function () {
  class PythonError extends Error {
    constructor(message, name, pyType, traceback, exception) {
      super(message);
      if (exception !== undefined) Object.defineProperty(this, 'pyExceptionHandle', { value: exception, configurable: true, writable: true });
      Object.defineProperty(this, 'name', { value: name || 'PythonError', writable: true, configurable: true, enumerable: false });
      this.pyType = pyType;
      this.traceback = traceback;
    }
  }
  Object.defineProperty(PythonError.prototype, 'name', { value: 'PythonError', writable: true, configurable: true });
  return PythonError;
})()"#;

const HELPERS: &str = r#"(function (reprNative) {
  class PyObjectHandle {
    constructor(value, pytype, time, index, state) {
      this.type = 'python-ts/PyObject*';
      this.value = value;
      this.pytype = pytype;
      this.time = time;
      this.index = index;
      if (state !== undefined) this.state = state;
    }
    /** `repr(obj)`, computed when read. */
    get repr() { return reprNative(this); }
    /** util.inspect / console.log show the object's repr(). */
    [Symbol.for('nodejs.util.inspect.custom')]() { try { return `[PyObject ${this.pytype}: ${this.repr}]`; } catch (e) { return `[PyObject ${this.pytype}]`; } }
  }
  /** Objects made by kwargs({...}) (also type-tagged natively). */
  class Kwargs {}
  /** Objects made by tuple([...]) (also type-tagged natively). */
  class Tuple {}
  /** Context objects (also type-tagged natively). */
  class PyContext {}
  // Every key is checked before any value is read: a getter runs once per conversion, so a
  // refusal after reading values (a NUL in a later key) would make the fallback read them again.
  const objectParts = (o) => {
    const ks = Object.keys(o);
    const n = ks.length;
    for (let i = 0; i < n; i++) if (ks[i].indexOf('\0') !== -1) return null;
    const vs = new Array(n);
    let numeric = true;
    for (let i = 0; i < n; i++) {
      const v = o[ks[i]];
      vs[i] = v;
      if (typeof v !== 'number') numeric = false;
    }
    return [ks.join('\0'), numeric ? Float64Array.from(vs) : vs];
  };
  const WRAPPED = Symbol.for('python-ts.wrapped');
  const define = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  // Objects that are not plain: boxed primitives convert as their primitive, weak collections
  // have no contents to give.
  const special = (o) => {
    if (o instanceof Number || o instanceof String || o instanceof Boolean || o instanceof BigInt || o instanceof Symbol) return -14;
    if (o instanceof WeakMap || o instanceof WeakSet || (typeof WeakRef === 'function' && o instanceof WeakRef)
      || (typeof FinalizationRegistry === 'function' && o instanceof FinalizationRegistry)) return -15;
    return 0;
  };
  return {
    makeHandle(value, pytype, time, index, state) { return new PyObjectHandle(value, pytype, time, index, state); },
    // Keys copied as own data properties: `o[k] = v` with k '__proto__' set a prototype instead.
    makeTuple(items) { const t = new Tuple(); Object.defineProperty(t, 'items', { value: Array.from(items), enumerable: true }); return t; },
    makeKwargs(src) { const k = new Kwargs(); if (src) for (const key of Object.keys(src)) define(k, key, src[key]); return k; },
    // The handle of a wrapped object (a Proxy over a function), or undefined for a plain function.
    wrappedHandle(f) { let w; try { w = f[WRAPPED]; } catch (e) { return undefined; } return w && typeof w.handle === 'function' ? w.handle() : undefined; },
    unbox(o) { return o.valueOf(); },
    arrayFrom(o) { return Array.prototype.slice.call(o); },
    // Text of any thrown value (String() works for symbols, where coercion throws).
    describe(v) { try { return String(v); } catch (e) { return '<unprintable JavaScript value>'; } },
    makeContext() { return new PyContext(); },
    // What the serializer needs to know of an object, in one call: a memo hit (its index), a
    // kind (a negative code), or a plain object's parts [keys joined by NUL, values]. Containers
    // are entered in the memo under `next`, the index the native side gives the Python object.
    inspect(o, memo, next) {
      const hit = memo.get(o);
      if (hit !== undefined) return hit;
      if (Array.isArray(o)) { memo.set(o, next); return -1; }
      if (ArrayBuffer.isView(o)) return o instanceof DataView ? -12 : -2;
      if (o instanceof ArrayBuffer) return -3;
      if (o instanceof Date) return -4;
      if (o instanceof Map) { memo.set(o, next); return -5; }
      if (o instanceof Set) { memo.set(o, next); return -6; }
      if (o instanceof Promise) return -7;
      if (o instanceof Kwargs) return -9;
      if (o instanceof PyContext) return -10;
      if (o instanceof PyObjectHandle) return -11;
      if (o instanceof Tuple) return -16;
      // A copy of a handle ({...h}, structuredClone(h)) is no handle, and no dict either.
      if (o.type === 'python-ts/PyObject*') return -13;
      const proto = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) { const k = special(o); if (k) return k; }
      memo.set(o, next);
      return objectParts(o) || -8;
    },
    Map, JSON,
    mapEntries(m) { const a = []; for (const [k, v] of Map.prototype.entries.call(m)) a.push(k, v); return a; },
    setValues(s) { return Array.from(Set.prototype.values.call(s)); },
    memoNew() { return new Map(); },
    memoSet(m, k, v) { m.set(k, v); },
    // Bulk paths of the serializer: one JIT-compiled loop instead of one N-API call per element.
    numbersToF64(a) {
      const n = a.length;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = a[i];
        if (typeof v !== 'number') return null;
        out[i] = v;
      }
      return out;
    },
    // An Array of same-shaped plain records (the everyday payload) in one call, as columns:
    // [keys joined by NUL, kinds, numbers, strings joined, others]. Per value slot, record-major:
    // kind 0 number, 1 string (its length in numbers), 2 true, 3 false, 4 null/undefined, 5 an
    // Array (its length, then its items, each a primitive or an 8), 6 an Array already converted
    // (its memo index), 8 any other value (taken from `others` in order and converted by the
    // native side's general path after the columns). Records enter the memo at base.., their
    // Arrays after them in this order, as the native side makes them. null when the items are
    // not records of one shape — decided from keys alone, before any value is read, so that no
    // getter runs twice (the general path reads them then).
    recordsOf(a, memo, base) {
      const n = a.length;
      const first = a[0];
      if (first === null || typeof first !== 'object' || Object.getPrototypeOf(first) !== Object.prototype) return null;
      const ks = Object.keys(first);
      const k = ks.length;
      if (k === 0 || k > 64) return null;
      for (let j = 0; j < k; j++) if (ks[j].indexOf('\0') !== -1) return null;
      const rows = new Array(n);
      const fail = (i) => { for (let e = 0; e < i; e++) memo.delete(rows[e]); return null; };
      for (let i = 0; i < n; i++) {
        const o = a[i];
        // A record seen before (twice in the Array) keeps its identity on the general path.
        if (o === null || typeof o !== 'object' || Object.getPrototypeOf(o) !== Object.prototype || memo.has(o)) return fail(i);
        const oks = Object.keys(o);
        if (oks.length !== k) return fail(i);
        for (let j = 0; j < k; j++) if (oks[j] !== ks[j]) return fail(i);
        rows[i] = o;
        memo.set(o, base + i);
      }
      const kinds = [];
      const nums = [];
      const strs = [];
      const others = [];
      let next = base + n;
      const item = (x) => {
        const tx = typeof x;
        if (tx === 'number') { kinds.push(0); nums.push(x); }
        else if (tx === 'string') { kinds.push(1); nums.push(x.length); strs.push(x); }
        else if (tx === 'boolean') { kinds.push(x ? 2 : 3); nums.push(0); }
        else if (x === null || x === undefined) { kinds.push(4); nums.push(0); }
        else { kinds.push(8); nums.push(0); others.push(x); }
      };
      for (let i = 0; i < n; i++) {
        const o = rows[i];
        for (let j = 0; j < k; j++) {
          const v = o[ks[j]];
          if (Array.isArray(v)) {
            const seen = memo.get(v);
            if (seen !== undefined) { kinds.push(6); nums.push(seen); continue; }
            const m = v.length;
            if (m > 64) { kinds.push(8); nums.push(0); others.push(v); continue; }
            memo.set(v, next++);
            kinds.push(5); nums.push(m);
            for (let e = 0; e < m; e++) item(v[e]);
          } else item(v);
        }
      }
      return [ks.join('\0'), Uint8Array.from(kinds), Float64Array.from(nums), strs.join(''), others];
    },
    // Records from columns (the native side's mirror of recordsOf): kinds 0 number, 1 string
    // (its length; sliced from the joined strings), 2 true, 3 false, 4 null, 5 an Array (its
    // length, then its items), 7 a string of its own (from own, in order).
    makeRecords(keys, n, kinds, nums, strs, own) {
      const ks = keys.split('\0');
      const k = ks.length;
      const out = new Array(n);
      let at = 0;
      let so = 0;
      let oi = 0;
      const value = () => {
        const kind = kinds[at];
        const x = nums[at];
        at++;
        switch (kind) {
          case 0: return x;
          case 1: { const s = strs.slice(so, so + x); so += x; return s; }
          case 2: return true;
          case 3: return false;
          case 4: return null;
          case 5: { const arr = new Array(x); for (let e = 0; e < x; e++) arr[e] = value(); return arr; }
          case 7: return own[oi++];
          default: throw new Error('python-ts: record columns out of step');
        }
      };
      const proto = ks.indexOf('__proto__') !== -1;
      for (let i = 0; i < n; i++) {
        const o = {};
        if (proto) for (let j = 0; j < k; j++) define(o, ks[j], value());
        else for (let j = 0; j < k; j++) o[ks[j]] = value();
        out[i] = o;
      }
      return out;
    },
    f64ToArray(f) {
      const n = f.length;
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = f[i];
      return out;
    },
    partsObject(keys, vs) {
      const ks = keys.split('\0');
      const o = {};
      for (let i = 0; i < ks.length; i++) {
        const k = ks[i];
        if (k === '__proto__') Object.defineProperty(o, k, { value: vs[i], writable: true, enumerable: true, configurable: true });
        else o[k] = vs[i];
      }
      return o;
    },
  };
})"#;

pub fn init(env: Env, exports: Value) -> Result<()> {
    let class = env.run_script(PYTHON_ERROR_CLASS)?;
    env.set_named(exports, "PythonError", class)?;
    let factory = env.run_script(HELPERS)?;
    let repr = env.function("reprNative", Some(crate::convert::handles::repr_native), std::ptr::null_mut())?;
    let undefined = env.undefined()?;
    let h = env.call(undefined, factory, &[repr])?;
    let r = |name: &str| -> Result<Ref> { env.create_ref(env.get_named(h, name)?, 1) };
    let helpers = Helpers {
        map: r("Map")?,
        map_entries: r("mapEntries")?,
        set_values: r("setValues")?,
        memo_new: r("memoNew")?,
        memo_set: r("memoSet")?,
        json: r("JSON")?,
        make_handle: r("makeHandle")?,
        numbers_to_f64: r("numbersToF64")?,
        records_of: r("recordsOf")?,
        make_records: r("makeRecords")?,
        f64_to_array: r("f64ToArray")?,
        parts_object: r("partsObject")?,
        inspect: r("inspect")?,
        make_kwargs: r("makeKwargs")?,
        make_context: r("makeContext")?,
        wrapped_handle: r("wrappedHandle")?,
        make_tuple: r("makeTuple")?,
        unbox: r("unbox")?,
        array_from: r("arrayFrom")?,
        describe: r("describe")?,
    };
    let data = Box::new(EnvData {
        python_error: env.create_ref(class, 1)?,
        shared: crate::runtime::executor::EnvShared::new(env)?,
        helpers,
        handles: RefCell::new(HashMap::new()),
        next_index: Cell::new(0),
        js_errors: RefCell::new(HashMap::new()),
        next_js_error: Cell::new(1),
        contexts: RefCell::new(HashMap::new()),
        views: RefCell::new(Vec::new()),
    });
    // Registered after the threadsafe function, so it runs before Node tears that down.
    let shared = std::sync::Arc::into_raw(data.shared.clone());
    env.add_cleanup_hook(close_shared, shared as *mut _)?;
    env.set_instance_data(Box::into_raw(data) as *mut _, Some(finalize))?;
    Ok(())
}

unsafe extern "C" fn close_shared(arg: *mut std::ffi::c_void) {
    // SAFETY: the Arc leaked in `init` for this hook, reclaimed once here.
    let shared = unsafe { std::sync::Arc::from_raw(arg as *const crate::runtime::executor::EnvShared) };
    shared.close();
}

unsafe extern "C" fn finalize(
    _env: crate::sys::napi::napi_env,
    data: *mut std::ffi::c_void,
    _hint: *mut std::ffi::c_void,
) {
    CACHED.with(|c| {
        if c.get().1 == data as usize {
            c.set((0, 0));
        }
    });
    // SAFETY: `data` is the Box leaked in `init`, finalized once by N-API when the env ends
    // (after the finalizers of wrapped objects, which may still read it).
    let data = unsafe { Box::from_raw(data as *mut EnvData) };
    crate::convert::handles::release_at_env_end(&data);
    drop(data);
}

thread_local! {
    /// This thread's env and its data: a thread hosts one env (the main thread or a Worker's), so
    /// the hot path skips `napi_get_instance_data`.
    static CACHED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

#[inline]
pub fn get(env: Env) -> Result<&'static EnvData> {
    let (e, d) = CACHED.with(|c| c.get());
    if e == env.0 as usize && d != 0 {
        // SAFETY: cached from `instance_data` for this env, cleared when its data is freed.
        return Ok(unsafe { &*(d as *const EnvData) });
    }
    let p = env.instance_data()? as *const EnvData;
    if !p.is_null() {
        CACHED.with(|c| c.set((env.0 as usize, p as usize)));
    }
    // SAFETY: set in `init` before any export can run; lives until the env ends, and is only
    // used on this env's thread.
    unsafe { p.as_ref() }.ok_or_else(|| Error::Runtime("python-ts: module not initialised in this environment".into()))
}

impl EnvData {
    pub fn helper(&self, env: Env, r: impl Fn(&Helpers) -> Ref) -> Result<Value> {
        env.ref_value(r(&self.helpers))?.ok_or_else(|| Error::Runtime("python-ts: helper collected".into()))
    }

    /// Call a helper function with arguments.
    pub fn call_helper(&self, env: Env, r: impl Fn(&Helpers) -> Ref, args: &[Value]) -> Result<Value> {
        let f = self.helper(env, r)?;
        let undefined = env.undefined()?;
        env.call(undefined, f, args)
    }

    /// The JS object of context `id` made in this env (what handles carry as `state`); None for
    /// the main context or one this env did not make.
    pub fn context_object(&self, env: Env, id: u64) -> Option<Value> {
        if id == 0 {
            return None;
        }
        let r = self.contexts.borrow().get(&id).copied()?;
        env.ref_value(r).ok().flatten()
    }

    pub fn next_index(&self) -> u64 {
        let i = self.next_index.get() + 1;
        self.next_index.set(i);
        i
    }
}

/// A `PythonError` instance for a Python exception — or, when the exception carries a JS error
/// that crossed into Python, that original JS error.
pub fn python_error(env: Env, info: &PyErrInfo) -> Result<Value> {
    let data = get(env)?;
    if let Some(id) = info.js_error {
        let r = data.js_errors.borrow().get(&id).copied();
        if let Some(r) = r {
            if let Some(holder) = env.ref_value(r)? {
                let v = env.get_named(holder, "value")?;
                // The JS error went through Python on its way back: attach the Python frames it
                // crossed, so both stacks are visible.
                if env.is_error(v)? {
                    let _ = env.set_named(v, "pythonTraceback", env.string(&info.traceback)?);
                }
                return Ok(v);
            }
        }
    }
    let class = env.ref_value(data.python_error)?.ok_or(Error::JsPending)?;
    // The exception object as a handle (`pyExceptionHandle`; the Python class's `pyException`
    // wraps it). Best effort: the error is reported even when this fails.
    let exc = match &info.exc {
        Some(kept) => exception_handle(env, data, kept).or_else(|_| env.undefined())?,
        None => env.undefined()?,
    };
    let args = [
        env.string(&info.message)?,
        env.string(&info.name)?,
        env.string(&info.py_type)?,
        env.string(&info.traceback)?,
        exc,
    ];
    env.new_instance(class, &args)
}

fn exception_handle(env: Env, data: &EnvData, kept: &crate::runtime::refs::Kept) -> Result<Value> {
    let _active = crate::runtime::lifecycle::enter_if_running().ok_or(Error::Generic("not running".into()))?;
    let ctx = kept.context();
    let state = data.context_object(env, ctx);
    crate::runtime::context::with_context_gil(ctx, |gil| {
        let obj = kept.borrow(gil).ok_or(Error::Generic("stale".into()))?;
        crate::convert::handles::to_handle(env, gil, obj, ctx, state)
    })?
}
