//! JS functions as Python callables, and JS errors that cross into Python.

use crate::runtime::gil::Gil;
use crate::runtime::refs::Borrowed;

/// If `exc` carries a JS error that crossed into Python, its id.
pub fn js_error_id(_gil: Gil<'_>, _exc: Borrowed<'_, '_>) -> Option<u64> {
    None
}
