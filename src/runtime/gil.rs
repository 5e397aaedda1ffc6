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
use crate::sys::python::{api, PyThreadState};
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
}

thread_local! {
    static TLS: ThreadGil = const { ThreadGil { main: Cell::new((0, ptr::null_mut())), depth: Cell::new(0), current: Cell::new(0) } };
}

/// How many GIL guards this thread is inside (0: not holding any GIL through us).
pub fn depth() -> u32 {
    TLS.with(|t| t.depth.get())
}

/// The context current on this thread while inside a guard.
pub fn current_context() -> u64 {
    TLS.with(|t| t.current.get())
}

/// Takes the main interpreter's GIL with this thread's state (making the state the first time).
/// The thread must hold no GIL.
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
    let ts = unsafe { (api.PyThreadState_Get)() };
    TLS.with(|t| t.main.set((generation, ts)));
    ts
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

fn enter<R>(ctx: u64, tstate: Option<ThreadStatePtr>, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    let (d, prev) = TLS.with(|t| (t.depth.get(), t.current.get()));
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
    struct Reacquire(ThreadStatePtr, u32);
    impl Drop for Reacquire {
        fn drop(&mut self) {
            // SAFETY: restores the state saved above on the same thread.
            unsafe { (api().PyEval_RestoreThread)(self.0) };
            TLS.with(|t| t.depth.set(self.1));
        }
    }
    let _r = Reacquire(ts, d);
    f()
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
