//! Contexts: sub-interpreters with their own modules, `sys.path` and `__main__`. The main
//! interpreter is context 0.
//!
//! Each thread that enters a context uses its own `PyThreadState` for that interpreter, made once
//! per (context, thread) and given back by that thread (`attach`; no `PyGILState_*`, which is
//! undefined with sub-interpreters). A context made with `ownGil` has its own GIL (`Py_NewInterpreterFromConfig`
//! with `PyInterpreterConfig_OWN_GIL`), so CPU-bound work in two such contexts runs on two cores.
//!
//! Ending an interpreter aborts the process if another thread state of it exists or one of its
//! threads is alive, and `Py_FinalizeEx` aborts on 3.8–3.12 while a sub-interpreter lives (both
//! measured). So `delete` refuses while calls are in flight or Python threads run; the
//! interpreter ends once every thread state made for it is gone (`attach::end_context`);
//! `end_all` runs before finalization. Context ids are never reused, so a stale id only ever reads "deleted".

use crate::error::{Error, Result};
use crate::runtime::attach::{self, ThreadStatePtr};
use crate::runtime::{lifecycle, refs, support};
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{self, api, PyInterpreterConfig, PyThreadState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// CPython versions whose own-GIL interpreters passed the test list (create; import ssl,
/// decimal, json, hashlib; run; end; finalize). 3.12.1 double-frees after `import ssl` + end +
/// finalize (measured); 3.13.0 is clean.
pub const OWN_GIL_MIN: (u32, u32) = (3, 13);

pub struct Context {
    pub id: u64,
    pub own_gil: bool,
    pub generation: u64,
    /// The thread state the interpreter was made with (shown to JS as `state`): never entered
    /// again, deleted when the context ends.
    pub creation_state: usize,
    /// The thread that made it (`PyThread_get_thread_ident`).
    creator: u64,
    /// The interpreter (`PyInterpreterState*`).
    interp: usize,
    in_flight: AtomicUsize,
}

static CONTEXTS: Mutex<Vec<Arc<Context>>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn registry() -> std::sync::MutexGuard<'static, Vec<Arc<Context>>> {
    CONTEXTS.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn get(id: u64) -> Result<Arc<Context>> {
    let generation = lifecycle::generation();
    registry()
        .iter()
        .find(|c| c.id == id && c.generation == generation)
        .cloned()
        .ok_or_else(|| Error::Generic(format!("python-ts: context {id} was deleted (or its runtime was destroyed)")))
}

pub fn is_alive(id: u64) -> bool {
    id == 0 || get(id).is_ok()
}

/// Ids of the contexts alive now.
pub fn alive_ids() -> Vec<u64> {
    let generation = lifecycle::generation();
    registry().iter().filter(|c| c.generation == generation).map(|c| c.id).collect()
}

impl Context {
    /// Calls in flight in this context (sync and async).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// Keeps a context's in-flight count up while it lives (sync calls, queued async jobs).
pub struct Flight(Arc<Context>);

impl Drop for Flight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Count one call in flight in `id` (nothing for the main context). Counted under the registry
/// lock, where `delete` checks the count before it unregisters: a call either sees the context
/// gone or holds it up.
pub fn flight(id: u64) -> Result<Option<Flight>> {
    if id == 0 {
        return Ok(None);
    }
    Ok(Some(flight_of(id)?))
}

fn flight_of(id: u64) -> Result<Flight> {
    let generation = lifecycle::generation();
    let reg = registry();
    let c =
        reg.iter().find(|c| c.id == id && c.generation == generation).cloned().ok_or_else(|| {
            Error::Generic(format!("python-ts: context {id} was deleted (or its runtime was destroyed)"))
        })?;
    c.in_flight.fetch_add(1, Ordering::AcqRel);
    drop(reg);
    Ok(Flight(c))
}

/// Run `f` with the GIL of `context` held on this thread (the caller holds `Active`).
pub fn with_context_gil<R>(context: u64, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> Result<R> {
    crate::sys::trace::entered(context);
    if context == 0 {
        return Ok(attach::with_gil(f));
    }
    let flight = flight_of(context)?;
    let c = &flight.0;
    // SAFETY: the caller keeps the runtime up; the flight keeps the context from being deleted,
    // and `interp` is its interpreter.
    unsafe { attach::enter(context, c.interp as *mut _, c.generation, f) }
}

/// Create a context. `own_gil` needs CPython 3.13+ (`OWN_GIL_MIN`).
pub fn create(own_gil: bool) -> Result<Arc<Context>> {
    if attach::depth() > 0 {
        return Err(Error::Generic("python-ts: contexts cannot be created inside a call into Python".into()));
    }
    let api = api();
    let version = lifecycle::info().map(|i| i.version).unwrap_or((0, 0, 0));
    if own_gil && ((version.0, version.1) < OWN_GIL_MIN || api.Py_NewInterpreterFromConfig.is_none()) {
        return Err(Error::Runtime(format!(
            "python-ts: contexts with their own GIL need CPython {}.{} or newer (this runtime is {}.{}.{}; 3.12 was \
             measured to crash after ending such an interpreter); use a shared-GIL context (ownGil: false)",
            OWN_GIL_MIN.0, OWN_GIL_MIN.1, version.0, version.1, version.2
        )));
    }
    let main_ts = attach::main_thread_state();
    // SAFETY: this thread holds no GIL (depth 0); its main state is ours.
    unsafe { (api.PyEval_RestoreThread)(main_ts) };
    let mut new_ts: *mut PyThreadState = std::ptr::null_mut();
    let failure = if own_gil {
        let config = PyInterpreterConfig {
            use_main_obmalloc: 0,
            allow_fork: 0,
            allow_exec: 0,
            allow_threads: 1,
            allow_daemon_threads: 0,
            check_multi_interp_extensions: 1,
            gil: python::PY_INTERPRETER_CONFIG_OWN_GIL,
        };
        let from_config =
            api.Py_NewInterpreterFromConfig.ok_or_else(|| Error::Runtime("no Py_NewInterpreterFromConfig".into()))?;
        // SAFETY: main GIL held with a current state, as the function requires; on success the
        // new state is current and holds the new GIL (the main GIL is released).
        let status = unsafe { from_config(&mut new_ts, &config as *const _ as *const _) };
        if status._type != 0 || new_ts.is_null() {
            let msg = if status.err_msg.is_null() {
                "unknown error".to_string()
            } else {
                // SAFETY: a static C string from CPython.
                unsafe { std::ffi::CStr::from_ptr(status.err_msg) }.to_string_lossy().into_owned()
            };
            Some(msg)
        } else {
            None
        }
    } else {
        // SAFETY: main GIL held; on success the new state is current (same GIL).
        new_ts = unsafe { (api.Py_NewInterpreter)() };
        if new_ts.is_null() {
            Some("Py_NewInterpreter failed".to_string())
        } else {
            None
        }
    };
    if let Some(msg) = failure {
        // Back to the main state, then release whatever GIL is held.
        // SAFETY: on failure CPython leaves the caller's state current (3.8–3.11: the GIL held;
        // 3.12+: Swap re-acquires as needed).
        unsafe {
            (api.PyThreadState_Swap)(main_ts);
            (api.PyEval_SaveThread)();
        }
        return Err(Error::Runtime(format!("python-ts: cannot create a context: {msg}")));
    }
    // SAFETY: the new interpreter's state is current with its GIL held.
    let gil = unsafe { Gil::assume() };
    let boot = lifecycle::bootstrap_interpreter(gil);
    // SAFETY: the new interpreter's state, alive.
    let interp = unsafe { attach::interpreter_of(new_ts) } as usize;
    // SAFETY: releases the new interpreter's GIL; this thread holds none afterwards.
    unsafe { (api.PyEval_SaveThread)() };
    // The creating state stays (3.8–3.11 reuse an interpreter's first state when it has none
    // left, without resetting it: a fatal error) but is never entered again — entries make their
    // own (`attach`). Since 3.12 attaching it bound it as this thread's PyGILState state: attach
    // the main state once more, so this thread's binding never points at it when it is deleted.
    attach::main_thread_state();
    let id = NEXT_ID.fetch_add(1, Ordering::AcqRel);
    let ctx = Arc::new(Context {
        id,
        own_gil,
        generation: lifecycle::generation(),
        creation_state: new_ts as usize,
        creator: crate::sys::python::concrete::thread_ident(),
        interp,
        in_flight: AtomicUsize::new(0),
    });
    registry().push(ctx.clone());
    if let Err(e) = boot {
        let _ = delete(id);
        return Err(e);
    }
    Ok(ctx)
}

/// End a context. Refused (clear error) while calls are in flight or its Python threads run.
pub fn delete(id: u64) -> Result<bool> {
    delete_with(id, false)
}

fn delete_with(id: u64, force: bool) -> Result<bool> {
    if attach::depth() > 0 {
        return Err(Error::Generic("python-ts: a context cannot be deleted inside a call into Python".into()));
    }
    let c = get(id)?;
    if c.in_flight() > 0 {
        return Err(Error::Generic(format!(
            "python-ts: context {id} has {} call(s) in flight; delete it after they end",
            c.in_flight()
        )));
    }
    // Stop the context's asyncio loop thread, then look for threads of user code.
    let alive = with_context_gil(id, |gil| -> Result<Vec<String>> {
        let stop = support::attr(gil, "shutdown_loop")?;
        objects::call_with(gil, stop.borrow(), &[])?;
        let release = support::attr(gil, "release_dummy_thread")?;
        objects::call_with(gil, release.borrow(), &[])?;
        // (Kept again on the next use if the context then stays: threads still running.)
        support::forget_interpreter(gil, id);
        support::live_threads(gil, true)
    })??;
    if !alive.is_empty() {
        return Err(Error::Generic(format!(
            "python-ts: context {id} still has Python threads running ({}); delete it after they end",
            alive.join(", ")
        )));
    }
    // Unregister first: from here on no new call can enter it.
    {
        let mut reg = registry();
        if c.in_flight() > 0 {
            return Err(Error::Generic(format!(
                "python-ts: context {id} has calls in flight; delete it after they end"
            )));
        }
        reg.retain(|x| x.id != id);
    }
    end(&c, force);
    refs::forget_context(id);
    Ok(true)
}

/// End `c`'s interpreter (`attach::end_context`): now, or, while other threads still hold thread
/// states of it, when the last of them is given back by its thread.
fn end(c: &Context, force: bool) {
    // SAFETY: the creating state is never entered after `create`; the context is unregistered,
    // with no calls in flight and no threads alive.
    unsafe { attach::end_context(c.id, c.generation, c.creation_state as ThreadStatePtr, c.creator, force) };
}

/// End every sub-interpreter before finalization. Fails (and finalization is refused) when one
/// has calls in flight or threads running.
pub fn end_all() -> Result<()> {
    for id in alive_ids() {
        delete_with(id, true)?;
    }
    attach::end_waiting_contexts();
    Ok(())
}
