#!/usr/bin/env node
// The Linux stages for other CPUs: `node scripts/test-linux-arch.js ia32|arm64 [test files]`.
// The addon is cross-built with cargo-zigbuild (glibc 2.28) and run by Debian's Node and CPython
// for that architecture, fetched once with `apt-get download` into the cache through a private
// apt state (the host's apt configuration is left as it is) and unpacked there; the tests run in
// a private mount namespace that overlays /usr/lib and /usr/share with them (Debian's node loads
// its builtins from /usr/share/nodejs; the loader is /lib/ld-linux.so.2 or ld-linux-aarch64.so.1).
// - linux-ia32 runs natively (the kernel runs 32-bit x86 code): the whole suite. This is how every
//   32-bit target (win32-ia32 included) is proven: CPython's object layout changes with the
//   pointer width, and only a 32-bit run shows a wrong offset.
// - linux-arm64 runs under qemu-user (binfmt; qemu-user-static is installed with apt-get when
//   missing): the smoke call and the files that read CPython's objects directly.
// PYTHON_TS_ARCH_FILES=core|all chooses the files; PYTHON_TS_SKIP_PLATFORMS=1 skips.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { copyPackage, q, has, aptInstall, stage } = require('./stage');

const root = path.resolve(__dirname, '..');
const ARCHES = {
  ia32: { deb: 'i386', target: 'i686-unknown-linux-gnu', machine: 3, bits: 32, files: 'all' },
  // under emulation every test runs ~10x slower: the core files whose code differs by CPU
  // (c_char is unsigned on aarch64; layouts, buffers, calls) — not the leak matrix (lifetimes, ~8
  // min there) nor the JS-level files (handles, boundary, wrapper, protocol, datetime)
  arm64: { deb: 'arm64', target: 'aarch64-unknown-linux-gnu', machine: 183, bits: 64, files: 'core', skip: ['lifetimes', 'handles', 'boundary', 'wrapper', 'protocol', 'datetime'], qemu: 'qemu-aarch64' },
};
const arch = process.argv[2];
const A = ARCHES[arch];
if (!A) {
  console.error(`usage: node scripts/test-linux-arch.js ${Object.keys(ARCHES).join('|')} [test files]`);
  process.exit(2);
}
const TAG = `linux-${arch}`;
const W = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts-platforms', A.deb);
const R = path.join(W, 'root');
const CORE = ['strings', 'convert', 'records', 'buffers', 'clib', 'handles', 'callables', 'datetime', 'protocol', 'lifetimes', 'boundary', 'wrapper'];
const PACKAGES = ['nodejs', 'libnode108', 'libc6', 'libuv1', 'libbrotli1', 'libc-ares2', 'libnghttp2-14', 'libssl3', 'zlib1g',
  'libicu72', 'libstdc++6', 'libgcc-s1', 'libpython3.11', 'libpython3.11-minimal', 'libpython3.11-stdlib',
  'python3.11-minimal', 'python3.11', 'libexpat1', 'libffi8', 'libbz2-1.0', 'liblzma5', 'libncursesw6', 'libtinfo6',
  'libreadline8', 'libsqlite3-0', 'libtirpc3', 'libnsl2', 'libcrypt1', 'libdb5.3', 'libuuid1', 'libzstd1', 'libmd0',
  'libgssapi-krb5-2', 'libkrb5-3', 'libk5crypto3', 'libkrb5support0', 'libcom-err2', 'libkeyutils1']
  .map((p) => `${p}:${A.deb}`).concat(['libtirpc-common', 'media-types', 'node-acorn', 'node-cjs-module-lexer', 'node-undici']);

const { say, skip, started } = stage(TAG, { root: true, cmds: ['unshare', 'mount', 'apt-get', 'dpkg', 'rustup'] });
// What the stage needs from the network (rustup's standard library for i686, the zig toolchain
// from PyPI): when it cannot be had, the stage is skipped, as venv tests are without a registry.
try {
  require('./zig').ensureTarget(A.target);
  require('./zig').zigBin();
} catch (e) {
  skip(e.message);
}
// 0. An emulator where the CPU is not this one's: qemu-user through binfmt_misc.
if (A.qemu) {
  const registered = () => fs.existsSync(`/proc/sys/fs/binfmt_misc/${A.qemu}`);
  if (!registered()) {
    if (!has(`${A.qemu}-static`) && !aptInstall(['qemu-user-static', 'binfmt-support'], 'the arm64 emulator')) skip('apt-get could not install qemu-user-static');
    if (!fs.existsSync('/proc/sys/fs/binfmt_misc/register')) spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc']);
    spawnSync('update-binfmts', ['--enable', A.qemu]);
    if (!registered()) skip(`${A.qemu} could not be registered with binfmt_misc`);
  }
}

