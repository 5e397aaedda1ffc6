#!/usr/bin/env node
// `npm test`: node's test runner over test/*.test.js (a process per file), the same files in one
// process (on the default runtime and on the newest), the AddressSanitizer run, the layer check,
// cargo's unit tests, fmt and clippy, then the suite under every other N-API host (scripts/test-hosts.js).
'use strict';
const { spawn, spawnSync } = require('child_process');
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
/**
 * The stages run, each with its result and time, and the failed tests their output named
 * ("not ok" lines of the TAP reports, "# failed:" lines of the stage scripts): printed again at the
 * end, where a CI log's tail shows them.
 */
const stages = [];
const failures = [];
/**
 * Runs a stage: `cmd args` with its output passed through as it comes (and scanned), stderr
 * inherited. `limitMs` kills a stage that does not end (a hang) with a message.
 */
function stage(label, cmd, args, { env = process.env, limitMs = 0 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] });
    let rest = '';
    let last = -1; // the failure whose YAML block may still name its file
    const scan = (text) => {
      for (const line of text.split('\n')) {
        const m = /^\s*not ok \d+ - (.*)$/.exec(line) || /^# failed: (.*)$/.exec(line);
        if (m) last = failures.push(`${label}: ${m[1]}`) - 1;
        const at = last >= 0 && /^\s*location: '(.+):(\d+):\d+'$/.exec(line);
        if (at) {
          failures[last] += ` (${path.relative(root, at[1])}:${at[2]})`;
          last = -1;
        }
      }
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const text = rest + chunk.toString('utf8');
      const cut = text.lastIndexOf('\n');
      scan(text.slice(0, cut + 1));
      rest = text.slice(cut + 1);
    });
    let killed = false;
    const timer = limitMs ? setTimeout(() => { killed = true; child.kill('SIGKILL'); }, limitMs) : null;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      scan(rest);
      if (killed) {
        console.error(`# failed: ${label} did not end within ${limitMs / 60000} min (killed with SIGKILL)`);
        failures.push(`${label}: did not end within ${limitMs / 60000} min`);
      }
      const ok = code === 0 && !killed;
      if (!ok) failed = true;
      stages.push({ label, ok, seconds: Math.round((Date.now() - t0) / 1000), code: signal || code });
      resolve(ok);
    });
  });
}

function summary() {
  console.log('\n# npm test: the stages');
  for (const s of stages) console.log(`#   ${s.ok ? 'ok    ' : 'FAILED'} ${String(s.seconds).padStart(5)} s  ${s.label}${s.ok ? '' : ` (exit ${s.code})`}`);
  if (failures.length) console.log(`# failed tests:\n${[...new Set(failures)].map((f) => `#   ${f}`).join('\n')}`);
  console.log(`# npm test: ${failed ? 'FAILED' : 'passed'}`);
}

async function main() {
  // Files that measure parallelism need both cores: they run alone, after the others.
  const SOLO = ['free-threaded.test.js'];
  const solo = files.filter((f) => SOLO.includes(path.basename(f)));
  const shared = files.filter((f) => !solo.includes(f));
  await stage('the JS suite, a process per file', process.execPath, ['--expose-gc', '--test', '--test-concurrency=2', ...shared]);
  if (solo.length) await stage('the files that measure parallelism, alone', process.execPath, ['--expose-gc', '--test', '--test-concurrency=1', ...solo]);
  /**
   * One run of the whole suite in one process, bounded: a process that does not end (a hang at
   * exit) fails here with a message instead of reaching CI's own limit.
   */
  function oneProcess(label, node, env) {
    const limitMs = Number(process.env.PYTHON_TS_ONE_PROCESS_LIMIT_MS) || 25 * 60 * 1000;
    return stage(label, node, ['--expose-gc', path.join('scripts', 'test-one-process.js')], { env, limitMs });
  }
  if (!only.length) {
    // The same files again in ONE process, sharing one interpreter, as an application does.
    console.log('# the whole JS suite in one process');
    await oneProcess('the JS suite in one process', process.execPath, process.env);
    // And on the newest CPython here (3.13+: own-GIL contexts), where one is installed — with the
    // node binary it needs (a manifest runtime may need a newer glibc's).
    const helpers = require('../test/helpers');
    const newest = helpers.supportedPythons().filter((p) => p.version[1] >= 13).pop();
    if (newest) {
      console.log(`# the whole JS suite in one process on ${newest.label}`);
      const env = { ...process.env, PYTHON_TS_PYTHON: newest.exe };
      await oneProcess(`the JS suite in one process on ${newest.label}`, helpers.nodeFor(env), env);
    } else {
      console.log('# skipped: the one-process run on 3.13+ (no CPython 3.13 or newer found)');
    }
    // And on each free-threaded runtime of the manifest (3.13t): no GIL at all.
    for (const ft of helpers.freeThreadedPythons()) {
      console.log(`# the whole JS suite in one process on ${ft.label} (free-threaded)`);
      const env = { ...process.env, PYTHON_TS_PYTHON: ft.exe };
      await oneProcess(`the JS suite in one process on ${ft.label}`, helpers.nodeFor(env), env);
    }
    // Memory errors: the reliability, regression and soak tests against an AddressSanitizer build.
    await stage('AddressSanitizer', process.execPath, [path.join('scripts', 'test-asan.js')]);
    // The other platforms this machine can run (PYTHON_TS_SKIP_PLATFORMS=1 skips them): linux-ia32
    // natively, the whole suite; linux-arm64 under qemu-user, the files that read CPython's objects
    // directly; linux-x64-musl under Bun's musl build; win32-x64 and win32-ia32 under Wine (load and
    // discovery).
    for (const s of [['test-linux-arch.js', 'ia32'], ['test-linux-arch.js', 'arm64'], ['test-musl.js'], ['test-wine.js']]) {
      await stage(s.join(' '), process.execPath, [path.join('scripts', s[0]), ...s.slice(1)]);
    }
    const cargo = (args) => stage(`cargo ${args[0]}`, 'cargo', args, { env: { ...process.env, PYO3_NO_PYTHON: '1' } });
    // The layers of src/ point one way (scripts/check-layers.js; its allowlist may only shrink).
    await stage('layers', process.execPath, [path.join('scripts', 'check-layers.js')]);
    await cargo(['test', '--release', '--lib', '--locked']);
    await cargo(['fmt', '--check']);
    await cargo(['clippy', '--release', '--lib', '--locked', '--', '-D', 'warnings']);
    // Every other N-API host: Node 18, 22, 24, 26, Bun and Deno (about 10 minutes; installed into
    // the cache once). PYTHON_TS_SKIP_HOSTS=1 skips it.
    if (process.env.PYTHON_TS_SKIP_HOSTS !== '1') {
      await stage('the other N-API hosts', process.execPath, [path.join('scripts', 'test-hosts.js')]);
    }
  }
  summary();
  process.exit(failed ? 1 : 0);
}
main();
