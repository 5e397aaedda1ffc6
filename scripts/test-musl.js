#!/usr/bin/env node
// The linux-x64-musl stage (Alpine, Void, distroless musl images): the addon built for
// x86_64-unknown-linux-musl (cargo-zigbuild; rustc drops a musl cdylib unless
// `-C target-feature=-crt-static`) and run by Bun's musl build — the only musl N-API host in the
// registries (there is no musl Node there) — with a CPython 3.11 built here against musl from
// Debian's sources (with libffi and zlib; no ssl, sqlite or lzma), once, into the cache. Bun's
// musl build needs musl ≥ 1.2.4 (its libstdc++ uses DT_RELR): Debian trixie's musl 1.2.5 and the
// musl libstdc++ of numpy's musllinux wheel are overlaid in a private mount namespace, which also
// hides the host's glibc python3. Downloads go through a private apt state (the host's apt
// configuration is left as it is); musl-gcc is installed with apt-get when missing.
// `node scripts/test-musl.js [test files]`; PYTHON_TS_SKIP_PLATFORMS=1 skips.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { copyPackage, q, has, aptInstall, stage } = require('./stage');

const root = path.resolve(__dirname, '..');
const W = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts-platforms', 'musl');
// the files that read CPython's objects directly (as on the other architectures)
const FILES = ['strings', 'convert', 'records', 'buffers', 'clib', 'handles', 'callables', 'datetime', 'protocol', 'lifetimes', 'boundary', 'wrapper'];
const sh = (script, opts = {}) => spawnSync('bash', ['-c', script], { stdio: 'inherit', ...opts });

const { say, skip, fail, started } = stage('linux-x64-musl', { root: true, cmds: ['unshare', 'mount', 'apt-get', 'dpkg', 'rustup', 'make'] });

// 1. The addon for musl.
let lib;
try {
  lib = require('./zig').zigbuild('x86_64-unknown-linux-musl', null, path.join(root, 'target', 'musl'), { rustflags: '-C target-feature=-crt-static' });
} catch (e) {
  skip(e.message);
}

