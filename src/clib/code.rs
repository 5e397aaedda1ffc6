//! `_exec(code, ctx?, callback?)` and `_eval(code, ctx?, callback?)` in the context's
//! `__main__` namespace.

use super::{main_context_arg, string_arg};
use crate::boundary::Export;
use crate::convert;
use crate::error::Result;
use crate::runtime::{gil, lifecycle, objects};
use crate::sys::napi::{Args, Env, Value};
use crate::sys::python::{PY_EVAL_INPUT, PY_FILE_INPUT};

pub static EXPORTS: &[Export] = &[Export { name: "_exec", f: exec }, Export { name: "_eval", f: eval }];

fn exec(env: Env, args: &Args) -> Result<Value> {
    let code = string_arg(env, args, 0, "_exec(code)", "code")?;
    main_context_arg(env, args, 1, "_exec")?;
    let _active = lifecycle::enter()?;
    gil::with_gil(|gil| {
        let main = objects::main_dict(gil)?;
        objects::run(gil, &code, PY_FILE_INPUT, main)?;
        Ok(())
    })?;
    env.null()
}

fn eval(env: Env, args: &Args) -> Result<Value> {
    let code = string_arg(env, args, 0, "_eval(code)", "code")?;
    main_context_arg(env, args, 1, "_eval")?;
    let _active = lifecycle::enter()?;
    gil::with_gil(|gil| {
        let main = objects::main_dict(gil)?;
        let r = objects::run(gil, &code, PY_EVAL_INPUT, main)?;
        convert::to_js(env, gil, r.borrow())
    })
}
