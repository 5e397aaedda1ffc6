//! `_exec(code, ctx?, callback?)` and `_eval(code, ctx?, callback?)` in the context's
//! `__main__` namespace.

use super::{callback_arg, context_arg, string_arg, Ctx};
use crate::boundary::Export;
use crate::convert::ToJs;
use crate::error::{Error, Result};
use crate::instance;
use crate::runtime::gil::Gil;
use crate::runtime::refs::{self, Detached, Owned};
use crate::runtime::{context, executor, lifecycle, objects, support};
use crate::sys::napi::{Args, Env, Value};
use crate::sys::python::{PY_EVAL_INPUT, PY_FILE_INPUT};

pub static EXPORTS: &[Export] = &[Export { name: "_exec", f: exec }, Export { name: "_eval", f: eval }, Export { name: "_set_max_threads", f: set_max_threads }];

/// `_set_max_threads(n)` → the previous limit: how many library worker threads async calls may
/// use at once (default 64, or `PYTHON_TS_MAX_THREADS`).
fn set_max_threads(env: Env, args: &Args) -> Result<Value> {
    let previous = executor::max_threads();
    if let Some(v) = args.get(0) {
        if env.type_of(v)? != crate::sys::napi::ValueType::napi_number {
            return Err(Error::Type("python-ts: _set_max_threads(n): n must be a positive integer".into()));
        }
        let n = env.get_double(v)?;
        if !(n >= 1.0 && n <= 4096.0 && n.trunc() == n) {
            return Err(Error::Range("python-ts: _set_max_threads(n): n must be an integer from 1 to 4096".into()));
        }
        executor::set_max_threads(n as usize);
    }
    env.double(previous as f64)
}

fn exec(env: Env, args: &Args) -> Result<Value> {
    let code = string_arg(env, args, 0, "_exec(code)", "code")?;
    let ctx = context_arg(env, args, 1, "_exec")?;
    if let Some(cb) = callback_arg(env, args, 2, "_exec")? {
        return schedule(env, ctx, cb, move |gil| {
            let main = objects::main_dict(gil)?;
            objects::run(gil, &code, PY_FILE_INPUT, main)?;
            Ok(objects::none(gil))
        });
    }
        super::sync(env, ctx.id, |gil| {
        let main = objects::main_dict(gil)?;
        objects::run(gil, &code, PY_FILE_INPUT, main)?;
        Ok(())
    })?;
    env.null()
}

fn eval(env: Env, args: &Args) -> Result<Value> {
    let code = string_arg(env, args, 0, "_eval(code)", "code")?;
    let ctx: Ctx = context_arg(env, args, 1, "_eval")?;
    if let Some(cb) = callback_arg(env, args, 2, "_eval")? {
        return schedule(env, ctx, cb, move |gil| {
            let main = objects::main_dict(gil)?;
            objects::run(gil, &code, PY_EVAL_INPUT, main)
        });
    }
        super::sync(env, ctx.id, |gil| {
        let main = objects::main_dict(gil)?;
        let r = objects::run(gil, &code, PY_EVAL_INPUT, main)?;
        ToJs::new(env, gil, ctx.id, ctx.state).convert(r.borrow())
    })
}

/// Run a `_call_python` off the JS thread and report to `callback(err, result)`. Arguments are
/// converted now, on the JS thread; argument errors throw before anything is scheduled.
pub fn schedule_call(env: Env, c: crate::clib::objects::CallArgs, callback: Value) -> Result<Value> {
    let (callable, args, kwargs) = super::sync(env, c.ctx.id, |gil| {
        let p = crate::clib::objects::prepare_call(env, gil, c.ctx, c.obj, c.method.as_deref(), c.args, c.kwargs)?;
        Ok((p.callable.detach(), p.args.detach(), p.kwargs.map(|k| k.detach())))
    })?;
    schedule(env, c.ctx, callback, move |gil| {
        // SAFETY: references detached above in this generation; the job's Active guard keeps
        // the runtime up until they are released.
        let (f, a, k) = unsafe { (callable.into_owned(gil), args.into_owned(gil), kwargs.map(|k| k.into_owned(gil))) };
        objects::call(gil, f.borrow(), a.borrow(), k.as_ref().map(|k| k.borrow()))
    })
}

