//! list/tuple ↔ Array, dict ↔ Object (str keys) or Map (other keys), set/frozenset → Array and
//! Set → set. Each container is entered in the memo before its children are converted, so
//! cycles come back as cycles.

use super::{ToJs, ToPy};
use crate::error::{Error, Result};
use crate::runtime::errors;
use crate::sys::napi::Value;
use crate::sys::python::{self as py, api};
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
    // SAFETY: GIL held.
    let list = unsafe { Owned::from_result(cx.gil, (api().PyList_New)(len as isize))? };
    // Until every slot is set the list holds NULLs; fill them with None first so an early
    // error releases a valid list.
    fill_none(cx, &list, 0, len as usize);
    cx.memo_push(&list);
    if len >= BULK && super::records::to_py(cx, v, &list, len as usize, depth)? {
        return Ok(list);
    }
    for i in 0..len {
        let item = env.get_element(v, i)?;
        let obj = cx.value(item, depth + 1)?;
        // SAFETY: index in range; steals the new reference (and releases the None).
        unsafe { (api().PyList_SetItem)(list.as_ptr(), i as isize, obj.into_raw()) };
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
    // SAFETY: GIL held.
    let list = unsafe { Owned::from_result(cx.gil, (api().PyList_New)(n as isize))? };
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

/// Fill the unset slots of a fresh list with None (so an early error releases a valid list).
pub(super) fn fill_none(cx: &ToPy<'_>, list: &Owned<'_>, from: usize, to: usize) {
    for i in from..to {
        let none = crate::sys::python::object::none(cx.gil);
        // SAFETY: index in range; steals the reference.
        unsafe { (api().PyList_SetItem)(list.as_ptr(), i as isize, none.into_raw()) };
    }
}

/// A plain object → dict. `parts` is what `inspect` gave (keys joined by NUL, values); without
/// it (a key holds a NUL) the keys are read one by one.
pub fn object_to_py<'py>(cx: &mut ToPy<'py>, v: Value, parts: Option<Value>, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    // SAFETY: GIL held.
    let dict = unsafe { Owned::from_result(cx.gil, (api().PyDict_New)())? };
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
        // SAFETY: GIL held; dict and both objects alive.
        if unsafe { (api().PyDict_SetItem)(dict.as_ptr(), key.as_ptr(), value.as_ptr()) } != 0 {
            return Err(errors::fetch(cx.gil));
        }
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
        None => Box::new(bytes.split(|b| *b == 0).map(|key| {
            // SAFETY: GIL held; valid UTF-8 (from N-API) of the given length.
            unsafe {
                Owned::from_result(
                    gil,
                    (api().PyUnicode_FromStringAndSize)(key.as_ptr() as *const _, key.len() as isize),
                )
            }
        })),
    };
    for i in 0..count {
        let k = keys.next().ok_or_else(|| Error::Generic("python-ts: object parts out of step".into()))??;
        let value = if numeric {
            super::numbers::number_to_py(cx.gil, nums.get(i).copied().unwrap_or(f64::NAN))?
        } else {
            let item = env.get_element(values, i as u32)?;
            cx.value(item, depth + 1)?
        };
        // SAFETY: GIL held; dict and both objects alive.
        if unsafe { (api().PyDict_SetItem)(dict.as_ptr(), k.as_ptr(), value.as_ptr()) } != 0 {
            return Err(errors::fetch(cx.gil));
        }
    }
    Ok(())
}

/// `tuple([...])` → tuple (its items converted like an Array's).
pub fn tuple_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let items = env.get_named(v, "items")?;
    let n = env.array_len(items)?;
    // SAFETY: GIL held.
    let t = unsafe { Owned::from_result(cx.gil, (api().PyTuple_New)(n as isize))? };
    for i in 0..n {
        let item = cx.value(env.get_element(items, i)?, depth + 1)?;
        // SAFETY: index in range of a fresh tuple; SetItem steals the reference. Unset slots are
        // NULL, which tuple deallocation skips, so an early error releases a valid tuple.
        unsafe { (api().PyTuple_SetItem)(t.as_ptr(), i as isize, item.into_raw()) };
    }
    Ok(t)
}

pub fn map_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    // SAFETY: GIL held.
    let dict = unsafe { Owned::from_result(cx.gil, (api().PyDict_New)())? };
    cx.memo_push(&dict);
    let flat = cx.data()?.call_helper(env, |h| h.map_entries, &[v])?;
    let n = env.array_len(flat)?;
    let mut i = 0;
    while i + 1 < n {
        let key = cx.value(env.get_element(flat, i)?, depth + 1)?;
        let value = cx.value(env.get_element(flat, i + 1)?, depth + 1)?;
        // SAFETY: GIL held; an unhashable key sets a TypeError.
        if unsafe { (api().PyDict_SetItem)(dict.as_ptr(), key.as_ptr(), value.as_ptr()) } != 0 {
            return Err(errors::fetch(cx.gil));
        }
        i += 2;
    }
    Ok(dict)
}

