//! `_exec(code, ctx?, callback?)` and `_eval(code, ctx?, callback?)` in the context's
//! `__main__` namespace.

use super::{callback_arg, context_arg, string_arg, Ctx};
use crate::convert::ToJs;
use crate::env as instance;
use crate::env::boundary::Export;
use crate::error::{Error, Result};
use crate::runtime::refs::{Keep, Kept};
use crate::runtime::{context, executor, lifecycle, support};
use crate::sys::napi::{Args, Env, Value};
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};
use crate::sys::python::{PY_EVAL_INPUT, PY_FILE_INPUT};
use crate::sys::trace;

pub static EXPORTS: &[Export] = &[
    Export { name: "_exec", f: exec },
    Export { name: "_eval", f: eval },
    Export { name: "_set_max_threads", f: set_max_threads },
    Export { name: "_executor_stats", f: executor_stats },
    Export { name: "_cancel_job", f: cancel_job },
    Export { name: "_counters", f: counters },
    Export { name: "_set_trace", f: set_trace },
];

/// `_counters()`: what python-ts holds now, in one call — this thread's live handles, the
/// releases queued for the next call that holds the GIL, the library's worker threads (busy and
/// idle), async calls queued and in flight, live contexts.
fn counters(env: Env, _args: &Args) -> Result<Value> {
    let data = instance::get(env)?;
    let (threads, idle, queued) = executor::stats();
    let o = env.object()?;
    let n = |v: usize| env.double(v as f64);
    env.set_named(o, "handles", n(data.handles.borrow().len())?)?;
    env.set_named(o, "queuedReleases", n(crate::runtime::refs::pending_count())?)?;
    env.set_named(o, "threads", n(threads)?)?;
    env.set_named(o, "idleThreads", n(idle)?)?;
    env.set_named(o, "queuedCalls", n(queued)?)?;
    env.set_named(o, "callsInFlight", n(jobs::count())?)?;
    env.set_named(o, "contexts", n(context::alive_ids().len())?)?;
    Ok(o)
}

/// `_set_trace(publish | null)`: this env's publisher of traced calls (`publish(phase, event)`,
/// phase `start`, `end` or `error`), which js/internal/diagnostics.js sets while any of its
/// diagnostics_channel channels has subscribers. Returns whether one is set.
fn set_trace(env: Env, args: &Args) -> Result<Value> {
    let f = super::function_arg(env, args, 0, "_set_trace(publish)", "publish")?;
    let slot = &instance::get(env)?.trace;
    // The process-wide count follows whether this env's slot holds a publisher, on every path.
    if slot.get().is_some() {
        trace::set_publishing(false);
    }
    let replaced = super::replace_hook(env, slot, f);
    if slot.get().is_some() {
        trace::set_publishing(true);
    }
    replaced?;
    env.boolean(f.is_some())
}

/// `_executor_stats()` → `{ threads, idle, queued, max }` of the library's worker pool.
fn executor_stats(env: Env, _args: &Args) -> Result<Value> {
    let (threads, idle, queued) = executor::stats();
    let o = env.object()?;
    env.set_named(o, "threads", env.double(threads as f64)?)?;
    env.set_named(o, "idle", env.double(idle as f64)?)?;
    env.set_named(o, "queued", env.double(queued as f64)?)?;
    env.set_named(o, "max", env.double(executor::max_threads() as f64)?)?;
    Ok(o)
}

