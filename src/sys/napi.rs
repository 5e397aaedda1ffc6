//! N-API, wrapped one call to one method. `check_status!` turns every `napi_status` into a
//! `Result`; a pending JS exception (a throwing getter, a Proxy trap) becomes `Error::JsPending`,
//! which the boundary leaves in place so JS sees the original exception.
//!
//! Invariant for callers: an `Env` is only used on the JS thread that owns it, inside a callback
//! N-API gave us (or a threadsafe-function call), so every `napi_value` is valid for the current
//! handle scope.

// Every `Value` passed to these wrappers is a handle N-API gave us in the current scope (the
// module invariant above); the wrappers hand it back to N-API and never dereference it.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use crate::error::{Error, Result};
use napi_sys as sys;
use std::ffi::{c_void, CString};
use std::os::raw::c_char;
use std::ptr;

pub use sys::{napi_callback_info as CallbackInfo, napi_env, napi_ref as Ref, napi_value as Value};
/// An open handle scope; closed on drop (see `Env::scope`).
pub struct HandleScope {
    env: napi_env,
    scope: sys::napi_handle_scope,
}

impl Drop for HandleScope {
    fn drop(&mut self) {
        if !self.scope.is_null() {
            // SAFETY: opened by `Env::scope` on this env and thread, closed once.
            unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
        }
    }
}

/// A native function N-API calls (`napi_callback` without its Option).
pub type NativeFn = unsafe extern "C" fn(napi_env, CallbackInfo) -> Value;
pub use sys::{TypedarrayType, ValueType};

macro_rules! check_status {
    ($env:expr, $call:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: each wrapper passes pointers that live for the call and an env owned by this
        // thread (module invariant).
        let status = unsafe { sys::$call($($arg),*) };
        if status == sys::Status::napi_ok {
            Ok(())
        } else {
            Err($env.status_error(stringify!($call), status))
        }
    }};
}

/// The JS environment of the current callback.
#[derive(Clone, Copy)]
pub struct Env(pub sys::napi_env);

/// The arguments of one JS call (up to `MAX_ARGS`).
pub struct Args {
    pub this: Value,
    pub argv: [Value; MAX_ARGS],
    pub argc: usize,
    pub data: *mut c_void,
}

pub const MAX_ARGS: usize = 8;

impl Args {
    /// Argument `i`, or `None` when the caller passed fewer.
    pub fn get(&self, i: usize) -> Option<Value> {
        if i < self.argc.min(MAX_ARGS) {
            Some(self.argv[i])
        } else {
            None
        }
    }
}

impl Env {
    pub(crate) fn status_error(&self, call: &'static str, status: i32) -> Error {
        if status == sys::Status::napi_pending_exception || self.is_exception_pending() {
            return Error::JsPending;
        }
        Error::Napi { call, status }
    }

    pub fn is_exception_pending(&self) -> bool {
        let mut r = false;
        // SAFETY: env valid (module invariant).
        unsafe { sys::napi_is_exception_pending(self.0, &mut r) };
        r
    }

