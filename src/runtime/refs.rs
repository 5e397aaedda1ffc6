//! References to Python objects held without the GIL, and the queue that releases them.
//!
//! With the GIL, references are `sys::python::{Owned, Borrowed}`, tied to a `Gil` token. A
//! reference that must outlive the GIL (a JS handle, a job, an error on its way) is a `Kept` (a
//! buffer export a `KeptBuffer`): dropping it queues its release until a thread holds that
//! interpreter's GIL — JS finalizers never take the GIL.

use crate::sys::python::{Borrowed, Gil, Owned, PyPtr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `owned.keep(context)`: keep a reference beyond the GIL, as belonging to interpreter `context`.
pub trait Keep {
    fn keep(self, context: u64) -> Kept;
}

impl Keep for Owned<'_> {
    fn keep(self, context: u64) -> Kept {
        Kept::new(self, context)
    }
}

/// A strong reference held without the GIL — by a JS handle, an external string, an async job,
/// an error on its way to JS, a call queued to another thread. It records the runtime generation
/// and the context (interpreter) it belongs to, and dropping it anywhere is safe: the release is
/// queued for the next thread that holds that interpreter's GIL, and forgotten (never touched)
/// when its runtime or context has ended. The one owning type of this kind.
#[derive(Debug)]
pub struct Kept {
    generation: u64,
    context: u64,
    addr: usize,
}

// SAFETY: a Kept is an owned reference moved between threads as a number; the object is only
// touched with its interpreter's GIL held (`into_owned`, `borrow`, the release queue).
unsafe impl Send for Kept {}
// SAFETY: as above; shared access only reads the numbers.
unsafe impl Sync for Kept {}

impl Kept {
    pub fn new(obj: Owned<'_>, context: u64) -> Self {
        Kept { generation: crate::runtime::lifecycle::generation(), context, addr: obj.into_raw() as usize }
    }

    pub fn context(&self) -> u64 {
        self.context
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The object's address (identity; a JS handle's `value`).
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// Whether the reference belongs to the running runtime generation.
    pub fn is_current(&self) -> bool {
        self.generation == crate::runtime::lifecycle::generation()
    }

    /// Borrow the object, if its runtime generation is still the running one.
    pub fn borrow<'a, 'py>(&'a self, gil: Gil<'py>) -> Option<Borrowed<'a, 'py>> {
        if !self.is_current() {
            return None;
        }
        // SAFETY: we hold a reference of the running generation; the GIL is held.
        Some(unsafe { Borrowed::from_addr(gil, self.addr) })
    }

    /// The reference as an `Owned`, with the GIL of its interpreter held; None (the reference
    /// forgotten, never touched) when its runtime generation ended.
    pub fn into_owned<'py>(self, gil: Gil<'py>) -> Option<Owned<'py>> {
        let this = std::mem::ManuallyDrop::new(self);
        if !this.is_current() {
            return None;
        }
        // SAFETY: a reference of the running generation, given to the Owned exactly once.
        unsafe { Owned::from_raw(gil, this.addr as PyPtr) }
    }
}

impl crate::error::Held for Kept {
    fn context(&self) -> u64 {
        self.context
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Kept {
    /// The `Kept` behind an error's held object.
    pub fn of(h: &dyn crate::error::Held) -> Option<&Kept> {
        h.as_any().downcast_ref::<Kept>()
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        queue(self.generation, self.context, Release::Object(self.addr));
    }
}

/// A buffer export (from `PyObject_GetBuffer`) held without the GIL by a JS view: released with
/// `PyBuffer_Release` under its interpreter's GIL, through the same queue.
pub struct KeptBuffer {
    generation: u64,
    context: u64,
    buffer: Option<Box<crate::sys::python::PyBuffer>>,
}

impl KeptBuffer {
    pub fn new(buffer: Box<crate::sys::python::PyBuffer>, context: u64) -> Self {
        KeptBuffer { generation: crate::runtime::lifecycle::generation(), context, buffer: Some(buffer) }
    }
}

impl Drop for KeptBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            queue(self.generation, self.context, Release::Buffer(SendBuffer(b)));
        }
    }
}

/// A boxed `Py_buffer` in the queue.
struct SendBuffer(Box<crate::sys::python::PyBuffer>);
// SAFETY: the buffer's pointers are only used to release it, under its interpreter's GIL, by
// the one thread that takes it from the queue.
unsafe impl Send for SendBuffer {}

/// What a queued release gives back.
enum Release {
    /// One reference to the object at this address.
    Object(usize),
    Buffer(SendBuffer),
}

/// A release waiting for a thread that holds its interpreter's GIL.
struct Pending {
    generation: u64,
    /// The interpreter (context id; 0 = main).
    context: u64,
    what: Release,
}

static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());
static PENDING_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Queue a release without taking the GIL (JS finalizers, other threads). Releases of an ended
/// runtime generation or context are dropped at once, never touching Python (a buffer's box is
/// freed).
fn queue(generation: u64, context: u64, what: Release) {
    if generation != crate::runtime::lifecycle::generation()
        || (context != 0 && !crate::runtime::context::is_alive(context))
    {
        return; // its interpreter ended: the memory is gone with it
    }
    if let Ok(mut q) = PENDING.lock() {
        q.push(Pending { generation, context, what });
        PENDING_COUNT.store(q.len(), Ordering::Release);
    }
}

/// Release queued references of `context` (the GIL of that context is held). Releases of ended
/// generations are dropped from the queue without touching Python.
pub fn drain(gil: Gil<'_>, generation: u64, context: u64) {
    let batch: Vec<Release> = {
        let Ok(mut q) = PENDING.lock() else { return };
        if q.is_empty() {
            return;
        }
        let mut mine = Vec::new();
        let mut keep = Vec::with_capacity(q.len());
        for p in q.drain(..) {
            if p.generation != generation {
                continue; // runtime ended since: never touch its memory
            }
            if p.context == context {
                mine.push(p.what);
            } else {
                keep.push(p);
            }
        }
        *q = keep;
        PENDING_COUNT.store(q.len(), Ordering::Release);
        mine
    };
    // The lock is released before calling into Python: a __del__ may queue more.
    for what in batch {
        match what {
            // SAFETY: each queued address carried one owned reference of this generation, given
            // back once under its interpreter's GIL.
            Release::Object(p) => drop(unsafe { Owned::from_raw(gil, p as PyPtr) }),
            // SAFETY: the box holds a live export of this generation, released once.
            Release::Buffer(mut b) => unsafe { crate::sys::python::concrete::release_buffer(gil, &mut b.0) },
        }
    }
}

/// Forget queued releases of a context that ended (its objects are gone with it).
pub fn forget_context(context: u64) {
    if let Ok(mut q) = PENDING.lock() {
        q.retain(|p| p.context != context);
        PENDING_COUNT.store(q.len(), Ordering::Release);
    }
}

/// Whether anything is queued (cheap check for the hot path).
pub fn has_pending() -> bool {
    PENDING_COUNT.load(Ordering::Acquire) != 0
}

/// How many releases wait for the next call that holds the GIL.
pub fn pending_count() -> usize {
    PENDING_COUNT.load(Ordering::Acquire)
}
