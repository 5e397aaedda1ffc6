//! Which CPython to load: the `runtime_path` option / `_set_runtime_path`, then
//! `PYTHON_TS_PYTHON`, then per OS: `python3` (then `python`) on `PATH` (macOS: then Homebrew's
//! and python.org's usual places); on Windows `python.exe` on `PATH` (not the Microsoft Store's
//! alias), the `py` launcher, then the PEP 514 registry keys.
//!
//! A path may be a Python executable (a venv's `bin/python` and a pyenv shim included), the
//! shared library itself, or a directory that holds it (an embedded distribution). An executable
//! is asked once, in one subprocess, for its version, build flags, library and prefixes; the
//! answer is cached on disk (keyed by the executable's path and mtime, plus pyenv's version
//! selection for shims), because through a pyenv shim that subprocess alone costs ~80 ms. A
//! library or directory is not run: the version comes from the library's name and the home
//! from the layout around it.
//!
//! Everything is checked before any library is loaded: a refused library loaded with
//! RTLD_GLOBAL would shadow the symbols of any later one. Nothing here touches Python.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What discovery found: enough to load and initialise one runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    pub version: (u32, u32, u32),
    pub library: PathBuf,
    /// The real interpreter (`sys.executable`), used as the program name so that `sys.executable`
    /// is a real Python (multiprocessing spawn/forkserver) and a venv's `pyvenv.cfg` is found.
    pub executable: Option<PathBuf>,
    /// Set only when there is no interpreter to derive it from (an embedded distribution).
    pub home: Option<PathBuf>,
    /// How this runtime was chosen, for messages.
    pub source: String,
}

const MIN_VERSION: (u32, u32) = (3, 8);

/// The virtual environment an interpreter belongs to (the folder holding `pyvenv.cfg`, above
/// `bin/python`), or None for a base installation. Two paths to one installation (a symlink,
/// `python3` and `python3.11`) give the same answer; a venv and its base do not.
pub fn venv_of(executable: &Path) -> Option<PathBuf> {
    let root = executable.parent()?.parent()?;
    root.join("pyvenv.cfg").is_file().then(|| plain(root.canonicalize().unwrap_or_else(|_| root.to_path_buf())))
}

/// Resolve the runtime: `explicit` first, then the environment, then `PATH`.
pub fn resolve(explicit: Option<&Path>) -> Result<RuntimeInfo> {
    if let Some(p) = explicit {
        return from_path(p, &format!("runtime_path {}", p.display()));
    }
    if let Some(p) = std::env::var_os("PYTHON_TS_PYTHON").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return from_path(&p, &format!("PYTHON_TS_PYTHON={}", p.display()));
    }
    let mut tried = Vec::new();
    let found = if cfg!(windows) {
        windows::search(&mut tried)
    } else {
        let on_path = search_path(&["python3", "python"], &mut tried);
        // An app started from the Finder or the Dock gets PATH=/usr/bin:/bin:/usr/sbin:/sbin, where
        // python3 is Apple's stub: the usual installations are looked for where they install.
        on_path.or_else(|| if cfg!(target_os = "macos") { search_known(MACOS_KNOWN, &mut tried) } else { None })
    };
    found.ok_or_else(|| {
        Error::Runtime(format!(
            "python-ts: no usable CPython >= 3.8 found. Set the runtime_path option or \
             PYTHON_TS_PYTHON to a Python executable, its shared library or the folder that holds it. \
             Tried: {}",
            tried.join("; ")
        ))
    })
}

/// Where macOS's Pythons install when PATH does not say: Homebrew (Apple silicon, Intel) and
/// python.org's framework.
const MACOS_KNOWN: &[&str] = &[
    "/opt/homebrew/bin/python3",
    "/usr/local/bin/python3",
    "/Library/Frameworks/Python.framework/Versions/Current/bin/python3",
];

/// The first of `names` on PATH that answers as a usable CPython; what failed goes to `tried`.
fn search_path(names: &[&str], tried: &mut Vec<String>) -> Option<RuntimeInfo> {
    for name in names {
        match find_on_path(name) {
            Some(exe) => {
                let source = format!("{} on PATH ({})", name, exe.display());
                match from_executable(&exe, &source) {
                    Ok(info) => return Some(info),
                    Err(e) => tried.push(e.to_string()),
                }
            }
            None => tried.push(format!("{name}: not found on PATH")),
        }
    }
    None
}

fn search_known(paths: &[&str], tried: &mut Vec<String>) -> Option<RuntimeInfo> {
    for p in paths.iter().map(Path::new) {
        if !is_executable(p) {
            tried.push(format!("{}: not installed", p.display()));
            continue;
        }
        match from_executable(p, &p.display().to_string()) {
            Ok(info) => return Some(info),
            Err(e) => tried.push(e.to_string()),
        }
    }
    None
}

/// A path without Windows' verbatim prefix (`\\?\C:\x` → `C:\x`, `\\?\UNC\s\x` → `\\s\x`),
/// which `canonicalize` adds there and which sys.path, `__file__` and users do not expect.
pub fn plain(p: PathBuf) -> PathBuf {
    let s = p.to_string_lossy();
    if let Some(rest) = s.strip_prefix(r"\\?\UNC\") {
        return PathBuf::from(format!(r"\\{rest}"));
    }
    match s.strip_prefix(r"\\?\") {
        Some(rest) => PathBuf::from(rest),
        None => p,
    }
}

