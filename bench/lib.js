'use strict';
// Shared benchmark harness. A benchmark file calls `bench({...})`: run directly, it runs every
// variant (no-op baseline, python-ts, node-calls-python) in its own child process, one after the
// other in the same run, and prints times and ratios; with `--variant=NAME` it runs just that one
// and prints JSON. Medians of several repetitions, with min–max.
const { spawnSync } = require('child_process');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const PY_DIR = path.join(__dirname, 'py');
const BENCH_MOD = path.join(PY_DIR, 'bench_mod.py');

function peer() {
  try {
    return require(path.join(__dirname, 'node_modules', 'node-calls-python')).interpreter;
  } catch (e) {
    return null;
  }
}

function peerAvailable() {
  try {
    require.resolve(path.join(__dirname, 'node_modules', 'node-calls-python'));
    return true;
  } catch (e) {
    return false;
  }
}

/** python-ts: this checkout, or the one PYTHON_TS_BENCH_ROOT names (an earlier build, to compare). */
function pythonTs() {
  return require(process.env.PYTHON_TS_BENCH_ROOT ? path.resolve(process.env.PYTHON_TS_BENCH_ROOT) : ROOT);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (unit === 'µs') return v < 1 ? v.toFixed(3) : v.toFixed(2);
  if (unit === 'MB') return v.toFixed(2);
  return v < 10 ? v.toFixed(3) : v.toFixed(1);
}

/**
 * @param {object} spec
 * @param {string} spec.name
 * @param {string} spec.unit 'µs' (per op) | 'ms' | 'MB'
 * @param {number} [spec.reps]
 * @param {Record<string, () => Promise<() => Promise<number|{value:number, extra?:object}>>>} spec.variants
 *   each returns a sampler; a sample returns the measured value (in `unit`)
 * @param {string} [spec.note]
 */
async function bench(spec) {
  const arg = process.argv.find((a) => a.startsWith('--variant='));
  if (arg) {
    const name = arg.slice('--variant='.length);
    const make = spec.variants[name];
    const sample = await make();
    const reps = spec.reps || 7;
    await sample(); // warm-up
    const values = [];
    const extras = [];
    for (let i = 0; i < reps; i++) {
      const r = await sample();
      if (typeof r === 'number') values.push(r);
      else {
        values.push(r.value);
        if (r.extra) extras.push(r.extra);
      }
    }
    process.stdout.write(`${JSON.stringify({ median: median(values), min: Math.min(...values), max: Math.max(...values), extra: extras[extras.length - 1] })}\n`);
    process.exit(0);
  }
  const results = {};
  for (const name of Object.keys(spec.variants)) {
    if (name === 'node-calls-python' && !peerAvailable()) {
      results[name] = { missing: 'node-calls-python is not installed (npm --prefix bench install)' };
      continue;
    }
    if ((name.startsWith('pythonmonkey') || name.startsWith('pythonia')) && !peersPython()) {
      results[name] = { missing: 'skipped: no Python with pythonmonkey (run `bash bench/peers.sh`, or set PYTHON_TS_PEERS_PYTHON)' };
      continue;
    }
    const env = { ...process.env, ...((spec.env && spec.env(name)) || {}) };
    const r = spawnSync(process.execPath, ['--expose-gc', process.argv[1], `--variant=${name}`], { encoding: 'utf8', cwd: ROOT, env, timeout: 600000 });
    const line = (r.stdout || '').trim().split('\n').pop();
    try {
      results[name] = JSON.parse(line);
    } catch (e) {
      results[name] = { failed: `${(r.stderr || '').trim().split('\n').slice(-3).join(' ')} (status ${r.status})` };
    }
  }
  report(spec, results);
  const summary = { name: spec.name, unit: spec.unit, reps: spec.reps || 7, results, note: spec.note };
  if (process.argv.includes('--json')) process.stdout.write(`\n@@RESULT ${JSON.stringify(summary)}\n`);
  return summary;
}

function report(spec, results) {
  console.log(`\n## ${spec.name} (${spec.unit}, median of ${spec.reps || 7}; lower is better)`);
  const base = results.baseline && results.baseline.median;
  const peerR = results['node-calls-python'] && results['node-calls-python'].median;
  for (const [name, r] of Object.entries(results)) {
    if (r.missing || r.failed) {
      console.log(`  ${name.padEnd(24)} ${r.missing || `failed: ${r.failed}`}`);
      continue;
    }
    let ratios = '';
    if (name.startsWith('python-ts') && peerR) ratios += `  ${(peerR / r.median).toFixed(2)}× faster than the peer`;
    if (name.startsWith('python-ts') && base) ratios += `  ${(r.median / base).toFixed(2)}× the baseline`;
    const extra = r.extra ? `  ${JSON.stringify(r.extra)}` : '';
    console.log(`  ${name.padEnd(24)} ${fmt(r.median, spec.unit).padStart(10)}  (${fmt(r.min, spec.unit)}–${fmt(r.max, spec.unit)})${ratios}${extra}`);
  }
}

