//! Owned and borrowed references to Python objects, and the deferred-decref queue.
//!
//! Every raw pointer that enters from CPython is given an owner here, once: `Owned::from_raw`
//! for a new reference (decref on drop), `Borrowed::from_raw` for a borrowed one (never
//! decref'd). Both carry the `'py` lifetime of a `Gil` token, so they cannot outlive the GIL
//! that makes touching them safe. A reference that must outlive the GIL (a JS handle) is kept as
//! a `Detached` and given back to Python through `decref_later`, which queues it until some
//! thread holds the GIL again: JS finalizers never take the GIL.

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

    /// Gives the reference away (to a "steals a reference" API, or to a `Detached`).
    #[inline]
    pub fn into_raw(self) -> PyPtr {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }

    pub fn detach(self) -> Detached {
        Detached(self.into_raw() as usize)
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

/// A strong reference held without the GIL (inside a JS handle, a queued job). It must be given
/// back with `into_owned` (GIL held) or `decref_later`; dropping it leaks the reference, which
/// is the safe failure after the runtime ended.
#[derive(Debug)]
pub struct Detached(usize);

impl Detached {
    pub fn addr(&self) -> usize {
        self.0
    }

    /// Re-owns an address that holds one reference (kept as a number inside a JS handle).
    pub fn from_addr(addr: usize) -> Self {
        Detached(addr)
    }

    /// Borrow the object at an address that some owner keeps alive.
    ///
    /// # Safety
    /// `addr` is a live object of the running generation, kept alive for `'a`.
    pub unsafe fn borrow_addr<'a, 'py>(gil: Gil<'py>, addr: usize) -> Borrowed<'a, 'py> {
        // SAFETY: forwarded from the caller; addr is non-null.
        unsafe { Borrowed::from_raw(gil, addr as PyPtr).unwrap_unchecked() }
    }

    /// # Safety
    /// The runtime generation that made this reference must still be running.
    pub unsafe fn into_owned<'py>(self, gil: Gil<'py>) -> Owned<'py> {
        // SAFETY: a Detached always holds a non-null owned reference.
        unsafe { Owned::from_raw(gil, self.0 as PyPtr).unwrap_unchecked() }
    }

    /// Borrow while the GIL is held.
    ///
    /// # Safety
    /// The runtime generation that made this reference must still be running.
    pub unsafe fn borrow<'a, 'py>(&'a self, gil: Gil<'py>) -> Borrowed<'a, 'py> {
        // SAFETY: non-null owned reference kept alive by self.
        unsafe { Borrowed::from_raw(gil, self.0 as PyPtr).unwrap_unchecked() }
    }
}

/// A strong reference kept beyond the GIL by a value that may travel between threads (an error
/// on its way to JS): it records its generation and context, and queues its release when
/// dropped (`decref_later`), so dropping it anywhere is safe.
#[derive(Debug)]
pub struct Kept {
    generation: u64,
    context: u64,
    addr: usize,
}

impl Kept {
    pub fn new(obj: Owned<'_>, context: u64) -> Self {
        Kept { generation: crate::runtime::lifecycle::generation(), context, addr: obj.into_raw() as usize }
    }

    pub fn context(&self) -> u64 {
        self.context
    }

    /// Borrow the object, if its runtime generation is still the running one.
    pub fn borrow<'a, 'py>(&'a self, gil: Gil<'py>) -> Option<Borrowed<'a, 'py>> {
        if self.generation != crate::runtime::lifecycle::generation() {
            return None;
        }
        // SAFETY: we hold a reference of the running generation; the GIL is held.
        Some(unsafe { Detached::borrow_addr(gil, self.addr) })
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
        decref_later(self.generation, self.context, Detached(self.addr));
    }
}

/// Pointers to decref the next time a thread holds the GIL, tagged with their runtime generation
/// and interpreter (context id; 0 = main).
/// (generation, context, address, is a boxed `Py_buffer` to release rather than an object).
static PENDING: Mutex<Vec<(u64, u64, usize, bool)>> = Mutex::new(Vec::new());
static PENDING_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Queue a reference for release without taking the GIL (JS finalizers, other threads).
pub fn decref_later(generation: u64, context: u64, obj: Detached) {
    if context != 0 && !crate::runtime::context::is_alive(context) {
        return; // its interpreter ended: the memory is gone with it
    }
    if let Ok(mut q) = PENDING.lock() {
        q.push((generation, context, obj.0, false));
        PENDING_COUNT.store(q.len(), Ordering::Release);
    }
}

/// Release queued references of `context` (the GIL of that context is held). References of
/// ended generations are dropped from the queue without touching Python.
/// Queue a buffer export (a boxed `Py_buffer` from `PyObject_GetBuffer`) for release.
pub fn release_buffer_later(generation: u64, context: u64, buffer: Box<crate::sys::python::PyBuffer>) {
    let p = Box::into_raw(buffer) as usize;
    if context != 0 && !crate::runtime::context::is_alive(context) {
        // SAFETY: the box was just leaked here; its interpreter is gone, so only the box is freed.
        drop(unsafe { Box::from_raw(p as *mut crate::sys::python::PyBuffer) });
        return;
    }
    if let Ok(mut q) = PENDING.lock() {
        q.push((generation, context, p, true));
        PENDING_COUNT.store(q.len(), Ordering::Release);
    }
}

pub fn drain(_gil: Gil<'_>, generation: u64, context: u64) {
    let batch: Vec<(usize, bool)> = {
        let Ok(mut q) = PENDING.lock() else { return };
        if q.is_empty() {
            return;
        }
        let mut mine = Vec::new();
        q.retain(|&(g, c, p, is_buffer)| {
            if g != generation {
                // Runtime ended since: never touch its memory (a buffer's box is ours to free).
                if is_buffer {
                    // SAFETY: a box leaked by `release_buffer_later`, freed once here.
                    drop(unsafe { Box::from_raw(p as *mut crate::sys::python::PyBuffer) });
                }
                return false;
            }
            if c == context {
                mine.push((p, is_buffer));
                return false;
            }
            true
        });
        PENDING_COUNT.store(q.len(), Ordering::Release);
        mine
    };
    // The lock is released before calling into Python: a __del__ may queue more.
    for (p, is_buffer) in batch {
        if is_buffer {
            // SAFETY: GIL held; the box holds a live export of this generation, released once.
            unsafe {
                let mut b = Box::from_raw(p as *mut crate::sys::python::PyBuffer);
                (api().PyBuffer_Release)(&mut *b);
            }
        } else {
            // SAFETY: GIL held; each queued pointer carried one owned reference of this generation.
            unsafe { (api().Py_DecRef)(p as PyPtr) };
        }
    }
}

/// Forget queued references of a context that ended (its objects are gone with it).
pub fn forget_context(context: u64) {
    if let Ok(mut q) = PENDING.lock() {
        q.retain(|&(_, c, p, is_buffer)| {
            if c == context && is_buffer {
                // SAFETY: a box leaked by `release_buffer_later`; its interpreter ended.
                drop(unsafe { Box::from_raw(p as *mut crate::sys::python::PyBuffer) });
            }
            c != context
        });
        PENDING_COUNT.store(q.len(), Ordering::Release);
    }
}

/// Whether anything is queued (cheap check for the hot path).
pub fn has_pending() -> bool {
    PENDING_COUNT.load(Ordering::Acquire) != 0
}
