//! Python objects at the C API: the `Gil<'py>` token that proves the GIL is held, the owned and
//! borrowed reference types, and the small, named operations on objects every layer above uses
//! (attributes, calls, `str`/`repr`, numbers, strings, bytes, lists, tuples, dicts, sets,
//! imports, errors). Each takes a token and returns owned references or errors, so no layer
//! above this one calls CPython's functions itself or sees a pending Python exception.
//!
//! Every raw pointer that enters from CPython is given an owner here, once: `Owned::from_raw`
//! for a new reference (decref on drop), `Borrowed::from_raw` for a borrowed one (never
//! decref'd). Both carry the `'py` lifetime of a token, so they cannot outlive the GIL that makes
//! touching them safe. A failure is read into an `Error` by the reader the runtime registers
//! (`set_error_reader`: it formats the traceback with Python's own `traceback`).

use super::{api, PyObject, PyPtr};
use crate::error::{Error, Result};
use once_cell::sync::OnceCell;
use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// Proof that the current thread holds the GIL for `'py`. Not `Send`: the GIL is per thread.
#[derive(Clone, Copy)]
pub struct Gil<'py>(PhantomData<(&'py (), *const ())>);

impl Gil<'_> {
    /// # Safety
    /// The caller must hold the GIL for the whole lifetime of the token.
    pub unsafe fn assume() -> Self {
        Gil(PhantomData)
    }
}

/// What reads a pending Python exception into an `Error` (set by the runtime at start; clears
/// the exception).
pub type ErrorReader = for<'py> fn(Gil<'py>) -> Error;

static ERROR_READER: OnceCell<ErrorReader> = OnceCell::new();
/// Where the running runtime's generation comes from (caches of interned names are per
/// generation).
static GENERATION: OnceCell<fn() -> u64> = OnceCell::new();

/// Register the runtime's error reader and generation source (once per process).
pub fn set_runtime_hooks(reader: ErrorReader, generation: fn() -> u64) {
    let _ = ERROR_READER.set(reader);
    let _ = GENERATION.set(generation);
}

fn generation() -> u64 {
    GENERATION.get().map(|f| f()).unwrap_or(0)
}

/// The pending Python exception as an `Error` (and cleared).
pub fn error(gil: Gil<'_>) -> Error {
    match ERROR_READER.get() {
        Some(read) => read(gil),
        None => {
            clear(gil);
            Error::Runtime("python-ts: a Python call failed".into())
        }
    }
}

/// A strong reference, released on drop (the GIL is held for `'py`).
pub struct Owned<'py> {
    ptr: NonNull<PyObject>,
    _gil: PhantomData<Gil<'py>>,
}

/// A borrowed reference, valid while its owner keeps the object alive.
#[derive(Clone, Copy)]
pub struct Borrowed<'a, 'py> {
    ptr: NonNull<PyObject>,
    _gil: PhantomData<(&'a (), Gil<'py>)>,
}

impl<'py> Owned<'py> {
    /// Takes ownership of a new reference; `None` for NULL.
    ///
    /// # Safety
    /// `p` is NULL or a new (owned) reference.
    #[inline]
    pub unsafe fn from_raw(_gil: Gil<'py>, p: PyPtr) -> Option<Self> {
        NonNull::new(p).map(|ptr| Owned { ptr, _gil: PhantomData })
    }

    /// Takes ownership of a new reference; NULL means a Python exception is set, which is
    /// fetched into the error.
    ///
    /// # Safety
    /// `p` is NULL (with an exception set) or a new reference.
    #[inline]
    pub unsafe fn from_result(gil: Gil<'py>, p: PyPtr) -> Result<Self> {
        // SAFETY: forwarded from the caller.
        match unsafe { Self::from_raw(gil, p) } {
            Some(o) => Ok(o),
            None => Err(error(gil)),
        }
    }

    #[inline]
    pub fn as_ptr(&self) -> PyPtr {
        self.ptr.as_ptr()
    }

    #[inline]
    pub fn borrow(&self) -> Borrowed<'_, 'py> {
        Borrowed { ptr: self.ptr, _gil: PhantomData }
    }

    /// Gives the reference away (to a "steals a reference" API).
    #[inline]
    pub fn into_raw(self) -> PyPtr {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Clone for Owned<'_> {
    fn clone(&self) -> Self {
        // SAFETY: GIL held for 'py; the object is alive (we own a reference).
        unsafe { (api().Py_IncRef)(self.as_ptr()) };
        Owned { ptr: self.ptr, _gil: PhantomData }
    }
}

impl Drop for Owned<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: GIL held for 'py (the token's lifetime); we own one reference.
        unsafe { (api().Py_DecRef)(self.ptr.as_ptr()) };
    }
}

