//! `clib._internals`: the seed's internal helpers under their names, for low-level debugging
//! (for example a round trip through both converters). Each is the same Rust function the
//! library itself uses. From JS they take values and handles only — no number or string ever
//! becomes a pointer: `deserialize_pyobject` of a forged wrapper is an `Error` like any other
//! forged handle. The JSON helpers serve debugging output only; no conversion uses JSON.

use super::{context_arg, describe_arg, is_nullish};
use crate::convert::{handles, numbers, ToJs, ToPy};
use crate::env::boundary::{dispatch, Export};
use crate::error::{Error, Result};
use crate::runtime::errors;
use crate::sys::napi::{Args, Env, Value, ValueType};
use crate::sys::python::object as objects;

static EXPORTS: &[Export] = &[
    Export { name: "str_to_uint64", f: str_to_uint64 },
    Export { name: "uint64_to_str", f: uint64_to_str },
    Export { name: "is_pyobject", f: is_pyobject },
    Export { name: "is_pycontext", f: is_pycontext },
    Export { name: "serialize_pyobject", f: serialize_pyobject },
    Export { name: "deserialize_pyobject", f: deserialize_pyobject },
    Export { name: "serialize_pycontext", f: serialize_pycontext },
    Export { name: "deserialize_pycontext", f: deserialize_pycontext },
    Export { name: "napi_parse_json", f: napi_parse_json },
    Export { name: "napi_dump_json", f: napi_dump_json },
    Export { name: "napi_number_is_int", f: napi_number_is_int },
    Export { name: "napi_object_is_empty", f: napi_object_is_empty },
    Export { name: "napi_value_to_pyobject", f: napi_value_to_pyobject },
    Export { name: "pyobject_to_napi_value", f: pyobject_to_napi_value },
    Export { name: "throw_pyexception_in_javascript", f: throw_pyexception_in_javascript },
    Export { name: "conversion_stats", f: conversion_stats },
    Export { name: "thread_states", f: thread_states },
];

/// `conversion_stats()` → `{ recordsToPy, recordsToJs, externalStrings, strLayout }`: how often
/// the record columns and external strings were used in this process, and the str layout the
/// probe found. For tests and debugging.
fn conversion_stats(env: Env, _args: &Args) -> Result<Value> {
    use crate::convert::{records, strings};
    use std::sync::atomic::Ordering::Relaxed;
    let o = env.object()?;
    env.set_named(o, "recordsToPy", env.double(records::TO_PY_ARRAYS.load(Relaxed) as f64)?)?;
    env.set_named(o, "recordsToJs", env.double(records::TO_JS_ARRAYS.load(Relaxed) as f64)?)?;
    env.set_named(o, "externalStrings", env.double(strings::EXTERNAL_STRINGS.load(Relaxed) as f64)?)?;
    env.set_named(o, "strLayout", env.string(strings::layout_name())?)?;
    Ok(o)
}

/// `thread_states()` → `{ contexts, ending }`: how many thread states of contexts exist (those
/// of threads that died included), and how many deleted contexts wait for threads to give theirs
/// back.
fn thread_states(env: Env, _args: &Args) -> Result<Value> {
    let o = env.object()?;
    let (states, ending) = crate::runtime::attach::context_state_count();
    env.set_named(o, "contexts", env.double(states as f64)?)?;
    env.set_named(o, "ending", env.double(ending as f64)?)?;
    Ok(o)
}

pub fn register(env: Env, exports: Value) -> Result<()> {
    let o = env.object()?;
    for export in EXPORTS {
        let f = env.function(export.name, Some(dispatch), export as *const Export as *mut _)?;
        env.set_named(o, export.name, f)?;
    }
    env.set_named(exports, "_internals", o)
}

fn arg(args: &Args, i: usize, f: &str) -> Result<Value> {
    args.get(i).ok_or_else(|| Error::Type(format!("python-ts: {f}: missing argument {}", i + 1)))
}

/// Decimal text → u64 (pointer values in JS are kept as decimal strings).
pub fn parse_uint64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn str_to_uint64(env: Env, args: &Args) -> Result<Value> {
    let s = super::string_arg(env, args, 0, "str_to_uint64(s)", "s")?;
    let n = parse_uint64(&s).ok_or_else(|| {
        Error::Range(format!("python-ts: str_to_uint64: {s:?} is not a decimal 64-bit unsigned integer"))
    })?;
    env.bigint_words(false, &[n])
}

fn uint64_to_str(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "uint64_to_str(n)")?;
    let n = match env.type_of(v)? {
        ValueType::napi_bigint => {
            let (neg, words) = env.get_bigint_words(v)?;
            if neg || words.len() > 1 {
                return Err(Error::Range("python-ts: uint64_to_str: value out of the 64-bit unsigned range".into()));
            }
            words.first().copied().unwrap_or(0)
        }
        ValueType::napi_number => {
            let d = env.get_double(v)?;
            if !((0.0..=numbers::MAX_SAFE).contains(&d) && d.trunc() == d) {
                return Err(Error::Range(
                    "python-ts: uint64_to_str: a number must be a safe non-negative integer".into(),
                ));
            }
            d as u64
        }
        _ => {
            return Err(Error::Type(format!(
                "python-ts: uint64_to_str(n): n must be a BigInt or number, got {}",
                describe_arg(env, Some(v))?
            )))
        }
    };
    env.string(&n.to_string())
}

