//! Zero-copy views: `clib._buffer_view(obj)` / `python.view(obj)` give a TypedArray over the
//! memory of an object with the buffer protocol (numpy arrays, `array.array`, `memoryview`,
//! `bytearray`, `bytes`).
//!
//! The view is an external ArrayBuffer over the exporter's memory; the buffer export
//! (`PyObject_GetBuffer`) is held until JS collects the ArrayBuffer, so the object stays alive
//! and cannot resize underneath (its release is queued: finalizers never take the GIL). When the
//! object's context or the runtime ends, this env's views are detached (length 0), never left
//! pointing at freed memory; ending them while another JS environment still holds views of that
//! interpreter is refused. Non-contiguous, unaligned or non-native data is copied (same shape,
//! C order), and so is everything where the runtime refuses external memory (Electron's memory
//! sandbox).

use crate::env as instance;
use crate::error::{Error, Result};
use crate::runtime::lifecycle;
use crate::runtime::refs;
use crate::sys::napi::{napi_env, Env, TypedarrayType, Value};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Borrowed;
use crate::sys::python::Gil;
use crate::sys::python::PyBuffer;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Mutex;

/// `PyBUF_RECORDS_RO`: strides and format, read-only exports accepted.
const PYBUF_RECORDS_RO: i32 = 0x0010 | 0x0008 | 0x0004;

/// Live zero-copy views by (context, env): an env may only end an interpreter that no other
/// env still views.
static LIVE: Mutex<Option<HashMap<(u64, usize), usize>>> = Mutex::new(None);

fn live_add(context: u64, env: usize, delta: isize) {
    let mut g = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    let e = m.entry((context, env)).or_insert(0);
    *e = (*e as isize + delta).max(0) as usize;
    if *e == 0 {
        m.remove(&(context, env));
    }
}

/// Whether an env other than `env` holds live views of `context` (`None`: of any context).
pub fn others_have_views(env: Env, context: Option<u64>) -> bool {
    let g = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    g.as_ref()
        .map(|m| m.iter().any(|(&(c, e), &n)| n > 0 && e != env.0 as usize && context.is_none_or(|x| x == c)))
        .unwrap_or(false)
}

struct ViewHint {
    buffer: Box<PyBuffer>,
    generation: u64,
    context: u64,
    env: usize,
}

/// The TypedArray kind of a struct-module format, and whether its bytes are in the other byte
/// order than this machine's (`>h` on little-endian): such data is copied with each item swapped.
pub fn kind_of(format: &str, itemsize: usize) -> Option<(i32, bool)> {
    let (native, foreign) = if cfg!(target_endian = "little") { ('<', '>') } else { ('>', '<') };
    let (f, swap) = match format.chars().next() {
        Some('@') | Some('=') => (&format[1..], false),
        Some(c) if c == native => (&format[1..], false),
        Some(c) if c == foreign || c == '!' => (&format[1..], true),
        _ => (format, false),
    };
    native_kind(f, itemsize).map(|k| (k, swap && itemsize > 1))
}

fn native_kind(f: &str, itemsize: usize) -> Option<i32> {
    Some(match (f, itemsize) {
        ("b", 1) => TypedarrayType::int8_array,
        ("B", 1) | ("c", 1) | ("?", 1) => TypedarrayType::uint8_array,
        ("h", 2) => TypedarrayType::int16_array,
        ("H", 2) => TypedarrayType::uint16_array,
        ("i", 4) | ("l", 4) => TypedarrayType::int32_array,
        ("I", 4) | ("L", 4) => TypedarrayType::uint32_array,
        ("q", 8) | ("l", 8) | ("n", 8) => TypedarrayType::bigint64_array,
        ("Q", 8) | ("L", 8) | ("N", 8) => TypedarrayType::biguint64_array,
        ("f", 4) => TypedarrayType::float32_array,
        ("d", 8) => TypedarrayType::float64_array,
        _ => return None,
    })
}