impl<'a, 'py> Borrowed<'a, 'py> {
    /// # Safety
    /// `p` is a live object kept alive for `'a` by someone else.
    #[inline]
    pub unsafe fn from_raw(_gil: Gil<'py>, p: PyPtr) -> Option<Self> {
        NonNull::new(p).map(|ptr| Borrowed { ptr, _gil: PhantomData })
    }

    /// Borrow the object at an address that some owner keeps alive.
    ///
    /// # Safety
    /// `addr` is a live object of the running generation, kept alive for `'a`.
    #[inline]
    pub unsafe fn from_addr(_gil: Gil<'py>, addr: usize) -> Self {
        // SAFETY: forwarded from the caller; a live object's address is non-null.
        Borrowed { ptr: unsafe { NonNull::new_unchecked(addr as PyPtr) }, _gil: PhantomData }
    }

    #[inline]
    pub fn as_ptr(&self) -> PyPtr {
        self.ptr.as_ptr()
    }

    #[inline]
    pub fn to_owned(self) -> Owned<'py> {
        // SAFETY: GIL held; the object is alive for 'a.
        unsafe { (api().Py_IncRef)(self.as_ptr()) };
        Owned { ptr: self.ptr, _gil: PhantomData }
    }

    /// The object's type (borrowed: types outlive their instances).
    #[inline]
    pub fn type_ptr(self) -> PyPtr {
        // SAFETY: the object is alive; its head layout is fixed for every supported runtime.
        unsafe { super::type_of(self.as_ptr()) }
    }

    /// The object's type, as an object (types outlive their instances).
    #[inline]
    pub fn type_object(self) -> Borrowed<'a, 'py> {
        // SAFETY: a live object always has a type.
        unsafe { Borrowed::from_raw_unchecked(self.type_ptr()) }
    }

    /// # Safety
    /// `p` is a live, non-null object kept alive for `'a`.
    #[inline]
    unsafe fn from_raw_unchecked(p: PyPtr) -> Self {
        // SAFETY: forwarded from the caller.
        Borrowed { ptr: unsafe { NonNull::new_unchecked(p) }, _gil: PhantomData }
    }

    /// The type's flags (`PyType_GetFlags`), for the `*_Check` family.
    #[inline]
    #[allow(clippy::unnecessary_cast)] // c_ulong is 32-bit on Windows
    pub fn type_flags(self) -> u64 {
        // SAFETY: GIL held; `type_ptr` is a live type object.
        unsafe { (api().PyType_GetFlags)(self.type_ptr()) as u64 }
    }

    /// The address, for identity maps and JS handle values.
    #[inline]
    pub fn addr(self) -> usize {
        self.as_ptr() as usize
    }
}

// Errors.

/// The exception classes python-ts raises itself.
#[derive(Clone, Copy)]
pub enum Exc {
    RuntimeError,
    TypeError,
    ValueError,
}

/// Set a pending exception of class `exc` with message `msg`.
pub fn set_error(_gil: Gil<'_>, exc: Exc, msg: &str) {
    let a = api();
    let t = match exc {
        Exc::RuntimeError => a.PyExc_RuntimeError,
        Exc::TypeError => a.PyExc_TypeError,
        Exc::ValueError => a.PyExc_ValueError,
    };
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: GIL held; an exception class and a NUL-terminated message.
    unsafe { (a.PyErr_SetString)(t, c.as_ptr()) };
}

/// Whether a Python exception is pending.
pub fn error_pending(_gil: Gil<'_>) -> bool {
    // SAFETY: GIL held; a borrowed pointer or NULL.
    !unsafe { (api().PyErr_Occurred)() }.is_null()
}

/// Clear any pending Python exception.
pub fn clear(_gil: Gil<'_>) {
    // SAFETY: GIL held.
    unsafe { (api().PyErr_Clear)() };
}

