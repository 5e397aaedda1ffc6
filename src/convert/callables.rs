//! JS functions as Python callables, and JS errors that cross into Python.
//!
//! A JS function passed to Python becomes a builtin function whose `self` is a capsule holding
//! a strong reference to the JS function and the env it lives in. Called on that env's JS
//! thread (inside a synchronous call) it runs at once. Called from any other thread (a worker
//! running an async call, a `threading.Thread`) the call is queued to the JS thread through the
//! env's threadsafe function and the Python caller waits with the GIL released — unless the JS
//! thread is inside a synchronous call, which may be waiting on this very thread (`t.join()`):
//! then the caller gets a `RuntimeError` at once. Never a deadlock.
//!
//! A JS exception becomes `python_ts.JSError` (message and stack attached); if Python lets it
//! propagate back to JS, JS receives the original error object.

use super::{ToJs, ToPy};
use crate::env as instance;
use crate::env::outbox::{relax, spin_window, EnvShared};
use crate::error::{Error, PyErrInfo, Result};
use crate::runtime::refs::{Keep, Kept};
use crate::runtime::{context, errors, lifecycle, support};
use crate::sys::napi::{Env, Value, ValueType};
use crate::sys::python::concrete as pc;
use crate::sys::python::object::{self as objects, Exc};
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};
use crate::sys::python::{PyMethodDef, PyMethodDefPointer, PyPtr, METH_KEYWORDS, METH_VARARGS};
use once_cell::sync::OnceCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

const CAPSULE_NAME: &std::ffi::CStr = c"python_ts.JsFunction";
/// How many JS errors an env keeps for Python exceptions that may still propagate back.
const MAX_JS_ERRORS: usize = 1024;

struct JsFunction {
    shared: Arc<EnvShared>,
    /// Strong napi_ref to the function.
    func: usize,
    context: u64,
}

fn method_def() -> &'static PyMethodDef {
    static DEF: OnceCell<usize> = OnceCell::new();
    let p = *DEF.get_or_init(|| {
        let def = Box::new(PyMethodDef {
            ml_name: c"js_function".as_ptr(),
            ml_meth: PyMethodDefPointer { PyCFunctionWithKeywords: call_trampoline },
            ml_flags: METH_VARARGS | METH_KEYWORDS,
            ml_doc: c"A JavaScript function called through python-ts.".as_ptr(),
        });
        Box::leak(def) as *mut PyMethodDef as usize
    }) as *const PyMethodDef;
    // SAFETY: leaked above, never freed or changed.
    unsafe { &*p }
}

/// A JS function → a Python callable.
pub fn to_py<'py>(cx: &mut ToPy<'py>, v: Value) -> Result<Owned<'py>> {
    let env = cx.env;
    let func = env.create_ref(v, 1)? as usize;
    let f = Box::into_raw(Box::new(JsFunction { shared: cx.data()?.shared.clone(), func, context: cx.context }));
    // SAFETY: the box is non-null; the capsule owns it from here (freed by its destructor).
    let cap = match unsafe { pc::capsule_new(cx.gil, f as *mut _, CAPSULE_NAME, capsule_destructor) } {
        Ok(cap) => cap,
        Err(e) => {
            // SAFETY: the capsule was not made; we still own the box.
            drop(unsafe { Box::from_raw(f) });
            let _ = env.delete_ref(func as _);
            return Err(e);
        }
    };
    pc::cfunction_new(cx.gil, method_def(), cap.borrow())
}

unsafe extern "C" fn capsule_destructor(cap: PyPtr) {
    // SAFETY: CPython calls this with the GIL held for a live capsule.
    let p = unsafe { pc::capsule_pointer(cap, CAPSULE_NAME) };
    if p.is_null() {
        return;
    }
    // SAFETY: the pointer is the box made in `to_py`, freed only here.
    let f = unsafe { Box::from_raw(p as *mut JsFunction) };
    let func = f.func;
    if f.shared.is_js_thread() {
        // On its own JS thread the env is alive (Python runs here only inside its calls).
        let _ = Env(f.shared.env as _).delete_ref(func as _);
    } else {
        f.shared.post(Box::new(move |env| {
            if let Some(env) = env {
                let _ = env.delete_ref(func as _);
            }
        }));
    }
}