/// Windows: `python.exe` on PATH (not the Microsoft Store's alias), the `py` launcher's list,
/// then the PEP 514 registry keys. The parsing is plain text, tested on every OS.
pub mod windows {
    use super::{from_executable, from_path, RuntimeInfo};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    pub fn search(tried: &mut Vec<String>) -> Option<RuntimeInfo> {
        let local = std::env::var_os("LOCALAPPDATA").map(PathBuf::from);
        for name in ["python.exe", "python3.exe"] {
            let Some(path) = std::env::var_os("PATH") else { break };
            let mut seen = false;
            for exe in std::env::split_paths(&path).map(|d| d.join(name)).filter(|c| c.is_file()) {
                seen = true;
                if is_store_alias(&exe, local.as_deref()) {
                    tried.push(format!("{}: the Microsoft Store's alias, skipped", exe.display()));
                    continue;
                }
                match from_executable(&exe, &format!("{name} on PATH ({})", exe.display())) {
                    Ok(info) => return Some(info),
                    Err(e) => tried.push(e.to_string()),
                }
            }
            if !seen {
                tried.push(format!("{name}: not found on PATH"));
            }
        }
        match Command::new("py").arg("-0p").output() {
            Ok(out) if out.status.success() => {
                let list = launcher_list(&String::from_utf8_lossy(&out.stdout));
                if list.is_empty() {
                    tried.push("py -0p: lists no installation".into());
                }
                for exe in list {
                    match from_executable(&exe, &format!("py launcher ({})", exe.display())) {
                        Ok(info) => return Some(info),
                        Err(e) => tried.push(e.to_string()),
                    }
                }
            }
            Ok(_) => tried.push("py -0p: failed".into()),
            Err(_) => tried.push("py launcher: not installed".into()),
        }
        let mut entries = Vec::new();
        for hive in [r"HKCU\Software\Python", r"HKLM\Software\Python", r"HKLM\Software\WOW6432Node\Python"] {
            if let Ok(out) = Command::new("reg").args(["query", hive, "/s"]).output() {
                entries.extend(registry_entries(&String::from_utf8_lossy(&out.stdout), hive));
            }
        }
        let entries = ordered(entries, cfg!(target_pointer_width = "64"));
        if entries.is_empty() {
            tried.push("registry (PEP 514, HKCU, HKLM, WOW6432Node): no Python installation".into());
        }
        for e in entries {
            let source = format!("registry {}\\{}\\{}", e.hive, e.company, e.tag);
            let found = match (&e.install_path, &e.executable) {
                (Some(dir), _) if dir.is_dir() => from_path(dir, &source),
                (_, Some(exe)) => from_executable(exe, &source),
                _ => {
                    tried.push(format!("{source}: no InstallPath or ExecutablePath"));
                    continue;
                }
            };
            match found {
                Ok(info) => return Some(info),
                Err(e) => tried.push(e.to_string()),
            }
        }
        None
    }

    /// `%LOCALAPPDATA%\Microsoft\WindowsApps\python.exe`: an App Execution Alias that opens the
    /// Microsoft Store when Python is not installed from it (and is not a CPython to load).
    pub fn is_store_alias(exe: &Path, local_app_data: Option<&Path>) -> bool {
        let lower = |p: &Path| p.to_string_lossy().replace('/', "\\").to_lowercase();
        let text = lower(exe);
        match local_app_data {
            Some(l) => text.starts_with(&(lower(l).trim_end_matches('\\').to_string() + "\\microsoft\\windowsapps\\")),
            None => text.contains("\\microsoft\\windowsapps\\"),
        }
    }

    /// The executables `py -0p` lists (` -V:3.12 *   C:\…\python.exe`, older ` -3.9-64 *  C:\…`),
    /// the default (`*`) first.
    pub fn launcher_list(text: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for line in text.lines() {
            let Some(at) = line.find(":\\").and_then(|i| i.checked_sub(1)).or_else(|| line.find("\\\\")) else {
                continue;
            };
            let head = &line[..at];
            if head.trim().is_empty() || !head.trim_start().starts_with('-') {
                continue;
            }
            let exe = PathBuf::from(line[at..].trim());
            if head.contains('*') {
                out.insert(0, exe);
            } else {
                out.push(exe);
            }
        }
        out
    }

