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
//! - **Contexts**: a state made with `PyThreadState_New` the first time a thread enters the
//!   context, kept for the thread's later entries (so `threading.local`, `contextvars` and the
//!   `decimal` context persist between calls on one thread, as in the main interpreter), and
//!   always after the thread's main state: on 3.8–3.11 the first state made on a thread is the
//!   one PyGILState hands out, and a worker whose first state was a context's ran every later
//!   main-context call in that context.
//! - **A state is given back by its own thread** (`PyThreadState_Clear` +
//!   `PyThreadState_DeleteCurrent`, as CPython ends a thread's state): when the thread ends
//!   (`thread_exit`) or, after its context was deleted, at the thread's next entry. Since 3.12
//!   attaching a state binds it as the thread's PyGILState state, and a state deleted by
//!   another thread stayed bound there: the thread's next attach wrote into the freed state (a
//!   use-after-free that corrupted Worker start-up data, found with a sanitized CPython). So a
//!   context deleted while other threads hold states of it ends its interpreter when the last of
//!   them is given back (`Ending`); the states of threads that died are deleted with it.
//! - **Nesting** (JS → Python → JS → Python) is counted: entering the interpreter that is current
//!   costs nothing; entering another parks the current state and restores it afterwards.
//! - **Threads that end**: library workers give every state back on the thread itself; a
//!   thread that dies without doing so (a JS Worker's) is marked dead by a thread-local
//!   destructor, and its context states are deleted when their context ends.

use crate::error::{Error, Result};
use crate::runtime::lifecycle;
use crate::sys::python::Gil;
use crate::sys::python::{api, PyInterpreterState, PyThreadState};
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

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
    /// This thread's context states: (context, runtime generation, state).
    contexts: RefCell<Vec<(u64, u64, ThreadStatePtr)>>,
    /// The `EPOCH` this thread last looked at.
    seen_epoch: Cell<u64>,
    /// The context state PyGILState has bound to this thread as far as the registry knows (0:
    /// none, or the main state); see `note_attached`.
    bound: Cell<usize>,
    /// A library worker (it gives its context states back before it sleeps).
    worker: Cell<bool>,
}

thread_local! {
    static TLS: ThreadStates = const {
        ThreadStates {
            main: Cell::new((0, ptr::null_mut(), MainKind::Ensured)),
            depth: Cell::new(0),
            current: Cell::new(0),
            gc_pause: Cell::new(0),
            contexts: RefCell::new(Vec::new()),
            seen_epoch: Cell::new(0),
            bound: Cell::new(0),
            worker: Cell::new(false),
        }
    };
}

/// A context's thread state, made and given back by its owner thread.
struct StateEntry {
    ctx: u64,
    generation: u64,
    ts: usize,
    owner: u64,
    /// False once the owner thread has died without giving the state back.
    owner_alive: bool,
    /// PyGILState may have it bound to its owner (3.12+): only its owner may delete it then.
    bound: bool,
    /// The owner is a library worker.
    worker: bool,
}

/// A deleted context whose interpreter waits for other threads to give their states back.
struct Ending {
    ctx: u64,
    generation: u64,
    creation_state: usize,
    creator: u64,
}

struct Registry {
    states: Vec<StateEntry>,
    ending: Vec<Ending>,
    /// The context of each state being given back by its owner right now (taken out of
    /// `states`, not deleted yet): its interpreter must not end meanwhile.
    giving_back: Vec<u64>,
}

static REGISTRY: Mutex<Registry> =
    Mutex::new(Registry { states: Vec::new(), ending: Vec::new(), giving_back: Vec::new() });

/// Bumped when a context starts `Ending` or a thread holding context states dies: threads then
/// look for states to give back at their next outermost entry.
static EPOCH: AtomicU64 = AtomicU64::new(0);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Marks this thread's context states as orphaned when the thread dies (its thread-local
/// destructor): they are deleted when their context ends, by the thread that ends it.
struct Owner(Cell<u64>);

