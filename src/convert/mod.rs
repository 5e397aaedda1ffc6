//! The serializer: JS values ↔ Python objects at C-API level, with no JSON in between.
//!
//! One file per type family, both directions side by side. `ToPy` and `ToJs` carry what one
//! conversion needs: the env, the GIL, the context, and an identity memo so that cycles and
//! shared substructure survive both ways (`d['self'] = d` comes back with `r.self === r`).
//! Containers recurse with a depth limit (`MAX_DEPTH`, a `RangeError` beyond), so no input can
//! overflow the stack. A JS exception raised while reading a value (a throwing getter, a Proxy
//! trap) stops the conversion with `Error::JsPending`; whatever was half-built in Python is
//! released on the way out.

pub mod buffers;
pub mod bytes;
pub mod callables;
pub mod containers;
pub mod datetime;
pub mod exceptions;
pub mod handles;
pub mod jsproxy;
pub mod numbers;
pub mod records;
pub mod strings;

use crate::env::{self as instance, EnvData};
use crate::error::{Error, Result};
use crate::runtime::support;
use crate::sys::napi::{Env, Value, ValueType};
use crate::sys::python as py;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};
use std::collections::HashMap;

/// Nesting depth at which a conversion stops with a `RangeError`.
pub const MAX_DEPTH: usize = 1000;

pub use crate::env::protocol::{KWARGS_TAG, TUPLE_TAG};

fn too_deep() -> Error {
    Error::Range(format!("python-ts: value nested deeper than {MAX_DEPTH} levels cannot be converted"))
}

/// One JS → Python conversion.
pub struct ToPy<'py> {
    pub env: Env,
    pub gil: Gil<'py>,
    data: Option<&'static EnvData>,
    pub context: u64,
    /// JS Map from objects already converted to their index in `memo_objs`.
    pub(super) memo: Option<Value>,
    pub(super) memo_objs: Vec<Owned<'py>>,
    /// The pause id when this conversion switched the cyclic GC off (0: it didn't).
    gc_pause: u64,
}

impl Drop for ToPy<'_> {
    fn drop(&mut self) {
        crate::runtime::attach::resume_gc(self.gil, self.gc_pause);
    }
}

impl<'py> ToPy<'py> {
    pub fn new(env: Env, gil: Gil<'py>, context: u64) -> Result<Self> {
        Ok(ToPy { env, gil, data: None, context, memo: None, memo_objs: Vec::new(), gc_pause: 0 })
    }

