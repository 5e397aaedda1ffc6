//! Functions on Python objects: `_import_module`, `_reload_module`, `_call_python`, `_dir`,
//! `_getattr`, `_delete_pyobject`, and `kwargs`.

use super::{context_arg, describe_arg, is_nullish, string_arg, Ctx};
use crate::convert::{handles, ToJs, ToPy, KWARGS_TAG};
use crate::env::boundary::Export;
use crate::env::protocol::attribute;
use crate::error::{Error, Result};
use crate::runtime::{context, lifecycle, support};
use crate::sys::napi::{Args, CallbackInfo, Env, Value, ValueType, MAX_ARGS};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{Borrowed, Owned};

pub static EXPORTS: &[Export] = &[
    Export { name: "_import_module", f: import_module },
    Export { name: "_reload_module", f: reload_module },
    Export { name: "_call_python", f: call_python },
    Export { name: "_dir", f: dir },
    Export { name: "_getattr", f: getattr },
    Export { name: "_seq_len", f: seq_len },
    Export { name: "_setattr", f: setattr },
    Export { name: "_attr_names", f: attr_names },
    Export { name: "_buffer_view", f: buffer_view },
    Export { name: "_delete_pyobject", f: delete_pyobject },
    Export { name: "_delete_all_pyobjects", f: delete_all_pyobjects },
    Export { name: "_keep_wrapped", f: keep_wrapped },
    Export { name: "_to_js", f: to_js },
    Export { name: "jsobject", f: jsobject },
    Export { name: "_set_js_proxy", f: set_js_proxy },
    Export { name: "kwargs", f: kwargs },
    Export { name: "tuple", f: tuple },
];

fn import_module(env: Env, args: &Args) -> Result<Value> {
    let name = string_arg(env, args, 0, "_import_module(name)", "name")?;
    let ctx = context_arg(env, args, 1, "_import_module")?;
    super::sync(env, ctx.id, |gil| {
        let m = objects::import(gil, &name)?;
        ToJs::new(env, gil, ctx.id, ctx.state).handle(m.borrow())
    })
}

/// `_keep_wrapped(typeName, on)`: count a converter registration for `typeName` in this env (or
/// take one back): while one is counted, objects of that type reach JS as handles, so a
/// `registerConverter` wins over the built-in conversion.
fn keep_wrapped(env: Env, args: &Args) -> Result<Value> {
    let name = string_arg(env, args, 0, "_keep_wrapped(typeName, on)", "typeName")?;
    let on = match args.get(1) {
        Some(v) if env.type_of(v)? == ValueType::napi_boolean => env.get_bool(v)?,
        _ => return Err(Error::Type("python-ts: _keep_wrapped(typeName, on): on must be a boolean".into())),
    };
    let data = crate::env::get(env)?;
    let mut kept = data.kept_types.borrow_mut();
    match (kept.iter().position(|(n, _)| *n == name), on) {
        (Some(i), true) => kept[i].1 += 1,
        (None, true) => kept.push((name, 1)),
        (Some(i), false) => {
            kept[i].1 -= 1;
            if kept[i].1 == 0 {
                kept.swap_remove(i);
            }
        }
        (None, false) => {}
    }
    env.double(kept.len() as f64)
}

/// `_to_js(obj, ctx?)`: the object's conversion by the built-in rules only (a type a converter
/// of this env names converts too): for a `Python` instance that has no converter for it.
fn to_js(env: Env, args: &Args) -> Result<Value> {
    let obj = args.get(0).ok_or_else(|| Error::Type("python-ts: _to_js(obj): obj is required".into()))?;
    let ctx = context_arg(env, args, 1, "_to_js")?;
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        ToJs::new(env, gil, ctx.id, ctx.state).built_in_only().convert(target.borrow())
    })
}

