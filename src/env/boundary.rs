//! The one trampoline every exported function goes through: arguments are read, the Rust body
//! runs inside `catch_unwind`, and its `Result` becomes a return value or a thrown JS error. A
//! panic becomes a JS `Error`, never an abort; a pending JS exception is left as it is.

use crate::env as instance;
use crate::env::protocol;
use crate::error::{Error, Result};
use crate::sys::napi::{Args, CallbackInfo, Env, Value};
use crate::sys::trace::{self, Label, Traced};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A clib function: its JS name and body.
pub struct Export {
    pub name: &'static str,
    pub f: fn(Env, &Args) -> Result<Value>,
}

pub use crate::sys::trace::{debug, set_debug};

/// The N-API callback of every exported function; `data` points at its `Export`.
///
/// # Safety
/// Called by N-API on the JS thread with a valid env and callback info; `data` was set to a
/// `&'static Export` when the function was created.
pub unsafe extern "C" fn dispatch(env: crate::sys::napi::napi_env, info: CallbackInfo) -> Value {
    let env = Env(env);
    let args = match env.cb_info(info) {
        Ok(a) => a,
        Err(e) => return fail(env, e),
    };
    // SAFETY: set at registration to a `&'static Export` (see `clib::register`).
    let export = unsafe { &*(args.data as *const Export) };
    traced(env, export.name, || describe_args(env, &args), || (export.f)(env, &args))
}

/// What a clib call is, from its arguments (read only while tracing): the target's type when the
/// first argument is a handle, the name when the second is a string, and every argument's kind
/// and size — never contents, and no user getter runs.
pub fn describe_args(env: Env, args: &Args) -> Label {
    use crate::sys::napi::ValueType as T;
    let mut label = Label::default();
    let mut kinds = Vec::new();
    for i in 0..args.argc.min(crate::sys::napi::MAX_ARGS) {
        let Some(v) = args.get(i) else { break };
        let kind = match env.type_of(v) {
            Ok(T::napi_undefined) => "undefined".to_string(),
            Ok(T::napi_null) => "null".to_string(),
            Ok(T::napi_boolean) => "bool".to_string(),
            Ok(T::napi_number) => "number".to_string(),
            Ok(T::napi_bigint) => "bigint".to_string(),
            Ok(T::napi_string) => {
                let s = env.get_string(v).unwrap_or_default();
                if i == 1 && !label.target.is_empty() {
                    label.method = s.chars().take(60).collect();
                }
                format!("str({})", s.chars().count())
            }
            Ok(T::napi_function) => "function".to_string(),
            Ok(T::napi_object) => {
                if env.has_type_tag(v, &protocol::HANDLE_TAG).unwrap_or(false) {
                    let t = env.get_named(v, "pytype").and_then(|p| env.get_string(p)).unwrap_or_default();
                    if i == 0 {
                        label.target = t.clone();
                    }
                    format!("handle({t})")
                } else if env.is_array(v).unwrap_or(false) {
                    format!("array({})", env.array_len(v).unwrap_or(0))
                } else {
                    "object".to_string()
                }
            }
            _ => "other".to_string(),
        };
        kinds.push(kind);
    }
    label.args = kinds.join(", ");
    label
}

/// Run `f`, turning a panic or an error into a thrown JS value (returns NULL then).
#[inline]
pub fn trampoline(env: Env, name: &str, f: impl FnOnce() -> Result<Value>) -> Value {
    traced(env, name, Label::default, f)
}

