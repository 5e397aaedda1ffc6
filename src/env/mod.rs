//! Per-environment state (main thread and each Worker have their own), kept in N-API instance
//! data, never in process globals: the `PythonError` class, the handle registry, the JS helpers
//! the serializer calls (Map/Set iteration, the identity memo), and what later layers hang on it.
//! Process globals hold only the loaded library and the interpreter state.
//!
//! Invariant: an `EnvData` is only touched on its own JS thread, so `RefCell`s suffice; borrows
//! are never held across a call into JS or Python.

pub mod boundary;
pub mod outbox;
pub mod protocol;

use crate::error::{Error, PyErrInfo, Result};
use crate::sys::napi::{Env, Ref, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// The registry of live handles, by (context, object address): looked up for every object a
/// conversion hands out as a handle.
pub type HandleMap =
    HashMap<(u64, usize), HandleEntry, std::hash::BuildHasherDefault<crate::sys::python::object::FastHash>>;

/// What the registry knows of one live handle: a weak reference to the JS object and the
/// native data it wraps.
pub struct HandleEntry {
    pub weak: Ref,
    /// A weak reference to what the proxy's `wrap` hook made of the handle (its wrapped object),
    /// kept so a proxy call that passes the object again makes no JS call for it
    /// (`convert::handles::wrapped_once`).
    pub wrapper: Option<Ref>,
    /// The handle's native data (`convert::handles::HandleData`, which owns the registry's use
    /// of it).
    pub data: *const std::ffi::c_void,
}

/// What the layers above give the env at its start: the env calls them without depending on
/// them (it sits below them).
#[derive(Clone, Copy)]
pub struct Hooks {
    /// The JS value a Python exception throws as (`convert::exceptions::python_error`).
    pub python_error: fn(Env, &PyErrInfo) -> Result<Value>,
    /// The env is ending: release what it still holds, never taking the GIL
    /// (`convert::handles::release_at_env_end`).
    pub at_end: fn(&EnvData),
    /// `repr` of a handle, for the handle class's getter (`convert::handles::repr_native`).
    pub repr: crate::sys::napi::NativeFn,
}

pub struct EnvData {
    python_error: Ref,
    pub hooks: Hooks,
    /// What other threads may know of this env (its threadsafe function, its JS thread).
    pub shared: std::sync::Arc<outbox::EnvShared>,
    helpers: Helpers,
    /// One live handle per (context, object address): identity is kept.
    pub handles: RefCell<HandleMap>,
    pub next_index: Cell<u64>,
    /// JS errors that crossed into Python, by id, until Python lets go of them.
    pub js_errors: RefCell<HashMap<u64, Ref>>,
    pub next_js_error: Cell<u64>,
    /// Context objects made in this env, by id (strong: a context lives until deleted).
    pub contexts: RefCell<HashMap<u64, Ref>>,
    /// Zero-copy buffer views made in this env: (context, weak ref to the ArrayBuffer).
    pub views: RefCell<Vec<(u64, Ref)>>,
    /// Python types (qualified names, as `type_name` gives them) a `registerConverter` of this
    /// env names, with how many registrations name each: their objects stay handles on the way
    /// to JS, so the converter wins over the built-in rule (convert/mod.rs).
    pub kept_types: RefCell<Vec<(String, usize)>>,
    /// The JS function that publishes traced calls on diagnostics_channel (`_set_trace`).
    pub trace: Cell<Option<Ref>>,
    /// The package's proxy hook (`_set_js_proxy`): `(target, thisArg)` → the dispatcher function
    /// a Python `JsProxy` calls; None: class instances convert as dicts, Promises are refused.
    pub js_proxy: Cell<Option<Ref>>,
    /// Given with the hook: `wrap(v)` for an object argument of a call through a proxy (Python
    /// handles become wrapped objects), and `result(v, owner)` for an object read or returned
    /// (a proxy marker, a method bound to `owner`).
    pub js_proxy_wrap: Cell<Option<Ref>>,
    pub js_proxy_result: Cell<Option<Ref>>,
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
    pub make_js_object: Ref,
}

/// `PythonError`, made in each env by script so it is a real `Error` subclass.
const PYTHON_ERROR_CLASS: &str = include_str!("python_error.js");

const HELPERS: &str = include_str!("helpers.js");

pub fn init(env: Env, exports: Value, hooks: Hooks) -> Result<()> {
    let class = env.run_script(PYTHON_ERROR_CLASS)?;
    env.set_named(exports, "PythonError", class)?;
    let factory = env.run_script(HELPERS)?;
    let repr = env.function("reprNative", Some(hooks.repr), std::ptr::null_mut())?;
    let undefined = env.undefined()?;
    let table = env.run_script(&protocol::js_object())?;
    env.set_named(exports, "_protocol", table)?;
    let h = env.call(undefined, factory, &[repr, table])?;
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
        make_js_object: r("makeJsObject")?,
    };
    let data = Box::new(EnvData {
        python_error: env.create_ref(class, 1)?,
        hooks,
        shared: outbox::EnvShared::new(env)?,
        helpers,
        handles: RefCell::new(HandleMap::default()),
        next_index: Cell::new(0),
        js_errors: RefCell::new(HashMap::new()),
        next_js_error: Cell::new(1),
        contexts: RefCell::new(HashMap::new()),
        views: RefCell::new(Vec::new()),
        kept_types: RefCell::new(Vec::new()),
        trace: Cell::new(None),
        js_proxy: Cell::new(None),
        js_proxy_wrap: Cell::new(None),
        js_proxy_result: Cell::new(None),
    });
    // Registered after the threadsafe function, so it runs before Node tears that down.
    let shared = std::sync::Arc::into_raw(data.shared.clone());
    env.add_cleanup_hook(close_shared, shared as *mut _)?;
    env.set_instance_data(Box::into_raw(data) as *mut _, Some(finalize))?;
    Ok(())
}

unsafe extern "C" fn close_shared(arg: *mut std::ffi::c_void) {
    // SAFETY: the Arc leaked in `init` for this hook, reclaimed once here.
    let shared = unsafe { std::sync::Arc::from_raw(arg as *const outbox::EnvShared) };
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
    if data.trace.get().is_some() {
        crate::sys::trace::set_publishing(false);
    }
    (data.hooks.at_end)(&data);
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

    /// The env's `PythonError` class.
    pub fn python_error_class(&self, env: Env) -> Result<Value> {
        env.ref_value(self.python_error)?.ok_or(Error::JsPending)
    }

    pub fn next_index(&self) -> u64 {
        let i = self.next_index.get() + 1;
        self.next_index.set(i);
        i
    }
}
