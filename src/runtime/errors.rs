//! Python exceptions → `Error::Python`, read while the GIL is held.
//!
//! 3.12+ hand the raised exception over with `PyErr_GetRaisedException`; older versions need
//! `PyErr_Fetch` + `PyErr_NormalizeException` and the traceback attached by hand. The
//! traceback text is Python's own `traceback.format_exception`, chained causes and contexts
//! included. Nothing here prints the exception through CPython (its printing helper turns `SystemExit` into a
//! process exit), and no Python error is left set on return.

use crate::error::{Error, PyErrInfo};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
pub use crate::sys::python::object::{clear, restore, take};
use crate::sys::python::Borrowed;
use crate::sys::python::Gil;

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
    let s = objects::str_quiet(gil, obj)?;
    Some(match pc::str_utf8(gil, s.borrow()) {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => "<unprintable>".into(),
    })
}

/// The exception's message read without calling `str()`: its one `args` item when that is a str.
/// At the recursion limit `str(RecursionError(...))` itself fails; this read runs no Python code.
fn only_str_arg(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Option<String> {
    let args = objects::getattr_opt(gil, exc, c"args")?;
    if pc::tuple_len(gil, args.borrow()) != 1 {
        return None;
    }
    // Borrowed from `args`, which keeps it alive; None for a non-str (the error cleared).
    let item = pc::tuple_get(gil, args.borrow(), 0)?;
    Some(String::from_utf8_lossy(pc::str_utf8(gil, item)?).into_owned())
}

/// `''.join(traceback.format_exception(type(e), e, e.__traceback__))`, or None (error cleared,
/// never described: describing must not recurse).
fn format_traceback(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Option<String> {
    // `python_ts.format_exception` (traceback's formatting, its imports safe from a replaced
    // `__import__`); before that module exists (an error while making it), traceback itself.
    let lines = match crate::runtime::support::loaded_module(gil, c"python_ts")
        .and_then(|m| objects::getattr_opt(gil, m, c"format_exception"))
    {
        Some(f) => objects::call_quiet(gil, f.borrow(), &[exc]),
        None => {
            let tb_mod = objects::import_quiet(gil, c"traceback")?;
            let format = objects::getattr_opt(gil, tb_mod.borrow(), c"format_exception")?;
            let ty = exc.type_object();
            let tb = objects::getattr_opt(gil, exc, c"__traceback__")?;
            objects::call_quiet(gil, format.borrow(), &[ty, exc, tb.borrow()])
        }
    };
    let Some(lines) = lines else {
        clear(gil);
        return None;
    };
    let mut out = String::new();
    for i in 0..pc::list_len(gil, lines.borrow()) {
        // Borrowed from the list of str, which nothing changes meanwhile.
        let line = pc::list_get(gil, lines.borrow(), i)?;
        out.push_str(&quiet_str(gil, line)?);
    }
    Some(out)
}

/// If `exc` carries a JS error that crossed into Python, its id.
pub fn js_error_id(gil: Gil<'_>, exc: Borrowed<'_, '_>) -> Option<u64> {
    let v = objects::getattr_opt(gil, exc, c"_python_ts_js_id")?;
    let n = pc::int_to_i64(gil, v.borrow())?;
    if n > 0 {
        Some(n as u64)
    } else {
        None
    }
}