// 2. The musl toolchain, the sources and musl 1.2.5, once.
if (!has('musl-gcc') && !aptInstall(['musl', 'musl-tools', 'musl-dev'], 'the musl toolchain')) skip('apt-get could not install musl-tools');
for (const d of ['bin', 'over', 'binwo', 'kinc', 'src', 'home', 'apt/parts', 'apt/lists/partial', 'apt/cache/archives/partial']) fs.mkdirSync(path.join(W, d), { recursive: true });
fs.writeFileSync(path.join(W, 'bin', 'musl-cc'), '#!/bin/sh\ncase "$1" in --print-multiarch|-print-multiarch) echo x86_64-linux-musl; exit 0;; esac\nexec musl-gcc "$@"\n', { mode: 0o755 });
for (const [name, target] of [['linux', '/usr/include/linux'], ['asm-generic', '/usr/include/asm-generic'], ['asm', '/usr/include/x86_64-linux-gnu/asm']]) {
  const link = path.join(W, 'kinc', name);
  if (!fs.existsSync(link)) fs.symlinkSync(target, link);
}
const aptOpts = `-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${W}/apt/parts -o Dir::State::Lists=${W}/apt/lists -o Dir::Cache=${W}/apt/cache -o Dir::State::status=/dev/null`;
if (!fs.existsSync(path.join(W, 'over', 'libc.so')) || !fs.readdirSync(path.join(W, 'src')).some((f) => f.startsWith('python3.11_'))) {
  say('fetching the sources of CPython 3.11, libffi and zlib, and musl 1.2.5 (once)');
  // the machine's own Debian mirror, as apt is configured here
  const mirror = (sh("grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1; grep -h -m1 '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1", { stdio: 'pipe', encoding: 'utf8' }).stdout || '').split('\n').find(Boolean);
  if (!mirror) skip('no Debian mirror is configured for apt');
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  fs.writeFileSync(path.join(W, 'apt', 'parts', 'b.sources'), `Types: deb deb-src\nURIs: ${mirror}\nSuites: bookworm\nComponents: main\nSigned-By: ${keyring}\n`);
  fs.writeFileSync(path.join(W, 'apt', 'parts', 't.sources'), `Types: deb\nURIs: ${mirror}\nSuites: trixie\nComponents: main\nSigned-By: ${keyring}\n`);
  sh(`apt-get ${aptOpts} update -q`, { stdio: 'ignore' });
  const dl = sh(`cd ${q(path.join(W, 'src'))} && apt-get ${aptOpts} source -q --download-only python3.11/bookworm libffi/bookworm zlib/bookworm && apt-get ${aptOpts} download -q musl/trixie`, { stdio: 'pipe', encoding: 'utf8' });
  if (dl.status !== 0) skip(`apt-get could not download the sources: ${(dl.stderr || '').trim().split('\n').pop()}`);
  const musl = fs.readdirSync(path.join(W, 'src')).find((f) => /^musl_1\.2\.\d+.*\.deb$/.test(f));
  if (!musl) skip('no musl 1.2.5 package was downloaded');
  sh(`dpkg -x ${q(path.join(W, 'src', musl))} ${q(path.join(W, 'trixie'))} && cp ${q(path.join(W, 'trixie/usr/lib/x86_64-linux-musl/libc.so'))} ${q(path.join(W, 'over/libc.so'))}`);
}
// musl's libstdc++ and libgcc_s for Bun: the ones numpy's musllinux wheel carries
if (!fs.existsSync(path.join(W, 'over', 'libstdc++.so.6'))) {
  say('fetching a musl libstdc++ (numpy\'s musllinux wheel)');
  const whl = path.join(W, 'whl');
  const py = ['python3', 'python'].find(has);
  const r = sh(`${py} -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --platform musllinux_1_2_x86_64 --python-version 3.12 --implementation cp numpy -d ${q(whl)} && cd ${q(whl)} && ${py} -c "import zipfile,glob; z=zipfile.ZipFile(glob.glob('numpy-*.whl')[0]); [z.extract(n) for n in z.namelist() if n.startswith('numpy.libs/lib')]"`);
  if (r.status !== 0) skip('pip could not download numpy\'s musllinux wheel');
  const libs = path.join(whl, 'numpy.libs');
  for (const f of fs.readdirSync(libs)) {
    if (f.startsWith('libstdc++')) fs.copyFileSync(path.join(libs, f), path.join(W, 'over', 'libstdc++.so.6'));
    if (f.startsWith('libgcc_s')) fs.copyFileSync(path.join(libs, f), path.join(W, 'over', f));
  }
}
// Bun's musl build
const bun = path.join(W, 'bun', 'package', 'bin', 'bun');
if (!fs.existsSync(bun)) {
  say('fetching Bun for musl (npm @oven/bun-linux-x64-musl)');
  fs.mkdirSync(path.join(W, 'bun'), { recursive: true });
  const r = sh(`cd ${q(path.join(W, 'bun'))} && npm pack -q @oven/bun-linux-x64-musl@1 >/dev/null && tar xzf oven-bun-*.tgz && rm oven-bun-*.tgz`);
  if (r.status !== 0) skip('npm could not fetch @oven/bun-linux-x64-musl');
}

