'use strict';
// src/sys/trace.rs and js/internal/diagnostics.js: the debug log, traced calls on
// diagnostics_channel, and clib._counters().
const test = require('node:test');
const assert = require('node:assert');
const { runNode, lastJson } = require('./helpers');

test('diagnostics_channel: start and end (or error) of every clib call while subscribed — async ones at their delivery, with queued and run times; nothing once unsubscribed', () => {
  const r = runNode(`const dc = require('diagnostics_channel');
    const { Python, clib } = require('.');
    const py = new Python();
    py.exec('import time\\ndef slow(x):\\n    time.sleep(0.01)\\n    return x');
    const m = py.import('__main__');
    const events = [];
    const record = (phase) => (e) => events.push({ phase, ...e, error: e.error === undefined ? undefined : String(e.error.message || e.error) });
    const subs = ['start', 'end', 'error'].map((p) => [\`python-ts:call:\${p}\`, record(p)]);
    for (const [name, f] of subs) dc.subscribe(name, f);
    (async () => {
      m.slow('sync');
      try { py.eval('1/0'); } catch (e) {}
      await m.slow_async('async');
      try { await py.eval_async('{}["k"]'); } catch (e) {}
      const ctx = new Python({ context: true });
      ctx.eval('1 + 1');
      ctx.delete();
      for (const [name, f] of subs) dc.unsubscribe(name, f);
      const before = events.length;
      m.slow('after');
      console.log(JSON.stringify({ events, after: events.length - before }));
    })();`);
  const { events, after } = lastJson(r);
  assert.strictEqual(after, 0, 'no events once every subscriber left');
  const starts = new Map(events.filter((e) => e.phase === 'start').map((e) => [e.id, e]));
  const ends = events.filter((e) => e.phase !== 'start');
  assert.strictEqual(starts.size, ends.length, 'every start has one end or error');
  for (const e of ends) {
    const s = starts.get(e.id);
    assert.ok(s, `an end with a start: ${JSON.stringify(e)}`);
    assert.ok(events.indexOf(s) < events.indexOf(e), 'start before end');
    assert.strictEqual(typeof e.durationMs, 'number');
    assert.match(e.thread, /^thread \d+/);
  }
  const bound = ends.find((e) => e.fn === 'bound method' && e.method === 'slow' && e.phase === 'end');
  assert.ok(bound, 'a wrapped method call is traced');
  assert.strictEqual(bound.args, 'str(4)', 'argument kinds and sizes, never contents');
  assert.strictEqual(bound.context, 'main context');
  const syncError = ends.find((e) => e.fn === '_eval' && e.phase === 'error' && !e.async);
  assert.match(syncError.error, /ZeroDivisionError/);
  const asyncEnd = ends.find((e) => e.fn === '_call_python' && e.method === 'slow' && e.async);
  assert.strictEqual(asyncEnd.phase, 'end');
  assert.strictEqual(asyncEnd.target, 'module');
  assert.ok(asyncEnd.ranMs >= 0 && asyncEnd.queuedMs >= 0 && asyncEnd.durationMs >= asyncEnd.ranMs, JSON.stringify(asyncEnd));
  const asyncError = ends.find((e) => e.fn === '_eval' && e.async);
  assert.strictEqual(asyncError.phase, 'error');
  assert.match(asyncError.error, /KeyError/);
  assert.ok(ends.some((e) => /^context \d+$/.test(e.context || '')), 'a context call names its context');
});

test('the debug log names target, method, argument kinds, thread and context, and for async calls the time queued and the time Python ran', () => {
  const r = runNode(`const { Python, clib } = require('.');
    const py = new Python();
    py.exec('def echo(x):\\n    return x');
    const m = py.import('__main__');
    const json = py.import('json');
    clib._set_debug(true);
    m.echo('secret-value');
    clib._call_python(json.__wrapper__, 'dumps', [[1, 2, 3]]);
    json.dumps_async([1]).then(() => { clib._set_debug(false); console.log('done'); });`);
  assert.strictEqual(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('[python-ts]'));
  assert.ok(lines.some((l) => /^\[python-ts\] bound method \.echo \(str\(12\)\) on thread \d+.* \[main context\] [\d.]+ ms ok$/.test(l)), lines.join('\n'));
  assert.ok(!r.stderr.includes('secret-value'), 'no argument contents');
  assert.ok(lines.some((l) => /^\[python-ts\] _call_python module\.dumps \(handle\(module\), str\(5\), array\(1\)\) on thread \d+/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => / scheduled$/.test(l)));
  assert.ok(lines.some((l) => /_call_python module\.dumps .* async: queued [\d.]+ ms, Python ran [\d.]+ ms ok$/.test(l)), lines.join('\n'));
});

test('clib._counters(): live handles, queued releases, threads, async calls in flight and contexts, in one call', async () => {
  const r = runNode(`const { Python, clib } = require('.');
    const py = new Python();
    py.exec('import time');
    const c0 = clib._counters();
    const objs = Array.from({ length: 5 }, () => py.eval('object()'));
    const c1 = clib._counters();
    const pending = py.eval_async('time.sleep(0.2)');
    const c2 = clib._counters();
    const ctx = clib._create_pycontext({});
    const c3 = clib._counters();
    clib._delete_pycontext(ctx);
    pending.then(() => {
      const c4 = clib._counters();
      console.log(JSON.stringify({ c0, c1, c2, c3, c4, keys: Object.keys(c0).sort() }));
    });`);
  const o = lastJson(r);
  assert.deepStrictEqual(o.keys, ['callsInFlight', 'contexts', 'handles', 'idleThreads', 'queuedCalls', 'queuedReleases', 'threads']);
  assert.strictEqual(o.c1.handles - o.c0.handles, 5);
  assert.strictEqual(o.c2.callsInFlight, 1);
  assert.strictEqual(o.c3.contexts, o.c0.contexts + 1);
  assert.strictEqual(o.c4.callsInFlight, 0);
  assert.ok(o.c4.threads >= 1);
});
