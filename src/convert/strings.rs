//! str ↔ string by storage kind, without UTF-8 in between.
//!
//! V8 keeps one-byte and two-byte strings; CPython keeps 1-, 2- and 4-byte kinds. Python → JS
//! reads the str's own characters: 1-byte → `napi_create_string_latin1`, 2-byte →
//! `napi_create_string_utf16` (a lone surrogate stays one), 4-byte → UTF-16 pairs. JS → Python
//! reads UTF-16 and writes the narrowest kind straight into a new str; only a string holding a
//! surrogate takes the `surrogatepass` decoder (it pairs what pairs and keeps lone ones). Short
//! strings (keys, most values) keep the one-call UTF-8 read through the stack.
//!
//! Where a compact str keeps its characters is a fact of CPython's struct layout, which moved in
//! 3.12 (the `wstr` fields went) and differs in free-threaded builds (a larger object head). It
//! is found by probing strings of every kind once, and where no known layout matches, every str
//! goes through UTF-8 as before.

use crate::error::{Error, Result};
use crate::runtime::errors;
use crate::sys::napi::{Env, Value};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::PyPtr;
use crate::sys::python::{Borrowed, Owned};
use std::sync::atomic::{AtomicU8, Ordering};

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

/// Where a compact str keeps its length, its `state` bits and its characters: after
/// `PyASCIIObject` for ASCII strs, after `PyCompactUnicodeObject` for the others.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    /// A layout of a free-threaded build (only tried on one).
    free_threaded: bool,
    length_at: usize,
    state_at: usize,
    /// The bit where `kind` starts in `state` (then `compact`, then `ascii`).
    kind_shift: u32,
    ascii_data: usize,
    compact_data: usize,
}

/// The fields before `state` (reference count, type, length, hash) are machine words.
use crate::sys::python::WORD;

const fn gil_build(ascii_data: usize, compact_data: usize) -> Layout {
    Layout { free_threaded: false, length_at: 2 * WORD, state_at: 4 * WORD, kind_shift: 2, ascii_data, compact_data }
}

#[cfg(target_pointer_width = "64")]
const fn free_threaded(kind_shift: u32) -> Layout {
    // A 32-byte object head; `interned` is a whole byte on some versions (the kind after it).
    Layout { free_threaded: true, length_at: 32, state_at: 48, kind_shift, ascii_data: 56, compact_data: 72 }
}

/// 3.12+, 3.8–3.11 (with `wstr` and `wstr_length`), then free-threaded builds. After `state`
/// (4 bytes, padded to a word) come `wstr` (≤ 3.11), then for non-ASCII strs `utf8_length`,
/// `utf8` and (≤ 3.11) `wstr_length`: one word each.
#[cfg(target_pointer_width = "64")]
const LAYOUTS: [Layout; 4] = [gil_build(40, 56), gil_build(48, 72), free_threaded(2), free_threaded(8)];
/// The same on a 32-bit target, where every word is 4 bytes (no free-threaded 32-bit builds).
#[cfg(target_pointer_width = "32")]
const LAYOUTS: [Layout; 2] = [gil_build(20, 28), gil_build(24, 36)];
/// Strings handed to JS as external strings (`clib._internals.conversion_stats()`).
pub static EXTERNAL_STRINGS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Which layout the probe found: "3.12+", "3.8-3.11", "free-threaded", "none" (UTF-8 for
/// every str) or "unprobed".
pub fn layout_name() -> &'static str {
    match PROBED.load(Ordering::Acquire) {
        0 => "unprobed",
        1 => "3.12+",
        2 => "3.8-3.11",
        3 | 4 => "free-threaded",
        _ => "none",
    }
}

/// 0: not probed yet; 1 + i: LAYOUTS[i]; 255: none matched.
static PROBED: AtomicU8 = AtomicU8::new(0);

/// A compact str's characters: (kind 1, 2 or 4, data, length in characters).
#[derive(Clone, Copy)]
struct Chars {
    kind: u32,
    data: *const u8,
    len: usize,
}

