//! bytes/bytearray → Buffer (always a copy: JS writing into an immutable `bytes` would corrupt
//! Python), Buffer/Uint8Array → bytes (one copy), other TypedArrays, ArrayBuffer and DataView →
//! a `memoryview` with the matching format over a copy made at call time (a JS buffer can be
//! detached or transferred while Python still holds it).

use crate::error::{Error, Result};
use crate::sys::napi::{Env, TypedarrayType, Value};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};

pub fn to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    if obj.type_flags() & crate::sys::python::TPFLAGS_BYTES_SUBCLASS != 0 {
        return env.buffer_copy(pc::bytes_data(gil, obj)?);
    }
    // A bytearray: its buffer stays put during the copy (no Python code runs).
    env.buffer_copy(pc::bytearray_data(obj))
}

/// `len` bytes at `data` (a JS buffer the caller holds) as a slice.
///
/// # Safety
/// `data` is valid for `len` bytes while the slice is used (or `len` is 0).
unsafe fn slice_of<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || data.is_null() {
        return &[];
    }
    // SAFETY: forwarded from the caller.
    unsafe { std::slice::from_raw_parts(data, len) }
}

fn bytes_from(gil: Gil<'_>, data: *const u8, len: usize) -> Result<Owned<'_>> {
    // SAFETY: the caller's TypedArray holds `len` bytes at `data`; copied here.
    pc::bytes_new(gil, unsafe { slice_of(data, len) })
}

/// The struct-module format of a TypedArray kind and its element size.
pub fn format_of(kind: i32) -> (&'static str, usize) {
    match kind {
        TypedarrayType::int8_array => ("b", 1),
        TypedarrayType::uint8_array | TypedarrayType::uint8_clamped_array => ("B", 1),
        TypedarrayType::int16_array => ("h", 2),
        TypedarrayType::uint16_array => ("H", 2),
        TypedarrayType::int32_array => ("i", 4),
        TypedarrayType::uint32_array => ("I", 4),
        TypedarrayType::float32_array => ("f", 4),
        TypedarrayType::float64_array => ("d", 8),
        TypedarrayType::bigint64_array => ("q", 8),
        TypedarrayType::biguint64_array => ("Q", 8),
        _ => ("B", 1),
    }
}

/// A writable memoryview over a bytearray copy of `len` bytes (the one copy), cast to `format`.
fn memoryview_copy<'py>(gil: Gil<'py>, data: *const u8, len: usize, format: &str) -> Result<Owned<'py>> {
    // SAFETY: the caller's TypedArray holds `len` bytes at `data`; copied here.
    let ba = pc::bytearray_new(gil, unsafe { slice_of(data, len) })?;
    let mv = pc::memoryview(gil, ba.borrow())?;
    if format == "B" {
        return Ok(mv);
    }
    let cast = objects::getattr(gil, mv.borrow(), "cast")?;
    let f = objects::py_str(gil, format)?;
    objects::call_with(gil, cast.borrow(), &[f.borrow()])
}

pub fn typedarray_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let (kind, len, data, _ab, _off) = env.typedarray_info(v)?;
    let (format, size) = format_of(kind);
    let bytes = len.checked_mul(size).ok_or_else(|| Error::Range("typed array too large".into()))?;
    if kind == TypedarrayType::uint8_array {
        // Buffer and Uint8Array → bytes.
        return bytes_from(gil, data as *const u8, len);
    }
    memoryview_copy(gil, data as *const u8, bytes, format)
}

pub fn arraybuffer_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let (data, len) = env.arraybuffer_info(v)?;
    memoryview_copy(gil, data as *const u8, len, "B")
}

pub fn dataview_to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    let (len, data) = env.dataview_info(v)?;
    memoryview_copy(gil, data as *const u8, len, "B")
}
