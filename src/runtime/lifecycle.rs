//! The embedded interpreter's life: Uninit → Running → Finalizing → Finalized (→ Running again
//! where re-init is safe).
//!
//! Python is initialised and finalised on a thread the library owns for the life of the
//! process (`python-ts-main`), never on the JS thread or a Worker's. Then Python's main thread
//! is not Node's: `signal.signal()` in user code raises `ValueError` instead of replacing Node's
//! SIGINT handler, and a Worker that happened to trigger init can end without finalization
//! later hanging on a thread that is gone. `Py_InitializeEx(0)`: Python installs no signal
//! handlers. That thread releases the GIL right after init, so Python threads started by user
//! code run between calls.
//!
//! Every call into Python holds an `Active` guard: `_destroy_python` waits for the count to
//! reach zero before finalizing, so no thread is inside the interpreter when it ends. Locks of
//! this module are never held while calling into Python from a JS thread.

use crate::error::{Error, Result};
use crate::runtime::attach;
use crate::runtime::discover::{self, RuntimeInfo};
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::{self, api};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

const UNINIT: u8 = 0;
const RUNNING: u8 = 1;
const FINALIZING: u8 = 2;
const FINALIZED: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static GENERATION: AtomicU64 = AtomicU64::new(0);
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

struct Control {
    runtime_path: Option<PathBuf>,
    plugins_path: Option<PathBuf>,
    info: Option<RuntimeInfo>,
    thread: Option<Sender<Command>>,
    /// OS thread ids of the daemon threads alive when the runtime was last finalized. CPython
    /// stops such a thread only when it next wants the GIL; one still asleep (`time.sleep`) when
    /// Python starts again would take the new GIL with its dead thread state (a segfault,
    /// measured). So Python starts again only once all of them are gone.
    daemons_at_finalize: Vec<u64>,
}

static CONTROL: Mutex<Control> = Mutex::new(Control {
    runtime_path: None,
    plugins_path: None,
    info: None,
    thread: None,
    daemons_at_finalize: Vec::new(),
});

enum Command {
    Init(RuntimeInfo, Option<PathBuf>, Sender<Result<()>>),
    /// At process exit, before finalizing: end Python's threads as `python` does, within a time.
    ExitThreads(std::time::Duration, Sender<Result<bool>>),
    Finalize(Sender<Result<()>>),
}

/// The current interpreter generation (bumped by every init); 0 before the first.
#[inline]
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Which C API initialised the running interpreter: PEP 741's config (3.14+) or the legacy calls.
static INIT_API: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn init_kind() -> &'static str {
    if INIT_API.load(Ordering::Acquire) {
        "PyInitConfig"
    } else {
        "Py_InitializeEx"
    }
}

pub fn is_running() -> bool {
    STATE.load(Ordering::Acquire) == RUNNING
}

/// Whether `_destroy_python` (or the exit hook) is ending the interpreter right now: the JS
/// thread is then blocked waiting for finalization, so nothing may wait for it.
pub fn is_finalizing() -> bool {
    STATE.load(Ordering::Acquire) == FINALIZING
}

/// Whether CPython itself has begun finalizing (`Py_IsFinalizing`). From then on a thread that
/// takes the GIL is ended with `pthread_exit`, a forced unwind that aborts the process when it
/// crosses our frames ("FATAL: exception not rethrown").
pub fn python_is_finalizing() -> bool {
    let api = crate::sys::python::api();
    match (api.Py_IsFinalizing, api._Py_IsFinalizing) {
        // SAFETY: no arguments; reads a runtime flag, callable without the GIL.
        (Some(f), _) | (None, Some(f)) => unsafe { f() != 0 },
        (None, None) => false,
    }
}

/// The runtime that is (or was) loaded.
pub fn info() -> Option<RuntimeInfo> {
    CONTROL.lock().ok()?.info.clone()
}

