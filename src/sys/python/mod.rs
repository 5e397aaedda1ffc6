//! The CPython API as a table of pointers loaded at run time.
//!
//! python-ts links no libpython: every CPython function is resolved with `libloading` from the
//! library chosen by discovery, opened `RTLD_NOW | RTLD_GLOBAL` so that C extension modules
//! (`_ssl`, `_sqlite3`, numpy) find the `Py*` symbols in the process. pyo3-ffi supplies only types
//! and constants; none of its functions or inline helpers is called here, because each would add
//! an undefined symbol to the `.node` and tie it to one Python.
//!
//! The table is grouped by the CPython header that declares each function. Functions that only
//! some versions have are `Option`s. Invariant for callers: every function pointer here may be
//! called only with the GIL held (except the lifecycle and thread-state functions, which say
//! what they need in CPython's own documentation).

pub mod concrete;
pub mod ffi;
pub mod native;
pub mod object;

pub use concrete::Kind;
pub use object::{Borrowed, Gil, Owned};

use super::os::Library;
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_double, c_int, c_long, c_longlong, c_ulong, c_void};

pub use ffi::*;

macro_rules! py_api {
    (
        $( $group:literal {
            $( fn $name:ident ( $( $arg:ty ),* ) $( -> $ret:ty )? ; )*
        } )*
        optional {
            $( fn $oname:ident ( $( $oarg:ty ),* ) $( -> $oret:ty )? ; )*
        }
        objects { $( $dname:ident ),* $(,)? }
        exceptions { $( $ename:ident ),* $(,)? }
    ) => {
        /// Function pointers and data symbols of one loaded libpython.
        #[allow(non_snake_case)]
        pub struct PyApi {
            $( $( pub $name: unsafe extern "C" fn( $( $arg ),* ) $( -> $ret )?, )* )*
            $( pub $oname: Option<unsafe extern "C" fn( $( $oarg ),* ) $( -> $oret )?>, )*
            $( pub $dname: PyPtr, )*
            $( pub $ename: PyPtr, )*
        }

        impl PyApi {
            /// Resolves every symbol; a missing required one names itself in the error.
            ///
            /// # Safety
            /// `lib` must be a CPython shared library whose ABI matches the declared signatures,
            /// and it must stay loaded for the life of the process.
            #[allow(non_snake_case)]
            unsafe fn load(lib: &Library) -> Result<PyApi, String> {
                Ok(PyApi {
                    $( $( $name: {
                        // SAFETY: the caller guarantees the library is CPython, whose exported
                        // symbol of this name has the declared signature.
                        let sym = unsafe { lib.get::<unsafe extern "C" fn( $( $arg ),* ) $( -> $ret )?>(
                            concat!(stringify!($name), "\0").as_bytes()) }
                            .map_err(|e| format!("symbol {} missing: {}", stringify!($name), e))?;
                        *sym
                    }, )* )*
                    $( $oname: {
                        // SAFETY: as above; absence is allowed for this version-specific symbol.
                        unsafe { lib.get::<unsafe extern "C" fn( $( $oarg ),* ) $( -> $oret )?>(
                            concat!(stringify!($oname), "\0").as_bytes()) }.ok().map(|s| *s)
                    }, )*
                    $( $dname: {
                        // SAFETY: a data symbol's address is the object itself (a static type or
                        // singleton), which lives as long as the library.
                        let sym = unsafe { lib.get::<*mut c_void>(concat!(stringify!($dname), "\0").as_bytes()) }
                            .map_err(|e| format!("symbol {} missing: {}", stringify!($dname), e))?;
                        *sym as PyPtr
                    }, )*
                    $( $ename: {
                        // SAFETY: `PyExc_*` symbols are `PyObject *` variables: the symbol's
                        // address points at the pointer, which is set once the library loads.
                        let sym = unsafe { lib.get::<*mut PyPtr>(concat!(stringify!($ename), "\0").as_bytes()) }
                            .map_err(|e| format!("symbol {} missing: {}", stringify!($ename), e))?;
                        // SAFETY: see above; the variable is statically initialised.
                        unsafe { **sym }
                    }, )*
                })
            }
        }
    };
}

