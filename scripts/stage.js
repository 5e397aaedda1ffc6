'use strict';
// What the platform stages (scripts/test-linux-arch.js, test-musl.js) share: a copy of the
// package with another build of the addon at build/Release/, where the tests find it.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

/** Copy the checkout's files (tracked and new, not ignored) to `dest` with `addon` as its build; false without git. */
function copyPackage(dest, addon) {
  fs.rmSync(dest, { recursive: true, force: true });
  const listed = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) return false;
  for (const f of listed.stdout.split('\n').filter(Boolean)) {
    const from = path.join(root, f);
    if (!fs.existsSync(from) || fs.statSync(from).isDirectory()) continue;
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, f));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dest, 'node_modules'));
  fs.mkdirSync(path.join(dest, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(addon, path.join(dest, 'build', 'Release', 'python_ts.node'));
  return true;
}

/** A shell word. */
const q = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

module.exports = { copyPackage, q };
