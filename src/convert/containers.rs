//! list/tuple ↔ Array, dict ↔ Object (str keys) or Map (other keys), set/frozenset → Array and
//! Set → set. Each container is entered in the memo before its children are converted, so
//! cycles come back as cycles.

use super::{ToJs, ToPy};
use crate::error::{Error, Result};
use crate::runtime::errors;
use crate::runtime::refs::{Borrowed, Owned};
use crate::sys::napi::Value;
use crate::sys::python::{self as py, api};

/// Longest JS array converted (a sparse `a[1e9] = 1` would otherwise allocate gigabytes).
pub const MAX_ARRAY: u32 = 1 << 27;

pub fn array_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    let len = env.array_len(v)?;
    if len > MAX_ARRAY {
        return Err(Error::Range(format!("python-ts: an array of length {len} is too long to convert (limit {MAX_ARRAY})")));
    }
    // SAFETY: GIL held.
    let list = unsafe { Owned::from_result(cx.gil, (api().PyList_New)(len as isize))? };
    // Until every slot is set the list holds NULLs; fill them with None first so an early
    // error releases a valid list.
    for i in 0..len {
        let none = crate::runtime::objects::none(cx.gil);
        // SAFETY: fresh list of length len; SetItem steals the reference.
        unsafe { (api().PyList_SetItem)(list.as_ptr(), i as isize, none.into_raw()) };
    }
    cx.memo_put(v, &list)?;
    for i in 0..len {
        let item = env.get_element(v, i)?;
        let obj = cx.value(item, depth + 1)?;
        // SAFETY: index in range; steals the new reference (and releases the None).
        unsafe { (api().PyList_SetItem)(list.as_ptr(), i as isize, obj.into_raw()) };
    }
    Ok(list)
}

pub fn object_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    // SAFETY: GIL held.
    let dict = unsafe { Owned::from_result(cx.gil, (api().PyDict_New)())? };
    cx.memo_put(v, &dict)?;
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

pub fn map_to_py<'py>(cx: &mut ToPy<'py>, v: Value, depth: usize) -> Result<Owned<'py>> {
    let env = cx.env;
    // SAFETY: GIL held.
    let dict = unsafe { Owned::from_result(cx.gil, (api().PyDict_New)())? };
    cx.memo_put(v, &dict)?;
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
    cx.memo_put(v, &set)?;
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

/// list, tuple, dict, set, frozenset (and subclasses) → JS.
pub fn to_js<'py>(cx: &mut ToJs<'py>, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
    let a = api();
    let flags = obj.type_flags();
    let gil = cx.gil;
    if flags & py::TPFLAGS_LIST_SUBCLASS != 0 {
        // SAFETY: GIL held; obj is a list.
        let n = unsafe { (a.PyList_Size)(obj.as_ptr()) };
        let arr = cx.env.array(n.max(0) as usize)?;
        cx.memo_put(obj, arr);
        let mut i = 0;
        // The list may shrink while we convert (a __repr__ of a handle could mutate it): re-read
        // its size each time.
        // SAFETY: GIL held.
        while i < unsafe { (a.PyList_Size)(obj.as_ptr()) } {
            // SAFETY: index in range; borrowed item, kept alive by a new reference below.
            let item = unsafe { Borrowed::from_raw(gil, (a.PyList_GetItem)(obj.as_ptr(), i)) }.map(|b| b.to_owned());
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
            let item = unsafe { Borrowed::from_raw(gil, (a.PyTuple_GetItem)(obj.as_ptr(), i)) }.ok_or_else(|| errors::fetch(gil))?;
            let v = cx.value(item, depth + 1)?;
            cx.env.set_element(arr, i as u32, v)?;
        }
        return Ok(arr);
    }
    if flags & py::TPFLAGS_DICT_SUBCLASS != 0 {
        return dict_to_js(cx, obj, depth);
    }
    // set / frozenset: iterate.
    let arr = cx.env.array(0)?;
    cx.memo_put(obj, arr);
    // SAFETY: GIL held.
    let it = unsafe { Owned::from_result(gil, (a.PyObject_GetIter)(obj.as_ptr()))? };
    let mut i = 0u32;
    loop {
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

fn dict_items<'py>(cx: &ToJs<'py>, obj: Borrowed<'_, 'py>) -> Vec<(Owned<'py>, Owned<'py>)> {
    let a = api();
    let mut pos = 0isize;
    let mut out = Vec::new();
    let (mut k, mut v) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: GIL held; PyDict_Next yields borrowed references, which we take ownership of
    // at once so that converting one entry can't free another.
    while unsafe { (a.PyDict_Next)(obj.as_ptr(), &mut pos, &mut k, &mut v) } != 0 {
        // SAFETY: non-null borrowed references from the dict.
        unsafe {
            out.push((Borrowed::from_raw(cx.gil, k).unwrap_unchecked().to_owned(), Borrowed::from_raw(cx.gil, v).unwrap_unchecked().to_owned()));
        }
    }
    out
}

fn dict_to_js<'py>(cx: &mut ToJs<'py>, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
    let a = api();
    let items = dict_items(cx, obj);
    let all_str = items.iter().all(|(k, _)| k.borrow().type_ptr() == a.PyUnicode_Type || k.borrow().type_flags() & py::TPFLAGS_UNICODE_SUBCLASS != 0);
    let env = cx.env;
    if all_str {
        let o = env.object()?;
        cx.memo_put(obj, o);
        for (k, v) in items {
            let key = super::strings::to_js(env, cx.gil, k.borrow())?;
            let value = cx.value(v.borrow(), depth + 1)?;
            if is_proto_key(k.borrow()) {
                // [[Set]] of `__proto__` would replace the prototype: define an own key instead.
                define_own(env, o, key, value)?;
            } else {
                env.set_property(o, key, value)?;
            }
        }
        Ok(o)
    } else {
        let data = crate::instance::get(env)?;
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

/// Whether a str key is `__proto__`.
fn is_proto_key(k: Borrowed<'_, '_>) -> bool {
    let mut len = 0isize;
    // SAFETY: GIL held; a buffer owned by the str, or NULL (lone surrogates) with an error set.
    let p = unsafe { (api().PyUnicode_AsUTF8AndSize)(k.as_ptr(), &mut len) };
    if p.is_null() {
        // SAFETY: GIL held; the str can't be `__proto__` then.
        unsafe { (api().PyErr_Clear)() };
        return false;
    }
    // SAFETY: `len` bytes owned by k.
    len == 9 && unsafe { std::slice::from_raw_parts(p as *const u8, 9) } == b"__proto__"
}

fn define_own(env: crate::sys::napi::Env, o: Value, key: Value, value: Value) -> Result<()> {
    let global = env.global()?;
    let object = env.get_named(global, "Object")?;
    let define = env.get_named(object, "defineProperty")?;
    let desc = env.object()?;
    env.set_named(desc, "value", value)?;
    let t = env.boolean(true)?;
    env.set_named(desc, "writable", t)?;
    env.set_named(desc, "enumerable", t)?;
    env.set_named(desc, "configurable", t)?;
    env.call(object, define, &[o, key, desc])?;
    Ok(())
}