/// Proof that the interpreter stays up while it lives: taken for every call into Python.
pub struct Active(());

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Enter the runtime for one call, initialising it first if needed (as every clib function
/// does).
#[inline]
pub fn enter() -> Result<Active> {
    loop {
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        let state = STATE.load(Ordering::Acquire);
        if state == RUNNING {
            return Ok(Active(()));
        }
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
        match state {
            FINALIZING => return Err(Error::Runtime("python-ts: the Python runtime is shutting down".into())),
            _ => {
                init_python()?;
            }
        }
    }
}

/// Enter only if already running (for finalizers and views that must not start Python).
pub fn enter_if_running() -> Option<Active> {
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    if STATE.load(Ordering::Acquire) == RUNNING {
        Some(Active(()))
    } else {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
        None
    }
}

/// Choose the runtime by path (before or after init). After init, only the same library is
/// accepted: one libpython per process.
pub fn set_runtime_path(path: Option<PathBuf>) -> Result<()> {
    let loaded = {
        let c = lock()?;
        c.info.clone().filter(|_| python::is_loaded())
    };
    if let (Some(loaded), Some(p)) = (&loaded, &path) {
        let wanted = discover::resolve(Some(p))?;
        if wanted.library != loaded.library {
            return Err(Error::Runtime(format!(
                "python-ts: one libpython per process: {} is already loaded, cannot switch to {}",
                loaded.library.display(),
                wanted.library.display()
            )));
        }
        // Another venv over the same library: its packages would silently be missing.
        if let (Some(a), Some(b)) = (&loaded.executable, &wanted.executable) {
            if discover::venv_of(a) != discover::venv_of(b) {
                return Err(Error::Runtime(format!(
                    "python-ts: one Python per process: {} is running, cannot switch to {}",
                    a.display(),
                    b.display()
                )));
            }
        }
    }
    lock()?.runtime_path = path;
    Ok(())
}

/// Put `dir` first on `sys.path` now (if running) and after every init.
pub fn set_plugins_path(dir: Option<PathBuf>) -> Result<()> {
    lock()?.plugins_path = dir.clone();
    if let (Some(dir), Some(_active)) = (dir, enter_if_running()) {
        attach::with_gil(|gil| prepend_sys_path(gil, &dir.to_string_lossy()))?;
    }
    Ok(())
}

/// `sys.path`: move or insert `dir` at the front.
pub fn prepend_sys_path(gil: Gil<'_>, dir: &str) -> Result<()> {
    let add = crate::runtime::support::attr(gil, "add_syspath")?;
    let d = objects::py_str(gil, dir)?;
    objects::call_with(gil, add.borrow(), &[d.borrow()])?;
    Ok(())
}

fn lock() -> Result<std::sync::MutexGuard<'static, Control>> {
    CONTROL.lock().map_err(|_| Error::Runtime("python-ts: runtime state poisoned by an earlier panic".into()))
}

/// Start Python if it isn't running. Idempotent; safe to race from several Workers.
pub fn init_python() -> Result<bool> {
    if is_running() {
        return Ok(true);
    }
    let mut c = lock()?;
    if is_running() {
        return Ok(true);
    }
    let state = STATE.load(Ordering::Acquire);
    let info = match (&c.info, python::is_loaded()) {
        (Some(info), true) => info.clone(),
        _ => discover::resolve(c.runtime_path.as_deref())?,
    };
    if state == FINALIZED {
        reinit_allowed(info.version)?;
        c.daemons_at_finalize.retain(|&id| crate::sys::os_thread_alive(id));
        if !c.daemons_at_finalize.is_empty() {
            return Err(Error::Runtime(format!(
                "python-ts: cannot start Python again while {} daemon thread(s) of the destroyed runtime are still \
                 alive (CPython ends them when they next run); start it after they end, or end them before \
                 _destroy_python()",
                c.daemons_at_finalize.len()
            )));
        }
    }
    python::load(&info.library).map_err(|e| Error::Runtime(format!("python-ts: {} ({})", e, info.source)))?;
    // Failures of the object layer are read (with their traceback) by the runtime's reader.
    python::object::set_runtime_hooks(crate::runtime::errors::fetch, generation);
    c.info = Some(info.clone());
    let tx = match &c.thread {
        Some(tx) => tx.clone(),
        None => {
            let tx = spawn_library_thread()?;
            c.thread = Some(tx.clone());
            tx
        }
    };
    let (reply_tx, reply_rx) = channel();
    tx.send(Command::Init(info, c.plugins_path.clone(), reply_tx))
        .map_err(|_| Error::Runtime("python-ts: the Python thread is gone".into()))?;
    reply_rx.recv().map_err(|_| Error::Runtime("python-ts: the Python thread is gone".into()))??;
    GENERATION.fetch_add(1, Ordering::AcqRel);
    STATE.store(RUNNING, Ordering::Release);
    Ok(true)
}

