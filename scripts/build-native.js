#!/usr/bin/env node
// Builds the Rust addon with cargo (release) and copies the library to the path node-gyp expects
// (build/Release/python_ts.node). Called by binding.gyp; also usable directly.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.resolve(root, process.argv[2] || 'build/Release/python_ts.node');
const args = ['build', '--release', '--lib'];
if (fs.existsSync(path.join(root, 'Cargo.lock'))) args.push('--locked');
const r = spawnSync('cargo', args, { cwd: root, stdio: 'inherit', env: { ...process.env, PYO3_NO_PYTHON: '1' } });
if (r.error) {
  console.error(`python-ts: cannot run cargo (${r.error.message}). Install Rust (rustup) to build from source.`);
  process.exit(1);
}
if (r.status !== 0) process.exit(r.status || 1);

const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const names = { linux: 'libpython_ts.so', darwin: 'libpython_ts.dylib', win32: 'python_ts.dll' };
const lib = path.join(targetDir, 'release', names[process.platform] || 'libpython_ts.so');
fs.mkdirSync(path.dirname(out), { recursive: true });
// Copy to a temporary name and rename: a process that has the old file mapped keeps it intact.
const tmp = `${out}.tmp-${process.pid}`;
fs.copyFileSync(lib, tmp);
fs.renameSync(tmp, out);
