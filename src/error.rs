//! The one error type of the addon and its conversion into a thrown JS value.
//!
//! Variants say where a failure came from. `Python` carries what JS needs to build a
//! `PythonError`; `JsPending` means a JS exception is already pending in the env (a throwing
//! getter, a Proxy trap, a JS callback) and must be left for JS to see unchanged.

/// A Python exception, read while the GIL was held and detached from Python objects.
#[derive(Debug, Clone)]
pub struct PyErrInfo {
    /// `type(e).__name__`
    pub name: String,
    /// `"{name}: {str(e)}"`
    pub message: String,
    /// Python's own formatting, chained causes included.
    pub traceback: String,
    /// `"{module}.{qualname}"`, or the bare name for builtins.
    pub py_type: String,
    /// When the exception wraps a JS error that crossed into Python, the id of that JS error
    /// (kept alive by the env), so JS gets its original error object back.
    pub js_error: Option<u64>,
    /// The exception object itself (for `PythonError#pyException`), released when the last
    /// copy of the error is dropped.
    pub exc: Option<std::sync::Arc<dyn Held>>,
}

/// A Python object kept beyond the GIL by a value that travels between threads (an error on its
/// way to JS): `runtime::refs::Kept` is the one kind; this module names it without depending on
/// the runtime (it is the leaf every layer uses).
pub trait Held: std::fmt::Debug + Send + Sync + std::any::Any {
    /// The context (interpreter) of the object; 0 for the main one.
    fn context(&self) -> u64;
    /// For downcasting to the runtime's type.
    fn as_any(&self) -> &dyn std::any::Any;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong argument type (a JS `TypeError`).
    #[error("{0}")]
    Type(String),
    /// A limit passed (a JS `RangeError`): conversion depth.
    #[error("{0}")]
    Range(String),
    /// A plain `Error` with a message: forged or stale handles, misuse.
    #[error("{0}")]
    Generic(String),
    /// A Python value with no JS form, or the reverse.
    #[error("{0}")]
    Conversion(String),
    /// Runtime not found, wrong version, finalized, refused re-init.
    #[error("{0}")]
    Runtime(String),
    /// An N-API call failed without a pending exception.
    #[error("python-ts: N-API {call} failed with status {status}")]
    Napi { call: &'static str, status: i32 },
    /// A JS exception is pending in the env.
    #[error("a JavaScript exception is pending")]
    JsPending,
    /// A Python exception.
    #[error("{}", .0.message)]
    Python(Box<PyErrInfo>),
    /// A Rust panic caught at the boundary.
    #[error("python-ts internal error (panic): {0}")]
    Panic(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn type_error(msg: impl Into<String>) -> Self {
        Error::Type(msg.into())
    }
}