/// `{ data, shape, strides, format, readonly }` for the object behind a handle.
pub fn view(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>, context: u64) -> Result<Value> {
    let mut buffer = Box::new(PyBuffer::zeroed());
    pc::get_buffer(gil, obj, &mut buffer, PYBUF_RECORDS_RO)?;
    describe_and_map(env, gil, obj, context, buffer)
}

// Takes the Box the export lives in (the views keep theirs in a finalizer hint).
#[allow(clippy::boxed_local)]
fn release_now(gil: Gil<'_>, mut buffer: Box<PyBuffer>) {
    // SAFETY: a buffer exported by `get_buffer` in this interpreter (whose GIL the token
    // proves), released once: the box is consumed here.
    unsafe { pc::release_buffer(gil, &mut buffer) };
}

fn describe_and_map(
    env: Env,
    gil: Gil<'_>,
    obj: Borrowed<'_, '_>,
    context: u64,
    buffer: Box<PyBuffer>,
) -> Result<Value> {
    let b = &*buffer;
    let format = if b.format.is_null() {
        "B".to_string()
    } else {
        // SAFETY: a NUL-terminated format string owned by the export.
        unsafe { std::ffi::CStr::from_ptr(b.format) }.to_string_lossy().into_owned()
    };
    let itemsize = b.itemsize.max(1) as usize;
    let Some((kind, swap)) = kind_of(&format, itemsize) else {
        release_now(gil, buffer);
        return Err(Error::Type(format!(
            "python-ts: buffer format {format:?} (item size {itemsize}) has no TypedArray: only integers and float32/float64 can be viewed"
        )));
    };
    let ndim = b.ndim.max(0) as usize;
    let shape: Vec<isize> = if ndim == 0 || b.shape.is_null() {
        vec![]
    } else {
        // SAFETY: the export's shape and strides arrays hold `ndim` entries (requested with
        // PyBUF_STRIDES), or are NULL for ndim 0.
        unsafe { std::slice::from_raw_parts(b.shape, ndim) }.to_vec()
    };
    let byte_strides: Vec<isize> = if ndim == 0 || b.strides.is_null() {
        vec![]
    } else {
        // SAFETY: as above, for the strides array.
        unsafe { std::slice::from_raw_parts(b.strides, ndim) }.to_vec()
    };
    let count: usize = if ndim == 0 { 1 } else { shape.iter().map(|&n| n.max(0) as usize).product() };
    let mut contiguous = true;
    let mut expect = itemsize as isize;
    for i in (0..ndim).rev() {
        if shape[i] > 1 && byte_strides.get(i).copied().unwrap_or(expect) != expect {
            contiguous = false;
        }
        expect *= shape[i].max(1);
    }
    let aligned = (b.buf as usize).is_multiple_of(itemsize);
    let readonly = b.readonly != 0;
    let generation = lifecycle::generation();
    let c_strides: Vec<isize> = {
        let mut s = vec![0isize; ndim];
        let mut acc = 1isize;
        for i in (0..ndim).rev() {
            s[i] = acc;
            acc *= shape[i].max(1);
        }
        s
    };
    let data_bytes = count * itemsize;
    let mut zero_copy = false;
    let ab = if contiguous && aligned && !swap && data_bytes > 0 && b.len as usize >= data_bytes {
        let ptr = b.buf;
        let hint = Box::into_raw(Box::new(ViewHint { buffer, generation, context, env: env.0 as usize }));
        // SAFETY: the export keeps `ptr` valid for `data_bytes` until `release_view` runs.
        match unsafe { env.external_arraybuffer(ptr, data_bytes, Some(release_view), hint as *mut c_void) } {
            Ok(ab) => {
                zero_copy = true;
                live_add(context, env.0 as usize, 1);
                ab
            }
            Err(Error::Napi { .. }) => {
                // External memory refused (Electron's memory sandbox): copy instead.
                // SAFETY: the box was not taken.
                let hint = unsafe { Box::from_raw(hint) };
                copy_out(env, gil, obj, hint.buffer, true, data_bytes)?
            }
            Err(e) => {
                // SAFETY: as above.
                let hint = unsafe { Box::from_raw(hint) };
                release_now(gil, hint.buffer);
                return Err(e);
            }
        }
    } else {
        let ab = copy_out(env, gil, obj, buffer, contiguous && aligned, data_bytes)?;
        if swap {
            let (p, n) = env.arraybuffer_info(ab)?;
            // SAFETY: the ArrayBuffer was just made and filled by `copy_out`; nothing else sees it yet.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p as *mut u8, n) };
            for item in bytes.chunks_exact_mut(itemsize) {
                item.reverse();
            }
        }
        ab
    };
    let data = env.typedarray(kind, count, ab, 0)?;
    if zero_copy {
        let weak = env.create_ref(ab, 0)?;
        instance::get(env)?.views.borrow_mut().push((context, weak));
    }
    let o = env.object()?;
    env.set_named(o, "data", data)?;
    let arr = |xs: &[isize]| -> Result<Value> {
        let a = env.array(xs.len())?;
        for (i, x) in xs.iter().enumerate() {
            env.set_element(a, i as u32, env.double(*x as f64)?)?;
        }
        Ok(a)
    };
    env.set_named(o, "shape", arr(&shape)?)?;
    env.set_named(o, "strides", arr(&c_strides)?)?;
    env.set_named(o, "format", env.string(&format)?)?;
    env.set_named(o, "readonly", env.boolean(readonly)?)?;
    env.set_named(o, "copied", env.boolean(!zero_copy)?)?;
    Ok(o)
}

