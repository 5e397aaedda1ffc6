#!/usr/bin/env node
// `npm test`: node's test runner over test/*.test.js (a process per file), the same files in one
// process (on the default runtime and on the newest), the AddressSanitizer run, the layer check,
// cargo's unit tests, fmt and clippy, then the suite under every other N-API host (scripts/test-hosts.js).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const only = process.argv.slice(2);
const files = only.length
  ? only
  : fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('test', f));

let failed = false;
// CPython 3.14 and 3.15 (Debian sid's builds) for the runtime tests, fetched once into the cache
// when no manifest lists extra runtimes yet (about 30 s). PYTHON_TS_NO_FETCH=1 skips it.
if (!only.length && process.env.PYTHON_TS_NO_FETCH !== '1') {
  const os = require('os');
  const manifest = process.env.PYTHON_TS_PYTHONS || path.join(os.homedir(), '.cache', 'python-ts-pythons', 'pythons.json');
  if (!fs.existsSync(manifest)) {
    console.log('# fetching CPython 3.14 and 3.15 for the runtime tests (scripts/pythons-sid.sh)');
    const r = spawnSync('bash', [path.join(root, 'scripts', 'pythons-sid.sh')], { cwd: root, stdio: 'inherit', env: { ...process.env, PYTHON_TS_PYTHONS_ROOT: path.dirname(manifest) } });
    if (r.status !== 0) console.log('# skipped: CPython 3.14 and 3.15 could not be fetched; their runtime tests are skipped');
  }
  // The free-threaded CPython 3.13t, built from source into the cache once (about 4 minutes).
  if (!require('../test/helpers').freeThreadedPythons().length) {
    console.log('# building CPython 3.13t (free-threaded) for the runtime tests (scripts/python-313t.sh)');
    const r = spawnSync('bash', [path.join(root, 'scripts', 'python-313t.sh')], { cwd: root, stdio: 'inherit', env: { ...process.env, PYTHON_TS_PYTHONS_ROOT: path.dirname(manifest) } });
    if (r.status !== 0) console.log('# skipped: CPython 3.13t could not be built; its free-threaded tests are skipped');
  }
  // CPython 3.13 built with AddressSanitizer, for the tests of CPython's own memory use (about 5
  // minutes, once).
  if (!require('../test/helpers').asanPython()) {
    console.log('# building CPython 3.13 with AddressSanitizer for the memory-error tests (scripts/python-313t.sh --asan)');
    const r = spawnSync('bash', [path.join(root, 'scripts', 'python-313t.sh'), '--asan'], { cwd: root, stdio: 'inherit', env: { ...process.env, PYTHON_TS_PYTHONS_ROOT: path.dirname(manifest) } });
    if (r.status !== 0) console.log('# skipped: CPython with AddressSanitizer could not be built; the tests that need it are skipped');
  }
}
// Files that measure parallelism need both cores: they run alone, after the others.
const SOLO = ['free-threaded.test.js'];
const solo = files.filter((f) => SOLO.includes(path.basename(f)));
const shared = files.filter((f) => !solo.includes(f));
const js = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=2', ...shared], { cwd: root, stdio: 'inherit' });
if (js.status !== 0) failed = true;
if (solo.length) {
  const alone = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=1', ...solo], { cwd: root, stdio: 'inherit' });
  if (alone.status !== 0) failed = true;
}
/**
 * One run of the whole suite in one process, bounded: a process that does not end (a hang at
 * exit) fails here with a message instead of reaching CI's own limit.
 */
function oneProcess(node, env) {
  const limitMs = Number(process.env.PYTHON_TS_ONE_PROCESS_LIMIT_MS) || 25 * 60 * 1000;
  const r = spawnSync(node, ['--expose-gc', path.join('scripts', 'test-one-process.js')], { cwd: root, stdio: 'inherit', env, timeout: limitMs, killSignal: 'SIGKILL' });
  if (r.signal) console.error(`# failed: the one-process run did not end within ${limitMs / 60000} min (killed with ${r.signal})`);
  return r.status === 0;
}
if (!only.length) {
  // The same files again in ONE process, sharing one interpreter, as an application does.
  console.log('# the whole JS suite in one process');
  if (!oneProcess(process.execPath, process.env)) failed = true;
  // And on the newest CPython here (3.13+: own-GIL contexts), where one is installed — with the
  // node binary it needs (a manifest runtime may need a newer glibc's).
  const helpers = require('../test/helpers');
  const newest = helpers.supportedPythons().filter((p) => p.version[1] >= 13).pop();
  if (newest) {
    console.log(`# the whole JS suite in one process on ${newest.label}`);
    const env = { ...process.env, PYTHON_TS_PYTHON: newest.exe };
    if (!oneProcess(helpers.nodeFor(env), env)) failed = true;
  } else {
    console.log('# skipped: the one-process run on 3.13+ (no CPython 3.13 or newer found)');
  }
  // And on each free-threaded runtime of the manifest (3.13t): no GIL at all.
  for (const ft of helpers.freeThreadedPythons()) {
    console.log(`# the whole JS suite in one process on ${ft.label} (free-threaded)`);
    const env = { ...process.env, PYTHON_TS_PYTHON: ft.exe };
    if (!oneProcess(helpers.nodeFor(env), env)) failed = true;
  }
  // Memory errors: the reliability, regression and soak tests against an AddressSanitizer build.
  const asan = spawnSync(process.execPath, [path.join('scripts', 'test-asan.js')], { cwd: root, stdio: 'inherit' });
  if (asan.status !== 0) failed = true;
  // The other platforms this machine can run (PYTHON_TS_SKIP_PLATFORMS=1 skips them): linux-ia32
  // natively, the whole suite; linux-arm64 under qemu-user, the files that read CPython's objects
  // directly; linux-x64-musl under Bun's musl build; win32-x64 and win32-ia32 under Wine (load and
  // discovery).
  for (const stage of [['test-linux-arch.js', 'ia32'], ['test-linux-arch.js', 'arm64'], ['test-musl.js'], ['test-wine.js']]) {
    const r = spawnSync(process.execPath, [path.join('scripts', stage[0]), ...stage.slice(1)], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed = true;
  }
  const cargo = (args) => {
    const r = spawnSync('cargo', args, { cwd: root, stdio: 'inherit', env: { ...process.env, PYO3_NO_PYTHON: '1' } });
    if (r.status !== 0) {
      console.error(`# failed: cargo ${args.join(' ')}`);
      failed = true;
    }
  };
  // The layers of src/ point one way (scripts/check-layers.js; its allowlist may only shrink).
  const layers = spawnSync(process.execPath, [path.join('scripts', 'check-layers.js')], { cwd: root, stdio: 'inherit' });
  if (layers.status !== 0) failed = true;
  cargo(['test', '--release', '--lib', '--locked']);
  cargo(['fmt', '--check']);
  cargo(['clippy', '--release', '--lib', '--locked', '--', '-D', 'warnings']);
  // Every other N-API host: Node 18, 22, 24, 26, Bun and Deno (about 10 minutes; installed into
  // the cache once). PYTHON_TS_SKIP_HOSTS=1 skips it.
  if (process.env.PYTHON_TS_SKIP_HOSTS !== '1') {
    const hosts = spawnSync(process.execPath, [path.join('scripts', 'test-hosts.js')], { cwd: root, stdio: 'inherit' });
    if (hosts.status !== 0) failed = true;
  }
}
process.exit(failed ? 1 : 0);
