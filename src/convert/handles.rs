//! Handles: JS objects that stand for Python objects with no plain JS form.
//!
//! A handle is a plain JS object `{ type: 'python-ts/PyObject*', value, pytype, time, index,
//! state?, repr }` made by us, carrying an N-API type tag and (through `napi_wrap`) a
//! `HandleData` that owns one Python reference. The native side recognises only objects with our
//! tag: a forged object with a copied `value` is an `Error`, never a dereference. The env's
//! registry maps each (context, object) to its one live handle, so identity is kept.
//!
//! A handle that JS collects releases its reference through the deferred-decref queue (the
//! finalizer never takes the GIL); `release` does it at once. A handle of an ended runtime
//! generation or context is dead: using it throws, and its reference is leaked, never touched.

use crate::env::{self as instance, EnvData, HandleEntry};
use crate::error::{Error, Result};
use crate::runtime::lifecycle;
use crate::runtime::refs::{Keep, Kept};
use crate::sys::napi::{napi_env, Env, Value, ValueType};
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::rc::Rc;

pub use crate::env::protocol::{HANDLE_TAG, HANDLE_TYPE};

/// Native side of a handle: the owner of one Python reference. It lives in an `Rc` shared by
/// every JS-side holder of the object — the handle itself and the bound-method functions made for
/// it (`clib._method`), and async jobs that pin it — so none of them keeps another alive: the
/// reference is queued for release when the last holder goes (`Drop`), or at once by `release`.
pub struct HandleData {
    /// The object's reference (None once released); dropping the data drops it, which queues
    /// its release — never the GIL here (JS finalizers).
    obj: RefCell<Option<Kept>>,
    /// The object's address while referenced (0 once released): identity, and the hot path's
    /// read.
    addr: Cell<usize>,
    pub generation: u64,
    pub context: u64,
    /// Async jobs using the object without holding a reference of their own (JS thread only).
    pins: Cell<u32>,
    /// A reference released while pinned, given back when the last pin goes.
    deferred: RefCell<Option<Kept>>,
}

impl HandleData {
    /// Another holder of the data behind a handle (a bound method, a pinned job).
    pub fn share(&self) -> Rc<HandleData> {
        let p = self as *const HandleData;
        // SAFETY: every HandleData is made inside an `Rc` by `to_handle` (and only handed out by
        // reference from it), so `p` came from `Rc::into_raw`/`Rc::as_ptr` of a live Rc.
        unsafe {
            Rc::increment_strong_count(p);
            Rc::from_raw(p)
        }
    }

    pub fn addr(&self) -> usize {
        self.addr.get()
    }

    pub fn is_released(&self) -> bool {
        self.addr.get() == 0
    }

    /// Take the reference out (the handle is released from now on).
    fn take(&self) -> Option<Kept> {
        self.addr.set(0);
        self.obj.borrow_mut().take()
    }
}

/// The handle of `obj` in `context`: the live one if there is one, else a new one.
pub fn to_handle(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>, context: u64, state: Option<Value>) -> Result<Value> {
    let data = instance::get(env)?;
    let generation = lifecycle::generation();
    let key = (context, obj.addr());
    let existing = data.handles.borrow().get(&key).map(|e| (e.weak, e.data.cast::<HandleData>()));
    if let Some((weak, hd)) = existing {
        // SAFETY: `hd` stays valid while its entry is in the registry (removed by its finalizer).
        let hd = unsafe { &*hd };
        if hd.generation == generation && !hd.is_released() {
            if let Some(v) = env.ref_value(weak)? {
                return Ok(v);
            }
        }
    }
    let index = data.next_index();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as f64).unwrap_or(0.0);
    // One JS class for every handle (fields in-object, `repr` a getter on its prototype): small
    // objects with a shared shape, cheap to make and to collect.
    let args = [
        env.string(&obj.addr().to_string())?,
        env.string(&objects::type_name(gil, obj))?,
        env.double(now)?,
        env.double(index as f64)?,
        match state {
            Some(s) => s,
            None => env.undefined()?,
        },
    ];
    let js = data.call_helper(env, |h| h.make_handle, &args)?;
    let hd = Rc::into_raw(Rc::new(HandleData {
        obj: RefCell::new(Some(obj.to_owned().keep(context))),
        addr: Cell::new(obj.addr()),
        generation,
        context,
        pins: Cell::new(0),
        deferred: RefCell::new(None),
    }));
    if let Err(e) = env.wrap(js, hd as *mut c_void, Some(finalize_handle)) {
        // SAFETY: the wrap failed, so the Rc is still ours; dropping it queues the reference.
        drop(unsafe { Rc::from_raw(hd) });
        return Err(e);
    }
    env.type_tag(js, &HANDLE_TAG)?;
    let weak = env.create_ref(js, 0)?;
    let old = data.handles.borrow_mut().insert(key, HandleEntry { weak, wrapper: None, data: hd.cast() });
    if let Some(old) = old {
        forget(env, old);
    }
    Ok(js)
}

