//! python-ts: CPython embedded in Node.js.
//!
//! The module exports two N-API symbols: `napi_register_module_v1`, which registers the clib
//! functions on `exports` for each environment that loads us (main thread or Worker), and
//! `node_api_module_get_api_version_v1`. The legacy `napi_module_register` constructor is not
//! used: it registers once per process and breaks `worker_threads` (docs/design.md).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod clib;
pub mod convert;
pub mod env;
pub mod error;
pub mod runtime;
pub mod sys;

use sys::napi::{napi_env, Env, Value};

/// Module entry: called by Node for every environment that loads the addon.
///
/// # Safety
/// Called by Node with a valid env and exports object on that env's JS thread.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: Value) -> Value {
    sys::napi::setup();
    sys::os::pin_this_library();
    runtime::support::set_proxy_base(convert::jsproxy::make_base);
    let env = Env(env);
    env::boundary::trampoline(env, "register", || {
        env::init(
            env,
            exports,
            env::Hooks {
                python_error: convert::exceptions::python_error,
                at_end: convert::handles::release_at_env_end,
                repr: convert::handles::repr_native,
            },
        )?;
        clib::register(env, exports)?;
        Ok(exports)
    })
}

/// The N-API version we build against (what `NAPI_MODULE_INIT` emits; Node 20 refuses > 9).
#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    8
}
