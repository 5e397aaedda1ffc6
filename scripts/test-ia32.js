#!/usr/bin/env node
// The linux-ia32 stage: the addon built for i686 (cargo-zigbuild, glibc 2.28) and run natively —
// the kernel runs 32-bit x86 code, no emulator — by Debian's i386 Node and CPython. Both are
// fetched once with `apt-get download` into the cache, through a private apt state (the host's
// apt configuration is left as it is), and unpacked there; the tests run in a private mount
// namespace that overlays /usr/lib and /usr/share with them (Debian's node loads its builtins
// from /usr/share/nodejs, the i386 loader is /lib/ld-linux.so.2). This is how the 32-bit targets
// (win32-ia32 included) are proven: the layout of CPython's objects changes with the pointer
// width, and only a 32-bit run shows a wrong offset.
//
// `node scripts/test-ia32.js [test files]`: by default the files that read CPython's objects
// directly; PYTHON_TS_IA32_FILES=all runs the whole suite. PYTHON_TS_SKIP_PLATFORMS=1 skips.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const W = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts-platforms', 'i386');
const R = path.join(W, 'root');
const CORE = ['strings', 'convert', 'records', 'buffers', 'clib', 'handles', 'callables', 'datetime', 'protocol', 'lifetimes', 'boundary', 'wrapper'];
const PACKAGES = ['nodejs', 'libnode108', 'libc6', 'libuv1', 'libbrotli1', 'libc-ares2', 'libnghttp2-14', 'libssl3', 'zlib1g',
  'libicu72', 'libstdc++6', 'libgcc-s1', 'libpython3.11', 'libpython3.11-minimal', 'libpython3.11-stdlib',
  'python3.11-minimal', 'python3.11', 'libexpat1', 'libffi8', 'libbz2-1.0', 'liblzma5', 'libncursesw6', 'libtinfo6',
  'libreadline8', 'libsqlite3-0', 'libtirpc3', 'libnsl2', 'libcrypt1', 'libdb5.3', 'libuuid1', 'libzstd1', 'libmd0',
  'libgssapi-krb5-2', 'libkrb5-3', 'libk5crypto3', 'libkrb5support0', 'libcom-err2', 'libkeyutils1']
  .map((p) => `${p}:i386`).concat(['libtirpc-common', 'media-types', 'node-acorn', 'node-cjs-module-lexer', 'node-undici']);

const say = (m) => console.log(`# linux-ia32: ${m}`);
const skip = (why) => {
  console.log(`# skipped: the linux-ia32 stage (${why})`);
  process.exit(0);
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

if (process.env.PYTHON_TS_SKIP_PLATFORMS === '1') skip('PYTHON_TS_SKIP_PLATFORMS=1');
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`needs a linux-x64 host, this is ${process.platform}-${process.arch}`);
if (typeof process.getuid !== 'function' || process.getuid() !== 0) skip('needs root for its mount namespace');
for (const cmd of ['unshare', 'mount', 'apt-get', 'dpkg', 'rustup']) if (!has(cmd)) skip(`needs ${cmd}`);

const started = Date.now();
// What the stage needs from the network (rustup's standard library for i686, the zig toolchain
// from PyPI): when it cannot be had, the stage is skipped, as venv tests are without a registry.
try {
  require('./zig').ensureTarget('i686-unknown-linux-gnu');
  require('./zig').zigBin();
} catch (e) {
  skip(e.message);
}
// 1. The addon for i686.
let lib;
try {
  lib = require('./zig').zigbuild('i686-unknown-linux-gnu', '2.28', path.join(root, 'target', 'ia32'));
} catch (e) {
  console.error(`# failed: linux-ia32 build: ${e.message}`);
  process.exit(1);
}
const elf = fs.readFileSync(lib).subarray(0, 20);
if (elf[4] !== 1 || elf.readUInt16LE(18) !== 3) {
  console.error('# failed: linux-ia32: the build is not a 32-bit x86 ELF');
  process.exit(1);
}

// 2. Debian's i386 node and CPython, once.
if (!fs.existsSync(path.join(R, 'usr', 'bin', 'node'))) {
  say('fetching Debian\'s i386 node and CPython (once)');
  const apt = path.join(W, 'apt');
  for (const d of ['lists/partial', 'cache/archives/partial', 'debs']) fs.mkdirSync(path.join(apt, d), { recursive: true });
  const opts = ['-q', '-o', 'APT::Architecture=i386', '-o', 'APT::Architectures::=i386', '-o', `Dir::State::Lists=${apt}/lists`, '-o', `Dir::Cache=${apt}/cache`];
  // An index that fails (a mirror mid-sync) is not fatal while the main ones came.
  spawnSync('apt-get', [...opts, 'update'], { stdio: 'ignore' });
  const debs = path.join(apt, 'debs');
  const dl = spawnSync('apt-get', [...opts, 'download', ...PACKAGES], { cwd: debs, encoding: 'utf8' });
  if (dl.status !== 0) skip(`apt-get could not download Debian's i386 packages: ${dl.stderr.trim().split('\n').pop()}`);
  for (const f of fs.readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    if (spawnSync('dpkg', ['-x', path.join(debs, f), R], { stdio: 'inherit' }).status !== 0) {
      console.error(`# failed: linux-ia32: dpkg -x ${f}`);
      process.exit(1);
    }
  }
}

// 3. A copy of the package with the i686 addon (the tests find it at build/Release/).
const pkg = path.join(W, 'package');
fs.rmSync(pkg, { recursive: true, force: true });
const listed = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
if (listed.status !== 0) skip('needs a git checkout to copy the package from');
for (const f of listed.stdout.split('\n').filter(Boolean)) {
  const from = path.join(root, f);
  if (!fs.existsSync(from) || fs.statSync(from).isDirectory()) continue;
  fs.mkdirSync(path.dirname(path.join(pkg, f)), { recursive: true });
  fs.copyFileSync(from, path.join(pkg, f));
}
fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
fs.copyFileSync(lib, path.join(pkg, 'build', 'Release', 'python_ts.node'));

// 4. The tests, in the namespace.
const files = process.argv.slice(2).length ? process.argv.slice(2)
  : process.env.PYTHON_TS_IA32_FILES === 'all' ? fs.readdirSync(path.join(pkg, 'test')).filter((f) => f.endsWith('.test.js')).map((f) => `test/${f}`)
    : CORE.map((f) => `test/${f}.test.js`);
const home = path.join(W, 'home');
fs.mkdirSync(home, { recursive: true });
const node = path.join(R, 'usr', 'bin', 'node');
const q = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
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
console.log(`| platform   | runs with                         | suite | seconds |`);
console.log(`|------------|-----------------------------------|-------|---------|`);
console.log(`| linux-ia32 | ${smoke ? JSON.parse(smoke).host : 'node (smoke failed)'}, CPython 3.11 (i386) | ${tally('pass')} passed, ${tally('fail')} failed, ${tally('skipped')} skipped | ${seconds} |`);
if (r.status !== 0) {
  for (const m of out.matchAll(/^not ok \d+ - (.*)$/gm)) console.error(`# failed: linux-ia32: ${m[1]}`);
  console.error(`# failed: the linux-ia32 stage (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}); log in ${path.join(W, 'last-run.log')}\n${(r.stderr || '').slice(-2000)}`);
  process.exit(1);
}
