'use strict';
// Where the native addon is found. Prebuilt binaries live in
// prebuilds/<platform>-<arch>[-<libc>]/python_ts.node (linux-x64-glibc, linux-x64-musl,
// darwin-arm64, win32-x64, …), so adding a platform is a build step, not a loader change; a
// source build is build/Release/python_ts.node, where node-gyp consumers expect it (and which
// comes first in a git checkout).
// PYTHON_TS_ADDON names a file to load instead (a sanitizer or debug build).
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');

/** 'glibc' or 'musl' on Linux (what process.report says of the C library), else undefined. */
function libc(platform = process.platform) {
  if (platform !== 'linux') return undefined;
  try {
    const header = process.report.getReport().header;
    return header.glibcVersionRuntime ? 'glibc' : 'musl';
  } catch (e) {
    return 'glibc';
  }
}

/** The files tried, in order, for a platform. */
function candidates({ platform = process.platform, arch = process.arch, c = libc(platform), env = process.env, root = ROOT } = {}) {
  if (env.PYTHON_TS_ADDON) return [path.resolve(env.PYTHON_TS_ADDON)];
  const tag = c ? `${platform}-${arch}-${c}` : `${platform}-${arch}`;
  const prebuild = path.join(root, 'prebuilds', tag, 'python_ts.node');
  const source = path.join(root, 'build', 'Release', 'python_ts.node');
  // In a git checkout the fresh source build wins over a prebuild left by `npm pack`.
  return fs.existsSync(path.join(root, '.git')) ? [source, prebuild] : [prebuild, source];
}

/** The first candidate that exists (the last one otherwise, so the error names it). */
function addonPath(options) {
  const files = candidates(options);
  return files.find((f) => fs.existsSync(f)) || files[files.length - 1];
}

module.exports = { libc, candidates, addonPath };