/// Versions where `Py_FinalizeEx` followed by `Py_InitializeEx` is known to crash once common
/// C extension modules were imported (docs/runtime.md lists the measurements).
fn reinit_allowed(version: (u32, u32, u32)) -> Result<()> {
    if REINIT_REFUSED.iter().any(|&(a, b)| (version.0, version.1) == (a, b)) {
        return Err(Error::Runtime(format!(
            "python-ts: re-initialising CPython {}.{} after _destroy_python() is not safe (measured: 3.12 crashes \
             once modules such as ssl, decimal or asyncio were imported; 3.15 hangs in the next call); \
             restart the process instead",
            version.0, version.1
        )));
    }
    Ok(())
}

/// (major, minor) pairs whose finalize → init cycle is refused.
/// 3.12: crashes after ssl/decimal/asyncio were imported. 3.15 (3.15.2): the next call after
/// re-init waits forever in `PyGILState_Ensure` (measured).
pub const REINIT_REFUSED: &[(u32, u32)] = &[(3, 12), (3, 15)];

/// End the interpreter. Refused inside a Python call, while calls are in flight elsewhere (after
/// waiting a little), or while non-daemon Python threads run (finalize would wait for them).
pub fn destroy_python() -> Result<bool> {
    end(false)
}

/// How long the exit waits for Python's non-daemon threads (and the executors shut down at
/// exit) before it lets the process go without finalizing: 1 s, or `PYTHON_TS_EXIT_WAIT_MS`.
fn exit_wait() -> std::time::Duration {
    let ms = std::env::var("PYTHON_TS_EXIT_WAIT_MS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(1000);
    std::time::Duration::from_millis(ms)
}

/// How long the process exit waits for the Python thread to answer (its exit hooks, atexit
/// handlers, Py_FinalizeEx) before the process goes without it: 10 s, or
/// `PYTHON_TS_EXIT_FINALIZE_MS`. A handler that never returns (a child process that never ends,
/// a lock held by a thread that was stopped) would otherwise keep node from exiting for ever.
fn exit_finalize_wait() -> std::time::Duration {
    let ms = std::env::var("PYTHON_TS_EXIT_FINALIZE_MS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(10_000);
    std::time::Duration::from_millis(ms)
}

/// The Python thread's answer: at exit within `exit_wait() + exit_finalize_wait()` (None when it
/// did not come: the process then exits without it), otherwise waited for.
fn answer<T>(rx: &std::sync::mpsc::Receiver<T>, at_exit: bool) -> Option<T> {
    if !at_exit {
        return rx.recv().ok();
    }
    let bound = exit_wait() + exit_finalize_wait();
    match rx.recv_timeout(bound) {
        Ok(v) => Some(v),
        Err(_) => {
            eprintln!(
                "python-ts: Python did not finish ending within {} ms at exit (an atexit handler or a \
                 thread it waits for is still running); the process exits without it",
                bound.as_millis()
            );
            None
        }
    }
}

/// `_destroy_python()` (`at_exit` false), or the end at process exit.
fn end(at_exit: bool) -> Result<bool> {
    if attach::depth() > 0 {
        return Err(Error::Generic("python-ts: _destroy_python() cannot run inside a call into Python".into()));
    }
    let mut c = lock()?;
    if STATE.compare_exchange(RUNNING, FINALIZING, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return Ok(false);
    }
    let undo = |e: Error| {
        STATE.store(RUNNING, Ordering::Release);
        Err(e)
    };
    // Refused at once: an async call's result is delivered on this very thread, so waiting for
    // it here blocked the JS thread (for 5 s, before a refusal all the same).
    let active = ACTIVE.load(Ordering::Acquire);
    if active > 0 {
        return undo(Error::Generic(format!(
            "python-ts: cannot destroy Python while {active} call(s) are in flight (async calls included); \
             destroy it after they settle"
        )));
    }
    if at_exit {
        // What `python` does before it finalizes (threading._shutdown): executors registered
        // with threading's exit hooks shut down — and with them the worker processes of a
        // ProcessPoolExecutor, which otherwise outlived node with parent 1 — and non-daemon
        // threads are waited for, here within `exit_wait()`. Threads still running then: the
        // process goes without finalizing (atexit handlers were run by `exit_threads`).
        let tx = c.thread.clone().ok_or_else(|| Error::Runtime("python-ts: no Python thread".into()))?;
        let (reply_tx, reply_rx) = channel();
        tx.send(Command::ExitThreads(exit_wait(), reply_tx))
            .map_err(|_| Error::Runtime("python-ts: the Python thread is gone".into()))?;
        match answer(&reply_rx, true) {
            Some(Ok(true)) => {}
            _ => return Ok(false),
        }
    }
    // No one else is inside: check for threads that Py_FinalizeEx would wait for.
    let threads = attach::with_gil(live_non_daemon_threads);
    let daemons = match &threads {
        Ok(t) if t.is_empty() => attach::with_gil(daemon_thread_ids),
        _ => Ok(Vec::new()),
    };
    match threads {
        Ok(names) if !names.is_empty() => {
            return undo(Error::Generic(format!(
                "python-ts: cannot destroy Python while non-daemon Python threads are running: {}",
                names.join(", ")
            )))
        }
        Err(e) => return undo(e),
        Ok(_) => {}
    }
    let daemons = match daemons {
        Ok(d) => d,
        Err(e) => return undo(e),
    };
    if let Err(e) = crate::runtime::context::end_all() {
        return undo(e);
    }
    let tx = c.thread.clone().ok_or_else(|| Error::Runtime("python-ts: no Python thread".into()))?;
    let (reply_tx, reply_rx) = channel();
    tx.send(Command::Finalize(reply_tx)).map_err(|_| Error::Runtime("python-ts: the Python thread is gone".into()))?;
    let r = answer(&reply_rx, at_exit)
        .ok_or_else(|| Error::Runtime("python-ts: the Python thread did not answer".into()))?;
    c.daemons_at_finalize = daemons;
    STATE.store(FINALIZED, Ordering::Release);
    r.map(|_| true)
}

/// At process exit (main thread): finalize when nothing is in flight and no non-daemon Python
/// thread runs, so atexit handlers run and output is flushed; otherwise let the process go
/// without waiting for Python.
pub fn at_exit() {
    if !is_running() || ACTIVE.load(Ordering::Acquire) > 0 || attach::depth() > 0 {
        return;
    }
    let _ = end(true);
}

fn live_non_daemon_threads(gil: Gil<'_>) -> Result<Vec<String>> {
    crate::runtime::support::live_threads(gil, false)
}

/// The OS thread ids of the daemon threads alive now, after this interpreter's asyncio loop
/// thread (ours) was stopped.
fn daemon_thread_ids(gil: Gil<'_>) -> Result<Vec<u64>> {
    let stop = crate::runtime::support::attr(gil, "shutdown_loop")?;
    objects::call_with(gil, stop.borrow(), &[])?;
    let f = crate::runtime::support::attr(gil, "daemon_thread_ids")?;
    let ids = objects::call_with(gil, f.borrow(), &[])?;
    Ok(objects::str_list(gil, ids.borrow())?.iter().filter_map(|s| s.parse().ok()).collect())
}

fn spawn_library_thread() -> Result<Sender<Command>> {
    let (tx, rx) = channel::<Command>();
    std::thread::Builder::new()
        .name("python-ts-main".into())
        // It runs atexit handlers at finalization: give it a main-thread-sized stack too.
        .stack_size(8 << 20)
        .spawn(move || {
            // The main thread state of the interpreter, kept here between init and finalize.
            let mut main_tstate: usize = 0;
            for cmd in rx {
                match cmd {
                    Command::Init(info, plugins, reply) => {
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            do_init(&info, plugins.as_deref(), &mut main_tstate)
                        }))
                        .unwrap_or_else(|_| Err(Error::Panic("Python initialisation panicked".into())));
                        let _ = reply.send(r);
                    }
                    Command::ExitThreads(wait, reply) => {
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            do_exit_threads(main_tstate, wait)
                        }))
                        .unwrap_or_else(|_| Err(Error::Panic("ending Python's threads panicked".into())));
                        let _ = reply.send(r);
                    }
                    Command::Finalize(reply) => {
                        let r =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| do_finalize(&mut main_tstate)))
                                .unwrap_or_else(|_| Err(Error::Panic("Python finalization panicked".into())));
                        let _ = reply.send(r);
                    }
                }
            }
        })
        .map_err(|e| Error::Runtime(format!("python-ts: cannot start the Python thread: {e}")))?;
    Ok(tx)
}