impl Drop for Owner {
    fn drop(&mut self) {
        let id = self.0.get();
        if id == 0 {
            return;
        }
        let mut reg = registry();
        let mut any = false;
        for e in reg.states.iter_mut().filter(|e| e.owner == id) {
            e.owner_alive = false;
            any = true;
        }
        if any {
            EPOCH.fetch_add(1, Ordering::AcqRel);
        }
    }
}

thread_local! {
    static OWNER: Owner = const { Owner(Cell::new(0)) };
}

/// This thread's owner id (made, with its destructor registered, on first use).
fn owner_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    OWNER
        .try_with(|o| {
            if o.0.get() == 0 {
                o.0.set(NEXT.fetch_add(1, Ordering::Relaxed));
            }
            o.0.get()
        })
        .unwrap_or(0)
}

/// How many entries this thread is inside (0: not holding any GIL through us).
pub fn depth() -> u32 {
    TLS.with(|t| t.depth.get())
}

/// The context current on this thread while inside an entry.
pub fn current_context() -> u64 {
    TLS.with(|t| t.current.get())
}

/// How many context thread states exist now (those of threads that died included), and how
/// many deleted contexts wait for other threads to give theirs back.
pub fn context_state_count() -> (usize, usize) {
    let generation = lifecycle::generation();
    let reg = registry();
    (
        reg.states.iter().filter(|e| e.generation == generation).count(),
        reg.ending.iter().filter(|e| e.generation == generation).count(),
    )
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
        note_attached(ptr::null_mut());
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
    note_attached(ptr::null_mut());
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

/// This thread's state of context `ctx` (interpreter `interp`), made the first time (after the
/// thread's main state).
///
/// # Safety
/// `interp` is a live interpreter (the caller holds a flight on its context).
unsafe fn context_state(ctx: u64, interp: *mut PyInterpreterState, generation: u64) -> Result<ThreadStatePtr> {
    let found = TLS.with(|t| t.contexts.borrow().iter().find(|e| e.0 == ctx && e.1 == generation).map(|e| e.2));
    if let Some(ts) = found {
        return Ok(ts);
    }
    // The main state first (it takes the main GIL briefly).
    ensure_main_state()?;
    // SAFETY: the interpreter is alive (the context is in flight); PyThreadState_New needs no GIL.
    let ts = unsafe { (api().PyThreadState_New)(interp) };
    if ts.is_null() {
        return Err(Error::Runtime("python-ts: cannot create a thread state for the context".into()));
    }
    TLS.with(|t| {
        let mut v = t.contexts.borrow_mut();
        v.retain(|e| e.1 == generation);
        v.push((ctx, generation, ts));
    });
    let owner = owner_id();
    let worker = TLS.with(|t| t.worker.get());
    registry().states.push(StateEntry {
        ctx,
        generation,
        ts: ts as usize,
        owner,
        owner_alive: true,
        bound: false,
        worker,
    });
    Ok(ts)
}

/// Since 3.12 attaching a thread state binds it as its thread's PyGILState state (the one
/// `PyGILState_Ensure` finds), and deleting it from another thread leaves that binding pointing
/// at freed memory. `Py_NewInterpreterFromConfig` is new in 3.12 too: its presence marks it.
fn binds_on_attach() -> bool {
    api().Py_NewInterpreterFromConfig.is_some()
}

/// Call after this thread attached `ts`: one of its context states, or null for its main state.
/// Keeps the registry's `bound` flags in step with PyGILState's binding. A flag may say bound when
/// the state is not (harmless: its deletion waits); it is cleared only after the attach that
/// unbound the state returned, so it never says unbound while CPython may still write to it.
fn note_attached(ts: ThreadStatePtr) {
    let prev = TLS.with(|t| t.bound.get());
    if prev == ts as usize || !binds_on_attach() {
        return;
    }
    TLS.with(|t| t.bound.set(ts as usize));
    let mut reg = registry();
    for e in reg.states.iter_mut() {
        if e.ts == prev {
            e.bound = false;
        }
        if e.ts == ts as usize {
            e.bound = true;
        }
    }
}

/// Does this thread hold context states (of the running runtime)?
pub fn holds_context_states() -> bool {
    let generation = lifecycle::generation();
    TLS.with(|t| t.contexts.borrow().iter().any(|e| e.1 == generation))
}

/// Mark this thread as a library worker: it gives its context states back before it sleeps, so a
/// context's deletion never waits on it for long.
pub fn set_worker() {
    TLS.with(|t| t.worker.set(true));
}

/// Give back every context state of this thread (a worker about to sleep). Needs an `Active`.
pub fn give_back_all() {
    if depth() == 0 {
        give_back(|_| true);
    }
}

/// Give back this thread's states of the contexts `which` selects, on this thread (depth 0, no
/// GIL held); ends an `Ending` context's interpreter when its last state was one of them.
fn give_back(which: impl Fn(u64) -> bool) {
    let generation = lifecycle::generation();
    let mine: Vec<(u64, ThreadStatePtr)> = TLS.with(|t| {
        let mut v = t.contexts.borrow_mut();
        let mut out = Vec::new();
        v.retain(|e| {
            if e.1 != generation {
                return false;
            }
            if which(e.0) {
                out.push((e.0, e.2));
                return false;
            }
            true
        });
        out
    });
    let owner = owner_id();
    for (ctx, ts) in mine {
        // Claimed under the lock: a state the registry no longer lists as ours (a context's end
        // deleted it, or a runtime end) is not touched, and one claimed here is not deleted by
        // anyone else — a context's end waits for the claim.
        {
            let mut reg = registry();
            let Some(i) =
                reg.states.iter().position(|e| e.ts == ts as usize && e.owner == owner && e.generation == generation)
            else {
                continue;
            };
            reg.states.swap_remove(i);
            reg.giving_back.push(ctx);
        }
        // SAFETY: this thread's state of a live interpreter (its end waits for the claim); the
        // thread holds no GIL. Cleared with its GIL held, then deleted as current, which releases
        // the GIL and unbinds it from this thread.
        unsafe {
            (api().PyEval_RestoreThread)(ts);
            (api().PyThreadState_Clear)(ts);
            (api().PyThreadState_DeleteCurrent)();
        }
        TLS.with(|t| {
            if t.bound.get() == ts as usize {
                t.bound.set(0);
            }
        });
        let ready = {
            let mut reg = registry();
            if let Some(i) = reg.giving_back.iter().position(|&c| c == ctx) {
                reg.giving_back.swap_remove(i);
            }
            take_if_ready(&mut reg, ctx, generation)
        };
        if let Some((creation, creator, orphans)) = ready {
            // SAFETY: the last live state of the ending interpreter is gone.
            unsafe { end_interpreter(creation, creator, &orphans) };
        }
    }
}

/// The `Ending` of `ctx` with its orphaned states, taken out of the registry, when no live thread
/// holds a state of it any more.
fn take_if_ready(reg: &mut Registry, ctx: u64, generation: u64) -> Option<(ThreadStatePtr, u64, Vec<ThreadStatePtr>)> {
    let i = reg.ending.iter().position(|e| e.ctx == ctx && e.generation == generation)?;
    if reg.giving_back.contains(&ctx)
        || reg.states.iter().any(|e| e.ctx == ctx && e.generation == generation && e.owner_alive)
    {
        return None;
    }
    let ending = reg.ending.swap_remove(i);
    Some((ending.creation_state as ThreadStatePtr, ending.creator, take_states(reg, ctx, generation)))
}

fn take_states(reg: &mut Registry, ctx: u64, generation: u64) -> Vec<ThreadStatePtr> {
    let mut out = Vec::new();
    reg.states.retain(|e| {
        if e.ctx == ctx && e.generation == generation {
            out.push(e.ts as ThreadStatePtr);
            return false;
        }
        true
    });
    out
}

/// End an interpreter, deleting `others` (states no live thread will use again) first; this
/// thread is back on its main state with no GIL held afterwards.
///
/// On the thread that made it (`creator`, a thread ident), the interpreter ends with the state
/// it was made with: its `threading` took that state for its main thread, and `_shutdown` there
/// releases that thread's lock itself (ending with another state, it found the lock released:
/// "assert tlock.locked()"). On any other thread (3.9+), `_shutdown` waits for the main thread's
/// lock, which only deleting the creating state releases: then it is deleted first and the
/// interpreter ends with a state made here.
///
/// # Safety
/// The thread is at depth 0 and holds no GIL; no state of the interpreter is current anywhere,
/// none but `creation` and `others` exists, and none of `others` is bound to a live thread; no
/// thread of it runs.
unsafe fn end_interpreter(creation: ThreadStatePtr, creator: u64, others: &[ThreadStatePtr]) {
    let api = api();
    let main_ts = main_thread_state();
    // 3.8's `threading._shutdown` releases the main thread's lock on whichever thread it runs
    // (later versions only on the main thread's own): there, always the creating state.
    // `PyThreadState_GetInterpreter` is new in 3.9.
    let here = crate::sys::python::concrete::thread_ident();
    let with_creation = here == creator || api.PyThreadState_GetInterpreter.is_none();
    // SAFETY: forwarded from the caller; `creation` is alive until deleted here. Deleting a dead
    // thread's state can unbind this thread's PyGILState state (3.12+): the swap to the main
    // state at the end binds it again.
    unsafe {
        let last = if with_creation {
            creation
        } else {
            let ts = (api.PyThreadState_New)(interpreter_of(creation));
            (api.PyEval_RestoreThread)(ts);
            (api.PyThreadState_Clear)(creation);
            (api.PyThreadState_Delete)(creation);
            ts
        };
        if last == creation {
            (api.PyEval_RestoreThread)(creation);
        }
        for &ts in others {
            (api.PyThreadState_Clear)(ts);
            (api.PyThreadState_Delete)(ts);
        }
        // A thread of the interpreter that just ended (its asyncio loop's, a Thread joined a
        // moment ago) may still be deleting its state, and CPython aborts ending an interpreter
        // that has another ("Py_EndInterpreter: not the last thread": seen once in the 3.13
        // soak under Node 18). Wait for it with the GIL released; one that stays is a thread
        // we do not know of: the interpreter is then left as it is (its memory kept), never an
        // abort. Only `last`'s own link and the list head are read (both pointer-sized).
        let interp = interpreter_of(last);
        let alone = || (api.PyInterpreterState_ThreadHead)(interp) == last && (api.PyThreadState_Next)(last).is_null();
        let mut waits = 0;
        while !alone() && waits < LAST_THREAD_WAITS {
            let ts = (api.PyEval_SaveThread)();
            std::thread::sleep(std::time::Duration::from_millis(1));
            (api.PyEval_RestoreThread)(ts);
            waits += 1;
        }
        if alone() {
            (api.Py_EndInterpreter)(last);
            // 3.8–3.11 leave the shared GIL held with no current state; 3.12+ swap GILs inside
            // `PyThreadState_Swap`. Either way: make the main state current, then release.
            (api.PyThreadState_Swap)(main_ts);
        } else {
            eprintln!("python-ts: a context's interpreter still has a thread state python-ts did not make after {LAST_THREAD_WAITS} ms: it is left running (not ended) rather than aborting the process");
        }
        (api.PyEval_SaveThread)();
    }
    note_attached(ptr::null_mut());
}

/// How long (ms) ending an interpreter waits for its other thread states to go.
const LAST_THREAD_WAITS: u32 = 5000;

/// A context was deleted (unregistered, no call in flight, no Python thread alive): give back
/// this thread's state of it, then end its interpreter. Other threads' states are deleted with
/// it when no live thread has them bound (always before 3.12; see `binds_on_attach`); a library
/// worker's bound state is waited for (it gives it back before it sleeps, or unbinds it with its
/// next job); another thread's bound state defers the end until that thread gives it back at
/// its next entry (`settle_endings`) or dies. `force` (the runtime ends, no call in flight
/// anywhere): delete them all now. Call at depth 0 with no GIL held.
///
/// # Safety
/// `creation` is the state the context's interpreter was made with (on thread `creator`),
/// current nowhere.
pub unsafe fn end_context(ctx: u64, generation: u64, creation: ThreadStatePtr, creator: u64, force: bool) {
    give_back(|c| c == ctx);
    let others = loop {
        {
            let mut reg = registry();
            // A state being given back by its owner: wait for it (it only needs the GIL).
            let mut wait = reg.giving_back.contains(&ctx);
            let mut defer = false;
            for e in reg.states.iter().filter(|e| e.ctx == ctx && e.generation == generation) {
                if force || !e.owner_alive || !e.bound {
                    continue;
                }
                if e.worker {
                    wait = true;
                } else {
                    defer = true;
                }
            }
            if defer {
                reg.ending.push(Ending { ctx, generation, creation_state: creation as usize, creator });
                EPOCH.fetch_add(1, Ordering::AcqRel);
                return;
            }
            if !wait {
                break take_states(&mut reg, ctx, generation);
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    };
    // SAFETY: no live thread has any of `others` bound or current.
    unsafe { end_interpreter(creation, creator, &others) };
}

/// The runtime ends (no call in flight anywhere): end every context still waiting for threads
/// that hold states of it. Those threads never enter it again, and their next entry is into a
/// new runtime (their entries of this generation are dropped untouched).
pub fn end_waiting_contexts() {
    let generation = lifecycle::generation();
    loop {
        let next = {
            let mut reg = registry();
            match reg.ending.iter().position(|e| e.generation == generation) {
                Some(i) => {
                    let e = reg.ending.swap_remove(i);
                    Some((e.creation_state as ThreadStatePtr, e.creator, take_states(&mut reg, e.ctx, generation)))
                }
                None => None,
            }
        };
        match next {
            // SAFETY: no call is in flight, so no state of it is current anywhere.
            Some((creation, creator, others)) => unsafe { end_interpreter(creation, creator, &others) },
            None => return,
        }
    }
}

/// At an outermost entry, when `EPOCH` moved: give back this thread's states of contexts that
/// are ending, and end those that wait only for threads that died.
fn settle_endings() {
    let epoch = EPOCH.load(Ordering::Acquire);
    if TLS.with(|t| t.seen_epoch.replace(epoch)) == epoch {
        return;
    }
    let generation = lifecycle::generation();
    let (ending, ready) = {
        let mut reg = registry();
        let ids: Vec<u64> = reg.ending.iter().filter(|e| e.generation == generation).map(|e| e.ctx).collect();
        let ready: Vec<_> = ids.iter().filter_map(|&c| take_if_ready(&mut reg, c, generation)).collect();
        (ids, ready)
    };
    for (creation, creator, orphans) in ready {
        // SAFETY: no live thread holds a state of it.
        unsafe { end_interpreter(creation, creator, &orphans) };
    }
    if !ending.is_empty() {
        give_back(|c| ending.contains(&c));
    }
}

/// The thread is ending (library workers): give back every state it made. Call with an `Active`
/// guard held and no entry open.
pub fn thread_exit() {
    if depth() > 0 {
        return;
    }
    give_back(|_| true);
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
    if d == 0 {
        settle_endings();
    }
    let ts = if ctx == 0 {
        None
    } else {
        // SAFETY: forwarded from the caller.
        Some(unsafe { context_state(ctx, interp, generation)? })
    };
    let api = api();
    // Entering another interpreter from inside a call: park the current state (releasing its
    // GIL) and bring it back afterwards.
    // SAFETY: depth > 0 means a state of ours is current on this thread.
    let saved = if d > 0 { Some(unsafe { (api.PyEval_SaveThread)() }) } else { None };
    match ts {
        Some(ts) => {
            // SAFETY: this thread's state for a live context.
            unsafe { (api.PyEval_RestoreThread)(ts) };
            note_attached(ts);
        }
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
    // One thread-local access (each costs a `__tls_get_addr` call in a shared library).
    let (d, prev) = TLS.with(|t| {
        let was = (t.depth.get(), t.current.get());
        t.depth.set(was.0 + 1);
        t.current.set(ctx);
        was
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
                let main = TLS.with(|t| t.main.get().1);
                note_attached(if s == main { ptr::null_mut() } else { s });
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