/// `_set_max_threads(n)` → the previous limit: how many library worker threads async calls may
/// use at once (default 64, or `PYTHON_TS_MAX_THREADS`).
fn set_max_threads(env: Env, args: &Args) -> Result<Value> {
    let previous = executor::max_threads();
    if let Some(v) = args.get(0) {
        if env.type_of(v)? != crate::sys::napi::ValueType::napi_number {
            return Err(Error::Type("python-ts: _set_max_threads(n): n must be a positive integer".into()));
        }
        let n = env.get_double(v)?;
        if !((1.0..=4096.0).contains(&n) && n.trunc() == n) {
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
pub fn schedule_call(env: Env, c: crate::clib::objects::CallArgs<'_>, callback: Value) -> Result<Value> {
    if let Some(scalars) = scalar_args(env, &c)? {
        return schedule_scalar_call(env, c, scalars, callback);
    }
    let ctx = c.ctx.id;
    // Kept: a job cancelled before it starts (or refused) still gives them back when dropped.
    let (callable, args, kwargs) = super::sync(env, ctx, |gil| {
        let p = crate::clib::objects::prepare_call(env, gil, &c)?;
        Ok((p.callable.keep(ctx), p.args.keep(ctx), p.kwargs.map(|k| k.keep(ctx))))
    })?;
    schedule(env, c.ctx, callback, move |gil| {
        // The job's Active guard keeps the runtime (and so the references' generation) up.
        let stale = || Error::Runtime("python-ts: the Python runtime ended".into());
        let f = callable.into_owned(gil).ok_or_else(stale)?;
        let a = args.into_owned(gil).ok_or_else(stale)?;
        let k = kwargs.map(|k| k.into_owned(gil).ok_or_else(stale)).transpose()?;
        objects::call(gil, f.borrow(), a.borrow(), k.as_ref().map(|k| k.borrow()))
    })
}

/// A JS scalar argument read without the GIL.
enum Scalar {
    None,
    Bool(bool),
    Number(f64),
    Str(String),
}

/// The arguments as scalars when every one is (the common async call): the JS thread then never
/// waits for the GIL, which busy workers hold. None when any argument needs the full converter.
fn scalar_args(env: Env, c: &crate::clib::objects::CallArgs) -> Result<Option<Vec<Scalar>>> {
    use crate::sys::napi::ValueType as T;
    if c.kwargs.is_some() {
        return Ok(None);
    }
    let mut out = Vec::new();
    let n = c.args.len();
    if n > 16 {
        return Ok(None);
    }
    for i in 0..n {
        let v = c.args.get(env, i)?;
        if let Some(d) = env.try_double(v) {
            out.push(Scalar::Number(d));
            continue;
        }
        match env.type_of(v)? {
            T::napi_undefined | T::napi_null => out.push(Scalar::None),
            T::napi_boolean => out.push(Scalar::Bool(env.get_bool(v)?)),
            T::napi_string => {
                let bytes = env.get_string_utf8_bytes(v)?;
                // A lone surrogate (U+FFFD from N-API) or a long string: the full path.
                if bytes.len() > 4096 || bytes.windows(3).any(|w| w == [0xEF, 0xBF, 0xBD]) {
                    return Ok(None);
                }
                out.push(Scalar::Str(String::from_utf8(bytes).map_err(|_| Error::Generic("bad UTF-8".into()))?));
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(out))
}

fn scalar_to_py<'py>(gil: Gil<'py>, s: &Scalar) -> Result<Owned<'py>> {
    match s {
        Scalar::None => Ok(objects::none(gil)),
        Scalar::Bool(b) => crate::convert::numbers::bool_to_py(gil, *b),
        Scalar::Number(d) => crate::convert::numbers::number_to_py(gil, *d),
        Scalar::Str(t) => objects::py_str(gil, t),
    }
}

/// The scalar fast path: the handle is pinned on the JS thread, the worker does the lookup,
/// the argument objects and the call.
fn schedule_scalar_call(
    env: Env,
    c: crate::clib::objects::CallArgs<'_>,
    scalars: Vec<Scalar>,
    callback: Value,
) -> Result<Value> {
    let pin = crate::convert::handles::pin(c.handle);
    let addr = pin.addr;
    let context_id = c.ctx.id;
    if c.handle.context != context_id {
        crate::convert::handles::unpin(Some(env), pin);
        return Err(Error::Generic(format!(
            "python-ts: this Python object belongs to another context, not the one of this call (context {context_id})"
        )));
    }
    let method = c.method;
    let mut pin = Some(pin);
    let r = schedule_with(
        env,
        c.ctx,
        callback,
        move |gil| {
            // SAFETY: the pinned handle data holds a reference to `addr` until the job is delivered.
            let target = unsafe { Borrowed::from_addr(gil, addr) }.to_owned();
            let callable = objects::method_of(gil, context_id, target, method.bytes())?;
            let items = scalars.iter().map(|s| scalar_to_py(gil, s)).collect::<Result<Vec<_>>>()?;
            let args = objects::tuple(gil, items)?;
            objects::call(gil, callable.borrow(), args.borrow(), None)
        },
        move |env| {
            if let Some(p) = pin.take() {
                crate::convert::handles::unpin(env, p);
            }
        },
    );
    r
}

/// Run `work` on a library worker thread in context `ctx`; an awaitable result is run to
/// completion on the context's asyncio loop; `callback(err, result)` is called on the JS thread
/// with the result converted there. Exactly one call of the callback per job.
pub fn schedule(
    env: Env,
    ctx: Ctx,
    callback: Value,
    work: impl for<'py> FnOnce(Gil<'py>) -> Result<Owned<'py>> + Send + 'static,
) -> Result<Value> {
    schedule_with(env, ctx, callback, work, |_| {})
}

/// `schedule` with `done`, run on the JS thread once the result is converted (or with None if
/// the env has ended), before the callback.
fn schedule_with(
    env: Env,
    ctx: Ctx,
    callback: Value,
    work: impl for<'py> FnOnce(Gil<'py>) -> Result<Owned<'py>> + Send + 'static,
    done: impl FnOnce(Option<Env>) + Send + 'static,
) -> Result<Value> {
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
    let context_id = ctx.id;
    let (job_id, job) = jobs::register(context_id);
    // A traced call ends at its delivery, with the time it was queued and the time Python ran.
    let traced = if trace::tracing() { trace::take_for_async().map(|t| (t, std::time::Instant::now())) } else { None };
    executor::submit(Box::new(move || {
        let picked = std::time::Instant::now();
        let result = context::with_context_gil(context_id, |gil| -> Result<Outcome> {
            if !job.start(gil) {
                return Err(Error::Generic("python-ts: the call was cancelled before it started".into()));
            }
            let r = (|| {
                let r = work(gil)?;
                Ok(Outcome::new(gil, await_if_awaitable(gil, r)?))
            })();
            // Still holding the GIL: a cancel from now on finds the job finished.
            job.finish();
            r
        })
        .and_then(|r| r);
        let timing = traced.map(|(t, queued)| {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            (t, ms(picked - queued), ms(picked.elapsed()))
        });
        jobs::forget(job_id);
        let shared2 = shared.clone();
        shared.post(Box::new(move |env| {
            let Some(env) = env else {
                // An object result is a Kept: dropped with `result`, its release is queued.
                drop(result);
                done(None);
                drop(flight);
                drop(active);
                return;
            };
            shared2.job_finished(env);
            let failed = if timing.is_some() { result.as_ref().err().map(|e| e.to_string()) } else { None };
            deliver(env, callback, state, context_id, result, move || {
                done(Some(env));
                drop(flight);
                drop(active);
            });
            if let Some((t, queued_ms, ran_ms)) = timing {
                let _scope = env.scope();
                let error = failed.and_then(|m| env.string(&m).ok());
                crate::env::boundary::end_async(env, &t, context_id, queued_ms, ran_ms, error);
            }
        }));
    }));
    env.double(job_id as f64)
}

/// Async jobs that may be cancelled (`_cancel_job(id)`, behind the `{ signal }` option of the
/// Python class): one not started yet is skipped; a running one gets `python_ts.CancelledError`
/// raised in its thread at its next bytecode (`PyThreadState_SetAsyncExc`); an awaitable it
/// waits for is cancelled on its asyncio loop by `run_awaitable`. The job's callback is still
/// called exactly once (with the CancelledError, or the result if it finished first).
mod jobs {
    use crate::sys::python::Gil;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
    use std::sync::{Arc, Mutex};

    const QUEUED: u8 = 0;
    const RUNNING: u8 = 1;
    const DONE: u8 = 2;
    const CANCELLED: u8 = 3;

    pub struct Job {
        pub context: u64,
        state: AtomicU8,
        /// The worker's Python thread id while running.
        thread: AtomicU64,
    }

    impl Job {
        /// On the worker, GIL held: false when the job was cancelled before it started.
        pub fn start(&self, _gil: Gil<'_>) -> bool {
            self.thread.store(crate::sys::python::concrete::thread_ident(), Ordering::Release);
            self.state.compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
        }

        /// On the worker, GIL still held.
        pub fn finish(&self) {
            self.state.store(DONE, Ordering::Release);
        }
    }

    static JOBS: Mutex<Option<HashMap<u64, Arc<Job>>>> = Mutex::new(None);
    static NEXT: AtomicU64 = AtomicU64::new(1);

    pub fn register(context: u64) -> (u64, Arc<Job>) {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let job = Arc::new(Job { context, state: AtomicU8::new(QUEUED), thread: AtomicU64::new(0) });
        JOBS.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(id, job.clone());
        (id, job)
    }

    /// Async calls scheduled and not yet finished in Python.
    pub fn count() -> usize {
        JOBS.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map_or(0, |m| m.len())
    }

    pub fn forget(id: u64) {
        if let Some(m) = JOBS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            m.remove(&id);
        }
    }

    pub fn get(id: u64) -> Option<Arc<Job>> {
        JOBS.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|m| m.get(&id).cloned())
    }

    /// Cancel a queued job at once (true); a running one is reported as running (false) for the
    /// caller to interrupt with the GIL held.
    pub fn cancel_queued(job: &Job) -> bool {
        job.state.compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// With the job's interpreter's GIL held: its thread if it is still running.
    pub fn running_thread(job: &Job) -> Option<u64> {
        (job.state.load(Ordering::Acquire) == RUNNING).then(|| job.thread.load(Ordering::Acquire))
    }
}

