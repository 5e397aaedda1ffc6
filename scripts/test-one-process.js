#!/usr/bin/env node
// Every test file in ONE process, one after another, sharing one interpreter — the way an
// application uses python-ts, where features meet (node's runner gives each file a process of
// its own). `node:test` runs the tests registered by each required file in order and sets a
// failing exit code if any fails.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
// Files whose tests only run children (nothing of theirs shares this process): run once, by the
// per-file pass.
const CHILD_ONLY = new Set(['soak.test.js', 'lifetimes.test.js']);
const only = process.argv.slice(2);
const files = only.length
  ? only.map((f) => path.resolve(root, f))
  : fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.js') && !CHILD_ONLY.has(f)).sort().map((f) => path.join(root, 'test', f));
process.env.PYTHON_TS_ONE_PROCESS = '1';
for (const f of files) require(f);
