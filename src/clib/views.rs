//! Live views on `exports`: `references` (handles alive now), `objects` (handles by `value`),
//! `contexts` (contexts alive now). Getters, so each read is current.

use crate::convert::handles;
use crate::error::Result;
use crate::sys::napi::{napi_env, CallbackInfo, Env, Value};

pub fn register(env: Env, exports: Value) -> Result<()> {
    env.define_getter(exports, c"references", Some(references), std::ptr::null_mut())?;
    env.define_getter(exports, c"objects", Some(objects), std::ptr::null_mut())?;
    env.define_getter(exports, c"contexts", Some(contexts), std::ptr::null_mut())?;
    Ok(())
}

unsafe extern "C" fn references(env: napi_env, _info: CallbackInfo) -> Value {
    let env = Env(env);
    crate::env::boundary::trampoline(env, "references", || {
        let live = handles::live(env)?;
        let arr = env.array(live.len())?;
        for (i, v) in live.into_iter().enumerate() {
            env.set_element(arr, i as u32, v)?;
        }
        Ok(arr)
    })
}

unsafe extern "C" fn objects(env: napi_env, _info: CallbackInfo) -> Value {
    let env = Env(env);
    crate::env::boundary::trampoline(env, "objects", || {
        let o = env.object()?;
        for v in handles::live(env)? {
            let key = env.get_named(v, "value")?;
            env.set_property(o, key, v)?;
        }
        Ok(o)
    })
}

unsafe extern "C" fn contexts(env: napi_env, _info: CallbackInfo) -> Value {
    let env = Env(env);
    crate::env::boundary::trampoline(env, "contexts", || crate::clib::contexts::live_objects(env))
}