py_api! {
    "pylifecycle.h" {
        fn Py_InitializeEx(c_int);
        fn Py_FinalizeEx() -> c_int;
        fn Py_IsInitialized() -> c_int;
        fn Py_DecodeLocale(*const c_char, *mut usize) -> *mut WChar;
        fn Py_GetVersion() -> *const c_char;
        fn Py_NewInterpreter() -> *mut PyThreadState;
        fn Py_EndInterpreter(*mut PyThreadState);
    }
    "pymem.h" {
        fn PyMem_RawFree(*mut c_void);
    }
    "pystate.h / ceval.h" {
        fn PyGILState_Ensure() -> c_int;
        fn PyGILState_Release(c_int);
        fn PyGILState_Check() -> c_int;
        fn PyEval_SaveThread() -> *mut PyThreadState;
        fn PyEval_RestoreThread(*mut PyThreadState);
        fn PyThreadState_Get() -> *mut PyThreadState;
        fn PyThreadState_Swap(*mut PyThreadState) -> *mut PyThreadState;
        fn PyThreadState_New(*mut PyInterpreterState) -> *mut PyThreadState;
        fn PyInterpreterState_Main() -> *mut PyInterpreterState;
        fn PyThreadState_Clear(*mut PyThreadState);
        fn PyThreadState_Delete(*mut PyThreadState);
        fn PyThreadState_DeleteCurrent();
        fn PyInterpreterState_ThreadHead(*mut PyInterpreterState) -> *mut PyThreadState;
        fn PyThreadState_Next(*mut PyThreadState) -> *mut PyThreadState;
        fn PyThreadState_SetAsyncExc(c_ulong, PyPtr) -> c_int;
        fn PyThread_get_thread_ident() -> c_ulong;
        fn PyEval_EvalCode(PyPtr, PyPtr, PyPtr) -> PyPtr;
    }
    "object.h" {
        fn Py_IncRef(PyPtr);
        fn Py_DecRef(PyPtr);
        fn PyObject_Repr(PyPtr) -> PyPtr;
        fn PyObject_Str(PyPtr) -> PyPtr;
        fn PyObject_GetAttr(PyPtr, PyPtr) -> PyPtr;
        fn PyObject_GetAttrString(PyPtr, *const c_char) -> PyPtr;
        fn PyObject_SetAttrString(PyPtr, *const c_char, PyPtr) -> c_int;
        fn PyObject_HasAttrString(PyPtr, *const c_char) -> c_int;
        fn PyObject_IsTrue(PyPtr) -> c_int;
        fn PyObject_IsInstance(PyPtr, PyPtr) -> c_int;
        fn PyObject_Dir(PyPtr) -> PyPtr;
        fn PyObject_GetIter(PyPtr) -> PyPtr;
        fn PyObject_RichCompareBool(PyPtr, PyPtr, c_int) -> c_int;
        fn PyType_GetFlags(PyPtr) -> c_ulong;
        fn PyType_IsSubtype(PyPtr, PyPtr) -> c_int;
        fn PyType_FromSpec(*mut PyType_Spec) -> PyPtr;
        fn PyType_GenericAlloc(PyPtr, isize) -> PyPtr;
        fn PyType_GetSlot(PyPtr, c_int) -> *mut c_void;
        fn PyObject_GC_UnTrack(*mut c_void);
        fn PyObject_GenericGetAttr(PyPtr, PyPtr) -> PyPtr;
        fn PyCallable_Check(PyPtr) -> c_int;
        fn PyIter_Next(PyPtr) -> PyPtr;
    }
    "abstract.h" {
        fn PyObject_Call(PyPtr, PyPtr, PyPtr) -> PyPtr;
        fn PyObject_CallObject(PyPtr, PyPtr) -> PyPtr;
        fn PyObject_GetBuffer(PyPtr, *mut PyBuffer, c_int) -> c_int;
        fn PyBuffer_Release(*mut PyBuffer);
        fn PyNumber_Index(PyPtr) -> PyPtr;
        fn PySequence_Check(PyPtr) -> c_int;
        fn PySequence_List(PyPtr) -> PyPtr;
    }
    "longobject.h / floatobject.h / boolobject.h" {
        fn PyLong_FromLongLong(c_longlong) -> PyPtr;
        fn PyLong_AsLongLongAndOverflow(PyPtr, *mut c_int) -> c_longlong;
        fn PyLong_FromString(*const c_char, *mut *mut c_char, c_int) -> PyPtr;
        fn PyLong_FromDouble(c_double) -> PyPtr;
        fn PyLong_FromLong(c_long) -> PyPtr;
        fn PyFloat_FromDouble(c_double) -> PyPtr;
        fn PyFloat_AsDouble(PyPtr) -> c_double;
        fn PyBool_FromLong(c_long) -> PyPtr;
        fn PyNumber_ToBase(PyPtr, c_int) -> PyPtr;
    }
    "unicodeobject.h" {
        fn PyUnicode_FromStringAndSize(*const c_char, isize) -> PyPtr;
        fn PyUnicode_FromString(*const c_char) -> PyPtr;
        fn PyUnicode_AsUTF8AndSize(PyPtr, *mut isize) -> *const c_char;
        fn PyUnicode_DecodeUTF16(*const c_char, isize, *const c_char, *mut c_int) -> PyPtr;
        fn PyUnicode_New(isize, u32) -> PyPtr;
        fn PyUnicode_FromKindAndData(c_int, *const c_void, isize) -> PyPtr;
        fn PyUnicode_AsEncodedString(PyPtr, *const c_char, *const c_char) -> PyPtr;
        fn PyUnicode_InternFromString(*const c_char) -> PyPtr;
        fn PyUnicode_InternInPlace(*mut PyPtr);
        fn PyUnicode_GetLength(PyPtr) -> isize;
        fn PyUnicode_Compare(PyPtr, PyPtr) -> c_int;
    }
    "bytesobject.h / bytearrayobject.h / memoryobject.h" {
        fn PyBytes_FromStringAndSize(*const c_char, isize) -> PyPtr;
        fn PyBytes_AsStringAndSize(PyPtr, *mut *mut c_char, *mut isize) -> c_int;
        fn PyByteArray_AsString(PyPtr) -> *mut c_char;
        fn PyByteArray_Size(PyPtr) -> isize;
        fn PyByteArray_FromStringAndSize(*const c_char, isize) -> PyPtr;
        fn PyMemoryView_FromObject(PyPtr) -> PyPtr;
    }
    "listobject.h / tupleobject.h / dictobject.h / setobject.h" {
        fn PyList_New(isize) -> PyPtr;
        fn PyList_Size(PyPtr) -> isize;
        fn PyList_GetItem(PyPtr, isize) -> PyPtr;
        fn PyList_SetItem(PyPtr, isize, PyPtr) -> c_int;
        fn PyList_Append(PyPtr, PyPtr) -> c_int;
        fn PyTuple_New(isize) -> PyPtr;
        fn PyTuple_Size(PyPtr) -> isize;
        fn PyTuple_GetItem(PyPtr, isize) -> PyPtr;
        fn PyTuple_SetItem(PyPtr, isize, PyPtr) -> c_int;
        fn PyDict_New() -> PyPtr;
        fn PyDict_Size(PyPtr) -> isize;
        fn PyDict_SetItem(PyPtr, PyPtr, PyPtr) -> c_int;
        fn PyDict_SetItemString(PyPtr, *const c_char, PyPtr) -> c_int;
        fn PyDict_GetItemString(PyPtr, *const c_char) -> PyPtr;
        fn PyDict_GetItemWithError(PyPtr, PyPtr) -> PyPtr;
        fn PyDict_DelItemString(PyPtr, *const c_char) -> c_int;
        fn PyDict_Next(PyPtr, *mut isize, *mut PyPtr, *mut PyPtr) -> c_int;
        fn PyDict_Copy(PyPtr) -> PyPtr;
        fn PyDict_Update(PyPtr, PyPtr) -> c_int;
        fn PySet_New(PyPtr) -> PyPtr;
        fn PySet_Add(PyPtr, PyPtr) -> c_int;
        fn PySet_Size(PyPtr) -> isize;
    }
    "pyerrors.h" {
        fn PyErr_Occurred() -> PyPtr;
        fn PyErr_Fetch(*mut PyPtr, *mut PyPtr, *mut PyPtr);
        fn PyErr_Restore(PyPtr, PyPtr, PyPtr);
        fn PyErr_NormalizeException(*mut PyPtr, *mut PyPtr, *mut PyPtr);
        fn PyErr_SetString(PyPtr, *const c_char);
        fn PyErr_SetObject(PyPtr, PyPtr);
        fn PyErr_Clear();
        fn PyErr_ExceptionMatches(PyPtr) -> c_int;
        fn PyErr_GivenExceptionMatches(PyPtr, PyPtr) -> c_int;
        fn PyErr_NewException(*const c_char, PyPtr, PyPtr) -> PyPtr;
        fn PyException_SetTraceback(PyPtr, PyPtr) -> c_int;
    }
    "import.h / moduleobject.h / methodobject.h / pycapsule.h" {
        fn PyImport_ImportModule(*const c_char) -> PyPtr;
        fn PyImport_ImportModuleLevel(*const c_char, PyPtr, PyPtr, PyPtr, c_int) -> PyPtr;
        fn PyImport_AddModule(*const c_char) -> PyPtr;
        fn PyImport_ReloadModule(PyPtr) -> PyPtr;
        fn PyModule_GetDict(PyPtr) -> PyPtr;
        fn PyModule_New(*const c_char) -> PyPtr;
        fn PySys_GetObject(*const c_char) -> PyPtr;
        fn PyCFunction_NewEx(*mut PyMethodDef, PyPtr, PyPtr) -> PyPtr;
        fn PyCapsule_New(*mut c_void, *const c_char, Option<unsafe extern "C" fn(PyPtr)>) -> PyPtr;
        fn PyCapsule_GetPointer(PyPtr, *const c_char) -> *mut c_void;
    }
    optional {
        // 3.12+: replaces PyErr_Fetch + PyErr_NormalizeException.
        fn PyErr_GetRaisedException() -> PyPtr;
        fn PyErr_SetRaisedException(PyPtr);
        // Deprecated since 3.11 (PEP 741's init config replaces them on 3.14+).
        fn Py_SetProgramName(*const WChar);
        fn Py_SetPythonHome(*const WChar);
        // 3.14+ (PEP 741): initialisation from an opaque config, options set by name.
        fn PyInitConfig_Create() -> *mut c_void;
        fn PyInitConfig_Free(*mut c_void);
        fn PyInitConfig_GetError(*mut c_void, *mut *const c_char) -> c_int;
        fn PyInitConfig_SetInt(*mut c_void, *const c_char, i64) -> c_int;
        fn PyInitConfig_SetStr(*mut c_void, *const c_char, *const c_char) -> c_int;
        fn Py_InitializeFromInitConfig(*mut c_void) -> c_int;
        // 3.9+: the vectorcall protocol's public entries (arguments in an array, no tuple).
        fn PyObject_Vectorcall(PyPtr, *const PyPtr, usize, PyPtr) -> PyPtr;
        fn PyObject_VectorcallMethod(PyPtr, *const PyPtr, usize, PyPtr) -> PyPtr;
        // 3.10+: switch the cyclic GC off while a large conversion allocates containers.
        fn PyGC_Disable() -> c_int;
        fn PyGC_Enable() -> c_int;
        // 3.12+: sub-interpreters with their own GIL.
        fn Py_NewInterpreterFromConfig(*mut *mut PyThreadState, *const c_void) -> PyStatus;
        fn PyThreadState_GetInterpreter(*mut PyThreadState) -> *mut PyInterpreterState;
        fn PyInterpreterState_Get() -> *mut PyInterpreterState;
        fn PyInterpreterState_GetID(*mut PyInterpreterState) -> i64;
        // 3.13+ (public), 3.8–3.12 (private): CPython has begun finalizing.
        fn Py_IsFinalizing() -> c_int;
        fn _Py_IsFinalizing() -> c_int;
        // Present only in free-threaded builds (3.13t+): how the library tells it is one.
        fn _Py_DecRefShared(PyPtr);
        // 3.13+: a per-object lock (a no-op with a GIL), for reading borrowed items of a
        // container other threads may change at the same time on a free-threaded build.
        fn PyCriticalSection_Begin(*mut c_void, PyPtr);
        fn PyCriticalSection_End(*mut c_void);
    }
    objects {
        _Py_NoneStruct, _Py_TrueStruct, _Py_FalseStruct,
        PyLong_Type, PyFloat_Type, PyBool_Type, PyUnicode_Type, PyBytes_Type, PyByteArray_Type,
        PyList_Type, PyTuple_Type, PyDict_Type, PySet_Type, PyFrozenSet_Type, PyMemoryView_Type,
    }
    exceptions {
        PyExc_BaseException, PyExc_Exception, PyExc_TypeError, PyExc_ValueError,
        PyExc_RuntimeError, PyExc_OverflowError, PyExc_RecursionError, PyExc_UnicodeEncodeError,
        PyExc_SystemExit, PyExc_KeyboardInterrupt, PyExc_StopIteration, PyExc_AttributeError,
    }
}

