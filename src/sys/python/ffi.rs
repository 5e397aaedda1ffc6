//! Types that the abi3 view of pyo3-ffi hides or that we need with a stable, version-checked
//! layout. Each is declared as CPython 3.8–3.15 (GIL builds) lays it out; `Py_TRACE_REFS` builds
//! are refused by discovery. Free-threaded builds (3.13t+) have a larger object head — the type
//! at offset 24, a split reference count — which `type_of` and `sole_reference` read from
//! `set_free_threaded`'s flag, set once when the library is loaded.

use std::os::raw::{c_char, c_int, c_void};

pub use pyo3_ffi::{PyMethodDef, PyMethodDefPointer, PyObject, PyType_Slot, PyType_Spec};

/// The one raw object pointer type. Above `sys/`, it only appears inside the owned and borrowed
/// reference types of `runtime::refs`.
pub type PyPtr = *mut PyObject;

/// `wchar_t` on the platforms we build for (32-bit on Linux and macOS).
pub type WChar = i32;

/// Opaque `PyThreadState`.
#[repr(C)]
pub struct PyThreadState {
    _private: [u8; 0],
}

/// Opaque `PyInterpreterState`.
#[repr(C)]
pub struct PyInterpreterState {
    _private: [u8; 0],
}

/// `PyObject`'s stable head: refcount then type (GIL builds, no `Py_TRACE_REFS`).
#[repr(C)]
pub struct ObjectHead {
    pub ob_refcnt: isize,
    pub ob_type: PyPtr,
}

/// `Py_buffer`, unchanged since 3.0.
#[repr(C)]
pub struct PyBuffer {
    pub buf: *mut c_void,
    pub obj: PyPtr,
    pub len: isize,
    pub itemsize: isize,
    pub readonly: c_int,
    pub ndim: c_int,
    pub format: *mut c_char,
    pub shape: *mut isize,
    pub strides: *mut isize,
    pub suboffsets: *mut isize,
    pub internal: *mut c_void,
}

impl PyBuffer {
    pub const fn zeroed() -> Self {
        PyBuffer {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        }
    }
}

/// `PyStatus` (3.8+), returned by `Py_NewInterpreterFromConfig`.
#[repr(C)]
pub struct PyStatus {
    pub _type: c_int,
    pub func: *const c_char,
    pub err_msg: *const c_char,
    pub exitcode: c_int,
}

/// `PyInterpreterConfig` (3.12 and 3.13 share this layout).
#[repr(C)]
pub struct PyInterpreterConfig {
    pub use_main_obmalloc: c_int,
    pub allow_fork: c_int,
    pub allow_exec: c_int,
    pub allow_threads: c_int,
    pub allow_daemon_threads: c_int,
    pub check_multi_interp_extensions: c_int,
    pub gil: c_int,
}

pub const PY_INTERPRETER_CONFIG_OWN_GIL: c_int = 2;

pub const PY_FILE_INPUT: c_int = pyo3_ffi::Py_file_input;
pub const PY_EVAL_INPUT: c_int = pyo3_ffi::Py_eval_input;
pub const METH_VARARGS: c_int = pyo3_ffi::METH_VARARGS;
pub const METH_KEYWORDS: c_int = pyo3_ffi::METH_KEYWORDS;

// `c_ulong` is 64-bit here but 32-bit on Windows: the casts are for portability.
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_LONG_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_LONG_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_LIST_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_LIST_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_TUPLE_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_TUPLE_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_BYTES_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_BYTES_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_UNICODE_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_UNICODE_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_DICT_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_DICT_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_BASE_EXC_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_BASE_EXC_SUBCLASS as u64;
#[allow(clippy::unnecessary_cast)]
pub const TPFLAGS_TYPE_SUBCLASS: u64 = pyo3_ffi::Py_TPFLAGS_TYPE_SUBCLASS as u64;

pub const PYBUF_FULL_RO: c_int = 0x0004 | 0x0010 | 0x0008 | 0x0100;

