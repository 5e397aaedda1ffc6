//! The library's own worker threads, and the threadsafe function that brings results (and JS
//! callback requests) back to each JS thread.
//!
//! Async calls never use libuv's thread pool (other Node work needs its four threads). A job
//! runs on one of our workers; the pool grows while jobs wait and none finishes (blocked Python —
//! `time.sleep`, I/O — releases the GIL, so blocked jobs overlap) up to a settable limit, and a
//! worker idle for 10 s (`PYTHON_TS_WORKER_IDLE_MS`) ends, giving its Python thread state back
//! first.
//!
//! Each env has one threadsafe function (`EnvShared::tsfn`), fed through an outbox so that a
//! burst of completions costs one wake-up. It is unref'd while the env has no work pending, so
//! it never keeps the event loop alive by itself, and ref'd while jobs are in flight, so a
//! pending callback does. We never release our hold on it, and stop posting once the env's
//! cleanup hook ran or a post was refused: the function may be freed after that.

use crate::runtime::lifecycle;
use crate::sys::napi::{self, Tsfn};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A unit of work for a worker thread.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long an idle worker waits for work before it ends: 10 s, or `PYTHON_TS_WORKER_IDLE_MS`.
fn idle_timeout() -> Duration {
    static IDLE: once_cell::sync::Lazy<Duration> = once_cell::sync::Lazy::new(|| {
        let ms = std::env::var("PYTHON_TS_WORKER_IDLE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .unwrap_or(10_000);
        Duration::from_millis(ms)
    });
    *IDLE
}
pub const DEFAULT_MAX_THREADS: usize = 64;
/// Workers started at once; more are added only while queued jobs wait and no job has finished
/// for `GROW_AFTER`, i.e. while the running ones are blocked (a `time.sleep` releases the GIL).
/// Quick calls then stay on a couple of threads instead of dozens contending for one GIL.
const EAGER_THREADS: usize = 2;
const GROW_AFTER: Duration = Duration::from_micros(500);
/// How long a worker that just finished a job spins for the next one before sleeping: a
/// sequence of awaited calls then skips a thread wake-up per call.
const SPIN: Duration = Duration::from_micros(50);

struct PoolState {
    queue: VecDeque<(Instant, Job)>,
    threads: usize,
    /// Workers asleep on the condition variable (spinning ones are not counted: they see the
    /// queue through `QUEUED`).
    idle: usize,
    supervisor: bool,
    /// The supervisor sleeps until the queue is non-empty.
    supervisor_asleep: bool,
}

struct Pool {
    state: Mutex<PoolState>,
    cv: Condvar,
    supervisor_cv: Condvar,
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
        supervisor: false,
        supervisor_asleep: false,
    }),
    cv: Condvar::new(),
    supervisor_cv: Condvar::new(),
};
static MAX_THREADS: AtomicUsize = AtomicUsize::new(0);
static QUEUED: AtomicUsize = AtomicUsize::new(0);
/// When a worker last finished a job (µs since `EPOCH`): while jobs keep finishing, the workers
/// are not blocked and more of them would only contend for the GIL.
static LAST_DONE: AtomicU64 = AtomicU64::new(0);
static EPOCH: once_cell::sync::Lazy<Instant> = once_cell::sync::Lazy::new(Instant::now);

fn now_us() -> u64 {
    EPOCH.elapsed().as_micros() as u64
}

