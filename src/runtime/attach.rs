//! The one owner of thread states: which `PyThreadState` each OS thread uses for each
//! interpreter, how deep the thread is inside calls, and when states are made and given back.
//!
//! Every entry into Python goes through here: `enter` (sync calls, async jobs, finalizers'
//! queued releases: the caller holds a `Ticket` or an `Active`), and `from_python` (a call of ours
//! that CPython makes with the GIL already held: JS functions called from Python). A thread that
//! ends gives every state it made back with `thread_exit`.
//!
//! - **Main interpreter**: each thread keeps one state for the life of the interpreter, made once
//!   with `PyGILState_Ensure` (so `PyGILState_*` in extension modules finds it) and then swapped
//!   in and out with `PyEval_RestoreThread`/`PyEval_SaveThread`, the cheapest round trip CPython
//!   offers. It is tagged with the runtime generation, so a stale one is never restored after
//!   `_destroy_python` + `_init_python`.
//! - **Contexts**: a state per (context, thread), made with `PyThreadState_New` the first time
//!   (`PyGILState_*` is undefined with sub-interpreters) — always after the thread's main state:
//!   on 3.8–3.11 the first state made on a thread is the one PyGILState hands out, and a worker
//!   whose first state was a context's ran every later main-context call in that context.
//! - **Nesting** (JS → Python → JS → Python) is counted: entering the interpreter that is current
//!   costs nothing; entering another parks the current state and restores it afterwards.
//! - **Threads that end**: the main state is released on the thread itself; the thread's context
//!   states are queued and deleted by the next thread that enters that context (or when the
//!   context ends), so a worker that ends never races a context being deleted, and the states of
//!   a context stay bounded by the threads alive, not the threads that ever used it.

use crate::error::{Error, Result};
use crate::runtime::lifecycle;
use crate::sys::python::Gil;
use crate::sys::python::{api, PyInterpreterState, PyThreadState};
use std::cell::Cell;
use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;

pub type ThreadStatePtr = *mut PyThreadState;

/// How this thread's main-interpreter state was made, which decides how it is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MainKind {
    /// By `PyGILState_Ensure`: given back with `PyGILState_Release`.
    Ensured,
    /// By `PyThreadState_New` (PyGILState handed out a sub-interpreter's state): given back with
    /// `PyThreadState_Clear` + `PyThreadState_Delete` — `PyGILState_Release` on such a state is a
    /// `Py_FatalError` on 3.8–3.11.
    Own,
}

/// This thread's bookkeeping, in one thread-local (each access to a thread-local of a shared
/// library costs a `__tls_get_addr` call; a call into Python touches these several times).
struct ThreadStates {
    /// (runtime generation, this thread's main-interpreter state, how it was made).
    main: Cell<(u64, ThreadStatePtr, MainKind)>,
    /// How many entries this thread is inside.
    depth: Cell<u32>,
    /// The context whose thread state is current while depth > 0 (0: main).
    current: Cell<u64>,
    /// The conversion that switched the cyclic GC off on this thread (0: none); see `pause_gc`.
    gc_pause: Cell<u64>,
}

thread_local! {
    static TLS: ThreadStates = const {
        ThreadStates {
            main: Cell::new((0, ptr::null_mut(), MainKind::Ensured)),
            depth: Cell::new(0),
            current: Cell::new(0),
            gc_pause: Cell::new(0),
        }
    };
}

/// The states of contexts: the live one of each (context, thread), and those of threads that
/// ended, waiting to be deleted under their context's GIL.
struct ContextStates {
    live: HashMap<(u64, ThreadId), usize>,
    ended: HashMap<u64, Vec<usize>>,
}

static CONTEXT_STATES: Mutex<Option<ContextStates>> = Mutex::new(None);
/// How many states wait in `ended` (the hot path checks this before taking the lock).
static ENDED: AtomicUsize = AtomicUsize::new(0);

fn context_states<R>(f: impl FnOnce(&mut ContextStates) -> R) -> R {
    let mut g = CONTEXT_STATES.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(|| ContextStates { live: HashMap::new(), ended: HashMap::new() }))
}

