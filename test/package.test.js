'use strict';
// Packaging: the npm tarball carries a prebuilt addon for every desktop platform and installs
// without Rust.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, tmpdir } = require('./helpers');
const binfmt = require('../scripts/binfmt');

function withoutCargo() {
  return process.env.PATH.split(path.delimiter).filter((d) => d && !fs.existsSync(path.join(d, 'cargo'))).join(path.delimiter);
}

test('npm pack → install into an empty project without cargo (with and without scripts) → first call', { skip: (process.platform !== 'linux' || process.arch !== 'x64') && 'the prebuilds are cross-built on a linux-x64 host' }, () => {
  const dir = tmpdir();
  const pack = spawnSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT, encoding: 'utf8' });
  assert.strictEqual(pack.status, 0, pack.stderr);
  const tgz = path.join(dir, pack.stdout.trim().split('\n').pop());
  assert.ok(fs.existsSync(tgz), tgz);
  // Packing again builds nothing: the cache keeps whole source states, every tag of each (it
  // kept four entries of one tag each, so three of the seven were built again on every pack).
  const again = spawnSync(process.execPath, [path.join('scripts', 'build-dist.js')], { cwd: ROOT, encoding: 'utf8' });
  assert.strictEqual(again.status, 0, again.stderr);
  const rows = again.stdout.split('\n').filter((l) => /^\s+\S+\s+[\d.]+ MB/.test(l));
  assert.strictEqual(rows.length, Object.keys(binfmt.PREBUILDS).length, again.stdout);
  assert.ok(rows.every((l) => /cached$/.test(l)), again.stdout);
  const list = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout;
  // Every desktop platform's prebuild, each checked by its headers (binary format, architecture,
  // libc and glibc ≤ 2.28, minimum macOS and signature, the N-API entry point exported, no
  // libpython or N-API link-time imports, stripped, ≤ 2 MB).
  for (const tag of Object.keys(binfmt.PREBUILDS)) {
    assert.match(list, new RegExp(`package/prebuilds/${tag}/python_ts\\.node`), `${tag} is packed`);
    const shipped = path.join(ROOT, 'prebuilds', tag, 'python_ts.node');
    assert.deepStrictEqual(binfmt.check(shipped, tag), [], `${tag}: ${binfmt.check(shipped, tag).join('; ')}`);
  }
  assert.match(list, /package\/LICENSE/);
  assert.match(list, /package\/binding\.gyp/);
  assert.doesNotMatch(list, /package\/target\//);
  const tgzMB = fs.statSync(tgz).size / 1048576;
  assert.ok(tgzMB <= 7, `tarball ${tgzMB.toFixed(2)} MB`);
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

test('the prebuild checks refuse a wrong binary: another format or architecture, debug information, a newer glibc, libpython', { skip: (process.platform !== 'linux' || process.arch !== 'x64') && 'reads the linux-x64 development build' }, () => {
  // The local source build is unstripped and linked against this machine's glibc.
  const local = path.join(ROOT, 'build', 'Release', 'python_ts.node');
  const d = binfmt.describe(local);
  assert.strictEqual(d.format, 'elf');
  assert.ok(d.exports.includes('napi_register_module_v1'));
  assert.ok(!d.undefined.some((n) => /^_?Py/.test(n)), 'no libpython symbol');
  assert.ok(!d.undefined.some((n) => /^napi_/.test(n)), 'N-API is resolved from the host at load time');
  const asMac = binfmt.check(local, 'darwin-arm64');
  assert.ok(asMac.some((m) => /is elf, not macho/.test(m)) && asMac.some((m) => /not arm64/.test(m)), asMac.join('; '));
  assert.ok(binfmt.check(local, 'linux-x64-glibc').some((m) => /debug information/.test(m)));
  assert.ok(binfmt.check(local, 'linux-x64-musl').some((m) => /not linked to musl/.test(m)));
  // A library that links libpython (the system's own libpython, where there is one).
  const py = spawnSync('python3', ['-c', "import sysconfig, os; print(os.path.join(sysconfig.get_config_var('LIBDIR'), sysconfig.get_config_var('INSTSONAME')))"], { encoding: 'utf8' });
  const libpython = py.status === 0 && py.stdout.trim();
  if (libpython && fs.existsSync(libpython)) {
    // libpython itself defines Py*, it does not import them: an extension module imports them
    const ext = spawnSync('python3', ['-c', 'import _json; print(_json.__file__)'], { encoding: 'utf8' }).stdout.trim();
    if (ext && fs.existsSync(ext)) assert.ok(binfmt.check(ext, 'linux-x64-glibc').some((m) => /links CPython/.test(m)), ext);
  }
  assert.deepStrictEqual(binfmt.check(local, 'freebsd-x64'), ['unknown prebuild freebsd-x64']);
});

test('every prebuild tag is the one the loader looks for on its platform', () => {
  const { candidates } = require('../js/internal/binding');
  for (const tag of Object.keys(binfmt.PREBUILDS)) {
    const [platform, arch, c] = tag.split('-');
    const first = candidates({ platform, arch, c, env: {}, root: '/pkg' }).find((f) => f.includes('prebuilds'));
    assert.strictEqual(first, path.join('/pkg', 'prebuilds', tag, 'python_ts.node'));
  }
});

test('the platforms workflow: valid, the README commands on every desktop runner with CPython 3.9-3.14, and the seven prebuilds', () => {
  const YAML = require('yaml');
  const file = path.join(ROOT, '.github', 'workflows', 'platforms.yml');
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { uniqueKeys: true, strict: true });
  assert.deepStrictEqual(doc.errors.map(String), []);
  const wf = doc.toJS();
  assert.ok(wf.on && wf.jobs, 'triggers and jobs');
  for (const [name, job] of Object.entries(wf.jobs)) {
    assert.ok(job['runs-on'], `${name}: runs-on`);
    assert.ok(Array.isArray(job.steps) && job.steps.length, `${name}: steps`);
    for (const s of job.steps) assert.ok(s.uses || s.run, `${name}: a step that neither uses nor runs: ${JSON.stringify(s)}`);
    // every ${{ }} expression names something the job defines or a known context
    for (const m of JSON.stringify(job).matchAll(/\$\{\{\s*([^}]*?)\s*\}\}/g)) {
      const ref = m[1].split('.')[0];
      assert.ok(['matrix', 'steps', 'github', 'runner', 'env', 'secrets', 'needs', 'inputs'].includes(ref), `${name}: unknown context in ${m[0]}`);
      if (ref === 'matrix') assert.ok(job.strategy && job.strategy.matrix && m[1].split('.')[1] in job.strategy.matrix, `${name}: ${m[0]} is not in the matrix`);
      if (ref === 'steps') assert.ok(job.steps.some((s) => s.id === m[1].split('.')[1]), `${name}: no step with id ${m[1].split('.')[1]}`);
    }
  }
  const suite = wf.jobs.suite;
  assert.deepStrictEqual([...suite.strategy.matrix.python].sort(), ['3.10', '3.11', '3.12', '3.13', '3.14', '3.9']);
  const oses = suite.strategy.matrix.os.join(' ');
  for (const want of [/ubuntu-[\d.]+(?!-arm)\b/, /ubuntu-[\d.]+-arm/, /macos-1[4-9]\b/, /macos-[\d]+-intel|macos-13/, /windows-/]) assert.match(oses, want);
  assert.ok(suite.steps.some((s) => s.run === 'npm install'), 'the README install command');
  assert.ok(wf.jobs.prebuilds.steps.some((s) => /npm pack/.test(s.run || '')), 'npm pack makes the prebuilds');
});
