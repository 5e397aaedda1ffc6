'use strict';
// js/index.js: the Python class — plugins, wrapped objects, async, errors, bookkeeping.
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { Python, PythonError, kwargs, clib } = require('..');
const { tmpdir, runNode } = require('./helpers');

const PLUGINS = path.join(__dirname, 'fixtures', 'plugins');
const py = new Python({ plugins_path: PLUGINS });

test('a single-file plugin: functions with positional and keyword arguments, attributes', () => {
  const plugin = py.import('simple_plugin');
  assert.strictEqual(plugin.add(2, 3), 5);
  assert.strictEqual(plugin.add(2, 3, kwargs({ scale: 10 })), 50);
  assert.strictEqual(plugin.add(2, kwargs({ b: 1 })), 3);
  assert.strictEqual(plugin.NAME, 'simple');
  assert.strictEqual(plugin.missing_attribute, undefined);
  assert.strictEqual(py.call(plugin, 'add', [1, 1], { scale: 3 }), 6);
});

test('attributes are read live; refresh and __refresh__ keep working', () => {
  const plugin = py.import('simple_plugin');
  plugin.set_value(1);
  assert.strictEqual(plugin.VALUE, 1);
  plugin.set_value(41);
  assert.strictEqual(plugin.VALUE, 41);
  assert.strictEqual(py.refresh(plugin), plugin);
  assert.strictEqual(plugin.__refresh__().VALUE, 41);
  plugin.VALUE = 7;
  assert.strictEqual(py.eval('__import__("simple_plugin").VALUE'), 7);
});

test('classes: instantiate, call methods, read instance attributes', () => {
  const plugin = py.import('simple_plugin');
  const counter = plugin.Counter(5);
  const handle = counter.__wrapper__;
  assert.strictEqual(handle.type, 'python-ts/PyObject*');
  assert.strictEqual(handle.repr, 'Counter(5)');
  assert.strictEqual(counter.unwrap(), counter, 'results are wrapped already; unwrap() gives the wrapper back');
  assert.strictEqual(py.typeOf(counter), 'simple_plugin.Counter');
  assert.strictEqual(counter.increment(), 6);
  assert.strictEqual(counter.increment(kwargs({ by: 4 })), 10);
  assert.strictEqual(counter.count, 10);
  assert.strictEqual(counter.kind, 'counter');
  assert.strictEqual(plugin.make_counter(3).unwrap().increment(), 4);
  assert.strictEqual(py.call(handle, 'increment', [1]), 11);
  assert.strictEqual(py.unwrap(handle), counter);
});

test('a package plugin and nested attributes', () => {
  const pkg = py.import('pkg_plugin');
  assert.strictEqual(pkg.greet('world'), 'HELLO WORLD!');
  assert.strictEqual(pkg.VERSION, '1.0');
  assert.strictEqual(pkg.helpers.shout('x'), 'X!');
  const os = py.import('os');
  assert.strictEqual(os.path.join('a', 'b'), path.join('a', 'b'));
  assert.strictEqual(os.path.unwrap(), os.path, 'attribute objects answer .unwrap() like handles');
  assert.strictEqual(os.getcwd(), process.cwd());
});

test('reload a plugin after editing its file: the new code runs', () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'editable_plugin.py'), 'def version():\n    return 1\n');
  const local = new Python({ plugins_path: dir });
  const plugin = local.import('editable_plugin');
  assert.strictEqual(plugin.version(), 1);
  // CPython revalidates a cached .pyc by the source's mtime in whole seconds and its size: an
  // edit within the same second must change the size to be seen (as any edit that adds a line).
  fs.writeFileSync(path.join(dir, 'editable_plugin.py'), 'def version():\n    return 2  # edited\n');
  local.exec('import importlib; importlib.invalidate_caches()');
  assert.strictEqual(local.reload(plugin), true);
  assert.strictEqual(plugin.version(), 2);
  fs.writeFileSync(path.join(dir, 'editable_plugin.py'), 'def version():\n    return 3  # edited again\n');
  assert.strictEqual(local.reload('editable_plugin'), true);
  assert.strictEqual(plugin.version(), 3);
});

