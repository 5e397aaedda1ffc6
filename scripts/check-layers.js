#!/usr/bin/env node
// The layers of src/ point one way: error (a leaf) ← sys ← runtime / env ← convert ← clib ← lib.
// runtime (Python only) and env (N-API per-environment state) sit side by side and never use each
// other. Every `crate::` path in a file (a `use` or an inline path) is an edge from the file's
// layer to the layer it names; an edge to a higher layer, or between runtime and env, fails —
// unless it is in scripts/layers-allowlist.txt, which may only shrink: an entry that no longer
// matches an edge fails too, so the list stays exact until it is empty.
//
//   node scripts/check-layers.js          check (npm test runs it)
//   node scripts/check-layers.js --list   print every upward edge found
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');
const ALLOWLIST = path.join(__dirname, 'layers-allowlist.txt');

/** The layer of a module path (`runtime/gil.rs`, or `runtime::gil` after `crate::`). */
const LAYERS = { error: 0, sys: 1, runtime: 2, env: 2, convert: 3, clib: 4, lib: 5 };
/** Modules at the top of src/ that belong to a layer of their own folder's name. */
const ALIASES = {};
function layerOf(top) {
  if (top in LAYERS) return top;
  return ALIASES[top] || null;
}
function layerOfFile(rel) {
  const top = rel.split('/')[0].replace(/\.rs$/, '');
  return layerOf(top);
}

function files(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.name.endsWith('.rs')) out.push(p);
  }
  return out;
}

/** Every `crate::<top>` a file names (braced groups `crate::{a::x, b}` included), comments skipped. */
function cratePaths(text) {
  const code = text.replace(/\/\/[^\n]*/g, '');
  const tops = new Set();
  for (const m of code.matchAll(/crate::([a-z_]+)/g)) tops.add(m[1]);
  for (const m of code.matchAll(/crate::\{([^}]*)\}/g)) {
    for (const item of m[1].split(',')) {
      const top = item.trim().split('::')[0];
      if (top) tops.add(top);
    }
  }
  return [...tops];
}

function edges() {
  const found = [];
  for (const file of files(src)) {
    const rel = path.relative(src, file).split(path.sep).join('/');
    const from = layerOfFile(rel);
    if (!from) {
      found.push({ rel, to: null, problem: `${rel}: a file outside the known layers (${Object.keys(LAYERS).join(', ')})` });
      continue;
    }
    for (const top of cratePaths(fs.readFileSync(file, 'utf8'))) {
      const to = layerOf(top);
      if (!to) {
        found.push({ rel, to: top, problem: `${rel}: crate::${top} is in no known layer` });
        continue;
      }
      if (to === from) continue;
      const upward = LAYERS[to] > LAYERS[from] || LAYERS[to] === LAYERS[from];
      if (upward) found.push({ rel, to, problem: `${rel} (${from}) uses crate::${top} (${to})` });
    }
  }
  return found;
}

function allowlist() {
  if (!fs.existsSync(ALLOWLIST)) return [];
  return fs
    .readFileSync(ALLOWLIST, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

const found = edges();
if (process.argv.includes('--list')) {
  for (const e of found) console.log(`${e.rel} -> ${e.to}`);
  process.exit(0);
}
const allowed = new Set(allowlist());
const keys = new Set(found.map((e) => `${e.rel} -> ${e.to}`));
const errors = [];
for (const e of found) if (!allowed.has(`${e.rel} -> ${e.to}`)) errors.push(`upward import: ${e.problem}`);
for (const a of allowed) if (!keys.has(a)) errors.push(`allowlist entry no longer needed (remove it): ${a}`);
if (errors.length) {
  for (const e of errors) console.error(`# layers: ${e}`);
  process.exit(1);
}
console.log(`# layers: ${files(src).length} files, no upward import${allowed.size ? ` beyond ${allowed.size} allowlisted` : ''}`);
