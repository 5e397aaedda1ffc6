//! Arrays of same-shaped plain records, the everyday payload (rows, API results), in one JS
//! helper call per Array instead of one per object: the helper (`recordsOf`) hands over the keys
//! once and every value as columns — kinds, numbers, one joined string — and the native side
//! builds the dicts with one key str per column, shared by every record.

use super::ToPy;
use crate::error::{Error, Result};
use crate::sys::napi::Value;
use crate::sys::python::concrete as pc;
use crate::sys::python::{Borrowed, Kind, Owned};

/// Arrays that took the columns, each way (`clib._internals.conversion_stats()`).
pub static TO_PY_ARRAYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
pub static TO_JS_ARRAYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

use crate::env::protocol::record::{ARRAY, FALSE, NONE, NUMBER, OTHER, OWN, SEEN, STRING, TRUE};

/// Fill `list` (len items, already in the memo) from the Array `v` when its items are records of
/// one shape; false (nothing read, nothing changed) when they are not. `depth` is the list's.
pub fn to_py<'py>(cx: &mut ToPy<'py>, v: Value, list: &Owned<'py>, len: usize, depth: usize) -> Result<bool> {
    let env = cx.env;
    let Some(memo) = cx.memo else { return Ok(false) };
    let base = env.double(cx.memo_objs.len() as f64)?;
    let cols = cx.data()?.call_helper(env, |h| h.records_of, &[v, memo, base])?;
    if env.type_of(cols)? != crate::sys::napi::ValueType::napi_object {
        return Ok(false);
    }
    let gil = cx.gil;
    let keys_joined = env.get_string_utf16(env.get_element(cols, 0)?)?;
    let (_, nk, kinds, _, _) = env.typedarray_info(env.get_element(cols, 1)?)?;
    let (_, nn, nums, _, _) = env.typedarray_info(env.get_element(cols, 2)?)?;
    let strs = env.get_string_utf16(env.get_element(cols, 3)?)?;
    let others = env.get_element(cols, 4)?;
    // SAFETY: typed arrays the helper just made; no JS runs while we read them (values of kind
    // OTHER are converted after the last read of these slices).
    let kinds: &[u8] = if nk == 0 { &[] } else { unsafe { std::slice::from_raw_parts(kinds as *const u8, nk) } };
    // SAFETY: as above.
    let nums: &[f64] = if nn == 0 { &[] } else { unsafe { std::slice::from_raw_parts(nums as *const f64, nn) } };
    if nk != nn {
        return Err(out_of_step());
    }
    // One str per key, interned: every record's dict shares them.
    let mut keys = Vec::new();
    for unit_key in keys_joined.split(|&u| u == 0) {
        keys.push(pc::str_intern(gil, super::strings::from_units(gil, unit_key)?)?);
    }
    // Every record's dict first, in the memo in order (the helper numbered them so).
    let mut dicts = Vec::with_capacity(len);
    for i in 0..len {
        let d = pc::dict_new(gil)?;
        cx.memo_push(&d);
        pc::list_set(gil, list.borrow(), i, d.clone())?;
        dicts.push(d);
    }
    let mut r = Reader { kinds, nums, strs: &strs, at: 0, str_at: 0, deferred: Vec::new() };
    for (i, d) in dicts.iter().enumerate() {
        for (j, key) in keys.iter().enumerate() {
            let value = r.value(cx, true, Place::Key(i, j))?;
            pc::dict_set(gil, d.borrow(), key.borrow(), value.borrow())?;
        }
    }
    if r.at != kinds.len() || r.str_at != strs.len() {
        return Err(out_of_step());
    }
    // The other values, in the helper's order: each memo index the general path gives out now
    // comes after every one the helper gave to records and their Arrays, as on the JS side.
    let n_others = env.array_len(others)? as usize;
    if n_others != r.deferred.len() {
        return Err(out_of_step());
    }
    for (i, slot) in std::mem::take(&mut r.deferred).into_iter().enumerate() {
        let value = cx.value(env.get_element(others, i as u32)?, depth + 2)?;
        slot.set(cx, &dicts, &keys, value)?;
    }
    TO_PY_ARRAYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(true)
}

fn out_of_step() -> Error {
    Error::Generic("python-ts: record columns out of step".into())
}

/// Where a value is read into: a record's key (record and key index) or an inner list's item.
#[derive(Clone, Copy)]
enum Place<'a, 'py> {
    Key(usize, usize),
    Item(&'a Owned<'py>, usize),
}

/// Where a value of kind OTHER goes once converted.
enum Slot<'py> {
    Key(usize, usize),
    Item(Owned<'py>, usize),
}