impl Layout {
    /// # Safety
    /// `obj` is a live exact str (or `PyUnicode_New`'s result); the GIL is held.
    unsafe fn chars(self, obj: PyPtr) -> Option<Chars> {
        let base = obj as *const u8;
        // SAFETY: both fields lie inside every str object (caller's contract; every candidate's
        // offsets fall inside the smallest str of any build).
        let (state, len) = unsafe {
            ((base.add(self.state_at) as *const u32).read(), (base.add(self.length_at) as *const isize).read())
        };
        let s = self.kind_shift;
        let (kind, compact, ascii) = ((state >> s) & 7, (state >> (s + 3)) & 1, (state >> (s + 4)) & 1);
        if compact == 0 || !matches!(kind, 1 | 2 | 4) || len < 0 {
            return None;
        }
        let at = if ascii == 1 { self.ascii_data } else { self.compact_data };
        // SAFETY: a compact str's characters follow its header at `at`.
        Some(Chars { kind, data: unsafe { base.add(at) }, len: len as usize })
    }
}

/// The layout of this runtime's strs, probed once with the GIL held: each candidate must read
/// back strs of all three kinds (ASCII and not) exactly.
fn layout(gil: Gil<'_>) -> Option<Layout> {
    match PROBED.load(Ordering::Acquire) {
        0 => {}
        255 => return None,
        i => return Some(LAYOUTS[i as usize - 1]),
    }
    let probes: [(&str, u32); 4] =
        [("python-ts layout", 1), ("\u{e9}python-ts", 1), ("\u{20ac}python-ts", 2), ("\u{1f600}python-ts", 4)];
    let mut found = 255u8;
    // Only the candidates of this kind of build: a wrong one's offsets could lie past the end of
    // a probe string.
    let ft = crate::sys::python::is_free_threaded();
    'candidates: for (i, cand) in LAYOUTS.iter().enumerate() {
        if cand.free_threaded != ft {
            continue;
        }
        for (text, kind) in probes {
            let Ok(obj) = objects::py_str(gil, text) else {
                errors::clear(gil);
                return None;
            };
            // SAFETY: a fresh exact str; GIL held.
            let Some(c) = (unsafe { cand.chars(obj.as_ptr()) }) else { continue 'candidates };
            let want: Vec<u32> = text.chars().map(|c| c as u32).collect();
            if c.kind != kind || c.len != want.len() {
                continue 'candidates;
            }
            // SAFETY: `len` characters of `kind` bytes at `data`, inside the object.
            let got: Vec<u32> = (0..c.len).map(|j| unsafe { read_char(c, j) }).collect();
            if got != want {
                continue 'candidates;
            }
        }
        found = i as u8 + 1;
        break;
    }
    PROBED.store(found, Ordering::Release);
    (found != 255).then(|| LAYOUTS[found as usize - 1])
}

/// # Safety
/// `j < c.len`.
unsafe fn read_char(c: Chars, j: usize) -> u32 {
    // SAFETY: caller's contract; unaligned reads, since only the probe uses this.
    unsafe {
        match c.kind {
            1 => *c.data.add(j) as u32,
            2 => (c.data as *const u16).add(j).read_unaligned() as u32,
            _ => (c.data as *const u32).add(j).read_unaligned(),
        }
    }
}

/// Bitwise OR of all units: below 0x80 they are all ASCII, below 0x100 all Latin-1 (and one at
/// least is not ASCII, as CPython's narrowest-kind rule needs). Vectorises.
fn or_all(units: &[u16]) -> u16 {
    units.chunks(4096).fold(0u16, |acc, c| c.iter().fold(acc, |a, &u| a | u))
}

fn has_surrogate(units: &[u16]) -> bool {
    units.chunks(4096).any(|c| c.iter().fold(false, |a, &u| a | (u & 0xF800 == 0xD800)))
}

/// From this many characters a 1- or 2-byte str goes to JS as an external string over its own
/// memory (no copy, no fresh pages for V8's copy), where the host has them.
const EXTERNAL_MIN: usize = 16 * 1024;

