//! `python_ts.JsProxy`'s native base: a live JS object seen from Python.
//!
//! An instance holds a strong reference to its JS object (and to the object a method was read
//! from: its `this`), the env they live in, and the object's dispatcher (`_d`, a JS function of
//! js/internal/jsproxy.js seen as a Python callable). On that env's JS thread, attribute reads
//! and calls go straight through N-API — the property read, the function called with its
//! `this` — and convert with `ToPy`/`ToJs`; everything else (writes, items, `len`, iteration,
//! `repr`, …) and every operation from another thread goes through the dispatcher, which hops
//! to the JS thread as any JS function called from Python does.
//!
//! Each proxy remembers the proxies it handed out for its last few attribute names (`CACHE`),
//! each with the JS object it stands for: a read that finds the same object under that name
//! again returns the same proxy (`js.Math.max` in a loop makes nothing new), a read that finds
//! another object makes a new one. Values are never cached: every read reads the property.
//! Children are owned by their parent only (never the other way), so they form no cycle, and
//! they go when the parent goes.
//!
//! Lifetimes: the references are released when Python frees the proxy — at once on its JS
//! thread, otherwise queued to it (dropped unread if the env has ended). A proxy of an ended
//! Worker's object raises through its dispatcher ("the JavaScript environment ... has ended").

use super::{callables, ToJs, ToPy};
use crate::env::{self as instance, outbox::EnvShared};
use crate::error::{Error, Result};
use crate::runtime::{attach, support};
use crate::sys::napi::{Env, Value, ValueType};
use crate::sys::python::concrete as pc;
use crate::sys::python::native::{self, Spec};
use crate::sys::python::object::{self as objects, Exc};
use crate::sys::python::{api, type_of, Borrowed, Gil, Kind, Owned, PyPtr, PyType_Slot};
use once_cell::sync::OnceCell;
use std::cell::RefCell;
use std::ffi::{c_void, CStr};
use std::sync::Arc;

/// How many attribute names a proxy remembers the proxies of.
const CACHE: usize = 8;

/// What a proxy holds (boxed; the instance keeps a pointer to it after the object head).
struct ProxyData {
    shared: Arc<EnvShared>,
    /// Strong napi_ref to the object.
    target: usize,
    /// Strong napi_ref to the method's `this` (0: none, called with `undefined`).
    this: usize,
    /// Calls go through N-API (false when `this` is a value N-API cannot reference: a primitive
    /// or null; the dispatcher binds those).
    native_call: bool,
    /// The object is a function (fixed for its life).
    callable: bool,
    context: u64,
    /// The dispatcher (owned reference).
    d: PyPtr,
    /// Attribute name → the proxy last handed out for it (owned references). Used on the JS
    /// thread only (and by the deallocator, which is alone with the object); never borrowed
    /// across a call into JS or Python.
    cache: RefCell<Vec<(Box<[u8]>, PyPtr)>>,
}

/// Where an instance keeps its `ProxyData` pointer.
///
/// # Safety
/// `obj` is a live instance of a type made from `spec()` (or a subclass).
unsafe fn slot(obj: PyPtr) -> *mut *mut ProxyData {
    // SAFETY: forwarded from the caller.
    unsafe { native::word(obj) }
}

/// The data of a proxy, or None for an instance made from Python (`JsProxy()`: not connected).
///
/// # Safety
/// `obj` is a live proxy; the data lives as long as it.
unsafe fn data_of<'a>(obj: PyPtr) -> Option<&'a ProxyData> {
    // SAFETY: the caller's contract; the pointer is ours (or NULL: the allocation is zeroed).
    unsafe { slot(obj).read().as_ref() }
}

fn spec() -> &'static Spec {
    static SPEC: OnceCell<Spec> = OnceCell::new();
    SPEC.get_or_init(|| {
        let slots: Vec<PyType_Slot> = vec![
            PyType_Slot { slot: pyo3_ffi::Py_tp_dealloc, pfunc: dealloc as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_getattro, pfunc: getattro as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_setattro, pfunc: setattro as *mut c_void },
            PyType_Slot { slot: pyo3_ffi::Py_tp_call, pfunc: call as *mut c_void },
            PyType_Slot {
                slot: pyo3_ffi::Py_tp_doc,
                pfunc: c"The native part of a live JavaScript object (python_ts.JsProxy).".as_ptr() as *mut c_void,
            },
        ];
        Spec::one_word(c"python_ts._JsProxyBase", pyo3_ffi::Py_TPFLAGS_DEFAULT | pyo3_ffi::Py_TPFLAGS_BASETYPE, slots)
    })
}

