'use strict';
// What the platform stages (scripts/test-linux-arch.js, test-musl.js, test-wine.js) and the
// cross builds (scripts/zig.js) share: the host checks every stage starts with, Debian packages
// installed with apt-get when missing, and a copy of the package with another build of the addon
// at build/Release/, where the tests find it.
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

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Install Debian packages with apt-get (root only), reading the package lists again when the
 * first try fails. `arch` (e.g. 'i386') enables that dpkg architecture first. True when done.
 */
function aptInstall(pkgs, why, arch = null) {
  if (!isRoot || !has('apt-get')) return false;
  console.log(`python-ts: installing ${pkgs.join(' ')} with apt-get (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = () => spawnSync('apt-get', ['update', '-q'], { env, stdio: 'inherit' });
  if (arch) {
    const foreign = spawnSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).stdout || '';
    if (!foreign.split('\n').includes(arch)) {
      if (spawnSync('dpkg', ['--add-architecture', arch], { stdio: 'inherit' }).status !== 0) return false;
      update();
    }
  }
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env, stdio: 'inherit' }).status === 0;
  if (install()) return true;
  update();
  return install();
}

/**
 * A platform stage's start: its messages (`say`, `skip` exits 0, `fail` exits 1) and the checks
 * every stage makes — PYTHON_TS_SKIP_PLATFORMS, a linux-x64 host, root when `root` (a mount
 * namespace), the commands in `cmds`.
 */
function stage(tag, { root = false, cmds = [] } = {}) {
  const s = {
    say: (m) => console.log(`# ${tag}: ${m}`),
    skip: (why) => {
      console.log(`# skipped: the ${tag} stage (${why})`);
      process.exit(0);
    },
    fail: (why) => {
      console.error(`# failed: ${tag}: ${why}`);
      process.exit(1);
    },
    started: Date.now(),
  };
  if (process.env.PYTHON_TS_SKIP_PLATFORMS === '1') s.skip('PYTHON_TS_SKIP_PLATFORMS=1');
  if (process.platform !== 'linux' || process.arch !== 'x64') s.skip(`needs a linux-x64 host, this is ${process.platform}-${process.arch}`);
  if (root && !isRoot) s.skip('needs root for its mount namespace');
  for (const cmd of cmds) if (!has(cmd)) s.skip(`needs ${cmd}`);
  return s;
}

/** A shell word. */
const q = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

module.exports = { copyPackage, q, has, aptInstall, stage };