unsafe extern "C" fn call_trampoline(slf: PyPtr, args: PyPtr, kwargs: PyPtr) -> PyPtr {
    // SAFETY: `slf` is our capsule (set at creation); the pointer lives as long as it. CPython
    // calls a builtin function with the GIL held.
    let p = unsafe { pc::capsule_pointer(slf, CAPSULE_NAME) } as *const JsFunction;
    // SAFETY: as above.
    let context = unsafe { p.as_ref() }.map(|f| f.context).unwrap_or(0);
    // SAFETY: CPython called us with the GIL of the function's interpreter held: the entry is
    // counted (nested calls and `current_context()` see it), as every other entry.
    unsafe { crate::runtime::attach::from_python(context, |gil| call_js(gil, p, args, kwargs)) }
}

/// The body of `call_trampoline`, with the entry counted.
fn call_js(gil: Gil<'_>, p: *const JsFunction, args: PyPtr, kwargs: PyPtr) -> PyPtr {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `p` is the capsule's box (or NULL), alive as long as the capsule, which the
        // call keeps alive.
        let f = unsafe { p.as_ref() }.ok_or_else(|| Error::Runtime("python-ts: bad JS function capsule".into()))?;
        // SAFETY: args is a tuple and kwargs a dict or NULL, borrowed for the call.
        let (args, kwargs) = unsafe { (Borrowed::from_raw(gil, args), Borrowed::from_raw(gil, kwargs)) };
        call(gil, f, args, kwargs)
    }));
    finish(gil, r)
}

/// The result of a JS function called from Python: a new reference, or NULL with the error set.
pub(super) fn finish(gil: Gil<'_>, r: std::thread::Result<Result<Owned<'_>>>) -> PyPtr {
    match r {
        Ok(Ok(obj)) => obj.into_raw(),
        Ok(Err(e)) => {
            raise(gil, e);
            std::ptr::null_mut()
        }
        Err(payload) => {
            objects::set_error(
                gil,
                Exc::RuntimeError,
                &format!("python-ts internal error (panic): {}", crate::env::boundary::panic_message(&payload)),
            );
            std::ptr::null_mut()
        }
    }
}

