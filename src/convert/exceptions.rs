//! Python exceptions on their way to JS: a `PythonError` carrying the exception object as a
//! handle, or — when the exception carries a JS error that crossed into Python — that original
//! JS error. The boundary reaches this through the env's hooks (it sits below this layer).

use crate::env::{self as instance, EnvData};
use crate::error::{Error, PyErrInfo, Result};
use crate::runtime::refs::Kept;
use crate::sys::napi::{Env, Value};

/// A `PythonError` instance for a Python exception — or, when the exception carries a JS error
/// that crossed into Python, that original JS error.
pub fn python_error(env: Env, info: &PyErrInfo) -> Result<Value> {
    let data = instance::get(env)?;
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
    let class = data.python_error_class(env)?;
    // The exception object as a handle (`pyExceptionHandle`; the Python class's `pyException`
    // wraps it). Best effort: the error is reported even when this fails.
    let exc = match &info.exc {
        Some(held) => match Kept::of(held.as_ref()) {
            Some(kept) => exception_handle(env, data, kept).or_else(|_| env.undefined())?,
            None => env.undefined()?,
        },
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

fn exception_handle(env: Env, data: &EnvData, kept: &Kept) -> Result<Value> {
    let _active = crate::runtime::lifecycle::enter_if_running().ok_or(Error::Generic("not running".into()))?;
    let ctx = kept.context();
    let state = data.context_object(env, ctx);
    crate::runtime::context::with_context_gil(ctx, |gil| {
        let obj = kept.borrow(gil).ok_or(Error::Generic("stale".into()))?;
        super::handles::to_handle(env, gil, obj, ctx, state)
    })?
}