/// Whether `v` is a handle we made (whatever its state).
pub fn is_handle(env: Env, v: Value) -> Result<bool> {
    if env.type_of(v)? != ValueType::napi_object {
        return Ok(false);
    }
    env.has_type_tag(v, &HANDLE_TAG)
}

/// The native data of a handle, checked: ours, not released, of the running generation.
pub fn data_of(env: Env, v: Value) -> Result<&'static HandleData> {
    if env.type_of(v)? != ValueType::napi_object {
        return Err(Error::Generic(format!(
            "python-ts: not a Python object handle made by python-ts (got {}); handles cannot be forged or copied",
            describe(env, v)?
        )));
    }
    data_of_object(env, v)
}

/// `data_of` for a value the caller already knows is an object (one N-API call fewer on the
/// hot path).
pub fn data_of_object(env: Env, v: Value) -> Result<&'static HandleData> {
    match data_if_handle(env, v)? {
        Some(hd) => Ok(hd),
        None => Err(Error::Generic(format!(
            "python-ts: not a Python object handle made by python-ts (got {}); handles cannot be forged or copied",
            describe(env, v)?
        ))),
    }
}

/// The handle data of `v` when it is one of our handles (one type-tag check), else None; an
/// object that is a handle but can no longer be used is an error, as in `data_of_object`.
pub fn data_if_handle(env: Env, v: Value) -> Result<Option<&'static HandleData>> {
    if !env.has_type_tag(v, &HANDLE_TAG)? {
        return Ok(None);
    }
    let p = env.unwrap(v)? as *const HandleData;
    // SAFETY: only our tagged objects are wrapped with a HandleData, which lives until the JS
    // object is collected (it is alive: `v` is on the stack).
    let hd = unsafe { &*p };
    usable(hd)?;
    Ok(Some(hd))
}

/// Whether a handle's data can still be used: its context alive, not released, of the running
/// runtime (the checks of `data_of_object` after the handle was found to be ours).
pub fn usable(hd: &HandleData) -> Result<()> {
    if hd.context != 0 && !crate::runtime::context::is_alive(hd.context) {
        return Err(Error::Generic(format!(
            "python-ts: this Python object belongs to context {}, which was deleted",
            hd.context
        )));
    }
    if hd.is_released() {
        return Err(Error::Generic(
            "python-ts: this Python object was released (_delete_pyobject / gc); it can no longer be used".into(),
        ));
    }
    if hd.generation != lifecycle::generation() || !lifecycle::is_running() {
        return Err(Error::Generic(
            "python-ts: this Python object belongs to a Python runtime that was destroyed".into(),
        ));
    }
    Ok(())
}

fn describe(env: Env, v: Value) -> Result<String> {
    let t = env.type_of(v)?;
    Ok(super::type_word(t).into())
}

/// A new reference to the object behind a handle, checked against `context`.
pub fn resolve<'py>(env: Env, gil: Gil<'py>, v: Value, context: u64) -> Result<Owned<'py>> {
    resolve_data(gil, data_of(env, v)?, context)
}

/// A new reference to the object behind already-validated handle data (`data_of`), checked
/// against `context` and still alive (the GIL is held, so nothing released it since).
pub fn resolve_data<'py>(gil: Gil<'py>, hd: &HandleData, context: u64) -> Result<Owned<'py>> {
    if hd.is_released() {
        return Err(Error::Generic(
            "python-ts: this Python object was released (_delete_pyobject / gc); it can no longer be used".into(),
        ));
    }
    if hd.context != context {
        return Err(Error::Generic(format!(
            "python-ts: this Python object belongs to another context ({}), not the one of this call ({})",
            context_name(hd.context),
            context_name(context)
        )));
    }
    // SAFETY: the handle holds a reference of the running generation, so the object is alive.
    Ok(unsafe { Borrowed::from_addr(gil, hd.addr()) }.to_owned())
}

fn context_name(id: u64) -> String {
    if id == 0 {
        "the main context".into()
    } else {
        format!("context {id}")
    }
}

/// Release a handle's reference now. Returns false if it was already released or is dead.
pub fn release(env: Env, gil: Gil<'_>, v: Value) -> Result<bool> {
    if !is_handle(env, v)? {
        return Err(Error::Generic("python-ts: _delete_pyobject: not a Python object handle made by python-ts".into()));
    }
    let p = env.unwrap(v)? as *const HandleData;
    // SAFETY: as in `data_of`.
    let hd = unsafe { &*p };
    if hd.is_released() || hd.generation != lifecycle::generation() {
        return Ok(false);
    }
    let addr = hd.addr();
    unregister(env, instance::get(env)?, hd, addr);
    give_back(gil, hd);
    Ok(true)
}

