'use strict';
// src/runtime: discovery, start-up, re-init, threads and signals, across every CPython here.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { runNode, runNodeAsync, lastJson, findPythons, supportedPythons, reinitSafe, tmpdir, nodeFor } = require('./helpers');

const pythons = supportedPythons();

const PROBE = `
const { clib } = require('.');
const out = {};
out.version = clib._eval("'%d.%d' % sys.version_info[:2]");
clib._exec("import ssl, hashlib, zlib, sqlite3, decimal, json, ctypes, datetime, asyncio");
out.md5 = clib._eval("hashlib.md5(b'abc').hexdigest()");
out.sqlite = clib._eval("sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0]");
out.decimal = clib._eval("str(decimal.Decimal('1.1') + decimal.Decimal('2.2'))");
out.zlib = clib._eval("zlib.decompress(zlib.compress(b'x' * 100)) == b'x' * 100");
out.ssl = clib._eval("ssl.OPENSSL_VERSION");
out.executable = clib._eval("sys.executable");
out.prefix = clib._eval("sys.prefix");
out.stdlib = clib._eval("os.path.dirname(os.__file__)");
out.destroyed = clib._destroy_python();
try {
  out.reinit = clib._init_python();
  clib._exec("import ssl, decimal, asyncio, json");
  out.afterReinit = clib._eval("str(decimal.Decimal('2.5') * 2)");
} catch (e) { out.reinitError = e.message; }
console.log(JSON.stringify(out));
`;

test('at least one supported CPython (>= 3.8) is on this machine', () => {
  assert.ok(pythons.length > 0, 'no CPython >= 3.8 found');
});

for (const py of pythons) {
  test(`${py.label}: loads, imports C extension modules, finalizes and re-initialises`, async () => {
    const r = await runNodeAsync(PROBE, { env: { PYTHON_TS_PYTHON: py.exe } });
    const out = lastJson(r);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(out.version, `${py.version[0]}.${py.version[1]}`);
    assert.strictEqual(out.md5, '900150983cd24fb0d6963f7d28e17f72');
    assert.strictEqual(out.sqlite, 42);
    assert.strictEqual(out.decimal, '3.3');
    assert.strictEqual(out.zlib, true);
    assert.match(out.ssl, /SSL/);
    assert.ok(fs.existsSync(out.executable), `sys.executable ${out.executable} exists`);
    assert.match(out.stdlib, new RegExp(`python${py.version[0]}\\.${py.version[1]}$`));
    assert.strictEqual(out.destroyed, true);
    if (!reinitSafe(py)) {
      assert.match(out.reinitError, new RegExp(`re-initialising CPython ${py.version[0]}\\.${py.version[1]} .* not safe`));
    } else {
      assert.strictEqual(out.reinit, true, out.reinitError);
      assert.strictEqual(out.afterReinit, '5.0');
    }
  });
}