fn reload_module(env: Env, args: &Args) -> Result<Value> {
    let target =
        args.get(0).ok_or_else(|| Error::Type("python-ts: _reload_module(module): module is required".into()))?;
    let ctx = context_arg(env, args, 1, "_reload_module")?;
    let is_name = env.type_of(target)? == ValueType::napi_string;
    if !is_name && !handles::is_handle(env, target)? {
        return Err(Error::Type(format!(
            "python-ts: _reload_module(module): module must be a module name or a module handle, got {}",
            describe_arg(env, Some(target))?
        )));
    }
    let name = if is_name { Some(env.get_string(target)?) } else { None };
    super::sync(env, ctx.id, |gil| {
        let module = match &name {
            Some(n) => {
                let c = objects::cstr(n)?;
                match support::loaded_module(gil, &c) {
                    Some(m) => m.to_owned(),
                    None => objects::import(gil, n)?,
                }
            }
            None => handles::resolve(env, gil, target, ctx.id)?,
        };
        pc::reload(gil, module.borrow())?;
        Ok(())
    })?;
    env.boolean(true)
}

/// The converted pieces of a call, made on the JS thread.
pub struct PreparedCall<'py> {
    pub callable: Owned<'py>,
    pub args: Owned<'py>,
    pub kwargs: Option<Owned<'py>>,
}

/// Resolve `getattr(obj, method)` and convert the arguments (positional ones, an optional
/// trailing `kwargs({...})`, an optional `kwargs` object).
pub fn prepare_call<'py>(env: Env, gil: Gil<'py>, c: &CallArgs) -> Result<PreparedCall<'py>> {
    prepare_split(env, gil, c, Split::of(env, &c.args)?)
}

/// `prepare_call` with the trailing `kwargs({...})` already split off.
fn prepare_split<'py>(env: Env, gil: Gil<'py>, c: &CallArgs, split: Split) -> Result<PreparedCall<'py>> {
    let ctx = c.ctx;
    let target = handles::resolve_data(gil, c.handle, ctx.id)?;
    let callable = objects::method_of(gil, ctx.id, target, c.method.bytes())?;
    let mut cx = ToPy::new(env, gil, ctx.id)?;
    let mut kw = split.trailing.map(|v| kwargs_dict(&mut cx, v)).transpose()?;
    // The tuple is filled in place (no intermediate Vec); a failure releases it with the items
    // set so far.
    let args = pc::tuple_of(gil, (0..split.n).map(|i| cx.convert(split.get(env, &c.args, i)?)))?;
    if let Some(k) = c.kwargs {
        let d = kwargs_dict(&mut cx, k)?;
        match &kw {
            Some(existing) => pc::dict_update(gil, existing.borrow(), d.borrow())?,
            None => kw = Some(d),
        }
    }
    Ok(PreparedCall { callable, args, kwargs: kw })
}

/// A call's positional arguments with a trailing `kwargs({...})` split off: their count, the
/// last one when it was read (so it is not read twice), and the trailing kwargs object.
#[derive(Clone, Copy)]
struct Split {
    n: u32,
    last: Option<Value>,
    trailing: Option<Value>,
}

impl Split {
    fn of(env: Env, args: &Positional) -> Result<Split> {
        let n = args.len();
        if n == 0 {
            return Ok(Split { n: 0, last: None, trailing: None });
        }
        let v = args.get(env, n - 1)?;
        if env.try_double(v).is_none()
            && env.type_of(v)? == ValueType::napi_object
            && env.has_type_tag(v, &KWARGS_TAG)?
        {
            return Ok(Split { n: n - 1, last: None, trailing: Some(v) });
        }
        Ok(Split { n, last: Some(v), trailing: None })
    }

    /// Positional argument `i` (below `n`).
    fn get(&self, env: Env, args: &Positional, i: u32) -> Result<Value> {
        match self.last {
            Some(l) if i + 1 == self.n => Ok(l),
            _ => args.get(env, i),
        }
    }
}

