//! list/tuple ↔ Array, dict ↔ Object (str keys) or Map (other keys), set/frozenset → Array and
//! Set → set. Each container is entered in the memo before its children are converted, so
//! cycles come back as cycles.

use super::{ToJs, ToPy};
use crate::error::{Error, Result};
use crate::sys::napi::Value;
use crate::sys::python as py;
use crate::sys::python::concrete as pc;
use crate::sys::python::{Borrowed, Owned};

/// Longest JS array converted (a sparse `a[1e9] = 1` would otherwise allocate gigabytes).
pub const MAX_ARRAY: u32 = 1 << 27;

pub fn array_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let (v, len) = match env.try_array_len(v) {
        Some(n) => (v, n),
        None => {
            // A Proxy over an Array (Vue, MobX and immer hand these out) is an Array to
            // `Array.isArray` but not to N-API: read it through its traps into a real one.
            let n = env.get_named(v, "length").ok().and_then(|l| env.try_double(l)).unwrap_or(0.0);
            if n > MAX_ARRAY as f64 {
                return Err(Error::Range(format!(
                    "python-ts: an array of length {n} is too long to convert (limit {MAX_ARRAY})"
                )));
            }
            let copy = cx.data()?.call_helper(env, |h| h.array_from, &[v])?;
            (copy, env.array_len(copy)?)
        }
    };
    if len > MAX_ARRAY {
        return Err(Error::Range(format!(
            "python-ts: an array of length {len} is too long to convert (limit {MAX_ARRAY})"
        )));
    }
    if len >= BULK {
        if let Some(list) = numeric_array_to_py(cx, v, len)? {
            return Ok(list);
        }
    }
    let list = pc::list_of_none(cx.gil, len as usize)?;
    cx.memo_push(&list);
    if len >= BULK && super::records::to_py(cx, v, &list, len as usize, depth)? {
        return Ok(list);
    }
    for i in 0..len {
        let item = env.get_element(v, i)?;
        let obj = cx.value(item, depth + 1)?;
        pc::list_set(cx.gil, list.borrow(), i as usize, obj)?;
    }
    Ok(list)
}

/// Containers at least this long take the bulk paths (one JS loop instead of an N-API call per
/// element).
pub const BULK: u32 = 16;

/// A dense Array of numbers → list, read through one `Float64Array` filled by a JS loop.
fn numeric_array_to_py<'py>(cx: &mut ToPy<'py>, v: Value, len: u32) -> Result<Option<Owned<'py>>> {
    let env = cx.env;
    let f64s = cx.data()?.call_helper(env, |h| h.numbers_to_f64, &[v])?;
    if env.type_of(f64s)? == crate::sys::napi::ValueType::napi_null {
        return Ok(None);
    }
    let (_, n, data, _, _) = env.typedarray_info(f64s)?;
    // SAFETY: a Float64Array of `n` elements we just made; nothing runs JS while we read it.
    let nums = unsafe { std::slice::from_raw_parts(data as *const f64, n) };
    // SAFETY: every slot is filled below: a number, or None from `fill_none` on an error.
    let list = unsafe { pc::list_new_unset(cx.gil, n)? };
    for (i, d) in nums.iter().enumerate() {
        let item = match super::numbers::number_to_py(cx.gil, *d) {
            Ok(o) => o,
            Err(e) => {
                fill_none(cx, &list, i, n);
                return Err(e);
            }
        };
        // SAFETY: index in range of a fresh list, its slot still empty; steals the reference.
        unsafe { crate::sys::python::list_fill(list.as_ptr(), i, item.into_raw()) };
    }
    debug_assert_eq!(n as u32, len);
    cx.memo_push(&list);
    Ok(Some(list))
}

/// Fill the unset slots `from..to` of a fresh list with None (so an early error releases a
/// valid list).
pub(super) fn fill_none(cx: &ToPy<'_>, list: &Owned<'_>, from: usize, to: usize) {
    for i in from..to {
        let _ = pc::list_set(cx.gil, list.borrow(), i, crate::sys::python::object::none(cx.gil));
    }
}