    /// The env's data, fetched the first time a conversion needs it (not for scalars).
    pub fn data(&mut self) -> Result<&'static EnvData> {
        match self.data {
            Some(d) => Ok(d),
            None => {
                let d = instance::get(self.env)?;
                self.data = Some(d);
                Ok(d)
            }
        }
    }

    /// Convert one value.
    pub fn convert(&mut self, v: Value) -> Result<Owned<'py>> {
        self.value(v, 0)
    }

    pub fn value(&mut self, v: Value, depth: usize) -> Result<Owned<'py>> {
        let env = self.env;
        let gil = self.gil;
        // Numbers first, in one N-API call: the hot case of arguments and numeric arrays.
        if let Some(d) = env.try_double(v) {
            return numbers::number_to_py(gil, d);
        }
        let t = env.type_of(v)?;
        self.typed(v, t, depth)
    }

    /// Convert one value whose type (`napi_typeof`) the caller already has.
    pub fn typed(&mut self, v: Value, t: i32, depth: usize) -> Result<Owned<'py>> {
        let env = self.env;
        let gil = self.gil;
        match t {
            ValueType::napi_undefined | ValueType::napi_null => Ok(objects::none(gil)),
            ValueType::napi_boolean => numbers::bool_to_py(gil, env.get_bool(v)?),
            ValueType::napi_number => numbers::number_to_py(gil, env.get_double(v)?),
            ValueType::napi_bigint => numbers::bigint_to_py(env, gil, v),
            ValueType::napi_string => strings::to_py(env, gil, v),
            ValueType::napi_object => self.object(v, depth),
            ValueType::napi_function => {
                // A wrapped object of the `Python` class is a Proxy over a function: it stands
                // for its Python object, wherever it sits in the arguments.
                let h = self.data()?.call_helper(env, |h| h.wrapped_handle, &[v])?;
                if env.type_of(h)? == ValueType::napi_object && env.has_type_tag(h, &handles::HANDLE_TAG)? {
                    return handles::resolve(env, gil, h, self.context);
                }
                callables::to_py(self, v)
            }
            other => Err(Error::Type(format!("python-ts: cannot convert a JavaScript {} to Python", type_word(other)))),
        }
    }

    fn object(&mut self, v: Value, depth: usize) -> Result<Owned<'py>> {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let env = self.env;
        // A handle before any container (an argument, most often): its object, without making
        // the conversion's memo or pausing the GC (a JS call and two Python calls: 1.6 µs of a
        // 2.3 µs call). Within containers the memo's `inspect` tells handles apart.
        if self.memo.is_none() {
            if let Some(hd) = handles::data_if_handle(env, v)? {
                return handles::resolve_data(self.gil, hd, self.context);
            }
        }
        let data = self.data()?;
        let memo = match self.memo {
            Some(m) => m,
            None => {
                let m = data.call_helper(env, |h| h.memo_new, &[])?;
                self.memo = Some(m);
                // The first container of this conversion: keep the cyclic GC from running
                // over and over while thousands of new dicts and lists appear (measured: 10 000
                // records spent a tenth of their time in gen-0 collections). The objects are
                // all reachable; the GC resumes when the conversion ends.
                self.gc_pause = crate::runtime::attach::pause_gc(self.gil);
                m
            }
        };
        // One JS call tells a memo hit, the kind of object, or a plain object's parts.
        let next = env.double(self.memo_objs.len() as f64)?;
        let info = data.call_helper(env, |h| h.inspect, &[v, memo, next])?;
        let Some(code) = env.try_double(info) else {
            // A plain object: [keys joined by NUL, values]. A real handle whose prototype was
            // changed still carries our tag: it stands for its object, not a dict of its fields.
            if env.has_type_tag(v, &handles::HANDLE_TAG)? {
                let obj = handles::resolve(env, self.gil, v, self.context)?;
                self.memo_push(&obj);
                return Ok(obj);
            }
            return containers::object_to_py(self, v, Some(info), depth);
        };
        if code >= 0.0 {
            return self
                .memo_objs
                .get(code as usize)
                .cloned()
                .ok_or_else(|| Error::Generic("python-ts: conversion memo out of step".into()));
        }
        use crate::env::protocol::inspect as kind;
        match code as i32 {
            kind::ARRAY => containers::array_to_py(self, v, depth),
            kind::TYPED_ARRAY => bytes::typedarray_to_py(env, self.gil, v),
            kind::DATA_VIEW => bytes::dataview_to_py(env, self.gil, v),
            kind::ARRAY_BUFFER => bytes::arraybuffer_to_py(env, self.gil, v),
            kind::DATE => datetime::date_to_py(env, self.gil, v),
            kind::MAP => containers::map_to_py(self, v, depth),
            kind::SET => containers::set_to_py(self, v, depth),
            kind::PROMISE => match self.proxy(v, None)? {
                Some(p) => Ok(p),
                None => Err(Error::Type("python-ts: cannot convert a Promise to Python (await it first)".into())),
            },
            kind::JS_OBJECT => {
                let target = env.get_named(v, "value")?;
                let this = env.get_named(v, "thisArg")?;
                self.proxy(target, Some(this))?.ok_or_else(|| {
                    Error::Generic("python-ts: jsobject(x) needs the python-ts package loaded in this thread".into())
                })
            }
            kind::INSTANCE => match self.proxy(v, None)? {
                Some(p) => {
                    self.memo_push(&p);
                    Ok(p)
                }
                None => containers::object_to_py(self, v, None, depth),
            },
            kind::KWARGS if env.has_type_tag(v, &KWARGS_TAG)? => Err(Error::Type(
                "python-ts: kwargs({...}) is only accepted as the last argument of a call".into(),
            )),
            kind::CONTEXT if env.has_type_tag(v, &crate::env::protocol::CONTEXT_TAG)? => {
                Err(Error::Type("python-ts: a context object cannot be converted to Python".into()))
            }
            kind::HANDLE => handles::resolve(env, self.gil, v, self.context),
            kind::TUPLE if env.has_type_tag(v, &TUPLE_TAG)? => containers::tuple_to_py(self, v, depth),
            kind::HANDLE_COPY if env.has_type_tag(v, &handles::HANDLE_TAG)? => {
                handles::resolve(env, self.gil, v, self.context)
            }
            kind::HANDLE_COPY => Err(Error::Generic(
                "python-ts: this object looks like a Python object handle but was not made by python-ts (a copy such as \
                 {...h} or structuredClone(h)); pass the handle itself"
                    .into(),
            )),
            kind::BOXED => {
                let primitive = data.call_helper(env, |h| h.unbox, &[v])?;
                self.value(primitive, depth + 1)
            }
            kind::WEAK => Err(Error::Type(
                "python-ts: cannot convert a WeakMap, WeakSet, WeakRef or FinalizationRegistry to Python (their contents \
                 cannot be read)"
                    .into(),
            )),
            // OBJECT_BY_KEY: a plain object with a NUL in a key; KWARGS/CONTEXT/TUPLE without our
            // tag: plain objects too.
            _ => containers::object_to_py(self, v, None, depth),
        }
    }

    /// A live proxy (`python_ts.JsProxy`) of `target` (a method's `this` with it), where the
    /// package registered its proxy hook in this env; None where it did not.
    fn proxy(&mut self, target: Value, this: Option<Value>) -> Result<Option<Owned<'py>>> {
        let env = self.env;
        let Some(hook) = self.data()?.js_proxy.get() else { return Ok(None) };
        let Some(hook) = env.ref_value(hook)? else { return Ok(None) };
        let this_arg = match this {
            Some(t) => t,
            None => env.undefined()?,
        };
        let dispatch = env.call(env.undefined()?, hook, &[target, this_arg])?;
        let d = callables::to_py(self, dispatch)?;
        jsproxy::new_proxy(self, target, this, d).map(Some)
    }

    /// Give the Python object of the container being converted its memo index (the JS side
    /// entered the container under that index in `inspect`).
    pub fn memo_push(&mut self, obj: &Owned<'py>) {
        self.memo_objs.push(obj.clone());
    }
}