/// A call without keyword arguments through the vectorcall protocol: the arguments converted
/// into a stack array, no tuple, no bound method. None when the call has keyword arguments or
/// too many positional ones, or the runtime lacks the protocol (3.8); `prepare_split` then.
fn call_vector<'py>(env: Env, gil: Gil<'py>, c: &CallArgs, split: Split) -> Result<Option<Owned<'py>>> {
    if c.kwargs.is_some()
        || split.trailing.is_some()
        || split.n as usize > objects::VECTOR_MAX
        || !objects::can_vector(c.ctx.id, c.method.bytes())
    {
        return Ok(None);
    }
    let target = handles::resolve_data(gil, c.handle, c.ctx.id)?;
    let mut cx = ToPy::new(env, gil, c.ctx.id)?;
    let mut items = objects::ArgVec::new(gil);
    for i in 0..split.n {
        items.push(cx.convert(split.get(env, &c.args, i)?)?);
    }
    // The conversion ends before Python code runs (it pauses the cyclic GC while it lasts).
    drop(cx);
    objects::call_vector(gil, c.ctx.id, target.borrow(), c.method.bytes(), &mut items).map(Some)
}

fn kwargs_dict<'py>(cx: &mut ToPy<'py>, v: Value) -> Result<Owned<'py>> {
    let env = cx.env;
    let d = pc::dict_new(cx.gil)?;
    let keys = env.own_keys(v)?;
    for i in 0..env.array_len(keys)? {
        let k = env.get_element(keys, i)?;
        let value = cx.convert(env.get_property(v, k)?)?;
        let key = crate::convert::strings::to_py(env, cx.gil, k)?;
        pc::dict_set(cx.gil, d.borrow(), key.borrow(), value.borrow())?;
    }
    Ok(d)
}

/// The arguments of `_call_python` after validation.
pub struct CallArgs<'a> {
    pub handle: &'a handles::HandleData,
    /// The method name (none or empty: call the object itself).
    pub method: MethodName,
    pub args: Positional,
    pub kwargs: Option<Value>,
    pub ctx: Ctx,
    pub callback: Option<Value>,
}

/// A method name as UTF-8, inline when short (most are), so a call allocates nothing for it.
#[derive(Clone)]
pub enum MethodName {
    None,
    Inline([u8; 48], u8),
    Heap(Vec<u8>),
}

impl MethodName {
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            MethodName::None => None,
            MethodName::Inline(buf, n) => Some(&buf[..*n as usize]),
            MethodName::Heap(v) => Some(v),
        }
    }
}

/// Where a call's positional arguments are: an `args` Array, or the JS call's own arguments
/// (bound methods).
pub enum Positional {
    Array(Value, u32),
    Direct([Value; MAX_ARGS], u32),
    Many(Vec<Value>),
}

impl Positional {
    pub const NONE: Positional = Positional::Direct([std::ptr::null_mut(); MAX_ARGS], 0);

    /// The arguments of a JS call from `from` on (all of them: read again when more than
    /// `Args` holds).
    pub fn of_call(env: Env, args: &Args, info: CallbackInfo, from: usize) -> Result<Positional> {
        let n = args.argc.saturating_sub(from);
        if args.argc <= MAX_ARGS {
            let mut direct = [std::ptr::null_mut(); MAX_ARGS];
            direct[..n].copy_from_slice(&args.argv[from..from + n]);
            return Ok(Positional::Direct(direct, n as u32));
        }
        let all = env.cb_args(info, args.argc)?;
        Ok(Positional::Many(all[from..].to_vec()))
    }

