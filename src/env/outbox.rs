//! Each env's outbox: what other threads may know of one env, and the threadsafe function that
//! brings results (and JS callback requests) back to its JS thread.
//!
//! Each env has one threadsafe function (`EnvShared::tsfn`), fed through an outbox so that a
//! burst of completions costs one wake-up. It is unref'd while the env has no work pending, so
//! it never keeps the event loop alive by itself, and ref'd while jobs are in flight, so a
//! pending callback does. We never release our hold on it, and stop posting once the env's
//! cleanup hook ran or a post was refused: the function may be freed after that.
//!
//! A call from a Python thread waits for its answer, and a thread that makes one such call
//! usually makes another at once (`js.Math.max(1, 2)` is three). Waking an idle JS thread costs
//! 100–300 µs on a VM, so after running an awaited message the JS thread watches its outbox for
//! a short window ([`spin_window`]) and serves what arrives meanwhile without a wake-up; the
//! waiter watches for its answer the same way before it sleeps. Only with more than one CPU, and
//! `PYTHON_TS_SPIN_US=0` turns it off.

use crate::sys::napi::{self, Tsfn};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every thread may know of one env: its threadsafe function, its JS thread, and whether
/// that thread is inside a synchronous call into Python right now.
pub struct EnvShared {
    tsfn: usize,
    /// Messages waiting for the JS thread. Completions are batched: the threadsafe function is
    /// called only when the outbox goes from empty to non-empty, and the JS thread drains
    /// everything queued by then in one go.
    outbox: Mutex<Outbox>,
    pub js_thread: std::thread::ThreadId,
    /// The env itself, used only on `js_thread`.
    pub env: usize,
    /// Sync calls in progress on the JS thread — shared by every env of that thread (Electron
    /// can host several on one thread, and a sync call from one blocks the others' loops too).
    in_sync: Arc<SyncState>,
    pending: AtomicUsize,
    /// Counts messages posted: the JS thread watching its outbox reads this, not the lock.
    posted: AtomicU64,
}

thread_local! {
    /// The calling thread's id, read without `thread::current()` (which clones an `Arc`): the
    /// native proxy asks on every operation.
    static THIS_THREAD: std::thread::ThreadId = std::thread::current().id();
}

/// A message to an env's JS thread.
pub type Message = Box<dyn FnOnce(Option<napi::Env>) + Send + 'static>;

#[derive(Default)]
struct Outbox {
    /// True once the env is ending (its cleanup hook ran) or a post was refused: the threadsafe
    /// function may be freed after that, so nobody touches it again.
    closed: bool,
    /// A drain is on its way to the JS thread.
    scheduled: bool,
    /// The JS thread is watching the outbox (after an awaited message): a post needs no drain.
    watching: bool,
    /// An awaited message is in the queue.
    awaited: bool,
    queue: std::collections::VecDeque<Message>,
}

impl EnvShared {
    /// Make the threadsafe function of `env` (on its JS thread).
    pub fn new(env: napi::Env) -> crate::error::Result<Arc<EnvShared>> {
        // SAFETY: `deliver` treats `data` as a boxed `Message`, which is all we ever post.
        let tsfn = unsafe { env.threadsafe_function("python-ts", std::ptr::null_mut(), Some(deliver), None)? };
        env.unref_threadsafe(tsfn)?;
        Ok(Arc::new(EnvShared {
            tsfn: tsfn as usize,
            outbox: Mutex::new(Outbox::default()),
            js_thread: std::thread::current().id(),
            env: env.0 as usize,
            in_sync: thread_sync_counter(),
            pending: AtomicUsize::new(0),
            posted: AtomicU64::new(0),
        }))
    }

    /// Post a message to the JS thread. If the env has ended, the message runs at once with
    /// `None` (so it can release what it holds without touching JS) and false is returned.
    pub fn post(self: &Arc<Self>, msg: Message) -> bool {
        self.post_as(msg, false)
    }

    /// Post a message whose sender waits for its answer (a call from a Python thread): the JS
    /// thread then watches for the sender's next one for a while (the module's notes).
    pub fn post_awaited(self: &Arc<Self>, msg: Message) -> bool {
        self.post_as(msg, true)
    }