/// A JS string over the str's own characters, holding a reference to it until V8 drops the
/// string (released from the finalizer without the GIL, like a handle's). None when the host
/// has no external strings.
fn external(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>, c: Chars) -> Option<Result<Value>> {
    // What the string's finalizer gives back: the str it reads, as a queued release.
    let kept = Box::new(crate::runtime::refs::Kept::new(obj.to_owned(), crate::runtime::attach::current_context()));
    let hint = Box::into_raw(kept);
    // SAFETY: the str's characters stay valid and unchanged while we hold a reference (a str
    // with more than one reference is never resized or written), released by the finalizer.
    let r = unsafe { env.external_string(c.data, c.len, c.kind == 2, Some(release_str), hint as *mut _) };
    if matches!(r, Some(Ok(_))) {
        EXTERNAL_STRINGS.fetch_add(1, Ordering::Relaxed);
    } else {
        // Not taken: the reference is ours to drop (the GIL is held).
        // SAFETY: the Box made above, not handed to V8.
        let kept = unsafe { Box::from_raw(hint) };
        drop(kept.into_owned(gil));
    }
    r
}

/// 4-byte characters as UTF-16: counted first (vectorises), then written run by run.
fn pairs_of(wide: &[u32]) -> Vec<u16> {
    let astral = wide.iter().filter(|&&ch| ch > 0xFFFF).count();
    let mut units = vec![0u16; wide.len() + astral];
    let (mut i, mut j) = (0, 0);
    while i < wide.len() {
        if i + 8 <= wide.len() && wide[i..i + 8].iter().all(|&ch| ch <= 0xFFFF) {
            for (o, &ch) in units[j..j + 8].iter_mut().zip(&wide[i..i + 8]) {
                *o = ch as u16;
            }
            i += 8;
            j += 8;
            continue;
        }
        let ch = wide[i];
        if ch > 0xFFFF {
            let v = ch - 0x1_0000;
            units[j] = 0xD800 | (v >> 10) as u16;
            units[j + 1] = 0xDC00 | (v & 0x3FF) as u16;
            j += 2;
        } else {
            units[j] = ch as u16;
            j += 1;
        }
        i += 1;
    }
    units
}

/// Append a str's characters as UTF-16 to `out`; how many units, or None where the layout is
/// unknown or the str is not compact (callers then take their general path).
/// `obj` must be an exact str.
pub fn append_units(gil: Gil<'_>, obj: Borrowed<'_, '_>, out: &mut Vec<u16>) -> Option<usize> {
    if obj.kind() != crate::sys::python::Kind::Str {
        return None;
    }
    let layout = layout(gil)?;
    // SAFETY: a live exact str; the GIL is held.
    let c = unsafe { layout.chars(obj.as_ptr()) }?;
    let from = out.len();
    match c.kind {
        // SAFETY: `len` one-byte characters at `data`, alive while obj is.
        1 => out.extend(unsafe { std::slice::from_raw_parts(c.data, c.len) }.iter().map(|&b| b as u16)),
        // SAFETY: `len` two-byte characters at `data` (2-aligned), alive while obj is.
        2 => out.extend_from_slice(unsafe { std::slice::from_raw_parts(c.data as *const u16, c.len) }),
        // SAFETY: `len` four-byte characters at `data` (4-aligned), alive while obj is.
        _ => out.extend_from_slice(&pairs_of(unsafe { std::slice::from_raw_parts(c.data as *const u32, c.len) })),
    }
    Some(out.len() - from)
}

/// UTF-16 made here handed to V8 without another copy (freed by the finalizer), else copied.
fn external_units(env: Env, units: Vec<u16>) -> Result<Value> {
    let units = Box::new(units);
    let (data, len) = (units.as_ptr() as *const u8, units.len());
    let hint = Box::into_raw(units);
    // SAFETY: the Vec stays put (boxed) and unchanged until `free_units` drops it.
    match unsafe { env.external_string(data, len, true, Some(free_units), hint as *mut _) } {
        Some(Ok(v)) => {
            EXTERNAL_STRINGS.fetch_add(1, Ordering::Relaxed);
            Ok(v)
        }
        _ => {
            // SAFETY: not taken by V8: still ours.
            let units = unsafe { Box::from_raw(hint) };
            env.string_utf16(&units)
        }
    }
}

unsafe extern "C" fn free_units(
    _env: crate::sys::napi::napi_env,
    _data: *mut std::ffi::c_void,
    hint: *mut std::ffi::c_void,
) {
    // SAFETY: the Vec boxed in `external_units`, finalized once.
    drop(unsafe { Box::from_raw(hint as *mut Vec<u16>) });
}

