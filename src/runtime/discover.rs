//! Which CPython to load: the `runtime_path` option / `_set_runtime_path`, then
//! `PYTHON_TS_PYTHON`, then `python3` (then `python`) on `PATH`.
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
    root.join("pyvenv.cfg").is_file().then(|| root.canonicalize().unwrap_or_else(|_| root.to_path_buf()))
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
    for name in ["python3", "python"] {
        match find_on_path(name) {
            Some(exe) => {
                let source = format!("{} on PATH ({})", name, exe.display());
                match from_executable(&exe, &source) {
                    Ok(info) => return Ok(info),
                    Err(e) => tried.push(e.to_string()),
                }
            }
            None => tried.push(format!("{name}: not found on PATH")),
        }
    }
    Err(Error::Runtime(format!(
        "python-ts: no usable CPython >= 3.8 found. Set the runtime_path option or \
         PYTHON_TS_PYTHON to a Python executable, its shared library or the folder that holds it. \
         Tried: {}",
        tried.join("; ")
    )))
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
    let lib = std::fs::canonicalize(lib).unwrap_or_else(|_| lib.to_path_buf());
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
    let exe = [format!("bin/python{major}.{minor}"), "bin/python3".into(), "bin/python".into()]
        .iter()
        .map(|e| home.join(e))
        .find(|e| is_executable(e));
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
    fn a_missing_path_names_itself() {
        let e = resolve(Some(Path::new("/no/such/python"))).unwrap_err().to_string();
        assert!(e.contains("/no/such/python"), "{e}");
    }
}
