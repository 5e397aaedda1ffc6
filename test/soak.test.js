'use strict';
// The soak (test/soak/soak.js) in a child process: on the default runtime (3.11 here) and on
// 3.13+ (own-GIL contexts in the PythonPool) when present. Seeded: the seed is printed and a
// failure names it; PYTHON_TS_SEED repeats a run.
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { runNodeAsync, lastJson, supportedPythons } = require('./helpers');

const SOAK = path.join(__dirname, 'soak', 'soak.js');
const seed = Number(process.env.PYTHON_TS_SEED || 20261201);
const ms = Number(process.env.PYTHON_TS_SOAK_MS || 20000);

async function soak(env) {
  const src = `process.argv[1] = ${JSON.stringify(SOAK)}; require(${JSON.stringify(SOAK)});`;
  const r = await runNodeAsync(src, { args: ['--expose-gc'], env: { PYTHON_TS_SEED: String(seed), PYTHON_TS_SOAK_MS: String(ms), ...env }, timeout: ms + 120000 });
  assert.strictEqual(r.status, 0, `soak (seed ${seed}) ended with status ${r.status} signal ${r.signal}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
  assert.doesNotMatch(r.stderr, /Exception ignored|Traceback/, 'Python printed no ignored exceptions');
  const out = lastJson(r);
  assert.strictEqual(out.seed, seed);
  // (No Workers under Node 18: see test/soak/soak.js.)
  const kinds = ['sync', 'async', 'callback', 'handles', 'view', 'context+', 'context-', 'contextCall', 'pool', 'errors'];
  if (!/^v18\./.test(process.version)) kinds.push('worker');
  for (const k of kinds) {
    assert.ok(out.counts[k] > 0, `the soak ran no ${k} operation: ${JSON.stringify(out.counts)}`);
  }
  console.log(`# soak ${out.version}: ${out.ops} operations, ${out.opsPerSecond}/s, seed ${seed}`);
  return out;
}

test('soak on the default runtime: mixed features for a while in one process, every result checked, clean exit', async () => {
  await soak({});
});

const own = supportedPythons().find((p) => p.version[1] >= 13);
test('soak on 3.13+ (own-GIL pool contexts beside main-interpreter traffic)', { skip: !own && 'no CPython 3.13+ here' }, async () => {
  const out = await soak({ PYTHON_TS_PYTHON: own.exe });
  assert.match(out.version, /^3\.1[3-9]/);
});
