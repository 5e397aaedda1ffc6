//! Date ↔ datetime. JS → Python: an aware `datetime` in UTC. Python → JS: an aware datetime
//! by its instant, a naive one read as local time (as `datetime.timestamp()` does; a naive
//! pandas Timestamp and a numpy datetime64 as UTC, as pandas and numpy read them), NaT as null.
//! An invalid Date is a `RangeError`.

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

/// What a date-like Python object is in JS.
pub enum Instant {
    /// Milliseconds since the epoch: a Date.
    Ms(f64),
    /// A missing instant (pandas' and numpy's NaT): null.
    Missing,
}

/// The instant of a `datetime.datetime` (pandas' Timestamp and NaT too) or a numpy `datetime64`;
/// None for anything else, and for instants beyond a Date's range (they stay wrapped). Each type
/// is only looked up when its module is loaded: otherwise no such object can exist.
pub fn instant(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Option<Instant>> {
    let helper = if is_instance_of(gil, obj, c"datetime", c"datetime")? {
        "ms_from_date"
    } else if is_instance_of(gil, obj, c"numpy", c"datetime64")? {
        "ms_from_datetime64"
    } else {
        return Ok(None);
    };
    let f = support::attr(gil, helper)?;
    let ms = objects::call_with(gil, f.borrow(), &[obj])?;
    if objects::is_none(ms.borrow()) {
        return Ok(Some(Instant::Missing));
    }
    let ms = pc::float_value(gil, ms.borrow());
    // ECMAScript's time range: ±8.64e15 ms.
    Ok((ms.abs() <= 8.64e15).then_some(Instant::Ms(ms)))
}

/// Whether `obj` is an instance of `module.name`, when that module is loaded.
fn is_instance_of(gil: Gil<'_>, obj: Borrowed<'_, '_>, module: &std::ffi::CStr, name: &std::ffi::CStr) -> Result<bool> {
    let Some(m) = support::loaded_module(gil, module) else { return Ok(false) };
    let Some(class) = objects::getattr_opt(gil, m, name) else { return Ok(false) };
    pc::is_instance(gil, obj, class.borrow())
}
