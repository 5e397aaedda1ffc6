//! The embedded interpreter's life: which CPython (`discover`), start-up and shutdown
//! (`lifecycle`), thread states (`attach`) and the GIL token (`gil`), contexts (`context`), references (`refs`) and the shared
//! object operations and error reading built on them.

pub mod attach;
pub mod context;
pub mod discover;
pub mod errors;
pub mod executor;
pub mod lifecycle;
pub mod pyobject;
pub mod refs;
pub mod support;