/// A wide string for `Py_SetProgramName`/`Py_SetPythonHome`. CPython keeps the pointer, so it is
/// leaked (a few bytes per init).
fn wide(s: &std::path::Path) -> Result<*const python::WChar> {
    let c = objects::cstr(&s.to_string_lossy())?;
    // SAFETY: pre-init call allowed by CPython; returns a PyMem_RawMalloc'd string or NULL.
    let w = unsafe { (api().Py_DecodeLocale)(c.as_ptr(), std::ptr::null_mut()) };
    if w.is_null() {
        return Err(Error::Runtime(format!("python-ts: cannot decode path {}", s.display())));
    }
    Ok(w)
}

/// PEP 741's initialisation API (CPython 3.14+), which replaces `Py_SetProgramName` /
/// `Py_SetPythonHome` + `Py_InitializeEx`. `PYTHON_TS_INIT=legacy` asks for the old calls where the
/// runtime still has them (to compare the two).
struct InitConfig {
    create: unsafe extern "C" fn() -> *mut std::ffi::c_void,
    free: unsafe extern "C" fn(*mut std::ffi::c_void),
    get_error: unsafe extern "C" fn(*mut std::ffi::c_void, *mut *const std::ffi::c_char) -> std::ffi::c_int,
    set_int: unsafe extern "C" fn(*mut std::ffi::c_void, *const std::ffi::c_char, i64) -> std::ffi::c_int,
    set_str: unsafe extern "C" fn(
        *mut std::ffi::c_void,
        *const std::ffi::c_char,
        *const std::ffi::c_char,
    ) -> std::ffi::c_int,
    init: unsafe extern "C" fn(*mut std::ffi::c_void) -> std::ffi::c_int,
}