/// `python_ts._JsProxyBase` for the current interpreter (`runtime::support::install` calls this
/// through `set_proxy_base`).
pub fn make_base(gil: Gil<'_>) -> Result<Owned<'_>> {
    spec().make_type(gil)
}

/// A new proxy of `target` (a method read from `this`), with its dispatcher `d`.
pub fn new_proxy<'py>(cx: &mut ToPy<'py>, target: Value, this: Option<Value>, d: Owned<'py>) -> Result<Owned<'py>> {
    let (env, gil) = (cx.env, cx.gil);
    let class = support::jsproxy_class(gil, cx.context)?;
    let shared = cx.data()?.shared.clone();
    let (this_ref, native_call) = match this {
        None => (0, true),
        Some(t) => match env.type_of(t)? {
            ValueType::napi_undefined => (0, true),
            ValueType::napi_object | ValueType::napi_function => (env.create_ref(t, 1)? as usize, true),
            _ => (0, false),
        },
    };
    let callable = env.type_of(target)? == ValueType::napi_function;
    let target_ref = match env.create_ref(target, 1) {
        Ok(r) => r as usize,
        Err(e) => {
            if this_ref != 0 {
                let _ = env.delete_ref(this_ref as _);
            }
            return Err(e);
        }
    };
    // SAFETY: GIL held; `class` is `python_ts.JsProxy`, a type. A new, zeroed instance or NULL.
    let obj = match unsafe { Owned::from_result(gil, (api().PyType_GenericAlloc)(class.as_ptr(), 0)) } {
        Ok(o) => o,
        Err(e) => {
            for r in [target_ref, this_ref] {
                if r != 0 {
                    let _ = env.delete_ref(r as _);
                }
            }
            return Err(e);
        }
    };
    let data = Box::new(ProxyData {
        shared,
        target: target_ref,
        this: this_ref,
        native_call,
        callable,
        context: cx.context,
        d: d.into_raw(),
        cache: RefCell::new(Vec::new()),
    });
    // SAFETY: `obj` is a new JsProxy instance; its data word is ours to set (freed in `dealloc`).
    unsafe { slot(obj.as_ptr()).write(Box::into_raw(data)) };
    Ok(obj)
}

/// The JS object behind a proxy made in this env, on its JS thread; None for anything else (a
/// proxy of another env's object stays a Python object).
pub fn target_of(env: Env, obj: Borrowed<'_, '_>) -> Result<Option<Value>> {
    if !is_proxy(obj) {
        return Ok(None);
    }
    // SAFETY: a live JsProxy (the caller's borrow keeps it).
    let Some(data) = (unsafe { data_of(obj.as_ptr()) }) else { return Ok(None) };
    if data.shared.env != env.0 as usize || !data.shared.is_js_thread() {
        return Ok(None);
    }
    env.ref_value(data.target as _)
}

/// Whether `obj` is an instance of `JsProxy` (or a subclass that keeps its calls): its type's
/// call slot is the native base's, which a Python subclass inherits. One flag read and one slot
/// read — no lookup of the class by name (this runs for each object the serializer meets).
fn is_proxy(obj: Borrowed<'_, '_>) -> bool {
    native::has_slot(obj, pyo3_ffi::Py_tp_call, call as *mut c_void)
}

/// The Python names of the class that an attribute read finds on it rather than on the JS
/// object: dunders and the methods of `JsProxy` that are not dunders.
fn is_python_name(name: &[u8]) -> bool {
    (name.len() > 4 && name.starts_with(b"__") && name.ends_with(b"__")) || name == b"new" || name == b"to_py"
}

/// `d(*items)`: the dispatcher, called as Python would (it hops to the JS thread when needed).
/// A new reference, or NULL with the error set.
///
/// # Safety
/// The GIL is held; `d` and `items` are live objects.
unsafe fn dispatch(d: PyPtr, items: &[PyPtr]) -> PyPtr {
    let a = api();
    // SAFETY: GIL held (the caller's contract); a new tuple or NULL with an exception.
    let t = unsafe { (a.PyTuple_New)(items.len() as isize) };
    if t.is_null() {
        return t;
    }
    for (i, &item) in items.iter().enumerate() {
        // SAFETY: `t` is a new tuple of that size; SetItem steals the reference made here.
        unsafe {
            (a.Py_IncRef)(item);
            (a.PyTuple_SetItem)(t, i as isize, item);
        }
    }
    // SAFETY: GIL held, `d` callable-or-not (CPython raises TypeError), `t` a tuple we own.
    let r = unsafe { (a.PyObject_Call)(d, t, std::ptr::null_mut()) };
    // SAFETY: our tuple reference.
    unsafe { (a.Py_DecRef)(t) };
    r
}

/// `d(op, *items)` with `op` a Python str.
///
/// # Safety
/// As `dispatch`.
unsafe fn dispatch_op(d: PyPtr, op: &std::ffi::CStr, items: &[PyPtr]) -> PyPtr {
    let a = api();
    // SAFETY: GIL held; a new str or NULL with an exception.
    let op = unsafe { (a.PyUnicode_InternFromString)(op.as_ptr()) };
    if op.is_null() {
        return op;
    }
    let mut all = Vec::with_capacity(items.len() + 1);
    all.push(op);
    all.extend_from_slice(items);
    // SAFETY: as the caller guarantees; `op` is ours.
    let r = unsafe { dispatch(d, &all) };
    // SAFETY: our reference to `op`.
    unsafe { (a.Py_DecRef)(op) };
    r
}

fn not_connected(gil: Gil<'_>) -> PyPtr {
    objects::set_error(
        gil,
        Exc::TypeError,
        "python-ts: this JsProxy is not connected to a JavaScript object (proxies are made by python-ts when a JS \
         object is passed to Python)",
    );
    std::ptr::null_mut()
}

unsafe extern "C" fn getattro(slf: PyPtr, name: PyPtr) -> PyPtr {
    let a = api();
    let mut len = 0isize;
    // SAFETY: GIL held; NULL with a TypeError for a name that is not a str.
    let p = unsafe { (a.PyUnicode_AsUTF8AndSize)(name, &mut len) };
    if p.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the str's UTF-8 buffer, `len` bytes, alive while `name` is (the call borrows it).
    let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) };
    if is_python_name(bytes) {
        // SAFETY: GIL held, live objects.
        return unsafe { (a.PyObject_GenericGetAttr)(slf, name) };
    }
    // SAFETY: CPython calls the slot with the GIL held, for a live instance of our type.
    let Some(data) = (unsafe { data_of(slf) }) else {
        // SAFETY: GIL held (CPython called us).
        return not_connected(unsafe { Gil::assume() });
    };
    if bytes == b"_d" {
        // SAFETY: GIL held; a new reference to the dispatcher the data owns.
        unsafe { (a.Py_IncRef)(data.d) };
        return data.d;
    }
    if !data.shared.is_js_thread() {
        // SAFETY: GIL held, live objects.
        return unsafe { dispatch_op(data.d, c"get", &[name]) };
    }
    // SAFETY: CPython's UTF-8 buffer of a str always has a NUL after its `len` bytes.
    let with_nul = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize + 1) };
    // None for a name with a NUL inside (read through a JS string of its own).
    let cname = CStr::from_bytes_with_nul(with_nul).ok();
    // SAFETY: called by CPython with the GIL of the proxy's interpreter held: the entry is
    // counted, as every other entry from Python.
    unsafe {
        attach::from_python(data.context, |gil| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| get(gil, slf, data, bytes, cname)));
            callables::finish(gil, r)
        })
    }
}

