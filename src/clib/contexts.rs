//! `_create_pycontext(opts?)` and `_delete_pycontext(ctx)`.

use super::describe_arg;
use crate::convert::handles;
use crate::env as instance;
use crate::env::boundary::Export;
use crate::env::protocol::{CONTEXT_TAG, CONTEXT_TYPE};
use crate::error::{Error, Result};
use crate::runtime::context::Context;
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
    let o = to_object(env, &c)?;
    let r = env.create_ref(o, 1)?;
    instance::get(env)?.contexts.borrow_mut().insert(c.id, r);
    Ok(o)
}

fn delete_pycontext(env: Env, args: &Args) -> Result<Value> {
    let v = args.get(0).ok_or_else(|| Error::Type("python-ts: _delete_pycontext(ctx): ctx is required".into()))?;
    if !is_context_object(env, v)? {
        return Err(Error::Type(format!(
            "python-ts: _delete_pycontext(ctx): ctx must be a context made by _create_pycontext, got {}",
            describe_arg(env, Some(v))?
        )));
    }
    let p = env.unwrap(v)? as *const u64;
    // SAFETY: context objects wrap a boxed u64 id (see to_object).
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

// Context objects: the JS side of a context.

/// Whether `v` is a context object we made.
pub fn is_context_object(env: Env, v: Value) -> Result<bool> {
    if env.type_of(v)? != ValueType::napi_object {
        return Ok(false);
    }
    env.has_type_tag(v, &CONTEXT_TAG)
}

/// The id of a context object we made, if `v` is one; an error once it was deleted.
pub fn id_of_object(env: Env, v: Value) -> Result<Option<u64>> {
    if !env.has_type_tag(v, &CONTEXT_TAG)? {
        return Ok(None);
    }
    let p = env.unwrap(v)? as *const u64;
    // SAFETY: context objects are wrapped with a boxed u64 id that lives as long as they do.
    let id = unsafe { *p };
    if !context::is_alive(id) {
        return Err(Error::Generic(format!("python-ts: context {id} was deleted; its objects can no longer be used")));
    }
    Ok(Some(id))
}

/// The JS object for a new context `{ type, state, main, time, index, ownGil }`.
pub fn to_object(env: Env, c: &Context) -> Result<Value> {
    let o = instance::get(env)?.call_helper(env, |h| h.make_context, &[])?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as f64).unwrap_or(0.0);
    env.define_values(
        o,
        &[
            (c"type", env.string(CONTEXT_TYPE)?),
            (c"state", env.string(&c.creation_state.to_string())?),
            (c"main", env.boolean(false)?),
            (c"time", env.double(now)?),
            (c"index", env.double(c.id as f64)?),
            (c"ownGil", env.boolean(c.own_gil)?),
        ],
    )?;
    env.wrap(o, Box::into_raw(Box::new(c.id)) as *mut _, Some(finalize_id))?;
    env.type_tag(o, &CONTEXT_TAG)?;
    Ok(o)
}

unsafe extern "C" fn finalize_id(
    _env: crate::sys::napi::napi_env,
    data: *mut std::ffi::c_void,
    _hint: *mut std::ffi::c_void,
) {
    // SAFETY: the boxed id made in `to_object`.
    drop(unsafe { Box::from_raw(data as *mut u64) });
}

/// The live context objects of this env (for `clib.contexts`).
pub fn live_objects(env: Env) -> Result<Value> {
    let data = instance::get(env)?;
    let alive = context::alive_ids();
    let refs: Vec<(u64, crate::sys::napi::Ref)> = data.contexts.borrow().iter().map(|(k, v)| (*k, *v)).collect();
    let arr = env.array(0)?;
    let mut i = 0;
    for (id, r) in refs {
        if !alive.contains(&id) {
            continue;
        }
        if let Some(v) = env.ref_value(r)? {
            env.set_element(arr, i, v)?;
            i += 1;
        }
    }
    Ok(arr)
}
