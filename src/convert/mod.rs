//! The serializer: JS values ↔ Python objects at C-API level, with no JSON in between.
//!
//! One file per type family, both directions side by side. `to_py` and `to_js` dispatch on the
//! value's type; containers recurse with a depth limit (`MAX_DEPTH`, a `RangeError` beyond) so
//! no input can overflow the stack.

pub mod callables;
pub mod numbers;
pub mod strings;

use crate::error::{Error, Result};
use crate::runtime::gil::Gil;
use crate::runtime::refs::{Borrowed, Owned};
use crate::sys::napi::{Env, Value, ValueType};
use crate::sys::python::api;

/// Nesting depth at which a conversion stops with a `RangeError`.
pub const MAX_DEPTH: usize = 1000;

/// JS → Python.
pub fn to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    match env.type_of(v)? {
        ValueType::napi_undefined | ValueType::napi_null => Ok(crate::runtime::objects::none(gil)),
        ValueType::napi_boolean => numbers::bool_to_py(gil, env.get_bool(v)?),
        ValueType::napi_number => numbers::number_to_py(gil, env.get_double(v)?),
        ValueType::napi_bigint => numbers::bigint_to_py(env, gil, v),
        ValueType::napi_string => strings::to_py(env, gil, v),
        other => Err(Error::Type(format!("python-ts: cannot convert a JavaScript {} to Python", type_word(other)))),
    }
}

/// Python → JS.
pub fn to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    let a = api();
    let t = obj.type_ptr();
    if obj.as_ptr() == a._Py_NoneStruct {
        return env.null();
    }
    if t == a.PyBool_Type {
        return env.boolean(obj.as_ptr() == a._Py_TrueStruct);
    }
    if t == a.PyLong_Type || obj.type_flags() & crate::sys::python::TPFLAGS_LONG_SUBCLASS != 0 {
        return numbers::int_to_js(env, gil, obj);
    }
    if t == a.PyFloat_Type {
        // SAFETY: GIL held; obj is a float.
        return env.double(unsafe { (a.PyFloat_AsDouble)(obj.as_ptr()) });
    }
    if t == a.PyUnicode_Type || obj.type_flags() & crate::sys::python::TPFLAGS_UNICODE_SUBCLASS != 0 {
        return strings::to_js(env, gil, obj);
    }
    Err(Error::Conversion(format!(
        "python-ts: a Python {} has no JavaScript form yet",
        crate::runtime::objects::type_name(gil, obj)
    )))
}

pub fn type_word(t: i32) -> &'static str {
    match t {
        ValueType::napi_undefined => "undefined",
        ValueType::napi_null => "null",
        ValueType::napi_boolean => "boolean",
        ValueType::napi_number => "number",
        ValueType::napi_string => "string",
        ValueType::napi_symbol => "symbol",
        ValueType::napi_object => "object",
        ValueType::napi_function => "function",
        ValueType::napi_external => "external",
        ValueType::napi_bigint => "bigint",
        _ => "value",
    }
}