    pub fn take_exception(&self) -> Option<Value> {
        if !self.is_exception_pending() {
            return None;
        }
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_and_clear_last_exception(self.0, &mut v)).ok()?;
        Some(v)
    }

    pub fn cb_info(&self, info: CallbackInfo) -> Result<Args> {
        let mut args =
            Args { this: ptr::null_mut(), argv: [ptr::null_mut(); MAX_ARGS], argc: MAX_ARGS, data: ptr::null_mut() };
        check_status!(
            self,
            napi_get_cb_info(self.0, info, &mut args.argc, args.argv.as_mut_ptr(), &mut args.this, &mut args.data)
        )?;
        Ok(args)
    }

    /// All `argc` arguments of a call (for calls with more than `MAX_ARGS`).
    pub fn cb_args(&self, info: CallbackInfo, argc: usize) -> Result<Vec<Value>> {
        let mut argv = vec![ptr::null_mut(); argc];
        let mut n = argc;
        check_status!(
            self,
            napi_get_cb_info(self.0, info, &mut n, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut())
        )?;
        argv.truncate(n.min(argc));
        Ok(argv)
    }

    pub fn type_of(&self, v: Value) -> Result<i32> {
        let mut t = 0;
        check_status!(self, napi_typeof(self.0, v, &mut t))?;
        Ok(t)
    }

    pub fn undefined(&self) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_undefined(self.0, &mut v))?;
        Ok(v)
    }

    pub fn null(&self) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_null(self.0, &mut v))?;
        Ok(v)
    }

    pub fn global(&self) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_global(self.0, &mut v))?;
        Ok(v)
    }

    pub fn boolean(&self, b: bool) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_boolean(self.0, b, &mut v))?;
        Ok(v)
    }

    pub fn double(&self, d: f64) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_double(self.0, d, &mut v))?;
        Ok(v)
    }

    pub fn string(&self, s: &str) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_string_utf8(self.0, s.as_ptr() as *const c_char, s.len() as isize, &mut v))?;
        Ok(v)
    }

    pub fn string_utf8_bytes(&self, s: &[u8]) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_string_utf8(self.0, s.as_ptr() as *const c_char, s.len() as isize, &mut v))?;
        Ok(v)
    }

    pub fn string_latin1(&self, s: &[u8]) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_string_latin1(self.0, s.as_ptr() as *const c_char, s.len() as isize, &mut v))?;
        Ok(v)
    }

    pub fn string_utf16(&self, s: &[u16]) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_string_utf16(self.0, s.as_ptr(), s.len() as isize, &mut v))?;
        Ok(v)
    }

    pub fn get_bool(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_get_value_bool(self.0, v, &mut b))?;
        Ok(b)
    }

    /// The number in `v`, or None when `v` is not a number (no error, no exception check: the
    /// fast path of argument conversion tries this first).
    #[inline]
    pub fn try_double(&self, v: Value) -> Option<f64> {
        let mut d = 0.0;
        // SAFETY: env valid (module invariant); a non-number gives napi_number_expected.
        let status = unsafe { sys::napi_get_value_double(self.0, v, &mut d) };
        (status == sys::Status::napi_ok).then_some(d)
    }

    /// The length of `v` if it is an Array, None otherwise (no error raised).
    #[inline]
    pub fn try_array_len(&self, v: Value) -> Option<u32> {
        let mut n = 0u32;
        // SAFETY: env valid; a non-array gives napi_array_expected.
        let status = unsafe { sys::napi_get_array_length(self.0, v, &mut n) };
        (status == sys::Status::napi_ok).then_some(n)
    }

    /// A short string read in one call, None when `v` is not a string or may not have fit `buf`.
    #[inline]
    pub fn try_string_into(&self, v: Value, buf: &mut [u8]) -> Option<usize> {
        let mut written = 0usize;
        // SAFETY: env valid; `buf` is writable for its length.
        let status = unsafe {
            sys::napi_get_value_string_utf8(self.0, v, buf.as_mut_ptr() as *mut c_char, buf.len(), &mut written)
        };
        (status == sys::Status::napi_ok && fits_whole(written, buf.len())).then_some(written)
    }

    pub fn get_double(&self, v: Value) -> Result<f64> {
        let mut d = 0.0;
        check_status!(self, napi_get_value_double(self.0, v, &mut d))?;
        Ok(d)
    }

    /// A JS string as UTF-8. Lone surrogates become U+FFFD here; callers that must keep them
    /// use `get_string_utf16`.
    pub fn get_string(&self, v: Value) -> Result<String> {
        let bytes = self.get_string_utf8_bytes(v)?;
        // N-API's UTF-8 output is always valid UTF-8.
        String::from_utf8(bytes).map_err(|_| Error::Generic("N-API returned invalid UTF-8".into()))
    }

    pub fn get_string_utf8_bytes(&self, v: Value) -> Result<Vec<u8>> {
        let mut len = 0usize;
        check_status!(self, napi_get_value_string_utf8(self.0, v, ptr::null_mut(), 0, &mut len))?;
        let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
        let mut written = 0usize;
        check_status!(
            self,
            napi_get_value_string_utf8(self.0, v, buf.as_mut_ptr() as *mut c_char, len + 1, &mut written)
        )?;
        // SAFETY: N-API wrote `written` bytes into the buffer (excluding the terminator).
        unsafe { buf.set_len(written) };
        Ok(buf)
    }

    /// The length of a JS string in UTF-16 code units.
    pub fn string_utf16_len(&self, v: Value) -> Result<usize> {
        let mut len = 0usize;
        check_status!(self, napi_get_value_string_utf16(self.0, v, ptr::null_mut(), 0, &mut len))?;
        Ok(len)
    }

    /// Copy a JS string's UTF-16 into `buf` (one unit kept for the terminator); returns the units
    /// written.
    pub fn string_utf16_into(&self, v: Value, buf: &mut [u16]) -> Result<usize> {
        let mut written = 0usize;
        check_status!(self, napi_get_value_string_utf16(self.0, v, buf.as_mut_ptr(), buf.len(), &mut written))?;
        Ok(written)
    }

    pub fn get_string_utf16(&self, v: Value) -> Result<Vec<u16>> {
        let mut len = 0usize;
        check_status!(self, napi_get_value_string_utf16(self.0, v, ptr::null_mut(), 0, &mut len))?;
        let mut buf: Vec<u16> = Vec::with_capacity(len + 1);
        let mut written = 0usize;
        check_status!(self, napi_get_value_string_utf16(self.0, v, buf.as_mut_ptr(), len + 1, &mut written))?;
        // SAFETY: N-API wrote `written` code units.
        unsafe { buf.set_len(written) };
        Ok(buf)
    }

    /// BigInt → (negative, little-endian 64-bit words).
    pub fn get_bigint_words(&self, v: Value) -> Result<(bool, Vec<u64>)> {
        let mut count = 0usize;
        let mut sign = 0;
        check_status!(self, napi_get_value_bigint_words(self.0, v, ptr::null_mut(), &mut count, ptr::null_mut()))?;
        let mut words = vec![0u64; count.max(1)];
        count = words.len();
        check_status!(self, napi_get_value_bigint_words(self.0, v, &mut sign, &mut count, words.as_mut_ptr()))?;
        words.truncate(count);
        Ok((sign != 0, words))
    }

    pub fn bigint_words(&self, negative: bool, words: &[u64]) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_bigint_words(self.0, negative as i32, words.len(), words.as_ptr(), &mut v))?;
        Ok(v)
    }

    pub fn object(&self) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_object(self.0, &mut v))?;
        Ok(v)
    }

    pub fn array(&self, len: usize) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_array_with_length(self.0, len, &mut v))?;
        Ok(v)
    }

    pub fn array_len(&self, v: Value) -> Result<u32> {
        let mut n = 0u32;
        check_status!(self, napi_get_array_length(self.0, v, &mut n))?;
        Ok(n)
    }

    pub fn is_array(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_array(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn is_typedarray(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_typedarray(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn is_arraybuffer(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_arraybuffer(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn is_dataview(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_dataview(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn is_date(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_date(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn is_error(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_error(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn is_promise(&self, v: Value) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_is_promise(self.0, v, &mut b))?;
        Ok(b)
    }

    pub fn date(&self, ms: f64) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_date(self.0, ms, &mut v))?;
        Ok(v)
    }

    pub fn get_date(&self, v: Value) -> Result<f64> {
        let mut d = 0.0;
        check_status!(self, napi_get_date_value(self.0, v, &mut d))?;
        Ok(d)
    }

    /// (type, element count, data pointer, underlying ArrayBuffer, byte offset).
    pub fn typedarray_info(&self, v: Value) -> Result<(i32, usize, *mut c_void, Value, usize)> {
        let (mut t, mut len, mut data, mut ab, mut off) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        check_status!(self, napi_get_typedarray_info(self.0, v, &mut t, &mut len, &mut data, &mut ab, &mut off))?;
        Ok((t, len, data, ab, off))
    }

    pub fn dataview_info(&self, v: Value) -> Result<(usize, *mut c_void)> {
        let (mut len, mut data, mut ab, mut off) = (0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        check_status!(self, napi_get_dataview_info(self.0, v, &mut len, &mut data, &mut ab, &mut off))?;
        Ok((len, data))
    }

    pub fn arraybuffer_info(&self, v: Value) -> Result<(*mut c_void, usize)> {
        let (mut data, mut len) = (ptr::null_mut(), 0usize);
        check_status!(self, napi_get_arraybuffer_info(self.0, v, &mut data, &mut len))?;
        Ok((data, len))
    }

    pub fn buffer_copy(&self, bytes: &[u8]) -> Result<Value> {
        let mut v = ptr::null_mut();
        let mut data = ptr::null_mut();
        check_status!(
            self,
            napi_create_buffer_copy(self.0, bytes.len(), bytes.as_ptr() as *const c_void, &mut data, &mut v)
        )?;
        Ok(v)
    }

    /// A new ArrayBuffer of `len` bytes and its data pointer (for filling in place).
    pub fn arraybuffer(&self, len: usize) -> Result<(Value, *mut c_void)> {
        let mut v = ptr::null_mut();
        let mut data = ptr::null_mut();
        check_status!(self, napi_create_arraybuffer(self.0, len, &mut data, &mut v))?;
        Ok((v, data))
    }

    pub fn typedarray(&self, kind: i32, len: usize, ab: Value, offset: usize) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_typedarray(self.0, kind, len, ab, offset, &mut v))?;
        Ok(v)
    }

    /// An ArrayBuffer over memory we own; `finalize` runs when JS collects it.
    ///
    /// # Safety
    /// `data` must stay valid for `len` bytes until `finalize` is called (or the buffer is
    /// detached).
    pub unsafe fn external_arraybuffer(
        &self,
        data: *mut c_void,
        len: usize,
        finalize: sys::napi_finalize,
        hint: *mut c_void,
    ) -> Result<Value> {
        if external_buffers_refused() {
            return Err(Error::Napi { call: "napi_create_external_arraybuffer", status: NO_EXTERNAL_BUFFERS_ALLOWED });
        }
        let mut v = ptr::null_mut();
        check_status!(self, napi_create_external_arraybuffer(self.0, data, len, finalize, hint, &mut v))?;
        Ok(v)
    }

    pub fn detach_arraybuffer(&self, ab: Value) -> Result<()> {
        check_status!(self, napi_detach_arraybuffer(self.0, ab))
    }

    pub fn set_named(&self, obj: Value, name: &str, v: Value) -> Result<()> {
        let name = cstring(name)?;
        check_status!(self, napi_set_named_property(self.0, obj, name.as_ptr(), v))
    }

    pub fn get_named(&self, obj: Value, name: &str) -> Result<Value> {
        let name = cstring(name)?;
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_named_property(self.0, obj, name.as_ptr(), &mut v))?;
        Ok(v)
    }

    /// `obj[name]` for a name already NUL-terminated (no copy).
    pub fn get_named_cstr(&self, obj: Value, name: &std::ffi::CStr) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_named_property(self.0, obj, name.as_ptr(), &mut v))?;
        Ok(v)
    }

    pub fn has_named(&self, obj: Value, name: &str) -> Result<bool> {
        let name = cstring(name)?;
        let mut b = false;
        check_status!(self, napi_has_named_property(self.0, obj, name.as_ptr(), &mut b))?;
        Ok(b)
    }

    pub fn set_property(&self, obj: Value, key: Value, v: Value) -> Result<()> {
        check_status!(self, napi_set_property(self.0, obj, key, v))
    }

    pub fn get_property(&self, obj: Value, key: Value) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_property(self.0, obj, key, &mut v))?;
        Ok(v)
    }

    pub fn set_element(&self, arr: Value, i: u32, v: Value) -> Result<()> {
        check_status!(self, napi_set_element(self.0, arr, i, v))
    }

    pub fn get_element(&self, arr: Value, i: u32) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_element(self.0, arr, i, &mut v))?;
        Ok(v)
    }

    /// Own enumerable string keys, as strings (what `Object.keys` gives).
    pub fn own_keys(&self, obj: Value) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(
            self,
            napi_get_all_property_names(
                self.0,
                obj,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut v
            )
        )?;
        Ok(v)
    }

    /// `a === b`.
    pub fn strict_equals(&self, a: Value, b: Value) -> Result<bool> {
        let mut r = false;
        check_status!(self, napi_strict_equals(self.0, a, b, &mut r))?;
        Ok(r)
    }

    pub fn instance_of(&self, obj: Value, ctor: Value) -> Result<bool> {
        let mut r = false;
        check_status!(self, napi_instanceof(self.0, obj, ctor, &mut r))?;
        Ok(r)
    }

    pub fn function(&self, name: &str, cb: sys::napi_callback, data: *mut c_void) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(
            self,
            napi_create_function(self.0, name.as_ptr() as *const c_char, name.len() as isize, cb, data, &mut v)
        )?;
        Ok(v)
    }

    pub fn call(&self, this: Value, f: Value, args: &[Value]) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_call_function(self.0, this, f, args.len(), args.as_ptr(), &mut v))?;
        Ok(v)
    }

    pub fn new_instance(&self, ctor: Value, args: &[Value]) -> Result<Value> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_new_instance(self.0, ctor, args.len(), args.as_ptr(), &mut v))?;
        Ok(v)
    }

    pub fn run_script(&self, source: &str) -> Result<Value> {
        let s = self.string(source)?;
        let mut v = ptr::null_mut();
        check_status!(self, napi_run_script(self.0, s, &mut v))?;
        Ok(v)
    }

    pub fn define_getter(
        &self,
        obj: Value,
        name: &'static std::ffi::CStr,
        getter: sys::napi_callback,
        data: *mut c_void,
    ) -> Result<()> {
        let desc = sys::napi_property_descriptor {
            utf8name: name.as_ptr(),
            name: ptr::null_mut(),
            method: None,
            getter,
            setter: None,
            value: ptr::null_mut(),
            attributes: sys::PropertyAttributes::enumerable,
            data,
        };
        check_status!(self, napi_define_properties(self.0, obj, 1, &desc))
    }

    /// Define own data properties (writable, enumerable, configurable) keyed by JS values, in one
    /// call. Definition, not assignment: a key `__proto__` becomes an own property.
    pub fn define_data(&self, obj: Value, entries: &[(Value, Value)]) -> Result<()> {
        let descs: Vec<_> = entries.iter().map(|(k, v)| data_descriptor(ptr::null(), *k, *v)).collect();
        check_status!(self, napi_define_properties(self.0, obj, descs.len(), descs.as_ptr()))
    }

    /// The same with static names.
    pub fn define_values(&self, obj: Value, values: &[(&'static std::ffi::CStr, Value)]) -> Result<()> {
        let descs: Vec<_> =
            values.iter().map(|(name, v)| data_descriptor(name.as_ptr(), ptr::null_mut(), *v)).collect();
        check_status!(self, napi_define_properties(self.0, obj, descs.len(), descs.as_ptr()))
    }

    pub fn coerce_to_string(&self, v: Value) -> Result<Value> {
        let mut r = ptr::null_mut();
        check_status!(self, napi_coerce_to_string(self.0, v, &mut r))?;
        Ok(r)
    }

    /// Report `err` as an uncaught exception (what Node does for a throw in any callback).
    pub fn fatal_exception(&self, err: Value) -> Result<()> {
        check_status!(self, napi_fatal_exception(self.0, err))
    }

    pub fn throw(&self, v: Value) -> Result<()> {
        check_status!(self, napi_throw(self.0, v))
    }

    fn make_error(&self, kind: ErrorKind, msg: &str) -> Result<Value> {
        let m = self.string(msg)?;
        let mut v = ptr::null_mut();
        match kind {
            ErrorKind::Error => check_status!(self, napi_create_error(self.0, ptr::null_mut(), m, &mut v))?,
            ErrorKind::Type => check_status!(self, napi_create_type_error(self.0, ptr::null_mut(), m, &mut v))?,
            ErrorKind::Range => check_status!(self, napi_create_range_error(self.0, ptr::null_mut(), m, &mut v))?,
        }
        Ok(v)
    }

    pub fn error(&self, msg: &str) -> Result<Value> {
        self.make_error(ErrorKind::Error, msg)
    }

    pub fn type_error(&self, msg: &str) -> Result<Value> {
        self.make_error(ErrorKind::Type, msg)
    }

    pub fn range_error(&self, msg: &str) -> Result<Value> {
        self.make_error(ErrorKind::Range, msg)
    }

    /// Associates `native` with `obj`; `finalize` runs when JS collects `obj`.
    pub fn wrap(&self, obj: Value, native: *mut c_void, finalize: sys::napi_finalize) -> Result<()> {
        check_status!(self, napi_wrap(self.0, obj, native, finalize, ptr::null_mut(), ptr::null_mut()))
    }

    pub fn unwrap(&self, obj: Value) -> Result<*mut c_void> {
        let mut p = ptr::null_mut();
        check_status!(self, napi_unwrap(self.0, obj, &mut p))?;
        Ok(p)
    }

    pub fn type_tag(&self, obj: Value, tag: &sys::napi_type_tag) -> Result<()> {
        check_status!(self, napi_type_tag_object(self.0, obj, tag))
    }

    pub fn has_type_tag(&self, obj: Value, tag: &sys::napi_type_tag) -> Result<bool> {
        let mut b = false;
        check_status!(self, napi_check_object_type_tag(self.0, obj, tag, &mut b))?;
        Ok(b)
    }

    pub fn create_ref(&self, v: Value, count: u32) -> Result<Ref> {
        let mut r = ptr::null_mut();
        check_status!(self, napi_create_reference(self.0, v, count, &mut r))?;
        Ok(r)
    }

    /// The referenced value, or `None` once a weak reference's target was collected.
    pub fn ref_value(&self, r: Ref) -> Result<Option<Value>> {
        let mut v = ptr::null_mut();
        check_status!(self, napi_get_reference_value(self.0, r, &mut v))?;
        Ok(if v.is_null() { None } else { Some(v) })
    }

    pub fn delete_ref(&self, r: Ref) -> Result<()> {
        check_status!(self, napi_delete_reference(self.0, r))
    }

    pub fn set_instance_data(&self, data: *mut c_void, finalize: sys::napi_finalize) -> Result<()> {
        check_status!(self, napi_set_instance_data(self.0, data, finalize, ptr::null_mut()))
    }

    pub fn instance_data(&self) -> Result<*mut c_void> {
        let mut p = ptr::null_mut();
        check_status!(self, napi_get_instance_data(self.0, &mut p))?;
        Ok(p)
    }

    pub fn add_cleanup_hook(&self, hook: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
        check_status!(self, napi_add_env_cleanup_hook(self.0, Some(hook), arg))
    }

    /// A handle scope, closed when the returned guard drops (values made inside it are not
    /// valid after). Where one cannot be opened (an env being torn down) the guard is empty and
    /// the code still runs in the caller's scope.
    pub fn scope(&self) -> HandleScope {
        let mut s = ptr::null_mut();
        // SAFETY: a valid env on its JS thread.
        let ok = unsafe { sys::napi_open_handle_scope(self.0, &mut s) } == sys::Status::napi_ok;
        HandleScope { env: self.0, scope: if ok { s } else { ptr::null_mut() } }
    }

    // Threadsafe functions (results of async work, JS callbacks from Python threads).

    /// # Safety
    /// `call_js` must treat `context` and `data` as the caller set them up.
    pub unsafe fn threadsafe_function(
        &self,
        name: &str,
        context: *mut c_void,
        call_js: sys::napi_threadsafe_function_call_js,
        finalize: sys::napi_finalize,
    ) -> Result<sys::napi_threadsafe_function> {
        let name = self.string(name)?;
        let mut tsfn = ptr::null_mut();
        check_status!(
            self,
            napi_create_threadsafe_function(
                self.0,
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                context,
                finalize,
                context,
                call_js,
                &mut tsfn
            )
        )?;
        Ok(tsfn)
    }

    pub fn unref_threadsafe(&self, tsfn: sys::napi_threadsafe_function) -> Result<()> {
        check_status!(self, napi_unref_threadsafe_function(self.0, tsfn))
    }

    pub fn ref_threadsafe(&self, tsfn: sys::napi_threadsafe_function) -> Result<()> {
        check_status!(self, napi_ref_threadsafe_function(self.0, tsfn))
    }
}

/// Queue `data` to a threadsafe function from any thread. Returns false once it is closing.
pub fn call_threadsafe(tsfn: sys::napi_threadsafe_function, data: *mut c_void) -> bool {
    // SAFETY: N-API allows this call from any thread while the function is not released.
    let status = unsafe { sys::napi_call_threadsafe_function(tsfn, data, 0) };
    status == sys::Status::napi_ok
}

pub use sys::{napi_threadsafe_function as Tsfn, napi_type_tag as TypeTag};

enum ErrorKind {
    Error,
    Type,
    Range,
}

/// A writable, enumerable, configurable data property named by `utf8name` or `name`.
fn data_descriptor(utf8name: *const c_char, name: Value, value: Value) -> sys::napi_property_descriptor {
    sys::napi_property_descriptor {
        utf8name,
        name,
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: sys::PropertyAttributes::enumerable
            | sys::PropertyAttributes::writable
            | sys::PropertyAttributes::configurable,
        data: ptr::null_mut(),
    }
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Type(format!("name contains a NUL byte: {s:?}")))
}