test('multiprocessing from a plugin with spawn and forkserver', async () => {
  const mp = py.import('mp_plugin');
  assert.deepStrictEqual(await mp.run_async('spawn'), [0, 1, 4, 9]);
  assert.deepStrictEqual(await mp.run_async('forkserver'), [0, 1, 4, 9]);
});

test('the standard library through the wrapper: os, os.path, json, hashlib.md5(Buffer)', () => {
  const json = py.import('json');
  assert.strictEqual(json.dumps({ a: [1, 2] }), '{"a": [1, 2]}');
  assert.deepStrictEqual(json.loads('{"b": null}'), { b: null });
  const hashlib = py.import('hashlib');
  const buf = crypto.randomBytes(1000);
  assert.strictEqual(hashlib.md5(buf).unwrap().hexdigest(), crypto.createHash('md5').update(buf).digest('hex'));
  assert.deepStrictEqual(hashlib.md5(buf).unwrap().digest(), crypto.createHash('md5').update(buf).digest());
  const ospath = py.import('os.path');
  assert.strictEqual(ospath.basename('/a/b.txt'), 'b.txt');
});

test('async methods and the _async forms return Promises', async () => {
  const os = py.import('os');
  assert.strictEqual(await os.getcwd_async(), process.cwd());
  assert.strictEqual(await py.eval_async('6 * 7'), 42);
  assert.strictEqual(await py.exec_async('_py_async = 1'), null);
  const plugin = py.import('simple_plugin');
  assert.strictEqual(await py.call_async(plugin, 'add', [1, 2], { scale: 2 }), 6);
  await assert.rejects(py.eval_async('1/0'), (e) => e instanceof PythonError && e.name === 'ZeroDivisionError');
  await assert.rejects(plugin.add_async('x', 1), (e) => e instanceof PythonError && e.name === 'TypeError');
});

test('a coroutine that reaches JS is awaitable: it runs once on the interpreter loop, resolves or rejects like _async; others are no thenables', async () => {
  py.exec([
    'import asyncio',
    'async def co_add(a, b):',
    '    await asyncio.sleep(0)',
    '    return a + b',
    'async def co_boom():',
    '    await asyncio.sleep(0)',
    '    raise ValueError("async boom")',
    'class WithAwaitMethod:',
    '    def __await__(self):',
    '        return iter(())',
  ].join('\n'));
  const m = py.import('__main__');
  assert.strictEqual(await m.co_add(1, 2), 3);
  await assert.rejects(async () => await m.co_boom(), (e) => e instanceof PythonError && e.name === 'ValueError' && e.message === 'ValueError: async boom');
  const c = m.co_add(2, 3);
  assert.strictEqual(typeof c.then, 'function');
  assert.deepStrictEqual([await c, await c], [5, 5], 'awaited twice: run once');
  assert.strictEqual(m.WithAwaitMethod.then, undefined, 'a class with __await__ is no thenable');
  assert.strictEqual(py.eval('1j').then, undefined);
});

