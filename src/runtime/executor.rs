//! The library's own worker threads (async jobs). Results and JS callback requests go back to
//! each JS thread through that env's outbox (`env::outbox`).
//!
//! Async calls never use libuv's thread pool (other Node work needs its four threads). A job
//! runs on one of our workers; the pool grows while jobs wait and none finishes (blocked Python —
//! `time.sleep`, I/O — releases the GIL, so blocked jobs overlap) up to a settable limit, and a
//! worker idle for 10 s (`PYTHON_TS_WORKER_IDLE_MS`) ends, giving its Python thread state back
//! first.

use crate::runtime::lifecycle;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
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
    let mut gave_back = false;
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
        if !gave_back && crate::runtime::attach::holds_context_states() {
            // Before sleeping: give this worker's context thread states back, so a context
            // deleted meanwhile never waits for a sleeping worker (`attach::end_context`).
            gave_back = true;
            drop(s);
            if let Some(_active) = lifecycle::enter_if_running() {
                crate::runtime::attach::give_back_all();
            }
            s = match POOL.state.lock() {
                Ok(g) => g,
                Err(_) => return None,
            };
            continue;
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
    crate::runtime::attach::set_worker();
    while let Some(job) = take_job() {
        // A panicking job must not take the worker (and its count) with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        LAST_DONE.store(now_us(), Ordering::Release);
    }
    if let Some(_active) = lifecycle::enter_if_running() {
        crate::runtime::attach::thread_exit();
    }
}
