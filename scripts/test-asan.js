#!/usr/bin/env node
// The memory-error check: builds the addon with AddressSanitizer (nightly Rust,
// -Zsanitizer=address) into target/asan, then runs the reliability, regression, soak, strings and records tests
// (and the leak matrix) against it with the ASan runtime preloaded into node (node itself is not instrumented; the
// runtime's malloc/free and memcpy interceptors still check every allocation of the process —
// CPython's and V8's included — for double frees, use-after-free and overflows, and our own code
// is fully instrumented). Any ASan report fails the run.
//
//   node scripts/test-asan.js            (npm test runs it when nightly and libasan exist)
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const RUNTIMES = ['/usr/lib/x86_64-linux-gnu/libasan.so.8', '/usr/lib/x86_64-linux-gnu/libasan.so.6'];
const runtime = RUNTIMES.find((f) => fs.existsSync(f));
const nightly = spawnSync('cargo', ['+nightly', '--version'], { encoding: 'utf8' });
if (process.platform !== 'linux' || process.arch !== 'x64' || !runtime || nightly.status !== 0) {
  console.log('# skipped: the AddressSanitizer check needs Linux x64, a nightly Rust toolchain and libasan (Debian: libasan8)');
  process.exit(0);
}

const target = path.join(root, 'target', 'asan');
const build = spawnSync('cargo', ['+nightly', 'build', '--release', '--lib', '--locked', '--target', 'x86_64-unknown-linux-gnu'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PYO3_NO_PYTHON: '1', CARGO_TARGET_DIR: target, RUSTFLAGS: '-Zsanitizer=address' },
});
if (build.status !== 0) process.exit(build.status || 1);
const addon = path.join(target, 'python_ts-asan.node');
fs.copyFileSync(path.join(target, 'x86_64-unknown-linux-gnu', 'release', 'libpython_ts.so'), addon);

const files = process.argv.slice(2).length ? process.argv.slice(2) : ['test/reliability.test.js', 'test/regressions.test.js', 'test/soak.test.js', 'test/strings.test.js', 'test/records.test.js', 'test/lifetimes.test.js'];
const env = {
  ...process.env,
  LD_PRELOAD: runtime,
  // Leak reports would list CPython's and V8's intentional process-lifetime allocations.
  ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:exitcode=86',
  PYTHON_TS_ADDON: addon,
  PYTHON_TS_SOAK_MS: process.env.PYTHON_TS_SOAK_MS || '10000',
  // The leak matrix with 2 000 objects per holder (counts are exact at any size; RSS is not
  // checked under the sanitizer, whose quarantine keeps freed memory).
  PYTHON_TS_LEAK_N: process.env.PYTHON_TS_LEAK_N || '2000',
};
console.log(`# AddressSanitizer run: ${files.join(' ')} against ${path.relative(root, addon)} (${runtime})`);
const r = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=1', ...files], { cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 28 });
process.stdout.write(r.stdout);
process.stderr.write(r.stderr);
const reports = (r.stdout + r.stderr).match(/ERROR: AddressSanitizer[^\n]*/g) || [];
console.log(`# AddressSanitizer reports: ${reports.length}${reports.length ? '\n# ' + reports.join('\n# ') : ''}`);
process.exit(r.status === 0 && reports.length === 0 ? 0 : 1);
