'use strict';
// Iterating a 100 000-item Python generator from JS, per item: for..of over a wrapped generator
// (one call per step) and for await (each step off the JS thread), beside converting the whole
// list at once; the peer has no iteration protocol, so its row is list(gen) converted.
const { bench, pythonTs, peer, PY_DIR, BENCH_MOD } = require('./lib');

const N = 100000;
const perItem = (f) => async () => {
  const t0 = process.hrtime.bigint();
  const n = await f();
  if (n !== N) throw new Error(`bad count ${n}`);
  return Number(process.hrtime.bigint() - t0) / 1e3 / N;
};
function py() {
  const { Python } = pythonTs();
  const p = new Python({ plugins_path: PY_DIR });
  p.exec(`def _gen(n):\n    for i in range(n):\n        yield i`);
  return p;
}
bench({
  name: 'iterate a 100 000-item generator, per item',
  unit: 'µs',
  variants: {
    baseline: async () => perItem(async () => { function* g(n) { for (let i = 0; i < n; i++) yield i; } let c = 0; for (const _ of g(N)) c++; return c; }),
    'python-ts for..of': async () => { const m = py().import('__main__'); return perItem(async () => { let c = 0; for (const _ of m._gen(N)) c++; return c; }); },
    'python-ts for await': async () => { const m = py().import('__main__'); return perItem(async () => { let c = 0; for await (const _ of m._gen(N)) c++; return c; }); },
    'python-ts list(gen)': async () => { const p = py(); return perItem(async () => p.eval(`list(_gen(${N}))`).length); },
    'node-calls-python': async () => {
      const q = peer();
      const m = q.importSync(BENCH_MOD);
      return perItem(async () => q.callSync(m, 'ints', N).length);
    },
  },
  note: 'The peer cannot iterate a Python generator from JS; its row returns list(range(n)) built by bench_mod.ints, converted at once.',
});