/// An attribute read on the JS thread.
fn get<'py>(gil: Gil<'py>, slf: PyPtr, data: &ProxyData, name: &[u8], cname: Option<&CStr>) -> Result<Owned<'py>> {
    let env = Env(data.shared.env as _);
    let _scope = env.scope();
    let r = (|| {
        let target = env.ref_value(data.target as _)?.ok_or_else(collected)?;
        // The name as C string: the engine finds its own (internalized) copy, in one N-API call.
        let v = match cname {
            Some(c) => env.get_named_cstr(target, c)?,
            None => env.get_property(target, env.string_utf8_bytes(name)?)?,
        };
        // The proxy handed out last under this name, when the read found its object again: one
        // comparison, before anything else is asked of the value.
        if let Some(child) = cached(env, gil, data, name, v)? {
            return Ok(child);
        }
        let t = env.type_of(v)?;
        if t != ValueType::napi_object && t != ValueType::napi_function {
            return ToPy::new(env, gil, data.context)?.typed(v, t, 0);
        }
        let result = instance::get(env)?.js_proxy_result.get().ok_or_else(unhooked)?;
        let result = env.ref_value(result)?.ok_or_else(unhooked)?;
        let marked = env.call(env.undefined()?, result, &[v, target])?;
        let obj = ToPy::new(env, gil, data.context)?.convert(marked)?;
        // SAFETY: both objects are alive (ours and the caller's).
        if unsafe { type_of(obj.as_ptr()) == type_of(slf) } {
            remember(gil, data, name, &obj);
        }
        Ok(obj)
    })();
    match r {
        Err(Error::JsPending) => Err(callables::js_exception(env)),
        other => other,
    }
}