// SAFETY: the table is written once before it is shared and never mutated; the data pointers
// are addresses of process-wide CPython statics, valid on every thread.
unsafe impl Send for PyApi {}
// SAFETY: as above.
unsafe impl Sync for PyApi {}

static API: OnceCell<PyApi> = OnceCell::new();

/// The loaded table. Callers only reach this after `runtime` has loaded a library; before that
/// it is a bug, reported as a panic that the boundary turns into a JS `Error`.
#[inline(always)]
pub fn api() -> &'static PyApi {
    match API.get() {
        Some(api) => api,
        None => panic!("python-ts: CPython used before a runtime was loaded"),
    }
}

/// Whether a library has been loaded into this process.
pub fn is_loaded() -> bool {
    API.get().is_some()
}

/// Opens `path` (`sys::os::open_runtime`: RTLD_NOW | RTLD_GLOBAL on unix) and resolves the table. Once only per process: a second
/// call with any path returns the first table (the caller checks that the paths agree).
pub fn load(path: &std::path::Path) -> Result<&'static PyApi, String> {
    API.get_or_try_init(|| {
        // SAFETY: opening a shared library runs its initialisers; libpython's are benign. The
        // library is leaked: it must stay mapped for the life of the process (one per process).
        let lib = unsafe { super::os::open_runtime(path) }
            .map_err(|e| format!("cannot load {}: {}", path.display(), loader_reason(&e)))?;
        let lib: &'static Library = Box::leak(Box::new(lib));
        // SAFETY: discovery only hands us libraries named libpython3.X of a supported version.
        let api = unsafe { PyApi::load(lib) }?;
        set_free_threaded(api._Py_DecRefShared.is_some());
        Ok(api)
    })
}

/// The loader's own reason (`version 'GLIBC_2.38' not found`, a missing file): libloading's
/// message is only "dlopen failed", with the reason as its source.
fn loader_reason(e: &libloading::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(reason) => format!("{e}: {reason}"),
        None => e.to_string(),
    }
}
