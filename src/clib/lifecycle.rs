//! `_set_debug`, `_set_runtime_path`, `_set_plugins_path`, `_init_python`, `_destroy_python`.

use super::{is_nullish, opt_string_arg};
use crate::env::boundary::{self, Export};
use crate::error::{Error, Result};
use crate::runtime::lifecycle;
use crate::sys::napi::{Args, Env, Value, ValueType};
use std::path::PathBuf;

pub static EXPORTS: &[Export] = &[
    Export { name: "_set_debug", f: set_debug },
    Export { name: "_set_runtime_path", f: set_runtime_path },
    Export { name: "_set_plugins_path", f: set_plugins_path },
    Export { name: "_init_python", f: init_python },
    Export { name: "_destroy_python", f: destroy_python },
    Export { name: "_runtime_info", f: runtime_info },
    Export { name: "__panic_for_tests", f: panic_for_tests },
];

/// A hidden entry point that panics, so tests can check the boundary turns it into an `Error`.
fn panic_for_tests(_env: Env, _args: &Args) -> Result<Value> {
    panic!("deliberate panic for tests")
}

fn set_debug(env: Env, args: &Args) -> Result<Value> {
    let on = match args.get(0) {
        Some(v) if env.type_of(v)? == ValueType::napi_boolean => env.get_bool(v)?,
        v if is_nullish(env, v)? => true,
        v => {
            return Err(Error::Type(format!(
                "python-ts: _set_debug(on): on must be a boolean, got {}",
                super::describe_arg(env, v)?
            )))
        }
    };
    boundary::set_debug(on);
    env.boolean(on)
}

fn set_runtime_path(env: Env, args: &Args) -> Result<Value> {
    let p = opt_string_arg(env, args, 0, "_set_runtime_path(path)", "path")?;
    lifecycle::set_runtime_path(p.filter(|s| !s.is_empty()).map(PathBuf::from))?;
    env.boolean(true)
}

fn set_plugins_path(env: Env, args: &Args) -> Result<Value> {
    let p = opt_string_arg(env, args, 0, "_set_plugins_path(dir)", "dir")?;
    lifecycle::set_plugins_path(p.filter(|s| !s.is_empty()).map(PathBuf::from))?;
    env.boolean(true)
}

fn init_python(env: Env, _args: &Args) -> Result<Value> {
    env.boolean(lifecycle::init_python()?)
}

fn destroy_python(env: Env, _args: &Args) -> Result<Value> {
    if crate::convert::buffers::others_have_views(env, None) {
        return Err(Error::Generic(
            "python-ts: another JavaScript environment (a worker) still holds buffer views of Python memory; destroy after they are collected".into(),
        ));
    }
    let r = lifecycle::destroy_python()?;
    if r {
        // No JS has run since finalization: detach before any can touch the freed memory.
        crate::convert::buffers::detach(env, None)?;
    }
    env.boolean(r)
}

/// `{ version, library, executable, home, source, running, init }` of the loaded runtime, or null.
fn runtime_info(env: Env, _args: &Args) -> Result<Value> {
    let Some(info) = lifecycle::info() else { return env.null() };
    let o = env.object()?;
    let (a, b, c) = info.version;
    env.set_named(o, "version", env.string(&format!("{a}.{b}.{c}"))?)?;
    env.set_named(o, "library", env.string(&info.library.to_string_lossy())?)?;
    let opt = |p: &Option<PathBuf>| -> Result<Value> {
        match p {
            Some(p) => env.string(&p.to_string_lossy()),
            None => env.null(),
        }
    };
    env.set_named(o, "executable", opt(&info.executable)?)?;
    env.set_named(o, "home", opt(&info.home)?)?;
    env.set_named(o, "source", env.string(&info.source)?)?;
    env.set_named(o, "running", env.boolean(lifecycle::is_running())?)?;
    env.set_named(o, "init", env.string(lifecycle::init_kind())?)?;
    Ok(o)
}

/// On the main thread's env: finalize Python at exit when nothing is in flight.
pub fn register_exit_hook(env: Env) -> Result<()> {
    if crate::sys::is_process_main_thread() {
        env.add_cleanup_hook(exit_hook, std::ptr::null_mut())?;
    }
    Ok(())
}

unsafe extern "C" fn exit_hook(_arg: *mut std::ffi::c_void) {
    let _ = std::panic::catch_unwind(lifecycle::at_exit);
}