/// The proxy handed out last for `name`, if it stands for `v`.
fn cached<'py>(env: Env, gil: Gil<'py>, data: &ProxyData, name: &[u8], v: Value) -> Result<Option<Owned<'py>>> {
    let hit = data.cache.borrow().iter().find(|(n, _)| **n == *name).map(|(_, child)| *child);
    let Some(child) = hit else { return Ok(None) };
    // SAFETY: the cache owns a reference to `child`, and nothing below runs Python or JS code
    // that could drop it.
    let Some(cd) = (unsafe { data_of(child) }) else { return Ok(None) };
    let Some(was) = env.ref_value(cd.target as _)? else { return Ok(None) };
    if !env.strict_equals(was, v)? {
        return Ok(None);
    }
    // SAFETY: GIL held; a new reference to a live object.
    unsafe { (api().Py_IncRef)(child) };
    // SAFETY: the reference just made.
    Ok(unsafe { Owned::from_raw(gil, child) })
}

/// Remember `obj` as the proxy of attribute `name` (the oldest name goes when the cache is full).
fn remember(gil: Gil<'_>, data: &ProxyData, name: &[u8], obj: &Owned<'_>) {
    let kept = obj.clone().into_raw();
    let dropped = {
        let mut c = data.cache.borrow_mut();
        if let Some(entry) = c.iter_mut().find(|(n, _)| **n == *name) {
            Some(std::mem::replace(&mut entry.1, kept))
        } else {
            let old = if c.len() >= CACHE { Some(c.remove(0).1) } else { None };
            c.push((name.into(), kept));
            old
        }
    };
    if let Some(p) = dropped {
        // SAFETY: the cache's reference, given up (after the borrow ended: freeing the child
        // does not reach this cache, but nothing is borrowed anyway).
        drop(unsafe { Owned::from_raw(gil, p) });
    }
}

fn collected() -> Error {
    Error::Runtime("python-ts: the JavaScript object of this proxy was collected".into())
}

fn unhooked() -> Error {
    Error::Runtime("python-ts: the proxy hook of this JavaScript environment was removed".into())
}

unsafe extern "C" fn setattro(slf: PyPtr, name: PyPtr, value: PyPtr) -> std::os::raw::c_int {
    // SAFETY: CPython calls the slot with the GIL held, for a live instance of our type.
    let Some(data) = (unsafe { data_of(slf) }) else {
        // SAFETY: GIL held (CPython called us).
        not_connected(unsafe { Gil::assume() });
        return -1;
    };
    // SAFETY: GIL held, live objects; `value` NULL means `del`.
    let r = unsafe {
        if value.is_null() {
            dispatch_op(data.d, c"delete", &[name])
        } else {
            dispatch_op(data.d, c"set", &[name, value])
        }
    };
    if r.is_null() {
        return -1;
    }
    // SAFETY: the call's result, ours.
    unsafe { (api().Py_DecRef)(r) };
    0
}