static FREE_THREADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A machine word (`Py_ssize_t`, a pointer): 8 bytes on 64-bit targets, 4 on 32-bit ones.
pub const WORD: usize = std::mem::size_of::<usize>();

/// Where a free-threaded object head keeps its type: after `ob_tid` (a word), the padding (2),
/// `ob_mutex` (1), `ob_gc_bits` (1), `ob_ref_local` (4) and `ob_ref_shared` (a word).
const FT_TYPE_AT: usize = WORD + 8 + WORD;

/// The size of an object's head (`PyObject`): where the fields of a type made with
/// `PyType_FromSpec` begin — two words on a GIL build, `FT_TYPE_AT` and the type pointer on a
/// free-threaded one.
pub fn object_head_size() -> usize {
    if is_free_threaded() {
        FT_TYPE_AT + WORD
    } else {
        2 * WORD
    }
}

/// Record whether the loaded library is a free-threaded build (once, before any object is read).
pub fn set_free_threaded(yes: bool) {
    FREE_THREADED.store(yes, std::sync::atomic::Ordering::Release);
}

pub fn is_free_threaded() -> bool {
    FREE_THREADED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether `obj` has one reference only (so nothing else can reach it). Always false on a
/// free-threaded build, where the count is split between threads: callers then take their
/// general path.
///
/// # Safety
/// `obj` must point at a live Python object.
pub unsafe fn sole_reference(obj: PyPtr) -> bool {
    // SAFETY: the caller's contract.
    !is_free_threaded() && unsafe { refcount_of(obj) } == 1
}

/// The type of an object, read from its stable head.
///
/// # Safety
/// `obj` must point at a live Python object.
#[inline(always)]
pub unsafe fn type_of(obj: PyPtr) -> PyPtr {
    if is_free_threaded() {
        // SAFETY: a live object of a free-threaded build: its type pointer is at FT_TYPE_AT.
        return unsafe { ((obj as *const u8).add(FT_TYPE_AT) as *const PyPtr).read() };
    }
    // SAFETY: the caller guarantees a live object; its head layout is fixed (see module doc).
    unsafe { (*(obj as *const ObjectHead)).ob_type }
}

/// Where a list's item array is (`PyListObject.ob_item`) on a build with a GIL: after the
/// variable-size head (reference count, type, size: three words), on every version 3.8+.
const LIST_ITEMS_AT: usize = 3 * WORD;

/// Set slot `i` of a list made by `PyList_New` (stealing `item`) as `PyList_SET_ITEM` does,
/// without a call: the slot must be empty (NULL) or its old item is leaked. On a free-threaded
/// build (another layout) it calls `PyList_SetItem`.
///
/// # Safety
/// GIL held; `list` a live list of more than `i` items whose slot `i` is NULL; `item` owned.
#[inline(always)]
pub unsafe fn list_fill(list: PyPtr, i: usize, item: PyPtr) {
    if is_free_threaded() {
        // SAFETY: as the caller guarantees.
        unsafe { (super::api().PyList_SetItem)(list, i as isize, item) };
        return;
    }
    // SAFETY: a list of a GIL build: `ob_item` at LIST_ITEMS_AT points at its `len` slots.
    unsafe {
        let items = ((list as *const u8).add(LIST_ITEMS_AT) as *const *mut PyPtr).read();
        items.add(i).write(item);
    }
}

/// The current reference count (for tests and debugging output).
///
/// # Safety
/// `obj` must point at a live Python object.
pub unsafe fn refcount_of(obj: PyPtr) -> isize {
    // SAFETY: as for `type_of`. 3.12+ keep the count in the low 32 bits of the same word for
    // mortal objects, which is what a caller comparing counts wants; on a 32-bit target the
    // word is those 32 bits. (`as u32 as isize` is that mask at any pointer width.)
    unsafe { (*(obj as *const ObjectHead)).ob_refcnt as u32 as isize }
}
