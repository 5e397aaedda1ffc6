//! The one trampoline every exported function goes through: arguments are read, the Rust body
//! runs inside `catch_unwind`, and its `Result` becomes a return value or a thrown JS error. A
//! panic becomes a JS `Error`, never an abort; a pending JS exception is left as it is.

use crate::env as instance;
use crate::error::{Error, Result};
use crate::sys::napi::{Args, CallbackInfo, Env, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A clib function: its JS name and body.
pub struct Export {
    pub name: &'static str,
    pub f: fn(Env, &Args) -> Result<Value>,
}

pub use crate::sys::trace::{debug, set_debug};

/// The N-API callback of every exported function; `data` points at its `Export`.
///
/// # Safety
/// Called by N-API on the JS thread with a valid env and callback info; `data` was set to a
/// `&'static Export` when the function was created.
pub unsafe extern "C" fn dispatch(env: crate::sys::napi::napi_env, info: CallbackInfo) -> Value {
    let env = Env(env);
    let args = match env.cb_info(info) {
        Ok(a) => a,
        Err(e) => return fail(env, e),
    };
    // SAFETY: set at registration to a `&'static Export` (see `clib::register`).
    let export = unsafe { &*(args.data as *const Export) };
    trampoline(env, export.name, || (export.f)(env, &args))
}

/// Run `f`, turning a panic or an error into a thrown JS value (returns NULL then).
pub fn trampoline(env: Env, name: &str, f: impl FnOnce() -> Result<Value>) -> Value {
    let started = if debug() {
        crate::sys::trace::reset_last();
        Some(std::time::Instant::now())
    } else {
        None
    };
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(Error::Panic(panic_message(&payload))));
    if let Some(t) = started {
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let ctx = match crate::sys::trace::last_context() {
            u64::MAX => String::new(),
            0 => " [main context]".to_string(),
            id => format!(" [context {id}]"),
        };
        eprintln!("[python-ts] {name}{ctx} {:.3} ms {outcome}", t.elapsed().as_secs_f64() * 1e3);
    }
    match result {
        Ok(v) => v,
        Err(e) => fail(env, e),
    }
}

pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

fn fail(env: Env, e: Error) -> Value {
    if let Ok(v) = to_js_error(env, e) {
        let _ = env.throw(v);
    }
    std::ptr::null_mut()
}

/// The JS value an error throws as (or `Err(JsPending)` when one is already pending).
pub fn to_js_error(env: Env, e: Error) -> Result<Value> {
    match e {
        Error::JsPending => {
            // Leave the pending exception where it is; the caller must not throw again.
            Err(Error::JsPending)
        }
        Error::Type(m) | Error::Conversion(m) => env.type_error(&m),
        Error::Range(m) => env.range_error(&m),
        Error::Python(info) => (instance::get(env)?.hooks.python_error)(env, &info),
        other => env.error(&other.to_string()),
    }
}