/// Take the pending exception object (normalized), if any.
pub fn take<'py>(gil: Gil<'py>) -> Option<Owned<'py>> {
    let api = api();
    if let Some(get) = api.PyErr_GetRaisedException {
        // SAFETY: GIL held; returns a new reference or NULL.
        return unsafe { Owned::from_raw(gil, get()) };
    }
    let (mut t, mut v, mut tb): (PyPtr, PyPtr, PyPtr) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    // SAFETY: GIL held; Fetch transfers ownership of the three references to us.
    unsafe {
        (api.PyErr_Fetch)(&mut t, &mut v, &mut tb);
        if t.is_null() {
            return None;
        }
        (api.PyErr_NormalizeException)(&mut t, &mut v, &mut tb);
    }
    // SAFETY: the three are owned references (or NULL).
    let (t, v, tb) = unsafe { (Owned::from_raw(gil, t), Owned::from_raw(gil, v), Owned::from_raw(gil, tb)) };
    let v = v?;
    if let Some(tb) = &tb {
        // SAFETY: GIL held; v is an exception instance after normalization.
        unsafe { (api.PyException_SetTraceback)(v.as_ptr(), tb.as_ptr()) };
    }
    drop(t);
    Some(v)
}

/// Put an exception object back as the pending one (consumes it).
pub fn restore(gil: Gil<'_>, exc: Owned<'_>) {
    let api = api();
    if let Some(set) = api.PyErr_SetRaisedException {
        // SAFETY: GIL held; steals the reference.
        unsafe { set(exc.into_raw()) };
        return;
    }
    // SAFETY: GIL held; `type(exc)` is alive while exc is; Restore steals all three references.
    unsafe {
        let t = Borrowed::from_raw(gil, exc.borrow().type_ptr()).unwrap_unchecked().to_owned();
        let tb = getattr_opt(gil, exc.borrow(), c"__traceback__");
        let tb = tb.filter(|tb| !is_none(tb.borrow())).map(|tb| tb.into_raw()).unwrap_or(ptr::null_mut());
        (api.PyErr_Restore)(t.into_raw(), exc.into_raw(), tb);
    }
}

// Objects.

pub fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Type(format!("string contains a NUL byte: {s:?}")))
}

/// `importlib.import_module(name)`: the module from `sys.modules`, else imported by the import
/// system (`sys.meta_path`, `sys.path`) — never through `builtins.__import__`, which user code may
/// replace: python-ts's own work (and `_import_module`) must not depend on such a hook, as
/// CPython's own machinery does not.
pub fn import<'py>(gil: Gil<'py>, name: &str) -> Result<Owned<'py>> {
    let c = cstr(name)?;
    if let Some(m) = loaded_module(gil, &c) {
        return Ok(m.to_owned());
    }
    // SAFETY: GIL held; `PyImport_ImportModuleLevel` is the import machinery under `__import__`
    // (a new reference to the top-level package, or NULL with an exception).
    let top = unsafe {
        Owned::from_result(
            gil,
            (api().PyImport_ImportModuleLevel)(
                c.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            ),
        )?
    };
    if !name.contains('.') {
        return Ok(top);
    }
    loaded_module(gil, &c)
        .map(|m| m.to_owned())
        .ok_or_else(|| Error::Runtime(format!("python-ts: {name} was imported but is not in sys.modules")))
}

/// The items of a list of str, as Rust strings.
pub fn str_list(gil: Gil<'_>, list: Borrowed<'_, '_>) -> Result<Vec<String>> {
    // SAFETY: GIL held; PyList_Size checks its argument (-1 with an exception if not a list).
    let n = unsafe { (api().PyList_Size)(list.as_ptr()) };
    if n < 0 {
        return Err(error(gil));
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        // SAFETY: index in range; the item is borrowed from the list, alive through this loop.
        if let Some(item) = unsafe { Borrowed::from_raw(gil, (api().PyList_GetItem)(list.as_ptr(), i)) } {
            out.push(str_of(gil, item)?);
        }
    }
    Ok(out)
}

/// The `builtins` module of the current interpreter (imported at its start, never through a hook).
pub fn builtins<'py>(gil: Gil<'py>) -> Result<Owned<'py>> {
    import(gil, "builtins")
}

pub fn getattr<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>, name: &str) -> Result<Owned<'py>> {
    let c = cstr(name)?;
    // SAFETY: GIL held, obj alive; new reference or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyObject_GetAttrString)(obj.as_ptr(), c.as_ptr())) }
}

