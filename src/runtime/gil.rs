//! GIL guards and the `Gil<'py>` token that proves the GIL is held.
//!
//! Each OS thread that calls into the main interpreter keeps one thread state for the life of
//! the interpreter: it is made once with `PyGILState_Ensure` (so `PyGILState_*` in extension
//! modules finds it, with a counter that never drops to zero underneath us) and then only
//! swapped in and out with `PyEval_RestoreThread` / `PyEval_SaveThread`, the cheapest GIL round
//! trip CPython offers. The cached state is tagged with the runtime generation, so after
//! `_destroy_python` + `_init_python` a stale state is never restored.
//!
//! Sub-interpreters (contexts) use thread states made by `context` per (context, thread); the
//! guard here only swaps them in. Nesting on one thread (JS → Python → JS callback → Python) is
//! counted: re-entering the interpreter that is already current costs nothing; entering a
//! different one saves the current state (releasing its GIL) and restores it afterwards, which
//! is correct whether the two share a GIL or each has its own.

use crate::runtime::lifecycle;
use crate::sys::python::{api, PyInterpreterState, PyThreadState};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;

/// Proof that the current thread holds the GIL for `'py`. Not `Send`: the GIL is per thread.
#[derive(Clone, Copy)]
pub struct Gil<'py>(PhantomData<(&'py (), *const ())>);

impl Gil<'_> {
    /// # Safety
    /// The caller must hold the GIL for the whole lifetime of the token.
    pub unsafe fn assume() -> Self {
        Gil(PhantomData)
    }
}

pub type ThreadStatePtr = *mut PyThreadState;

/// This thread's GIL bookkeeping, in one thread-local (each access to a thread-local of a
/// shared library costs a `__tls_get_addr` call; a call into Python touches these several times).
struct ThreadGil {
    /// (runtime generation, this thread's main-interpreter state).
    main: Cell<(u64, ThreadStatePtr)>,
    /// How many guards this thread is inside.
    depth: Cell<u32>,
    /// The context whose thread state is current while depth > 0 (0: main).
    current: Cell<u64>,
    /// The conversion that switched the cyclic GC off on this thread (0: none); see `pause_gc`.
    gc_pause: Cell<u64>,
}

thread_local! {
    static TLS: ThreadGil = const { ThreadGil { main: Cell::new((0, ptr::null_mut())), depth: Cell::new(0), current: Cell::new(0), gc_pause: Cell::new(0) } };
}

/// How many GIL guards this thread is inside (0: not holding any GIL through us).
pub fn depth() -> u32 {
    TLS.with(|t| t.depth.get())
}

