#!/usr/bin/env node
// Two builds of python-ts side by side: `node bench/compare.js <checkout> [bench ...]` runs each
// benchmark (default: the sync call, sum, strings and records rows) against this checkout and
// against <checkout> (an earlier commit, built: its own js/ and build/Release/python_ts.node),
// alternating, and prints a Markdown table of the python-ts medians and their change. The floor
// and the peer rows come from the same runs.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const [baseRoot, ...only] = process.argv.slice(2);
if (!baseRoot) {
  console.error('usage: node bench/compare.js <checkout of an earlier commit, built> [bench ...]');
  process.exit(2);
}
const benches = only.length ? only : ['sync-call', 'sum-ints', 'string-latin1', 'string-bmp', 'records-to-py', 'records-from-py'];

function run(file, env) {
  const r = spawnSync(process.execPath, [path.join(__dirname, `${file}.js`), '--json'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 1800000 });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('@@RESULT '));
  if (!line) throw new Error(`${file}: no result (status ${r.status})\n${r.stderr}`);
  return JSON.parse(line.slice('@@RESULT '.length));
}

const fmt = (v) => (v === undefined ? 'n/a' : v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1));
const rows = [];
for (const b of benches) {
  const now = run(b, {});
  const base = run(b, { PYTHON_TS_BENCH_ROOT: path.resolve(baseRoot), PYTHON_TS_BASE: '' });
  for (const [name, r] of Object.entries(now.results)) {
    if (!name.startsWith('python-ts') || r.median === undefined || name.includes('base')) continue;
    const was = base.results[name] && base.results[name].median;
    const change = was ? `${(((r.median - was) / was) * 100).toFixed(1)} %` : 'n/a';
    rows.push(`| ${now.name}: ${name} | ${now.unit} | ${fmt(was)} | ${fmt(r.median)} | ${change} |`);
  }
  for (const name of Object.keys(now.results).filter((n) => /floor|node-calls-python|baseline/.test(n))) {
    const r = now.results[name];
    if (r.median !== undefined) rows.push(`| ${now.name}: ${name} | ${now.unit} | | ${fmt(r.median)} | |`);
  }
}
console.log(`| row | unit | ${path.basename(path.resolve(baseRoot))} (before) | this checkout | change |`);
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
