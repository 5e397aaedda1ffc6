//! CPython's concrete types at the C API, as the layers above use them: what an object is
//! (`Kind`), numbers, `str`, `bytes`/`bytearray`/`memoryview`, lists, tuples, dicts, sets,
//! iterators, modules, capsules and builtin functions, the buffer protocol, and the two thread
//! calls of async jobs. Each function takes a `Gil` token (or a reference tied to one) and says
//! who owns what it returns; a failure is an `Error` with the Python exception read.

use super::object::{error, Borrowed, Gil, Owned};
use super::{api, PyBuffer, PyMethodDef, PyPtr};
use crate::error::{Error, Result};
use std::ffi::{c_void, CStr};

/// What an object is, by its exact type (a subclass is `Other`): the hot paths of both
/// conversions branch on it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    None,
    Bool(bool),
    Int,
    Float,
    Str,
    Bytes,
    ByteArray,
    List,
    Tuple,
    Dict,
    Set,
    FrozenSet,
    Other,
}

impl Borrowed<'_, '_> {
    /// The object's exact kind.
    #[inline]
    pub fn kind(self) -> Kind {
        let a = api();
        let p = self.as_ptr();
        if p == a._Py_NoneStruct {
            return Kind::None;
        }
        let t = self.type_ptr();
        if t == a.PyLong_Type {
            Kind::Int
        } else if t == a.PyFloat_Type {
            Kind::Float
        } else if t == a.PyUnicode_Type {
            Kind::Str
        } else if t == a.PyBool_Type {
            Kind::Bool(p == a._Py_TrueStruct)
        } else if t == a.PyList_Type {
            Kind::List
        } else if t == a.PyDict_Type {
            Kind::Dict
        } else if t == a.PyTuple_Type {
            Kind::Tuple
        } else if t == a.PyBytes_Type {
            Kind::Bytes
        } else if t == a.PyByteArray_Type {
            Kind::ByteArray
        } else if t == a.PySet_Type {
            Kind::Set
        } else if t == a.PyFrozenSet_Type {
            Kind::FrozenSet
        } else {
            Kind::Other
        }
    }

    /// Whether the object's type is the type of `kind` (Int, Float, Str, Bytes, ByteArray, List,
    /// Tuple, Dict, Set, FrozenSet) or a subclass of it.
    pub fn is_a(self, kind: Kind) -> bool {
        let a = api();
        let base = match kind {
            Kind::Int => a.PyLong_Type,
            Kind::Float => a.PyFloat_Type,
            Kind::Str => a.PyUnicode_Type,
            Kind::Bytes => a.PyBytes_Type,
            Kind::ByteArray => a.PyByteArray_Type,
            Kind::List => a.PyList_Type,
            Kind::Tuple => a.PyTuple_Type,
            Kind::Dict => a.PyDict_Type,
            Kind::Set => a.PySet_Type,
            Kind::FrozenSet => a.PyFrozenSet_Type,
            Kind::None | Kind::Bool(_) | Kind::Other => return self.kind() == kind,
        };
        // SAFETY: the reference's token proves the GIL; both are live type objects.
        unsafe { (a.PyType_IsSubtype)(self.type_ptr(), base) != 0 }
    }

    /// Whether only one reference to the object exists (so nothing else can reach it). Always
    /// false on a free-threaded build, where the count is split between threads.
    #[inline]
    pub fn is_sole_reference(self) -> bool {
        // SAFETY: a live object.
        unsafe { super::sole_reference(self.as_ptr()) }
    }

    /// Whether the object's type is `str` or a subclass of it.
    #[inline]
    pub fn is_str_like(self) -> bool {
        self.type_ptr() == api().PyUnicode_Type || self.type_flags() & super::TPFLAGS_UNICODE_SUBCLASS != 0
    }

    /// Whether the object is a type object (a class).
    #[inline]
    pub fn is_type(self) -> bool {
        self.type_flags() & super::TPFLAGS_TYPE_SUBCLASS != 0
    }

    /// Whether the object is an instance of `BaseException`.
    pub fn is_exception(self, gil: Gil<'_>) -> bool {
        // SAFETY: GIL held; a live object and the exception base class.
        match unsafe { (api().PyObject_IsInstance)(self.as_ptr(), api().PyExc_BaseException) } {
            1 => true,
            0 => false,
            _ => {
                super::object::clear(gil);
                false
            }
        }
    }
}

// Objects.