unsafe extern "C" fn release_str(
    _env: crate::sys::napi::napi_env,
    _data: *mut std::ffi::c_void,
    hint: *mut std::ffi::c_void,
) {
    // SAFETY: the Kept boxed in `external`, finalized once; dropping it queues the release.
    drop(unsafe { Box::from_raw(hint as *mut crate::runtime::refs::Kept) });
}

/// UTF-16 with surrogates: when every one is half of a pair, a 4-byte str filled here; a lone
/// one anywhere takes `surrogatepass` (which keeps it as a code point).
fn from_paired_units<'py>(gil: Gil<'py>, units: &[u16], layout: Layout) -> Result<Owned<'py>> {
    // Counts vectorise; equal counts still allow a misplaced half, caught while filling.
    let highs = units.iter().filter(|&&u| u & 0xFC00 == 0xD800).count();
    let lows = units.iter().filter(|&&u| u & 0xFC00 == 0xDC00).count();
    if highs != lows || highs == 0 {
        return from_utf16(gil, units);
    }
    let n = units.len() - highs;
    let (s, c) = new_str(gil, layout, n, 0x10_FFFF)?;
    if c.kind != 4 || c.len != n {
        return Err(Error::Runtime("python-ts: unexpected str kind".into()));
    }
    // SAFETY: `n` four-byte characters at `data` (4-aligned), not aliased.
    let out = unsafe { std::slice::from_raw_parts_mut(c.data as *mut u32, n) };
    let (mut i, mut j) = (0, 0);
    while i < units.len() {
        // Eight units without a surrogate at a time (the common run between astral characters).
        if i + 8 <= units.len() && j + 8 <= n {
            let chunk = &units[i..i + 8];
            if chunk.iter().all(|&u| u & 0xF800 != 0xD800) {
                for (o, &u) in out[j..j + 8].iter_mut().zip(chunk) {
                    *o = u as u32;
                }
                i += 8;
                j += 8;
                continue;
            }
        }
        let u = units[i] as u32;
        if u & 0xF800 == 0xD800 {
            let low = units.get(i + 1).copied().unwrap_or(0) as u32;
            if u >= 0xDC00 || low & 0xFC00 != 0xDC00 || j >= n {
                drop(s);
                return from_utf16(gil, units);
            }
            out[j] = 0x1_0000 + ((u - 0xD800) << 10) + (low - 0xDC00);
            i += 2;
        } else {
            if j >= n {
                drop(s);
                return from_utf16(gil, units);
            }
            out[j] = u;
            i += 1;
        }
        j += 1;
    }
    Ok(s)
}

/// A new compact str of `len` characters wide enough for `max`, and where its characters go.
fn new_str<'py>(gil: Gil<'py>, layout: Layout, len: usize, max: u32) -> Result<(Owned<'py>, Chars)> {
    let s = pc::str_new(gil, len, max)?;
    // SAFETY: a fresh compact str of the probed layout; its characters are the caller's to fill.
    let c =
        unsafe { layout.chars(s.as_ptr()) }.ok_or_else(|| Error::Runtime("python-ts: unexpected str layout".into()))?;
    Ok((s, c))
}

/// A str from UTF-16 code units, in the narrowest kind.
pub fn from_units<'py>(gil: Gil<'py>, units: &[u16]) -> Result<Owned<'py>> {
    let or = or_all(units);
    let layout = layout(gil);
    if or >= 0xD800 && has_surrogate(units) {
        return match layout {
            Some(layout) => from_paired_units(gil, units, layout),
            None => from_utf16(gil, units),
        };
    }
    let Some(layout) = layout else {
        // No surrogates: 2-byte characters, which CPython narrows.
        return pc::str_from_ucs2(gil, units);
    };
    let max = if or < 0x80 {
        0x7F
    } else if or < 0x100 {
        0xFF
    } else {
        0xFFFF
    };
    let (s, c) = new_str(gil, layout, units.len(), max)?;
    match c.kind {
        1 => {
            // SAFETY: `len` one-byte characters at `data`, not aliased.
            let out = unsafe { std::slice::from_raw_parts_mut(c.data as *mut u8, c.len) };
            for (o, &u) in out.iter_mut().zip(units) {
                *o = u as u8;
            }
        }
        // SAFETY: `len` two-byte characters at `data` (2-aligned), not aliased.
        2 => unsafe { std::ptr::copy_nonoverlapping(units.as_ptr(), c.data as *mut u16, c.len) },
        _ => return Err(Error::Runtime("python-ts: unexpected str kind".into())),
    }
    Ok(s)
}