/// `getattr(obj, name)`, None when it raises `AttributeError` (cleared, never described: making
/// the error's description cost 25 µs of a 26 µs probe for a missing name).
pub fn getattr_or_missing<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>, name: &str) -> Result<Option<Owned<'py>>> {
    let c = cstr(name)?;
    let a = api();
    // SAFETY: GIL held, obj alive; new reference or NULL with an exception.
    let r = unsafe { Owned::from_raw(gil, (a.PyObject_GetAttrString)(obj.as_ptr(), c.as_ptr())) };
    if r.is_some() {
        return Ok(r);
    }
    // SAFETY: GIL held; an exception is pending (NULL result) and the class is a live global.
    if unsafe { (a.PyErr_ExceptionMatches)(a.PyExc_AttributeError) } != 0 {
        clear(gil);
        return Ok(None);
    }
    Err(error(gil))
}

/// `getattr(obj, name)` or None, with any error cleared and not described (for error paths:
/// describing an error must never raise another that gets described in turn).
pub fn getattr_opt<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>, name: &std::ffi::CStr) -> Option<Owned<'py>> {
    // SAFETY: GIL held, obj alive; new reference or NULL with an exception.
    let r = unsafe { Owned::from_raw(gil, (api().PyObject_GetAttrString)(obj.as_ptr(), name.as_ptr())) };
    if r.is_none() {
        clear(gil);
    }
    r
}

/// `setattr(obj, name, value)`.
pub fn setattr(gil: Gil<'_>, obj: Borrowed<'_, '_>, name: &std::ffi::CStr, value: Borrowed<'_, '_>) -> Result<()> {
    // SAFETY: GIL held, both alive; 0 or -1 with an exception.
    if unsafe { (api().PyObject_SetAttrString)(obj.as_ptr(), name.as_ptr(), value.as_ptr()) } != 0 {
        return Err(error(gil));
    }
    Ok(())
}

pub fn getattr_obj<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>, name: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held, both alive; new reference or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyObject_GetAttr)(obj.as_ptr(), name.as_ptr())) }
}

/// `callable(*args, **kwargs)`; `args` must be a tuple, `kwargs` a dict or absent.
pub fn call<'py>(
    gil: Gil<'py>,
    callable: Borrowed<'_, 'py>,
    args: Borrowed<'_, 'py>,
    kwargs: Option<Borrowed<'_, 'py>>,
) -> Result<Owned<'py>> {
    let kw = kwargs.map(|k| k.as_ptr()).unwrap_or(std::ptr::null_mut());
    // SAFETY: GIL held; args is a tuple, kw a dict or NULL.
    unsafe { Owned::from_result(gil, (api().PyObject_Call)(callable.as_ptr(), args.as_ptr(), kw)) }
}

/// `callable(*items)` for a few positional arguments.
pub fn call_with<'py>(gil: Gil<'py>, callable: Borrowed<'_, 'py>, items: &[Borrowed<'_, 'py>]) -> Result<Owned<'py>> {
    let args = tuple(gil, items.iter().map(|b| (*b).to_owned()).collect())?;
    call(gil, callable, args.borrow(), None)
}

/// `callable(*items)` for error paths: None (the exception left set, never described) on failure.
pub fn call_quiet<'py>(gil: Gil<'py>, callable: Borrowed<'_, 'py>, items: &[Borrowed<'_, 'py>]) -> Option<Owned<'py>> {
    // SAFETY: GIL held.
    let args = unsafe { Owned::from_raw(gil, (api().PyTuple_New)(items.len() as isize))? };
    for (i, item) in items.iter().enumerate() {
        // SAFETY: a fresh tuple of the right size; SetItem steals the new reference.
        unsafe { (api().PyTuple_SetItem)(args.as_ptr(), i as isize, (*item).to_owned().into_raw()) };
    }
    // SAFETY: GIL held; args is a tuple.
    unsafe { Owned::from_raw(gil, (api().PyObject_Call)(callable.as_ptr(), args.as_ptr(), std::ptr::null_mut())) }
}

pub fn tuple<'py>(gil: Gil<'py>, items: Vec<Owned<'py>>) -> Result<Owned<'py>> {
    // SAFETY: GIL held.
    let t = unsafe { Owned::from_result(gil, (api().PyTuple_New)(items.len() as isize))? };
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: a fresh tuple of the right size; SetItem steals the reference.
        unsafe { (api().PyTuple_SetItem)(t.as_ptr(), i as isize, item.into_raw()) };
    }
    Ok(t)
}

