//! Contexts (sub-interpreters). The main context is id 0.

use crate::error::{Error, Result};
use crate::runtime::gil::{self, Gil};
use crate::runtime::refs;

/// Run `f` with the GIL of `context` held on this thread (the caller holds `Active`).
pub fn with_context_gil<R>(context: u64, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> Result<R> {
    if context != 0 {
        return Err(Error::Generic(format!("python-ts: context {context} does not exist")));
    }
    Ok(gil::with_gil(|gil| {
        if refs::has_pending() {
            refs::drain(gil, crate::runtime::lifecycle::generation(), 0);
        }
        f(gil)
    }))
}

/// End every sub-interpreter before finalization.
pub fn end_all() -> Result<()> {
    Ok(())
}

/// The tag of context objects.
pub static CONTEXT_TAG: crate::sys::napi::TypeTag = crate::sys::napi::TypeTag { lower: 0x2b7e_1516_28ae_d2a6, upper: 0xabf7_1588_09cf_4f3c };

/// Whether `v` is a context object we made.
pub fn is_context_object(env: crate::sys::napi::Env, v: crate::sys::napi::Value) -> Result<bool> {
    if env.type_of(v)? != crate::sys::napi::ValueType::napi_object {
        return Ok(false);
    }
    env.has_type_tag(v, &CONTEXT_TAG)
}

/// The id of a context object we made, if `v` is one (and it is still alive).
pub fn id_of_object(env: crate::sys::napi::Env, v: crate::sys::napi::Value) -> Result<Option<u64>> {
    if !env.has_type_tag(v, &CONTEXT_TAG)? {
        return Ok(None);
    }
    Err(Error::Generic("python-ts: this context was deleted".into()))
}

/// The live context objects of this env (for `clib.contexts`).
pub fn live_objects(env: crate::sys::napi::Env) -> Result<crate::sys::napi::Value> {
    env.array(0)
}
