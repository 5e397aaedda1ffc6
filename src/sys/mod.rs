//! The only place raw FFI is called: N-API (`napi`) and the CPython pointer table (`python`).

pub mod napi;
pub mod python;
pub mod trace;

/// Whether the calling thread is the process's main thread (Node's main JS thread, as opposed
/// to a Worker's).
pub fn is_process_main_thread() -> bool {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn getpid() -> i32;
            fn gettid() -> i32;
        }
        // SAFETY: both are plain libc queries with no preconditions.
        unsafe { getpid() == gettid() }
    }
    #[cfg(not(target_os = "linux"))]
    {
        extern "C" {
            fn pthread_main_np() -> i32;
        }
        // SAFETY: a plain libc query with no preconditions.
        unsafe { pthread_main_np() != 0 }
    }
}

/// Whether the OS thread with this id (Python's `threading.get_native_id()`) still runs in this
/// process. Where that cannot be asked (not Linux), every thread counts as alive.
pub fn os_thread_alive(id: u64) -> bool {
    #[cfg(target_os = "linux")]
    {
        std::path::Path::new(&format!("/proc/self/task/{id}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = id;
        true
    }
}
