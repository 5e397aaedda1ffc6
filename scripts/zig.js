'use strict';
// Cross-builds of the addon with cargo-zigbuild and zig, both from PyPI, installed once into a
// venv in the cache folder: `zigbuild(target, glibc)` → the path of the built library.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts', 'zig-venv');
const bin = path.join(cache, 'bin');

/** The venv's bin folder with cargo-zigbuild, made the first time. Throws with the reason. */
function zigBin() {
  if (fs.existsSync(path.join(bin, 'cargo-zigbuild'))) return bin;
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!python) throw new Error('needs python3 to install cargo-zigbuild and ziglang');
  if (spawnSync(python, ['-m', 'venv', cache], { stdio: 'inherit' }).status !== 0) throw new Error(`cannot make a venv in ${cache}`);
  const pip = spawnSync(path.join(bin, 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', 'cargo-zigbuild', 'ziglang'], { stdio: 'inherit' });
  if (pip.status !== 0) throw new Error('cannot install cargo-zigbuild and ziglang with pip');
  return bin;
}

/** Add the Rust standard library of `target` with rustup when missing. Throws with the reason. */
function ensureTarget(target) {
  const installed = spawnSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' });
  if (installed.status !== 0) throw new Error('rustup cannot list its targets');
  if (installed.stdout.split('\n').includes(target)) return;
  if (spawnSync('rustup', ['target', 'add', target], { stdio: 'inherit' }).status !== 0) throw new Error(`rustup could not add the ${target} standard library`);
}

/**
 * Build the addon for `target` (a Rust target triple) against `glibc` (a version, or null),
 * release, stripped, into `targetDir`. The Rust standard library of the target is added with
 * rustup when missing. Returns the built shared library. Throws with the reason.
 */
function zigbuild(target, glibc, targetDir) {
  const zig = zigBin();
  ensureTarget(target);
  const env = {
    ...process.env,
    PATH: `${zig}${path.delimiter}${process.env.PATH}`,
    PYO3_NO_PYTHON: '1',
    CARGO_TARGET_DIR: targetDir,
    CARGO_PROFILE_RELEASE_DEBUG: 'false',
    CARGO_PROFILE_RELEASE_STRIP: 'true',
  };
  const spec = glibc ? `${target}.${glibc}` : target;
  const build = spawnSync('cargo', ['zigbuild', '--release', '--lib', '--locked', '--target', spec], { cwd: root, env, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`cargo zigbuild --target ${spec} failed`);
  return path.join(targetDir, target, 'release', 'libpython_ts.so');
}

module.exports = { zigbuild, zigBin, ensureTarget };