/// The Python → JS memo, by object address.
type PtrMap = HashMap<usize, Value, std::hash::BuildHasherDefault<crate::sys::python::object::FastHash>>;

/// One Python → JS conversion.
pub struct ToJs<'py> {
    pub env: Env,
    pub gil: Gil<'py>,
    pub context: u64,
    /// The context's JS object, set on handles (`state`); None for the main context.
    pub state: Option<Value>,
    memo: PtrMap,
    /// On a free-threaded build, a reference to each memo entry's object: another thread could
    /// free it mid-conversion and a new object take its address (and its memo entry).
    kept: Vec<Owned<'py>>,
    /// Whether a type a converter names stays a handle (env `kept_types`).
    converters: bool,
}

impl<'py> ToJs<'py> {
    pub fn new(env: Env, gil: Gil<'py>, context: u64, state: Option<Value>) -> Self {
        ToJs { env, gil, context, state, memo: PtrMap::default(), kept: Vec::new(), converters: true }
    }

    /// The built-in rules for every object, also where a converter names its type
    /// (`clib._to_js`, for an instance that has no converter for it).
    pub fn built_in_only(mut self) -> Self {
        self.converters = false;
        self
    }

    pub fn convert(&mut self, obj: Borrowed<'_, 'py>) -> Result<Value> {
        self.value(obj, 0)
    }

