//! The clib surface: one file per group of functions, each a thin adapter that parses JS
//! arguments, calls `runtime`/`convert`, and returns a JS value. Names keep the seed's
//! (`_call_python` in JS is `clib::objects::call_python` in Rust).

pub mod code;
pub mod contexts;
pub mod internals;
pub mod lifecycle;
pub mod methods;
pub mod objects;
pub mod views;

use crate::convert::type_word;
use crate::env::boundary::{dispatch, Export};
use crate::error::{Error, Result};
use crate::sys::napi::{Args, Env, Value, ValueType};

/// Every exported function, by group.
fn tables() -> [&'static [Export]; 5] {
    [lifecycle::EXPORTS, code::EXPORTS, objects::EXPORTS, methods::EXPORTS, contexts::EXPORTS]
}

pub fn register(env: Env, exports: Value) -> Result<()> {
    for table in tables() {
        for export in table {
            let f = env.function(export.name, Some(dispatch), export as *const Export as *mut _)?;
            env.set_named(exports, export.name, f)?;
        }
    }
    views::register(env, exports)?;
    internals::register(env, exports)?;
    lifecycle::register_exit_hook(env)?;
    Ok(())
}

/// A synchronous call into Python from the JS thread: marks the env as inside a sync call (so
/// JS callbacks from other Python threads fail fast instead of deadlocking), keeps the runtime
/// up, and holds the context's GIL for `f`.
///
/// The mark is set once the GIL is ours: a JS thread still waiting for the GIL (held by
/// workers of async calls) is not inside Python yet, and their JS callbacks may wait for it.
pub fn sync<R>(env: Env, ctx: u64, f: impl for<'py> FnOnce(crate::sys::python::Gil<'py>) -> Result<R>) -> Result<R> {
    let data = crate::env::get(env)?;
    let _active = crate::runtime::lifecycle::enter()?;
    crate::runtime::context::with_context_gil(ctx, |gil| {
        let _sync = data.shared.sync_guard();
        f(gil)
    })?
}

pub fn is_nullish(env: Env, v: Option<Value>) -> Result<bool> {
    match v {
        None => Ok(true),
        Some(v) => Ok(matches!(env.type_of(v)?, ValueType::napi_undefined | ValueType::napi_null)),
    }
}

/// A required string argument; a `TypeError` naming the function and parameter otherwise.
pub fn string_arg(env: Env, args: &Args, i: usize, func: &str, param: &str) -> Result<String> {
    let v = args.get(i);
    match v {
        Some(v) if env.type_of(v)? == ValueType::napi_string => env.get_string(v),
        _ => Err(Error::Type(format!("python-ts: {func}: {param} must be a string, got {}", describe_arg(env, v)?))),
    }
}

/// An optional string argument (undefined/null → None).
pub fn opt_string_arg(env: Env, args: &Args, i: usize, func: &str, param: &str) -> Result<Option<String>> {
    if is_nullish(env, args.get(i))? {
        return Ok(None);
    }
    string_arg(env, args, i, func, param).map(Some)
}

pub fn describe_arg(env: Env, v: Option<Value>) -> Result<String> {
    Ok(match v {
        None => "nothing".into(),
        Some(v) => type_word(env.type_of(v)?).into(),
    })
}

/// Which context a call runs in: its id (0 = main) and the JS object handles carry as `state`.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub id: u64,
    pub state: Option<Value>,
}

/// The context argument: `undefined`, `null` or `{}` for the main context, or a context object
/// made by `_create_pycontext`.
pub fn context_arg(env: Env, args: &Args, i: usize, func: &str) -> Result<Ctx> {
    let v = args.get(i);
    if is_nullish(env, v)? {
        return Ok(Ctx { id: 0, state: None });
    }
    let v = v.unwrap_or(std::ptr::null_mut());
    if env.type_of(v)? == ValueType::napi_object {
        if let Some(id) = contexts::id_of_object(env, v)? {
            return Ok(Ctx { id, state: Some(v) });
        }
        let keys = env.own_keys(v)?;
        if env.array_len(keys)? == 0 {
            return Ok(Ctx { id: 0, state: None });
        }
    }
    Err(Error::Type(format!(
        "python-ts: {func}: ctx must be a context made by _create_pycontext, or {{}}/null for the main context"
    )))
}

/// An optional callback argument: `Some(function)`, `None` when absent; a `TypeError` otherwise.
pub fn callback_arg(env: Env, args: &Args, i: usize, func: &str) -> Result<Option<Value>> {
    function_arg(env, args, i, func, "callback")
}

/// An optional function argument named `what`: `Some(function)`, `None` when absent or null; a
/// `TypeError` otherwise.
pub fn function_arg(env: Env, args: &Args, i: usize, func: &str, what: &str) -> Result<Option<Value>> {
    let v = args.get(i);
    if is_nullish(env, v)? {
        return Ok(None);
    }
    let v = v.unwrap_or(std::ptr::null_mut());
    if env.type_of(v)? == ValueType::napi_function {
        return Ok(Some(v));
    }
    Err(Error::Type(format!("python-ts: {func}: {what} must be a function, got {}", describe_arg(env, Some(v))?)))
}

/// Put `f` (or nothing) in an env's hook slot, giving back the reference to the one it held.
pub fn replace_hook(env: Env, slot: &std::cell::Cell<Option<crate::sys::napi::Ref>>, f: Option<Value>) -> Result<()> {
    if let Some(old) = slot.take() {
        env.delete_ref(old)?;
    }
    if let Some(f) = f {
        slot.set(Some(env.create_ref(f, 1)?));
    }
    Ok(())
}