// 1. The addon for the architecture.
let lib;
try {
  lib = require('./zig').zigbuild(A.target, '2.28', path.join(root, 'target', arch));
} catch (e) {
  console.error(`# failed: ${TAG} build: ${e.message}`);
  process.exit(1);
}
const elf = fs.readFileSync(lib).subarray(0, 20);
if (elf[4] !== (A.bits === 32 ? 1 : 2) || elf.readUInt16LE(18) !== A.machine) {
  console.error(`# failed: ${TAG}: the build is not a ${A.bits}-bit ELF for machine ${A.machine}`);
  process.exit(1);
}

// 2. Debian's node and CPython for the architecture, once.
if (!fs.existsSync(path.join(R, 'usr', 'bin', 'node'))) {
  say(`fetching Debian's ${A.deb} node and CPython (once)`);
  const apt = path.join(W, 'apt');
  for (const d of ['lists/partial', 'cache/archives/partial', 'debs']) fs.mkdirSync(path.join(apt, d), { recursive: true });
  const opts = ['-q', '-o', `APT::Architecture=${A.deb}`, '-o', `APT::Architectures::=${A.deb}`, '-o', `Dir::State::Lists=${apt}/lists`, '-o', `Dir::Cache=${apt}/cache`];
  // An index that fails (a mirror mid-sync) is not fatal while the main ones came.
  spawnSync('apt-get', [...opts, 'update'], { stdio: 'ignore' });
  const debs = path.join(apt, 'debs');
  const dl = spawnSync('apt-get', [...opts, 'download', ...PACKAGES], { cwd: debs, encoding: 'utf8' });
  if (dl.status !== 0) skip(`apt-get could not download Debian's ${A.deb} packages: ${dl.stderr.trim().split('\n').pop()}`);
  for (const f of fs.readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    if (spawnSync('dpkg', ['-x', path.join(debs, f), R], { stdio: 'inherit' }).status !== 0) {
      console.error(`# failed: ${TAG}: dpkg -x ${f}`);
      process.exit(1);
    }
  }
}

// 3. A copy of the package with the cross-built addon (the tests find it at build/Release/).
const pkg = path.join(W, 'package');
if (!copyPackage(pkg, lib)) skip('needs a git checkout to copy the package from');

// 4. The tests, in the namespace.
const which = process.env.PYTHON_TS_ARCH_FILES || A.files;
const files = process.argv.slice(3).length ? process.argv.slice(3)
  : which === 'all' ? fs.readdirSync(path.join(pkg, 'test')).filter((f) => f.endsWith('.test.js')).map((f) => `test/${f}`)
    : CORE.filter((f) => !(A.skip || []).includes(f)).map((f) => `test/${f}.test.js`);
const home = path.join(W, 'home');
fs.mkdirSync(home, { recursive: true });
const node = path.join(R, 'usr', 'bin', 'node');
const script = [
  `mount -t overlay overlay -o lowerdir=${R}/usr/lib:${R}/lib:/usr/lib /usr/lib`,
  `mount -t overlay overlay -o lowerdir=${R}/usr/share:/usr/share /usr/share`,
  fs.existsSync('/usr/bin/python3.11') ? `mount --bind ${R}/usr/bin/python3.11 /usr/bin/python3.11` : 'true',
  `cd ${q(pkg)}`,
  `${q(node)} test/hosts/smoke.js || exit 9`,
  `exec ${q(node)} --expose-gc --test --test-concurrency=2 ${files.map(q).join(' ')}`,
].join(' && ');
const python = fs.existsSync('/usr/bin/python3.11') ? '/usr/bin/python3.11' : path.join(R, 'usr', 'bin', 'python3.11');
const env = {
  PATH: `${R}/usr/bin:/usr/bin:/bin`, HOME: home, PYENV_ROOT: '/nonexistent', PYTHON_TS_PYTHON: python,
  PYTHON_TS_NO_VENVS: '1', PYTHON_TS_SKIP_PLATFORMS: '1', LANG: 'C.UTF-8',
};
say(`${files.length} test file(s) with ${node} (${path.relative(root, lib)})`);
const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], { cwd: pkg, env, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 30 * 60 * 1000, killSignal: 'SIGKILL' });
const out = r.stdout || '';
fs.writeFileSync(path.join(W, 'last-run.log'), out + (r.stderr || ''));
const tally = (k) => Number((out.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) || [0, 0])[1]);
const smoke = (out.match(/^\{"host".*$/m) || [''])[0];
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`| platform | runs with | suite | seconds |`);
console.log(`| --- | --- | --- | --- |`);
console.log(`| ${TAG} | ${smoke ? JSON.parse(smoke).host : 'node (smoke failed)'}, CPython 3.11 (${A.deb}${A.qemu ? ', qemu-user' : ''}) | ${which === 'all' ? 'whole suite' : `${files.length} files`}: ${tally('pass')} passed, ${tally('fail')} failed, ${tally('skipped')} skipped | ${seconds} |`);
if (r.status !== 0) {
  for (const m of out.matchAll(/^not ok \d+ - (.*)$/gm)) console.error(`# failed: ${TAG}: ${m[1]}`);
  console.error(`# failed: the ${TAG} stage (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}); log in ${path.join(W, 'last-run.log')}\n${(r.stderr || '').slice(-2000)}`);
  process.exit(1);
}