/// `isinstance(obj, cls)`.
pub fn is_instance(gil: Gil<'_>, obj: Borrowed<'_, '_>, cls: Borrowed<'_, '_>) -> Result<bool> {
    // SAFETY: GIL held; both alive.
    match unsafe { (api().PyObject_IsInstance)(obj.as_ptr(), cls.as_ptr()) } {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(error(gil)),
    }
}

/// `callable(obj)`.
pub fn is_callable(obj: Borrowed<'_, '_>) -> bool {
    // SAFETY: the token behind `obj` proves the GIL; a live object; never fails.
    unsafe { (api().PyCallable_Check)(obj.as_ptr()) != 0 }
}

/// `hasattr(obj, name)` (errors count as false, and are cleared by CPython).
pub fn has_attr(obj: Borrowed<'_, '_>, name: &CStr) -> bool {
    // SAFETY: GIL held (the reference's token); a live object and a NUL-terminated name.
    unsafe { (api().PyObject_HasAttrString)(obj.as_ptr(), name.as_ptr()) != 0 }
}

/// `setattr(obj, name, value)` with a text name.
pub fn set_attr_str(gil: Gil<'_>, obj: Borrowed<'_, '_>, name: &CStr, value: Borrowed<'_, '_>) -> Result<()> {
    super::object::setattr(gil, obj, name, value)
}

/// `dir(obj)` (a new list).
pub fn dir<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new list or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyObject_Dir)(obj.as_ptr())) }
}

/// `iter(obj)`.
pub fn iter<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new iterator or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyObject_GetIter)(obj.as_ptr())) }
}

/// `next(it)`: `Ok(None)` at the end.
pub fn next<'py>(gil: Gil<'py>, it: Borrowed<'_, 'py>) -> Result<Option<Owned<'py>>> {
    // SAFETY: GIL held; `it` is an iterator (from `iter`); a new reference or NULL.
    match unsafe { Owned::from_raw(gil, (api().PyIter_Next)(it.as_ptr())) } {
        Some(item) => Ok(Some(item)),
        None if super::object::error_pending(gil) => Err(error(gil)),
        None => Ok(None),
    }
}

// Numbers.

/// An `int` from an i64.
#[inline]
pub fn int_from_i64(gil: Gil<'_>, n: i64) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new int or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyLong_FromLongLong)(n)) }
}

/// An `int` from an integer-valued f64 of any size.
pub fn int_from_f64(gil: Gil<'_>, d: f64) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new int or NULL with an exception (NaN, infinity).
    unsafe { Owned::from_result(gil, (api().PyLong_FromDouble)(d)) }
}

/// An `int` from hexadecimal text (an optional sign, digits without a prefix).
pub fn int_from_hex<'py>(gil: Gil<'py>, text: &CStr) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a NUL-terminated string; base 16.
    unsafe { Owned::from_result(gil, (api().PyLong_FromString)(text.as_ptr(), std::ptr::null_mut(), 16)) }
}

/// An `int`'s value when it fits an i64; None (no error left) when it does not, or when `obj`
/// is no int.
#[inline]
pub fn int_to_i64(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Option<i64> {
    let mut overflow = 0;
    // SAFETY: GIL held; any object (a non-int sets an error, cleared below).
    let n = unsafe { (api().PyLong_AsLongLongAndOverflow)(obj.as_ptr(), &mut overflow) };
    if overflow != 0 {
        return None;
    }
    if n == -1 && super::object::error_pending(gil) {
        super::object::clear(gil);
        return None;
    }
    Some(n)
}

/// `hex(int)` as an object (`'-0x1f'`).
pub fn int_to_hex<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new str or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyNumber_ToBase)(obj.as_ptr(), 16)) }
}

/// A float's value (`float(obj)` for an exact float; -1.0 with the error cleared otherwise).
#[inline]
pub fn float_value(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> f64 {
    // SAFETY: GIL held; a live object.
    let d = unsafe { (api().PyFloat_AsDouble)(obj.as_ptr()) };
    if d == -1.0 && super::object::error_pending(gil) {
        super::object::clear(gil);
    }
    d
}

// str.

/// A new compact str of `len` characters wide enough for `max` (its characters unset: the
/// caller fills them at once, before the str is used).
pub fn str_new(gil: Gil<'_>, len: usize, max: u32) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new str or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyUnicode_New)(len as isize, max)) }
}

/// A str from UTF-16 code units without surrogates (CPython picks the narrowest kind).
pub fn str_from_ucs2<'py>(gil: Gil<'py>, units: &[u16]) -> Result<Owned<'py>> {
    // SAFETY: GIL held; `units` holds len 2-byte characters.
    unsafe {
        Owned::from_result(gil, (api().PyUnicode_FromKindAndData)(2, units.as_ptr() as *const _, units.len() as isize))
    }
}