/// Run `work` on a library worker thread in context `ctx`; an awaitable result is run to
/// completion on the context's asyncio loop; `callback(err, result)` is called on the JS thread
/// with the result converted there. Exactly one call of the callback per job.
pub fn schedule(env: Env, ctx: Ctx, callback: Value, work: impl for<'py> FnOnce(Gil<'py>) -> Result<Owned<'py>> + Send + 'static) -> Result<Value> {
    let data = instance::get(env)?;
    let shared = data.shared.clone();
    let active = lifecycle::enter()?;
    // Counts as in flight until delivered: the context can't be deleted underneath.
    let flight = context::flight(ctx.id)?;
    let callback = env.create_ref(callback, 1)? as usize;
    let state = match ctx.state {
        Some(s) => Some(env.create_ref(s, 1)? as usize),
        None => None,
    };
    shared.job_started(env);
    let generation = lifecycle::generation();
    let context_id = ctx.id;
    executor::submit(Box::new(move || {
        let result = context::with_context_gil(context_id, |gil| -> Result<Detached> {
            let r = work(gil)?;
            Ok(await_if_awaitable(gil, r)?.detach())
        })
        .and_then(|r| r);
        let shared2 = shared.clone();
        shared.post(Box::new(move |env| {
            let Some(env) = env else {
                if let Ok(d) = result {
                    refs::decref_later(generation, context_id, d);
                }
                drop(flight);
                drop(active);
                return;
            };
            shared2.job_finished(env);
            deliver(env, callback, state, context_id, result, move || {
                drop(flight);
                drop(active);
            });
        }));
    }));
    env.undefined()
}

/// Convert the result on the JS thread, let go of the job's hold on the runtime and context
/// (`release`: the callback may delete them), then call the callback.
fn deliver(env: Env, callback: usize, state: Option<usize>, context_id: u64, result: Result<Detached>, release: impl FnOnce()) {
    let Ok(scope) = env.open_scope() else { return };
    let state_value = state.and_then(|s| env.ref_value(s as _).ok().flatten());
    let converted = result.and_then(|d| {
        context::with_context_gil(context_id, |gil| {
            // SAFETY: detached by the job in this generation; the job's Active guard is alive.
            let obj = unsafe { d.into_owned(gil) };
            ToJs::new(env, gil, context_id, state_value).convert(obj.borrow())
        })?
    });
    let args = match converted {
        Ok(v) => env.null().map(|n| [n, v]),
        Err(e) => error_value(env, e).and_then(|err| env.undefined().map(|u| [err, u])),
    };
    release();
    if let (Ok(args), Ok(Some(f))) = (args, env.ref_value(callback as _)) {
        if let Ok(this) = env.undefined() {
            // A throw from the user's callback stays pending: Node reports it as it would for
            // any callback.
            let _ = env.call(this, f, &args[..if env.type_of(args[0]).ok() == Some(crate::sys::napi::ValueType::napi_null) { 2 } else { 1 }]);
        }
    }
    let _ = env.delete_ref(callback as _);
    if let Some(s) = state {
        let _ = env.delete_ref(s as _);
    }
    let _ = env.close_scope(scope);
}

/// The JS value of an error for a callback's first argument.
fn error_value(env: Env, e: Error) -> Result<Value> {
    match crate::boundary::to_js_error(env, e) {
        Ok(v) => Ok(v),
        Err(Error::JsPending) => env.take_exception().ok_or(Error::JsPending),
        Err(e) => Err(e),
    }
}

/// If `r` is awaitable (an `async def` called), run it on the context's asyncio loop and return
/// its result. Called on a worker thread, which waits with the GIL released.
fn await_if_awaitable<'py>(gil: Gil<'py>, r: Owned<'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held.
    let awaitable = unsafe { (crate::sys::python::api().PyObject_HasAttrString)(r.as_ptr(), c"__await__".as_ptr()) } != 0;
    if !awaitable || crate::runtime::objects::is_type(r.borrow()) {
        return Ok(r);
    }
    let run = support::attr(gil, "run_awaitable")?;
    objects::call_with(gil, run.borrow(), &[r.borrow()])
}