test('a venv: its packages are importable, sys.executable is real, multiprocessing spawn and forkserver work', async (t) => {
  const base = pythons.find((p) => p.version[1] === 11) || pythons[pythons.length - 1];
  const dir = tmpdir();
  const venv = path.join(dir, 'venv');
  const made = require('child_process').spawnSync(base.exe, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
  assert.strictEqual(made.status, 0, made.stderr);
  const site = fs.readdirSync(path.join(venv, 'lib'))[0];
  fs.writeFileSync(path.join(venv, 'lib', site, 'site-packages', 'venv_marker.py'), 'WHERE = "venv"\n');
  const r = await runNodeAsync(`
    const { clib } = require('.');
    clib._exec(\`
import multiprocessing, venv_marker
def run(method):
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        return pool.map(abs, [-1, -2, -3])
\`);
    const out = {
      prefix: clib._eval('sys.prefix'), base: clib._eval('sys.base_prefix'), exe: clib._eval('sys.executable'),
      marker: clib._eval('venv_marker.WHERE'), spawn: clib._eval("run('spawn') == [1, 2, 3]"), forkserver: clib._eval("run('forkserver') == [1, 2, 3]"),
    };
    console.log(JSON.stringify(out));`, { env: { PYTHON_TS_PYTHON: path.join(venv, 'bin', 'python') } });
  const out = lastJson(r);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(out.prefix, venv);
  assert.strictEqual(out.base, base.dir || '/usr');
  assert.strictEqual(out.exe, path.join(venv, 'bin', 'python'));
  assert.strictEqual(out.marker, 'venv');
  assert.strictEqual(out.spawn, true);
  assert.strictEqual(out.forkserver, true);
});

test('a folder with the shared library (embedded layout): version from the name, home from the layout', (t) => {
  const py = pythons.filter((p) => p.dir).pop();
  if (!py) return t.skip('no pyenv-style install');
  const lib = path.join(py.dir, 'lib');
  for (const target of [lib, path.join(lib, fs.readdirSync(lib).find((f) => /^libpython3\.\d+\.so/.test(f)))]) {
    const r = runNode(`const { clib } = require('.');
      console.log(JSON.stringify({ v: clib._eval("'%d.%d' % sys.version_info[:2]"), j: clib._eval("__import__('json').dumps([1])"), info: clib._runtime_info() }));`,
    { env: { PYTHON_TS_PYTHON: target } });
    const out = lastJson(r);
    assert.strictEqual(out.v, `${py.version[0]}.${py.version[1]}`);
    assert.strictEqual(out.j, '[1]');
    assert.strictEqual(out.info.home, py.dir);
  }
});

test('CPython 3.6 and 3.7 are refused by name, and a correct runtime chosen next still loads', (t) => {
  const old = findPythons().filter((p) => p.version[0] === 3 && p.version[1] < 8);
  if (!old.length) return t.skip('no CPython < 3.8 here');
  const good = pythons.filter((p) => !p.node).pop(); // loadable by this node
  for (const py of old) {
    const r = runNode(`const { clib } = require('.');
      const out = {};
      clib._set_runtime_path(${JSON.stringify(py.exe)});
      try { clib._init_python(); } catch (e) { out.error = e.message; }
      clib._set_runtime_path(${JSON.stringify(good.exe)});
      out.after = clib._eval("'%d.%d' % sys.version_info[:2]");
      console.log(JSON.stringify(out));`);
    const out = lastJson(r);
    assert.match(out.error, new RegExp(`needs CPython 3\\.8 or newer; found 3\\.${py.version[1]}\\.`));
    assert.strictEqual(out.after, `${good.version[0]}.${good.version[1]}`);
  }
});

test('a path that does not exist gives an Error naming it', () => {
  const r = runNode(`const { clib } = require('.');
    try { clib._eval('1'); } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
  { env: { PYTHON_TS_PYTHON: '/no/such/python3' } });
  const out = lastJson(r);
  assert.strictEqual(out.name, 'Error');
  assert.match(out.message, /\/no\/such\/python3/);
  assert.strictEqual(r.status, 0);
});

test('a second runtime in the same process is refused: one libpython per process', () => {
  if (pythons.length < 2) return;
  const [a, b] = [pythons[0], pythons[pythons.length - 1]];
  const r = runNode(`const { clib } = require('.');
    clib._init_python();
    try { clib._set_runtime_path(${JSON.stringify(b.exe)}); console.log('{}'); } catch (e) { console.log(JSON.stringify({ message: e.message })); }`,
  { env: { PYTHON_TS_PYTHON: a.exe } });
  assert.match(lastJson(r).message, /one libpython per process/);
});

test('python3 on PATH is used by default, and the discovery answer is cached', () => {
  const py = pythons.filter((p) => !p.node).pop(); // loadable by this node
  const dir = tmpdir();
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const log = path.join(dir, 'calls.log');
  fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\necho call >> ${log}\nexec ${py.exe} "$@"\n`, { mode: 0o755 });
  const env = { PYTHON_TS_PYTHON: '', PATH: `${bin}:${process.env.PATH}`, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const src = `const { clib } = require('.'); console.log(JSON.stringify({ v: clib._eval("'%d.%d' % sys.version_info[:2]"), exe: clib._eval('sys.executable'), src: clib._runtime_info().source }));`;
  const first = lastJson(runNode(src, { env }));
  const second = lastJson(runNode(src, { env }));
  assert.strictEqual(first.v, `${py.version[0]}.${py.version[1]}`);
  assert.match(first.src, /python3 on PATH/);
  assert.strictEqual(second.v, first.v);
  assert.strictEqual(fs.readFileSync(log, 'utf8').trim().split('\n').length, 1, 'the interpreter was asked once');
});

test('_init_python is idempotent and every clib function initialises Python itself; __main__ has sys and os', () => {
  const r = runNode(`const { clib } = require('.');
    const a = clib._eval("type(sys).__name__ + type(os).__name__");
    console.log(JSON.stringify({ a, init1: clib._init_python(), init2: clib._init_python() }));`);
  assert.deepStrictEqual(lastJson(r), { a: 'modulemodule', init1: true, init2: true });
});

test('_set_plugins_path puts the folder first on sys.path, before and after init', () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'plug_a.py'), 'X = 1\n');
  const r = runNode(`const { clib } = require('.');
    clib._set_plugins_path(${JSON.stringify(dir)});
    const before = clib._eval('sys.path[0]');
    clib._exec('sys.path.append("/tmp/elsewhere")');
    clib._set_plugins_path('/tmp/elsewhere');
    const after = clib._eval('sys.path[0]');
    const count = clib._eval('sys.path.count("/tmp/elsewhere")');
    console.log(JSON.stringify({ before, after, count, x: clib._eval('__import__("plug_a").X') }));`);
  assert.deepStrictEqual(lastJson(r), { before: dir, after: '/tmp/elsewhere', count: 1, x: 1 });
});

