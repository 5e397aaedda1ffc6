//! str ↔ string. UTF-8 is the fast path both ways; lone surrogates (legal in JS strings and in
//! Python `str`) go through UTF-16 with `surrogatepass`, so they survive in both directions.

use crate::error::{Error, Result};
use crate::runtime::errors;
use crate::runtime::gil::Gil;
use crate::runtime::objects;
use crate::runtime::refs::{Borrowed, Owned};
use crate::sys::napi::{Env, Value};
use crate::sys::python::api;

/// Whether UTF-8 from N-API holds U+FFFD (EF BF BD), which is what a lone surrogate becomes:
/// a word-at-a-time scan that skips ASCII quickly.
pub fn has_replacement(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i..i + 8]);
        if u64::from_ne_bytes(w) & 0x8080_8080_8080_8080 == 0 {
            i += 8;
            continue;
        }
        break;
    }
    bytes[i.saturating_sub(2)..].windows(3).any(|w| w == [0xEF, 0xBF, 0xBD])
}

pub fn to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    // Short strings (most keys and values) in one N-API call, through the stack.
    let mut buf = [0u8; 256];
    if let Some(n) = env.try_string_into(v, &mut buf) {
        let bytes = &buf[..n];
        if !has_replacement(bytes) {
            // SAFETY: GIL held; valid UTF-8 of the given length.
            return unsafe {
                Owned::from_result(gil, (api().PyUnicode_FromStringAndSize)(bytes.as_ptr() as *const _, n as isize))
            };
        }
    }
    let bytes = env.get_string_utf8_bytes(v)?;
    // N-API replaces a lone surrogate with U+FFFD (EF BF BD); only then take the exact route.
    if !has_replacement(&bytes) {
        // SAFETY: GIL held; valid UTF-8 of the given length.
        return unsafe {
            Owned::from_result(
                gil,
                (api().PyUnicode_FromStringAndSize)(bytes.as_ptr() as *const _, bytes.len() as isize),
            )
        };
    }
    let units = env.get_string_utf16(v)?;
    from_utf16(gil, &units)
}

pub fn from_utf16<'py>(gil: Gil<'py>, units: &[u16]) -> Result<Owned<'py>> {
    let mut order: i32 = -1; // little-endian, no BOM handling
                             // SAFETY: GIL held; `units` is a valid buffer of 2*len bytes.
    unsafe {
        Owned::from_result(
            gil,
            (api().PyUnicode_DecodeUTF16)(
                units.as_ptr() as *const _,
                (units.len() * 2) as isize,
                c"surrogatepass".as_ptr(),
                &mut order,
            ),
        )
    }
}

/// V8's longest string on 64-bit targets, in UTF-16 code units (`String::kMaxLength`).
pub const MAX_JS_STRING: usize = (1 << 29) - 24;

fn too_long(units: usize) -> Error {
    Error::Range(format!(
        "python-ts: a Python str of {units} characters is longer than the longest JavaScript string ({MAX_JS_STRING} UTF-16 code units)"
    ))
}

pub fn to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    // SAFETY: GIL held; obj is a str.
    let chars = unsafe { (api().PyUnicode_GetLength)(obj.as_ptr()) }.max(0) as usize;
    if chars > MAX_JS_STRING {
        return Err(too_long(chars));
    }
    match to_js_unchecked(env, gil, obj, chars) {
        // Astral characters take two code units: a str under the limit in characters can still
        // be over it in UTF-16, and V8 then fails without a reason.
        Err(Error::Napi { .. }) if chars > MAX_JS_STRING / 2 => Err(too_long(chars)),
        r => r,
    }
}

fn to_js_unchecked(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>, chars: usize) -> Result<Value> {
    let mut len = 0isize;
    // SAFETY: GIL held; a buffer owned by the str (valid while obj lives) or NULL.
    let p = unsafe { (api().PyUnicode_AsUTF8AndSize)(obj.as_ptr(), &mut len) };
    if !p.is_null() {
        // SAFETY: `len` bytes of UTF-8 owned by obj.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) };
        // ASCII (as many UTF-8 bytes as characters): a one-byte JS string, copied as it is.
        if len > 64 && chars == len as usize {
            return env.string_latin1(bytes);
        }
        return env.string_utf8_bytes(bytes);
    }
    // Lone surrogates: not encodable as UTF-8.
    errors::clear(gil);
    let raw = objects::encoded(gil, obj, "utf-16-le", "surrogatepass")?;
    let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    env.string_utf16(&units)
}