/// `_cancel_job(id)` → true if the job was cancelled or interrupted, false if it had finished.
fn cancel_job(env: Env, args: &Args) -> Result<Value> {
    let id = match args.get(0).and_then(|v| env.try_double(v)) {
        Some(n) if n >= 1.0 && n.trunc() == n => n as u64,
        _ => {
            return Err(Error::Type(
                "python-ts: _cancel_job(id): id must be a job id returned by a call with a callback".into(),
            ))
        }
    };
    let Some(job) = jobs::get(id) else { return env.boolean(false) };
    if jobs::cancel_queued(&job) {
        return env.boolean(true);
    }
    let Some(_active) = lifecycle::enter_if_running() else { return env.boolean(false) };
    let hit = context::with_context_gil(job.context, |gil| -> Result<bool> {
        let Some(thread) = jobs::running_thread(&job) else { return Ok(false) };
        let exc = support::attr(gil, "CancelledError")?;
        // The thread runs in this interpreter (state RUNNING is only left with its GIL held).
        let n = crate::sys::python::concrete::raise_in_thread(gil, thread, exc.borrow());
        Ok(n > 0)
    })??;
    env.boolean(hit)
}

/// Convert the result on the JS thread, let go of the job's hold on the runtime and context
/// (`release`: the callback may delete them), then call the callback.
fn deliver(
    env: Env,
    callback: usize,
    state: Option<usize>,
    context_id: u64,
    result: Result<Outcome>,
    release: impl FnOnce(),
) {
    // The callback is called and the job's holds released on every path (an early return here
    // once skipped both when no scope could be opened).
    let _scope = env.scope();
    let state_value = state.and_then(|s| env.ref_value(s as _).ok().flatten());
    let converted = result.and_then(|outcome| match outcome {
        Outcome::None => env.null(),
        Outcome::Bool(b) => env.boolean(b),
        Outcome::Number(n) => env.double(n),
        Outcome::Str(s) => env.string(&s),
        Outcome::Object(k) => context::with_context_gil(context_id, |gil| {
            // The job's Active guard is alive: the reference's generation is running.
            let obj = k.into_owned(gil).ok_or_else(|| Error::Runtime("python-ts: the Python runtime ended".into()))?;
            ToJs::new(env, gil, context_id, state_value).convert(obj.borrow())
        })?,
    });
    // Node's convention: callback(null, result) or callback(err).
    let args: Result<Vec<Value>> = match converted {
        Ok(v) => env.null().map(|n| vec![n, v]),
        Err(e) => error_value(env, e).map(|err| vec![err]),
    };
    release();
    if let (Ok(args), Ok(Some(f)), Ok(this)) = (args, env.ref_value(callback as _), env.undefined()) {
        // A throw from the user's callback stays pending; the outbox reports it as an uncaught
        // exception, as Node does for any callback.
        let _ = env.call(this, f, &args);
    }
    let _ = env.delete_ref(callback as _);
    if let Some(s) = state {
        let _ = env.delete_ref(s as _);
    }
}