    /// One PEP 514 installation: `<hive>\Software\Python\<company>\<tag>`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Entry {
        pub hive: String,
        pub company: String,
        pub tag: String,
        pub install_path: Option<PathBuf>,
        pub executable: Option<PathBuf>,
        pub architecture: Option<String>,
    }

    /// The installations in the output of `reg query <hive>\Software\Python /s`: keys
    /// `…\Python\<company>\<tag>` (SysArchitecture) and their `InstallPath` subkey (its
    /// default value, ExecutablePath). The launcher's own key (`PyLauncher`) is not one.
    pub fn registry_entries(text: &str, hive: &str) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        let mut key: Vec<String> = Vec::new();
        for line in text.lines() {
            if line.starts_with("HKEY_") {
                let lower = line.to_lowercase();
                let Some(i) = lower.find("\\python\\") else {
                    key.clear();
                    continue;
                };
                key = line[i + 8..].split('\\').map(|s| s.trim().to_string()).collect();
                if key.len() >= 2 && !key[0].eq_ignore_ascii_case("PyLauncher") {
                    let (company, tag) = (&key[0], &key[1]);
                    if !out.iter().any(|e| &e.company == company && &e.tag == tag) {
                        out.push(Entry {
                            hive: hive.split('\\').next().unwrap_or(hive).to_string(),
                            company: company.clone(),
                            tag: tag.clone(),
                            install_path: None,
                            executable: None,
                            architecture: None,
                        });
                    }
                }
                continue;
            }
            let mut cols = line.trim().splitn(3, "    ").map(str::trim);
            let (Some(name), Some(_type), Some(value)) = (cols.next(), cols.next(), cols.next()) else { continue };
            if key.len() < 2 || key[0].eq_ignore_ascii_case("PyLauncher") {
                continue;
            }
            let Some(e) = out.iter_mut().find(|e| e.company == key[0] && e.tag == key[1]) else { continue };
            let sub = key.get(2).map(|s| s.to_lowercase());
            // the default value is "(Default)", localized ("(Standard)", "(par défaut)")
            let default = name.starts_with('(') && name.ends_with(')');
            match (sub.as_deref(), default, name) {
                (Some("installpath"), true, _) => e.install_path = Some(PathBuf::from(value.trim_end_matches('\\'))),
                (Some("installpath"), false, n) if n.eq_ignore_ascii_case("ExecutablePath") => {
                    e.executable = Some(PathBuf::from(value))
                }
                (None, false, n) if n.eq_ignore_ascii_case("SysArchitecture") => e.architecture = Some(value.into()),
                _ => {}
            }
        }
        out
    }

    /// The order to try: CPython's own (`PythonCore`) first, then other companies; newest
    /// version first; the current user's before the machine's. Installations for the other
    /// pointer width (`3.12-32` or SysArchitecture `32bit` in a 64-bit process) cannot load here.
    pub fn ordered(mut entries: Vec<Entry>, is_64: bool) -> Vec<Entry> {
        entries.retain(|e| {
            let bits = match e.architecture.as_deref() {
                Some(a) => a.starts_with("64"),
                None => !e.tag.ends_with("-32"),
            };
            bits == is_64 && !e.tag.ends_with("-arm64")
        });
        let version = |t: &str| -> (u32, u32) {
            let mut it =
                t.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(0));
            (it.next().unwrap_or(0), it.next().unwrap_or(0))
        };
        entries.sort_by_key(|e| (e.company != "PythonCore", std::cmp::Reverse(version(&e.tag)), e.hive != "HKCU"));
        entries
    }
}

fn from_path(p: &Path, source: &str) -> Result<RuntimeInfo> {
    let meta = std::fs::metadata(p)
        .map_err(|e| Error::Runtime(format!("python-ts: {source}: cannot use {}: {e}", p.display())))?;
    if meta.is_dir() {
        let lib = find_library_in(p).ok_or_else(|| {
            Error::Runtime(format!(
                "python-ts: {source}: no libpython3.X shared library in {} or its lib/ folder",
                p.display()
            ))
        })?;
        return from_library(&lib, source);
    }
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.starts_with("libpython") || parse_library_name(&name).is_some() {
        from_library(p, source)
    } else {
        from_executable(p, source)
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|c| is_executable(c))
}

use crate::sys::os::is_executable;

/// Version and ABI flags from a library file name: `libpython3.11.so.1.0` → (3, 11, ""), and
/// Windows' `python311.dll` → (3, 11, ""), `python313t.dll` → (3, 13, "t"). `libpython3.so` and
/// `python3.dll` (the stable-ABI forwarders, not a runtime) and debug builds (`_d`) are None.
pub fn parse_library_name(name: &str) -> Option<(u32, u32, String)> {
    if let Some(rest) = name.strip_prefix("python3").and_then(|r| r.strip_suffix(".dll")) {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let flags = &rest[digits.len()..];
        if digits.is_empty() || !(flags.is_empty() || flags == "t") {
            return None;
        }
        return Some((3, digits.parse().ok()?, flags.to_string()));
    }
    let rest = name.strip_prefix("libpython")?;
    let (major, rest) = rest.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None; // `libpython3.so`, the stable-ABI shim
    }
    let minor: u32 = digits.parse().ok()?;
    let after = &rest[digits.len()..];
    let flags: String = after.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let tail = &after[flags.len()..];
    if !(tail.starts_with(".so") || tail.starts_with(".dylib")) {
        return None;
    }
    Some((major, minor, flags))
}

fn find_library_in(dir: &Path) -> Option<PathBuf> {
    let mut best: Option<(u32, u32, usize, PathBuf)> = None;
    for d in [dir.to_path_buf(), dir.join("lib")] {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((maj, min, _)) = parse_library_name(&name) {
                // Prefer the highest version, then the versioned soname (`.so.1.0`).
                let rank = (maj, min, usize::MAX - name.len());
                let better = match &best {
                    None => true,
                    Some((a, b, c, _)) => rank > (*a, *b, usize::MAX - *c),
                };
                if better {
                    best = Some((maj, min, name.len(), e.path()));
                }
            }
        }
        if best.is_some() {
            break;
        }
    }
    best.map(|b| b.3)
}

fn check_version(version: (u32, u32, u32), flags: &str, what: &str) -> Result<()> {
    if (version.0, version.1) < MIN_VERSION {
        return Err(Error::Runtime(format!(
            "python-ts needs CPython 3.8 or newer; found {}.{}.{} ({what})",
            version.0, version.1, version.2
        )));
    }
    if flags.contains('t') && (version.0, version.1) < (3, 13) {
        return Err(Error::Runtime(format!(
            "python-ts supports free-threaded CPython from 3.13t; found {}.{}t ({what})",
            version.0, version.1
        )));
    }
    Ok(())
}