unsafe extern "C" fn call(slf: PyPtr, args: PyPtr, kwargs: PyPtr) -> PyPtr {
    // SAFETY: CPython calls the slot with the GIL held, for a live instance of our type.
    let Some(data) = (unsafe { data_of(slf) }) else {
        // SAFETY: GIL held (CPython called us).
        return not_connected(unsafe { Gil::assume() });
    };
    if !data.native_call || !data.callable || !data.shared.is_js_thread() {
        // SAFETY: GIL held; `args` a tuple, `kwargs` a dict or NULL.
        return unsafe { call_through_dispatcher(data, args, kwargs) };
    }
    let body = |gil: Gil<'_>| {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: args is a tuple and kwargs a dict or NULL, borrowed for the call.
            let (args, kwargs) = unsafe { (Borrowed::from_raw(gil, args), Borrowed::from_raw(gil, kwargs)) };
            call_here(gil, data, args, kwargs)
        }));
        callables::finish(gil, r)
    };
    // SAFETY: called by CPython with the GIL of the proxy's interpreter held: the entry is
    // counted, as every other entry from Python.
    unsafe { attach::from_python(data.context, body) }
}

/// `d('call', [*args, kwargs])`: a call from another thread, of an object that is not a function
/// (the dispatcher raises what JS throws for it), or with a `this` only the dispatcher binds. A new reference, or NULL with the error set.
///
/// # Safety
/// GIL held; `args` a tuple, `kwargs` a dict or NULL.
unsafe fn call_through_dispatcher(data: &ProxyData, args: PyPtr, kwargs: PyPtr) -> PyPtr {
    let a = api();
    // SAFETY: GIL held; `list(args)`: a new list or NULL with an exception.
    let list = unsafe { (a.PySequence_List)(args) };
    if list.is_null() {
        return list;
    }
    // SAFETY: GIL held; `kwargs` a dict when not NULL.
    if !kwargs.is_null() && unsafe { (a.PyDict_Size)(kwargs) } > 0 {
        // SAFETY: GIL held; a copy (a plain dict, as `dict(kwargs)`) appended to our list.
        let ok = unsafe {
            let k = (a.PyDict_Copy)(kwargs);
            let ok = !k.is_null() && (a.PyList_Append)(list, k) == 0;
            if !k.is_null() {
                (a.Py_DecRef)(k);
            }
            ok
        };
        if !ok {
            // SAFETY: our list.
            unsafe { (a.Py_DecRef)(list) };
            return std::ptr::null_mut();
        }
    }
    // SAFETY: GIL held, live objects.
    let r = unsafe { dispatch_op(data.d, c"call", &[list]) };
    // SAFETY: our list.
    unsafe { (a.Py_DecRef)(list) };
    r
}

/// A call's arguments: on the stack up to `Argv::INLINE` of them.
struct Argv {
    inline: [Value; Argv::INLINE],
    len: usize,
    more: Vec<Value>,
}

impl Argv {
    const INLINE: usize = 8;

    fn with_capacity(n: usize) -> Self {
        let more = if n > Self::INLINE { Vec::with_capacity(n) } else { Vec::new() };
        Argv { inline: [std::ptr::null_mut(); Self::INLINE], len: 0, more }
    }

    fn push(&mut self, v: Value) {
        if self.more.capacity() > 0 {
            self.more.push(v);
        } else if self.len < Self::INLINE {
            self.inline[self.len] = v;
            self.len += 1;
        } else {
            self.more.extend_from_slice(&self.inline[..self.len]);
            self.more.push(v);
        }
    }