/// Release a handle's reference now (the GIL of its interpreter is held), or when its last pin
/// goes.
fn give_back(gil: Gil<'_>, hd: &HandleData) {
    let Some(kept) = hd.take() else { return };
    if hd.pins.get() > 0 {
        *hd.deferred.borrow_mut() = Some(kept);
        return;
    }
    drop(kept.into_owned(gil));
}

/// A handle's data kept for an async job that uses its object from a worker thread without the
/// JS thread taking the GIL: the data (and its reference) stays while the pin lives, and an
/// explicit release is deferred until `unpin`.
pub struct Pin {
    /// Given back only by `unpin` on the JS thread: a Pin dropped anywhere else (a job's
    /// message dropped with its env's outbox, on whichever thread drops that last) leaks it
    /// rather than touch the Rc's count off its thread.
    hd: std::mem::ManuallyDrop<Rc<HandleData>>,
    /// The object's address, valid (referenced by the handle's data) until `unpin`.
    pub addr: usize,
}

// SAFETY: a Pin is created and ended on its env's JS thread (the worker reads `addr` only); when
// the env ended, `unpin(None, ..)` forgets it without touching the Rc.
unsafe impl Send for Pin {}

pub fn pin(hd: &HandleData) -> Pin {
    hd.pins.set(hd.pins.get() + 1);
    Pin { hd: std::mem::ManuallyDrop::new(hd.share()), addr: hd.addr() }
}

/// End a pin on the JS thread; a release requested meanwhile takes effect now (queued).
pub fn unpin(env: Option<Env>, mut p: Pin) {
    if env.is_none() {
        // Not on the JS thread (the env ended): the Rc must not be touched here; it leaks.
        return;
    }
    // SAFETY: taken once, here, on the env's JS thread (the only place a Pin gives its Rc back).
    let hd = unsafe { std::mem::ManuallyDrop::take(&mut p.hd) };
    hd.pins.set(hd.pins.get().saturating_sub(1));
    if hd.pins.get() == 0 {
        // A release requested meanwhile: queued now.
        drop(hd.deferred.borrow_mut().take());
    }
}

fn unregister(env: Env, data: &EnvData, hd: *const HandleData, addr: usize) {
    // SAFETY: hd is valid for the duration of this call (caller holds it).
    let key = (unsafe { (*hd).context }, addr);
    let mut handles = data.handles.borrow_mut();
    if handles.get(&key).map(|e| std::ptr::eq(e.data.cast::<HandleData>(), hd)).unwrap_or(false) {
        if let Some(e) = handles.remove(&key) {
            forget(env, e);
        }
    }
}

/// A registry entry removed: its references deleted.
fn forget(env: Env, e: HandleEntry) {
    let _ = env.delete_ref(e.weak);
    if let Some(w) = e.wrapper {
        let _ = env.delete_ref(w);
    }
}

/// What `wrap` (the proxy's hook, run by `make`) makes of `v`, made once per handle: for a handle
/// of this env, the wrapped object made the first time is kept (weakly, in the handle's registry
/// entry) and given again without a JS call while it lives — the `Python` class keeps one wrapped
/// object per handle for as long as the handle lives, so it is the one the hook would give. Not
/// while a converter names a type (`kept_types`): the hook may then give a new conversion each
/// time. Anything else is `make()`.
pub fn wrapped_once(env: Env, data: &EnvData, v: Value, make: impl FnOnce() -> Result<Value>) -> Result<Value> {
    if !data.kept_types.borrow().is_empty() {
        return make();
    }
    let Some(hd) = data_if_handle(env, v)? else { return make() };
    let key = (hd.context, hd.addr());
    let entry_of = |e: &HandleEntry| std::ptr::eq(e.data.cast::<HandleData>(), hd);
    let known = data.handles.borrow().get(&key).filter(|e| entry_of(e)).and_then(|e| e.wrapper);
    if let Some(w) = known {
        if let Some(w) = env.ref_value(w)? {
            return Ok(w);
        }
    }
    // The hook runs JS (which may collect handles): no registry borrow across it.
    let w = make()?;
    if matches!(env.type_of(w)?, ValueType::napi_object | ValueType::napi_function) {
        let r = env.create_ref(w, 0)?;
        match data.handles.borrow_mut().get_mut(&key).filter(|e| entry_of(e)) {
            Some(e) => {
                if let Some(old) = e.wrapper.replace(r) {
                    let _ = env.delete_ref(old);
                }
            }
            None => {
                let _ = env.delete_ref(r);
            }
        }
    }
    Ok(w)
}