/// Load N-API symbols from the host once per process.
pub fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: the host process is node (or electron) and exports N-API; the library handle
        // is leaked because the symbols must stay valid for the life of the process.
        let lib = unsafe { sys::setup() };
        std::mem::forget(lib);
    });
}

type ExternalString<T> = unsafe extern "C" fn(
    sys::napi_env,
    *mut T,
    usize,
    sys::napi_finalize,
    *mut c_void,
    *mut sys::napi_value,
    *mut bool,
) -> sys::napi_status;

/// `node_api_create_external_string_latin1` / `_utf16` (Node 20.4+ as experimental, N-API 10),
/// looked up in the host process: absent in hosts without them (then strings are copied).
/// `PYTHON_TS_NO_EXTERNAL_STRINGS=1` ignores them (to measure and test the copying path).
fn external_strings() -> Option<(ExternalString<c_char>, ExternalString<u16>)> {
    static FNS: once_cell::sync::Lazy<Option<(ExternalString<c_char>, ExternalString<u16>)>> =
        once_cell::sync::Lazy::new(|| {
            if std::env::var("PYTHON_TS_NO_EXTERNAL_STRINGS").is_ok_and(|v| v == "1") {
                return None;
            }
            let this = super::os::this_process();
            // SAFETY: the symbols, when present, have these N-API signatures; the process's own
            // handle stays valid for its life (leaked).
            let fns = unsafe {
                let l = this.get::<ExternalString<c_char>>(b"node_api_create_external_string_latin1\0").ok()?;
                let u = this.get::<ExternalString<u16>>(b"node_api_create_external_string_utf16\0").ok()?;
                (*l, *u)
            };
            std::mem::forget(this);
            Some(fns)
        });
    *FNS
}