    fn post_as(self: &Arc<Self>, msg: Message, awaited: bool) -> bool {
        let mut out = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if out.closed {
            drop(out);
            msg(None);
            return false;
        }
        out.queue.push_back(msg);
        out.awaited |= awaited;
        self.posted.fetch_add(1, Ordering::Release);
        if out.scheduled || out.watching {
            return true;
        }
        if self.schedule_locked(&mut out) {
            return true;
        }
        // `napi_closing`: the function may be freed from now on; release what was queued.
        let queued: Vec<Message> = out.queue.drain(..).collect();
        drop(out);
        for m in queued {
            m(None);
        }
        false
    }

    /// Ask the JS thread for a drain (outbox locked, not yet scheduled). False when refused.
    fn schedule_locked(self: &Arc<Self>, out: &mut Outbox) -> bool {
        let data = Arc::into_raw(self.clone()) as *mut std::ffi::c_void;
        if napi::call_threadsafe(self.tsfn as Tsfn, data) {
            out.scheduled = true;
            return true;
        }
        // SAFETY: the call failed, so N-API did not take the reference made above.
        drop(unsafe { Arc::from_raw(data as *const EnvShared) });
        out.closed = true;
        false
    }

    /// Run everything queued (on the JS thread, or with `None` while the env is torn down). A
    /// user callback that throws is reported as an uncaught exception — as Node does for any
    /// callback (left pending here, Node 20 would only print a deprecation warning) — and the
    /// rest of the batch still runs.
    fn drain(self: &Arc<Self>, env: Option<napi::Env>) {
        let (batch, awaited) = {
            let mut out = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
            out.scheduled = false;
            (std::mem::take(&mut out.queue), std::mem::take(&mut out.awaited))
        };
        self.run(batch, env);
        match (env, spin_window()) {
            (Some(_), Some(window)) if awaited => self.watch(env, window),
            _ => {}
        }
    }

    fn run(&self, batch: std::collections::VecDeque<Message>, env: Option<napi::Env>) {
        for msg in batch {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || msg(env)));
            if let Some(e) = env {
                if let Some(exc) = e.take_exception() {
                    let _ = e.fatal_exception(exc);
                }
            }
        }
    }

    /// After an awaited message (JS thread): serve what is posted within `window` of the last
    /// message served, then go back to the event loop. Posts meanwhile only queue (`watching`).
    fn watch(self: &Arc<Self>, env: Option<napi::Env>, window: Duration) {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner()).watching = true;
        let mut seen = self.posted.load(Ordering::Acquire);
        let start = Instant::now();
        let mut since = start;
        loop {
            let now = self.posted.load(Ordering::Acquire);
            // A thread that calls without pause would keep the JS thread here for good: after
            // `WATCH_TURN` the event loop gets its turn (what is queued then waits for a drain).
            let ended = (now == seen && since.elapsed() >= window) || start.elapsed() >= WATCH_TURN;
            if now == seen && !ended {
                relax();
                continue;
            }
            let batch = {
                let mut out = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
                if ended {
                    out.watching = false;
                    if !out.queue.is_empty() && !out.scheduled && !self.schedule_locked(&mut out) {
                        let queued = std::mem::take(&mut out.queue);
                        drop(out);
                        self.run(queued, None);
                    }
                    return;
                }
                seen = self.posted.load(Ordering::Acquire);
                out.awaited = false;
                std::mem::take(&mut out.queue)
            };
            self.run(batch, env);
            since = Instant::now();
        }
    }

    /// The env is ending (its cleanup hook): no more posts, and what is queued runs now with
    /// `None` (releasing what it holds; a waiting caller gets its error). A host need not deliver
    /// what its threadsafe function accepted before the end: Deno, terminating a Worker, dropped
    /// such a call, and the Python thread waiting for it waited for good.
    pub fn close(&self) {
        let queued = {
            let mut out = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
            out.closed = true;
            out.awaited = false;
            std::mem::take(&mut out.queue)
        };
        self.run(queued, None);
    }

    /// Whether the env has ended (or refused a post): nothing posted from now on is served.
    pub fn is_closed(&self) -> bool {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner()).closed
    }

    pub fn is_js_thread(&self) -> bool {
        THIS_THREAD.with(|id| *id) == self.js_thread
    }

    /// Which outermost synchronous call into Python the JS thread is inside (a number that
    /// changes with every such call), or None when it is in none. A waiter that sees the same
    /// number for a while knows that one call has lasted at least that long, without the
    /// call itself reading a clock.
    pub fn sync_call(&self) -> Option<u64> {
        if self.in_sync.depth.load(Ordering::Acquire) == 0 {
            return None;
        }
        Some(self.in_sync.serial.load(Ordering::Acquire))
    }

    /// Marks a synchronous call on the JS thread for its duration.
    pub fn sync_guard(&self) -> SyncGuard<'_> {
        // Only the JS thread writes these (other threads read): plain stores, no locked
        // read-modify-write on the hot path.
        let depth = self.in_sync.depth.load(Ordering::Relaxed);
        if depth == 0 {
            let serial = self.in_sync.serial.load(Ordering::Relaxed);
            self.in_sync.serial.store(serial.wrapping_add(1), Ordering::Release);
        }
        self.in_sync.depth.store(depth + 1, Ordering::Release);
        SyncGuard(self)
    }

    /// One more job in flight for this env: keep the event loop alive (JS thread only).
    pub fn job_started(&self, env: napi::Env) {
        if self.pending.fetch_add(1, Ordering::AcqRel) == 0 {
            let _ = env.ref_threadsafe(self.tsfn as Tsfn);
        }
    }

    /// A job delivered its result (JS thread only).
    pub fn job_finished(&self, env: napi::Env) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = env.unref_threadsafe(self.tsfn as Tsfn);
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

