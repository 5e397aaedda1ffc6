//! GIL guards and the `Gil<'py>` token that proves the GIL is held.
//!
//! Each OS thread that calls into the main interpreter keeps one thread state for the life of
//! the interpreter: it is made once with `PyGILState_Ensure` (so `PyGILState_*` in extension
//! modules finds it) and then only swapped in and out with `PyEval_RestoreThread` /
//! `PyEval_SaveThread`, which is the cheapest GIL round trip CPython offers. The cached state is
//! tagged with the interpreter's generation, so after `_destroy_python` + `_init_python` a stale
//! state is never restored.
//!
//! Nesting (JS → Python → JS callback → Python on one thread) is counted: only the outermost
//! guard takes and releases the GIL.

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

/// A thread state the current thread swaps in: the main interpreter's (made here) or a
/// sub-interpreter's (made by `context`).
pub type ThreadStatePtr = *mut PyThreadState;

thread_local! {
    static MAIN_TSTATE: Cell<(u64, ThreadStatePtr)> = const { Cell::new((0, ptr::null_mut())) };
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// How many GIL guards this thread is inside (0: not holding the GIL through us).
pub fn depth() -> u32 {
    DEPTH.with(|d| d.get())
}

/// Runs `f` with the GIL of the main interpreter held by this thread.
///
/// The runtime must be running and the caller must hold a `lifecycle::Active` guard, so the
/// interpreter cannot be finalized underneath.
pub fn with_gil<R>(f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    let d = depth();
    if d > 0 {
        // Already inside a call on this thread: the GIL is ours.
        DEPTH.with(|c| c.set(d + 1));
        let _restore = DepthRestore(d);
        // SAFETY: depth > 0 means an outer guard on this thread holds the GIL.
        return f(unsafe { Gil::assume() });
    }
    let api = api();
    let generation = lifecycle::generation();
    let (gen, ts) = MAIN_TSTATE.with(|c| c.get());
    if gen == generation && !ts.is_null() {
        // SAFETY: `ts` is this thread's state of the running interpreter (same generation).
        unsafe { (api.PyEval_RestoreThread)(ts) };
    } else {
        // SAFETY: the interpreter is running (caller holds Active); Ensure makes this thread's
        // state and takes the GIL. We never call the matching Release, so the state lives on.
        unsafe { (api.PyGILState_Ensure)() };
        // SAFETY: the GIL is held now.
        let ts = unsafe { (api.PyThreadState_Get)() };
        MAIN_TSTATE.with(|c| c.set((generation, ts)));
    }
    DEPTH.with(|c| c.set(1));
    let _release = Release;
    // SAFETY: acquired above; released by `_release` after `f`, even on panic.
    f(unsafe { Gil::assume() })
}

/// Runs `f` with the GIL held through `tstate`, a thread state of a sub-interpreter made for
/// this thread. Same nesting rules as `with_gil`.
///
/// # Safety
/// `tstate` must belong to the calling thread and to a live interpreter.
pub unsafe fn with_tstate<R>(tstate: ThreadStatePtr, f: impl for<'py> FnOnce(Gil<'py>) -> R) -> R {
    let d = depth();
    let api = api();
    if d > 0 {
        // Nested: switch to the context's state and back (the GIL stays held when both states
        // share it; sub-interpreters with their own GIL are entered only from their own threads).
        // SAFETY: the GIL is held (depth > 0); swapping states of this thread is allowed.
        let prev = unsafe { (api.PyThreadState_Swap)(tstate) };
        DEPTH.with(|c| c.set(d + 1));
        let _restore = SwapBack(prev, d);
        // SAFETY: as above.
        return f(unsafe { Gil::assume() });
    }
    // SAFETY: the caller guarantees `tstate` is ours and live.
    unsafe { (api.PyEval_RestoreThread)(tstate) };
    DEPTH.with(|c| c.set(1));
    let _release = Release;
    // SAFETY: acquired above.
    f(unsafe { Gil::assume() })
}

struct DepthRestore(u32);
impl Drop for DepthRestore {
    fn drop(&mut self) {
        DEPTH.with(|c| c.set(self.0));
    }
}

struct SwapBack(ThreadStatePtr, u32);
impl Drop for SwapBack {
    fn drop(&mut self) {
        // SAFETY: restores the state that was current before the nested swap; GIL still held.
        unsafe { (api().PyThreadState_Swap)(self.0) };
        DEPTH.with(|c| c.set(self.1));
    }
}

struct Release;
impl Drop for Release {
    fn drop(&mut self) {
        DEPTH.with(|c| c.set(0));
        // SAFETY: the outermost guard took the GIL on this thread.
        unsafe { (api().PyEval_SaveThread)() };
    }
}

/// Runs `f` with the GIL released (blocking waits while inside a call). Must be called with the
/// GIL held through one of the guards above.
pub fn without_gil<R>(_gil: Gil<'_>, f: impl FnOnce() -> R) -> R {
    let d = depth();
    // SAFETY: the token proves the GIL is held; SaveThread releases it and returns our state.
    let ts = unsafe { (api().PyEval_SaveThread)() };
    DEPTH.with(|c| c.set(0));
    struct Reacquire(ThreadStatePtr, u32);
    impl Drop for Reacquire {
        fn drop(&mut self) {
            // SAFETY: restores the state saved above on the same thread.
            unsafe { (api().PyEval_RestoreThread)(self.0) };
            DEPTH.with(|c| c.set(self.1));
        }
    }
    let _r = Reacquire(ts, d);
    f()
}

/// Give this thread's main-interpreter state back before the thread ends (worker threads), so
/// threads that come and go don't leak thread states. Call with an `Active` guard held.
pub fn forget_thread_state() {
    if depth() > 0 {
        return;
    }
    let (gen, ts) = MAIN_TSTATE.with(|c| c.get());
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
    MAIN_TSTATE.with(|c| c.set((0, ptr::null_mut())));
}