impl Env {
    /// A JS string over `len` Latin-1 bytes (or, `utf16`, UTF-16 units) at `data` without a copy,
    /// `finalize(env, data, hint)` called once V8 no longer needs them — or at once, if the host
    /// copied them after all. None where the host has no external strings (nothing was called).
    ///
    /// # Safety
    /// `data` stays valid and unchanged until `finalize` runs; `finalize` frees what `hint` owns.
    pub unsafe fn external_string(
        &self,
        data: *const u8,
        len: usize,
        utf16: bool,
        finalize: sys::napi_finalize,
        hint: *mut c_void,
    ) -> Option<Result<Value>> {
        let (latin1, wide) = external_strings()?;
        let mut v = ptr::null_mut();
        let mut copied = false;
        // SAFETY: caller's contract on data and finalize; env valid.
        let status = unsafe {
            if utf16 {
                wide(self.0, data as *mut u16, len, finalize, hint, &mut v, &mut copied)
            } else {
                latin1(self.0, data as *mut c_char, len, finalize, hint, &mut v, &mut copied)
            }
        };
        Some(if status == sys::Status::napi_ok {
            Ok(v)
        } else {
            Err(Error::Napi { call: "node_api_create_external_string", status })
        })
    }
}

/// `napi_no_external_buffers_allowed`: what Electron's memory cage answers.
pub const NO_EXTERNAL_BUFFERS_ALLOWED: i32 = 22;