fn call<'py>(
    gil: Gil<'py>,
    f: &JsFunction,
    args: Option<Borrowed<'_, 'py>>,
    kwargs: Option<Borrowed<'_, 'py>>,
) -> Result<Owned<'py>> {
    if f.shared.is_js_thread() {
        return call_here(gil, Env(f.shared.env as _), f.func, f.context, args, kwargs);
    }
    if lifecycle::is_finalizing() {
        // atexit handlers, weakref.finalize and __del__ during shutdown: the JS thread waits
        // for finalization to end, so a call queued to it would deadlock the exit. A daemon
        // thread that raised here would print its traceback while Python is being finalized,
        // and CPython aborts when finalization finds stderr's lock held ("could not acquire
        // lock for <stderr> at interpreter shutdown, possibly due to daemon threads"; seen on
        // i386 in 1 exit of 8 once calls from threads became fast, so that such a thread is
        // mostly asleep between calls rather than waiting for one): it waits for the end
        // instead, where it is parked as any thread waiting for JS (`attach::without_gil`).
        // The interpreter's main thread (atexit handlers) and non-daemon threads (the exit
        // waits for them) get the error.
        if current_is_daemon(gil) {
            crate::runtime::attach::without_gil(gil, || {});
        }
        return Err(finalizing_error());
    }
    // Queue the call to the JS thread and wait for it with the GIL released.
    // Whatever path the message takes, the references it carries are given back (dropping a
    // Kept queues its release).
    let (func, context) = (f.func, f.context);
    let args_k = args.map(|a| a.to_owned().keep(context));
    let kwargs_k = kwargs.map(|k| k.to_owned().keep(context));
    let state = Arc::new(AtomicU8::new(QUEUED));
    let (tx, rx) = channel::<Result<Kept>>();
    let st = state.clone();
    let posted = f.shared.post_awaited(Box::new(move |env| {
        let Some(env) = env else {
            let _ = tx.send(Err(env_ended()));
            return;
        };
        if st.compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return; // the caller gave up (it got a RuntimeError)
        }
        let Some(_active) = lifecycle::enter_if_running() else {
            let _ = tx.send(Err(Error::Runtime("python-ts: the Python runtime ended".into())));
            return;
        };
        let _scope = env.scope();
        let r = context::with_context_gil(context, |gil| {
            let a = args_k.and_then(|k| k.into_owned(gil));
            let k = kwargs_k.and_then(|k| k.into_owned(gil));
            call_here(gil, env, func, context, a.as_ref().map(|a| a.borrow()), k.as_ref().map(|k| k.borrow()))
                .map(|r| r.keep(context))
        })
        .and_then(|r| r);
        let _ = tx.send(r);
    }));
    if !posted {
        return Err(env_ended());
    }
    let shared = f.shared.clone();
    // The sync call of the JS thread seen while waiting, and since when.
    let mut seen: Option<(u64, std::time::Instant)> = None;
    let r = crate::runtime::attach::without_gil(gil, || {
        // The answer often comes within microseconds while the JS thread watches its outbox
        // (env::outbox): look for it before sleeping, whose wake-up costs far more.
        if let Some(window) = spin_window() {
            let start = std::time::Instant::now();
            loop {
                match rx.try_recv() {
                    Ok(r) => return r,
                    Err(TryRecvError::Empty) if start.elapsed() < window => relax(),
                    Err(_) => break,
                }
            }
        }
        loop {
            match rx.recv_timeout(Duration::from_millis(2)) {
                Ok(r) => break r,
                Err(RecvTimeoutError::Disconnected) => break Err(env_ended()),
                Err(RecvTimeoutError::Timeout) => {
                    // An env that ended runs what was queued with `None`; one still queued now
                    // was lost on the way (the host dropped it): it will not be served.
                    if shared.is_closed()
                        && state.compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok()
                    {
                        break Err(env_ended());
                    }
                    // The JS thread serves the call when its current sync call returns. One that
                    // lasts longer than `SYNC_GRACE` may be waiting for this very thread (`t.join()`):
                    // give up rather than deadlock. A short one (a wrapper's attribute read) made
                    // such callbacks fail at random when this was checked at once.
                    let stuck = match (shared.sync_call(), seen) {
                        (Some(call), Some((was, since))) if call == was => since.elapsed() >= SYNC_GRACE,
                        (Some(call), _) => {
                            seen = Some((call, std::time::Instant::now()));
                            false
                        }
                        (None, _) => {
                            seen = None;
                            false
                        }
                    };
                    if stuck && state.compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                        break Err(in_sync_error());
                    }
                }
            }
        }
    });
    // The JS thread kept a new reference for us; its runtime can't have ended while we waited
    // (finalization parks waiting threads before they get here).
    r.and_then(|k| k.into_owned(gil).ok_or_else(|| Error::Runtime("python-ts: the Python runtime ended".into())))
}

fn env_ended() -> Error {
    Error::Runtime("python-ts: the JavaScript environment of this function has ended".into())
}

/// Whether the calling Python thread is a daemon thread (`python_ts.current_is_daemon`).
fn current_is_daemon(gil: Gil<'_>) -> bool {
    let Ok(f) = support::attr(gil, "current_is_daemon") else { return false };
    match objects::call_with(gil, f.borrow(), &[]) {
        Ok(v) => v.as_ptr() == objects::boolean(gil, true).as_ptr(),
        Err(_) => false,
    }
}