/// How many entries this thread is inside (0: not holding any GIL through us).
pub fn depth() -> u32 {
    TLS.with(|t| t.depth.get())
}

/// The context current on this thread while inside an entry.
pub fn current_context() -> u64 {
    TLS.with(|t| t.current.get())
}

/// How many context thread states exist now (live ones and those waiting to be deleted).
pub fn context_state_count() -> usize {
    context_states(|s| s.live.len() + s.ended.values().map(Vec::len).sum::<usize>())
}

/// The interpreter of a thread state: `PyThreadState_GetInterpreter` (3.9+), else the third
/// field of the struct (`prev`, `next`, `interp` — the same order in every supported version).
///
/// # Safety
/// `ts` is a live thread state of the running interpreter.
pub unsafe fn interpreter_of(ts: ThreadStatePtr) -> *mut PyInterpreterState {
    if let Some(get) = api().PyThreadState_GetInterpreter {
        // SAFETY: a live thread state.
        return unsafe { get(ts) };
    }
    // SAFETY: 3.8's PyThreadState starts with prev, next, interp.
    unsafe { *(ts as *const *mut PyInterpreterState).add(2) }
}

/// Takes the main interpreter's GIL with this thread's state (making the state the first time).
/// The thread must hold no GIL.
///
/// The state is made with `PyGILState_Ensure`, so the state PyGILState binds to this thread (the
/// one C extensions' own `PyGILState_Ensure` finds) is the main one. That holds because every
/// thread makes its main state before any context's (`context_state`). The interpreter check
/// below keeps a sub-interpreter's state from ever being used as the main one silently.
fn acquire_main() -> ThreadStatePtr {
    let api = api();
    let generation = lifecycle::generation();
    let (gen, ts, _) = TLS.with(|t| t.main.get());
    if gen == generation && !ts.is_null() {
        // SAFETY: `ts` is this thread's state of the running interpreter (same generation) and
        // the thread holds no GIL.
        unsafe { (api.PyEval_RestoreThread)(ts) };
        return ts;
    }
    // SAFETY: the interpreter is running (callers hold `Active`); Ensure makes this thread's
    // state and takes the GIL. The matching Release only happens in `thread_exit`.
    unsafe { (api.PyGILState_Ensure)() };
    // SAFETY: the GIL is held now.
    let mut ts = unsafe { (api.PyThreadState_Get)() };
    let mut kind = MainKind::Ensured;
    // SAFETY: no arguments; the runtime is initialised.
    let main = unsafe { (api.PyInterpreterState_Main)() };
    // SAFETY: `ts` is current on this thread (just made or found by Ensure).
    if unsafe { interpreter_of(ts) } != main || own_main_for_tests() {
        // PyGILState handed out a sub-interpreter's state: never run main-context code in it.
        // Give it back untouched and use a state of the main interpreter of our own.
        // SAFETY: Ensure made `ts` current above; SaveThread releases its GIL; the new state is
        // made for the live main interpreter and restored on this thread, which holds no GIL.
        unsafe {
            (api.PyEval_SaveThread)();
            ts = (api.PyThreadState_New)(main);
            (api.PyEval_RestoreThread)(ts);
        }
        kind = MainKind::Own;
    }
    TLS.with(|t| t.main.set((generation, ts, kind)));
    ts
}

/// `PYTHON_TS_TEST_OWN_MAIN_STATE=1`: every thread takes the path above, so tests reach the
/// release of a state of our own (it was a `Py_FatalError` on 3.8–3.11).
fn own_main_for_tests() -> bool {
    static ON: once_cell::sync::Lazy<bool> =
        once_cell::sync::Lazy::new(|| std::env::var("PYTHON_TS_TEST_OWN_MAIN_STATE").is_ok_and(|v| v == "1"));
    *ON
}

/// Make this thread's main-interpreter state if it has none yet, without keeping the GIL.
fn ensure_main_state() -> Result<()> {
    let (gen, ts, _) = TLS.with(|t| t.main.get());
    if gen == lifecycle::generation() && !ts.is_null() {
        return Ok(());
    }
    if depth() > 0 {
        // Inside another interpreter's call with no main state: cannot take the main GIL here
        // without risking a deadlock on a shared GIL.
        return Err(Error::Runtime(
            "python-ts: this thread has no main-interpreter state and is inside a call; enter the context from outside"
                .into(),
        ));
    }
    main_thread_state();
    Ok(())
}