    pub fn len(&self) -> u32 {
        match self {
            Positional::Array(_, n) | Positional::Direct(_, n) => *n,
            Positional::Many(v) => v.len() as u32,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, env: Env, i: u32) -> Result<Value> {
        match self {
            Positional::Array(a, _) => env.get_element(*a, i),
            Positional::Direct(v, _) => Ok(v[i as usize]),
            Positional::Many(v) => Ok(v[i as usize]),
        }
    }
}

/// The handle argument of a call: its JS object and data.
pub fn target_arg(env: Env, args: &Args, func: &str) -> Result<(Value, &'static handles::HandleData)> {
    let obj = object_arg(env, args, func)?;
    Ok((obj, handles::data_of_object(env, obj)?))
}

/// The first argument, `obj`, when it is an object (a `TypeError` naming `func` otherwise).
fn object_arg(env: Env, args: &Args, func: &str) -> Result<Value> {
    let obj = args.get(0).ok_or_else(|| Error::Type(format!("python-ts: {func}: obj is required")))?;
    if env.type_of(obj)? != ValueType::napi_object {
        return Err(Error::Type(format!(
            "python-ts: {func}: obj must be a Python object handle, got {}",
            describe_arg(env, Some(obj))?
        )));
    }
    Ok(obj)
}

/// The method-name argument: a string, or empty/undefined/null to call the object itself.
pub fn method_arg(env: Env, v: Option<Value>, func: &str) -> Result<MethodName> {
    let Some(v) = v else { return Ok(MethodName::None) };
    let mut buf = [0u8; 48];
    if let Some(n) = env.try_string_into(v, &mut buf) {
        return Ok(MethodName::Inline(buf, n as u8));
    }
    match env.type_of(v)? {
        ValueType::napi_undefined | ValueType::napi_null => Ok(MethodName::None),
        ValueType::napi_string => Ok(MethodName::Heap(env.get_string_utf8_bytes(v)?)),
        _ => Err(Error::Type(format!(
            "python-ts: {func}: method must be a string (or empty/null to call obj), got {}",
            describe_arg(env, Some(v))?
        ))),
    }
}

pub fn parse_call_args(env: Env, args: &Args) -> Result<CallArgs<'static>> {
    const F: &str = "_call_python(obj, method, args?, kwargs?, ctx?, callback?)";
    let (_, handle) = target_arg(env, args, F)?;
    let method = method_arg(env, args.get(1), F)?;
    let positional = match args.get(2) {
        Some(v) => match env.try_array_len(v) {
            Some(n) => Positional::Array(v, n),
            None if is_nullish(env, Some(v))? => Positional::NONE,
            None => {
                return Err(Error::Type(format!(
                    "python-ts: {F}: args must be an Array, got {}",
                    describe_arg(env, Some(v))?
                )))
            }
        },
        None => Positional::NONE,
    };
    let mut c =
        CallArgs { handle, method, args: positional, kwargs: None, ctx: Ctx { id: 0, state: None }, callback: None };
    if args.argc <= 3 {
        return Ok(c);
    }
    c.kwargs = match args.get(3) {
        v if is_nullish(env, v)? => None,
        Some(v) if env.type_of(v)? == ValueType::napi_object && !env.is_array(v)? => Some(v),
        v => {
            return Err(Error::Type(format!("python-ts: {F}: kwargs must be an Object, got {}", describe_arg(env, v)?)))
        }
    };
    c.ctx = context_arg(env, args, 4, "_call_python")?;
    c.callback = super::callback_arg(env, args, 5, "_call_python")?;
    Ok(c)
}

fn call_python(env: Env, args: &Args) -> Result<Value> {
    let c = parse_call_args(env, args)?;
    if let Some(cb) = c.callback {
        return crate::clib::code::schedule_call(env, c, cb);
    }
    call_sync(env, &c)
}

/// A sync call: through the vectorcall protocol where it can, else with an argument tuple.
pub fn call_sync(env: Env, c: &CallArgs) -> Result<Value> {
    super::sync(env, c.ctx.id, |gil| {
        let split = Split::of(env, &c.args)?;
        let called = match call_vector(env, gil, c, split) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => prepare_split(env, gil, c, split).and_then(|p| {
                objects::call(gil, p.callable.borrow(), p.args.borrow(), p.kwargs.as_ref().map(|k| k.borrow()))
            }),
            Err(e) => Err(e),
        };
        let r = called.map_err(|e| kwargs_hint(env, e, split))?;
        ToJs::new(env, gil, c.ctx.id, c.ctx.state).convert(r.borrow())
    })
}