/// A plain object → dict. `parts` is what `inspect` gave (keys joined by NUL, values); without
/// it (a key holds a NUL) the keys are read one by one.
pub fn object_to_py<'py>(cx: &mut ToPy<'py>, v: Value, parts: Option<Value>, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let dict = pc::dict_new(cx.gil)?;
    cx.memo_push(&dict);
    if let Some(parts) = parts {
        parts_to_dict(cx, parts, &dict, depth)?;
        return Ok(dict);
    }
    let keys = env.own_keys(v)?;
    let n = env.array_len(keys)?;
    for i in 0..n {
        let k = env.get_element(keys, i)?;
        let item = env.get_property(v, k)?;
        let key = super::strings::to_py(env, cx.gil, k)?;
        let value = cx.value(item, depth + 1)?;
        pc::dict_set(cx.gil, dict.borrow(), key.borrow(), value.borrow())?;
    }
    Ok(dict)
}

/// Fill `dict` from a plain object's parts: keys joined by NUL in one string, values in one
/// array (a `Float64Array` when all are numbers), each value read once by the helper. Keys with
/// a lone surrogate are split from the string's UTF-16 (exact) instead of its UTF-8.
fn parts_to_dict<'py>(cx: &mut ToPy<'py>, parts: Value, dict: &Owned<'py>, depth: usize) -> Result<()> {
    let env = cx.env;
    let joined = env.get_element(parts, 0)?;
    let values = env.get_element(parts, 1)?;
    let numeric = env.is_typedarray(values)?;
    let (count, nums): (usize, &[f64]) = if numeric {
        let (_, n, data, _, _) = env.typedarray_info(values)?;
        // SAFETY: a Float64Array made by the helper; no JS runs while we read it.
        (n, if n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(data as *const f64, n) } })
    } else {
        (env.array_len(values)? as usize, &[])
    };
    if count == 0 {
        return Ok(()); // `{}`: joining no keys gives "", which is not one empty key
    }
    let bytes = env.get_string_utf8_bytes(joined)?;
    let units = if super::strings::has_replacement(&bytes) { Some(env.get_string_utf16(joined)?) } else { None };
    let gil = cx.gil;
    let mut keys: Box<dyn Iterator<Item = Result<Owned<'py>>>> = match &units {
        Some(units) => Box::new(units.split(|u| *u == 0).map(|k| super::strings::from_units(gil, k))),
        None => Box::new(bytes.split(|b| *b == 0).map(|key| pc::str_from_utf8(gil, key))),
    };
    for i in 0..count {
        let k = keys.next().ok_or_else(|| Error::Generic("python-ts: object parts out of step".into()))??;
        let value = if numeric {
            super::numbers::number_to_py(cx.gil, nums.get(i).copied().unwrap_or(f64::NAN))?
        } else {
            let item = env.get_element(values, i as u32)?;
            cx.value(item, depth + 1)?
        };
        pc::dict_set(cx.gil, dict.borrow(), k.borrow(), value.borrow())?;
    }
    Ok(())
}

/// `tuple([...])` → tuple (its items converted like an Array's).
pub fn tuple_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let items = env.get_named(v, "items")?;
    let n = env.array_len(items)?;
    let gil = cx.gil;
    pc::tuple_of(gil, (0..n).map(|i| cx.value(env.get_element(items, i)?, depth + 1)))
}

pub fn map_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let dict = pc::dict_new(cx.gil)?;
    cx.memo_push(&dict);
    let flat = cx.data()?.call_helper(env, |h| h.map_entries, &[v])?;
    let n = env.array_len(flat)?;
    let mut i = 0;
    while i + 1 < n {
        let key = cx.value(env.get_element(flat, i)?, depth + 1)?;
        let value = cx.value(env.get_element(flat, i + 1)?, depth + 1)?;
        pc::dict_set(cx.gil, dict.borrow(), key.borrow(), value.borrow())?;
        i += 2;
    }
    Ok(dict)
}

pub fn set_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let set = pc::set_new(cx.gil)?;
    cx.memo_push(&set);
    let items = cx.data()?.call_helper(env, |h| h.set_values, &[v])?;
    let n = env.array_len(items)?;
    for i in 0..n {
        let item = cx.value(env.get_element(items, i)?, depth + 1)?;
        pc::set_add(cx.gil, set.borrow(), item.borrow())?;
    }
    Ok(set)
}

/// How many more items than `len(s)` a set subclass's `__iter__` may yield before converting it
/// stops with a `RangeError`.
const SET_SLACK: u64 = 1 << 16;

