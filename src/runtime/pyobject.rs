//! `python_ts.pyobject`: the marker that sends a Python object to JS as itself (a handle), not by
//! the conversion table — the mirror of JS's `jsobject(x)`.
//!
//! A native type (made from a spec in each interpreter, like `JsProxy`'s base) so that the
//! serializer knows one with a pointer comparison and reads the object it carries from a fixed
//! word: no attribute lookup and no temporary name string on the way (`f(pyobject(items))` in a
//! loop is a hot path). Its deallocator is the mark: only this type has it (the type cannot be
//! subclassed), in every interpreter.

use crate::error::Result;
use crate::sys::python::native::{self, Spec};
use crate::sys::python::object::{self as objects, Exc};
use crate::sys::python::{api, object_head_size, Borrowed, Gil, Owned, PyPtr};
use crate::sys::python::{PyMethodDef, PyMethodDefPointer, PyType_Slot};
use once_cell::sync::OnceCell;
use std::ffi::c_void;
use std::os::raw::c_int;

const DOC: &std::ffi::CStr =
    c"pyobject(x): `x` goes to JavaScript as itself, a wrapped object (a handle for raw clib calls), \
whatever the conversion table would make of it: a list, dict or str passed live, with no copy (the mirror of JS's \
`jsobject(x)`). JS reads and writes it in Python: `a[i]`, `a.length` (a sequence's len), iteration, its methods. \
`.obj` is `x`.";

/// Where an instance keeps its object (an owned reference, never NULL once made).
///
/// # Safety
/// `obj` is a live instance of the type `spec()` makes.
unsafe fn slot(obj: PyPtr) -> *mut PyPtr {
    // SAFETY: forwarded from the caller.
    unsafe { native::word(obj) }
}

fn spec() -> &'static Spec {
    static SPEC: OnceCell<Spec> = OnceCell::new();
    SPEC.get_or_init(|| {
        let members: &'static mut [pyo3_ffi::PyMemberDef] = Box::leak(Box::new([
            pyo3_ffi::PyMemberDef {
                name: c"obj".as_ptr(),
                type_code: pyo3_ffi::Py_T_OBJECT_EX,
                offset: object_head_size() as isize,
                flags: pyo3_ffi::Py_READONLY,
                doc: c"The object that goes to JavaScript as itself.".as_ptr(),
            },
            pyo3_ffi::PyMemberDef { name: std::ptr::null(), type_code: 0, offset: 0, flags: 0, doc: std::ptr::null() },
        ]));
        let methods: &'static mut [PyMethodDef] = Box::leak(Box::new([
            PyMethodDef {
                ml_name: c"__reduce__".as_ptr(),
                ml_meth: PyMethodDefPointer { PyCFunction: reduce },
                ml_flags: pyo3_ffi::METH_NOARGS,
                ml_doc: std::ptr::null(),
            },
            PyMethodDef::zeroed(),
        ]));
        let slots: Vec<PyType_Slot> = vec![
            PyType_Slot { slot: pyo3_ffi::Py_tp_new, pfunc: new as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_dealloc, pfunc: dealloc as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_traverse, pfunc: traverse as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_clear, pfunc: clear as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_repr, pfunc: repr as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_members, pfunc: members.as_mut_ptr() as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_methods, pfunc: methods.as_mut_ptr() as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_doc, pfunc: DOC.as_ptr() as *mut c_void },
        ];
        // Not a base type: only this type has its deallocator (`inner_of`).
        Spec::one_word(c"python_ts.pyobject", pyo3_ffi::Py_TPFLAGS_DEFAULT | pyo3_ffi::Py_TPFLAGS_HAVE_GC, slots)
    })
}

