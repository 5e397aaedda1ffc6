//! Date ↔ datetime. JS → Python: an aware `datetime` in UTC. Python → JS: an aware datetime
//! by its instant, a naive one read as local time (as `datetime.timestamp()` does). An invalid
//! Date is a `RangeError`.

use crate::error::{Error, Result};
use crate::runtime::support;
use crate::sys::napi::{Env, Value};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};

pub fn date_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let ms = env.get_date(v)?;
    if !ms.is_finite() {
        return Err(Error::Range("python-ts: an Invalid Date cannot be converted to Python".into()));
    }
    let f = support::attr(gil, "date_from_ms")?;
    let arg = objects::float(gil, ms)?;
    objects::call_with(gil, f.borrow(), &[arg.borrow()])
}

/// Milliseconds since the epoch if `obj` is a `datetime.datetime` (only looked up when the
/// `datetime` module is loaded: otherwise no such object can exist).
pub fn datetime_ms(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Option<f64>> {
    let Some(module) = support::loaded_module(gil, c"datetime") else { return Ok(None) };
    let class = objects::getattr(gil, module, "datetime")?;
    if !pc::is_instance(gil, obj, class.borrow())? {
        return Ok(None);
    }
    let f = support::attr(gil, "ms_from_date")?;
    let ms = objects::call_with(gil, f.borrow(), &[obj])?;
    Ok(Some(pc::float_value(gil, ms.borrow())))
}