pub fn set_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    // SAFETY: GIL held; an empty set.
    let set = unsafe { Owned::from_result(cx.gil, (api().PySet_New)(std::ptr::null_mut()))? };
    cx.memo_push(&set);
    let items = cx.data()?.call_helper(env, |h| h.set_values, &[v])?;
    let n = env.array_len(items)?;
    for i in 0..n {
        let item = cx.value(env.get_element(items, i)?, depth + 1)?;
        // SAFETY: GIL held.
        if unsafe { (api().PySet_Add)(set.as_ptr(), item.as_ptr()) } != 0 {
            return Err(errors::fetch(cx.gil));
        }
    }
    Ok(set)
}

/// How many more items than `len(s)` a set subclass's `__iter__` may yield before converting it
/// stops with a `RangeError`.
const SET_SLACK: u64 = 1 << 16;

/// list, tuple, dict, set, frozenset (and subclasses) → JS.
pub fn to_js<'py>(cx: &mut ToJs<'py>, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
    let a = api();
    let flags = obj.type_flags();
    let gil = cx.gil;
    if flags & (py::TPFLAGS_LIST_SUBCLASS | py::TPFLAGS_TUPLE_SUBCLASS) != 0 {
        if let Some(arr) = numeric_sequence_to_js(cx, obj)? {
            cx.memo_put(obj, arr);
            return Ok(arr);
        }
    }
    if flags & py::TPFLAGS_LIST_SUBCLASS != 0 {
        // SAFETY: GIL held; obj is a list.
        let n = unsafe { (a.PyList_Size)(obj.as_ptr()) };
        if n >= BULK as isize && obj.type_ptr() == a.PyList_Type {
            if let Some(arr) = super::records::to_js(cx, obj)? {
                cx.memo_put(obj, arr);
                return Ok(arr);
            }
        }
        let arr = cx.env.array(n.max(0) as usize)?;
        cx.memo_put(obj, arr);
        let mut i = 0;
        // The list may shrink while we convert (a __repr__ of a handle could mutate it): re-read
        // its size each time.
        // SAFETY: GIL held.
        while i < unsafe { (a.PyList_Size)(obj.as_ptr()) } {
            // Borrowed item, kept alive by the new reference taken under the list's lock (on a
            // free-threaded build another thread may remove it meanwhile).
            let item = crate::sys::python::object::locked(gil, obj, || {
                // SAFETY: GIL held (or the list's lock); NULL with IndexError past the end.
                unsafe { Borrowed::from_raw(gil, (a.PyList_GetItem)(obj.as_ptr(), i)) }.map(|b| b.to_owned())
            });
            if item.is_none() {
                errors::clear(gil);
            }
            let Some(item) = item else { break };
            let v = cx.value(item.borrow(), depth + 1)?;
            cx.env.set_element(arr, i as u32, v)?;
            i += 1;
        }
        return Ok(arr);
    }
    if flags & py::TPFLAGS_TUPLE_SUBCLASS != 0 {
        // SAFETY: GIL held; obj is a tuple (immutable).
        let n = unsafe { (a.PyTuple_Size)(obj.as_ptr()) };
        let arr = cx.env.array(n.max(0) as usize)?;
        cx.memo_put(obj, arr);
        for i in 0..n {
            // SAFETY: index in range; the tuple keeps the item alive.
            let item = unsafe { Borrowed::from_raw(gil, (a.PyTuple_GetItem)(obj.as_ptr(), i)) }
                .ok_or_else(|| errors::fetch(gil))?;
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
    // SAFETY: GIL held; a set or frozenset (subclass).
    let size = unsafe { (a.PySet_Size)(obj.as_ptr()) }.max(0) as u64;
    let limit = size + SET_SLACK;
    let arr = cx.env.array(0)?;
    cx.memo_put(obj, arr);
    // SAFETY: GIL held.
    let it = unsafe { Owned::from_result(gil, (a.PyObject_GetIter)(obj.as_ptr()))? };
    let mut i = 0u32;
    loop {
        if i as u64 >= limit {
            return Err(Error::Range(format!(
                "python-ts: the iterator of a set of {size} items yielded more than {limit}; a set subclass whose __iter__ \
                 doesn't match its contents cannot be converted"
            )));
        }
        // SAFETY: GIL held; new reference or NULL at the end (or on error).
        let Some(item) = (unsafe { Owned::from_raw(gil, (a.PyIter_Next)(it.as_ptr())) }) else {
            // SAFETY: GIL held.
            if !unsafe { (a.PyErr_Occurred)() }.is_null() {
                return Err(errors::fetch(gil));
            }
            break;
        };
        let v = cx.value(item.borrow(), depth + 1)?;
        cx.env.set_element(arr, i, v)?;
        i += 1;
    }
    Ok(arr)
}

/// A list or tuple of floats and safe ints → Array, through one `Float64Array` that a JS loop
/// turns into the Array. None when short or when any item is something else.
fn numeric_sequence_to_js(cx: &mut ToJs<'_>, obj: Borrowed<'_, '_>) -> Result<Option<Value>> {
    let a = api();
    let is_list = obj.type_flags() & py::TPFLAGS_LIST_SUBCLASS != 0;
    // SAFETY: GIL held; a list or tuple.
    let n = unsafe {
        if is_list {
            (a.PyList_Size)(obj.as_ptr())
        } else {
            (a.PyTuple_Size)(obj.as_ptr())
        }
    };
    if n < BULK as isize {
        return Ok(None);
    }
    let env = cx.env;
    let (ab, data) = env.arraybuffer(n as usize * 8)?;
    if crate::sys::python::object::locked(cx.gil, obj, || fill_numbers(cx, obj, is_list, n, data)).is_none() {
        return Ok(None);
    }
    let f64s = env.typedarray(crate::sys::napi::TypedarrayType::float64_array, n as usize, ab, 0)?;
    let data = crate::env::get(env)?;
    Ok(Some(data.call_helper(env, |h| h.f64_to_array, &[f64s])?))
}

/// Read `n` items of a list or tuple as doubles into `data`; None when one is not a float or a
/// safe int, or the list shrank (its lock held on a free-threaded build).
fn fill_numbers(
    cx: &ToJs<'_>,
    obj: Borrowed<'_, '_>,
    is_list: bool,
    n: isize,
    data: *mut std::ffi::c_void,
) -> Option<()> {
    let a = api();
    // SAFETY: a fresh ArrayBuffer of n doubles.
    let out = unsafe { std::slice::from_raw_parts_mut(data as *mut f64, n as usize) };
    for (i, slot) in out.iter_mut().enumerate() {
        // SAFETY: index in range; borrowed item (no Python code runs in this loop, so the
        // container can't change underneath).
        let item = unsafe {
            if is_list {
                (a.PyList_GetItem)(obj.as_ptr(), i as isize)
            } else {
                (a.PyTuple_GetItem)(obj.as_ptr(), i as isize)
            }
        };
        if item.is_null() {
            errors::clear(cx.gil);
            return None;
        }
        // SAFETY: a live item of the container.
        let t = unsafe { crate::sys::python::type_of(item) };
        if t == a.PyFloat_Type {
            // SAFETY: GIL held; a float.
            *slot = unsafe { (a.PyFloat_AsDouble)(item) };
        } else if t == a.PyLong_Type {
            let mut overflow = 0;
            // SAFETY: GIL held; an int.
            let v = unsafe { (a.PyLong_AsLongLongAndOverflow)(item, &mut overflow) };
            if overflow != 0 || v.unsigned_abs() > super::numbers::MAX_SAFE as u64 {
                return None;
            }
            *slot = v as f64;
        } else {
            return None;
        }
    }
    Some(())
}

fn dict_items<'py>(cx: &ToJs<'py>, obj: Borrowed<'_, 'py>) -> Vec<(Owned<'py>, Owned<'py>)> {
    let a = api();
    let mut pos = 0isize;
    let mut out = Vec::new();
    let (mut k, mut v) = (std::ptr::null_mut(), std::ptr::null_mut());
    // Under the dict's lock on a free-threaded build, where other threads run meanwhile.
    crate::sys::python::object::locked(cx.gil, obj, || {
        // SAFETY: GIL held (or the dict's lock); PyDict_Next yields borrowed references, which
        // we take ownership of at once so that converting one entry can't free another.
        while unsafe { (a.PyDict_Next)(obj.as_ptr(), &mut pos, &mut k, &mut v) } != 0 {
            // SAFETY: non-null borrowed references from the dict.
            unsafe {
                out.push((
                    Borrowed::from_raw(cx.gil, k).unwrap_unchecked().to_owned(),
                    Borrowed::from_raw(cx.gil, v).unwrap_unchecked().to_owned(),
                ));
            }
        }
    });
    out
}

fn dict_to_js<'py>(cx: &mut ToJs<'py>, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
    let a = api();
    let items = dict_items(cx, obj);
    let all_str = items.iter().all(|(k, _)| {
        k.borrow().type_ptr() == a.PyUnicode_Type || k.borrow().type_flags() & py::TPFLAGS_UNICODE_SUBCLASS != 0
    });
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
    let a = api();
    let scalar = |t| t == a.PyFloat_Type || t == a.PyLong_Type || t == a.PyUnicode_Type || t == a.PyBool_Type;
    if !items.iter().all(|(_, v)| v.as_ptr() == a._Py_NoneStruct || scalar(v.borrow().type_ptr())) {
        return Ok(None);
    }
    let mut joined: Vec<u8> = Vec::with_capacity(items.len() * 8);
    for (i, (k, _)) in items.iter().enumerate() {
        let mut len = 0isize;
        // SAFETY: GIL held; the str's UTF-8 buffer or NULL (lone surrogates).
        let p = unsafe { (api().PyUnicode_AsUTF8AndSize)(k.as_ptr(), &mut len) };
        if p.is_null() {
            errors::clear(cx.gil);
            return Ok(None);
        }
        // SAFETY: `len` bytes owned by the key.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) };
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