/// A copy in C order: straight from the export when contiguous, else via `tobytes()`.
fn copy_out(
    env: Env,
    gil: Gil<'_>,
    obj: Borrowed<'_, '_>,
    buffer: Box<PyBuffer>,
    contiguous: bool,
    bytes: usize,
) -> Result<Value> {
    let (ab, dst) = env.arraybuffer(bytes)?;
    if contiguous {
        // SAFETY: the export holds at least `bytes` contiguous bytes; `dst` was just allocated.
        unsafe { std::ptr::copy_nonoverlapping(buffer.buf as *const u8, dst as *mut u8, bytes) };
        release_now(gil, buffer);
        return Ok(ab);
    }
    release_now(gil, buffer);
    let mv = pc::memoryview(gil, obj)?;
    let tobytes = objects::getattr(gil, mv.borrow(), "tobytes")?;
    let raw = objects::call_with(gil, tobytes.borrow(), &[])?;
    let content = objects::bytes_of(gil, raw.borrow())?;
    let n = content.len().min(bytes);
    // SAFETY: `dst` has `bytes` bytes.
    unsafe { std::ptr::copy_nonoverlapping(content.as_ptr(), dst as *mut u8, n) };
    Ok(ab)
}

unsafe extern "C" fn release_view(_env: napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: the hint boxed in `describe_and_map`, finalized once.
    let hint = unsafe { Box::from_raw(hint as *mut ViewHint) };
    live_add(hint.context, hint.env, -1);
    if hint.generation == lifecycle::generation() {
        // Dropped: its release is queued for the next thread that holds the context's GIL.
        drop(refs::KeptBuffer::new(hint.buffer, hint.context));
    }
    // Otherwise the runtime that exported it ended: the box is freed, the export is not touched.
}

/// Detach this env's views of `context` (`None`: all): their memory is about to go away.
pub fn detach(env: Env, context: Option<u64>) -> Result<()> {
    let data = instance::get(env)?;
    let views: Vec<(u64, crate::sys::napi::Ref)> = {
        let mut v = data.views.borrow_mut();
        let (gone, keep): (Vec<_>, Vec<_>) = v.drain(..).partition(|(c, _)| context.is_none_or(|x| x == *c));
        *v = keep;
        gone
    };
    for (_, r) in views {
        if let Some(ab) = env.ref_value(r)? {
            let _ = env.detach_arraybuffer(ab);
        }
        let _ = env.delete_ref(r);
    }
    Ok(())
}