/// Release every live handle of `context` in this env (`Python.clear()`); returns how many.
pub fn release_all(env: Env, gil: Gil<'_>, context: u64) -> Result<usize> {
    let data = instance::get(env)?;
    let entries: Vec<(usize, *const HandleData)> = data
        .handles
        .borrow()
        .iter()
        .filter(|(k, _)| k.0 == context)
        .map(|(k, e)| (k.1, e.data.cast::<HandleData>()))
        .collect();
    let mut n = 0;
    for (_, hd) in entries {
        // SAFETY: entries in the registry point at live HandleData.
        let hd = unsafe { &*hd };
        if hd.is_released() || hd.generation != lifecycle::generation() {
            continue;
        }
        unregister(env, data, hd, hd.addr());
        give_back(gil, hd);
        n += 1;
    }
    Ok(n)
}

/// The env is ending: queue the reference of every handle whose finalizer has not run. Node runs
/// the finalizers of wrapped objects first, so this finds none there; Deno ends a terminated
/// Worker without running them, and without this each object it held kept one reference.
/// The HandleData stays (a late finalizer frees it and sees it released); pinned ones are left to
/// the jobs that pin them. Never the GIL here.
pub fn release_at_env_end(data: &EnvData) {
    for e in data.handles.borrow().values() {
        // SAFETY: registry entries point at live HandleData (removed by their finalizers).
        let hd = unsafe { &*e.data.cast::<HandleData>() };
        if hd.pins.get() > 0 {
            continue;
        }
        // Dropped: queued (or forgotten, when its runtime or context has ended).
        drop(hd.take());
    }
}

/// Forget (without touching Python) every handle of `context`: its interpreter ended.
pub fn kill_context(env: Env, context: u64) -> Result<()> {
    let data = instance::get(env)?;
    let mut handles = data.handles.borrow_mut();
    let keys: Vec<(u64, usize)> = handles.keys().filter(|k| k.0 == context).copied().collect();
    for k in keys {
        if let Some(e) = handles.remove(&k) {
            // SAFETY: registry entries point at live HandleData. Dropping its reference touches
            // nothing: the context is gone, so the release is not even queued.
            drop(unsafe { (*e.data.cast::<HandleData>()).take() });
            forget(env, e);
        }
    }
    Ok(())
}

/// The live handles of this env (for `clib.references` / `clib.objects`).
pub fn live(env: Env) -> Result<Vec<Value>> {
    let data = instance::get(env)?;
    let generation = lifecycle::generation();
    let refs: Vec<(crate::sys::napi::Ref, *const HandleData)> =
        data.handles.borrow().values().map(|e| (e.weak, e.data.cast::<HandleData>())).collect();
    let mut out = Vec::with_capacity(refs.len());
    for (weak, hd) in refs {
        // SAFETY: registry entries point at live HandleData.
        let hd = unsafe { &*hd };
        if hd.is_released() || hd.generation != generation {
            continue;
        }
        if let Some(v) = env.ref_value(weak)? {
            out.push(v);
        }
    }
    Ok(out)
}

unsafe extern "C" fn finalize_handle(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `data` is the Rc made in `to_handle`; N-API finalizes it once.
        let hd = unsafe { Rc::from_raw(data as *const HandleData) };
        let env = Env(env);
        if let Ok(envdata) = instance::get(env) {
            let key = (hd.context, hd.addr());
            let mut handles = envdata.handles.borrow_mut();
            if handles.get(&key).map(|e| std::ptr::eq(e.data.cast::<HandleData>(), &*hd)).unwrap_or(false) {
                if let Some(e) = handles.remove(&key) {
                    forget(env, e);
                }
            }
        }
        // The last holder gives the reference back (`Drop`); bound methods may hold it longer.
        drop(hd);
    });
}

/// `reprNative(handle)`: what the handles' `repr` getter returns.
///
/// # Safety
/// Called by N-API with a valid env and callback info on that env's JS thread.
pub unsafe extern "C" fn repr_native(env: napi_env, info: crate::sys::napi::CallbackInfo) -> Value {
    let env = Env(env);
    crate::env::boundary::trampoline(env, "repr", || {
        let args = env.cb_info(info)?;
        let this = args.get(0).unwrap_or(args.this);
        let hd = match data_of(env, this) {
            Ok(hd) => hd,
            Err(e) => return env.string(&format!("<{e}>")),
        };
        let _active = lifecycle::enter()?;
        let text = crate::runtime::context::with_context_gil(hd.context, |gil| {
            // SAFETY: the handle holds a reference of the running generation.
            let obj = unsafe { Borrowed::from_addr(gil, hd.addr()) };
            objects::repr_of(gil, obj).unwrap_or_else(|e| {
                crate::runtime::errors::clear(gil);
                format!("<repr() failed: {e}>")
            })
        })?;
        env.string(&text)
    })
}
