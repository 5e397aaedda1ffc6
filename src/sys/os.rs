//! What differs per operating system, each OS in its own module: which thread is the process's
//! main one, whether an OS thread still runs, whether a file is an executable, and opening a
//! shared library (the CPython runtime, or the host process itself) for symbol lookup. Nothing
//! outside this module names an OS-specific API.

#[cfg(unix)]
pub use unix::*;
#[cfg(windows)]
pub use windows::*;

/// A shared library opened for symbol lookup (`get`), as libloading gives it on this OS.
#[cfg(unix)]
pub type Library = libloading::os::unix::Library;
/// A shared library opened for symbol lookup (`get`), as libloading gives it on this OS.
#[cfg(windows)]
pub type Library = libloading::os::windows::Library;

#[cfg(unix)]
mod unix {
    use super::Library;
    use std::path::Path;

    /// Whether the calling thread is the process's main thread (Node's main JS thread, as
    /// opposed to a Worker's, whichever loaded the addon first).
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

    /// Whether the OS thread with this id (Python's `threading.get_native_id()`) still runs in
    /// this process. Where that cannot be asked (not Linux), every thread counts as alive.
    pub fn os_thread_alive(id: u64) -> bool {
        #[cfg(target_os = "linux")]
        {
            Path::new(&format!("/proc/self/task/{id}")).exists()
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = id;
            true
        }
    }

    /// A regular file with an execute bit.
    pub fn is_executable(p: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    }

    /// Open a CPython runtime `RTLD_NOW | RTLD_GLOBAL`, so that C extension modules (`_ssl`,
    /// numpy) find its `Py*` symbols in the process.
    ///
    /// # Safety
    /// Opening a library runs its initialisers.
    pub unsafe fn open_runtime(path: &Path) -> Result<Library, libloading::Error> {
        use libloading::os::unix::{RTLD_GLOBAL, RTLD_NOW};
        // SAFETY: the caller accepts running the library's initialisers.
        unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }
    }

    /// The host process's own symbols (N-API functions the host may or may not export).
    pub fn this_process() -> Library {
        Library::this()
    }

    /// Keep this library loaded until the process ends. Node unloads an addon when the env that
    /// alone loaded it ends (a Worker that required it, the main thread never did); threads that
    /// end after that still run thread-local destructors our code registered, which then
    /// pointed at unmapped code: SIGSEGV in `__nptl_deallocate_tsd` at a thread's end (a Worker
    /// terminated during an async call, 1 exit in 15–30 under load).
    pub fn pin_this_library() {
        use std::ffi::{c_char, c_int, c_void};
        #[repr(C)]
        struct DlInfo {
            fname: *const c_char,
            fbase: *mut c_void,
            sname: *const c_char,
            saddr: *mut c_void,
        }
        extern "C" {
            fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
            fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
        }
        // RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE
        #[cfg(target_vendor = "apple")]
        const FLAGS: c_int = 0x2 | 0x10 | 0x80;
        #[cfg(not(target_vendor = "apple"))]
        const FLAGS: c_int = 0x2 | 0x4 | 0x1000;
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let mut info = DlInfo {
                fname: std::ptr::null(),
                fbase: std::ptr::null_mut(),
                sname: std::ptr::null(),
                saddr: std::ptr::null_mut(),
            };
            // SAFETY: dladdr fills `info` for an address inside this library; dlopen of a
            // library already loaded (RTLD_NOLOAD) only takes a hold that is never given back.
            unsafe {
                if dladdr(pin_this_library as *const c_void, &mut info) != 0 && !info.fname.is_null() {
                    let _ = dlopen(info.fname, FLAGS);
                }
            }
        });
    }
}

#[cfg(windows)]
mod windows {
    use super::Library;
    use once_cell::sync::OnceCell;
    use std::ffi::c_void;
    use std::path::Path;

    type Handle = *mut c_void;

    #[repr(C)]
    #[allow(non_snake_case)]
    struct ThreadEntry32 {
        dwSize: u32,
        cntUsage: u32,
        th32ThreadID: u32,
        th32OwnerProcessID: u32,
        tpBasePri: i32,
        tpDeltaPri: i32,
        dwFlags: u32,
    }

    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct FileTime {
        low: u32,
        high: u32,
    }

    const TH32CS_SNAPTHREAD: u32 = 0x4;
    const THREAD_QUERY_LIMITED_INFORMATION: u32 = 0x0800;
    const STILL_ACTIVE: u32 = 259;

    #[link(name = "kernel32")]
    extern "system" {
        fn CreateToolhelp32Snapshot(flags: u32, pid: u32) -> Handle;
        fn Thread32First(snapshot: Handle, entry: *mut ThreadEntry32) -> i32;
        fn Thread32Next(snapshot: Handle, entry: *mut ThreadEntry32) -> i32;
        fn CloseHandle(h: Handle) -> i32;
        fn GetCurrentProcessId() -> u32;
        fn GetCurrentThreadId() -> u32;
        fn OpenThread(access: u32, inherit: i32, id: u32) -> Handle;
        fn GetThreadTimes(
            h: Handle,
            created: *mut FileTime,
            exited: *mut FileTime,
            kernel: *mut FileTime,
            user: *mut FileTime,
        ) -> i32;
        fn GetExitCodeThread(h: Handle, code: *mut u32) -> i32;
    }