/** Time `n` calls of `f` (sync), in µs per call. */
function perCall(f, n) {
  return async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    return Number(process.hrtime.bigint() - t0) / 1e3 / n;
  };
}

/** Time one call of async `f`, in ms. */
function timeMs(f) {
  return async () => {
    const t0 = process.hrtime.bigint();
    const extra = await f();
    const value = Number(process.hrtime.bigint() - t0) / 1e6;
    return extra && typeof extra === 'object' && !Array.isArray(extra) ? { value, extra } : value;
  };
}

/** Event-loop lag while `f` runs: the largest delay of a 1 ms timer, in ms. */
async function withLag(f) {
  let worst = 0;
  let last = process.hrtime.bigint();
  const iv = setInterval(() => {
    const now = process.hrtime.bigint();
    worst = Math.max(worst, Number(now - last) / 1e6 - 1);
    last = now;
  }, 1);
  const r = await f();
  clearInterval(iv);
  return { r, lag: worst };
}

/** A CPython 3.13+ executable from pyenv, for own-GIL contexts (or undefined). */
function python313() {
  const fs = require('fs');
  const os = require('os');
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
  const versions = path.join(root, 'versions');
  if (!fs.existsSync(versions)) return undefined;
  const found = fs.readdirSync(versions).filter((v) => /^3\.(1[3-9])\.\d+$/.test(v)).sort().pop();
  return found ? path.join(versions, found, 'bin', 'python3') : undefined;
}

/**
 * The floor addon (bench/floor/floor_py.c): a sync call and a string echo in plain C, linked to
 * the Python the benchmarks use (PYTHON_TS_PYTHON, else python3 on PATH). Built once into
 * bench/.floor/ with gcc; null when it can't be built here.
 */
function floorAddon() {
  const fs = require('fs');
  const dir = path.join(__dirname, '.floor');
  const exe = process.env.PYTHON_TS_PYTHON || 'python3';
  const q = spawnSync(exe, ['-c', 'import sysconfig as s; print(s.get_paths()["include"]); print(s.get_config_var("LIBDIR")); print(s.get_config_var("LDVERSION"))'], { encoding: 'utf8' });
  if (q.status !== 0) return null;
  const [inc, libdir, ldversion] = q.stdout.trim().split('\n');
  const out = path.join(dir, `floor_py-${ldversion}.node`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    const nodeInc = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((d) => fs.existsSync(path.join(d, 'node_api.h')));
    if (!nodeInc) return null;
    const r = spawnSync('gcc', ['-O2', '-shared', '-fPIC', '-o', out, path.join(__dirname, 'floor', 'floor_py.c'), `-I${nodeInc}`, `-I${inc}`, `-L${libdir}`, `-lpython${ldversion}`, `-Wl,-rpath,${libdir}`], { encoding: 'utf8' });
    if (r.status !== 0) return null;
  }
  return require(out);
}

/** python-ts's clib and the benchmark module imported through it. */
function benchModule() {
  const { clib } = pythonTs();
  clib._set_plugins_path(PY_DIR);
  return { clib, m: clib._import_module('bench_mod') };
}

/** An async `add(1, 2)` through python-ts (callback form as a Promise). */
function pythonTsAsyncAdd() {
  const { clib, m } = benchModule();
  return () => new Promise((res, rej) => clib._call_python(m, 'add', [1, 2], null, null, (e, r) => (e ? rej(e) : res(r))));
}

/** The same through the peer. */
function peerAsyncAdd() {
  const py = peer();
  const m = py.importSync(BENCH_MOD);
  return () => py.call(m, 'add', 1, 2);
}

/**
 * The python-ts and peer variants of an echo benchmark: `bench_mod.echo(value)` timed in ms,
 * each result checked with `ok(result)` (the peer returns bytes as an ArrayBuffer).
 */
function echoVariants(value, ok) {
  return {
    'python-ts': async () => {
      const { clib, m } = benchModule();
      return timeMs(async () => { if (!ok(clib._call_python(m, 'echo', [value]))) throw new Error('bad echo'); });
    },
    'node-calls-python': async () => {
      const py = peer();
      const m = py.importSync(BENCH_MOD);
      return timeMs(async () => { if (!ok(py.callSync(m, 'echo', value))) throw new Error('bad echo'); });
    },
  };
}


