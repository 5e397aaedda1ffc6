//! Date ↔ datetime. JS → Python: an aware `datetime` in UTC. Python → JS: an aware datetime
//! by its instant, a naive one read as local time (as `datetime.timestamp()` does). An invalid
//! Date is a `RangeError`.

use crate::error::{Error, Result};
use crate::runtime::support;
use crate::sys::napi::{Env, Value};
use crate::sys::python::api;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};

pub fn date_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let ms = env.get_date(v)?;
    if !ms.is_finite() {
        return Err(Error::Range("python-ts: an Invalid Date cannot be converted to Python".into()));
    }
    let f = support::attr(gil, "date_from_ms")?;
    // SAFETY: GIL held.
    let arg = unsafe { Owned::from_result(gil, (api().PyFloat_FromDouble)(ms))? };
    objects::call_with(gil, f.borrow(), &[arg.borrow()])
}

/// Milliseconds since the epoch if `obj` is a `datetime.datetime` (only looked up when the
/// `datetime` module is loaded: otherwise no such object can exist).
pub fn datetime_ms(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Option<f64>> {
    let Some(module) = support::loaded_module(gil, c"datetime") else { return Ok(None) };
    let class = objects::getattr(gil, module, "datetime")?;
    // SAFETY: GIL held.
    let r = unsafe { (api().PyObject_IsInstance)(obj.as_ptr(), class.as_ptr()) };
    if r < 0 {
        return Err(crate::runtime::errors::fetch(gil));
    }
    if r == 0 {
        return Ok(None);
    }
    let f = support::attr(gil, "ms_from_date")?;
    let ms = objects::call_with(gil, f.borrow(), &[obj])?;
    // SAFETY: GIL held; a float.
    let v = unsafe { (api().PyFloat_AsDouble)(ms.as_ptr()) };
    Ok(Some(v))
}