test('a coroutine never awaited gives Python\'s RuntimeWarning when it is released', () => {
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    py.exec('async def never():\\n    return 1');
    py.import('__main__').never();
    (async () => { for (let i = 0; i < 8; i++) { global.gc(); await new Promise((r) => setImmediate(r)); } py.eval('0'); console.log('done'); })();`, { args: ['--expose-gc'] });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /RuntimeWarning: coroutine 'never' was never awaited/);
});

test('errors name their type once, async errors carry the JS call site, and tracebacks leave python-ts\'s own frames out', async () => {
  py.exec('def e_boom():\n    raise ValueError("boom")\nasync def e_aboom():\n    raise ValueError("async boom")');
  const m = py.import('__main__');
  const sync = (() => { try { m.e_boom(); } catch (e) { return e; } })();
  assert.strictEqual(sync.message, 'ValueError: boom');
  assert.match(sync.stack, /^ValueError: boom\n\s+at /);
  async function theCallSite() {
    return m.e_aboom_async();
  }
  const errors = [];
  for (const start of [theCallSite, () => m.e_boom_async(), () => py.call_async(m, 'e_aboom'), () => py.eval_async('1/0')]) {
    try { await start(); } catch (e) { errors.push(e); }
  }
  assert.strictEqual(errors.length, 4);
  for (const e of errors) {
    assert.ok(e instanceof PythonError, String(e));
    assert.ok(!e.stack.startsWith(`${e.name}: ${e.name}:`), e.stack);
    assert.match(e.stack, /\n\s+at .*python\.test\.js/, `a JS frame of the caller: ${e.stack}`);
    assert.doesNotMatch(e.traceback, /<python_ts>|run_awaitable|concurrent[\\/]futures/, e.traceback);
  }
  assert.match(errors[0].stack, /at theCallSite/);
  assert.match(errors[0].traceback, /in e_aboom\nValueError: async boom/);
  assert.match(errors[1].traceback, /^Traceback \(most recent call last\):\n  File "<string>", line 2, in e_boom\n/);
});

test('wrapped _async method calls take an AbortSignal (callOptions({ signal }) or the bare signal last): the call is cancelled in Python', async () => {
  py.exec([
    'import asyncio, time',
    'spins = 0',
    'def spin(n):',
    '    global spins',
    '    while True:',
    '        spins += 1',
    'async def asleep(n):',
    '    await asyncio.sleep(n)',
    '    return "slept"',
  ].join('\n'));
  const m = py.import('__main__');
  const { callOptions } = require('..');
  const ac = new AbortController();
  const p = m.spin_async(1, callOptions({ signal: ac.signal }));
  while (py.eval('spins') === 0) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await assert.rejects(p, (e) => e.name === 'AbortError');
  // The Python loop stopped: the counter no longer moves.
  let last = -1;
  for (let now = py.eval('spins'); now !== last; now = py.eval('spins')) { last = now; await new Promise((r) => setTimeout(r, 50)); }
  const ac2 = new AbortController();
  const p2 = m.asleep_async(600, ac2.signal);
  setImmediate(() => ac2.abort());
  await assert.rejects(p2, (e) => e.name === 'AbortError');
  assert.strictEqual(await m.asleep_async(0, callOptions({})), 'slept', 'options without a signal: an ordinary call');
  assert.throws(() => callOptions(null), TypeError);
});

test('watch: a changed file reloads its module; a failed reload keeps the last good code and is reported; close and delete stop it', async () => {
  const dir = tmpdir('watch');
  const pkg = path.join(dir, 'watched_pkg');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, '__init__.py'), '');
  fs.writeFileSync(path.join(pkg, 'calc.py'), 'def value():\n    return 1\n');
  fs.writeFileSync(path.join(dir, 'watched_single.py'), 'def value():\n    return "a"\n');
  const local = new Python({ plugins_path: dir });
  const calc = local.import('watched_pkg.calc');
  const single = local.import('watched_single');
  const events = [];
  let waiting = null;
  const next = () => new Promise((resolve) => { waiting = resolve; });
  const w = local.watch('watched_pkg', (err, name) => { events.push([err && err.name, name]); if (waiting) waiting(); });
  const reloads = [];
  w.on('reload', (name) => reloads.push(name));
  w.on('error', () => {});
  let seen = next();
  fs.writeFileSync(path.join(pkg, 'calc.py'), 'def value():\n    return 2\n');   // same size, same second
  await seen;
  assert.strictEqual(calc.value(), 2);
  seen = next();
  fs.writeFileSync(path.join(pkg, 'calc.py'), 'def value(:\n    return 3\n');
  await seen;
  assert.deepStrictEqual(events.at(-1), ['SyntaxError', 'watched_pkg.calc']);
  assert.strictEqual(calc.value(), 2, 'a syntax error keeps the last good code');
  seen = next();
  fs.writeFileSync(path.join(pkg, 'calc.py'), 'def value():\n    return 4\nraise RuntimeError("half-way")\n');
  await seen;
  assert.deepStrictEqual(events.at(-1), ['RuntimeError', 'watched_pkg.calc']);
  assert.strictEqual(calc.value(), 2, 'an error half-way through keeps the last good code');
  seen = next();
  fs.writeFileSync(path.join(pkg, 'calc.py'), 'def value():\n    return 5\n');
  await seen;
  assert.strictEqual(calc.value(), 5);
  assert.deepStrictEqual(reloads, ['watched_pkg.calc', 'watched_pkg.calc']);
  // Outside the watched package: not reloaded.
  const other = local.watch(path.join(dir, 'watched_single.py'));
  assert.strictEqual(typeof other.close, 'function');
  w.close();
  assert.strictEqual(w.closed, true);
  fs.writeFileSync(path.join(pkg, 'calc.py'), 'def value():\n    return 6\n');
  // A watch on the single module's file: it reloads that module (progress: wait for its event).
  const reloaded = new Promise((resolve) => other.once('reload', resolve));
  fs.writeFileSync(path.join(dir, 'watched_single.py'), 'def value():\n    return "b"\n');
  assert.strictEqual(await reloaded, 'watched_single');
  assert.strictEqual(single.value(), 'b');
  assert.strictEqual(calc.value(), 5, 'a closed watch reloads nothing');
  local.delete();
  assert.strictEqual(other.closed, true, 'deleting the instance ends its watches');
  assert.throws(() => py.watch('watched_pkg', 5), TypeError);
  assert.throws(() => py.watch('sys'), TypeError, 'a built-in module has no file');
});

test('keyword arguments: kwargs({...}) also as the kwargs parameter of call/call_async; a plain object passed last gets a hint in its TypeError', async () => {
  py.exec('def kw_f(a, *, y=0):\n    return [a, y]');
  const m = py.import('__main__');
  assert.deepStrictEqual(py.call(m, 'kw_f', [1], kwargs({ y: 2 })), [1, 2]);
  assert.deepStrictEqual(await py.call_async(m, 'kw_f', [1], kwargs({ y: 3 })), [1, 3]);
  assert.deepStrictEqual(py.call(m, 'kw_f', [1], { y: 4 }), [1, 4], 'the plain-object form still works');
  assert.throws(() => m.kw_f(1, { y: 2 }), (e) => e instanceof PythonError && e.name === 'TypeError' && /a JS object, was passed as a dict; keyword arguments are passed as kwargs\(\{\.\.\.\}\)/.test(e.message));
  assert.throws(() => m.kw_f(1, [2]), (e) => e.name === 'TypeError' && !/kwargs\(/.test(e.message), 'no hint for an Array');
});

test('errors: PythonError from every method; misuse is a TypeError or Error that says what to do', () => {
  const plugin = py.import('simple_plugin');
  assert.throws(() => plugin.add(), (e) => e instanceof PythonError && e.name === 'TypeError');
  assert.throws(() => py.exec('raise ValueError("x")'), (e) => e instanceof PythonError && e.name === 'ValueError');
  assert.throws(() => py.import('no_such_plugin'), (e) => e instanceof PythonError && e.name === 'ModuleNotFoundError');
  assert.throws(() => py.call({}, 'x'), (e) => e instanceof TypeError && /must be a Python object/.test(e.message));
  assert.throws(() => py.call(plugin, 'add', 'notarray'), TypeError);
  assert.throws(() => py.unwrap(5), TypeError);
  assert.throws(() => py.import(5), TypeError);
  const c = plugin.Counter(1);
  py.gc(c);
  assert.throws(() => c.unwrap().increment(), /was released/);
});

test('the Proxy answers JS probes itself: then, symbols, toJSON, inspect, constructor', async () => {
  const os = py.import('os');
  assert.strictEqual(os.then, undefined);
  assert.strictEqual(await os, os);
  assert.strictEqual(typeof os[Symbol.iterator], 'function', 'wrappers follow the iteration protocol');
  assert.strictEqual(os.constructor, Object);
  assert.deepStrictEqual(Object.keys(JSON.parse(JSON.stringify(os))).sort(), ['pytype', 'type', 'value']);
  assert.match(util.inspect(os), /^<module 'os'/, 'util.inspect shows repr()');
  assert.match(String(os), /^<module 'os'/, 'String() is str()');
  const keys = Object.keys(os);
  assert.ok(keys.includes('getcwd') && keys.includes('path'));
  assert.ok('getcwd' in os);
  assert.ok(!('no_such_name' in os));
});

test('handles and wrapped objects are accepted wherever an object is expected', () => {
  py.exec('def _kind(x):\n    return type(x).__name__');
  const main = py.import('__main__');
  const plugin = py.import('simple_plugin');
  const counter = plugin.Counter(2);
  assert.strictEqual(main._kind(counter), 'Counter');
  assert.strictEqual(main._kind(counter.unwrap()), 'Counter');
  assert.strictEqual(main._kind([counter.unwrap()]), 'list');
  assert.strictEqual(main._kind(plugin), 'module');
  assert.strictEqual(main._kind(plugin.add), 'function');
  assert.strictEqual(py.call(plugin.add, null, [1, 2]), 3);
});

test('gc, clear and references bookkeeping; released objects throw', () => {
  // By membership, not by count: the JS GC may collect other tests' handles meanwhile.
  const local = new Python();
  const live = (w) => clib.references.includes(w.__wrapper__);
  const a = local.eval('object()');
  const b = local.eval('[object()]')[0];
  assert.ok(live(a) && live(b));
  const ha = a.__wrapper__;
  assert.strictEqual(local.gc(a), true);
  assert.strictEqual(local.gc(a), false);
  assert.ok(!clib.references.includes(ha) && live(b));
  assert.ok(local.clear() >= 1);
  assert.throws(() => local.call(b, '__repr__'), /was released/);
});

test('two instances share one interpreter; sameContext and isPyObject', () => {
  const a = new Python();
  const b = new Python();
  a.exec('_shared_value = 99');
  assert.strictEqual(b.eval('_shared_value'), 99);
  const h = a.eval('object()');
  assert.strictEqual(a.isPyObject(h), true);
  assert.strictEqual(a.isPyObject(h.unwrap()), true);
  assert.strictEqual(a.isPyObject({ type: 'python-ts/PyObject*', value: '1' }), false);
  assert.strictEqual(b.sameContext(h), true);
  assert.strictEqual(b.sameContext({}), false);
});

test('Symbol.dispose releases early on wrapped objects and on Python', () => {
  const local = new Python();
  const h = local.eval('object()');
  const w = h.unwrap();
  w[Symbol.dispose]();
  assert.throws(() => local.call(h, '__repr__'), /was released/);
  local[Symbol.dispose]();
  assert.throws(() => local.eval('1'), /was deleted/);
});

test('import of a module with thousands of names costs about one call (lazy attributes)', () => {
  // Counted, not timed: the module counts every attribute read; a lazy import reads a handful,
  // an eager one would read all 5 000 names.
  py.exec([
    'import types, sys',
    'class _Counting(types.ModuleType):',
    '    reads = 0',
    '    def __getattribute__(self, name):',
    '        type(self).reads += 1',
    '        return super().__getattribute__(name)',
    '_big = _Counting("big_mod")',
    'for i in range(5000):',
    '    setattr(_big, "f%d" % i, i)',
    'sys.modules["big_mod"] = _big',
    '_Counting.reads = 0',
  ].join('\n'));
  const big = py.import('big_mod');
  const reads = py.eval('_Counting.reads');
  assert.ok(reads < 50, `import read ${reads} attributes`);
  assert.strictEqual(big.f4999, 4999);
});
