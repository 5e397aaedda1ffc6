//! Owned and borrowed references to Python objects, and the deferred-decref queue.
//!
//! Every raw pointer that enters from CPython is given an owner here, once: `Owned::from_raw`
//! for a new reference (decref on drop), `Borrowed::from_raw` for a borrowed one (never
//! decref'd). Both carry the `'py` lifetime of a `Gil` token, so they cannot outlive the GIL
//! that makes touching them safe. A reference that must outlive the GIL (a JS handle, a job, an
//! error on its way) is a `Kept` (a buffer export a `KeptBuffer`): dropping it queues its release
//! until a thread holds that interpreter's GIL — JS finalizers never take the GIL.

use crate::error::Result;
use crate::runtime::errors;
use crate::runtime::gil::Gil;
use crate::sys::python::{api, PyPtr};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A strong reference, released on drop (the GIL is held for `'py`).
pub struct Owned<'py> {
    ptr: NonNull<crate::sys::python::PyObject>,
    _gil: PhantomData<Gil<'py>>,
}

/// A borrowed reference, valid while its owner keeps the object alive.
#[derive(Clone, Copy)]
pub struct Borrowed<'a, 'py> {
    ptr: NonNull<crate::sys::python::PyObject>,
    _gil: PhantomData<(&'a (), Gil<'py>)>,
}

impl<'py> Owned<'py> {
    /// Takes ownership of a new reference; `None` for NULL.
    ///
    /// # Safety
    /// `p` is NULL or a new (owned) reference.
    #[inline]
    pub unsafe fn from_raw(_gil: Gil<'py>, p: PyPtr) -> Option<Self> {
        NonNull::new(p).map(|ptr| Owned { ptr, _gil: PhantomData })
    }

    /// Takes ownership of a new reference; NULL means a Python exception is set, which is
    /// fetched into the error.
    ///
    /// # Safety
    /// `p` is NULL (with an exception set) or a new reference.
    #[inline]
    pub unsafe fn from_result(gil: Gil<'py>, p: PyPtr) -> Result<Self> {
        // SAFETY: forwarded from the caller.
        match unsafe { Self::from_raw(gil, p) } {
            Some(o) => Ok(o),
            None => Err(errors::fetch(gil)),
        }
    }

    #[inline]
    pub fn as_ptr(&self) -> PyPtr {
        self.ptr.as_ptr()
    }

    #[inline]
    pub fn borrow(&self) -> Borrowed<'_, 'py> {
        Borrowed { ptr: self.ptr, _gil: PhantomData }
    }

    /// Gives the reference away (to a "steals a reference" API).
    #[inline]
    pub fn into_raw(self) -> PyPtr {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Keep the reference beyond the GIL, as belonging to interpreter `context`.
    pub fn keep(self, context: u64) -> Kept {
        Kept::new(self, context)
    }
}

impl Clone for Owned<'_> {
    fn clone(&self) -> Self {
        // SAFETY: GIL held for 'py; the object is alive (we own a reference).
        unsafe { (api().Py_IncRef)(self.as_ptr()) };
        Owned { ptr: self.ptr, _gil: PhantomData }
    }
}

impl Drop for Owned<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: GIL held for 'py (the token's lifetime); we own one reference.
        unsafe { (api().Py_DecRef)(self.ptr.as_ptr()) };
    }
}

impl<'a, 'py> Borrowed<'a, 'py> {
    /// # Safety
    /// `p` is a live object kept alive for `'a` by someone else.
    #[inline]
    pub unsafe fn from_raw(_gil: Gil<'py>, p: PyPtr) -> Option<Self> {
        NonNull::new(p).map(|ptr| Borrowed { ptr, _gil: PhantomData })
    }

    /// Borrow the object at an address that some owner keeps alive.
    ///
    /// # Safety
    /// `addr` is a live object of the running generation, kept alive for `'a`.
    #[inline]
    pub unsafe fn from_addr(_gil: Gil<'py>, addr: usize) -> Self {
        // SAFETY: forwarded from the caller; a live object's address is non-null.
        Borrowed { ptr: unsafe { NonNull::new_unchecked(addr as PyPtr) }, _gil: PhantomData }
    }

    #[inline]
    pub fn as_ptr(&self) -> PyPtr {
        self.ptr.as_ptr()
    }

    #[inline]
    pub fn to_owned(self) -> Owned<'py> {
        // SAFETY: GIL held; the object is alive for 'a.
        unsafe { (api().Py_IncRef)(self.as_ptr()) };
        Owned { ptr: self.ptr, _gil: PhantomData }
    }

    /// The object's type (borrowed: types outlive their instances).
    #[inline]
    pub fn type_ptr(self) -> PyPtr {
        // SAFETY: the object is alive; its head layout is fixed for every supported runtime.
        unsafe { crate::sys::python::type_of(self.as_ptr()) }
    }

    /// The type's flags (`PyType_GetFlags`), for the `*_Check` family.
    #[inline]
    #[allow(clippy::unnecessary_cast)] // c_ulong is 32-bit on Windows
    pub fn type_flags(self) -> u64 {
        // SAFETY: GIL held; `type_ptr` is a live type object.
        unsafe { (api().PyType_GetFlags)(self.type_ptr()) as u64 }
    }

    /// The address, for identity maps and JS handle values.
    #[inline]
    pub fn addr(self) -> usize {
        self.as_ptr() as usize
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
pub fn drain(_gil: Gil<'_>, generation: u64, context: u64) {
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
            // SAFETY: GIL held; each queued address carried one owned reference of this generation.
            Release::Object(p) => unsafe { (api().Py_DecRef)(p as PyPtr) },
            // SAFETY: GIL held; the box holds a live export of this generation, released once.
            Release::Buffer(mut b) => unsafe { (api().PyBuffer_Release)(&mut *b.0) },
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