/// `PYTHON_TS_NO_EXTERNAL_BUFFERS=1` makes the addon behave as under Electron's memory cage,
/// which refuses external ArrayBuffers: views arrive as copies (`copied: true`). For testing
/// that path anywhere.
pub fn external_buffers_refused() -> bool {
    static REFUSED: once_cell::sync::Lazy<bool> =
        once_cell::sync::Lazy::new(|| std::env::var("PYTHON_TS_NO_EXTERNAL_BUFFERS").is_ok_and(|v| v == "1"));
    *REFUSED
}

/// Whether `written` bytes of UTF-8 in a buffer of `cap` bytes (one kept for the terminator) are
/// the whole string. N-API stops at a character boundary, so a string that didn't fit can leave
/// up to 3 bytes unused (a 4-byte character that no longer fits): only a gap of 4 or more bytes
/// proves it all arrived. Taking "written + 1 < cap" for it truncated `'é'.repeat(200)` to 127.
#[inline]
pub const fn fits_whole(written: usize, cap: usize) -> bool {
    written + 4 < cap
}

#[cfg(test)]
mod tests {
    use super::fits_whole;

    #[test]
    fn a_short_read_that_stops_at_a_character_boundary_is_not_whole() {
        // 'é' is 2 bytes: 127 of them fill 254 of 255 usable bytes of a 256-byte buffer.
        assert!(!fits_whole(254, 256));
        // A 4-byte character that didn't fit leaves 3 bytes unused.
        assert!(!fits_whole(252, 256));
        assert!(fits_whole(251, 256));
        assert!(fits_whole(0, 256));
    }
}
