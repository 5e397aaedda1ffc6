#!/usr/bin/env node
// `npm test`: node's test runner over test/*.test.js (a process per file), the same files in one
// process, then cargo's unit tests.
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
const js = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=2', ...files], { cwd: root, stdio: 'inherit' });
if (js.status !== 0) failed = true;
if (!only.length) {
  // The same files again in ONE process, sharing one interpreter, as an application does.
  console.log('# the whole JS suite in one process');
  const one = spawnSync(process.execPath, ['--expose-gc', path.join('scripts', 'test-one-process.js')], { cwd: root, stdio: 'inherit' });
  if (one.status !== 0) failed = true;
  // And on the newest CPython here (3.13+: own-GIL contexts), where one is installed — with the
  // node binary it needs (a manifest runtime may need a newer glibc's).
  const helpers = require('../test/helpers');
  const newest = helpers.supportedPythons().filter((p) => p.version[1] >= 13).pop();
  if (newest) {
    console.log(`# the whole JS suite in one process on ${newest.label}`);
    const env = { ...process.env, PYTHON_TS_PYTHON: newest.exe };
    const r = spawnSync(helpers.nodeFor(env), ['--expose-gc', path.join('scripts', 'test-one-process.js')], { cwd: root, stdio: 'inherit', env });
    if (r.status !== 0) failed = true;
  } else {
    console.log('# skipped: the one-process run on 3.13+ (no CPython 3.13 or newer found)');
  }
  // Memory errors: the reliability, regression and soak tests against an AddressSanitizer build.
  const asan = spawnSync(process.execPath, [path.join('scripts', 'test-asan.js')], { cwd: root, stdio: 'inherit' });
  if (asan.status !== 0) failed = true;
  const cargo = (args) => {
    const r = spawnSync('cargo', args, { cwd: root, stdio: 'inherit', env: { ...process.env, PYO3_NO_PYTHON: '1' } });
    if (r.status !== 0) {
      console.error(`# failed: cargo ${args.join(' ')}`);
      failed = true;
    }
  };
  cargo(['test', '--release', '--lib', '--locked']);
  cargo(['fmt', '--check']);
  cargo(['clippy', '--release', '--lib', '--locked', '--', '-D', 'warnings']);
}
process.exit(failed ? 1 : 0);