/// How long a JS callback from another thread waits for a sync call on the JS thread to end
/// before it fails with `RuntimeError` (the sync call may be waiting for the caller).
const SYNC_GRACE: Duration = Duration::from_millis(500);

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const CANCELLED: u8 = 2;

fn finalizing_error() -> Error {
    Error::Generic(
        "python-ts: a JavaScript function cannot be called while Python is shutting down (atexit handlers, \
         weakref.finalize and __del__ run then, and the JavaScript thread is waiting for them to finish)"
            .into(),
    )
}

fn in_sync_error() -> Error {
    Error::Generic(
        "python-ts: a JavaScript function was called from a Python thread while the JavaScript thread is inside a \
         synchronous call into Python, which may be waiting for that thread (a deadlock). Use the async form \
         (call_async / exec_async / a callback) for Python code that calls JavaScript from other threads"
            .into(),
    )
}

/// Call the JS function on its own JS thread (the GIL is held).
fn call_here<'py>(
    gil: Gil<'py>,
    env: Env,
    func: usize,
    context: u64,
    args: Option<Borrowed<'_, 'py>>,
    kwargs: Option<Borrowed<'_, 'py>>,
) -> Result<Owned<'py>> {
    let _scope = env.scope();
    let r = (|| {
        // Handles given to the JS function carry their context object, as everywhere else.
        let state = instance::get(env)?.context_object(env, context);
        let mut to_js = ToJs::new(env, gil, context, state);
        let mut argv = Vec::new();
        if let Some(a) = args {
            for i in 0..pc::tuple_len(gil, a) {
                // The tuple keeps the item alive.
                let Some(item) = pc::tuple_get(gil, a, i) else { break };
                argv.push(to_js.convert(item)?);
            }
        }
        if let Some(k) = kwargs {
            if pc::dict_len(k) > 0 {
                argv.push(to_js.convert(k)?);
            }
        }
        let f = env
            .ref_value(func as _)?
            .ok_or_else(|| Error::Runtime("python-ts: the JavaScript function was collected".into()))?;
        let this = env.undefined()?;
        let result = env.call(this, f, &argv);
        let result = match result {
            Ok(v) => v,
            Err(Error::JsPending) => return Err(js_exception(env)),
            Err(e) => return Err(e),
        };
        ToPy::new(env, gil, context)?.convert(result)
    })();
    match r {
        Err(Error::JsPending) => Err(js_exception(env)),
        other => other,
    }
}