/// A job's result, read on the worker while it holds the GIL: scalars travel as Rust values so
/// the JS thread can deliver them without taking the GIL (it would wait for busy workers);
/// anything else is converted on the JS thread.
enum Outcome {
    None,
    Bool(bool),
    Number(f64),
    Str(String),
    Object(Kept),
}

/// Strings up to this many bytes are copied out on the worker.
const SMALL_STR: usize = 4096;

impl Outcome {
    fn new(gil: Gil<'_>, obj: Owned<'_>) -> Outcome {
        use crate::sys::python::{concrete as pc, Kind};
        let o = obj.borrow();
        match o.kind() {
            Kind::None => return Outcome::None,
            Kind::Bool(b) => return Outcome::Bool(b),
            Kind::Float => return Outcome::Number(pc::float_value(gil, o)),
            Kind::Int => {
                if let Some(n) =
                    pc::int_to_i64(gil, o).filter(|n| n.unsigned_abs() <= crate::convert::numbers::MAX_SAFE as u64)
                {
                    return Outcome::Number(n as f64);
                }
            }
            Kind::Str => {
                // None: lone surrogates (the full conversion on the JS thread keeps them).
                if let Some(bytes) = pc::str_utf8(gil, o).filter(|b| b.len() <= SMALL_STR) {
                    return Outcome::Str(String::from_utf8_lossy(bytes).into_owned());
                }
            }
            _ => {}
        }
        Outcome::Object(obj.keep(crate::runtime::attach::current_context()))
    }
}

/// The JS value of an error for a callback's first argument.
fn error_value(env: Env, e: Error) -> Result<Value> {
    match crate::env::boundary::to_js_error(env, e) {
        Ok(v) => Ok(v),
        Err(Error::JsPending) => env.take_exception().ok_or(Error::JsPending),
        Err(e) => Err(e),
    }
}

/// If `r` is awaitable (an `async def` called), run it on the context's asyncio loop and return
/// its result. Called on a worker thread, which waits with the GIL released.
fn await_if_awaitable<'py>(gil: Gil<'py>, r: Owned<'py>) -> Result<Owned<'py>> {
    let awaitable = crate::sys::python::concrete::has_attr(r.borrow(), c"__await__");
    if !awaitable || r.borrow().is_type() {
        return Ok(r);
    }
    let run = support::attr(gil, "run_awaitable")?;
    objects::call_with(gil, run.borrow(), &[r.borrow()])
}
