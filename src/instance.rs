//! Per-environment state (main thread and each Worker have their own), kept in N-API instance
//! data, never in process globals: the `PythonError` class of this env, and what later layers
//! hang on it. Process globals hold only the loaded library and the interpreter state.

use crate::error::{PyErrInfo, Result};
use crate::sys::napi::{Env, Ref, Value};

pub struct EnvData {
    python_error: Ref,
}

/// `PythonError`, made in each env by script so it is a real `Error` subclass.
const PYTHON_ERROR_CLASS: &str = r#"(function () {
  class PythonError extends Error {
    constructor(message, name, pyType, traceback) {
      super(message);
      Object.defineProperty(this, 'name', { value: name || 'PythonError', writable: true, configurable: true, enumerable: false });
      this.pyType = pyType;
      this.traceback = traceback;
    }
  }
  Object.defineProperty(PythonError.prototype, 'name', { value: 'PythonError', writable: true, configurable: true });
  return PythonError;
})()"#;

pub fn init(env: Env, exports: Value) -> Result<()> {
    let class = env.run_script(PYTHON_ERROR_CLASS)?;
    env.set_named(exports, "PythonError", class)?;
    let data = Box::new(EnvData { python_error: env.create_ref(class, 1)? });
    env.set_instance_data(Box::into_raw(data) as *mut _, Some(finalize))?;
    Ok(())
}

unsafe extern "C" fn finalize(_env: crate::sys::napi::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    // SAFETY: `data` is the Box leaked in `init`, finalized once by N-API when the env ends.
    drop(unsafe { Box::from_raw(data as *mut EnvData) });
}

pub fn get(env: Env) -> Result<&'static EnvData> {
    let p = env.instance_data()? as *const EnvData;
    // SAFETY: set in `init` before any export can run; lives until the env ends.
    unsafe { p.as_ref() }.ok_or_else(|| crate::error::Error::Runtime("python-ts: module not initialised in this environment".into()))
}

/// A `PythonError` instance for a Python exception.
pub fn python_error(env: Env, info: &PyErrInfo) -> Result<Value> {
    let data = get(env)?;
    let class = env.ref_value(data.python_error)?.ok_or(crate::error::Error::JsPending)?;
    let args = [env.string(&info.message)?, env.string(&info.name)?, env.string(&info.py_type)?, env.string(&info.traceback)?];
    env.new_instance(class, &args)
}