/// A str from UTF-8 bytes (invalid UTF-8 is a `UnicodeDecodeError`).
#[inline]
pub fn str_from_utf8<'py>(gil: Gil<'py>, bytes: &[u8]) -> Result<Owned<'py>> {
    // SAFETY: GIL held; `bytes` of the given length (CPython checks the UTF-8).
    unsafe {
        Owned::from_result(gil, (api().PyUnicode_FromStringAndSize)(bytes.as_ptr() as *const _, bytes.len() as isize))
    }
}

/// A str from UTF-16 code units, lone surrogates kept (`surrogatepass`).
pub fn str_from_utf16<'py>(gil: Gil<'py>, units: &[u16]) -> Result<Owned<'py>> {
    let mut order: i32 = -1; // little-endian, no BOM handling
                             // SAFETY: GIL held; `units` is a valid buffer of 2 × len bytes.
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

/// A str's length in characters.
#[inline]
pub fn str_len(s: Borrowed<'_, '_>) -> usize {
    // SAFETY: the reference's token proves the GIL; a str.
    unsafe { (api().PyUnicode_GetLength)(s.as_ptr()) }.max(0) as usize
}

/// A str's UTF-8 bytes, owned by the str (cached in it); None when it has none (lone
/// surrogates), with the error cleared.
#[inline]
pub fn str_utf8<'a>(gil: Gil<'_>, s: Borrowed<'a, '_>) -> Option<&'a [u8]> {
    let mut len = 0isize;
    // SAFETY: GIL held; a buffer owned by the str (valid while it lives) or NULL.
    let p = unsafe { (api().PyUnicode_AsUTF8AndSize)(s.as_ptr(), &mut len) };
    if p.is_null() {
        super::object::clear(gil);
        return None;
    }
    // SAFETY: `len` bytes owned by `s`, alive for 'a.
    Some(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) })
}

/// The interned str equal to `s` (the same object when `s` is the first of its text).
pub fn str_intern<'py>(gil: Gil<'py>, s: Owned<'py>) -> Result<Owned<'py>> {
    let mut p = s.into_raw();
    // SAFETY: GIL held; InternInPlace replaces the reference in `p` with a reference to the
    // interned str (releasing the old one when they differ).
    unsafe {
        (api().PyUnicode_InternInPlace)(&mut p);
        Owned::from_result(gil, p)
    }
}

/// Whether two strs are equal (both must be strs).
#[inline]
pub fn str_eq(a: Borrowed<'_, '_>, b: Borrowed<'_, '_>) -> bool {
    // SAFETY: the references' token proves the GIL; both strs (no error possible then).
    unsafe { (api().PyUnicode_Compare)(a.as_ptr(), b.as_ptr()) == 0 }
}

// bytes, bytearray, memoryview.

/// The bytes of a `bytes` object, owned by it.
pub fn bytes_data<'a>(gil: Gil<'_>, b: Borrowed<'a, '_>) -> Result<&'a [u8]> {
    let mut p = std::ptr::null_mut();
    let mut len = 0isize;
    // SAFETY: GIL held; fills a pointer into the bytes object's buffer.
    if unsafe { (api().PyBytes_AsStringAndSize)(b.as_ptr(), &mut p, &mut len) } != 0 {
        return Err(error(gil));
    }
    // SAFETY: `len` bytes owned by `b`, alive for 'a.
    Ok(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) })
}

/// The bytes of a `bytearray` now (valid until it is resized: copy them before Python runs).
pub fn bytearray_data<'a>(b: Borrowed<'a, '_>) -> &'a [u8] {
    // SAFETY: the reference's token proves the GIL; a bytearray.
    let (p, len) = unsafe { ((api().PyByteArray_AsString)(b.as_ptr()), (api().PyByteArray_Size)(b.as_ptr())) };
    if p.is_null() || len <= 0 {
        return &[];
    }
    // SAFETY: `len` bytes of the bytearray's buffer, unchanged while no Python code runs.
    unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }
}