/// This thread's main-interpreter state, made if needed (the thread must hold no GIL). Used by
/// `context` to get back to the main interpreter after creating or ending a sub-interpreter.
pub fn main_thread_state() -> ThreadStatePtr {
    let ts = acquire_main();
    // SAFETY: acquired just above on this thread.
    unsafe { (api().PyEval_SaveThread)() };
    ts
}

/// This thread's state for context `ctx` of interpreter `interp`, made the first time (after the
/// thread's main state).
///
/// # Safety
/// `ctx` is a live context (the caller holds a flight on it) whose interpreter is `interp`.
unsafe fn context_state(ctx: u64, interp: *mut PyInterpreterState) -> Result<ThreadStatePtr> {
    let me = std::thread::current().id();
    if let Some(ts) = context_states(|s| s.live.get(&(ctx, me)).copied()) {
        return Ok(ts as ThreadStatePtr);
    }
    // The main state first, before our lock is taken (it takes the main GIL briefly).
    ensure_main_state()?;
    // SAFETY: the interpreter is alive (the context is in flight); PyThreadState_New needs no GIL.
    let ts = unsafe { (api().PyThreadState_New)(interp) };
    if ts.is_null() {
        return Err(Error::Runtime("python-ts: cannot create a thread state for the context".into()));
    }
    context_states(|s| s.live.insert((ctx, me), ts as usize));
    Ok(ts)
}

/// A new context's first state (made with the interpreter, on this thread).
pub fn register_context(ctx: u64, creation_state: ThreadStatePtr) {
    let me = std::thread::current().id();
    context_states(|s| s.live.insert((ctx, me), creation_state as usize));
}

/// Every state of `ctx` (this thread's first, if it has one), taken out of the table: the
/// context is ending and the caller deletes them.
pub fn take_context(ctx: u64) -> (Option<ThreadStatePtr>, Vec<ThreadStatePtr>) {
    let me = std::thread::current().id();
    context_states(|s| {
        let mut mine = None;
        let mut others = Vec::new();
        s.live.retain(|&(c, t), ts| {
            if c != ctx {
                return true;
            }
            if t == me {
                mine = Some(*ts as ThreadStatePtr);
            } else {
                others.push(*ts as ThreadStatePtr);
            }
            false
        });
        if let Some(ended) = s.ended.remove(&ctx) {
            ENDED.fetch_sub(ended.len(), Ordering::AcqRel);
            others.extend(ended.into_iter().map(|ts| ts as ThreadStatePtr));
        }
        (mine, others)
    })
}

/// Delete the states of threads that ended, of the context whose GIL this thread holds.
fn reap_ended(ctx: u64) {
    if ENDED.load(Ordering::Acquire) == 0 {
        return;
    }
    let ended = context_states(|s| s.ended.remove(&ctx)).unwrap_or_default();
    ENDED.fetch_sub(ended.len(), Ordering::AcqRel);
    for ts in ended {
        // SAFETY: the GIL of the state's interpreter is held; its thread ended, so it is not
        // current anywhere; it was taken out of the table, so it is deleted once.
        unsafe {
            (api().PyThreadState_Clear)(ts as ThreadStatePtr);
            (api().PyThreadState_Delete)(ts as ThreadStatePtr);
        }
    }
}

