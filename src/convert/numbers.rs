//! bool, int ↔ number/BigInt, float ↔ number.
//!
//! An integer within ±(2^53−1) is a JS number; beyond, a BigInt (exact both ways, through hex
//! digits, which every supported CPython parses and prints in linear time). A JS number with an
//! integer value (not -0) becomes an `int`; any other number a `float`, so NaN, ±Infinity and
//! -0.0 keep their value.

use crate::error::{Error, Result};
use crate::sys::napi::{Env, Value};
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{api, PyPtr};
use crate::sys::python::{Borrowed, Owned};

pub const MAX_SAFE: f64 = 9007199254740991.0;

pub fn bool_to_py(gil: Gil<'_>, b: bool) -> Result<Owned<'_>> {
    // SAFETY: GIL held; returns a new reference to True/False.
    unsafe { Owned::from_result(gil, (api().PyBool_FromLong)(b as _)) }
}

/// Whether a JS number is an integer value that maps to `int`.
#[inline]
pub fn is_int_value(d: f64) -> bool {
    d.is_finite() && d.trunc() == d && !(d == 0.0 && d.is_sign_negative())
}

pub fn number_to_py(gil: Gil<'_>, d: f64) -> Result<Owned<'_>> {
    let a = api();
    if d.abs() <= MAX_SAFE {
        // The common case without a libm call: a safe integer survives the trip through i64
        // exactly (-0 stays a float, as `is_int_value` has it).
        let i = d as i64;
        if i as f64 == d && !(i == 0 && d.is_sign_negative()) {
            // SAFETY: GIL held.
            return unsafe { Owned::from_result(gil, (a.PyLong_FromLongLong)(i)) };
        }
        // SAFETY: GIL held.
        return unsafe { Owned::from_result(gil, (a.PyFloat_FromDouble)(d)) };
    }
    if is_int_value(d) {
        if d.abs() <= MAX_SAFE {
            // SAFETY: GIL held.
            return unsafe { Owned::from_result(gil, (a.PyLong_FromLongLong)(d as i64)) };
        }
        // SAFETY: GIL held; d is finite, so the conversion is exact.
        return unsafe { Owned::from_result(gil, (a.PyLong_FromDouble)(d)) };
    }
    // SAFETY: GIL held.
    unsafe { Owned::from_result(gil, (a.PyFloat_FromDouble)(d)) }
}

pub fn bigint_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let (negative, words) = env.get_bigint_words(v)?;
    if words.len() <= 1 {
        let w = words.first().copied().unwrap_or(0);
        if w <= i64::MAX as u64 {
            let n = if negative { -(w as i64) } else { w as i64 };
            // SAFETY: GIL held.
            return unsafe { Owned::from_result(gil, (api().PyLong_FromLongLong)(n)) };
        }
    }
    let hex = words_to_hex(negative, &words);
    let c = objects::cstr(&hex)?;
    // SAFETY: GIL held; a NUL-terminated hex literal.
    unsafe { Owned::from_result(gil, (api().PyLong_FromString)(c.as_ptr(), std::ptr::null_mut(), 16)) }
}

pub fn int_to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    let a = api();
    let mut overflow = 0;
    // SAFETY: GIL held; obj is an int (or subclass).
    let n = unsafe { (a.PyLong_AsLongLongAndOverflow)(obj.as_ptr(), &mut overflow) };
    if overflow == 0 {
        if n == -1 {
            // SAFETY: GIL held.
            if !unsafe { (a.PyErr_Occurred)() }.is_null() {
                return Err(crate::runtime::errors::fetch(gil));
            }
        }
        if (n as f64).abs() <= MAX_SAFE && n.unsigned_abs() <= MAX_SAFE as u64 {
            return env.double(n as f64);
        }
        return env.bigint_words(n < 0, &[n.unsigned_abs()]);
    }
    // SAFETY: GIL held; hex() of an int.
    let s = unsafe { Owned::from_result(gil, (a.PyNumber_ToBase)(obj.as_ptr(), 16))? };
    let text = objects::utf8_of(gil, s.borrow())?;
    let (negative, words) =
        hex_to_words(&text).ok_or_else(|| Error::Conversion(format!("bad hex from Python: {text}")))?;
    env.bigint_words(negative, &words)
}

/// Little-endian 64-bit words → `-0x…` / `0x…`.
pub fn words_to_hex(negative: bool, words: &[u64]) -> String {
    let mut s = String::with_capacity(words.len() * 16 + 3);
    if negative {
        s.push('-');
    }
    s.push_str("0x");
    let mut started = false;
    for w in words.iter().rev() {
        if started {
            s.push_str(&format!("{w:016x}"));
        } else if *w != 0 {
            s.push_str(&format!("{w:x}"));
            started = true;
        }
    }
    if !started {
        s.push('0');
    }
    s
}

/// `hex(n)` text → (negative, little-endian words).
pub fn hex_to_words(text: &str) -> Option<(bool, Vec<u64>)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let digits = rest.strip_prefix("0x")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = digits.as_bytes();
    let mut words = Vec::with_capacity(bytes.len() / 16 + 1);
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(16);
        let chunk = std::str::from_utf8(&bytes[start..end]).ok()?;
        words.push(u64::from_str_radix(chunk, 16).ok()?);
        end = start;
    }
    Some((negative, words))
}

/// A numpy scalar (`numpy.generic`: `int64`, `bool_`, `float32`, …) as its `.item()` — a Python
/// int, float, bool, … — so `np.argmax(xs)` reaches JS as a number. Only looked up when numpy is
/// loaded. None for anything else, and for an `.item()` that is itself a numpy scalar.
pub fn numpy_item<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>) -> Result<Option<Owned<'py>>> {
    let Some(np) = crate::runtime::support::loaded_module(gil, c"numpy") else { return Ok(None) };
    let Some(generic) = objects::getattr_opt(gil, np, c"generic") else { return Ok(None) };
    let is_generic = |o: PyPtr| -> Result<bool> {
        // SAFETY: GIL held; both objects alive.
        match unsafe { (api().PyObject_IsInstance)(o, generic.as_ptr()) } {
            r if r < 0 => Err(crate::runtime::errors::fetch(gil)),
            r => Ok(r == 1),
        }
    };
    if !is_generic(obj.as_ptr())? {
        return Ok(None);
    }
    let item = objects::getattr(gil, obj, "item")?;
    let v = objects::call_with(gil, item.borrow(), &[])?;
    if is_generic(v.as_ptr())? {
        return Ok(None);
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_through_words() {
        for (neg, words) in
            [(false, vec![0u64]), (true, vec![1]), (false, vec![0, 1]), (true, vec![u64::MAX, 0x1234, 7])]
        {
            let hex = words_to_hex(neg, &words);
            let (n2, w2) = hex_to_words(&hex).unwrap();
            let mut w = words.clone();
            while w.len() > 1 && *w.last().unwrap() == 0 {
                w.pop();
            }
            assert_eq!((n2, w2), (neg, w), "{hex}");
        }
        assert_eq!(words_to_hex(false, &[0, 1]), "0x10000000000000000");
        assert_eq!(hex_to_words("-0x10000000000000000"), Some((true, vec![0, 1])));
        assert_eq!(hex_to_words("0xzz"), None);
    }

    #[test]
    fn integer_values_exclude_negative_zero_and_fractions() {
        assert!(is_int_value(3.0));
        assert!(is_int_value(-1e20));
        assert!(!is_int_value(-0.0));
        assert!(!is_int_value(0.5));
        assert!(!is_int_value(f64::NAN));
        assert!(!is_int_value(f64::INFINITY));
    }
}