/// list, tuple, dict, set, frozenset (and subclasses) → JS.
pub fn to_js<'py>(cx: &mut ToJs<'py>, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
    let flags = obj.type_flags();
    let gil = cx.gil;
    if flags & (py::TPFLAGS_LIST_SUBCLASS | py::TPFLAGS_TUPLE_SUBCLASS) != 0 {
        if let Some(arr) = numeric_sequence_to_js(cx, obj)? {
            cx.memo_put(obj, arr);
            return Ok(arr);
        }
    }
    if flags & py::TPFLAGS_LIST_SUBCLASS != 0 {
        let n = pc::list_len(gil, obj);
        if n >= BULK as usize && obj.kind() == py::Kind::List {
            if let Some(arr) = super::records::to_js(cx, obj)? {
                cx.memo_put(obj, arr);
                return Ok(arr);
            }
        }
        let arr = cx.env.array(n)?;
        cx.memo_put(obj, arr);
        let mut i = 0;
        // The list may shrink while we convert (a __repr__ of a handle could mutate it): re-read
        // its size each time.
        while i < pc::list_len(gil, obj) {
            // Borrowed item, kept alive by the new reference taken under the list's lock (on a
            // free-threaded build another thread may remove it meanwhile).
            let item = crate::sys::python::object::locked(gil, obj, || pc::list_get(gil, obj, i).map(|b| b.to_owned()));
            let Some(item) = item else { break };
            let v = cx.value(item.borrow(), depth + 1)?;
            cx.env.set_element(arr, i as u32, v)?;
            i += 1;
        }
        return Ok(arr);
    }
    if flags & py::TPFLAGS_TUPLE_SUBCLASS != 0 {
        let n = pc::tuple_len(gil, obj);
        let arr = cx.env.array(n)?;
        cx.memo_put(obj, arr);
        for i in 0..n {
            // The tuple (immutable) keeps the item alive.
            let item = pc::tuple_get(gil, obj, i)
                .ok_or_else(|| Error::Runtime("python-ts: a tuple shorter than its size".into()))?;
            let v = cx.value(item, depth + 1)?;
            cx.env.set_element(arr, i as u32, v)?;
        }
        return Ok(arr);
    }
    if flags & py::TPFLAGS_DICT_SUBCLASS != 0 {
        return dict_to_js(cx, obj, depth);
    }
    // set / frozenset: iterate. A subclass may override `__iter__`, so the items are bounded by
    // the set's own size: an endless iterator used to run for 15 s and 2.3 GB before V8 gave up.
    let size = pc::set_len(obj) as u64;
    let limit = size + SET_SLACK;
    let arr = cx.env.array(0)?;
    cx.memo_put(obj, arr);
    let it = pc::iter(gil, obj)?;
    let mut i = 0u32;
    loop {
        if i as u64 >= limit {
            return Err(Error::Range(format!(
                "python-ts: the iterator of a set of {size} items yielded more than {limit}; a set subclass whose __iter__ \
                 doesn't match its contents cannot be converted"
            )));
        }
        let Some(item) = pc::next(gil, it.borrow())? else { break };
        let v = cx.value(item.borrow(), depth + 1)?;
        cx.env.set_element(arr, i, v)?;
        i += 1;
    }
    Ok(arr)
}

/// A list or tuple of floats and safe ints → Array, through one `Float64Array` that a JS loop
/// turns into the Array. None when short or when any item is something else.
fn numeric_sequence_to_js(cx: &mut ToJs<'_>, obj: Borrowed<'_, '_>) -> Result<Option<Value>> {
    let is_list = obj.type_flags() & py::TPFLAGS_LIST_SUBCLASS != 0;
    let n = if is_list { pc::list_len(cx.gil, obj) } else { pc::tuple_len(cx.gil, obj) };
    if n < BULK as usize {
        return Ok(None);
    }
    let env = cx.env;
    let (ab, data) = env.arraybuffer(n * 8)?;
    if crate::sys::python::object::locked(cx.gil, obj, || fill_numbers(cx, obj, is_list, n, data)).is_none() {
        return Ok(None);
    }
    let f64s = env.typedarray(crate::sys::napi::TypedarrayType::float64_array, n, ab, 0)?;
    let data = crate::env::get(env)?;
    Ok(Some(data.call_helper(env, |h| h.f64_to_array, &[f64s])?))
}