/// The thread is ending (library workers): give back every state it made. Call with an `Active`
/// guard held and no entry open.
pub fn thread_exit() {
    if depth() > 0 {
        return;
    }
    let me = std::thread::current().id();
    context_states(|s| {
        let mine: Vec<(u64, usize)> =
            s.live.iter().filter(|((_, t), _)| *t == me).map(|((c, _), ts)| (*c, *ts)).collect();
        for (c, ts) in mine {
            s.live.remove(&(c, me));
            s.ended.entry(c).or_default().push(ts);
            ENDED.fetch_add(1, Ordering::AcqRel);
        }
    });
    let (gen, ts, kind) = TLS.with(|t| t.main.get());
    if gen != lifecycle::generation() || ts.is_null() {
        return;
    }
    let api = api();
    // SAFETY: `ts` is this thread's live state (same generation) and the thread holds no GIL.
    unsafe { (api.PyEval_RestoreThread)(ts) };
    match kind {
        // SAFETY: Release with UNLOCKED (1) matches the first `PyGILState_Ensure`, so CPython
        // clears and deletes the state and drops the GIL.
        MainKind::Ensured => unsafe { (api.PyGILState_Release)(1) },
        // SAFETY: a state of our own, current with its GIL held: cleared, made not current (the
        // GIL released), then deleted, which needs no GIL.
        MainKind::Own => unsafe {
            (api.PyThreadState_Clear)(ts);
            (api.PyEval_SaveThread)();
            (api.PyThreadState_Delete)(ts);
        },
    }
    TLS.with(|t| t.main.set((0, ptr::null_mut(), MainKind::Ensured)));
}

/// Runs `f` with the GIL of the main interpreter (`ctx` 0, `interp` null) or of context `ctx`
/// (interpreter `interp`) held by this thread, and gives back references queued for release in
/// that interpreter first.
///
/// # Safety
/// The runtime is running and stays so (the caller holds `Active`); for a context, the context
/// is alive and cannot end meanwhile (the caller holds a flight on it) and `interp` is its
/// interpreter.
pub unsafe fn enter<R>(
    ctx: u64,
    interp: *mut PyInterpreterState,
    generation: u64,
    f: impl for<'py> FnOnce(Gil<'py>) -> R,
) -> Result<R> {
    let (d, prev) = TLS.with(|t| (t.depth.get(), t.current.get()));
    if d > 0 {
        end_gc_pause();
    }
    if d > 0 && prev == ctx {
        // Already inside this interpreter on this thread: the GIL is ours.
        TLS.with(|t| t.depth.set(d + 1));
        let _restore = Restore { depth: d, ctx: prev, saved: None, leave: false };
        // SAFETY: depth > 0 with the same context current means the GIL is held.
        let gil = unsafe { Gil::assume() };
        drain(gil, generation, ctx);
        return Ok(f(gil));
    }
    let ts = if ctx == 0 {
        None
    } else {
        // SAFETY: forwarded from the caller.
        Some(unsafe { context_state(ctx, interp)? })
    };
    let api = api();
    // Entering another interpreter from inside a call: park the current state (releasing its
    // GIL) and bring it back afterwards.
    // SAFETY: depth > 0 means a state of ours is current on this thread.
    let saved = if d > 0 { Some(unsafe { (api.PyEval_SaveThread)() }) } else { None };
    match ts {
        // SAFETY: this thread's state for a live context.
        Some(ts) => unsafe { (api.PyEval_RestoreThread)(ts) },
        None => {
            acquire_main();
        }
    }
    TLS.with(|t| {
        t.current.set(ctx);
        t.depth.set(d + 1);
    });
    let _restore = Restore { depth: d, ctx: prev, saved, leave: true };
    // SAFETY: acquired above; released by `_restore` after `f`, even on panic.
    let gil = unsafe { Gil::assume() };
    if ctx != 0 {
        reap_ended(ctx);
    }
    drain(gil, generation, ctx);
    Ok(f(gil))
}

fn drain(gil: Gil<'_>, generation: u64, ctx: u64) {
    if crate::runtime::refs::has_pending() {
        crate::runtime::refs::drain(gil, generation, ctx);
    }
}

/// Runs `f` inside a call that CPython made into us with the GIL held (a JS function called
/// from Python), in context `ctx`: nested entries and `current_context()` then see the thread as
/// inside that interpreter, as for any other entry.
///
/// # Safety
/// Called by CPython's call of one of our functions, with the GIL of `ctx`'s interpreter held.
pub unsafe fn from_python<R>(ctx: u64, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    let (d, prev) = TLS.with(|t| (t.depth.get(), t.current.get()));
    TLS.with(|t| {
        t.depth.set(d + 1);
        t.current.set(ctx);
    });
    let _restore = Restore { depth: d, ctx: prev, saved: None, leave: false };
    // SAFETY: forwarded from the caller.
    f(unsafe { Gil::assume() })
}