/// How long a JS thread watches its outbox after an awaited message, and a waiter watches for
/// its answer before it sleeps: 50 µs (`PYTHON_TS_SPIN_US`), None with one CPU or when set to 0.
pub fn spin_window() -> Option<Duration> {
    static WINDOW: once_cell::sync::OnceCell<Option<Duration>> = once_cell::sync::OnceCell::new();
    *WINDOW.get_or_init(|| {
        let us = std::env::var("PYTHON_TS_SPIN_US").ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(50);
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        (us > 0 && cpus > 1).then(|| Duration::from_micros(us.min(10_000)))
    })
}

/// The longest a JS thread watches its outbox in one go before its event loop gets a turn.
const WATCH_TURN: Duration = Duration::from_millis(1);

/// Between two looks while watching: give the CPU to whatever else is runnable — under load the
/// thread being waited for may be waiting for this very CPU (a busy spin there made a hop 3–5×
/// slower) — and return at once when nothing is, which keeps an idle CPU awake.
pub fn relax() {
    std::thread::yield_now();
}

/// Whether a JS thread is inside a synchronous call into Python, and since when.
#[derive(Default)]
pub struct SyncState {
    /// Nesting depth of sync calls on the thread.
    depth: AtomicU32,
    /// Counts outermost sync calls: which one is running.
    serial: AtomicU64,
}

/// The sync-call state of the current thread (one per JS thread, shared by its envs).
fn thread_sync_counter() -> Arc<SyncState> {
    static COUNTERS: Mutex<Vec<(std::thread::ThreadId, std::sync::Weak<SyncState>)>> = Mutex::new(Vec::new());
    let me = std::thread::current().id();
    let mut all = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|(_, w)| w.strong_count() > 0);
    if let Some(c) = all.iter().find(|(t, _)| *t == me).and_then(|(_, w)| w.upgrade()) {
        return c;
    }
    let c = Arc::new(SyncState::default());
    all.push((me, Arc::downgrade(&c)));
    c
}

pub struct SyncGuard<'a>(&'a EnvShared);

impl Drop for SyncGuard<'_> {
    fn drop(&mut self) {
        let depth = self.0.in_sync.depth.load(Ordering::Relaxed);
        self.0.in_sync.depth.store(depth - 1, Ordering::Release);
    }
}

unsafe extern "C" fn deliver(
    env: napi::napi_env,
    _js_cb: napi::Value,
    _context: *mut std::ffi::c_void,
    data: *mut std::ffi::c_void,
) {
    if data.is_null() {
        return;
    }
    // SAFETY: every item posted is a reference to the env's `EnvShared` made by `schedule_locked`.
    let shared = unsafe { Arc::from_raw(data as *const EnvShared) };
    let env = if env.is_null() { None } else { Some(napi::Env(env)) };
    // Panics are caught per message; a JS exception left pending by a user callback is Node's to
    // report (as for any callback), so it stays pending.
    shared.drain(env);
}
