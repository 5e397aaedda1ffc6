'use strict';
// Process start → first call: node starting, loading the bridge, starting Python, one call.
const { spawnSync } = require('child_process');
const path = require('path');
const { bench, ROOT, BENCH_MOD } = require('./lib');

const run = (src) => async () => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', src], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
bench({
  name: 'process start → first call',
  unit: 'ms',
  variants: {
    baseline: async () => run(''),
    'python-ts': async () => run("const { clib } = require('.'); if (clib._eval('1 + 1') !== 2) process.exit(1);"),
    'node-calls-python': async () => run(`const py = require(${JSON.stringify(path.join(__dirname, 'node_modules', 'node-calls-python'))}).interpreter; const m = py.importSync(${JSON.stringify(BENCH_MOD)}); if (py.callSync(m, 'add', 1, 1) !== 2) process.exit(1);`),
  },
  note: 'python-ts with python3 on PATH (a pyenv shim), discovery cached after the first run; baseline: node -e "".',
});
