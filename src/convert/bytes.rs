//! bytes/bytearray → Buffer (always a copy: JS writing into an immutable `bytes` would corrupt
//! Python), Buffer/Uint8Array → bytes (one copy), other TypedArrays, ArrayBuffer and DataView →
//! a `memoryview` with the matching format over a copy made at call time (a JS buffer can be
//! detached or transferred while Python still holds it).

use crate::error::{Error, Result};
use crate::sys::napi::{Env, TypedarrayType, Value};
use crate::sys::python::api;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};

pub fn to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    let a = api();
    if obj.type_flags() & crate::sys::python::TPFLAGS_BYTES_SUBCLASS != 0 {
        let mut p = std::ptr::null_mut();
        let mut len = 0isize;
        // SAFETY: GIL held; a pointer into the bytes object's buffer.
        if unsafe { (a.PyBytes_AsStringAndSize)(obj.as_ptr(), &mut p, &mut len) } != 0 {
            return Err(crate::runtime::errors::fetch(gil));
        }
        // SAFETY: `len` bytes owned by obj, alive for this call.
        return env.buffer_copy(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) });
    }
    // bytearray
    // SAFETY: GIL held; obj is a bytearray; its buffer is valid until it is resized, which
    // cannot happen during this copy (we hold the GIL).
    let (p, len) = unsafe { ((a.PyByteArray_AsString)(obj.as_ptr()), (a.PyByteArray_Size)(obj.as_ptr())) };
    if len <= 0 || p.is_null() {
        return env.buffer_copy(&[]);
    }
    // SAFETY: see above.
    env.buffer_copy(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) })
}

fn bytes_from(gil: Gil<'_>, data: *const u8, len: usize) -> Result<Owned<'_>> {
    let p = if len == 0 { [0u8; 1].as_ptr() } else { data };
    // SAFETY: GIL held; `data` is valid for `len` bytes (caller) — copied here.
    unsafe { Owned::from_result(gil, (api().PyBytes_FromStringAndSize)(p as *const _, len as isize)) }
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
    let p = if len == 0 { [0u8; 1].as_ptr() } else { data };
    // SAFETY: GIL held; `data` is valid for `len` bytes (the caller's TypedArray), copied here.
    let ba = unsafe { Owned::from_result(gil, (api().PyByteArray_FromStringAndSize)(p as *const _, len as isize))? };
    // SAFETY: GIL held; memoryview over the bytearray.
    let mv = unsafe { Owned::from_result(gil, (api().PyMemoryView_FromObject)(ba.as_ptr()))? };
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
