#!/usr/bin/env node
// `npm install` step. One binary serves every CPython, so a package that ships a prebuilt
// build/Release/python_ts.node for this platform uses it when it loads; otherwise (a git
// checkout, no prebuilt, or one that doesn't load) the addon is built from source with cargo
// through node-gyp. PYTHON_TS_BUILD_FROM_SOURCE=1 forces the build.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
// prebuilds/<platform>-<arch>[-<libc>]/ first, then a packed build/Release/ (js/internal/binding.js).
const { candidates } = require('../js/internal/binding');
const prebuilt = candidates({ env: {} }).find((f) => fs.existsSync(f)) || path.join(root, 'build', 'Release', 'python_ts.node');

function loads(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { stdio: 'ignore' });
  return r.status === 0;
}

const checkout = fs.existsSync(path.join(root, '.git'));
const forced = process.env.PYTHON_TS_BUILD_FROM_SOURCE === '1';
if (!checkout && !forced && fs.existsSync(prebuilt) && loads(prebuilt)) {
  // node-gyp consumers look for build/Release/python_ts.node: put the prebuild there too.
  const release = path.join(root, 'build', 'Release', 'python_ts.node');
  if (prebuilt !== release) {
    fs.mkdirSync(path.dirname(release), { recursive: true });
    fs.copyFileSync(prebuilt, release);
  }
  console.log(`python-ts: using the prebuilt addon (${path.relative(root, prebuilt)})`);
  process.exit(0);
}
const gyp = process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp';
const r = spawnSync(gyp, ['rebuild'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.error) {
  console.error(`python-ts: cannot run node-gyp (${r.error.message})`);
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