    fn as_slice(&self) -> &[Value] {
        if self.more.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

/// A call on the JS thread: the function called with its `this`, the arguments converted by the
/// table (objects passed through `wrap`), keyword arguments as a final options object.
fn call_here<'py>(
    gil: Gil<'py>,
    data: &ProxyData,
    args: Option<Borrowed<'_, 'py>>,
    kwargs: Option<Borrowed<'_, 'py>>,
) -> Result<Owned<'py>> {
    let env = Env(data.shared.env as _);
    let _scope = env.scope();
    let r = (|| {
        let f = env.ref_value(data.target as _)?.ok_or_else(collected)?;
        let this = match data.this {
            0 => env.undefined()?,
            r => env.ref_value(r as _)?.ok_or_else(collected)?,
        };
        let hooks = instance::get(env)?;
        let state = hooks.context_object(env, data.context);
        let mut to_js = ToJs::new(env, gil, data.context, state);
        let mut wrap = None;
        let mut wrapped = |v: Value| -> Result<Value> {
            if env.type_of(v)? != ValueType::napi_object {
                return Ok(v);
            }
            super::handles::wrapped_once(env, hooks, v, || {
                let w = match wrap {
                    Some(w) => w,
                    None => {
                        let w = hooks.js_proxy_wrap.get().ok_or_else(unhooked)?;
                        let w = env.ref_value(w)?.ok_or_else(unhooked)?;
                        wrap = Some(w);
                        w
                    }
                };
                env.call(env.undefined()?, w, &[v])
            })
        };
        let n = args.map(|a| pc::tuple_len(gil, a)).unwrap_or(0);
        let mut argv = Argv::with_capacity(n + 1);
        if let Some(a) = args {
            for i in 0..n {
                // The tuple keeps the item alive.
                let Some(item) = pc::tuple_get(gil, a, i) else { break };
                let v = to_js.convert(item)?;
                // None, bool, int, float and str (exact types) become JS primitives: nothing to wrap.
                let primitive = matches!(item.kind(), Kind::None | Kind::Bool(_) | Kind::Int | Kind::Float | Kind::Str);
                argv.push(if primitive { v } else { wrapped(v)? });
            }
        }
        if let Some(k) = kwargs {
            if pc::dict_len(k) > 0 {
                let v = to_js.convert(k)?;
                argv.push(wrapped(v)?);
            }
        }
        let v = env.call(this, f, argv.as_slice())?;
        // A number in one N-API call, other primitives with their type.
        if let Some(d) = env.try_double(v) {
            return super::numbers::number_to_py(gil, d);
        }
        let t = env.type_of(v)?;
        if t != ValueType::napi_object && t != ValueType::napi_function {
            return ToPy::new(env, gil, data.context)?.typed(v, t, 0);
        }
        let result = hooks.js_proxy_result.get().ok_or_else(unhooked)?;
        let result = env.ref_value(result)?.ok_or_else(unhooked)?;
        let marked = env.call(env.undefined()?, result, &[v])?;
        ToPy::new(env, gil, data.context)?.convert(marked)
    })();
    match r {
        Err(Error::JsPending) => Err(callables::js_exception(env)),
        other => other,
    }
}

unsafe extern "C" fn dealloc(slf: PyPtr) {
    let a = api();
    // SAFETY: CPython calls this with the GIL held (attached) for an object no one references;
    // the data word is ours, taken once.
    let p = unsafe { slot(slf).replace(std::ptr::null_mut()) };
    if !p.is_null() {
        // SAFETY: the box made in `new_proxy`, freed only here.
        let data = unsafe { Box::from_raw(p) };
        // SAFETY: GIL held; the references the data owns.
        unsafe {
            (a.Py_DecRef)(data.d);
            for (_, child) in data.cache.into_inner() {
                (a.Py_DecRef)(child);
            }
        }
        let refs = [data.target, data.this];
        if data.shared.is_js_thread() {
            // On its own JS thread the env is alive (Python runs here only inside its calls).
            let env = Env(data.shared.env as _);
            for r in refs.into_iter().filter(|r| *r != 0) {
                let _ = env.delete_ref(r as _);
            }
        } else {
            data.shared.post(Box::new(move |env| {
                if let Some(env) = env {
                    for r in refs.into_iter().filter(|r| *r != 0) {
                        let _ = env.delete_ref(r as _);
                    }
                }
            }));
        }
    }
    // SAFETY: GIL held; an instance of a heap type (ours or a subclass), its data released.
    unsafe { native::free_instance(slf) };
}
