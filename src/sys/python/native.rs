//! Types of our own, made from a spec in each interpreter (`PyType_FromSpec`): an object head and
//! one word of data after it. `JsProxy`'s native base and `python_ts.pyobject` are such types.
//!
//! Each is known by one of its slot functions (only our code has that function), read with
//! `PyType_GetSlot` — no lookup of the class by name, which works in every interpreter.

use super::{api, object_head_size, type_of, Borrowed, Gil, Owned, PyPtr, PyType_Slot, PyType_Spec};
use crate::error::Result;
use std::ffi::{c_void, CStr};

/// A spec leaked for the life of the process (CPython keeps reading it through the types made
/// from it).
pub struct Spec(PyType_Spec);

// SAFETY: the spec and its slots are leaked, immutable data (C strings, function pointers and
// the static tables they point at).
unsafe impl Send for Spec {}
// SAFETY: as above.
unsafe impl Sync for Spec {}

impl Spec {
    /// A type named `name` whose instances have one word after their head; `slots` without the
    /// closing zero slot.
    pub fn one_word(name: &'static CStr, flags: std::os::raw::c_ulong, mut slots: Vec<PyType_Slot>) -> Spec {
        slots.push(PyType_Slot { slot: 0, pfunc: std::ptr::null_mut() });
        Spec(PyType_Spec {
            name: name.as_ptr(),
            basicsize: (object_head_size() + std::mem::size_of::<usize>()) as i32,
            itemsize: 0,
            flags: flags as u32,
            slots: Box::leak(slots.into_boxed_slice()).as_mut_ptr(),
        })
    }

    /// A new type of this spec in the current interpreter.
    pub fn make_type<'py>(&'static self, gil: Gil<'py>) -> Result<Owned<'py>> {
        // SAFETY: GIL held; the spec is static and CPython only reads it. A new type or NULL with
        // an exception.
        unsafe { Owned::from_result(gil, (api().PyType_FromSpec)(&self.0 as *const PyType_Spec as *mut PyType_Spec)) }
    }
}

/// The word an instance of a one-word type keeps after its head.
///
/// # Safety
/// `obj` is a live instance of a type made from `Spec::one_word` (or a subclass).
pub unsafe fn word<T>(obj: PyPtr) -> *mut *mut T {
    // SAFETY: the caller's contract: the instance has a word after its head (`basicsize`).
    unsafe { (obj as *mut u8).add(object_head_size()) as *mut *mut T }
}

/// Whether `obj`'s type has `f` as its slot `slot` (a type of ours, or a subclass that inherits
/// that slot).
pub fn has_slot(obj: Borrowed<'_, '_>, slot: i32, f: *mut c_void) -> bool {
    // Heap types only: `PyType_GetSlot` refuses static types before 3.10.
    #[allow(clippy::unnecessary_cast)]
    if obj.type_flags() & pyo3_ffi::Py_TPFLAGS_HEAPTYPE as u64 == 0 {
        return false;
    }
    // SAFETY: GIL held (the borrow's token); a live heap type.
    unsafe { (api().PyType_GetSlot)(obj.type_ptr(), slot) == f }
}

/// The end of a deallocator of a heap type: the instance freed by its type's `tp_free`, and the
/// reference the instance held to its type given back.
///
/// # Safety
/// GIL held; `obj` is an instance of a heap type that no one references, its own data already
/// released; it is not used after.
pub unsafe fn free_instance(obj: PyPtr) {
    let a = api();
    // SAFETY: the caller's contract.
    unsafe {
        let tp = type_of(obj);
        let free = (a.PyType_GetSlot)(tp, pyo3_ffi::Py_tp_free);
        if !free.is_null() {
            let free: unsafe extern "C" fn(*mut c_void) = std::mem::transmute(free);
            free(obj as *mut c_void);
        }
        (a.Py_DecRef)(tp);
    }
}