impl<'py> Slot<'py> {
    fn set(self, cx: &ToPy<'py>, dicts: &[Owned<'py>], keys: &[Owned<'py>], value: Owned<'py>) -> Result<()> {
        match self {
            Slot::Key(i, j) => {
                let (d, k) = dicts.get(i).zip(keys.get(j)).ok_or_else(out_of_step)?;
                // The key keeps its place in the dict's order: it was set to None before.
                pc::dict_set(cx.gil, d.borrow(), k.borrow(), value.borrow())?;
            }
            Slot::Item(l, i) => pc::list_set(cx.gil, l.borrow(), i, value)?,
        }
        Ok(())
    }
}

struct Reader<'a, 'py> {
    kinds: &'a [u8],
    nums: &'a [f64],
    strs: &'a [u16],
    at: usize,
    str_at: usize,
    deferred: Vec<Slot<'py>>,
}

impl<'py> Reader<'_, 'py> {
    /// The next value; one of kind OTHER is None for now, its slot remembered.
    fn value(&mut self, cx: &mut ToPy<'py>, arrays: bool, place: Place<'_, 'py>) -> Result<Owned<'py>> {
        let gil = cx.gil;
        let (Some(&kind), Some(&num)) = (self.kinds.get(self.at), self.nums.get(self.at)) else {
            return Err(out_of_step());
        };
        self.at += 1;
        match kind {
            NUMBER => super::numbers::number_to_py(gil, num),
            STRING => {
                let end = self.str_at + num as usize;
                let units = self.strs.get(self.str_at..end).ok_or_else(out_of_step)?;
                self.str_at = end;
                super::strings::from_units(gil, units)
            }
            TRUE | FALSE => super::numbers::bool_to_py(gil, kind == TRUE),
            NONE => Ok(crate::sys::python::object::none(gil)),
            OTHER => {
                self.deferred.push(match place {
                    Place::Key(i, j) => Slot::Key(i, j),
                    Place::Item(l, i) => Slot::Item(l.clone(), i),
                });
                Ok(crate::sys::python::object::none(gil))
            }
            ARRAY if arrays => {
                let n = num as usize;
                let list = pc::list_of_none(gil, n)?;
                cx.memo_push(&list);
                for i in 0..n {
                    let item = self.value(cx, false, Place::Item(&list, i))?;
                    pc::list_set(gil, list.borrow(), i, item)?;
                }
                Ok(list)
            }
            SEEN if arrays => cx.memo_objs.get(num as usize).cloned().ok_or_else(out_of_step),
            _ => Err(out_of_step()),
        }
    }
}

/// Strings shorter than this travel joined in one JS string, sliced by the helper (V8 copies a
/// slice this short; a longer one would keep the whole joined string alive), longer ones as
/// strings of their own.
const JOIN_BELOW: usize = 13;

/// A list of same-shaped dicts (str keys, primitive values or lists of them) → an Array of
/// records built by one helper call from columns. None when the list is anything else, or when
/// a dict or inner list may be shared (its reference count is not 1: the memo would have to
/// know it), so identity and cycles keep their general path.
pub fn to_js<'py>(cx: &mut super::ToJs<'py>, obj: Borrowed<'_, 'py>) -> Result<Option<Value>> {
    // On a free-threaded build other threads may hold (and change) the dicts: reference counts
    // can't tell, so the general path, which locks each container it reads.
    if crate::sys::python::is_free_threaded() {
        return Ok(None);
    }
    let gil = cx.gil;
    let env = cx.env;
    // An exact list (checked by the caller). No Python code runs below, so the list and its
    // dicts can't change while they are read.
    let n = pc::list_len(gil, obj);
    let Some(first) = pc::list_get(gil, obj, 0).filter(|d| d.kind() == Kind::Dict) else { return Ok(None) };
    // The keys, in the first dict's order.
    let mut keys: Vec<Borrowed<'_, 'py>> = Vec::new();
    let mut pos = 0isize;
    while let Some((k, _)) = pc::dict_next(gil, first, &mut pos) {
        if k.kind() != Kind::Str || keys.len() >= 64 {
            return Ok(None);
        }
        keys.push(k);
    }
    if keys.is_empty() {
        return Ok(None);
    }
    let mut joined_keys: Vec<u16> = Vec::new();
    for (i, &key) in keys.iter().enumerate() {
        if i > 0 {
            joined_keys.push(0);
        }
        let from = joined_keys.len();
        if super::strings::append_units(gil, key, &mut joined_keys).is_none() || joined_keys[from..].contains(&0) {
            return Ok(None);
        }
    }
    let mut cols = Columns::default();
    for i in 0..n {
        let Some(d) = pc::list_get(gil, obj, i) else { return Ok(None) };
        if d.kind() != Kind::Dict || !d.is_sole_reference() || pc::dict_len(d) != keys.len() {
            return Ok(None);
        }
        let mut pos = 0isize;
        let mut j = 0;
        while let Some((k, v)) = pc::dict_next(gil, d, &mut pos) {
            if j >= keys.len() || !same_key(k, keys[j]) || !cols.push(cx, v, true)? {
                return Ok(None);
            }
            j += 1;
        }
    }
    let data = crate::env::get(env)?;
    let keys_js = env.string_utf16(&joined_keys)?;
    let count = env.double(n as f64)?;
    let (kab, kdata) = env.arraybuffer(cols.kinds.len().max(1))?;
    // SAFETY: a fresh ArrayBuffer of at least that many bytes.
    unsafe { std::ptr::copy_nonoverlapping(cols.kinds.as_ptr(), kdata as *mut u8, cols.kinds.len()) };
    let kinds = env.typedarray(crate::sys::napi::TypedarrayType::uint8_array, cols.kinds.len(), kab, 0)?;
    let (nab, ndata) = env.arraybuffer(cols.nums.len().max(1) * 8)?;
    // SAFETY: a fresh ArrayBuffer of at least that many doubles.
    unsafe { std::ptr::copy_nonoverlapping(cols.nums.as_ptr(), ndata as *mut f64, cols.nums.len()) };
    let nums = env.typedarray(crate::sys::napi::TypedarrayType::float64_array, cols.nums.len(), nab, 0)?;
    let strs = if cols.wide {
        env.string_utf16(&cols.strs)?
    } else {
        env.string_latin1(&cols.strs.iter().map(|&u| u as u8).collect::<Vec<u8>>())?
    };
    let own = env.array(cols.own.len())?;
    for (i, s) in cols.own.iter().enumerate() {
        env.set_element(own, i as u32, *s)?;
    }
    let out = data.call_helper(env, |h| h.make_records, &[keys_js, count, kinds, nums, strs, own])?;
    TO_JS_ARRAYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Some(out))
}