fn from_library(lib: &Path, source: &str) -> Result<RuntimeInfo> {
    let name = lib.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (major, minor, flags) = parse_library_name(&name).ok_or_else(|| {
        Error::Runtime(format!("python-ts: {source}: {} is not a libpython3.X shared library", lib.display()))
    })?;
    check_version((major, minor, 0), &flags, &format!("{source}: {}", lib.display()))?;
    let lib = plain(std::fs::canonicalize(lib).unwrap_or_else(|_| lib.to_path_buf()));
    let stdlib = format!("python{major}.{minor}");
    // Where the stdlib sits relative to the library: `<home>/lib/libpython…` (pyenv, a relocated
    // embedded distribution), or `/usr/lib/<multiarch>/libpython…` (Debian).
    let lib_dir = lib.parent().map(Path::to_path_buf).unwrap_or_default();
    let candidates = [
        lib_dir.parent().map(Path::to_path_buf),
        Some(lib_dir.clone()),
        lib_dir.parent().and_then(Path::parent).map(Path::to_path_buf),
    ];
    // Windows keeps the standard library beside the DLL: `Lib\os.py` (an installation), or
    // `python3X.zip` (the embeddable distribution).
    let windows_home =
        |h: &Path| h.join("Lib").join("os.py").is_file() || h.join(format!("python{major}{minor}.zip")).is_file();
    let is_dll = name.ends_with(".dll");
    let home = candidates
        .into_iter()
        .flatten()
        .find(|h| h.join("lib").join(&stdlib).join("os.py").is_file() || (is_dll && windows_home(h)))
        .ok_or_else(|| {
            Error::Runtime(format!(
                "python-ts: {source}: found {} but no standard library (lib/{stdlib}/os.py) around it",
                lib.display()
            ))
        })?;
    let exe = [format!("bin/python{major}.{minor}"), "bin/python3".into(), "bin/python".into(), "python.exe".into()]
        .iter()
        .map(|e| home.join(e))
        // a Windows layout (read on any OS in tests): `python.exe` beside the DLL
        .find(|e| if e.ends_with("python.exe") { is_dll && e.is_file() } else { is_executable(e) });
    Ok(RuntimeInfo {
        version: (major, minor, 0),
        library: lib,
        executable: exe,
        home: Some(home),
        source: source.into(),
    })
}

/// The one subprocess: Python 2 compatible, so an old `python` gets a clear refusal too.
const QUERY: &str = r#"import sys, sysconfig
g = sysconfig.get_config_var
def s(x):
    return '' if x is None else str(x)
v = sys.version_info
print('version=%d.%d.%d' % (v[0], v[1], v[2]))
print('instsoname=' + s(g('INSTSONAME')))
print('ldlibrary=' + s(g('LDLIBRARY')))
print('libdir=' + s(g('LIBDIR')))
print('shared=' + s(g('Py_ENABLE_SHARED')))
print('framework=' + s(g('PYTHONFRAMEWORK')))
print('frameworkprefix=' + s(g('PYTHONFRAMEWORKPREFIX')))
print('platform=' + sys.platform)
print('gil_disabled=' + s(g('Py_GIL_DISABLED')))
print('trace_refs=' + s(g('Py_TRACE_REFS')))
print('base_prefix=' + getattr(sys, 'base_prefix', sys.prefix))
print('executable=' + sys.executable)
"#;

fn from_executable(exe: &Path, source: &str) -> Result<RuntimeInfo> {
    if !is_executable(exe) {
        return Err(Error::Runtime(format!("python-ts: {source}: {} is not an executable file", exe.display())));
    }
    let key = cache_key(exe);
    if let Some(info) = key.as_ref().and_then(|k| cache::load(k)) {
        return Ok(RuntimeInfo { source: source.into(), ..info });
    }
    let out = Command::new(exe)
        .arg("-c")
        .arg(QUERY)
        .env_remove("PYTHONSTARTUP")
        .output()
        .map_err(|e| Error::Runtime(format!("python-ts: {source}: cannot run {}: {e}", exe.display())))?;
    if !out.status.success() {
        return Err(Error::Runtime(failed_to_report(exe, source, &String::from_utf8_lossy(&out.stderr))));
    }
    let info = parse_query(&String::from_utf8_lossy(&out.stdout), exe, source)?;
    if let Some(k) = key {
        cache::store(&k, &info);
    }
    Ok(info)
}

/// The error of an interpreter that did not answer the query. macOS's `/usr/bin/python3` is a
/// stub that runs the Command Line Tools' Python, and without them only asks to install them.
fn failed_to_report(exe: &Path, source: &str, stderr: &str) -> String {
    let stderr = stderr.trim();
    let hint = if stderr.contains("xcrun") || stderr.contains("xcode-select") || stderr.contains("developer tools") {
        " — this is macOS's python3 stub, which needs Apple's Command Line Tools (`xcode-select --install`); \
         or name another Python (python.org, Homebrew, a venv) with runtime_path or PYTHON_TS_PYTHON"
    } else {
        ""
    };
    format!("python-ts: {source}: {} failed to report its configuration: {stderr}{hint}", exe.display())
}