/// A Python `TypeError` from a call whose last argument was a plain JS object (passed as a dict)
/// says how keyword arguments are passed: `m.pow(2, { y: 3 })` is `pow(2, {'y': 3})`.
fn kwargs_hint(env: Env, e: Error, split: Split) -> Error {
    let Error::Python(mut info) = e else { return e };
    let plain_object = split.last.is_some_and(|v| {
        env.type_of(v).ok() == Some(ValueType::napi_object)
            && env.is_array(v).ok() == Some(false)
            && handles::is_handle(env, v).ok() == Some(false)
    });
    if info.name == "TypeError" && plain_object {
        info.message.push_str(
            " (python-ts: the last argument, a JS object, was passed as a dict; keyword arguments are passed as kwargs({...}))",
        );
    }
    Error::Python(info)
}

/// `dir(target)` without `__builtins__`, `__loader__`, `__spec__` (as the seed had it), each name
/// given to `f` as a borrowed str and its text.
fn for_each_dir_name<'py>(
    gil: Gil<'py>,
    target: Borrowed<'_, 'py>,
    mut f: impl FnMut(Borrowed<'_, 'py>, String) -> Result<()>,
) -> Result<()> {
    let names = pc::dir(gil, target)?;
    for i in 0..pc::list_len(gil, names.borrow()) {
        // Borrowed from the list, which lives through the loop.
        let Some(name) = pc::list_get(gil, names.borrow(), i) else { continue };
        let text = objects::utf8_of(gil, name)?;
        if matches!(text.as_str(), "__builtins__" | "__loader__" | "__spec__") {
            continue;
        }
        f(name, text)?;
    }
    Ok(())
}

fn dir(env: Env, args: &Args) -> Result<Value> {
    let obj = args.get(0).ok_or_else(|| Error::Type("python-ts: _dir(obj): obj is required".into()))?;
    let ctx = context_arg(env, args, 1, "_dir")?;
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        let out = env.array(0)?;
        let mut j = 0u32;
        let mut cx = ToJs::new(env, gil, ctx.id, ctx.state);
        for_each_dir_name(gil, target.borrow(), |name, _| {
            let (is_method, value) = match objects::getattr_obj(gil, target.borrow(), name) {
                Ok(attr) => {
                    let callable = pc::is_callable(attr.borrow());
                    let value = if callable { env.null()? } else { cx.convert(attr.borrow())? };
                    (callable, value)
                }
                Err(_) => (false, env.undefined()?),
            };
            let row = env.array(3)?;
            env.set_element(row, 0, crate::convert::strings::to_js(env, gil, name)?)?;
            env.set_element(row, 1, env.boolean(is_method)?)?;
            env.set_element(row, 2, value)?;
            env.set_element(out, j, row)?;
            j += 1;
            Ok(())
        })?;
        Ok(out)
    })
}

/// `_seq_len(obj, ctx?)`: what a wrapped object's `length` reads first — `len(obj)` for a
/// sequence that has no attribute of that name, null for anything else (then `length` is read as
/// any attribute). The built-in sequences are measured here, without a Python call; other objects
/// go to `python_ts.seq_len`, which holds the rule.
fn seq_len(env: Env, args: &Args) -> Result<Value> {
    let obj = args.get(0).ok_or_else(|| Error::Type("python-ts: _seq_len(obj): obj is required".into()))?;
    let ctx = context_arg(env, args, 1, "_seq_len")?;
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        let o = target.borrow();
        let n = match o.kind() {
            pc::Kind::List => pc::list_len(gil, o),
            pc::Kind::Tuple => pc::tuple_len(gil, o),
            pc::Kind::Str => pc::str_len(o),
            pc::Kind::Bytes => pc::bytes_data(gil, o)?.len(),
            pc::Kind::ByteArray => pc::bytearray_data(o).len(),
            _ => {
                let f = support::attr(gil, "seq_len")?;
                let n = objects::call_with(gil, f.borrow(), &[o])?;
                return ToJs::new(env, gil, ctx.id, ctx.state).convert(n.borrow());
            }
        };
        env.double(n as f64)
    })
}

