#!/usr/bin/env node
// `npm test`: node's test runner over test/*.test.js, then cargo's unit tests.
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
  const rs = spawnSync('cargo', ['test', '--release', '--lib', '--locked'], { cwd: root, stdio: 'inherit', env: { ...process.env, PYO3_NO_PYTHON: '1' } });
  if (rs.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
