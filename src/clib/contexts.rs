//! `_create_pycontext(opts?)` and `_delete_pycontext(ctx)`.

use super::describe_arg;
use crate::boundary::Export;
use crate::convert::handles;
use crate::error::{Error, Result};
use crate::instance;
use crate::runtime::{context, lifecycle};
use crate::sys::napi::{Args, Env, Value, ValueType};

pub static EXPORTS: &[Export] = &[
    Export { name: "_create_pycontext", f: create_pycontext },
    Export { name: "_delete_pycontext", f: delete_pycontext },
];

fn create_pycontext(env: Env, args: &Args) -> Result<Value> {
    let own_gil = match args.get(0) {
        v if super::is_nullish(env, v)? => false,
        Some(o) if env.type_of(o)? == ValueType::napi_object => {
            let v = env.get_named(o, "ownGil")?;
            match env.type_of(v)? {
                ValueType::napi_undefined | ValueType::napi_null => false,
                ValueType::napi_boolean => env.get_bool(v)?,
                _ => {
                    return Err(Error::Type(
                        "python-ts: _create_pycontext({ ownGil }): ownGil must be a boolean".into(),
                    ))
                }
            }
        }
        v => {
            return Err(Error::Type(format!(
                "python-ts: _create_pycontext(opts): opts must be an Object, got {}",
                describe_arg(env, v)?
            )))
        }
    };
    let _active = lifecycle::enter()?;
    let c = context::create(own_gil)?;
    let o = context::to_object(env, &c)?;
    let r = env.create_ref(o, 1)?;
    instance::get(env)?.contexts.borrow_mut().insert(c.id, r);
    Ok(o)
}

fn delete_pycontext(env: Env, args: &Args) -> Result<Value> {
    let v = args.get(0).ok_or_else(|| Error::Type("python-ts: _delete_pycontext(ctx): ctx is required".into()))?;
    if !context::is_context_object(env, v)? {
        return Err(Error::Type(format!(
            "python-ts: _delete_pycontext(ctx): ctx must be a context made by _create_pycontext, got {}",
            describe_arg(env, Some(v))?
        )));
    }
    let p = env.unwrap(v)? as *const u64;
    // SAFETY: context objects wrap a boxed u64 id (see context::to_object).
    let id = unsafe { *p };
    if !context::is_alive(id) {
        return env.boolean(false);
    }
    let Some(_active) = lifecycle::enter_if_running() else { return env.boolean(false) };
    if crate::convert::buffers::others_have_views(env, Some(id)) {
        return Err(Error::Generic(format!(
            "python-ts: another JavaScript environment (a worker) still holds buffer views of context {id}; delete it after they are collected"
        )));
    }
    context::delete(id)?;
    // No JS has run since the interpreter ended: detach before any can touch its memory.
    crate::convert::buffers::detach(env, Some(id))?;
    handles::kill_context(env, id)?;
    if let Some(r) = instance::get(env)?.contexts.borrow_mut().remove(&id) {
        let _ = env.delete_ref(r);
    }
    env.boolean(true)
}