/// `trampoline`, with what the call is (`describe`, read only while calls are traced: see
/// `sys::trace`) for its debug line and diagnostics_channel events.
pub fn traced(env: Env, name: &str, describe: impl FnOnce() -> Label, f: impl FnOnce() -> Result<Value>) -> Value {
    if !trace::tracing() {
        return match catch_unwind(AssertUnwindSafe(f))
            .unwrap_or_else(|payload| Err(Error::Panic(panic_message(&payload))))
        {
            Ok(v) => v,
            Err(e) => fail(env, e),
        };
    }
    let t = trace::begin(name, describe());
    publish(env, "start", &t, u64::MAX, &[], None);
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(Error::Panic(panic_message(&payload))));
    let scheduled = trace::end();
    let context = trace::last_context();
    let ms = t.started.elapsed().as_secs_f64() * 1e3;
    if trace::debug() {
        let outcome = match (&result, scheduled) {
            (Ok(_), true) => "scheduled".to_string(),
            (Ok(_), false) => "ok".to_string(),
            (Err(e), _) => format!("error: {e}"),
        };
        eprintln!("{}", trace::line(&t, context, &format!("{ms:.3} ms"), &outcome));
    }
    match result {
        Ok(v) => {
            // An async call's end is its delivery (`end_async`).
            if !scheduled {
                publish(env, "end", &t, context, &[("durationMs", ms)], None);
            }
            v
        }
        Err(e) => {
            let thrown = fail(env, e);
            // Taken while the subscribers run (no JS runs with an exception pending), then
            // thrown again.
            let error = env.take_exception();
            publish(env, "error", &t, context, &[("durationMs", ms)], error);
            if let Some(v) = error {
                let _ = env.throw(v);
            }
            thrown
        }
    }
}

/// The end of an async call traced when it was scheduled: its debug line (time queued, time
/// Python ran) and its `end` or `error` event, on the JS thread at its delivery.
pub fn end_async(env: Env, t: &Traced, context: u64, queued_ms: f64, ran_ms: f64, error: Option<Value>) {
    if trace::debug() {
        let outcome = if error.is_some() { "error" } else { "ok" };
        let timing = format!("async: queued {queued_ms:.3} ms, Python ran {ran_ms:.3} ms");
        eprintln!("{}", trace::line(t, context, &timing, outcome));
    }
    let total = t.started.elapsed().as_secs_f64() * 1e3;
    let phase = if error.is_some() { "error" } else { "end" };
    publish(env, phase, t, context, &[("durationMs", total), ("queuedMs", queued_ms), ("ranMs", ran_ms)], error);
}

/// Call this env's diagnostics_channel publisher (if it has one) with `phase` and the event:
/// `{ id, fn, target, method, args, thread, context, async, ...numbers, error }`.
fn publish(env: Env, phase: &str, t: &Traced, context: u64, numbers: &[(&str, f64)], error: Option<Value>) {
    let Ok(data) = instance::get(env) else { return };
    let Some(publisher) = data.trace.get() else { return };
    let _scope = env.scope();
    let event = (|| -> Result<Value> {
        let o = env.object()?;
        env.set_named(o, "id", env.double(t.id as f64)?)?;
        env.set_named(o, "fn", env.string(&t.name)?)?;
        env.set_named(o, "target", env.string(&t.label.target)?)?;
        env.set_named(o, "method", env.string(&t.label.method)?)?;
        env.set_named(o, "args", env.string(&t.label.args)?)?;
        env.set_named(o, "thread", env.string(&trace::thread_text())?)?;
        let ctx = trace::context_text(context);
        env.set_named(o, "context", if ctx.is_empty() { env.null()? } else { env.string(&ctx)? })?;
        env.set_named(o, "async", env.boolean(t.scheduled)?)?;
        for (k, v) in numbers {
            env.set_named(o, k, env.double(*v)?)?;
        }
        if let Some(e) = error {
            env.set_named(o, "error", e)?;
        }
        Ok(o)
    })();
    if let (Ok(event), Ok(Some(f)), Ok(phase), Ok(this)) =
        (event, env.ref_value(publisher), env.string(phase), env.undefined())
    {
        // A subscriber that throws is Node's to report (diagnostics_channel does); nothing of
        // it reaches the call.
        let _ = env.call(this, f, &[phase, event]);
        let _ = env.take_exception();
    }
}

pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

fn fail(env: Env, e: Error) -> Value {
    if let Ok(v) = to_js_error(env, e) {
        let _ = env.throw(v);
    }
    std::ptr::null_mut()
}

/// The JS value an error throws as (or `Err(JsPending)` when one is already pending).
pub fn to_js_error(env: Env, e: Error) -> Result<Value> {
    match e {
        Error::JsPending => {
            // Leave the pending exception where it is; the caller must not throw again.
            Err(Error::JsPending)
        }
        Error::Type(m) | Error::Conversion(m) => env.type_error(&m),
        Error::Range(m) => env.range_error(&m),
        Error::Python(info) => (instance::get(env)?.hooks.python_error)(env, &info),
        other => env.error(&other.to_string()),
    }
}
