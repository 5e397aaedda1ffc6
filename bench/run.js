#!/usr/bin/env node
// `npm run bench`: every benchmark in bench/, one after the other, then a Markdown table in
// docs/performance.md (machine, versions, median of several repetitions, min–max, ratios).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const only = process.argv.slice(2);
const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.js') && !['lib.js', 'run.js'].includes(f)).filter((f) => !only.length || only.some((o) => f.startsWith(o)));
const ORDER = ['sync-call', 'async-sequential', 'async-inflight', 'sleep8', 'cpu4', 'sum-ints', 'string-echo', 'string-latin1', 'string-bmp', 'bytes-echo', 'floats', 'dict-echo', 'records', 'records-to-py', 'records-from-py', 'iterate', 'import-large', 'startup', 'rss', 'contexts', 'jsproxy', 'jsproxy-lists'];
files.sort((a, b) => ORDER.indexOf(a.replace('.js', '')) - ORDER.indexOf(b.replace('.js', '')));

const summaries = [];
for (const f of files) {
  const r = spawnSync(process.execPath, [path.join(__dirname, f), '--json'], { cwd: ROOT, encoding: 'utf8', env: process.env, timeout: 1200000 });
  process.stdout.write(r.stdout.split('\n').filter((l) => !l.startsWith('@@RESULT')).join('\n'));
  if (r.status !== 0) process.stderr.write(r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@RESULT '));
  if (line) summaries.push(JSON.parse(line.slice('@@RESULT '.length)));
}

const fmt = (v, unit) => (v === undefined ? 'n/a' : unit === 'µs' ? v.toFixed(v < 1 ? 3 : 2) : v < 10 ? v.toFixed(2) : v.toFixed(1));
const pyVersion = (() => {
  try {
    const { clib } = require(ROOT);
    clib._init_python();
    return clib._runtime_info();
  } catch (e) {
    return null;
  }
})();
const peerVersion = (() => {
  try {
    return require(path.join(__dirname, 'node_modules', 'node-calls-python', 'package.json')).version;
  } catch (e) {
    return 'not installed';
  }
})();
let md = '';
md += `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, `;
md += `Node ${process.version}, CPython ${pyVersion ? pyVersion.version : '?'} (python-ts; \`PYTHON_TS_PYTHON\` for cpu4), node-calls-python ${peerVersion}. `;
md += 'Each row: median of the repetitions, min–max in brackets; ratios from the medians of the same run. The machine is shared and noisy: ratios matter more than absolute figures.\n\n';
md += '| operation | unit | baseline | python-ts | node-calls-python | python-ts vs peer | python-ts vs baseline |\n| --- | --- | --- | --- | --- | --- | --- |\n';
for (const s of summaries) {
  const base = s.results.baseline;
  const peer = s.results['node-calls-python'];
  const mine = Object.entries(s.results).filter(([k]) => k.startsWith('python-ts'));
  for (const [name, r] of mine) {
    const cell = (x) => (!x || x.median === undefined ? (x && (x.missing || x.failed) ? 'n/a' : '—') : `${fmt(x.median, s.unit)} (${fmt(x.min, s.unit)}–${fmt(x.max, s.unit)})`);
    const vsPeer = peer && peer.median && r.median ? `${(peer.median / r.median).toFixed(2)}× faster` : '—';
    const vsBase = base && base.median && r.median ? `${(r.median / base.median).toFixed(1)}×` : '—';
    const extra = r.extra ? ` ${JSON.stringify(r.extra)}` : '';
    md += `| ${s.name} — ${name}${extra} | ${s.unit} | ${cell(base)} | ${cell(r)} | ${cell(peer)} | ${vsPeer} | ${vsBase} |\n`;
  }
}
for (const s of summaries) if (s.note) md += `\n- *${s.name}*: ${s.note}`;
md += '\n';

const doc = path.join(ROOT, 'docs', 'performance.md');
const old = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8') : '# Performance\n\n<!-- bench:start -->\n<!-- bench:end -->\n';
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const next = old.includes(start) && old.includes(end) ? `${old.slice(0, old.indexOf(start) + start.length)}\n${md}${old.slice(old.indexOf(end))}` : `${old}\n${start}\n${md}${end}\n`;
fs.writeFileSync(doc, next);
console.log(`\nwrote ${path.relative(ROOT, doc)}`);