struct Restore {
    depth: u32,
    ctx: u64,
    saved: Option<ThreadStatePtr>,
    leave: bool,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if self.leave {
            // SAFETY: the entry took this state's GIL on this thread.
            unsafe { (api().PyEval_SaveThread)() };
            if let Some(s) = self.saved {
                // SAFETY: the state parked on entry, on this same thread.
                unsafe { (api().PyEval_RestoreThread)(s) };
            }
        }
        TLS.with(|t| {
            t.current.set(self.ctx);
            t.depth.set(self.depth);
        });
    }
}

/// Runs `f` with the GIL released (blocking waits while inside a call). Must be called with the
/// GIL held through one of the entries above.
pub fn without_gil<R>(_gil: Gil<'_>, f: impl FnOnce() -> R) -> R {
    let d = depth();
    // SAFETY: the token proves the GIL is held; SaveThread releases it and returns our state.
    let ts = unsafe { (api().PyEval_SaveThread)() };
    TLS.with(|t| t.depth.set(0));
    struct Reacquire(ThreadStatePtr, u32, u64);
    impl Drop for Reacquire {
        fn drop(&mut self) {
            wait_until_safe_to_reenter(self.2);
            // SAFETY: restores the state saved above on the same thread.
            unsafe { (api().PyEval_RestoreThread)(self.0) };
            TLS.with(|t| t.depth.set(self.1));
        }
    }
    let _r = Reacquire(ts, d, lifecycle::generation());
    f()
}

/// Before a thread that waited without the GIL takes it back. While Python is being finalized,
/// taking the GIL ends the thread with `pthread_exit`, a forced unwind that aborts the process
/// when it reaches our frames ("FATAL: exception not rethrown", seen at exit with a Python thread
/// inside a JS callback); after finalization the thread state is gone. CPython would end such a
/// thread anyway (3.14 parks it too): park it, holding nothing, until the process exits. A
/// `_destroy_python()` that is refused only passes through `Finalizing`: wait it out.
fn wait_until_safe_to_reenter(generation: u64) {
    loop {
        let finalizing = lifecycle::is_finalizing();
        if lifecycle::python_is_finalizing()
            || (!finalizing && !lifecycle::is_running())
            || lifecycle::generation() != generation
        {
            loop {
                std::thread::park();
            }
        }
        if !finalizing {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Switch the cyclic GC of the current interpreter off for a conversion; returns its pause id,
/// or 0 when the GC was off already (then the conversion must leave it alone).
pub fn pause_gc(gil: Gil<'_>) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    if crate::sys::python::concrete::gc_disable(gil) != Some(true) {
        return 0;
    }
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    TLS.with(|t| t.gc_pause.set(id));
    id
}

/// End the pause `id` (the conversion is over): the GC goes back on only if the pause is still
/// in force — user code that ran meanwhile (a getter calling into Python) ended it already and
/// may have set the GC as it wants.
pub fn resume_gc(gil: Gil<'_>, id: u64) {
    if id == 0 || TLS.with(|t| t.gc_pause.get()) != id {
        return;
    }
    TLS.with(|t| t.gc_pause.set(0));
    crate::sys::python::concrete::gc_enable(gil);
}

/// User code is about to run inside a conversion (a nested call into Python): give it the GC
/// as the user left it, so `gc.disable()` there is not undone when the conversion ends.
fn end_gc_pause() {
    if TLS.with(|t| t.gc_pause.replace(0)) != 0 {
        // SAFETY: called with the paused interpreter's GIL held (depth > 0, before any switch).
        crate::sys::python::concrete::gc_enable(unsafe { Gil::assume() });
    }
}

/// Runs `f` with the main interpreter's GIL held by this thread. The caller keeps the runtime
/// running for the call (an `Active` guard, or the runtime lock while finalizing).
pub fn with_gil<R>(f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    // SAFETY: the main context never ends while the runtime runs (the caller's duty above); an
    // entry into the main interpreter cannot fail.
    match unsafe { enter(0, ptr::null_mut(), lifecycle::generation(), f) } {
        Ok(r) => r,
        Err(_) => unreachable!("entering the main interpreter cannot fail"),
    }
}