/// The type `python_ts.pyobject` for the current interpreter (`support::install` puts it in the
/// module).
pub fn make_type(gil: Gil<'_>) -> Result<Owned<'_>> {
    spec().make_type(gil)
}

/// The object a `pyobject(x)` carries (`x`), or None when `obj` is no `pyobject`.
pub fn inner_of<'a, 'py>(obj: Borrowed<'a, 'py>) -> Option<Borrowed<'a, 'py>> {
    if !native::has_slot(obj, pyo3_ffi::Py_tp_dealloc, dealloc as *mut c_void) {
        return None;
    }
    // SAFETY: an instance of our type, alive for 'a; its word is set by `new` (cleared only by
    // `clear`, during collection of a cycle, after which no one reads it).
    let p = unsafe { slot(obj.as_ptr()).read() };
    // SAFETY: the instance owns a reference to `p`, so it lives as long as the borrow.
    unsafe { Borrowed::from_raw(Gil::assume(), p) }
}

unsafe extern "C" fn new(tp: PyPtr, args: PyPtr, kwargs: PyPtr) -> PyPtr {
    let a = api();
    // SAFETY: CPython calls tp_new with the GIL held.
    let gil = unsafe { Gil::assume() };
    // SAFETY: GIL held; `args` is a tuple, `kwargs` a dict or NULL.
    let (n, nk) = unsafe { ((a.PyTuple_Size)(args), if kwargs.is_null() { 0 } else { (a.PyDict_Size)(kwargs) }) };
    if n != 1 || nk != 0 {
        objects::set_error(
            gil,
            Exc::TypeError,
            &format!("pyobject(x) takes exactly one positional argument ({} given)", n + nk),
        );
        return std::ptr::null_mut();
    }
    // SAFETY: GIL held; `tp` is our heap type. A new, zeroed (and GC-tracked) instance or NULL.
    let obj = unsafe { (a.PyType_GenericAlloc)(tp, 0) };
    if obj.is_null() {
        return obj;
    }
    // SAFETY: one item in `args`, borrowed; the instance keeps a reference of its own.
    unsafe {
        let x = (a.PyTuple_GetItem)(args, 0);
        (a.Py_IncRef)(x);
        slot(obj).write(x);
    }
    obj
}

unsafe extern "C" fn traverse(slf: PyPtr, visit: pyo3_ffi::visitproc, arg: *mut c_void) -> c_int {
    // SAFETY: the collector calls this with the GIL held, for a live instance of our type.
    let x = unsafe { slot(slf).read() };
    if x.is_null() {
        return 0;
    }
    // SAFETY: as above; `visit` is the collector's.
    unsafe { visit(x, arg) }
}

unsafe extern "C" fn clear(slf: PyPtr) -> c_int {
    // SAFETY: GIL held; the word is ours, taken once.
    let x = unsafe { slot(slf).replace(std::ptr::null_mut()) };
    if !x.is_null() {
        // SAFETY: the reference the instance owned.
        unsafe { (api().Py_DecRef)(x) };
    }
    0
}

unsafe extern "C" fn dealloc(slf: PyPtr) {
    // SAFETY: CPython calls this with the GIL held for an object no one references.
    unsafe {
        (api().PyObject_GC_UnTrack)(slf as *mut c_void);
        clear(slf);
        native::free_instance(slf);
    }
}

unsafe extern "C" fn repr(slf: PyPtr) -> PyPtr {
    // SAFETY: GIL held (CPython called us); a live instance.
    let gil = unsafe { Gil::assume() };
    // SAFETY: as above.
    let Some(x) = inner_of(unsafe { Borrowed::from_addr(gil, slf as usize) }) else {
        return objects::py_str(gil, "pyobject(<cleared>)").map_or(std::ptr::null_mut(), Owned::into_raw);
    };
    // SAFETY: GIL held; a live object. A new string or NULL with the exception set (kept).
    let Some(r) = (unsafe { Owned::from_raw(gil, (api().PyObject_Repr)(x.as_ptr())) }) else {
        return std::ptr::null_mut();
    };
    or_raise(gil, objects::utf8_of(gil, r.borrow()).and_then(|r| objects::py_str(gil, &format!("pyobject({r})"))))
}

/// A result for CPython: the object, or NULL with the error raised.
fn or_raise(gil: Gil<'_>, r: Result<Owned<'_>>) -> PyPtr {
    match r {
        Ok(o) => o.into_raw(),
        Err(e) => {
            objects::set_error(gil, Exc::RuntimeError, &e.to_string());
            std::ptr::null_mut()
        }
    }
}

/// `copy` and `pickle`: made again from its object.
unsafe extern "C" fn reduce(slf: PyPtr, _: PyPtr) -> PyPtr {
    // SAFETY: GIL held (CPython called us); a live instance.
    let gil = unsafe { Gil::assume() };
    // SAFETY: as above.
    let me = unsafe { Borrowed::from_addr(gil, slf as usize) };
    let x = inner_of(me).map_or_else(|| objects::none(gil), |x| x.to_owned());
    or_raise(
        gil,
        objects::tuple(gil, vec![x]).and_then(|args| objects::tuple(gil, vec![me.type_object().to_owned(), args])),
    )
}