/// The context current on this thread while inside a guard.
pub fn current_context() -> u64 {
    TLS.with(|t| t.current.get())
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
/// one C extensions' own `PyGILState_Ensure` finds) is the main one. That holds only because
/// every thread makes its main state before any context's (`ensure_main_state`, called by
/// `context` before `PyThreadState_New`): on 3.8–3.11 the first state made on a thread is the one
/// PyGILState returns. A worker whose first job ran in a context used to get the context's state
/// here and run every later main-context call in that sub-interpreter. The interpreter check
/// below keeps that from ever happening silently again.
fn acquire_main() -> ThreadStatePtr {
    let api = api();
    let generation = lifecycle::generation();
    let (gen, ts) = TLS.with(|t| t.main.get());
    if gen == generation && !ts.is_null() {
        // SAFETY: `ts` is this thread's state of the running interpreter (same generation) and
        // the thread holds no GIL.
        unsafe { (api.PyEval_RestoreThread)(ts) };
        return ts;
    }
    // SAFETY: the interpreter is running (callers hold `Active`); Ensure makes this thread's
    // state and takes the GIL. The matching Release only happens in `forget_thread_state`.
    unsafe { (api.PyGILState_Ensure)() };
    // SAFETY: the GIL is held now.
    let mut ts = unsafe { (api.PyThreadState_Get)() };
    // SAFETY: no arguments; the runtime is initialised.
    let main = unsafe { (api.PyInterpreterState_Main)() };
    // SAFETY: `ts` is current on this thread (just made or found by Ensure).
    if unsafe { interpreter_of(ts) } != main {
        // PyGILState handed out a sub-interpreter's state: never run main-context code in it.
        // Give it back untouched and use a state of the main interpreter of our own.
        // SAFETY: Ensure made `ts` current above; SaveThread releases its GIL; the new state is
        // made for the live main interpreter and restored on this thread, which holds no GIL.
        unsafe {
            (api.PyEval_SaveThread)();
            ts = (api.PyThreadState_New)(main);
            (api.PyEval_RestoreThread)(ts);
        }
    }
    TLS.with(|t| t.main.set((generation, ts)));
    ts
}

/// Make this thread's main-interpreter state if it has none yet, without keeping the GIL. Called
/// before a context's state is made on a thread (see `acquire_main` for why the order matters).
pub fn ensure_main_state() -> crate::error::Result<()> {
    let (gen, ts) = TLS.with(|t| t.main.get());
    if gen == lifecycle::generation() && !ts.is_null() {
        return Ok(());
    }
    if depth() > 0 {
        // Inside another interpreter's call with no main state: cannot take the main GIL here
        // without risking a deadlock on a shared GIL.
        return Err(crate::error::Error::Runtime(
            "python-ts: this thread has no main-interpreter state and is inside a call; enter the context from outside"
                .into(),
        ));
    }
    main_thread_state();
    Ok(())
}

/// Runs `f` with the GIL of the main interpreter held by this thread.
///
/// The runtime must be running and the caller must hold a `lifecycle::Active` guard, so the
/// interpreter cannot be finalized underneath.
#[inline]
pub fn with_gil<R>(f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    enter(0, None, f)
}

/// Runs `f` with the GIL of context `ctx` held through `tstate` (this thread's state for that
/// context).
///
/// # Safety
/// `tstate` must belong to the calling thread and to the live interpreter of `ctx`.
pub unsafe fn with_tstate<R>(ctx: u64, tstate: ThreadStatePtr, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    enter(ctx, Some(tstate), f)
}

/// Switch the cyclic GC of the current interpreter off for a conversion; returns its pause id,
/// or 0 when the GC was off already (then the conversion must leave it alone).
pub fn pause_gc(_gil: Gil<'_>) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let Some(disable) = api().PyGC_Disable else { return 0 };
    // SAFETY: the token proves the GIL is held.
    if unsafe { disable() } != 1 {
        return 0;
    }
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    TLS.with(|t| t.gc_pause.set(id));
    id
}

/// End the pause `id` (the conversion is over): the GC goes back on only if the pause is still
/// in force — user code that ran meanwhile (a getter calling into Python) ended it already and
/// may have set the GC as it wants.
pub fn resume_gc(_gil: Gil<'_>, id: u64) {
    if id == 0 || TLS.with(|t| t.gc_pause.get()) != id {
        return;
    }
    TLS.with(|t| t.gc_pause.set(0));
    if let Some(enable) = api().PyGC_Enable {
        // SAFETY: the token proves the GIL is held.
        unsafe { enable() };
    }
}

/// User code is about to run inside a conversion (a nested call into Python): give it the GC
/// as the user left it, so `gc.disable()` there is not undone when the conversion ends.
fn end_gc_pause() {
    if TLS.with(|t| t.gc_pause.replace(0)) != 0 {
        if let Some(enable) = api().PyGC_Enable {
            // SAFETY: called with the paused interpreter's GIL held (depth > 0, before any switch).
            unsafe { enable() };
        }
    }
}

fn enter<R>(ctx: u64, tstate: Option<ThreadStatePtr>, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    let (d, prev) = TLS.with(|t| (t.depth.get(), t.current.get()));
    if d > 0 {
        end_gc_pause();
    }
    if d > 0 && prev == ctx {
        // Already inside this interpreter on this thread: the GIL is ours.
        TLS.with(|t| t.depth.set(d + 1));
        let _restore = Restore { depth: d, ctx: prev, saved: None, leave: false };
        // SAFETY: depth > 0 with the same context current means the GIL is held.
        return f(unsafe { Gil::assume() });
    }
    let api = api();
    // Entering another interpreter from inside a call: park the current state (releasing its
    // GIL) and bring it back afterwards.
    // SAFETY: depth > 0 means a state of ours is current on this thread.
    let saved = if d > 0 { Some(unsafe { (api.PyEval_SaveThread)() }) } else { None };
    match tstate {
        // SAFETY: the caller guarantees the state is this thread's, for a live interpreter.
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
            // SAFETY: the guard took this state's GIL on this thread.
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
/// GIL held through one of the guards above.
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

/// This thread's main-interpreter state, made if needed (the thread must hold no GIL). Used by
/// `context` to get back to the main interpreter after creating or ending a sub-interpreter.
pub fn main_thread_state() -> ThreadStatePtr {
    let ts = acquire_main();
    // SAFETY: acquired just above on this thread.
    unsafe { (api().PyEval_SaveThread)() };
    ts
}

/// Give this thread's main-interpreter state back before the thread ends (worker threads), so
/// threads that come and go don't leak thread states. Call with an `Active` guard held.
pub fn forget_thread_state() {
    if depth() > 0 {
        return;
    }
    let (gen, ts) = TLS.with(|t| t.main.get());
    if gen != lifecycle::generation() || ts.is_null() {
        return;
    }
    let api = api();
    // SAFETY: `ts` is this thread's live state (same generation); Release with UNLOCKED (1)
    // matches the first `PyGILState_Ensure`, so CPython clears and deletes the state and drops
    // the GIL.
    unsafe {
        (api.PyEval_RestoreThread)(ts);
        (api.PyGILState_Release)(1);
    }
    TLS.with(|t| t.main.set((0, ptr::null_mut())));
}