// 3. CPython 3.11 (+ libffi, zlib) against musl, --enable-shared, once (about 3 minutes).
const python = path.join(W, 'py', 'bin', 'python3.11');
if (!fs.existsSync(python)) {
  say('building CPython 3.11 against musl (once, about 3 minutes)');
  const src = q(path.join(W, 'src'));
  const cc = q(path.join(W, 'bin', 'musl-cc'));
  const prefix = q(path.join(W, 'py'));
  const kinc = q(path.join(W, 'kinc'));
  const r = sh(`set -e; cd ${src}
    rm -rf libffi-3.* zlib-1.* Python-3.11.*/
    tar xzf libffi_*.orig.tar.gz; tar xjf zlib_*.orig.tar.bz2; tar xzf python3.11_*.orig.tar.gz
    (cd libffi-3.* && CC=${cc} CFLAGS="-O2 -I${kinc}" ./configure -q --prefix=${prefix} --disable-docs --disable-static && make -s -j2 && make -s install)
    (cd zlib-1.* && CC=${cc} ./configure --prefix=${prefix} && make -s -j2 && make -s install)
    (cd Python-3.11.*/ && CC=${cc} ./configure -q --enable-shared --prefix=${prefix} --without-ensurepip LDFLAGS="-Wl,-rpath,${path.join(W, 'py', 'lib')}" \\
      && CPPFLAGS="-I${path.join(W, 'py', 'include')} -I${path.join(W, 'kinc')}" LDFLAGS="-L${path.join(W, 'py', 'lib')}" make -s -j2 && make -s install)`,
  { stdio: ['ignore', ...Array(2).fill(fs.openSync(path.join(W, 'cpython-build.log'), 'w'))] });
  if (r.status !== 0 || !fs.existsSync(python)) fail(`building CPython against musl failed (log in ${path.join(W, 'cpython-build.log')})`);
}
fs.writeFileSync(path.join(W, 'pythons.json'), JSON.stringify([{ version: '3.11', python, node: 'node' }]));
for (const f of ['python3', 'python3.11']) {
  const wo = path.join(W, 'binwo', f);
  if (!fs.existsSync(wo)) sh(`mknod ${q(wo)} c 0 0`); // overlay whiteouts: the host's glibc python3 hidden
}

// 4. The tests, in the namespace, with Bun.
const pkg = path.join(W, 'package');
if (!copyPackage(pkg, lib)) skip('needs a git checkout to copy the package from');
const files = process.argv.slice(2).length ? process.argv.slice(2) : FILES.map((f) => `test/${f}.test.js`);
const script = [
  `mount -t overlay overlay -o lowerdir=${W}/over:/usr/lib/x86_64-linux-musl /usr/lib/x86_64-linux-musl`,
  `mount -t overlay overlay -o lowerdir=${W}/binwo:/usr/bin /usr/bin`,
  `cd ${q(pkg)}`,
  `${q(bun)} test/hosts/smoke.js || exit 9`,
  `fail=0; for f in ${files.map(q).join(' ')}; do ${q(bun)} test --timeout 600000 "$f" || fail=1; done; exit $fail`,
].join(' && ');
const env = {
  PATH: `${path.join(W, 'py', 'bin')}:/usr/bin:/bin`, HOME: path.join(W, 'home'), PYENV_ROOT: '/nonexistent', PYTHON_TS_PYTHON: python,
  PYTHON_TS_PYTHONS: path.join(W, 'pythons.json'), PYTHON_TS_NO_VENVS: '1', PYTHON_TS_SKIP_PLATFORMS: '1', LANG: 'C.UTF-8',
};
say(`${files.length} test file(s) with Bun for musl (${path.relative(root, lib)})`);
const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], { cwd: pkg, env, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 20 * 60 * 1000, killSignal: 'SIGKILL' });
const out = (r.stdout || '') + (r.stderr || '');
fs.writeFileSync(path.join(W, 'last-run.log'), out);
const sum = (re) => [...out.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
const pass = sum(/^\s*(\d+) pass$/gm);
const failed = sum(/^\s*(\d+) fail$/gm);
const smoke = (out.match(/^\{"host".*$/m) || [''])[0];
const seconds = Math.round((Date.now() - started) / 1000);
console.log('| platform | runs with | suite | seconds |');
console.log('| --- | --- | --- | --- |');
console.log(`| linux-x64-musl | ${smoke ? JSON.parse(smoke).host : 'bun (smoke failed)'} (musl), CPython 3.11 built against musl | ${files.length} files: ${pass} passed, ${failed} failed | ${seconds} |`);
if (r.status !== 0) {
  for (const m of out.matchAll(/^\(fail\) (.*)$/gm)) console.error(`# failed: linux-x64-musl: ${m[1]}`);
  fail(`exit ${r.status}${r.signal ? `, ${r.signal}` : ''}; log in ${path.join(W, 'last-run.log')}\n${out.slice(-1500)}`);
}