fn parse_query(text: &str, exe: &Path, source: &str) -> Result<RuntimeInfo> {
    let get = |k: &str| {
        text.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('='))).unwrap_or("").trim().to_string()
    };
    let what = format!("{source}: {}", exe.display());
    let mut parts = get("version").split('.').map(|p| p.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    parts.resize(3, 0);
    let version = (parts[0], parts[1], parts[2]);
    let flags = if get("gil_disabled") == "1" { "t" } else { "" };
    check_version(version, flags, &what)?;
    if get("trace_refs") == "1" {
        return Err(Error::Runtime(format!("python-ts does not support Py_TRACE_REFS builds ({what})")));
    }
    // Windows builds and macOS framework builds (python.org, Homebrew, Apple's) report
    // Py_ENABLE_SHARED=0 and are shared all the same: the DLL, the framework's `Python`.
    let windows = get("platform") == "win32";
    let framework = !get("framework").is_empty();
    if get("shared") != "1" && !windows && !framework {
        return Err(Error::Runtime(format!(
            "python-ts: {what} is a static-only build of Python {}.{}.{} (Py_ENABLE_SHARED=0): there is \
             no libpython shared library to load. Use a Python built with --enable-shared \
             (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)",
            version.0, version.1, version.2
        )));
    }
    let libdir = PathBuf::from(get("libdir"));
    let base_prefix = PathBuf::from(get("base_prefix"));
    let candidates = library_candidates(
        version,
        flags,
        &[get("instsoname"), get("ldlibrary")],
        &libdir,
        &base_prefix,
        framework.then(|| PathBuf::from(get("frameworkprefix"))).as_deref(),
        windows,
    );
    let library = candidates.iter().find(|c| c.is_file()).cloned().ok_or_else(|| {
        Error::Runtime(format!(
            "python-ts: {what}: its shared library was not found (looked for {})",
            candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let executable = Some(PathBuf::from(get("executable"))).filter(|p| !p.as_os_str().is_empty());
    Ok(RuntimeInfo { version, library, executable, home: None, source: source.into() })
}

/// Where the shared library of an interpreter may be, in the order tried: a framework build's
/// `PYTHONFRAMEWORKPREFIX/INSTSONAME` (`/Library/Frameworks/Python.framework/Versions/3.12/Python`);
/// on Windows `python3X.dll` (`python3Xt.dll` free-threaded) in the base prefix, never the
/// `python3.dll` forwarder; otherwise `LIBDIR`/`INSTSONAME` and `LDLIBRARY`, and the same names
/// under the base prefix's `lib/`.
fn library_candidates(
    version: (u32, u32, u32),
    flags: &str,
    names: &[String],
    libdir: &Path,
    base_prefix: &Path,
    framework_prefix: Option<&Path>,
    windows: bool,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if windows {
        out.push(base_prefix.join(format!("python{}{}{flags}.dll", version.0, version.1)));
        return out;
    }
    for name in names.iter().filter(|n| !n.is_empty()) {
        if let Some(prefix) = framework_prefix {
            out.push(prefix.join(name));
        }
    }
    for name in names.iter().filter(|n| !n.is_empty()) {
        out.push(libdir.join(name));
        out.push(base_prefix.join("lib").join(name));
    }
    out
}

/// The cache key of an executable: path, size and mtime; for a pyenv shim also what selects the
/// version behind it (`PYENV_VERSION`, the nearest `.python-version`, the global version file).
fn cache_key(exe: &Path) -> Option<String> {
    let meta = std::fs::metadata(exe).ok()?;
    let mut key = format!("{}|{}|{}", exe.display(), meta.len(), mtime_ns(&meta));
    let text = exe.to_string_lossy();
    if text.contains("/shims/") {
        key.push_str(&format!("|PYENV_VERSION={}", std::env::var("PYENV_VERSION").unwrap_or_default()));
        let mut dir = std::env::current_dir().ok();
        while let Some(d) = dir {
            if let Ok(v) = std::fs::read_to_string(d.join(".python-version")) {
                key.push_str(&format!("|local={}", v.trim()));
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        let root =
            std::env::var_os("PYENV_ROOT").map(PathBuf::from).or_else(|| exe.parent()?.parent().map(Path::to_path_buf));
        if let Some(root) = root {
            let global = std::fs::read_to_string(root.join("version")).unwrap_or_default();
            key.push_str(&format!("|global={}", global.trim()));
        }
    }
    Some(key)
}

/// A file's modification time in nanoseconds since the epoch (0 where the OS has none).
fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

mod cache {
    //! A small text cache in `$XDG_CACHE_HOME/python-ts` (or `~/.cache/python-ts`): one entry per
    //! key; an entry whose library or executable changed since is ignored. Failing to read or
    //! write it only costs the subprocess.
    use super::RuntimeInfo;
    use std::path::PathBuf;

    fn file() -> Option<PathBuf> {
        if std::env::var_os("PYTHON_TS_NO_CACHE").is_some() {
            return None;
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("python-ts").join("runtimes-v1.txt"))
    }

    fn fingerprint(p: &std::path::Path) -> String {
        std::fs::metadata(p).map(|m| format!("{}:{}", m.len(), super::mtime_ns(&m) / 1_000_000_000)).unwrap_or_default()
    }

    fn encode(key: &str, i: &RuntimeInfo) -> String {
        let exe = i.executable.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        format!(
            "{}\t{}.{}.{}\t{}\t{}\t{}\t{}",
            key.replace('\t', " "),
            i.version.0,
            i.version.1,
            i.version.2,
            i.library.display(),
            fingerprint(&i.library),
            exe,
            i.executable.as_deref().map(fingerprint).unwrap_or_default()
        )
    }

    pub fn load(key: &str) -> Option<RuntimeInfo> {
        let text = std::fs::read_to_string(file()?).ok()?;
        let key = key.replace('\t', " ");
        let line = text.lines().find(|l| l.split('\t').next() == Some(key.as_str()))?;
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            return None;
        }
        let v: Vec<u32> = f[1].split('.').filter_map(|x| x.parse().ok()).collect();
        if v.len() != 3 {
            return None;
        }
        let library = PathBuf::from(f[2]);
        if fingerprint(&library) != f[3] || fingerprint(&library).is_empty() {
            return None;
        }
        let executable = if f[4].is_empty() { None } else { Some(PathBuf::from(f[4])) };
        if let Some(e) = &executable {
            if fingerprint(e) != f[5] {
                return None;
            }
        }
        Some(RuntimeInfo { version: (v[0], v[1], v[2]), library, executable, home: None, source: String::new() })
    }

    pub fn store(key: &str, info: &RuntimeInfo) {
        let Some(path) = file() else { return };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let k = key.replace('\t', " ");
        let mut lines: Vec<String> =
            old.lines().filter(|l| l.split('\t').next() != Some(k.as_str())).map(String::from).collect();
        lines.push(encode(key, info));
        let keep = lines.len().saturating_sub(64);
        // Write to a private temporary file and rename it, so concurrent processes never read a
        // half-written cache.
        let tmp = dir.join(format!(".runtimes-{}.tmp", std::process::id()));
        if std::fs::write(&tmp, lines[keep..].join("\n") + "\n").is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_give_version_and_flags() {
        assert_eq!(parse_library_name("libpython3.11.so.1.0"), Some((3, 11, String::new())));
        assert_eq!(parse_library_name("libpython3.13t.so"), Some((3, 13, "t".into())));
        assert_eq!(parse_library_name("libpython3.6m.so.1.0"), Some((3, 6, "m".into())));
        assert_eq!(parse_library_name("libpython3.9.dylib"), Some((3, 9, String::new())));
        assert_eq!(parse_library_name("libpython3.so"), None);
        assert_eq!(parse_library_name("libpython3.11.a"), None);
        assert_eq!(parse_library_name("python3.11"), None);
    }

    #[test]
    fn old_and_free_threaded_versions_are_refused() {
        assert!(check_version((3, 7, 16), "", "x").unwrap_err().to_string().contains("3.7.16"));
        assert!(check_version((3, 13, 0), "t", "x").is_ok());
        assert!(check_version((3, 12, 0), "t", "x").unwrap_err().to_string().contains("free-threaded"));
        assert!(check_version((3, 8, 0), "", "x").is_ok());
    }

    #[test]
    fn a_static_only_build_is_refused_with_a_reason() {
        let text = "version=3.11.2\nshared=0\nlibdir=/nowhere\nbase_prefix=/nowhere\nexecutable=/x/python\n";
        let e = parse_query(text, Path::new("/x/python"), "test").unwrap_err().to_string();
        assert!(e.contains("static-only"), "{e}");
    }

    /// A fresh folder with `files` (relative paths) in it.
    fn tree(name: &str, files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("python-ts-discover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in files {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"").unwrap();
        }
        dir
    }

    #[test]
    fn a_macos_framework_build_is_shared_and_its_library_is_the_framework_python() {
        // python.org's and Homebrew's answers: Py_ENABLE_SHARED=0, the library in the framework.
        let root = tree("framework", &["Frameworks/Python.framework/Versions/3.12/Python"]);
        let text = format!(
            "version=3.12.7\nshared=0\ninstsoname=Python.framework/Versions/3.12/Python\n\
             ldlibrary=Python.framework/Versions/3.12/Python\nlibdir={0}/Frameworks/Python.framework/Versions/3.12/lib\n\
             framework=Python\nframeworkprefix={0}/Frameworks\nplatform=darwin\n\
             base_prefix={0}/Frameworks/Python.framework/Versions/3.12\nexecutable=/usr/local/bin/python3.12\n",
            root.display()
        );
        let info = parse_query(&text, Path::new("/usr/local/bin/python3.12"), "test").unwrap();
        assert_eq!(info.library, root.join("Frameworks/Python.framework/Versions/3.12/Python"));
        assert_eq!(info.version, (3, 12, 7));
        // the framework missing: the error names where it looked
        let gone = text.replace(
            &format!("frameworkprefix={}/Frameworks", root.display()),
            &format!("frameworkprefix={}/Gone", root.display()),
        );
        let e = parse_query(&gone.replace("Frameworks/Python", "Gone/Python"), Path::new("/x"), "test").unwrap_err();
        assert!(e.to_string().contains("Gone/Python.framework/Versions/3.12/Python"), "{e}");
    }

    #[test]
    fn a_windows_build_is_shared_and_its_library_is_python3x_dll_never_python3_dll() {
        let root = tree("windows", &["python312.dll", "python3.dll", "python313t.dll", "Lib/os.py"]);
        let text = format!(
            "version=3.12.7\nshared=0\ninstsoname=\nldlibrary=\nlibdir=\nframework=\nframeworkprefix=\n\
             platform=win32\nbase_prefix={}\nexecutable=C:\\Python312\\python.exe\n",
            root.display()
        );
        let info = parse_query(&text, Path::new("python.exe"), "test").unwrap();
        assert_eq!(info.library, root.join("python312.dll"));
        let ft = parse_query(&(text.replace("3.12.7", "3.13.1") + "gil_disabled=1\n"), Path::new("python.exe"), "test")
            .unwrap();
        assert_eq!(ft.library, root.join("python313t.dll"));
        assert_eq!(parse_library_name("python3.dll"), None);
        assert_eq!(parse_library_name("python312_d.dll"), None);
        assert_eq!(parse_library_name("python312.dll"), Some((3, 12, String::new())));
    }

    #[test]
    fn an_embeddable_windows_distribution_is_found_from_its_folder() {
        let root =
            tree("embeddable", &["python311.dll", "python3.dll", "python311.zip", "python311._pth", "python.exe"]);
        assert_eq!(find_library_in(&root), Some(root.join("python311.dll")));
        let info = from_path(&root, "test").unwrap();
        assert_eq!(info.version, (3, 11, 0));
        assert_eq!(info.home.as_deref(), Some(root.canonicalize().unwrap().as_path()));
    }

    #[test]
    fn the_macos_python3_stub_without_command_line_tools_is_explained() {
        let stderr = "xcrun: error: invalid active developer path (/Library/Developer/CommandLineTools), missing xcrun at: /Library/Developer/CommandLineTools/usr/bin/xcrun\n";
        let e = failed_to_report(Path::new("/usr/bin/python3"), "python3 on PATH", stderr);
        assert!(e.contains("xcode-select --install") && e.contains("invalid active developer path"), "{e}");
        assert!(!failed_to_report(Path::new("/x"), "s", "Traceback: boom").contains("xcode-select"));
    }

    #[test]
    fn windows_verbatim_paths_are_made_plain() {
        assert_eq!(
            plain(PathBuf::from(r"\\?\C:\Python312\python312.dll")),
            PathBuf::from(r"C:\Python312\python312.dll")
        );
        assert_eq!(plain(PathBuf::from(r"\\?\UNC\server\share\py")), PathBuf::from(r"\\server\share\py"));
        assert_eq!(plain(PathBuf::from("/usr/lib/libpython3.11.so")), PathBuf::from("/usr/lib/libpython3.11.so"));
    }

    #[test]
    fn the_microsoft_store_alias_is_recognised() {
        let local = Path::new(r"C:\Users\ada\AppData\Local");
        assert!(windows::is_store_alias(
            Path::new(r"C:\Users\ada\AppData\Local\Microsoft\WindowsApps\python.exe"),
            Some(local)
        ));
        assert!(windows::is_store_alias(
            Path::new(r"c:\users\ada\appdata\local\microsoft\windowsapps\python3.exe"),
            Some(local)
        ));
        assert!(!windows::is_store_alias(Path::new(r"C:\Python312\python.exe"), Some(local)));
        assert!(windows::is_store_alias(Path::new(r"D:\Profiles\x\Microsoft\WindowsApps\python.exe"), None));
    }

    #[test]
    fn the_py_launcher_list_gives_the_default_first() {
        // py 3.11+ (`-V:Company/Tag`), and the older launcher's `-X.Y-64` form
        let new = " -V:3.12 *        C:\\Users\\ada\\AppData\\Local\\Programs\\Python\\Python312\\python.exe\n \
                   -V:3.11          C:\\Program Files\\Python311\\python.exe\n \
                   -V:ContinuumAnalytics/Anaconda39-64 C:\\ProgramData\\Anaconda3\\python.exe\n";
        assert_eq!(
            windows::launcher_list(new),
            vec![
                PathBuf::from(r"C:\Users\ada\AppData\Local\Programs\Python\Python312\python.exe"),
                PathBuf::from(r"C:\Program Files\Python311\python.exe"),
                PathBuf::from(r"C:\ProgramData\Anaconda3\python.exe"),
            ]
        );
        let old = "Installed Pythons found by py Launcher for Windows\n -3.9-64        C:\\Python39\\python.exe\n -3.8-32 *      C:\\Python38-32\\python.exe\n";
        assert_eq!(
            windows::launcher_list(old),
            vec![PathBuf::from(r"C:\Python38-32\python.exe"), PathBuf::from(r"C:\Python39\python.exe")]
        );
        assert!(windows::launcher_list("No installed Pythons found!\n").is_empty());
    }

    /// `reg query HKCU\Software\Python /s` as Windows prints it: python.org 3.12 and 3.13 (64-bit),
    /// a 32-bit 3.11, Anaconda, and the launcher's own key.
    const REG_HKCU: &str = "\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\r
    DisplayName    REG_SZ    Python Software Foundation\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.12\r
    DisplayName    REG_SZ    Python 3.12 (64-bit)\r
    SysArchitecture    REG_SZ    64bit\r
    SysVersion    REG_SZ    3.12\r
    Version    REG_SZ    3.12.7\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.12\\InstallPath\r
    (Default)    REG_SZ    C:\\Users\\ada\\AppData\\Local\\Programs\\Python\\Python312\\\r
    ExecutablePath    REG_SZ    C:\\Users\\ada\\AppData\\Local\\Programs\\Python\\Python312\\python.exe\r
    WindowedExecutablePath    REG_SZ    C:\\Users\\ada\\AppData\\Local\\Programs\\Python\\Python312\\pythonw.exe\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.12\\PythonPath\r
    (Default)    REG_SZ    C:\\Users\\ada\\AppData\\Local\\Programs\\Python\\Python312\\Lib\\\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.11-32\r
    SysArchitecture    REG_SZ    32bit\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.11-32\\InstallPath\r
    (Default)    REG_SZ    C:\\Python311-32\\\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PythonCore\\3.13\\InstallPath\r
    (Standard)    REG_SZ    C:\\Python313\r
\r
HKEY_CURRENT_USER\\Software\\Python\\ContinuumAnalytics\\Anaconda39-64\\InstallPath\r
    (Default)    REG_SZ    C:\\ProgramData\\Anaconda3\r
    ExecutablePath    REG_SZ    C:\\ProgramData\\Anaconda3\\python.exe\r
\r
HKEY_CURRENT_USER\\Software\\Python\\PyLauncher\r
    InstallPath    REG_SZ    C:\\Windows\\py.exe\r
";

    #[test]
    fn pep_514_registry_entries_are_read_and_ordered() {
        let entries = windows::registry_entries(REG_HKCU, r"HKCU\Software\Python");
        assert_eq!(entries.len(), 4, "{entries:?}");
        let e312 = &entries[0];
        assert_eq!((e312.hive.as_str(), e312.company.as_str(), e312.tag.as_str()), ("HKCU", "PythonCore", "3.12"));
        assert_eq!(e312.install_path, Some(PathBuf::from(r"C:\Users\ada\AppData\Local\Programs\Python\Python312")));
        assert_eq!(
            e312.executable,
            Some(PathBuf::from(r"C:\Users\ada\AppData\Local\Programs\Python\Python312\python.exe"))
        );
        assert_eq!(e312.architecture.as_deref(), Some("64bit"));
        // a localized default value name
        assert_eq!(entries[2].install_path, Some(PathBuf::from(r"C:\Python313")));
        let mut hklm = windows::registry_entries(
            &REG_HKCU.replace("HKEY_CURRENT_USER", "HKEY_LOCAL_MACHINE"),
            r"HKLM\Software\Python",
        );
        hklm.truncate(1);
        let all = [entries.clone(), hklm].concat();
        let order = |v: Vec<windows::Entry>| v.into_iter().map(|e| format!("{}:{}", e.hive, e.tag)).collect::<Vec<_>>();
        // 64-bit: PythonCore newest first, the user's before the machine's, other companies last
        assert_eq!(
            order(windows::ordered(all.clone(), true)),
            ["HKCU:3.13", "HKCU:3.12", "HKLM:3.12", "HKCU:Anaconda39-64"]
        );
        // a 32-bit process can only load the 32-bit one
        assert_eq!(order(windows::ordered(all, false)), ["HKCU:3.11-32"]);
        assert!(windows::registry_entries(
            "ERROR: The system was unable to find the specified registry key or value.\n",
            "HKLM"
        )
        .is_empty());
    }

    #[test]
    fn a_windows_installation_folder_from_the_registry_is_loaded_without_running_python() {
        let root = tree("regdir", &["python312.dll", "python3.dll", "python.exe", "Lib/os.py", "vcruntime140.dll"]);
        let info = from_path(&root, r"registry HKCU\PythonCore\3.12").unwrap();
        assert_eq!(info.version, (3, 12, 0));
        assert_eq!(info.library.file_name().unwrap(), "python312.dll");
        assert_eq!(info.executable.as_deref().map(|e| e.file_name().unwrap().to_owned()), Some("python.exe".into()));
    }

    #[test]
    fn conda_pyenv_and_uv_on_macos_load_their_dylib_by_absolute_path() {
        // not a framework: LDLIBRARY in LIBDIR (conda, pyenv --enable-shared, uv's builds)
        let root = tree("conda-mac", &["lib/libpython3.12.dylib", "lib/python3.12/os.py", "bin/python3.12"]);
        let text = format!(
            "version=3.12.4\nshared=1\ninstsoname=libpython3.12.dylib\nldlibrary=libpython3.12.dylib\n\
             libdir={0}/lib\nframework=\nframeworkprefix=\nplatform=darwin\nbase_prefix={0}\nexecutable={0}/bin/python3.12\n",
            root.display()
        );
        let info = parse_query(&text, &root.join("bin/python3.12"), "test").unwrap();
        assert_eq!(info.library, root.join("lib/libpython3.12.dylib"));
        assert!(info.library.is_absolute());
    }

    #[test]
    fn a_windows_venv_or_conda_env_resolves_to_its_base_dll() {
        // a venv's python.exe reports the base installation as base_prefix; a conda env is its own base
        let base = tree("win-base", &["python311.dll", "python3.dll", "Lib/os.py", "python.exe"]);
        let venv = tree("win-venv", &["pyvenv.cfg", "Scripts/python.exe"]);
        let text = format!(
            "version=3.11.9\nshared=0\ninstsoname=\nldlibrary=\nlibdir=\nframework=\nframeworkprefix=\nplatform=win32\n\
             base_prefix={}\nexecutable={}\n",
            base.display(),
            venv.join("Scripts/python.exe").display()
        );
        let info = parse_query(&text, &venv.join("Scripts/python.exe"), "test").unwrap();
        assert_eq!(info.library, base.join("python311.dll"));
        assert_eq!(info.executable, Some(venv.join("Scripts/python.exe")));
        assert_eq!(venv_of(&venv.join("Scripts/python.exe")), Some(plain(venv.canonicalize().unwrap())));
    }

    #[test]
    fn a_missing_path_names_itself() {
        let e = resolve(Some(Path::new("/no/such/python"))).unwrap_err().to_string();
        assert!(e.contains("/no/such/python"), "{e}");
    }
}
