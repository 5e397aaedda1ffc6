'use strict';
// Packaging: the npm tarball carries the prebuilt addon and installs without Rust.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, tmpdir } = require('./helpers');

function withoutCargo() {
  return process.env.PATH.split(path.delimiter).filter((d) => d && !fs.existsSync(path.join(d, 'cargo'))).join(path.delimiter);
}

test('npm pack → install into an empty project without cargo (with and without scripts) → first call', { skip: (process.platform !== 'linux' || process.arch !== 'x64') && 'the package is packed with its linux-x64 prebuild on a linux-x64 host' }, () => {
  const dir = tmpdir();
  const pack = spawnSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT, encoding: 'utf8' });
  assert.strictEqual(pack.status, 0, pack.stderr);
  const tgz = path.join(dir, pack.stdout.trim().split('\n').pop());
  assert.ok(fs.existsSync(tgz), tgz);
  const list = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout;
  assert.match(list, /package\/prebuilds\/linux-x64-glibc\/python_ts\.node/);
  assert.match(list, /package\/LICENSE/);
  assert.match(list, /package\/binding\.gyp/);
  assert.doesNotMatch(list, /package\/target\//);
  const tgzMB = fs.statSync(tgz).size / 1048576;
  assert.ok(tgzMB <= 1.5, `tarball ${tgzMB.toFixed(2)} MB`);
  // The shipped binary: stripped, small, glibc 2.28 at most, no libpython.
  const shipped = path.join(ROOT, 'prebuilds', 'linux-x64-glibc', 'python_ts.node');
  assert.ok(fs.statSync(shipped).size <= 2 * 1048576, `binary ${fs.statSync(shipped).size} bytes`);
  const versions = (spawnSync('objdump', ['-T', shipped], { encoding: 'utf8' }).stdout.match(/GLIBC_2\.(\d+)/g) || []).map((v) => Number(v.split('.')[1]));
  assert.ok(versions.length && Math.max(...versions) <= 28, `needs GLIBC_2.${Math.max(...versions)}`);
  assert.doesNotMatch(spawnSync('objdump', ['-h', shipped], { encoding: 'utf8' }).stdout, /\.debug_info/);
  const env = { ...process.env, PATH: withoutCargo() };
  assert.notStrictEqual(spawnSync('sh', ['-c', 'command -v cargo'], { env }).status, 0, 'cargo is hidden');
  for (const extra of [[], ['--ignore-scripts']]) {
    const app = path.join(dir, `app${extra.length}`);
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const inst = spawnSync('npm', ['install', tgz, '--no-audit', '--no-fund', ...extra], { cwd: app, env, encoding: 'utf8' });
    assert.strictEqual(inst.status, 0, inst.stdout + inst.stderr);
    const run = spawnSync(process.execPath, ['-e', "const { Python } = require('python-ts'); console.log(new Python().eval('6 * 7'));"], { cwd: app, env, encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    assert.strictEqual(run.stdout.trim(), '42');
    if (!extra.length) assert.ok(fs.existsSync(path.join(app, 'node_modules', 'python-ts', 'build', 'Release', 'python_ts.node')), 'node-gyp consumers find build/Release/python_ts.node');
    // the command the package installs: `npx python-ts types json` (what npx runs: the bin link,
    // here with this node: the runtime under test may need it rather than the one on PATH)
    const bin = path.join(app, 'node_modules', '.bin', 'python-ts');
    const types = spawnSync(process.execPath, [bin, 'types', 'json', '--out', 'py-types'], { cwd: app, env, encoding: 'utf8' });
    assert.strictEqual(types.status, 0, types.stdout + types.stderr);
    assert.match(fs.readFileSync(path.join(app, 'py-types', 'json.d.ts'), 'utf8'), /"json": Module;/);
  }
});