/// Whether a dict's key is the first dict's key of that place (exact strs compare without
/// running Python code).
fn same_key(k: Borrowed<'_, '_>, want: Borrowed<'_, '_>) -> bool {
    k.as_ptr() == want.as_ptr() || (k.kind() == Kind::Str && pc::str_eq(k, want))
}

#[derive(Default)]
struct Columns {
    kinds: Vec<u8>,
    nums: Vec<f64>,
    strs: Vec<u16>,
    /// Whether a joined string needs two bytes.
    wide: bool,
    own: Vec<Value>,
}

impl Columns {
    /// Append one value; false when it is not a primitive (or, with `arrays`, a list of them).
    fn push(&mut self, cx: &mut super::ToJs<'_>, v: Borrowed<'_, '_>, arrays: bool) -> Result<bool> {
        let gil = cx.gil;
        match v.kind() {
            Kind::None => {
                self.kinds.push(NONE);
                self.nums.push(0.0);
            }
            Kind::Bool(b) => {
                self.kinds.push(if b { TRUE } else { FALSE });
                self.nums.push(0.0);
            }
            Kind::Float => {
                self.kinds.push(NUMBER);
                self.nums.push(pc::float_value(gil, v));
            }
            Kind::Int => match pc::int_to_i64(gil, v) {
                Some(n) if n.unsigned_abs() <= super::numbers::MAX_SAFE as u64 => {
                    self.kinds.push(NUMBER);
                    self.nums.push(n as f64);
                }
                _ => {
                    // A BigInt, made here (a scalar: nothing in it leads back to a container).
                    let big = super::numbers::int_to_js(cx.env, gil, v)?;
                    self.kinds.push(OWN);
                    self.nums.push(0.0);
                    self.own.push(big);
                }
            },
            Kind::Str => {
                let from = self.strs.len();
                let Some(added) = super::strings::append_units(gil, v, &mut self.strs) else {
                    return Ok(false);
                };
                if added < JOIN_BELOW {
                    self.kinds.push(STRING);
                    self.nums.push(added as f64);
                    self.wide |= self.strs[from..].iter().any(|&u| u > 0xFF);
                } else {
                    self.strs.truncate(from);
                    let s = super::strings::to_js(cx.env, gil, v)?;
                    self.kinds.push(OWN);
                    self.nums.push(0.0);
                    self.own.push(s);
                }
            }
            Kind::List if arrays => {
                // A count of 1 means only this dict holds it.
                if !v.is_sole_reference() {
                    return Ok(false);
                }
                let m = pc::list_len(gil, v);
                if m > 64 {
                    return Ok(false);
                }
                self.kinds.push(ARRAY);
                self.nums.push(m as f64);
                for i in 0..m {
                    let Some(item) = pc::list_get(gil, v, i) else { return Ok(false) };
                    if !self.push(cx, item, false)? {
                        return Ok(false);
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
