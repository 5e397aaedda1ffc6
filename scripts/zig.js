'use strict';
// Cross-builds of the addon with cargo-zigbuild and zig, both from PyPI, installed once into a
// venv in the cache folder: `zigbuild(target, glibc)` → the path of the built library; Windows
// DLLs with mingw-w64 (`mingwbuild`).
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { aptInstall } = require('./stage');

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

/** The file cargo makes for a cdylib on `target`. */
function libraryName(target) {
  if (target.includes('windows')) return 'python_ts.dll';
  if (target.includes('apple')) return 'libpython_ts.dylib';
  return 'libpython_ts.so';
}

/**
 * Environment for a release build of `target` into `targetDir`, stripped; `perTarget` are
 * cargo's settings for that target only (`{ RUSTFLAGS, LINKER }` → CARGO_TARGET_<TRIPLE>_…).
 */
function buildEnv(target, targetDir, perTarget = {}, extra = {}) {
  const env = {
    ...process.env,
    PYO3_NO_PYTHON: '1',
    CARGO_TARGET_DIR: targetDir,
    CARGO_PROFILE_RELEASE_DEBUG: 'false',
    CARGO_PROFILE_RELEASE_STRIP: 'true',
    // whole-program LTO: 5-10 % smaller than the thin LTO of local builds (zig's Mach-O linker
    // ignores the export list, so a macOS build keeps every symbol and needs the room)
    CARGO_PROFILE_RELEASE_LTO: 'fat',
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '1',
    ...extra,
  };
  for (const [k, v] of Object.entries(perTarget)) if (v) env[`CARGO_TARGET_${target.toUpperCase().replace(/-/g, '_')}_${k}`] = v;
  return env;
}

/**
 * Build the addon for `target` (a Rust target triple) against `glibc` (a version, or null),
 * release, stripped, into `targetDir`, with zig as the C toolchain and linker; `rustflags` and
 * `env` for this target only. The Rust standard library of the target is added with rustup when
 * missing. Returns the built shared library. Throws with the reason.
 */
function zigbuild(target, glibc, targetDir, { rustflags, env: extra } = {}) {
  const zig = zigBin();
  ensureTarget(target);
  const env = buildEnv(target, targetDir, { RUSTFLAGS: rustflags }, extra);
  env.PATH = `${zig}${path.delimiter}${process.env.PATH}`;
  const spec = glibc ? `${target}.${glibc}` : target;
  const build = spawnSync('cargo', ['zigbuild', '--release', '--lib', '--locked', '--target', spec], { cwd: root, env, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`cargo zigbuild --target ${spec} failed`);
  return path.join(targetDir, target, 'release', libraryName(target));
}

/**
 * Build for a Windows target with Debian's mingw-w64 (`linker`, e.g.
 * x86_64-w64-mingw32-gcc-posix), installed with apt-get when missing and possible. zig links
 * Windows DLLs too, but exports every symbol (2 000 names, over 2 MB); mingw's ld honours the
 * export list (the two N-API entry points). Returns the DLL. Throws with the reason.
 */
function mingwbuild(target, linker, targetDir) {
  ensureTarget(target);
  if (spawnSync('sh', ['-c', `command -v ${linker}`]).status !== 0) {
    const pkg = linker.replace(/^(x86_64|i686)-w64-mingw32-gcc-posix$/, (m, a) => `gcc-mingw-w64-${a.replace('_', '-')}-posix`);
    if (!aptInstall([pkg], 'the Windows linker')) throw new Error(`needs ${linker} (Debian/Ubuntu: apt-get install ${pkg})`);
  }
  const env = buildEnv(target, targetDir, { LINKER: linker });
  const build = spawnSync('cargo', ['build', '--release', '--lib', '--locked', '--target', target], { cwd: root, env, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`cargo build --target ${target} failed`);
  return path.join(targetDir, target, 'release', libraryName(target));
}

/**
 * `llvm-strip --strip-all` from rustup's llvm-tools (added when missing): for a Mach-O build,
 * whose symbol table zig's linker fills with every Rust symbol (it ignores the export list).
 * What dlsym reads, the export trie, stays; an ad-hoc signature is made again. In place.
 */
function llvmStrip(file) {
  const sysroot = spawnSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).stdout.trim();
  const host = (spawnSync('rustc', ['-vV'], { encoding: 'utf8' }).stdout.match(/^host: (.*)$/m) || [])[1];
  const tool = path.join(sysroot, 'lib', 'rustlib', host || '', 'bin', 'llvm-strip');
  if (!fs.existsSync(tool) && spawnSync('rustup', ['component', 'add', 'llvm-tools'], { stdio: 'inherit' }).status !== 0) {
    throw new Error('rustup could not add llvm-tools (for llvm-strip)');
  }
  const r = spawnSync(tool, ['--strip-all', file], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`llvm-strip ${file} failed`);
}

module.exports = { zigbuild, mingwbuild, llvmStrip, zigBin, ensureTarget };