pub fn str_of(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<String> {
    // SAFETY: GIL held; new reference or NULL.
    let s = unsafe { Owned::from_result(gil, (api().PyObject_Str)(obj.as_ptr()))? };
    utf8_of(gil, s.borrow())
}

/// `str(obj)` for error reporting: None (the error cleared, never described) when it fails.
pub fn str_quiet<'py>(gil: Gil<'py>, obj: Borrowed<'_, 'py>) -> Option<Owned<'py>> {
    // SAFETY: GIL held; new reference or NULL.
    let s = unsafe { Owned::from_raw(gil, (api().PyObject_Str)(obj.as_ptr())) };
    if s.is_none() {
        clear(gil);
    }
    s
}

/// `import name` through `builtins.__import__` (the import statement's path), for error paths:
/// None (the error cleared, never described) when it fails.
pub fn import_quiet<'py>(gil: Gil<'py>, name: &std::ffi::CStr) -> Option<Owned<'py>> {
    // SAFETY: GIL held; new reference or NULL.
    let m = unsafe { Owned::from_raw(gil, (api().PyImport_ImportModule)(name.as_ptr())) };
    if m.is_none() {
        clear(gil);
    }
    m
}

pub fn repr_of(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> Result<String> {
    // SAFETY: GIL held; new reference or NULL.
    let s = unsafe { Owned::from_result(gil, (api().PyObject_Repr)(obj.as_ptr()))? };
    utf8_of(gil, s.borrow())
}

/// A `str` as UTF-8; lone surrogates are replaced (for messages, never for data).
pub fn utf8_of(gil: Gil<'_>, s: Borrowed<'_, '_>) -> Result<String> {
    let mut len = 0isize;
    // SAFETY: GIL held; returns a buffer owned by the str object, or NULL with an exception.
    let p = unsafe { (api().PyUnicode_AsUTF8AndSize)(s.as_ptr(), &mut len) };
    if p.is_null() {
        let e = error(gil);
        let bytes = encoded(gil, s, "utf-8", "replace").map_err(|_| e)?;
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    // SAFETY: `len` bytes of valid UTF-8 owned by `s`, alive for this call.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) };
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// `s.encode(encoding, errors)` as bytes.
pub fn encoded(gil: Gil<'_>, s: Borrowed<'_, '_>, encoding: &str, errors: &str) -> Result<Vec<u8>> {
    let (e, r) = (cstr(encoding)?, cstr(errors)?);
    // SAFETY: GIL held; new bytes object or NULL.
    let b = unsafe { Owned::from_result(gil, (api().PyUnicode_AsEncodedString)(s.as_ptr(), e.as_ptr(), r.as_ptr()))? };
    bytes_of(gil, b.borrow())
}

pub fn bytes_of(gil: Gil<'_>, b: Borrowed<'_, '_>) -> Result<Vec<u8>> {
    let mut p = std::ptr::null_mut();
    let mut len = 0isize;
    // SAFETY: GIL held; fills a pointer into the bytes object's buffer.
    if unsafe { (api().PyBytes_AsStringAndSize)(b.as_ptr(), &mut p, &mut len) } != 0 {
        return Err(error(gil));
    }
    // SAFETY: `len` bytes owned by `b`, alive for this call.
    Ok(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }.to_vec())
}

/// `type(obj).__name__`.
pub fn type_name(gil: Gil<'_>, obj: Borrowed<'_, '_>) -> String {
    // SAFETY: GIL held; types are alive while their instances are.
    let t = unsafe { Borrowed::from_raw(gil, obj.type_ptr()) };
    t.and_then(|t| getattr(gil, t, "__name__").ok()).and_then(|n| utf8_of(gil, n.borrow()).ok()).unwrap_or_else(|| {
        clear(gil);
        "object".into()
    })
}

pub fn none<'py>(gil: Gil<'py>) -> Owned<'py> {
    // SAFETY: None is immortal/static; we take a new reference to it.
    unsafe { Borrowed::from_raw(gil, api()._Py_NoneStruct).unwrap_unchecked() }.to_owned()
}

