//! The debug switch (`_set_debug`) and what its output says of each call: the context the call
//! entered last on this thread. Process-wide and below every layer, so the boundary (which
//! prints) and the runtime (which enters contexts) both reach it without reaching each other.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LAST: Cell<u64> = const { Cell::new(u64::MAX) };
}

pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub fn debug() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Forget the last context (before a call).
pub fn reset_last() {
    LAST.with(|l| l.set(u64::MAX));
}

/// A call entered `context` (0: main); recorded only while debug output is on.
pub fn entered(context: u64) {
    if debug() {
        LAST.with(|l| l.set(context));
    }
}

/// The context of this thread's most recent call; `u64::MAX` for none.
pub fn last_context() -> u64 {
    LAST.with(|l| l.get())
}
