'use strict';
// js/internal/binding.js: which native file is loaded — prebuilds/<platform>-<arch>[-<libc>]/
// first, then build/Release/ (node-gyp's place), or PYTHON_TS_ADDON.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { candidates, addonPath, libc } = require('../js/internal/binding');
const { runNode, tmpdir, ROOT } = require('./helpers');

test('the candidates: the prebuild for platform, arch and libc, then the source build', () => {
  const root = '/pkg';
  assert.deepStrictEqual(candidates({ platform: 'linux', arch: 'x64', c: 'glibc', env: {}, root }), ['/pkg/prebuilds/linux-x64-glibc/python_ts.node', '/pkg/build/Release/python_ts.node']);
  assert.deepStrictEqual(candidates({ platform: 'linux', arch: 'arm64', c: 'musl', env: {}, root })[0], '/pkg/prebuilds/linux-arm64-musl/python_ts.node');
  assert.deepStrictEqual(candidates({ platform: 'darwin', arch: 'arm64', env: {}, root })[0], '/pkg/prebuilds/darwin-arm64/python_ts.node');
  assert.deepStrictEqual(candidates({ platform: 'win32', arch: 'x64', env: {}, root })[0], '/pkg/prebuilds/win32-x64/python_ts.node');
  assert.deepStrictEqual(candidates({ env: { PYTHON_TS_ADDON: '/x/a.node' }, root }), ['/x/a.node']);
  assert.strictEqual(libc('linux'), 'glibc', 'this machine');
  assert.strictEqual(libc('darwin'), undefined);
});

test('a prebuild present for this platform is the one loaded', () => {
  const root = tmpdir();
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}-${libc()}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'build', 'Release', 'python_ts.node'), path.join(dir, 'python_ts.node'));
  assert.strictEqual(addonPath({ root, env: {} }), path.join(dir, 'python_ts.node'));
  assert.strictEqual(addonPath({ root: tmpdir(), env: {} }).endsWith(path.join('build', 'Release', 'python_ts.node')), true, 'no prebuild: the source build');
  const r = runNode(`const m = require(${JSON.stringify(path.join(dir, 'python_ts.node'))}); console.log(JSON.stringify({ v: m._eval('6 * 7') }));`);
  assert.strictEqual(r.stdout.trim(), '{"v":42}', r.stderr);
});