/// `True` or `False`.
pub fn boolean(gil: Gil<'_>, b: bool) -> Owned<'_> {
    let a = api();
    let p = if b { a._Py_TrueStruct } else { a._Py_FalseStruct };
    // SAFETY: True and False are static; we take a new reference.
    unsafe { Borrowed::from_raw(gil, p).unwrap_unchecked() }.to_owned()
}

/// A `float`.
pub fn float(gil: Gil<'_>, d: f64) -> Result<Owned<'_>> {
    // SAFETY: GIL held; a new reference or NULL with an exception.
    unsafe { Owned::from_result(gil, (api().PyFloat_FromDouble)(d)) }
}

pub fn is_none(obj: Borrowed<'_, '_>) -> bool {
    obj.as_ptr() == api()._Py_NoneStruct
}

pub fn py_str<'py>(gil: Gil<'py>, s: &str) -> Result<Owned<'py>> {
    // SAFETY: GIL held; valid UTF-8 of the given length.
    unsafe { Owned::from_result(gil, (api().PyUnicode_FromStringAndSize)(s.as_ptr() as *const _, s.len() as isize)) }
}

/// The `__main__` module's dict (borrowed from the module, which lives as long as the
/// interpreter).
pub fn main_dict<'py>(gil: Gil<'py>) -> Result<Borrowed<'static, 'py>> {
    // SAFETY: GIL held; AddModule returns a borrowed reference to sys.modules['__main__'].
    let m = unsafe { (api().PyImport_AddModule)(c"__main__".as_ptr()) };
    // SAFETY: as above.
    let m = unsafe { Borrowed::from_raw(gil, m) }.ok_or_else(|| error(gil))?;
    // SAFETY: module alive; GetDict returns a borrowed reference.
    unsafe { Borrowed::from_raw(gil, (api().PyModule_GetDict)(m.as_ptr())) }
        .ok_or_else(|| Error::Runtime("__main__ has no dict".into()))
}

/// Compile and run `code` in `globals` (`mode`: PY_FILE_INPUT or PY_EVAL_INPUT), as `<string>`.
pub fn run<'py>(gil: Gil<'py>, code: &str, mode: i32, globals: Borrowed<'_, 'py>) -> Result<Owned<'py>> {
    run_as(gil, code, "<string>", mode, globals)
}

/// `run`, with the file name tracebacks show for the code.
pub fn run_as<'py>(
    gil: Gil<'py>,
    code: &str,
    filename: &str,
    mode: i32,
    globals: Borrowed<'_, 'py>,
) -> Result<Owned<'py>> {
    let builtins = builtins(gil)?;
    let compile = getattr(gil, builtins.borrow(), "compile")?;
    let src = py_str(gil, code)?;
    let filename = py_str(gil, filename)?;
    let mode_s = py_str(gil, if mode == super::PY_EVAL_INPUT { "eval" } else { "exec" })?;
    let code_obj = call_with(gil, compile.borrow(), &[src.borrow(), filename.borrow(), mode_s.borrow()])?;
    // SAFETY: GIL held; a code object and a dict used as globals and locals.
    unsafe { Owned::from_result(gil, (api().PyEval_EvalCode)(code_obj.as_ptr(), globals.as_ptr(), globals.as_ptr())) }
}

/// A fresh globals dict with `__builtins__` set (3.8 would otherwise give code a minimal
/// builtins dict).
pub fn scratch_globals<'py>(gil: Gil<'py>) -> Result<Owned<'py>> {
    // SAFETY: GIL held.
    let d = unsafe { Owned::from_result(gil, (api().PyDict_New)())? };
    let b = builtins(gil)?;
    // SAFETY: GIL held; d is a dict.
    if unsafe { (api().PyDict_SetItemString)(d.as_ptr(), c"__builtins__".as_ptr(), b.as_ptr()) } != 0 {
        return Err(error(gil));
    }
    Ok(d)
}

/// Whether `obj` is a class (a type object).
pub fn is_type(obj: Borrowed<'_, '_>) -> bool {
    obj.type_flags() & super::TPFLAGS_TYPE_SUBCLASS != 0
}

/// The hasher of our hot maps, where SipHash's setup costs more than the lookup: FNV-1a for
/// byte strings (attribute names are short), and a multiplicative spread for object addresses
/// (the Python → JS memo; measured: SipHash was 7 % of converting 10 000 records).
#[derive(Default, Clone, Copy)]
pub struct FastHash(u64);