/// `PyInitConfig_Create` starts from the isolated configuration; these options bring it back to
/// what `Py_InitializeEx(0)` does (environment variables and the user site honoured, the
/// locale configured, no signal handlers), so both paths give one `sys` (tested on 3.14 and 3.15).
const INIT_OPTIONS: &[(&std::ffi::CStr, i64)] = &[
    (c"isolated", 0),
    (c"use_environment", 1),
    (c"user_site_directory", 1),
    (c"safe_path", 0),
    (c"pathconfig_warnings", 1),
    (c"configure_locale", 1),
    (c"parse_argv", 0),
    (c"install_signal_handlers", 0),
];

impl InitConfig {
    fn of(api: &python::PyApi) -> Option<InitConfig> {
        let legacy = std::env::var("PYTHON_TS_INIT").map(|v| v == "legacy").unwrap_or(false);
        if legacy && api.Py_SetProgramName.is_some() {
            return None;
        }
        Some(InitConfig {
            create: api.PyInitConfig_Create?,
            free: api.PyInitConfig_Free?,
            get_error: api.PyInitConfig_GetError?,
            set_int: api.PyInitConfig_SetInt?,
            set_str: api.PyInitConfig_SetStr?,
            init: api.Py_InitializeFromInitConfig?,
        })
    }

    /// Initialise Python from a config carrying `INIT_OPTIONS`, the program name and the home.
    ///
    /// # Safety
    /// Before Python is initialised, on the library's thread.
    unsafe fn initialize(&self, info: &RuntimeInfo) -> Result<()> {
        // SAFETY: pre-init calls of PEP 741; the config is freed on every path below.
        let config = unsafe { (self.create)() };
        if config.is_null() {
            return Err(Error::Runtime("python-ts: PyInitConfig_Create failed (out of memory)".into()));
        }
        let r = (|| {
            for (name, value) in INIT_OPTIONS {
                // SAFETY: a live config and a NUL-terminated option name.
                if unsafe { (self.set_int)(config, name.as_ptr(), *value) } < 0 {
                    return Err(self.error(config, &format!("setting {}", name.to_string_lossy())));
                }
            }
            for (name, path) in [(c"program_name", &info.executable), (c"home", &info.home)] {
                if let Some(path) = path {
                    let value = objects::cstr(&path.to_string_lossy())?;
                    // SAFETY: a live config; UTF-8 strings, copied by CPython.
                    if unsafe { (self.set_str)(config, name.as_ptr(), value.as_ptr()) } < 0 {
                        return Err(self.error(config, &format!("setting {}", name.to_string_lossy())));
                    }
                }
            }
            // SAFETY: a live, filled config; Python is not initialised yet.
            if unsafe { (self.init)(config) } < 0 {
                return Err(self.error(config, &format!("initialising {}", info.library.display())));
            }
            Ok(())
        })();
        // SAFETY: created above, freed once.
        unsafe { (self.free)(config) };
        r
    }

    fn error(&self, config: *mut std::ffi::c_void, what: &str) -> Error {
        let mut msg: *const std::ffi::c_char = std::ptr::null();
        // SAFETY: a live config; the message (UTF-8) is valid until the next call on it.
        let text = if unsafe { (self.get_error)(config, &mut msg) } == 1 && !msg.is_null() {
            // SAFETY: a NUL-terminated string CPython owns, read before any other call.
            unsafe { std::ffi::CStr::from_ptr(msg) }.to_string_lossy().into_owned()
        } else {
            "no reason given".into()
        };
        Error::Runtime(format!("python-ts: Python's init config failed {what}: {text}"))
    }
}

