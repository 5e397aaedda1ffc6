//! `_exec(code, ctx?, callback?)` and `_eval(code, ctx?, callback?)` in the context's
//! `__main__` namespace.

use super::{context_arg, string_arg, Ctx};
use crate::boundary::Export;
use crate::convert::ToJs;
use crate::error::Result;
use crate::runtime::{context, lifecycle, objects};
use crate::sys::napi::{Args, Env, Value};
use crate::sys::python::{PY_EVAL_INPUT, PY_FILE_INPUT};

pub static EXPORTS: &[Export] = &[Export { name: "_exec", f: exec }, Export { name: "_eval", f: eval }];

fn exec(env: Env, args: &Args) -> Result<Value> {
    let code = string_arg(env, args, 0, "_exec(code)", "code")?;
    let ctx = context_arg(env, args, 1, "_exec")?;
    let _active = lifecycle::enter()?;
    context::with_context_gil(ctx.id, |gil| {
        let main = objects::main_dict(gil)?;
        objects::run(gil, &code, PY_FILE_INPUT, main)?;
        Ok(())
    })??;
    env.null()
}

fn eval(env: Env, args: &Args) -> Result<Value> {
    let code = string_arg(env, args, 0, "_eval(code)", "code")?;
    let ctx: Ctx = context_arg(env, args, 1, "_eval")?;
    let _active = lifecycle::enter()?;
    context::with_context_gil(ctx.id, |gil| {
        let main = objects::main_dict(gil)?;
        let r = objects::run(gil, &code, PY_EVAL_INPUT, main)?;
        ToJs::new(env, gil, ctx.id, ctx.state).convert(r.borrow())
    })?
}

/// Run a prepared `_call_python` off the JS thread and report to `callback(err, result)`.
pub fn schedule_call(_env: Env, _call: crate::clib::objects::CallArgs, _callback: Value) -> Result<Value> {
    Err(crate::error::Error::Type("python-ts: the callback form is not available in this build".into()))
}