impl std::hash::Hasher for FastHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn write_usize(&mut self, n: usize) {
        // Objects are 16-byte aligned: drop the always-zero bits, then spread (mixed with what
        // came before: the context of a (context, address) key).
        self.0 = (self.0.rotate_left(23) ^ ((n as u64) >> 4)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type NameMap = std::collections::HashMap<Vec<u8>, usize, std::hash::BuildHasherDefault<FastHash>>;

thread_local! {
    /// Interned attribute names of the main interpreter, by UTF-8 text (this generation only).
    static NAMES: std::cell::RefCell<(u64, NameMap)> = std::cell::RefCell::new((0, NameMap::default()));
}

const MAX_NAMES: usize = 512;

/// The callable of a call: `getattr(target, method)`, or `target` itself when the method name is
/// absent or empty.
pub fn method_of<'py>(gil: Gil<'py>, context: u64, target: Owned<'py>, method: Option<&[u8]>) -> Result<Owned<'py>> {
    match method {
        Some(m) if !m.is_empty() => getattr_bytes(gil, context, target.borrow(), m),
        _ => Ok(target),
    }
}

/// `getattr(obj, name)` with `name` as UTF-8 bytes; in the main context the name object is an
/// interned str cached per thread, so hot method calls allocate nothing.
pub fn getattr_bytes<'py>(gil: Gil<'py>, context: u64, obj: Borrowed<'_, 'py>, name: &[u8]) -> Result<Owned<'py>> {
    if context != 0 {
        let text = std::str::from_utf8(name).map_err(|_| Error::Type("attribute name is not valid UTF-8".into()))?;
        return getattr(gil, obj, text);
    }
    let name_ptr = cached_name(gil, name)?;
    // SAFETY: GIL held; `name_ptr` is a live str owned by the cache.
    unsafe { Owned::from_result(gil, (api().PyObject_GetAttr)(obj.as_ptr(), name_ptr)) }
}

/// The interned str of an attribute name of the main interpreter, cached per thread (the cache
/// owns it; valid while the GIL is held and the runtime of this generation runs).
fn cached_name(gil: Gil<'_>, name: &[u8]) -> Result<PyPtr> {
    let generation = generation();
    let cached = NAMES.with(|n| {
        let n = n.borrow();
        if n.0 == generation {
            n.1.get(name).copied()
        } else {
            None
        }
    });
    if let Some(p) = cached {
        return Ok(p as PyPtr);
    }
    let c = cstr(std::str::from_utf8(name).map_err(|_| Error::Type("attribute name is not valid UTF-8".into()))?)?;
    // SAFETY: GIL held; a new reference to an interned str (kept by the cache).
    let s = unsafe { Owned::from_result(gil, (api().PyUnicode_InternFromString)(c.as_ptr()))? };
    let p = s.into_raw() as usize;
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        if n.0 != generation {
            // Names of an ended runtime: its memory is gone, forget without touching it.
            n.1.clear();
            n.0 = generation;
        }
        if n.1.len() >= MAX_NAMES {
            for (_, old) in n.1.drain() {
                // SAFETY: GIL of the main interpreter held; each entry owns one reference.
                unsafe { (api().Py_DecRef)(old as PyPtr) };
            }
        }
        n.1.insert(name.to_vec(), p);
    });
    Ok(p as PyPtr)
}

/// How many positional arguments an `ArgVec` holds.
pub const VECTOR_MAX: usize = 8;

/// The positional arguments of a vectorcall, owned, in a stack array with the two slots the
/// protocol may use in front (`self` for a method, and scratch for `PY_VECTORCALL_ARGUMENTS_OFFSET`).
pub struct ArgVec<'py> {
    slots: [PyPtr; VECTOR_MAX + 2],
    len: usize,
    _gil: Gil<'py>,
}

impl<'py> ArgVec<'py> {
    pub fn new(gil: Gil<'py>) -> Self {
        ArgVec { slots: [std::ptr::null_mut(); VECTOR_MAX + 2], len: 0, _gil: gil }
    }

    /// Add an argument (at most `VECTOR_MAX`: the caller checks).
    pub fn push(&mut self, item: Owned<'py>) {
        assert!(self.len < VECTOR_MAX, "ArgVec holds {VECTOR_MAX} arguments");
        self.slots[2 + self.len] = item.into_raw();
        self.len += 1;
    }
}

impl Drop for ArgVec<'_> {
    fn drop(&mut self) {
        for p in &self.slots[2..2 + self.len] {
            // SAFETY: GIL held (the vector lives inside it); each slot owns one reference.
            unsafe { (api().Py_DecRef)(*p) };
        }
    }
}

/// Whether `call_vector` can make this call: the runtime has the vectorcall protocol's public
/// functions (3.9+), and a method call is in the main context (whose name cache it uses).
pub fn can_vector(context: u64, method: Option<&[u8]>) -> bool {
    let a = api();
    match method {
        Some(m) if !m.is_empty() => context == 0 && a.PyObject_VectorcallMethod.is_some(),
        _ => a.PyObject_Vectorcall.is_some(),
    }
}