/// The worker limit: `_set_max_threads(n)`, else `PYTHON_TS_MAX_THREADS`, else 64.
pub fn max_threads() -> usize {
    let n = MAX_THREADS.load(Ordering::Relaxed);
    if n > 0 {
        return n;
    }
    std::env::var("PYTHON_TS_MAX_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(DEFAULT_MAX_THREADS)
}

pub fn set_max_threads(n: usize) {
    MAX_THREADS.store(n, Ordering::Relaxed);
}

/// (threads alive, threads idle, jobs queued).
pub fn stats() -> (usize, usize, usize) {
    match POOL.state.lock() {
        Ok(s) => (s.threads, s.idle, s.queue.len()),
        Err(_) => (0, 0, 0),
    }
}

/// Python's recursion limits assume a main-thread-sized C stack; Rust threads get 2 MiB.
const WORKER_STACK: usize = 8 << 20;

fn spawn_worker(s: &mut PoolState) {
    s.threads += 1;
    if std::thread::Builder::new().name("python-ts-worker".into()).stack_size(WORKER_STACK).spawn(worker_loop).is_err()
    {
        s.threads -= 1;
    }
}

/// Queue a job; wake an idle worker, or start one while fewer than `EAGER_THREADS` run. The
/// supervisor adds more while jobs wait.
pub fn submit(job: Job) {
    let Ok(mut s) = POOL.state.lock() else { return };
    s.queue.push_back((Instant::now(), job));
    QUEUED.fetch_add(1, Ordering::AcqRel);
    if s.idle == 0 && s.threads < EAGER_THREADS.min(max_threads()) {
        spawn_worker(&mut s);
    }
    if !s.supervisor {
        s.supervisor = true;
        let _ = std::thread::Builder::new().name("python-ts-supervisor".into()).spawn(supervisor_loop);
    }
    // Each notification is a futex system call: only wake who is actually asleep.
    let wake_worker = s.idle > 0;
    let wake_supervisor = s.supervisor_asleep;
    s.supervisor_asleep = false;
    drop(s);
    if wake_worker {
        POOL.cv.notify_one();
    }
    if wake_supervisor {
        POOL.supervisor_cv.notify_one();
    }
}

/// Adds a worker whenever the oldest queued job has waited `GROW_AFTER` with no idle worker
/// (the running ones are blocked), up to the limit. Sleeps while the queue is empty.
fn supervisor_loop() {
    let Ok(mut s) = POOL.state.lock() else { return };
    loop {
        while s.queue.is_empty() {
            s.supervisor_asleep = true;
            s = match POOL.supervisor_cv.wait(s) {
                Ok(g) => g,
                Err(_) => return,
            };
        }
        s.supervisor_asleep = false;
        let waited = s.queue.front().map(|(t, _)| t.elapsed()).unwrap_or_default();
        let stalled = now_us().saturating_sub(LAST_DONE.load(Ordering::Acquire)) >= GROW_AFTER.as_micros() as u64;
        if waited >= GROW_AFTER && stalled && s.idle == 0 && s.threads < max_threads() {
            spawn_worker(&mut s);
        }
        s = match POOL.supervisor_cv.wait_timeout(s, GROW_AFTER / 2) {
            Ok((g, _)) => g,
            Err(_) => return,
        };
    }
}

fn take_job() -> Option<Job> {
    let Ok(mut s) = POOL.state.lock() else { return None };
    loop {
        if let Some((_, job)) = s.queue.pop_front() {
            QUEUED.fetch_sub(1, Ordering::AcqRel);
            return Some(job);
        }
        drop(s);
        // Spin briefly: the next job of an awaited sequence usually arrives within microseconds.
        let spin_until = Instant::now() + SPIN;
        while QUEUED.load(Ordering::Acquire) == 0 && Instant::now() < spin_until {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
        s = match POOL.state.lock() {
            Ok(g) => g,
            Err(_) => return None,
        };
        if let Some((_, job)) = s.queue.pop_front() {
            QUEUED.fetch_sub(1, Ordering::AcqRel);
            return Some(job);
        }
        s.idle += 1;
        let (guard, timeout) = match POOL.cv.wait_timeout(s, idle_timeout()) {
            Ok(r) => r,
            Err(_) => return None,
        };
        s = guard;
        s.idle -= 1;
        if timeout.timed_out() && s.queue.is_empty() {
            s.threads -= 1;
            return None;
        }
    }
}

fn worker_loop() {
    while let Some(job) = take_job() {
        // A panicking job must not take the worker (and its count) with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        LAST_DONE.store(now_us(), Ordering::Release);
    }
    if let Some(_active) = lifecycle::enter_if_running() {
        crate::runtime::attach::thread_exit();
    }
}

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
        }))
    }

    /// Post a message to the JS thread. If the env has ended, the message runs at once with
    /// `None` (so it can release what it holds without touching JS) and false is returned.
    pub fn post(self: &Arc<Self>, msg: Message) -> bool {
        let mut out = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if out.closed {
            drop(out);
            msg(None);
            return false;
        }
        out.queue.push_back(msg);
        if out.scheduled {
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
        let batch = {
            let mut out = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
            out.scheduled = false;
            std::mem::take(&mut out.queue)
        };
        for msg in batch {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || msg(env)));
            if let Some(e) = env {
                if let Some(exc) = e.take_exception() {
                    let _ = e.fatal_exception(exc);
                }
            }
        }
    }

    /// The env is ending (its cleanup hook): no more posts.
    pub fn close(&self) {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
    }

    pub fn is_js_thread(&self) -> bool {
        std::thread::current().id() == self.js_thread
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