/** The Python side of the proxy benchmarks (bench/jsproxy*.js): loops timed in Python. */
const JSPROXY_SOURCE = `
import time
from python_ts import js
try:
    from python_ts import pyobject
except ImportError:  # an earlier build (PYTHON_TS_BENCH_ROOT)
    pyobject = None
def loop(n):
    t = time.perf_counter()
    for _ in range(n):
        js.Math.max(1, 2)
    return (time.perf_counter() - t) / n * 1e6
def loop_bound(n):
    mx = js.Math.max
    t = time.perf_counter()
    for _ in range(n):
        mx(1, 2)
    return (time.perf_counter() - t) / n * 1e6
# The list rows time 20 calls and give the mean per call, as the PythonMonkey rows do.
def list_to_js(f, n=20):
    items = list(range(10000))
    t = time.perf_counter()
    for _ in range(n):
        f(items)
    return (time.perf_counter() - t) / n * 1e6
LIVE_ITEMS = list(range(10000))
def list_live_to_js(f, fresh, n=20):
    # fresh: a new list each time (a new handle and wrapped object; the lists are made before
    # the clock starts); else the same list each time, as the PythonMonkey row passes it.
    lists = [list(range(10000)) for _ in range(n)] if fresh else [LIVE_ITEMS] * n
    t = time.perf_counter()
    for items in lists:
        f(pyobject(items))
    return (time.perf_counter() - t) / n * 1e6
def list_from_js(proxy, n=20):
    t = time.perf_counter()
    for _ in range(n):
        proxy.to_py()
    return (time.perf_counter() - t) / n * 1e6
`;

function jsproxyModule() {
  const { Python } = pythonTs();
  const py = new Python();
  py.exec(JSPROXY_SOURCE);
  return py.import('__main__');
}

/**
 * The Python that runs the in-process peer (PythonMonkey): PYTHON_TS_PEERS_PYTHON, else the venv
 * bench/peers.sh makes (~/.cache/python-ts/bench-peers-venv, or PYTHON_TS_PEERS_VENV) when it is
 * there; null when neither is.
 */
function peersPython() {
  if (process.env.PYTHON_TS_PEERS_PYTHON) return process.env.PYTHON_TS_PEERS_PYTHON;
  const fs = require('fs');
  const os = require('os');
  const venv = process.env.PYTHON_TS_PEERS_VENV || path.join(os.homedir(), '.cache', 'python-ts', 'bench-peers-venv');
  const exe = process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
  return fs.existsSync(exe) ? exe : null;
}

/** A peer's loop in its own Python: `setup` defines `call()`; µs per call. */
function peerLoop(setup, n) {
  const python = peersPython();
  if (!python) throw new Error('no Python with pythonmonkey: run `bash bench/peers.sh` (or set PYTHON_TS_PEERS_PYTHON)');
  const script = `${setup}\nimport time, sys\nfor _ in range(3): call()\nt = time.perf_counter()\nfor _ in range(${n}): call()\nprint((time.perf_counter() - t) / ${n} * 1e6)\nsys.stdout.flush()\nimport os\nos._exit(0)`;
  return async () => {
    // Output to a file, not a pipe, and the peer in a process group of its own, killed after:
    // pythonia's node child inherits the peer's stdio and outlives it (a pipe would never close).
    const fs = require('fs');
    const out = path.join(require('os').tmpdir(), `python-ts-peer-${process.pid}.txt`);
    const fd = fs.openSync(out, 'w');
    const r = spawnSync(python, ['-c', script], { stdio: ['ignore', fd, fd], timeout: 300000, detached: true });
    fs.closeSync(fd);
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch (e) {
      // the group has ended
    }
    const text = fs.readFileSync(out, 'utf8');
    fs.rmSync(out, { force: true });
    const v = Number(text.trim().split('\n').pop());
    if (r.status !== 0 || !Number.isFinite(v)) throw new Error(`the peer failed: ${text.trim().split('\n').slice(-2).join(' ')}`);
    return v;
  };
}

module.exports = { jsproxyModule, peerLoop, peersPython, floorAddon, benchModule, echoVariants, pythonTsAsyncAdd, peerAsyncAdd, python313, bench, perCall, timeMs, withLag, peer, pythonTs, ROOT, PY_DIR, BENCH_MOD, median };