/// `target.method(*args)` (or `target(*args)` without a method name) through CPython's
/// vectorcall protocol: no argument tuple and, for a method, no bound-method object. Only where
/// `can_vector` says so (an error otherwise).
pub fn call_vector<'py>(
    gil: Gil<'py>,
    context: u64,
    target: Borrowed<'_, 'py>,
    method: Option<&[u8]>,
    args: &mut ArgVec<'py>,
) -> Result<Owned<'py>> {
    /// CPython's `PY_VECTORCALL_ARGUMENTS_OFFSET`: the callee may use `args[-1]` meanwhile.
    const OFFSET: usize = 1 << (usize::BITS - 1);
    let a = api();
    let n = args.len;
    let unavailable = || Error::Runtime("python-ts: vectorcall is not available for this call".into());
    let raw = match method {
        Some(m) if !m.is_empty() => {
            let call = a.PyObject_VectorcallMethod.ok_or_else(unavailable)?;
            if context != 0 {
                return Err(unavailable());
            }
            let name = cached_name(gil, m)?;
            args.slots[1] = target.as_ptr();
            // SAFETY: GIL held; slots[1..] hold self and n live arguments, slots[0] is scratch.
            let r = unsafe { call(name, args.slots.as_mut_ptr().add(1), (n + 1) | OFFSET, std::ptr::null_mut()) };
            args.slots[1] = std::ptr::null_mut();
            r
        }
        _ => {
            let call = a.PyObject_Vectorcall.ok_or_else(unavailable)?;
            // SAFETY: GIL held; slots[2..] hold n live arguments, slots[1] is scratch.
            unsafe { call(target.as_ptr(), args.slots.as_mut_ptr().add(2), n | OFFSET, std::ptr::null_mut()) }
        }
    };
    // SAFETY: GIL held; a new reference or NULL with an exception set.
    unsafe { Owned::from_result(gil, raw) }
}

/// Run `f` holding `obj`'s per-object lock on a free-threaded build (other threads run Python
/// at the same time there, and may change a container whose borrowed items `f` reads); with a
/// GIL, the GIL already excludes them and `f` just runs.
pub fn locked<R>(_gil: Gil<'_>, obj: Borrowed<'_, '_>, f: impl FnOnce() -> R) -> R {
    let a = api();
    let (Some(begin), Some(end)) = (a.PyCriticalSection_Begin, a.PyCriticalSection_End) else { return f() };
    if !super::is_free_threaded() {
        return f();
    }
    /// Ends the section begun on `raw`, in place: CPython links the running sections through
    /// the thread state by their addresses, so the buffer must not move between the two calls.
    struct End<'a> {
        raw: &'a mut [usize; 4],
        end: unsafe extern "C" fn(*mut std::ffi::c_void),
    }
    impl Drop for End<'_> {
        fn drop(&mut self) {
            // SAFETY: the section begun on this very buffer below, on this thread, ended once.
            unsafe { (self.end)(self.raw.as_mut_ptr() as *mut _) };
        }
    }
    // `PyCriticalSection` (two words in 3.13), with room to spare.
    let mut raw = [0usize; 4];
    // SAFETY: an attached thread state (the token) and a live object; ended by the guard.
    unsafe { begin(raw.as_mut_ptr() as *mut _, obj.as_ptr()) };
    let _end = End { raw: &mut raw, end };
    f()
}

/// `sys.modules` (borrowed).
pub fn sys_modules<'py>(gil: Gil<'py>) -> Result<Borrowed<'static, 'py>> {
    // SAFETY: GIL held; PySys_GetObject returns a borrowed reference.
    unsafe { Borrowed::from_raw(gil, (api().PySys_GetObject)(c"modules".as_ptr())) }
        .ok_or_else(|| Error::Runtime("sys.modules is missing".into()))
}

/// `sys.modules[name]` if loaded (borrowed), without importing it.
pub fn loaded_module<'py>(gil: Gil<'py>, name: &std::ffi::CStr) -> Option<Borrowed<'static, 'py>> {
    let modules = sys_modules(gil).ok()?;
    // SAFETY: GIL held; borrowed reference or NULL (no exception set by GetItemString).
    unsafe { Borrowed::from_raw(gil, (api().PyDict_GetItemString)(modules.as_ptr(), name.as_ptr())) }
}
