//! Call tracing: the debug switch (`_set_debug`, a line on stderr per clib call), and whether
//! any env publishes calls on Node's diagnostics_channel (`_set_trace`). What a traced call is
//! (its label) and the context it entered last on this thread. Process-wide and below every
//! layer, so the boundary (which prints and publishes), the runtime (which enters contexts) and
//! the async scheduler (which carries a call's trace to its delivery) all reach it without
//! reaching each other.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

static DEBUG: AtomicBool = AtomicBool::new(false);
/// Envs with a diagnostics_channel publisher.
static PUBLISHERS: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static LAST: Cell<u64> = const { Cell::new(u64::MAX) };
    /// The traced clib call running on this thread, until the boundary ends it or an async
    /// scheduling takes it along to its delivery.
    static CURRENT: RefCell<Option<Traced>> = const { RefCell::new(None) };
}

/// What a traced call is: never argument contents, only their kinds and sizes.
#[derive(Clone, Default, Debug)]
pub struct Label {
    /// The target's Python type (`dict`, `module json`), or empty.
    pub target: String,
    /// The method or attribute named, or empty.
    pub method: String,
    /// The arguments' kinds and sizes: `str(12), array(3), handle(dict)`.
    pub args: String,
}

/// A traced call: its id, clib function, label and start.
#[derive(Clone, Debug)]
pub struct Traced {
    pub id: u64,
    pub name: String,
    pub label: Label,
    pub started: Instant,
    /// Taken by an async scheduling: its end is the delivery, not the return.
    pub scheduled: bool,
}

pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub fn debug() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// An env starts (`true`) or stops publishing calls.
pub fn set_publishing(on: bool) {
    if on {
        PUBLISHERS.fetch_add(1, Ordering::Relaxed);
    } else {
        let _ = PUBLISHERS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// Whether calls are traced at all (the hot path's one check).
#[inline]
pub fn tracing() -> bool {
    debug() || PUBLISHERS.load(Ordering::Relaxed) != 0
}

/// Begin tracing a call on this thread.
pub fn begin(name: &str, label: Label) -> Traced {
    LAST.with(|l| l.set(u64::MAX));
    let t = Traced {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        name: name.to_string(),
        label,
        started: Instant::now(),
        scheduled: false,
    };
    CURRENT.with(|c| *c.borrow_mut() = Some(t.clone()));
    t
}

/// End this thread's traced call: whether an async scheduling took it.
pub fn end() -> bool {
    CURRENT.with(|c| c.borrow_mut().take()).is_some_and(|t| t.scheduled)
}

/// For an async scheduling: this thread's traced call, marked as ending at its delivery.
pub fn take_for_async() -> Option<Traced> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let t = c.as_mut()?;
        t.scheduled = true;
        Some(t.clone())
    })
}

/// A call entered `context` (0: main); recorded only while calls are traced.
pub fn entered(context: u64) {
    if tracing() {
        LAST.with(|l| l.set(context));
    }
}

/// The context of this thread's most recent call; `u64::MAX` for none.
pub fn last_context() -> u64 {
    LAST.with(|l| l.get())
}

/// `[main context]`, `[context 3]`, or empty.
pub fn context_text(context: u64) -> String {
    match context {
        u64::MAX => String::new(),
        0 => "main context".to_string(),
        id => format!("context {id}"),
    }
}

/// This thread, for a trace line: `thread 1`.
pub fn thread_text() -> String {
    let id = format!("{:?}", std::thread::current().id());
    let n = id.trim_start_matches("ThreadId(").trim_end_matches(')');
    match std::thread::current().name() {
        Some(name) => format!("thread {n} ({name})"),
        None => format!("thread {n}"),
    }
}

/// The debug line of a call.
pub fn line(t: &Traced, context: u64, timing: &str, outcome: &str) -> String {
    let mut s = format!("[python-ts] {}", t.name);
    let l = &t.label;
    match (l.target.is_empty(), l.method.is_empty()) {
        (false, false) => s += &format!(" {}.{}", l.target, l.method),
        (false, true) => s += &format!(" {}", l.target),
        (true, false) => s += &format!(" .{}", l.method),
        (true, true) => {}
    }
    s += &format!(" ({})", l.args);
    s += &format!(" on {}", thread_text());
    let ctx = context_text(context);
    if !ctx.is_empty() {
        s += &format!(" [{ctx}]");
    }
    s += &format!(" {timing} {outcome}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_target_method_arguments_thread_and_context() {
        let t = Traced {
            id: 1,
            name: "_call_python".into(),
            label: Label { target: "module json".into(), method: "dumps".into(), args: "array(1)".into() },
            started: Instant::now(),
            scheduled: false,
        };
        let l = line(&t, 0, "0.010 ms", "ok");
        assert!(l.starts_with("[python-ts] _call_python module json.dumps (array(1)) on thread "), "{l}");
        assert!(l.ends_with(" [main context] 0.010 ms ok"), "{l}");
    }

    #[test]
    fn an_async_scheduling_takes_the_call_along() {
        let _ = begin("_eval", Label::default());
        assert!(take_for_async().is_some());
        assert!(end(), "the boundary leaves its end to the delivery");
        let _ = begin("_eval", Label::default());
        assert!(!end());
    }
}