fn is_pyobject(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "is_pyobject(x)")?;
    env.boolean(handles::is_handle(env, v)?)
}

fn is_pycontext(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "is_pycontext(x)")?;
    env.boolean(crate::clib::contexts::is_context_object(env, v)?)
}

fn serialize_pyobject(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "serialize_pyobject(handle)")?;
    handles::data_of(env, v)?;
    let o = env.object()?;
    for key in ["type", "value", "pytype", "time", "index", "state", "repr"] {
        if env.has_named(v, key)? {
            env.set_named(o, key, env.get_named(v, key)?)?;
        }
    }
    Ok(o)
}

fn deserialize_pyobject(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "deserialize_pyobject(handle)")?;
    handles::data_of(env, v)?;
    Ok(v)
}

fn serialize_pycontext(env: Env, args: &Args) -> Result<Value> {
    let ctx = context_arg(env, args, 0, "serialize_pycontext")?;
    let o = env.object()?;
    if let Some(state) = ctx.state {
        for key in ["type", "state", "main", "time", "index"] {
            if env.has_named(state, key)? {
                env.set_named(o, key, env.get_named(state, key)?)?;
            }
        }
    }
    Ok(o)
}

fn deserialize_pycontext(env: Env, args: &Args) -> Result<Value> {
    let ctx = context_arg(env, args, 0, "deserialize_pycontext")?;
    match ctx.state {
        Some(s) => Ok(s),
        None => env.object(),
    }
}

fn json_call(env: Env, method: &str, v: Value) -> Result<Value> {
    let data = crate::env::get(env)?;
    let json = data.helper(env, |h| h.json)?;
    let f = env.get_named(json, method)?;
    env.call(json, f, &[v])
}

fn napi_parse_json(env: Env, args: &Args) -> Result<Value> {
    let s = super::string_arg(env, args, 0, "napi_parse_json(text)", "text")?;
    json_call(env, "parse", env.string(&s)?)
}

fn napi_dump_json(env: Env, args: &Args) -> Result<Value> {
    json_call(env, "stringify", arg(args, 0, "napi_dump_json(value)")?)
}

fn napi_number_is_int(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "napi_number_is_int(n)")?;
    if env.type_of(v)? != ValueType::napi_number {
        return env.boolean(false);
    }
    env.boolean(numbers::is_int_value(env.get_double(v)?))
}

fn napi_object_is_empty(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "napi_object_is_empty(obj)")?;
    if env.type_of(v)? != ValueType::napi_object {
        return Err(Error::Type(format!(
            "python-ts: napi_object_is_empty(obj): obj must be an object, got {}",
            describe_arg(env, Some(v))?
        )));
    }
    let keys = env.own_keys(v)?;
    env.boolean(env.array_len(keys)? == 0)
}

fn napi_value_to_pyobject(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "napi_value_to_pyobject(value)")?;
    let ctx = context_arg(env, args, 1, "napi_value_to_pyobject")?;
    super::sync(env, ctx.id, |gil| {
        let obj = ToPy::new(env, gil, ctx.id)?.convert(v)?;
        ToJs::new(env, gil, ctx.id, ctx.state).handle(obj.borrow())
    })
}

fn pyobject_to_napi_value(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "pyobject_to_napi_value(handle)")?;
    let ctx = context_arg(env, args, 1, "pyobject_to_napi_value")?;
    super::sync(env, ctx.id, |gil| {
        let obj = handles::resolve(env, gil, v, ctx.id)?;
        ToJs::new(env, gil, ctx.id, ctx.state).convert(obj.borrow())
    })
}

/// Throw a `PythonError`: for the exception behind a handle, or for a new exception of a
/// builtin type (`throw_pyexception_in_javascript('ValueError', 'message')`).
fn throw_pyexception_in_javascript(env: Env, args: &Args) -> Result<Value> {
    let v = arg(args, 0, "throw_pyexception_in_javascript(exc)")?;
    let ctx = context_arg(env, args, 2, "throw_pyexception_in_javascript")?;
    let is_name = env.type_of(v)? == ValueType::napi_string;
    let message = if is_nullish(env, args.get(1))? {
        String::new()
    } else {
        env.get_string(env.coerce_to_string(arg(args, 1, "")?)?)?
    };
    let err = super::sync(env, ctx.id, |gil| -> Result<Error> {
        let exc = if is_name {
            let name = env.get_string(v)?;
            let builtins = objects::import(gil, "builtins")?;
            let class = objects::getattr(gil, builtins.borrow(), &name)?;
            let m = objects::py_str(gil, &message)?;
            objects::call_with(gil, class.borrow(), &[m.borrow()])?
        } else {
            handles::resolve(env, gil, v, ctx.id)?
        };
        if !exc.borrow().is_exception(gil) {
            return Err(Error::Type("python-ts: throw_pyexception_in_javascript: not an exception".into()));
        }
        Ok(errors::describe(gil, exc.borrow()))
    })?;
    match err {
        Error::Python(info) => Err(Error::Python(info)),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_uint64;

    #[test]
    fn pointer_strings_are_plain_decimal_u64() {
        assert_eq!(parse_uint64("0"), Some(0));
        assert_eq!(parse_uint64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_uint64("18446744073709551616"), None);
        assert_eq!(parse_uint64("-1"), None);
        assert_eq!(parse_uint64("0x10"), None);
        assert_eq!(parse_uint64(""), None);
    }
}
