//! Python exceptions → `Error::Python`, read while the GIL is held.
//!
//! 3.12+ hand the raised exception over with `PyErr_GetRaisedException`; older versions need
//! `PyErr_Fetch` + `PyErr_NormalizeException` and the traceback attached by hand. The
//! traceback text is Python's own `traceback.format_exception`, chained causes and contexts
//! included. Nothing here prints the exception through CPython (its printing helper turns `SystemExit` into a
//! process exit), and no Python error is left set on return.

use crate::error::{Error, PyErrInfo};
use crate::sys::python::object as objects;
pub use crate::sys::python::object::{clear, restore, take};
use crate::sys::python::Gil;
use crate::sys::python::{api, PyPtr};
use crate::sys::python::{Borrowed, Owned};

/// The pending exception as an `Error` (and cleared). Without one, a runtime error that says so.
pub fn fetch(gil: Gil<'_>) -> Error {
    match take(gil) {
        Some(exc) => describe(gil, exc.borrow()),
        None => Error::Runtime("python-ts: a Python call failed without setting an exception".into()),
    }
}

/// Describe an exception object for JS.
pub fn describe(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Error {
    // SAFETY: GIL held; types outlive instances.
    let ty = unsafe { Borrowed::from_raw(gil, exc.type_ptr()).unwrap_unchecked() };
    let name = attr_text(gil, ty, c"__name__").unwrap_or_else(|| "Exception".into());
    let qualname = attr_text(gil, ty, c"__qualname__").unwrap_or_else(|| name.clone());
    let module = attr_text(gil, ty, c"__module__").unwrap_or_default();
    let py_type = if module.is_empty() || module == "builtins" { qualname } else { format!("{module}.{qualname}") };
    let text = quiet_str(gil, exc)
        .or_else(|| only_str_arg(gil, exc))
        .unwrap_or_else(|| "<str() of the exception failed>".into());
    let message = if text.is_empty() { name.clone() } else { format!("{name}: {text}") };
    let traceback = format_traceback(gil, exc).unwrap_or_else(|| {
        clear(gil);
        format!("{message}\n")
    });
    let js_error = js_error_id(gil, exc);
    let kept: Option<std::sync::Arc<dyn crate::error::Held>> = Some(std::sync::Arc::new(
        crate::runtime::refs::Kept::new(exc.to_owned(), crate::runtime::attach::current_context()),
    ));
    Error::Python(Box::new(PyErrInfo { name, message, traceback, py_type, js_error, exc: kept }))
}

fn attr_text(gil: Gil<'_>, obj: Borrowed<'_, '_>, name: &std::ffi::CStr) -> Option<String> {
    let v = objects::getattr_opt(gil, obj, name)?;
    quiet_str(gil, v.borrow())
}

/// `str(obj)` for error reporting: failures are cleared, never described.
fn quiet_str(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Option<String> {
    // SAFETY: GIL held; new reference or NULL.
    let s = unsafe { Owned::from_raw(gil, (api().PyObject_Str)(obj.as_ptr())) };
    let Some(s) = s else {
        clear(gil);
        return None;
    };
    let mut len = 0isize;
    // SAFETY: GIL held; a str's UTF-8 buffer or NULL.
    let p = unsafe { (api().PyUnicode_AsUTF8AndSize)(s.as_ptr(), &mut len) };
    if p.is_null() {
        clear(gil);
        return Some("<unprintable>".into());
    }
    // SAFETY: `len` bytes owned by `s`.
    Some(String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }).into_owned())
}

/// The exception's message read without calling `str()`: its one `args` item when that is a str.
/// At the recursion limit `str(RecursionError(...))` itself fails; this read runs no Python code.
fn only_str_arg(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Option<String> {
    let args = objects::getattr_opt(gil, exc, c"args")?;
    let a = api();
    // SAFETY: GIL held; size of a tuple (or -1 with an error for anything else, cleared).
    let n = unsafe { (a.PyTuple_Size)(args.as_ptr()) };
    if n != 1 {
        clear(gil);
        return None;
    }
    // SAFETY: index 0 of a 1-tuple, borrowed from it.
    let item = unsafe { Borrowed::from_raw(gil, (a.PyTuple_GetItem)(args.as_ptr(), 0))? };
    let mut len = 0isize;
    // SAFETY: GIL held; NULL with an error for a non-str (cleared).
    let p = unsafe { (a.PyUnicode_AsUTF8AndSize)(item.as_ptr(), &mut len) };
    if p.is_null() {
        clear(gil);
        return None;
    }
    // SAFETY: `len` bytes owned by `item`, which `args` keeps alive.
    Some(String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }).into_owned())
}

/// `''.join(traceback.format_exception(type(e), e, e.__traceback__))`, or None (error cleared,
/// never described: describing must not recurse).
fn format_traceback(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Option<String> {
    let a = api();
    // `python_ts.format_exception` (traceback's formatting, its imports safe from a replaced
    // `__import__`); before that module exists (an error while making it), traceback itself.
    let lines = match crate::runtime::support::loaded_module(gil, c"python_ts")
        .and_then(|m| objects::getattr_opt(gil, m, c"format_exception"))
    {
        Some(f) => objects::call_quiet(gil, f.borrow(), &[exc]),
        None => {
            // SAFETY: GIL held; new reference or NULL.
            let tb_mod = unsafe { Owned::from_raw(gil, (a.PyImport_ImportModule)(c"traceback".as_ptr())) };
            let Some(tb_mod) = tb_mod else {
                clear(gil);
                return None;
            };
            let format = objects::getattr_opt(gil, tb_mod.borrow(), c"format_exception")?;
            // SAFETY: GIL held; types outlive instances.
            let ty = unsafe { Borrowed::from_raw(gil, exc.type_ptr())? };
            let tb = objects::getattr_opt(gil, exc, c"__traceback__")?;
            objects::call_quiet(gil, format.borrow(), &[ty, exc, tb.borrow()])
        }
    };
    let Some(lines) = lines else {
        clear(gil);
        return None;
    };
    // SAFETY: GIL held; a list of str.
    let n = unsafe { (a.PyList_Size)(lines.as_ptr()) };
    let mut out = String::new();
    for i in 0..n.max(0) {
        // SAFETY: index in range; borrowed from the list.
        let line = unsafe { Borrowed::from_raw(gil, (a.PyList_GetItem)(lines.as_ptr(), i))? };
        out.push_str(&quiet_str(gil, line)?);
    }
    Some(out)
}

/// Set a Python exception of type `exc_type` with `msg` (for errors raised into Python).
/// `exc_type` is one of the table's `PyExc_*` classes, alive for the life of the runtime.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn set(_gil: Gil<'_>, exc_type: PyPtr, msg: &str) {
    let c = std::ffi::CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: GIL held; exc_type is an exception class.
    unsafe { (api().PyErr_SetString)(exc_type, c.as_ptr()) };
}

/// If `exc` carries a JS error that crossed into Python, its id.
pub fn js_error_id(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Option<u64> {
    let v = objects::getattr_opt(gil, exc, c"_python_ts_js_id")?;
    let mut overflow = 0;
    // SAFETY: GIL held; any object (a non-int gives -1 with an error, cleared below).
    let n = unsafe { (api().PyLong_AsLongLongAndOverflow)(v.as_ptr(), &mut overflow) };
    clear(gil);
    if n > 0 {
        Some(n as u64)
    } else {
        None
    }
}