pub fn to_py<'py>(env: Env, gil: Gil<'py>, v: Value) -> Result<Owned<'py>> {
    // Short strings (most keys and values) in one N-API call, through the stack.
    let mut buf = [0u8; 256];
    if let Some(n) = env.try_string_into(v, &mut buf) {
        let bytes = &buf[..n];
        if !has_replacement(bytes) {
            return pc::str_from_utf8(gil, bytes);
        }
    }
    if let Some(layout) = layout(gil) {
        return read_into_str(env, gil, v, layout);
    }
    let units = env.get_string_utf16(v)?;
    from_units(gil, &units)
}

/// A long string read by N-API straight into a new 2-byte str, kept as it is when that is its
/// kind (no other copy), else narrowed, or decoded when it holds surrogates.
fn read_into_str<'py>(env: Env, gil: Gil<'py>, v: Value, layout: Layout) -> Result<Owned<'py>> {
    let len = env.string_utf16_len(v)?;
    let (wide, c) = new_str(gil, layout, len, 0xFFFF)?;
    // SAFETY: `len + 1` writable units (the characters and CPython's terminator), not aliased.
    let units = unsafe { std::slice::from_raw_parts_mut(c.data as *mut u16, len + 1) };
    let written = env.string_utf16_into(v, units)?;
    let units = &units[..written.min(len)];
    let or = or_all(units);
    if or >= 0x100 && !(or >= 0xD800 && has_surrogate(units)) && written == len {
        return Ok(wide);
    }
    from_units(gil, units)
}

pub fn from_utf16<'py>(gil: Gil<'py>, units: &[u16]) -> Result<Owned<'py>> {
    pc::str_from_utf16(gil, units)
}

/// V8's longest string on 64-bit targets, in UTF-16 code units (`String::kMaxLength`).
pub const MAX_JS_STRING: usize = (1 << 29) - 24;

fn too_long(units: usize) -> Error {
    Error::Range(format!(
        "python-ts: a Python str of {units} characters is longer than the longest JavaScript string ({MAX_JS_STRING} UTF-16 code units)"
    ))
}

pub fn to_js(env: Env, gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<Value> {
    let chars = pc::str_len(obj);
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
    // Exact strs only: a subclass's characters live elsewhere (not compact).
    let exact = obj.kind() == crate::sys::python::Kind::Str;
    // SAFETY: an exact str, GIL held.
    if let Some(c) = layout(gil).filter(|_| exact).and_then(|l| unsafe { l.chars(obj.as_ptr()) }) {
        debug_assert_eq!(c.len, chars);
        if c.kind != 4 && c.len >= EXTERNAL_MIN {
            if let Some(v) = external(env, gil, obj, c) {
                return v;
            }
        }
        return match c.kind {
            // SAFETY: `len` one-byte characters at `data`, alive while obj is.
            1 => env.string_latin1(unsafe { std::slice::from_raw_parts(c.data, c.len) }),
            // SAFETY: `len` two-byte characters at `data` (2-aligned), alive while obj is.
            2 => env.string_utf16(unsafe { std::slice::from_raw_parts(c.data as *const u16, c.len) }),
            _ => {
                // SAFETY: `len` four-byte characters at `data` (4-aligned), alive while obj is.
                let wide = unsafe { std::slice::from_raw_parts(c.data as *const u32, c.len) };
                let units = pairs_of(wide);
                if units.len() >= EXTERNAL_MIN {
                    return external_units(env, units);
                }
                env.string_utf16(&units)
            }
        };
    }
    if let Some(bytes) = pc::str_utf8(gil, obj) {
        // ASCII (as many UTF-8 bytes as characters): a one-byte JS string, copied as it is.
        if bytes.len() > 64 && chars == bytes.len() {
            return env.string_latin1(bytes);
        }
        return env.string_utf8_bytes(bytes);
    }
    // Lone surrogates: not encodable as UTF-8.
    let raw = objects::encoded(gil, obj, "utf-16-le", "surrogatepass")?;
    let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    env.string_utf16(&units)
}