/// A new `bytes` holding a copy of `data`.
pub fn bytes_new<'py>(gil: Gil<'py>, data: &[u8]) -> Result<Owned<'py>> {
    // SAFETY: GIL held; `data` of the given length is copied.
    unsafe {
        Owned::from_result(gil, (api().PyBytes_FromStringAndSize)(data.as_ptr() as *const _, data.len() as isize))
    }
}

/// A new `bytearray` holding a copy of `data`.
pub fn bytearray_new<'py>(gil: Gil<'py>, data: &[u8]) -> Result<Owned<'py>> {
    // SAFETY: GIL held; `data` of the given length is copied.
    unsafe {
        Owned::from_result(gil, (api().PyByteArray_FromStringAndSize)(data.as_ptr() as *const _, data.len() as isize))
    }
}

/// `memoryview(obj)`.
pub fn memoryview<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new memoryview or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyMemoryView_FromObject)(obj.as_ptr())) }
}

/// Export `obj`'s buffer into `view` (`PyObject_GetBuffer`); it must be given back with
/// `release_buffer`.
pub fn get_buffer(gil: Gil<'_>, obj: Borrowed<'_, '_>, view: &mut PyBuffer, flags: i32) -> Result<()> {
    // SAFETY: GIL held; a live object and a zeroed view to fill.
    if unsafe { (api().PyObject_GetBuffer)(obj.as_ptr(), view, flags) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

/// Give back a buffer export.
///
/// # Safety
/// `view` was filled by `get_buffer` in the interpreter whose GIL is held, and is released once.
pub unsafe fn release_buffer(_gil: Gil<'_>, view: &mut PyBuffer) {
    // SAFETY: forwarded from the caller.
    unsafe { (api().PyBuffer_Release)(view) };
}

// Lists.

/// A new list of `n` Nones.
pub fn list_of_none(gil: Gil<'_>, n: usize) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new list with `n` NULL slots, or NULL with an exception.
    let list = unsafe { Owned::from_result(gil, (api().PyList_New)(n as isize))? };
    for i in 0..n {
        let none = super::object::none(gil);
        // SAFETY: index in range of the fresh list; steals the reference.
        unsafe { (api().PyList_SetItem)(list.as_ptr(), i as isize, none.into_raw()) };
    }
    Ok(list)
}

/// A new list of `n` unset (NULL) slots, for a bulk fill with `list_fill`.
///
/// # Safety
/// Every slot is filled (`list_fill`) before the list is used or dropped.
pub unsafe fn list_new_unset(gil: Gil<'_>, n: usize) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new list or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyList_New)(n as isize)) }
}

/// `list[i] = item` (index in range; the old item is released).
#[inline]
pub fn list_set(gil: Gil<'_>, list: Borrowed<'_, '_>, i: usize, item: Owned<'_>) -> Result<()> {
    // SAFETY: GIL held; SetItem checks the list and the index, and steals the reference.
    if unsafe { (api().PyList_SetItem)(list.as_ptr(), i as isize, item.into_raw()) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

/// A list's length (0 for anything else, with the error cleared).
#[inline]
pub fn list_len(gil: Gil<'_>, list: Borrowed<'_, '_>) -> usize {
    // SAFETY: GIL held; PyList_Size checks its argument.
    let n = unsafe { (api().PyList_Size)(list.as_ptr()) };
    if n < 0 {
        super::object::clear(gil);
        return 0;
    }
    n as usize
}

/// `list[i]`, borrowed from the list (None out of range, with the error cleared).
#[inline]
pub fn list_get<'a, 'py>(gil: Gil<'py>, list: Borrowed<'a, 'py>, i: usize) -> Option<Borrowed<'a, 'py>> {
    // SAFETY: GIL held; a borrowed reference owned by the list (alive while it is and is not
    // changed), or NULL with an IndexError.
    let r = unsafe { Borrowed::from_raw(gil, (api().PyList_GetItem)(list.as_ptr(), i as isize)) };
    if r.is_none() {
        super::object::clear(gil);
    }
    r
}

// Tuples.

/// A tuple of the given items.
pub fn tuple_of<'py>(gil: Gil<'py>, items: impl ExactSizeIterator<Item = Result<Owned<'py>>>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new tuple with NULL slots (which its deallocation skips), or NULL.
    let t = unsafe { Owned::from_result(gil, (api().PyTuple_New)(items.len() as isize))? };
    for (i, item) in items.enumerate() {
        let item = item?;
        // SAFETY: a fresh tuple (held once) and an index in range; steals the reference.
        unsafe { (api().PyTuple_SetItem)(t.as_ptr(), i as isize, item.into_raw()) };
    }
    Ok(t)
}

/// A tuple's length.
#[inline]
pub fn tuple_len(gil: Gil<'_>, t: Borrowed<'_, '_>) -> usize {
    // SAFETY: GIL held; PyTuple_Size checks its argument.
    let n = unsafe { (api().PyTuple_Size)(t.as_ptr()) };
    if n < 0 {
        super::object::clear(gil);
        return 0;
    }
    n as usize
}

/// `tuple[i]`, borrowed from the tuple (None out of range, with the error cleared).
#[inline]
pub fn tuple_get<'a, 'py>(gil: Gil<'py>, t: Borrowed<'a, 'py>, i: usize) -> Option<Borrowed<'a, 'py>> {
    // SAFETY: GIL held; a borrowed reference owned by the (immutable) tuple, or NULL.
    let r = unsafe { Borrowed::from_raw(gil, (api().PyTuple_GetItem)(t.as_ptr(), i as isize)) };
    if r.is_none() {
        super::object::clear(gil);
    }
    r
}

// Dicts.

/// A new, empty dict.
#[inline]
pub fn dict_new(gil: Gil<'_>) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new dict or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyDict_New)()) }
}

/// `d[key] = value` (an unhashable key is a `TypeError`).
#[inline]
pub fn dict_set(gil: Gil<'_>, d: Borrowed<'_, '_>, key: Borrowed<'_, '_>, value: Borrowed<'_, '_>) -> Result<()> {
    // SAFETY: GIL held; a dict and two live objects (references are taken, not stolen).
    if unsafe { (api().PyDict_SetItem)(d.as_ptr(), key.as_ptr(), value.as_ptr()) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

/// `d[key] = value` with a text key.
pub fn dict_set_str(gil: Gil<'_>, d: Borrowed<'_, '_>, key: &CStr, value: Borrowed<'_, '_>) -> Result<()> {
    // SAFETY: GIL held; a dict, a NUL-terminated key and a live value.
    if unsafe { (api().PyDict_SetItemString)(d.as_ptr(), key.as_ptr(), value.as_ptr()) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

/// `d.get(key)` with a text key, borrowed from the dict.
pub fn dict_get_str<'a, 'py>(gil: Gil<'py>, d: Borrowed<'a, 'py>, key: &CStr) -> Option<Borrowed<'a, 'py>> {
    // SAFETY: GIL held; a borrowed reference owned by the dict, or NULL (no error set).
    unsafe { Borrowed::from_raw(gil, (api().PyDict_GetItemString)(d.as_ptr(), key.as_ptr())) }
}

/// `d.update(other)`.
pub fn dict_update(gil: Gil<'_>, d: Borrowed<'_, '_>, other: Borrowed<'_, '_>) -> Result<()> {
    // SAFETY: GIL held; two dicts.
    if unsafe { (api().PyDict_Update)(d.as_ptr(), other.as_ptr()) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

/// A dict's length.
#[inline]
pub fn dict_len(d: Borrowed<'_, '_>) -> usize {
    // SAFETY: the reference's token proves the GIL; a dict.
    unsafe { (api().PyDict_Size)(d.as_ptr()) }.max(0) as usize
}

/// The next (key, value) of a dict from position `pos` (start at 0), borrowed from the dict,
/// which must not change meanwhile.
#[inline]
pub fn dict_next<'a, 'py>(
    gil: Gil<'py>,
    d: Borrowed<'a, 'py>,
    pos: &mut isize,
) -> Option<(Borrowed<'a, 'py>, Borrowed<'a, 'py>)> {
    let (mut k, mut v): (PyPtr, PyPtr) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: GIL held; a dict; fills borrowed references owned by it.
    if unsafe { (api().PyDict_Next)(d.as_ptr(), pos, &mut k, &mut v) } == 0 {
        return None;
    }
    // SAFETY: non-null borrowed references of the dict's entry.
    unsafe { Some((Borrowed::from_raw(gil, k)?, Borrowed::from_raw(gil, v)?)) }
}

// Sets.

/// A new, empty set.
pub fn set_new(gil: Gil<'_>) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new set or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PySet_New)(std::ptr::null_mut())) }
}

/// `s.add(item)`.
pub fn set_add(gil: Gil<'_>, s: Borrowed<'_, '_>, item: Borrowed<'_, '_>) -> Result<()> {
    // SAFETY: GIL held; a set and a live item (an unhashable one is a TypeError).
    if unsafe { (api().PySet_Add)(s.as_ptr(), item.as_ptr()) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

/// A set's length.
pub fn set_len(s: Borrowed<'_, '_>) -> usize {
    // SAFETY: the reference's token proves the GIL; a set or frozenset.
    unsafe { (api().PySet_Size)(s.as_ptr()) }.max(0) as usize
}

// Modules.

/// A new, empty module.
pub fn module_new<'py>(gil: Gil<'py>, name: &CStr) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new module or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyModule_New)(name.as_ptr())) }
}

/// A module's dict, borrowed from the module.
pub fn module_dict<'a, 'py>(gil: Gil<'py>, m: Borrowed<'a, 'py>) -> Result<Borrowed<'a, 'py>> {
    // SAFETY: GIL held; a module; a borrowed dict.
    unsafe { Borrowed::from_raw(gil, (api().PyModule_GetDict)(m.as_ptr())) }
        .ok_or_else(|| Error::Runtime("python-ts: a module without a dict".into()))
}

/// `importlib.reload(module)`.
pub fn reload<'py>(gil: Gil<'py>, module: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a new reference or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyImport_ReloadModule)(module.as_ptr())) }
}

// Capsules and builtin functions.

/// A capsule owning `ptr`, given to `destructor` when the capsule dies.
///
/// # Safety
/// `ptr` is non-null and the destructor takes ownership of it (on failure the caller keeps it).
pub unsafe fn capsule_new<'py>(
    gil: Gil<'py>,
    ptr: *mut c_void,
    name: &'static CStr,
    destructor: unsafe extern "C" fn(PyPtr),
) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a non-null pointer, a static name; the destructor owns the pointer.
    unsafe { Owned::from_result(gil, (api().PyCapsule_New)(ptr, name.as_ptr(), Some(destructor))) }
}