    pub fn value(&mut self, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
        let env = self.env;
        let gil = self.gil;
        // Exact types first: one pointer comparison each.
        match obj.kind() {
            py::Kind::None => return env.null(),
            py::Kind::Bool(b) => return env.boolean(b),
            py::Kind::Int => return numbers::int_to_js(env, gil, obj),
            py::Kind::Float => return env.double(py::concrete::float_value(gil, obj)),
            py::Kind::Str => return strings::to_js(env, gil, obj),
            py::Kind::List | py::Kind::Tuple | py::Kind::Dict | py::Kind::Set | py::Kind::FrozenSet => {
                return self.container(obj, depth)
            }
            py::Kind::Bytes | py::Kind::ByteArray => return bytes::to_js(env, gil, obj),
            py::Kind::Other => {}
        }
        // A live proxy of a JS object of this env is that object again.
        if let Some(v) = jsproxy::target_of(env, obj)? {
            return Ok(v);
        }
        // `python_ts.pyobject(x)`: `x` itself, as a handle, whatever its type.
        if let Some(inner) = crate::runtime::pyobject::inner_of(obj) {
            return self.handle(inner);
        }
        // A type a registered converter names stays a handle: the converter (in the `Python`
        // class) wins over the built-in rules below. Exact built-in types never get here.
        if self.converters && self.converter_names(obj)? {
            return self.handle(obj);
        }
        // Subclasses (IntEnum, StrEnum, OrderedDict, namedtuple, …).
        let flags = obj.type_flags();
        if flags & py::TPFLAGS_LONG_SUBCLASS != 0 {
            return numbers::int_to_js(env, gil, obj);
        }
        if flags & py::TPFLAGS_UNICODE_SUBCLASS != 0 {
            return strings::to_js(env, gil, obj);
        }
        if flags & (py::TPFLAGS_LIST_SUBCLASS | py::TPFLAGS_TUPLE_SUBCLASS | py::TPFLAGS_DICT_SUBCLASS) != 0 {
            return self.container(obj, depth);
        }
        if flags & py::TPFLAGS_BYTES_SUBCLASS != 0 {
            return bytes::to_js(env, gil, obj);
        }
        if obj.is_a(py::Kind::Float) {
            return env.double(py::concrete::float_value(gil, obj));
        }
        if obj.is_a(py::Kind::ByteArray) {
            return bytes::to_js(env, gil, obj);
        }
        if obj.is_a(py::Kind::Set) || obj.is_a(py::Kind::FrozenSet) {
            return self.container(obj, depth);
        }
        match datetime::instant(gil, obj)? {
            Some(datetime::Instant::Ms(ms)) => return env.date(ms),
            Some(datetime::Instant::Missing) => return env.null(),
            None => {}
        }
        if let Some(item) = numbers::numpy_item(gil, obj)? {
            return self.value(item.borrow(), depth + 1);
        }
        if numbers::is_pandas_na(gil, obj) {
            return env.null();
        }
        self.handle(obj)
    }

    /// Whether a `registerConverter` of this env names `type(obj)`.
    fn converter_names(&self, obj: Borrowed<'_, 'py>) -> Result<bool> {
        let data = instance::get(self.env)?;
        if data.kept_types.borrow().is_empty() {
            return Ok(false);
        }
        let f = support::attr(self.gil, "type_name")?;
        let name = objects::call_with(self.gil, f.borrow(), &[obj])?;
        let name = objects::utf8_of(self.gil, name.borrow())?;
        Ok(data.kept_types.borrow().iter().any(|(n, _)| *n == name))
    }

    fn container(&mut self, obj: Borrowed<'_, 'py>, depth: usize) -> Result<Value> {
        if let Some(v) = self.memo.get(&obj.addr()) {
            return Ok(*v);
        }
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        containers::to_js(self, obj, depth)
    }

    pub fn memo_put(&mut self, obj: Borrowed<'_, 'py>, v: Value) {
        self.memo.insert(obj.addr(), v);
        if crate::sys::python::is_free_threaded() {
            self.kept.push(obj.to_owned());
        }
    }

    /// A handle, whatever the object's type.
    pub fn handle(&mut self, obj: Borrowed<'_, 'py>) -> Result<Value> {
        handles::to_handle(self.env, self.gil, obj, self.context, self.state)
    }
}

pub fn type_word(t: i32) -> &'static str {
    match t {
        ValueType::napi_undefined => "undefined",
        ValueType::napi_null => "null",
        ValueType::napi_boolean => "boolean",
        ValueType::napi_number => "number",
        ValueType::napi_string => "string",
        ValueType::napi_symbol => "symbol",
        ValueType::napi_object => "object",
        ValueType::napi_function => "function",
        ValueType::napi_external => "external",
        ValueType::napi_bigint => "bigint",
        _ => "value",
    }
}
