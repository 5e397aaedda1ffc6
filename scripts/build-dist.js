#!/usr/bin/env node
// `npm pack` (prepack): the addon built for every desktop platform into prebuilds/<tag>/ —
// release, no debug info, stripped — each checked by its headers (scripts/binfmt.js: format,
// architecture, libc, glibc ≤ 2.28, minimum macOS, signature, no libpython or N-API imports,
// ≤ 2 MB). Linux and macOS are built with cargo-zigbuild and zig (both from PyPI, installed once
// into a venv in the cache folder), Windows with mingw-w64 (scripts/zig.js). A build is cached
// by the hash of the sources and its recipe, so packing twice builds once.
// PYTHON_TS_DIST_TARGETS=linux-x64-glibc,win32-x64 builds only those. A local `npm install`
// from a clone still builds with plain cargo (binding.gyp).
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { zigbuild, mingwbuild, llvmStrip } = require('./zig');
const binfmt = require('./binfmt');

const root = path.resolve(__dirname, '..');
const GLIBC = '2.28';
// How each prebuild is made. Changing a recipe changes its cache key.
const RECIPES = {
  'linux-x64-glibc': { target: 'x86_64-unknown-linux-gnu', zig: { glibc: GLIBC } },
  'linux-arm64-glibc': { target: 'aarch64-unknown-linux-gnu', zig: { glibc: GLIBC } },
  // without -crt-static rustc drops the cdylib for musl
  'linux-x64-musl': { target: 'x86_64-unknown-linux-musl', zig: { rustflags: '-C target-feature=-crt-static' } },
  // zig stamps the newest macOS as the minimum without MACOSX_DEPLOYMENT_TARGET; the install
  // name would be the build path; zig's Mach-O linker ignores the export list, so the symbol
  // table (230 KB of Rust names) is stripped after linking (llvm-strip re-signs arm64)
  'darwin-x64': { target: 'x86_64-apple-darwin', strip: true, zig: { env: { MACOSX_DEPLOYMENT_TARGET: '10.13' }, rustflags: '-C link-arg=-Wl,-install_name,@rpath/python_ts.node' } },
  'darwin-arm64': { target: 'aarch64-apple-darwin', strip: true, zig: { env: { MACOSX_DEPLOYMENT_TARGET: '11.0' }, rustflags: '-C link-arg=-Wl,-install_name,@rpath/python_ts.node' } },
  'win32-x64': { target: 'x86_64-pc-windows-gnu', mingw: 'x86_64-w64-mingw32-gcc-posix' },
  'win32-ia32': { target: 'i686-pc-windows-gnu', mingw: 'i686-w64-mingw32-gcc-posix' },
};

const die = (m) => {
  console.error(`python-ts build-dist: ${m}`);
  process.exit(1);
};
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`python-ts build-dist: the prebuilds are cross-built on linux-x64; on ${process.platform}-${process.arch} prebuilds/ is packed as it is`);
  process.exit(0);
}

/**
 * The hash of everything the builds read: sources, manifests, the compiler (one per source state,
 * shared by every tag: the cache keeps whole source states).
 */
let sourceHashMemo = null;
function sourceHash() {
  if (sourceHashMemo) return sourceHashMemo;
  const h = crypto.createHash('sha256');
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(path.join(root, 'src'));
  for (const f of ['build.rs', 'Cargo.toml', 'Cargo.lock', path.join('.cargo', 'config.toml'), path.join('scripts', 'zig.js'), path.join('scripts', 'build-dist.js')]) files.push(path.join(root, f));
  for (const f of files.sort()) {
    h.update(path.relative(root, f));
    h.update(fs.readFileSync(f));
  }
  h.update(spawnSync('rustc', ['-V'], { encoding: 'utf8' }).stdout || '');
  sourceHashMemo = h.digest('hex').slice(0, 20);
  return sourceHashMemo;
}

/** A tag's folder in a source state's cache entry: the tag and the hash of its recipe. */
function recipeKey(tag) {
  return `${tag}-${crypto.createHash('sha256').update(JSON.stringify(RECIPES[tag])).digest('hex').slice(0, 12)}`;
}

const cacheRoot = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts', 'prebuilds');

function build(tag) {
  const recipe = RECIPES[tag];
  const cached = path.join(cacheRoot, sourceHash(), recipeKey(tag), 'python_ts.node');
  if (fs.existsSync(cached)) return { file: cached, fromCache: true };
  const targetDir = path.join(root, 'target', 'dist');
  const lib = recipe.mingw
    ? mingwbuild(recipe.target, recipe.mingw, targetDir)
    : zigbuild(recipe.target, recipe.zig.glibc || null, targetDir, recipe.zig);
  if (recipe.strip) llvmStrip(lib);
  const bad = binfmt.check(lib, tag);
  if (bad.length) throw new Error(bad.join('; '));
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.copyFileSync(lib, cached);
  return { file: cached, fromCache: false };
}

/** Keep the newest few source states (each with every tag built from it). */
function prune(keep = 4) {
  if (!fs.existsSync(cacheRoot)) return;
  const entries = fs.readdirSync(cacheRoot).map((n) => ({ n, t: fs.statSync(path.join(cacheRoot, n)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const e of entries.slice(keep)) fs.rmSync(path.join(cacheRoot, e.n), { recursive: true, force: true });
}

const wanted = (process.env.PYTHON_TS_DIST_TARGETS || Object.keys(RECIPES).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const tag of wanted) if (!RECIPES[tag]) die(`unknown target ${tag} (known: ${Object.keys(RECIPES).join(', ')})`);
// A tag not wanted this time is not left over from an earlier pack.
for (const tag of Object.keys(RECIPES)) if (!wanted.includes(tag)) fs.rmSync(path.join(root, 'prebuilds', tag), { recursive: true, force: true });

const rows = [];
for (const tag of wanted) {
  const started = Date.now();
  let built;
  try {
    built = build(tag);
  } catch (e) {
    die(`${tag}: ${e.message}`);
  }
  const bad = binfmt.check(built.file, tag);
  if (bad.length) die(`${tag}: ${bad.join('; ')}`);
  const out = path.join(root, 'prebuilds', tag, 'python_ts.node');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(built.file, out);
  const d = binfmt.describe(out);
  const extra = d.glibc ? `glibc ≥ ${d.glibc}` : d.minos ? `macOS ≥ ${d.minos}${d.signed ? ', signed' : ''}` : d.format === 'pe' ? (d.pe32plus ? 'PE32+' : 'PE32') : d.needed.some((n) => /musl|^libc\.so$/.test(n)) ? 'musl' : '';
  rows.push(`${tag.padEnd(18)} ${(d.size / 1048576).toFixed(2)} MB  ${extra.padEnd(22)} ${built.fromCache ? 'cached' : `built in ${Math.round((Date.now() - started) / 1000)} s`}`);
}
prune();
console.log(`python-ts build-dist: prebuilds/\n  ${rows.join('\n  ')}`);
// The one this machine can load, loaded.
if (wanted.includes('linux-x64-glibc')) {
  const out = path.join(root, 'prebuilds', 'linux-x64-glibc', 'python_ts.node');
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(out)})`], { stdio: 'inherit' });
  if (load.status !== 0) die('the linux-x64-glibc build does not load');
}
