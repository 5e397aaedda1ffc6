//! bool, int ↔ number/BigInt, float ↔ number.
//!
//! An integer within ±(2^53−1) is a JS number; beyond, a BigInt (exact both ways, through hex
//! digits, which every supported CPython parses and prints in linear time). A JS number with an
//! integer value (not -0) becomes an `int`; any other number a `float`, so NaN, ±Infinity and
//! -0.0 keep their value.

use crate::error::{Error, Result};
use crate::sys::napi::{Env, Value};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};

pub const MAX_SAFE: f64 = 9007199254740991.0;

pub fn bool_to_py(gil: Gil<'_>, b: bool) -> Result<Owned<'_>> {
    Ok(objects::boolean(gil, b))
}

/// Whether a JS number is an integer value that maps to `int`.
#[inline]
pub fn is_int_value(d: f64) -> bool {
    d.is_finite() && d.trunc() == d && !(d == 0.0 && d.is_sign_negative())
}

pub fn number_to_py(gil: Gil<'_>, d: f64) -> Result<Owned<'_>> {
    if d.abs() <= MAX_SAFE {
        // The common case without a libm call: a safe integer survives the trip through i64
        // exactly (-0 stays a float, as `is_int_value` has it).
        let i = d as i64;
        if i as f64 == d && !(i == 0 && d.is_sign_negative()) {
            return pc::int_from_i64(gil, i);
        }
        return objects::float(gil, d);
    }
    if is_int_value(d) {
        // Finite and beyond ±(2^53−1): the conversion is exact.
        return pc::int_from_f64(gil, d);
    }
    objects::float(gil, d)
}

pub fn bigint_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let (negative, words) = env.get_bigint_words(v)?;
    if words.len() <= 1 {
        let w = words.first().copied().unwrap_or(0);
        if w <= i64::MAX as u64 {
            let n = if negative { -(w as i64) } else { w as i64 };
            return pc::int_from_i64(gil, n);
        }
    }
    let hex = words_to_hex(negative, &words);
    let c = objects::cstr(&hex)?;
    pc::int_from_hex(gil, &c)
}

pub fn int_to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    if let Some(n) = pc::int_to_i64(gil, obj) {
        if (n as f64).abs() <= MAX_SAFE && n.unsigned_abs() <= MAX_SAFE as u64 {
            return env.double(n as f64);
        }
        return env.bigint_words(n < 0, &[n.unsigned_abs()]);
    }
    // Beyond i64: through hex().
    let s = pc::int_to_hex(gil, obj)?;
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
    let is_generic = |o: Borrowed<'_, 'py>| pc::is_instance(gil, o, generic.borrow());
    if !is_generic(obj)? {
        return Ok(None);
    }
    // A timedelta64's item() is a timedelta or, in nanoseconds, a bare int: it stays wrapped;
    // so does a datetime64 beyond a Date's range (one in range became a Date before this).
    for name in [c"timedelta64", c"datetime64"] {
        if let Some(class) = objects::getattr_opt(gil, np, name) {
            if pc::is_instance(gil, obj, class.borrow())? {
                return Ok(None);
            }
        }
    }
    let item = objects::getattr(gil, obj, "item")?;
    let v = objects::call_with(gil, item.borrow(), &[])?;
    if is_generic(v.borrow())? {
        return Ok(None);
    }
    Ok(Some(v))
}

/// Whether `obj` is pandas' missing-value scalar `pd.NA` (null in JS).
pub fn is_pandas_na(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> bool {
    let Some(pd) = crate::runtime::support::loaded_module(gil, c"pandas") else { return false };
    objects::getattr_opt(gil, pd, c"NA").is_some_and(|na| na.borrow().addr() == obj.addr())
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