/// The pointer a capsule of this name holds (NULL for another name, the error cleared).
///
/// # Safety
/// `cap` is a live object and the GIL is held.
pub unsafe fn capsule_pointer(cap: PyPtr, name: &CStr) -> *mut c_void {
    // SAFETY: forwarded from the caller.
    let p = unsafe { (api().PyCapsule_GetPointer)(cap, name.as_ptr()) };
    if p.is_null() {
        // SAFETY: as above.
        unsafe { (api().PyErr_Clear)() };
    }
    p
}

/// A builtin function of `def` bound to `slf`.
pub fn cfunction_new<'py>(gil: Gil<'py>, def: &'static PyMethodDef, slf: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held; a static method definition; `slf` becomes the function's self.
    unsafe {
        Owned::from_result(
            gil,
            (api().PyCFunction_NewEx)(def as *const _ as *mut _, slf.as_ptr(), std::ptr::null_mut()),
        )
    }
}

// Threads (async jobs).

/// The calling thread's id as `threading.get_ident()` gives it.
pub fn thread_ident() -> u64 {
    // SAFETY: no arguments; the id of the calling thread.
    let ident = unsafe { (api().PyThread_get_thread_ident)() };
    #[allow(clippy::useless_conversion)] // c_ulong is u32 on Windows
    u64::from(ident)
}

/// Raise `exc` in the thread `ident` of the current interpreter at its next bytecode; how many
/// threads were found.
pub fn raise_in_thread(_gil: Gil<'_>, ident: u64, exc: Borrowed<'_, '_>) -> i32 {
    // SAFETY: GIL of the thread's interpreter held; a live exception class.
    unsafe { (api().PyThreadState_SetAsyncExc)(ident as _, exc.as_ptr()) }
}

// The cyclic GC.

/// `gc.disable()` of the current interpreter: whether it was enabled (None where the runtime has
/// no such call, 3.8).
pub fn gc_disable(_gil: Gil<'_>) -> Option<bool> {
    let disable = api().PyGC_Disable?;
    // SAFETY: GIL held; the previous state, 1 for enabled.
    Some(unsafe { disable() } == 1)
}

/// `gc.enable()` of the current interpreter (nothing where the runtime has no such call).
pub fn gc_enable(_gil: Gil<'_>) {
    if let Some(enable) = api().PyGC_Enable {
        // SAFETY: GIL held.
        unsafe { enable() };
    }
}