/// `_getattr(obj, name, ctx?, withHandle?)` → `[kind, value]`, a kind of `protocol::attribute`:
/// MISSING when Python has no such attribute, CALLABLE (value is its handle, or null unless
/// `withHandle`), VALUE for anything else (value converted).
fn getattr(env: Env, args: &Args) -> Result<Value> {
    let obj = args.get(0).ok_or_else(|| Error::Type("python-ts: _getattr(obj, name): obj is required".into()))?;
    let name = string_arg(env, args, 1, "_getattr(obj, name)", "name")?;
    let ctx = context_arg(env, args, 2, "_getattr")?;
    let with_handle = match args.get(3) {
        Some(v) if env.type_of(v)? == ValueType::napi_boolean => env.get_bool(v)?,
        _ => true,
    };
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        let out = env.array(2)?;
        match objects::getattr_or_missing(gil, target.borrow(), &name) {
            Ok(Some(attr)) => {
                let mut cx = ToJs::new(env, gil, ctx.id, ctx.state);
                let callable = pc::is_callable(attr.borrow());
                // A class is callable but also a value users read (`mod.SomeClass`): both give a handle.
                let value = if !callable {
                    cx.convert(attr.borrow())?
                } else if with_handle {
                    cx.handle(attr.borrow())?
                } else {
                    env.null()?
                };
                let kind = if callable { attribute::CALLABLE } else { attribute::VALUE };
                env.set_element(out, 0, env.double(kind as f64)?)?;
                env.set_element(out, 1, value)?;
            }
            Ok(None) => env.set_element(out, 0, env.double(attribute::MISSING as f64)?)?,
            Err(e) => return Err(e),
        }
        Ok(out)
    })
}

/// `_buffer_view(obj, ctx?)` → `{ data, shape, strides, format, readonly, copied }`.
fn buffer_view(env: Env, args: &Args) -> Result<Value> {
    let obj = object_arg(env, args, "_buffer_view(obj)")?;
    let ctx = context_arg(env, args, 1, "_buffer_view")?;
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        crate::convert::buffers::view(env, gil, target.borrow(), ctx.id)
    })
}

/// `_setattr(obj, name, value, ctx?)`: `setattr(obj, name, value)`.
fn setattr(env: Env, args: &Args) -> Result<Value> {
    let obj =
        args.get(0).ok_or_else(|| Error::Type("python-ts: _setattr(obj, name, value): obj is required".into()))?;
    let name = string_arg(env, args, 1, "_setattr(obj, name, value)", "name")?;
    let value = args.get(2).unwrap_or(env.undefined()?);
    let ctx = context_arg(env, args, 3, "_setattr")?;
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        let v = ToPy::new(env, gil, ctx.id)?.convert(value)?;
        let c = objects::cstr(&name)?;
        objects::setattr(gil, target.borrow(), &c, v.borrow())
    })?;
    env.boolean(true)
}

/// `_attr_names(obj, ctx?)` → `dir(obj)` without `__builtins__`, `__loader__`, `__spec__`.
fn attr_names(env: Env, args: &Args) -> Result<Value> {
    let obj = args.get(0).ok_or_else(|| Error::Type("python-ts: _attr_names(obj): obj is required".into()))?;
    let ctx = context_arg(env, args, 1, "_attr_names")?;
    super::sync(env, ctx.id, |gil| {
        let target = handles::resolve(env, gil, obj, ctx.id)?;
        let out = env.array(0)?;
        let mut j = 0;
        for_each_dir_name(gil, target.borrow(), |_, text| {
            env.set_element(out, j, env.string(&text)?)?;
            j += 1;
            Ok(())
        })?;
        Ok(out)
    })
}

/// `_delete_all_pyobjects(ctx?)` → how many handles of the context this env released.
fn delete_all_pyobjects(env: Env, args: &Args) -> Result<Value> {
    let ctx = context_arg(env, args, 0, "_delete_all_pyobjects")?;
    let Some(_active) = lifecycle::enter_if_running() else {
        return env.double(0.0);
    };
    let n = context::with_context_gil(ctx.id, |gil| handles::release_all(env, gil, ctx.id))??;
    env.double(n as f64)
}

