#!/usr/bin/env node
// `npm pack` (prepack): the addon built for distribution into prebuilds/linux-x64-glibc/ —
// release, no debug info, stripped, and linked against glibc 2.28 so that it loads wherever
// official Node builds run (RHEL/Rocky 8, Ubuntu 20.04, Debian 11, Amazon Linux 2). The
// toolchain is cargo-zigbuild with zig, both from PyPI, installed once into a venv in the cache
// folder. A local `npm install` from a clone still builds with plain cargo (binding.gyp).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const GLIBC = '2.28';
const TARGET = 'x86_64-unknown-linux-gnu';
const die = (m) => {
  console.error(`python-ts build-dist: ${m}`);
  process.exit(1);
};
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`python-ts build-dist: no distribution build for ${process.platform}-${process.arch} here; prebuilds/ is packed as it is`);
  process.exit(0);
}

const targetDir = path.join(root, 'target', 'dist');
let lib;
try {
  lib = require('./zig').zigbuild(TARGET, GLIBC, targetDir);
} catch (e) {
  die(e.message);
}
const outDir = path.join(root, 'prebuilds', 'linux-x64-glibc');
fs.mkdirSync(outDir, { recursive: true });
const out = path.join(outDir, 'python_ts.node');
fs.copyFileSync(lib, out);

// Checks: glibc symbol versions, no libpython, size, and that it loads.
const dyn = spawnSync('objdump', ['-T', out], { encoding: 'utf8' });
if (dyn.status === 0) {
  const versions = [...new Set(dyn.stdout.match(/GLIBC_[0-9.]+/g) || [])].map((v) => v.slice(6).split('.').map(Number));
  const max = versions.sort((a, b) => a[0] - b[0] || a[1] - b[1]).pop() || [0, 0];
  if (max[0] > 2 || (max[0] === 2 && max[1] > 28)) die(`needs glibc ${max.join('.')} (more than ${GLIBC})`);
  if (/\s_?Py[A-Z_]/.test(spawnSync('nm', ['-D', '--undefined-only', out], { encoding: 'utf8' }).stdout)) die('links libpython');
  console.log(`python-ts build-dist: ${path.relative(root, out)}: ${(fs.statSync(out).size / 1048576).toFixed(2)} MB, glibc >= ${max.join('.')}`);
}
const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(out)})`], { stdio: 'inherit' });
if (load.status !== 0) die('the distribution build does not load');
