//! The only place raw FFI is called: N-API (`napi`) and the CPython pointer table (`python`).

pub mod napi;
pub mod os;
pub mod python;
pub mod trace;

pub use os::{is_process_main_thread, os_thread_alive};
