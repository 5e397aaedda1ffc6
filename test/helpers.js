'use strict';
// Shared helpers for the test suite: child Node processes and the Pythons on this machine.
const { spawnSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const ADDON = path.join(ROOT, 'build', 'Release', 'python_ts.node');

/** Run `source` in a child node process; returns { status, signal, stdout, stderr }. */
function runNode(source, { env = {}, args = [], timeout = 300000, input, node } = {}) {
  const r = spawnSync(node || nodeFor(env), [...args, '-e', source], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
    input,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error };
}

/** The same, asynchronously (for tests that run several children at once). */
function runNodeAsync(source, { env = {}, args = [], timeout = 300000, node } = {}) {
  return new Promise((resolve) => {
    const child = spawn(node || nodeFor(env), [...args, '-e', source], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** The last line of stdout parsed as JSON (children print their findings that way). */
function lastJson(r) {
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch (e) {
    throw new Error(`child did not print JSON (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}

function pyenvRoot() {
  if (process.env.PYENV_ROOT) return process.env.PYENV_ROOT;
  const r = spawnSync('pyenv', ['root'], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout.trim();
  return path.join(os.homedir(), '.pyenv');
}

/** CPython installs on this machine: [{ label, exe, version: [maj, min] }], oldest first. */
function findPythons() {
  const found = [];
  const versions = path.join(pyenvRoot(), 'versions');
  if (fs.existsSync(versions)) {
    for (const name of fs.readdirSync(versions)) {
      const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(name);
      if (!m) continue;
      const exe = path.join(versions, name, 'bin', `python${m[1]}.${m[2]}`);
      if (fs.existsSync(exe)) found.push({ label: `pyenv ${name}`, exe, dir: path.join(versions, name), version: [+m[1], +m[2]] });
    }
  }
  for (const minor of [8, 9, 10, 11, 12, 13, 14]) {
    const exe = `/usr/bin/python3.${minor}`;
    if (fs.existsSync(exe) && fs.realpathSync(exe).startsWith('/usr/')) {
      found.push({ label: `system 3.${minor}`, exe, version: [3, minor] });
    }
  }
  for (const p of manifestPythons()) found.push(p);
  found.sort((a, b) => a.version[0] - b.version[0] || a.version[1] - b.version[1]);
  return found;
}

/**
 * Runtimes listed in the manifest of extra CPythons (`PYTHON_TS_PYTHONS`, or
 * ~/.cache/python-ts-pythons/pythons.json): [{ version, python, node, freeThreaded }]. A runtime
 * whose "node" is not "node" must be loaded by that node binary (its libraries need a newer
 * glibc); `runNode` picks it by the PYTHON_TS_PYTHON it is given. Free-threaded builds are
 * listed apart (`freeThreadedPythons`).
 */
function manifestPythons({ freeThreaded = false } = {}) {
  const file = process.env.PYTHON_TS_PYTHONS || path.join(os.homedir(), '.cache', 'python-ts-pythons', 'pythons.json');
  let list = [];
  try {
    list = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return [];
  }
  return list
    .filter((p) => !!p.freeThreaded === freeThreaded && p.python && fs.existsSync(p.python))
    .map((p) => {
      const [maj, min] = String(p.version).split('.').map(Number);
      return { label: `manifest ${p.version}${freeThreaded ? 't' : ''}`, exe: p.python, version: [maj, min], freeThreaded, node: p.node && p.node !== 'node' && fs.existsSync(p.node) ? p.node : undefined };
    });
}

/** Free-threaded runtimes of the manifest (3.13t, built by the manifest's script). */
function freeThreadedPythons() {
  return manifestPythons({ freeThreaded: true });
}

/**
 * The AddressSanitizer build of CPython (scripts/python-313t.sh --asan, listed in asan.json beside
 * the manifest): { exe, env } with the env a child needs to load it (libasan preloaded), or null.
 */
function asanPython() {
  const file = path.join(path.dirname(process.env.PYTHON_TS_PYTHONS || path.join(os.homedir(), '.cache', 'python-ts-pythons', 'pythons.json')), 'asan.json');
  let p;
  try {
    p = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return null;
  }
  if (!p.python || !fs.existsSync(p.python) || !p.preload || !fs.existsSync(p.preload)) return null;
  return {
    exe: p.python,
    label: `CPython ${p.patch} (AddressSanitizer)`,
    env: { PYTHON_TS_PYTHON: p.python, LD_PRELOAD: p.preload, ASAN_OPTIONS: 'detect_leaks=0:verify_asan_link_order=0:halt_on_error=1' },
  };
}

/** The node binary a child must run with to load the runtime `env.PYTHON_TS_PYTHON` names. */
function nodeFor(env) {
  const exe = env && env.PYTHON_TS_PYTHON;
  if (!exe) return process.execPath;
  const p = manifestPythons().find((x) => x.exe === exe);
  return (p && p.node) || process.execPath;
}

/** (major, minor) pairs whose finalize → init cycle python-ts refuses (docs/runtimes.md). */
const REINIT_REFUSED = [[3, 12], [3, 15]];
const reinitSafe = (p) => !REINIT_REFUSED.some(([a, b]) => p.version[0] === a && p.version[1] === b);

/** The supported ones (>= 3.8). */
function supportedPythons() {
  return findPythons().filter((p) => p.version[0] === 3 && p.version[1] >= 8);
}

/** A temporary directory removed at exit. */
function tmpdir(prefix = 'python-ts-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/**
 * A venv's python with `packages` installed by pip (made once in test/.tmp/<name>-venv-<ver>),
 * or false when pip can't get them (no registry reachable): callers skip with a message.
 */
function venvPython(name, packages, base = supportedPythons().find((p) => p.version[1] === 11) || supportedPythons().pop()) {
  // A run with no wheels to install (the linux-ia32 stage: numpy has none for it): tests skip.
  if (process.env.PYTHON_TS_NO_VENVS === '1') return false;
  const key = `${name}:${packages.join(',')}:${base.exe}`;
  if (venvCache.has(key)) return venvCache.get(key);
  venvCache.set(key, false);
  const dir = path.join(ROOT, 'test', '.tmp', `${name}-venv-${base.version.join('.')}${base.freeThreaded ? 't' : ''}`);
  const py = path.join(dir, 'bin', 'python');
  const marker = path.join(dir, '.python-ts-packages');
  const want = packages.join('\n');
  if (!fs.existsSync(py) || !fs.existsSync(marker) || fs.readFileSync(marker, 'utf8') !== want) {
    fs.rmSync(dir, { recursive: true, force: true });
    if (spawnSync(base.exe, ['-m', 'venv', dir], { stdio: 'ignore' }).status !== 0) return false;
    const pip = spawnSync(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '--prefer-binary', '-q', ...packages], { encoding: 'utf8', timeout: 600000 });
    if (pip.status !== 0) return false;
    fs.writeFileSync(marker, want);
  }
  venvCache.set(key, py);
  return py;
}
const venvCache = new Map();

/** A venv's python with numpy, or false. */
function numpyPython() {
  return venvPython('numpy', ['numpy']);
}

module.exports = { asanPython, numpyPython, venvPython, manifestPythons, freeThreadedPythons, nodeFor, reinitSafe, REINIT_REFUSED, ROOT, ADDON, runNode, runNodeAsync, lastJson, findPythons, supportedPythons, tmpdir, pyenvRoot };