fn delete_pyobject(env: Env, args: &Args) -> Result<Value> {
    let obj = object_arg(env, args, "_delete_pyobject(obj)")?;
    let _ctx = context_arg(env, args, 1, "_delete_pyobject")?;
    let Some(_active) = lifecycle::enter_if_running() else {
        return env.boolean(false);
    };
    let hd = handles::data_of(env, obj);
    let context = match hd {
        Ok(hd) => hd.context,
        Err(_) if handles::is_handle(env, obj)? => return env.boolean(false),
        Err(e) => return Err(e),
    };
    let r = context::with_context_gil(context, |gil| handles::release(env, gil, obj))??;
    env.boolean(r)
}

/// `tuple([...])`: passes a Python tuple (nestable) where an Array would be a list.
fn tuple(env: Env, args: &Args) -> Result<Value> {
    let items = match args.get(0) {
        Some(v) if env.is_array(v)? => v,
        v => {
            return Err(Error::Type(format!(
                "python-ts: tuple(items): items must be an Array, got {}",
                describe_arg(env, v)?
            )))
        }
    };
    let out = crate::env::get(env)?.call_helper(env, |h| h.make_tuple, &[items])?;
    env.type_tag(out, &crate::convert::TUPLE_TAG)?;
    Ok(out)
}

/// `jsobject(x, thisArg?)`: `x` goes to Python as a live proxy (`python_ts.JsProxy`), whatever
/// its kind — an Array, a plain object or a function too.
fn jsobject(env: Env, args: &Args) -> Result<Value> {
    let v = args.get(0).ok_or_else(|| Error::Type("python-ts: jsobject(x): x is required".into()))?;
    match env.type_of(v)? {
        ValueType::napi_object | ValueType::napi_function => {}
        _ => {
            return Err(Error::Type(format!(
                "python-ts: jsobject(x): x must be an object or a function, got {}",
                describe_arg(env, Some(v))?
            )))
        }
    }
    let this = match args.get(1) {
        Some(t) => t,
        None => env.undefined()?,
    };
    crate::env::get(env)?.call_helper(env, |h| h.make_js_object, &[v, this])
}

/// `_set_js_proxy(hook | null, wrap, result)`: the package's proxy hook in this env —
/// `hook(target, thisArg)` gives the dispatcher function a Python `JsProxy` calls, `wrap` and
/// `result` what the native proxy applies to arguments and results (js/internal/jsproxy.js).
fn set_js_proxy(env: Env, args: &Args) -> Result<Value> {
    let f = super::function_arg(env, args, 0, "_set_js_proxy(hook, wrap, result)", "hook")?;
    let (wrap, result) = match f {
        Some(_) => (
            super::function_arg(env, args, 1, "_set_js_proxy(hook, wrap, result)", "wrap")?,
            super::function_arg(env, args, 2, "_set_js_proxy(hook, wrap, result)", "result")?,
        ),
        None => (None, None),
    };
    if f.is_some() && (wrap.is_none() || result.is_none()) {
        return Err(Error::Type("python-ts: _set_js_proxy(hook, wrap, result): wrap and result are needed".into()));
    }
    let data = crate::env::get(env)?;
    super::replace_hook(env, &data.js_proxy_wrap, wrap)?;
    super::replace_hook(env, &data.js_proxy_result, result)?;
    super::replace_hook(env, &data.js_proxy, f)?;
    env.boolean(f.is_some())
}

/// `kwargs({...})`: marks keyword arguments for the last position of a call.
fn kwargs(env: Env, args: &Args) -> Result<Value> {
    let src = args.get(0);
    let src = match src {
        v if is_nullish(env, v)? => None,
        Some(v) if env.type_of(v)? == ValueType::napi_object && !env.is_array(v)? => Some(v),
        v => {
            return Err(Error::Type(format!(
                "python-ts: kwargs(obj): obj must be an Object, got {}",
                describe_arg(env, v)?
            )))
        }
    };
    let src = match src {
        Some(v) => v,
        None => env.undefined()?,
    };
    let out = crate::env::get(env)?.call_helper(env, |h| h.make_kwargs, &[src])?;
    env.type_tag(out, &KWARGS_TAG)?;
    Ok(out)
}