test('Python threads started by user code keep running between calls', async () => {
  const r = await runNodeAsync(`const { clib } = require('.');
    clib._exec("import threading, time\\ncount = 0\\ndef work():\\n    global count\\n    while count < 10**9:\\n        count += 1\\n        time.sleep(0.001)\\nthreading.Thread(target=work, daemon=True).start()");
    const a = clib._eval('count');
    setTimeout(() => { const b = clib._eval('count'); console.log(JSON.stringify({ a, b })); }, 300);`);
  const { a, b } = lastJson(r);
  assert.ok(b - a > 20, `the thread advanced from ${a} to ${b} while JS was idle`);
});

test('signal.signal() in Python raises ValueError and Node keeps its SIGINT handler', () => {
  const r = runNode(`const { clib } = require('.');
    let fired = false;
    process.on('SIGINT', () => { fired = true; });
    let err;
    try { clib._exec("import signal\\nsignal.signal(signal.SIGINT, lambda *a: None)"); } catch (e) { err = e; }
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => console.log(JSON.stringify({ fired, name: err && err.name, msg: err && err.message })), 200);`);
  const out = lastJson(r);
  assert.strictEqual(out.fired, true);
  assert.strictEqual(out.name, 'ValueError');
  assert.match(out.msg, /main thread/);
  assert.strictEqual(r.status, 0);
});

test('SystemExit and KeyboardInterrupt are ordinary errors; the exit code stays Node\'s', () => {
  const r = runNode(`const { clib, PythonError } = require('.');
    const out = [];
    for (const code of ['raise SystemExit(3)', 'import sys; sys.exit()', 'raise KeyboardInterrupt']) {
      try { clib._exec(code); } catch (e) { out.push([e instanceof PythonError, e.name]); }
    }
    out.push(clib._eval('1 + 1'));
    console.log(JSON.stringify(out));
    process.exitCode = 7;`);
  assert.deepStrictEqual(lastJson(r), [[true, 'SystemExit'], [true, 'SystemExit'], [true, 'KeyboardInterrupt'], 2]);
  assert.strictEqual(r.status, 7);
});

test('the addon loads and runs Python in a worker thread', () => {
  const r = runNode(`const { Worker } = require('worker_threads');
    const w = new Worker(${JSON.stringify(`const { clib } = require(${JSON.stringify(path.resolve(__dirname, '..'))}); require('worker_threads').parentPort.postMessage(clib._eval('6 * 7'));`)}, { eval: true });
    w.on('message', (m) => { console.log(JSON.stringify({ m })); });
    w.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); });`);
  assert.deepStrictEqual(lastJson(r), { m: 42 });
  assert.strictEqual(r.status, 0);
});