/// Read `n` items of a list or tuple as doubles into `data`; None when one is not a float or a
/// safe int, or the list shrank (its lock held on a free-threaded build).
fn fill_numbers(
    cx: &ToJs<'_>,
    obj: Borrowed<'_, '_>,
    is_list: bool,
    n: usize,
    data: *mut std::ffi::c_void,
) -> Option<()> {
    let gil = cx.gil;
    // SAFETY: a fresh ArrayBuffer of n doubles.
    let out = unsafe { std::slice::from_raw_parts_mut(data as *mut f64, n) };
    for (i, slot) in out.iter_mut().enumerate() {
        // Borrowed item: no Python code runs in this loop, so the container can't change.
        let item = if is_list { pc::list_get(gil, obj, i)? } else { pc::tuple_get(gil, obj, i)? };
        *slot = match item.kind() {
            py::Kind::Float => pc::float_value(gil, item),
            py::Kind::Int => match pc::int_to_i64(gil, item) {
                Some(v) if v.unsigned_abs() <= super::numbers::MAX_SAFE as u64 => v as f64,
                _ => return None,
            },
            _ => return None,
        };
    }
    Some(())
}

fn dict_items<'py>(cx: &ToJs<'py>, obj: Borrowed<'_, 'py>) -> Vec<(Owned<'py>, Owned<'py>)> {
    let mut pos = 0isize;
    let mut out = Vec::new();
    // Under the dict's lock on a free-threaded build, where other threads run meanwhile. The
    // entries are borrowed: owned at once, so that converting one entry can't free another.
    crate::sys::python::object::locked(cx.gil, obj, || {
        while let Some((k, v)) = pc::dict_next(cx.gil, obj, &mut pos) {
            out.push((k.to_owned(), v.to_owned()));
        }
    });
    out
}

fn dict_to_js<'py>(cx: &mut ToJs<'py>, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
    let items = dict_items(cx, obj);
    let all_str = items.iter().all(|(k, _)| k.borrow().is_str_like());
    let env = cx.env;
    if all_str && items.len() >= BULK as usize {
        if let Some(o) = bulk_dict_to_js(cx, obj, &items, depth)? {
            return Ok(o);
        }
    }
    if all_str {
        let o = env.object()?;
        cx.memo_put(obj, o);
        // All properties in one N-API call; defining (not assigning) keeps a `__proto__` key an
        // own property instead of replacing the prototype.
        let mut entries = Vec::with_capacity(items.len());
        for (k, v) in items {
            let key = super::strings::to_js(env, cx.gil, k.borrow())?;
            let value = cx.value(v.borrow(), depth + 1)?;
            entries.push((key, value));
        }
        env.define_data(o, &entries)?;
        Ok(o)
    } else {
        let data = crate::env::get(env)?;
        let map_ctor = data.helper(env, |h| h.map)?;
        let m = env.new_instance(map_ctor, &[])?;
        cx.memo_put(obj, m);
        for (k, v) in items {
            let key = cx.value(k.borrow(), depth + 1)?;
            let value = cx.value(v.borrow(), depth + 1)?;
            data.call_helper(env, |h| h.memo_set, &[m, key, value])?;
        }
        Ok(m)
    }
}

/// A dict with many str keys and scalar values → Object: keys joined by NUL into one string,
/// values in one array, assembled by one JS loop. None when a value is a container or object (a
/// cycle could lead back here), or a key holds a NUL or a lone surrogate.
fn bulk_dict_to_js<'py>(
    cx: &mut ToJs<'py>,
    obj: Borrowed<'_, 'py>,
    items: &[(Owned<'py>, Owned<'py>)],
    depth: usize,
) -> Result<Option<Value>> {
    let env = cx.env;
    let scalar = |v: &Owned<'_>| {
        matches!(
            v.borrow().kind(),
            py::Kind::None | py::Kind::Float | py::Kind::Int | py::Kind::Str | py::Kind::Bool(_)
        )
    };
    if !items.iter().all(|(_, v)| scalar(v)) {
        return Ok(None);
    }
    let mut joined: Vec<u8> = Vec::with_capacity(items.len() * 8);
    for (i, (k, _)) in items.iter().enumerate() {
        // None: lone surrogates.
        let Some(bytes) = pc::str_utf8(cx.gil, k.borrow()) else { return Ok(None) };
        if bytes.contains(&0) {
            return Ok(None);
        }
        if i > 0 {
            joined.push(0);
        }
        joined.extend_from_slice(bytes);
    }
    let values = env.array(items.len())?;
    for (i, (_, v)) in items.iter().enumerate() {
        let value = cx.value(v.borrow(), depth + 1)?;
        env.set_element(values, i as u32, value)?;
    }
    let keys = env.string_utf8_bytes(&joined)?;
    let data = crate::env::get(env)?;
    let o = data.call_helper(env, |h| h.parts_object, &[keys, values])?;
    cx.memo_put(obj, o);
    Ok(Some(o))
}