const BOOTSTRAP: &str = "\
import sys, os
__import__('threading')
for _s in (sys.stdout, sys.stderr):
    try:
        _s.reconfigure(line_buffering=True)
    except Exception:
        pass
del _s
";

/// What every new interpreter gets: `sys` and `os` in `__main__`, line-buffered stdio, and the
/// `python_ts` support module (GIL of that interpreter held).
pub fn bootstrap_interpreter(gil: Gil<'_>) -> Result<()> {
    let main = objects::main_dict(gil)?;
    objects::run(gil, BOOTSTRAP, python::PY_FILE_INPUT, main)?;
    crate::runtime::support::install(gil)
}

fn do_init(info: &RuntimeInfo, plugins: Option<&std::path::Path>, main_tstate: &mut usize) -> Result<()> {
    let api = api();
    // SAFETY: called before Py_InitializeEx on this (the library's) thread.
    unsafe {
        if (api.Py_IsInitialized)() != 0 {
            return Err(Error::Runtime(
                "python-ts: CPython is already initialised by someone else in this process".into(),
            ));
        }
        match InitConfig::of(api) {
            Some(config) => {
                config.initialize(info)?;
                INIT_API.store(true, Ordering::Release);
            }
            None => {
                INIT_API.store(false, Ordering::Release);
                if let (Some(set), Some(exe)) = (api.Py_SetProgramName, &info.executable) {
                    set(wide(exe)?);
                }
                if let (Some(set), Some(home)) = (api.Py_SetPythonHome, &info.home) {
                    set(wide(home)?);
                }
                (api.Py_InitializeEx)(0);
            }
        }
        if (api.Py_IsInitialized)() == 0 {
            return Err(Error::Runtime(format!("python-ts: Py_InitializeEx failed for {}", info.library.display())));
        }
    }
    // SAFETY: Py_InitializeEx returned with the GIL held by this thread.
    let gil = unsafe { Gil::assume() };
    let r = (|| {
        bootstrap_interpreter(gil)?;
        if let Some(dir) = plugins {
            prepend_sys_path(gil, &dir.to_string_lossy())?;
        }
        Ok(())
    })();
    // SAFETY: releases the GIL taken by init; the state stays ours until finalize.
    *main_tstate = unsafe { (api.PyEval_SaveThread)() } as usize;
    r
}

/// `python_ts.exit_threads(wait)` on Python's main thread (this one): true when no non-daemon
/// thread is left.
fn do_exit_threads(main_tstate: usize, wait: std::time::Duration) -> Result<bool> {
    if main_tstate == 0 {
        return Ok(false);
    }
    // SAFETY: the state saved after init on this same thread; the caller holds the runtime in
    // `Finalizing`, so it is still alive.
    unsafe { (api().PyEval_RestoreThread)(main_tstate as *mut python::PyThreadState) };
    // SAFETY: restored just above.
    let gil = unsafe { Gil::assume() };
    let r = (|| {
        let f = crate::runtime::support::attr(gil, "exit_threads")?;
        let t = objects::float(gil, wait.as_secs_f64())?;
        let done = objects::call_with(gil, f.borrow(), &[t.borrow()])?;
        Ok(done.as_ptr() == api()._Py_TrueStruct)
    })();
    // SAFETY: releases the GIL taken above; the state stays ours until finalize.
    unsafe { (api().PyEval_SaveThread)() };
    r
}

fn do_finalize(main_tstate: &mut usize) -> Result<()> {
    let api = api();
    if *main_tstate == 0 {
        return Ok(());
    }
    // SAFETY: the state saved after init on this same thread; no other thread is inside Python
    // (ACTIVE == 0 was checked by the caller).
    unsafe { (api.PyEval_RestoreThread)(*main_tstate as *mut python::PyThreadState) };
    // SAFETY: restored just above.
    crate::runtime::support::forget_interpreter(unsafe { Gil::assume() }, 0);
    // SAFETY: GIL held by the thread that initialised.
    let rc = unsafe { (api.Py_FinalizeEx)() };
    *main_tstate = 0;
    if rc != 0 {
        return Err(Error::Runtime("python-ts: Py_FinalizeEx reported an error while flushing".into()));
    }
    Ok(())
}