test('atexit handlers run at a normal exit (Python is finalized on its own thread)', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec("import atexit\\natexit.register(lambda: print('atexit ran', flush=True))");`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /atexit ran/);
});

test('an atexit handler that never returns does not keep node from exiting (the exit waits a bounded time)', () => {
  // The handler runs on the Python thread; the process still exits, with code 0 and one line
  // saying why Python was not waited for. (Before: node hung for ever in the exit hook.)
  const r = runNode(`const { clib } = require('.');
    clib._exec("import atexit, threading\\natexit.register(lambda: (print('handler started', flush=True), threading.Event().wait()))");
    console.log('js done');`, { env: { PYTHON_TS_EXIT_FINALIZE_MS: '300', PYTHON_TS_EXIT_WAIT_MS: '100' }, timeout: 120000 });
  assert.strictEqual(r.signal, null, `node did not exit by itself: ${r.stderr}`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /js done\nhandler started/);
  assert.match(r.stderr, /did not finish ending within 400 ms at exit/);
});

test('a library that cannot be loaded gives an Error with the loader\'s own reason', () => {
  const dir = tmpdir();
  const lib = path.join(dir, 'libpython3.11.so.1.0');
  fs.writeFileSync(lib, 'not an ELF file');
  const r = runNode(`const { clib } = require('.');
    try { clib._set_runtime_path(${JSON.stringify(lib)}); clib._init_python(); console.log(JSON.stringify({ loaded: true })); }
    catch (e) { console.log(JSON.stringify({ message: e.message })); }`);
  const out = lastJson(r);
  assert.match(out.message, /cannot load .*libpython3\.11\.so\.1\.0: dlopen failed: .*(invalid ELF header|file too short)/);
});

// What Python's start-up decides, read back from sys: the PEP 741 path must give what the legacy
// calls gave (PyInitConfig_Create starts from the isolated configuration).
const STARTUP_PROBE = `const { clib } = require('.');
clib._exec(\`import sys, locale, signal, site
info = dict(flags=str(sys.flags), path=sys.path, prefix=sys.prefix, base_prefix=sys.base_prefix,
  executable=sys.executable, ctype=locale.setlocale(locale.LC_CTYPE), fsenc=sys.getfilesystemencoding(),
  sigint=str(signal.getsignal(signal.SIGINT)), user_site=site.ENABLE_USER_SITE, argv=sys.argv,
  stdout=[sys.stdout.encoding, sys.stdout.errors], warnoptions=sys.warnoptions, xoptions=sys._xoptions)\`);
console.log(JSON.stringify({ init: clib._runtime_info().init, info: clib._eval('info') }));`;

const newest = pythons.filter((p) => p.version[0] === 3 && p.version[1] >= 14);
if (!newest.length) test('PEP 741 start-up on 3.14+', (t) => t.skip('no CPython 3.14+ here (the manifest of ../pythons.sh lists them)'));
for (const py of newest) {
  test(`${py.label}: starts through PEP 741's PyInitConfig, with the same sys as the legacy calls gave`, async (t) => {
    const venv = path.join(tmpdir(), 'venv');
    const made = require('child_process').spawnSync(py.exe, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    const cases = [
      ['plain', {}],
      ['environment variables', { PYTHONPATH: '/tmp/python-ts-extra', PYTHONUTF8: '1', PYTHONDONTWRITEBYTECODE: '1', PYTHONWARNINGS: 'ignore' }],
      ['C locale, no user site', { LC_ALL: 'C', PYTHONNOUSERSITE: '1', PYTHONSAFEPATH: '1' }],
    ];
    if (made.status === 0) cases.push(['venv', { PYTHON_TS_PYTHON: path.join(venv, 'bin', 'python') }]);
    else t.diagnostic(`no venv from ${py.exe}: ${made.stderr}`);
    for (const [name, extra] of cases) {
      const env = { PYTHON_TS_PYTHON: py.exe, ...extra };
      const node = nodeFor({ PYTHON_TS_PYTHON: py.exe }); // a venv of it needs the same node
      const now = lastJson(await runNodeAsync(STARTUP_PROBE, { env, node }));
      assert.strictEqual(now.init, 'PyInitConfig', name);
      const legacy = lastJson(await runNodeAsync(STARTUP_PROBE, { env: { ...env, PYTHON_TS_INIT: 'legacy' }, node }));
      if (legacy.init !== 'Py_InitializeEx') {
        t.diagnostic(`${py.label} has no legacy init calls to compare with`);
        continue;
      }
      assert.deepStrictEqual(now.info, legacy.info, name);
      if (name === 'venv') assert.strictEqual(now.info.prefix, venv);
      if (name === 'environment variables') assert.ok(now.info.path.includes('/tmp/python-ts-extra'));
    }
  });
}
