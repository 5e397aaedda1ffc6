//! JS functions as Python callables, and JS errors that cross into Python.

use super::ToPy;
use crate::error::{Error, Result};
use crate::runtime::gil::Gil;
use crate::runtime::refs::{Borrowed, Owned};
use crate::sys::napi::Value;

/// A JS function → a Python callable.
pub fn to_py<'py>(_cx: &mut ToPy<'py>, _v: Value) -> Result<Owned<'py>> {
    Err(Error::Type("python-ts: cannot convert a JavaScript function to Python here".into()))
}

/// If `exc` carries a JS error that crossed into Python, its id.
pub fn js_error_id(_gil: Gil<'_>, _exc: Borrowed<'_, '_>) -> Option<u64> {
    None
}
