//! `_method(obj, name, ctx?, wrap?)`: a native JS function that calls `obj.name(...args)`.
//!
//! The Python class makes one per callable attribute it hands out. The function carries the
//! handle's data, the method name and the context with it, so a call reads its own arguments and
//! nothing else from JS: no handle check (the function shares its handle's data), no method-name
//! string, no arguments Array. Results that are objects go through `wrap` (the class's result wrapping);
//! numbers, strings and the other primitives come back as they are.

use super::objects::{call_sync, method_arg, target_arg, CallArgs, MethodName, Positional};
use super::{callback_arg, context_arg, Ctx};
use crate::convert::handles::{self, HandleData};
use crate::env::boundary::{describe_args, traced, Export};
use crate::error::Result;
use crate::sys::napi::{self, Args, CallbackInfo, Env, Ref, Value, ValueType};
use crate::sys::trace::Label;
use std::rc::Rc;

pub static EXPORTS: &[Export] = &[Export { name: "_method", f: method }];

/// What a bound method's function carries.
struct Bound {
    /// The handle's data, shared with the handle (not the handle itself: a strong reference to
    /// the JS handle would be a GC root, and a wrapper that caches this function would then keep
    /// its own handle, and the Python object, alive for ever).
    data: Rc<HandleData>,
    method: MethodName,
    context: u64,
    /// The context object (for handles made by the result), when not the main context.
    state: Option<Ref>,
    wrap: Option<Ref>,
}

fn method(env: Env, args: &Args) -> Result<Value> {
    const F: &str = "_method(obj, name, ctx?, wrap?)";
    let (_, data) = target_arg(env, args, F)?;
    let method = method_arg(env, args.get(1), F)?;
    let ctx = context_arg(env, args, 2, "_method")?;
    let wrap = callback_arg(env, args, 3, "_method")?;
    if data.context != ctx.id {
        return Err(crate::error::Error::Generic(format!(
            "python-ts: {F}: the object belongs to another context than ctx ({} / {})",
            data.context, ctx.id
        )));
    }
    let name = String::from_utf8_lossy(method.bytes().unwrap_or(b"call")).into_owned();
    let bound = Box::new(Bound {
        data: data.share(),
        method,
        context: ctx.id,
        state: ctx.state.map(|s| env.create_ref(s, 1)).transpose()?,
        wrap: wrap.map(|w| env.create_ref(w, 1)).transpose()?,
    });
    let raw = Box::into_raw(bound);
    let f = match env.function(&name, Some(call_bound), raw as *mut _) {
        Ok(f) => f,
        Err(e) => {
            // SAFETY: made above and not handed out.
            unsafe { release(env, *Box::from_raw(raw)) };
            return Err(e);
        }
    };
    if let Err(e) = env.wrap(f, raw as *mut _, Some(finalize)) {
        // SAFETY: as above (the function, not yet returned, is garbage).
        unsafe { release(env, *Box::from_raw(raw)) };
        return Err(e);
    }
    Ok(f)
}

/// The N-API callback of a bound method's function.
///
/// # Safety
/// Called by N-API on the JS thread; `data` is the `Bound` made in `method`, alive while the
/// function is (it is freed by the function's finalizer).
unsafe extern "C" fn call_bound(env: napi::napi_env, info: CallbackInfo) -> Value {
    let env = Env(env);
    let describe = || {
        let Ok(args) = env.cb_info(info) else { return Label::default() };
        // SAFETY: see below.
        let bound = unsafe { &*(args.data as *const Bound) };
        let method = bound.method.bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        Label { method, target: String::new(), args: describe_args(env, &args).args }
    };
    traced(env, "bound method", describe, || {
        let args = env.cb_info(info)?;
        // SAFETY: see above.
        let bound = unsafe { &*(args.data as *const Bound) };
        handles::usable(&bound.data)?;
        let state = bound.state.map(|s| env.ref_value(s)?.ok_or_else(collected)).transpose()?;
        let c = CallArgs {
            handle: &bound.data,
            method: bound.method.clone(),
            args: Positional::of_call(env, &args, info, 0)?,
            kwargs: None,
            ctx: Ctx { id: bound.context, state },
            callback: None,
        };
        let r = call_sync(env, &c)?;
        match bound.wrap {
            Some(w) if env.type_of(r)? == ValueType::napi_object => {
                let f = env.ref_value(w)?.ok_or_else(collected)?;
                env.call(env.undefined()?, f, &[r])
            }
            _ => Ok(r),
        }
    })
}

fn collected() -> crate::error::Error {
    crate::error::Error::Runtime("python-ts: a bound method's handle was collected".into())
}

unsafe extern "C" fn finalize(env: napi::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    // SAFETY: `data` is the `Bound` made in `method`, finalized once with its function.
    unsafe { release(Env(env), *Box::from_raw(data as *mut Bound)) };
}

fn release(env: Env, b: Bound) {
    for r in [b.state, b.wrap].into_iter().flatten() {
        let _ = env.delete_ref(r);
    }
}