    /// The creation time of a thread of this process, None if it cannot be opened.
    fn created(id: u32) -> Option<u64> {
        // SAFETY: OpenThread with a query-only right; the handle is closed below.
        let h = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, id) };
        if h.is_null() {
            return None;
        }
        let mut t = [FileTime::default(); 4];
        let [c, e, k, u] = &mut t;
        // SAFETY: `h` is an open thread handle; the four out-pointers are valid FILETIMEs.
        let ok = unsafe { GetThreadTimes(h, c, e, k, u) } != 0;
        // SAFETY: `h` was opened above and is closed once.
        unsafe { CloseHandle(h) };
        ok.then(|| (u64::from(t[0].high) << 32) | u64::from(t[0].low))
    }

    /// The id of the process's first thread: Windows has no "main thread" flag, so the thread
    /// of this process created first (the one that ran the executable's entry point, Node's
    /// main thread) — whichever thread loaded the addon.
    fn main_thread_id() -> Option<u32> {
        static MAIN: OnceCell<Option<u32>> = OnceCell::new();
        *MAIN.get_or_init(|| {
            // SAFETY: a thread snapshot of the whole system; closed below.
            let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
            if snap.is_null() || snap as isize == -1 {
                return None;
            }
            // SAFETY: a plain query.
            let pid = unsafe { GetCurrentProcessId() };
            let mut entry = ThreadEntry32 {
                dwSize: std::mem::size_of::<ThreadEntry32>() as u32,
                cntUsage: 0,
                th32ThreadID: 0,
                th32OwnerProcessID: 0,
                tpBasePri: 0,
                tpDeltaPri: 0,
                dwFlags: 0,
            };
            let mut best: Option<(u64, u32)> = None;
            // SAFETY: `snap` is a valid snapshot and `entry` has its size set, as Thread32First needs.
            let mut more = unsafe { Thread32First(snap, &mut entry) } != 0;
            while more {
                if entry.th32OwnerProcessID == pid {
                    if let Some(t) = created(entry.th32ThreadID) {
                        if best.is_none_or(|(b, _)| t < b) {
                            best = Some((t, entry.th32ThreadID));
                        }
                    }
                }
                // SAFETY: as above.
                more = unsafe { Thread32Next(snap, &mut entry) } != 0;
            }
            // SAFETY: opened above, closed once.
            unsafe { CloseHandle(snap) };
            best.map(|b| b.1)
        })
    }

    /// Whether the calling thread is the process's main thread (Node's main JS thread, as
    /// opposed to a Worker's, whichever loaded the addon first).
    pub fn is_process_main_thread() -> bool {
        // SAFETY: a plain query.
        let me = unsafe { GetCurrentThreadId() };
        main_thread_id().is_none_or(|m| m == me)
    }

    /// Whether the OS thread with this id (Python's `threading.get_native_id()`) still runs.
    pub fn os_thread_alive(id: u64) -> bool {
        let Ok(id) = u32::try_from(id) else { return false };
        // SAFETY: OpenThread with a query-only right; the handle is closed below.
        let h = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, id) };
        if h.is_null() {
            return false;
        }
        let mut code = 0u32;
        // SAFETY: `h` is an open thread handle and `code` a valid out-pointer.
        let ok = unsafe { GetExitCodeThread(h, &mut code) } != 0;
        // SAFETY: opened above, closed once.
        unsafe { CloseHandle(h) };
        !ok || code == STILL_ACTIVE
    }

    /// A regular file named `*.exe` (Windows has no execute bit).
    pub fn is_executable(p: &Path) -> bool {
        std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
            && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("exe"))
    }

    /// Open a CPython runtime (`python3X.dll`) with its own folder searched for the DLLs it
    /// needs (`vcruntime140.dll` beside it). Extension modules import `python3X.dll` by name and
    /// get this one, already loaded.
    ///
    /// # Safety
    /// Opening a library runs its initialisers.
    pub unsafe fn open_runtime(path: &Path) -> Result<Library, libloading::Error> {
        use libloading::os::windows::LOAD_WITH_ALTERED_SEARCH_PATH;
        // SAFETY: the caller accepts running the library's initialisers.
        unsafe { Library::load_with_flags(path, LOAD_WITH_ALTERED_SEARCH_PATH) }
    }

    /// The host process's own symbols (node.exe's N-API functions).
    pub fn this_process() -> Library {
        Library::this().expect("the process's own module handle")
    }

    /// Keeping the library loaded (unix): not done on Windows yet.
    pub fn pin_this_library() {}
}