/// Take the pending JS exception and describe it as a JSError (kept by id for the way back).
pub(super) fn js_exception(env: Env) -> Error {
    // The env stopped running JS during the call (a Worker being terminated, the process
    // exiting): there is nothing to take, or (Node 18) a value that stands for the termination
    // — not an Error, not describable, and then no JS runs at all, which a call of our own
    // shows. (At the JS stack limit the value is a RangeError, and our call fails too.)
    let stopped = || {
        Error::Runtime(
            "python-ts: the JavaScript environment of this function has ended (it stopped running JavaScript during the call)"
                .into(),
        )
    };
    let Some(exc) = env.take_exception() else {
        return stopped();
    };
    let describe = |v: Value| {
        let s =
            instance::get(env).and_then(|d| d.call_helper(env, |h| h.describe, &[v])).and_then(|s| env.get_string(s));
        if s.is_err() {
            let _ = env.take_exception();
        }
        s
    };
    let text = |v: Value| -> String { describe(v).unwrap_or_else(|_| "<unprintable JavaScript value>".into()) };
    let is_error = env.is_error(exc).unwrap_or(false);
    // A value that is not an Error is described once (a custom inspection runs once).
    let plain = (!is_error).then(|| describe(exc));
    if matches!(plain, Some(Err(_))) && env.undefined().map(describe).map_or(true, |r| r.is_err()) {
        return stopped();
    }
    let (message, stack) = if is_error {
        let m = env.get_named(exc, "message").map(text).unwrap_or_default();
        let s = env
            .get_named(exc, "stack")
            .ok()
            .filter(|s| env.type_of(*s).ok() == Some(ValueType::napi_string))
            .map(text)
            .unwrap_or_default();
        (m, s)
    } else {
        (plain.and_then(|d| d.ok()).unwrap_or_else(|| "<unprintable JavaScript value>".into()), String::new())
    };
    let id = instance::get(env).ok().and_then(|data| {
        // Kept inside a holder object: N-API references to primitives (a thrown 42, null or a
        // string) are refused, and the original value must come back to JS as it was thrown.
        let holder = env.object().ok()?;
        env.set_named(holder, "value", exc).ok()?;
        let r = env.create_ref(holder, 1).ok()?;
        let id = data.next_js_error.get();
        data.next_js_error.set(id + 1);
        let mut map = data.js_errors.borrow_mut();
        map.insert(id, r);
        if map.len() > MAX_JS_ERRORS {
            if let Some(oldest) = map.keys().min().copied() {
                if let Some(old) = map.remove(&oldest) {
                    let _ = env.delete_ref(old);
                }
            }
        }
        Some(id)
    });
    Error::Python(Box::new(PyErrInfo {
        name: "JSError".into(),
        message: message.clone(),
        traceback: stack,
        py_type: "python_ts.JSError".into(),
        js_error: id,
        exc: None,
    }))
}

/// Raise `e` as the pending Python exception.
pub fn raise(gil: Gil<'_>, e: Error) {
    match e {
        Error::Python(info) if info.js_error.is_some() || info.name == "JSError" => {
            // Made with C calls only (JSError has no Python `__init__`): running bytecode here
            // lets the eval loop hand the GIL over, and a thread that takes it back while
            // Python finalizes is force-unwound through this frame (an abort).
            let made = (|| {
                let class = support::attr(gil, "JSError")?;
                let m = objects::py_str(gil, &info.message)?;
                let s = objects::py_str(gil, &info.traceback)?;
                let id = pc::int_from_i64(gil, info.js_error.unwrap_or(0) as i64)?;
                let exc = objects::call_with(gil, class.borrow(), &[m.borrow()])?;
                objects::setattr(gil, exc.borrow(), c"js_message", m.borrow())?;
                objects::setattr(gil, exc.borrow(), c"js_stack", s.borrow())?;
                objects::setattr(gil, exc.borrow(), c"_python_ts_js_id", id.borrow())?;
                Ok::<_, Error>(exc)
            })();
            match made {
                Ok(exc) => errors::restore(gil, exc),
                // Making it raised (RecursionError at the recursion limit, MemoryError): that
                // exception is the truer report, so it propagates instead of a RuntimeError.
                Err(Error::Python(cause)) if cause.exc.is_some() => raise(gil, Error::Python(cause)),
                Err(_) => objects::set_error(gil, Exc::RuntimeError, &info.message),
            }
        }
        // A Python exception on its way back into Python: the exception itself, not a copy.
        Error::Python(info) => {
            match info
                .exc
                .as_ref()
                .filter(|k| k.context() == crate::runtime::attach::current_context())
                .and_then(|k| Kept::of(k.as_ref()))
                .and_then(|k| k.borrow(gil))
            {
                Some(exc) => errors::restore(gil, exc.to_owned()),
                None => objects::set_error(gil, Exc::RuntimeError, &info.message),
            }
        }
        Error::Type(m) | Error::Conversion(m) => objects::set_error(gil, Exc::TypeError, &m),
        Error::Range(m) => objects::set_error(gil, Exc::ValueError, &m),
        other => objects::set_error(gil, Exc::RuntimeError, &other.to_string()),
    }
}
