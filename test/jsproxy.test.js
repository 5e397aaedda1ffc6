'use strict';
// js/internal/jsproxy.js and python_ts.JsProxy: Python uses the app's JS objects live — require,
// the global scope, class instances, EventEmitters, Promises — from the JS thread, Python
// threads, async def, Workers; errors both ways; lifetimes.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { EventEmitter } = require('events');
const { Python, jsobject, PythonError } = require('..');
const { runNode, lastJson, tmpdir, freeThreadedPythons, supportedPythons, reinitSafe } = require('./helpers');

const py = new Python();
py.exec([
  'import threading, asyncio',
  'from python_ts import js, require, JsProxy, JSError',
  'def jp_in_thread(f, *args):',
  '    out = []',
  '    t = threading.Thread(target=lambda: out.append(f(*args)))',
  '    t.start()',
  '    t.join()',
  '    return out[0]',
].join('\n'));
const main = py.import('__main__');

test('from Python: require and the global scope, sync, from a Python thread and from async def', async () => {
  const file = path.join(tmpdir('jsproxy'), 'f.txt');
  fs.writeFileSync(file, 'héllo');
  py.exec([
    'def node_things(file):',
    '    return [require("path").join("a", "b"),',
    '            require("crypto").createHash("sha256").update("abc").digest("hex"),',
    '            require("fs").readFileSync(file, "utf8"),',
    '            js.JSON.stringify({"a": [1, 2]}),',
    '            js.Math.max(1, 5, 3),',
    '            js.Date.new(0).getTime()]',
    'async def node_things_async(file):',
    '    await asyncio.sleep(0)',
    '    return node_things(file)',
  ].join('\n'));
  const expected = ['a/b', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'héllo', '{"a":[1,2]}', 5, 0];
  assert.deepStrictEqual(main.node_things(file), expected);
  // From a Python thread the JS thread must be free: the async form keeps it so.
  assert.deepStrictEqual(await main.jp_in_thread_async(main.node_things, file), expected);
  assert.deepStrictEqual(await main.node_things_async_async(file), expected);
  assert.deepStrictEqual(await main.node_things_async(file), expected);
});

test('an Electron-style plugin: methods, a property, an EventEmitter listener, a background thread and an awaited Promise', async () => {
  class App {
    constructor() { this.name = 'demo'; this.events = new EventEmitter(); this.lines = []; }
    log(msg) { this.lines.push(msg); return this.lines.length; }
    fetchConfig() { return new Promise((resolve) => setImmediate(() => resolve({ level: 3, tags: ['a', 'b'] }))); }
  }
  const app = new App();
  py.exec([
    'jp_ticks = []',
    'def plugin_setup(app):',
    '    app.log("setup " + app.name)',
    '    app.events.on("tick", lambda n: jp_ticks.append(n))',
    '    t = threading.Thread(target=lambda: app.log("from a thread"))',
    '    t.start()',
    '    return True',
    'async def plugin_configure(app):',
    '    cfg = await app.fetchConfig()',
    '    app.log("level %d" % cfg["level"])',
    '    return cfg.to_py()',
  ].join('\n'));
  assert.strictEqual(main.plugin_setup(app), true);
  app.events.emit('tick', 1);
  app.events.emit('tick', 2);
  while (app.lines.length < 2) await new Promise((r) => setImmediate(r));
  assert.deepStrictEqual(py.eval('jp_ticks'), [1, 2]);
  assert.deepStrictEqual(await main.plugin_configure_async(app), { level: 3, tags: ['a', 'b'] });
  assert.deepStrictEqual(app.lines, ['setup demo', 'from a thread', 'level 3']);
});

test('the proxy protocol: attributes, items, len, iteration, in, bool, repr, identity, hash, new, to_py; plain values convert as before', () => {
  class Point { constructor(x, y) { this.x = x; this.y = y; } norm() { return Math.hypot(this.x, this.y); } }
  py.exec([
    'def jp_protocol(p, arr, m, s, f):',
    '    p.z = 7',
    '    out = {"type": type(p).__name__, "x": p.x, "norm": p.norm(), "z": p.z,',
    '           "arr": [arr[0], len(arr), list(arr), 2 in arr, bool(arr)],',
    '           "map": [m["k"], len(m), [list(e) for e in m], "k" in m],',
    '           "set": sorted(s), "repr": repr(p), "eq": p == p, "hash": hash(p) == hash(p),',
    '           "made": f.new(2, 3).norm(), "topy": arr.to_py(), "missing": p.nothing}',
    '    arr[0] = 10',
    '    del p.y',
    '    return out',
  ].join('\n'));
  const p = new Point(3, 4);
  const arr = [1, 2, 3];
  const o = main.jp_protocol(p, jsobject(arr), jsobject(new Map([['k', 'v']])), jsobject(new Set([2, 1])), jsobject(Point));
  assert.deepStrictEqual(o, {
    type: 'JsProxy', x: 3, norm: 5, z: 7,
    arr: [1, 3, [1, 2, 3], true, true],
    map: ['v', 1, [['k', 'v']], true],
    set: [1, 2], repr: 'Point { x: 3, y: 4, z: 7 }', eq: true, hash: true,
    made: Math.hypot(2, 3), topy: [1, 2, 3], missing: null,
  });
  assert.deepStrictEqual([arr[0], 'y' in p, p.z], [10, false, 7], 'writes reach the JS objects');
  assert.strictEqual(py.eval('lambda o: o')(p), p, 'a proxy back in JS is its object');
  assert.deepStrictEqual(py.eval('lambda o: type(o).__name__')({ a: 1 }), 'dict', 'plain objects still convert');
  assert.deepStrictEqual(py.eval('lambda o: type(o).__name__')([1]), 'list');
  assert.deepStrictEqual(py.eval('lambda o: type(o).__name__')(new Date(0)), 'datetime');
  assert.strictEqual(py.eval('lambda a, b: a is b')(p, p), true, 'one object twice in a call is one proxy');
});

test('attribute reads stay live while the same JS object gives the same proxy: a chain reuses its proxies, a replaced object or changed value is seen at once', () => {
  const config = { level: 1, child: { n: 1 }, greet(who) { return `${this.prefix} ${who}`; }, prefix: 'hi' };
  py.exec([
    'def jp_live(o):',
    '    first = o.child',
    '    out = [o.level, first.n, o.child is first, o.greet is o.greet, o.greet("a")]',
    '    names = ["k%d" % i for i in range(20)]',
    '    for _ in range(2):',
    '        for n in names:',
    '            getattr(o, n)',
    // Each proxy remembers its last few names: past them, a new proxy of the same object (==).
    '    out.append(o.child == first)',
    '    return out',
    'def jp_after(o, first):',
    '    return [o.level, o.child.n, o.child is first, first.n, o.greet("b")]',
  ].join('\n'));
  for (let i = 0; i < 20; i++) config[`k${i}`] = { i };
  const before = main.jp_live(jsobject(config));
  assert.deepStrictEqual(before, [1, 1, true, true, 'hi a', true]);
  // The proxies a Python-side holder keeps stand for the JS objects they were read as.
  py.exec('jp_kept = []');
  py.eval('lambda o: jp_kept.append(o.child)')(jsobject(config));
  config.level = 2;
  config.child = { n: 7 };
  config.prefix = 'hello';
  assert.deepStrictEqual(py.eval('lambda o: jp_after(o, jp_kept[0])')(jsobject(config)), [2, 7, false, 1, 'hello b']);
});

test('attribute reads and calls on the JS thread: any name (non-ASCII, with a NUL inside), a remembered object replaced by a primitive, every kind of primitive argument and result', () => {
  const o = { 'a\u0000b': 1, 'é名': 2, child: { n: 1 }, getterCalls: 0, get viaGetter() { this.getterCalls += 1; return this.getterCalls; } };
  const seen = [];
  const api = {
    echo(...a) { seen.push(a); return a.length === 1 ? a[0] : a; },
    kinds() { return [typeof 'x', true, null, undefined, 10n ** 20n, 1.5, -0, 2 ** 31, 'é']; },
  };
  py.exec([
    'import enum',
    'class JpColor(enum.IntEnum):',
    '    RED = 3',
    'def jp_names(o):',
    '    first = o.child',
    '    out = [getattr(o, "a\\x00b"), getattr(o, "é名"), first.n, o.viaGetter, o.viaGetter]',
    '    return out',
    'def jp_replaced(o):',
    '    return [o.child, o.child]',
    'def jp_prims(api):',
    '    e = api.echo',
    '    return [e(None), e(True), e(False), e(7), e(2 ** 70), e(-2.5), e("é名"), e(""), e(JpColor.RED), type(e(JpColor.RED)).__name__]',
  ].join('\n'));
  const p = jsobject(o);
  assert.deepStrictEqual(main.jp_names(p), [1, 2, 1, 1, 2]);
  // The proxy remembered for `child` must not stand in for what replaced it.
  o.child = 5;
  assert.deepStrictEqual(main.jp_replaced(p), [5, 5]);
  o.child = null;
  assert.deepStrictEqual(main.jp_replaced(p), [null, null]);
  o.child = undefined;
  assert.deepStrictEqual(main.jp_replaced(p), [null, null]);
  o.child = 'str';
  assert.deepStrictEqual(main.jp_replaced(p), ['str', 'str']);
  assert.deepStrictEqual(main.jp_prims(jsobject(api)), [null, true, false, 7, 2n ** 70n, -2.5, 'é名', '', 3, 'int']);
  assert.deepStrictEqual(seen.map((a) => a[0]), [null, true, false, 7, 2n ** 70n, -2.5, 'é名', '', 3, 3]);
  assert.deepStrictEqual(py.eval('lambda api: [api.echo(x) for x in api.kinds().to_py()]')(jsobject(api)), ['string', true, null, null, 10n ** 20n, 1.5, -0, 2 ** 31, 'é']);
  assert.ok(Object.is(py.eval('lambda api: api.echo(-0.0)')(jsobject(api)), -0));
  assert.deepStrictEqual(py.eval('lambda api: [type(api.echo(-0.0)).__name__, type(api.echo(2.0)).__name__, type(api.echo(2 ** 53)).__name__]')(jsobject(api)), ['float', 'int', 'int']);
});

test('pyobject(x): a Python list (or any object) goes to JS live, as a wrapped object with no copy: a[i], length, iteration, methods, writes seen by Python, itself again on the way back; without it a list is still a copy', () => {
  py.exec([
    'from python_ts import pyobject',
    'jp_items = [1, 2, 3]',
    'class JpLen(list):',
    '    length = "own"',
    'def jp_give(f, live=True):',
    '    return f(pyobject(jp_items) if live else jp_items)',
  ].join('\n'));
  const give = (f, live = true) => main.jp_give(jsobject(f), live);
  assert.deepStrictEqual(give((a) => [Array.isArray(a), a.length, a[0], a[2], Array.from(a), typeof a.append]), [false, 3, 1, 3, [1, 2, 3], 'function']);
  assert.strictEqual(give((a) => { a[0] = 9; a.append(4); return a.length; }), 4);
  assert.deepStrictEqual(py.eval('jp_items'), [9, 2, 3, 4]);
  assert.strictEqual(py.eval('lambda f: f(pyobject(jp_items)) is jp_items')(jsobject((a) => a)), true);
  // The default table is unchanged: a list is copied into an Array.
  assert.deepStrictEqual(give((a) => { const r = [Array.isArray(a), a.length]; a.push(5); return r; }, false), [true, 4]);
  assert.deepStrictEqual(py.eval('jp_items'), [9, 2, 3, 4]);
  // `length` is len() of a sequence (read each time), a Python attribute of that name wins, and
  // a mapping has none.
  const w = py.eval('pyobject(jp_items)');
  assert.strictEqual(w.length, 4);
  py.exec('jp_items.append(6)');
  assert.strictEqual(w.length, 5);
  assert.deepStrictEqual([py.eval('pyobject((1, 2))').length, py.eval('pyobject("abc")').length, py.eval('pyobject(range(7))').length], [2, 3, 7]);
  assert.strictEqual(py.eval('pyobject(JpLen([1]))').length, 'own');
  assert.strictEqual(py.eval('pyobject({"a": 1})').length, undefined);
  assert.strictEqual(py.eval('repr(pyobject([1]))'), 'pyobject([1])');
});

test('pyobject is a native type: .obj (read-only), one positional argument, copy and pickle, no subclasses, and a cycle through it is collected', () => {
  py.exec([
    'import copy, gc, pickle, weakref',
    'from python_ts import pyobject',
    'def jp_marker():',
    '    out = []',
    '    p = pyobject([1, 2])',
    '    out.append(p.obj == [1, 2])',
    '    for f in (lambda: setattr(p, "obj", 1), lambda: pyobject(), lambda: pyobject(1, 2), lambda: pyobject(obj=1),',
    '              lambda: type("Sub", (pyobject,), {})):',
    '        try:',
    '            f()',
    '            out.append(None)',
    '        except (AttributeError, TypeError) as e:',
    '            out.append(type(e).__name__)',
    '    c = copy.copy(p)',
    '    out.append([type(c) is pyobject, c.obj is p.obj, pickle.loads(pickle.dumps(p)).obj])',
    '    out.append(repr(pyobject("é\\U0001F600")))',
    '    class Holder: pass',
    '    h = Holder()',
    '    h.me = pyobject(h)',
    '    r = weakref.ref(h)',
    '    del h',
    '    gc.collect()',
    '    out.append(r() is None)',
    '    return out',
  ].join('\n'));
  assert.deepStrictEqual(main.jp_marker(), [true, 'AttributeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', [true, true, [1, 2]], "pyobject('é😀')", true]);
});

test('a handle passed to a proxied JS function again is the same wrapped object, until a converter names a type (then the hook converts it again each time)', () => {
  py.exec([
    'from python_ts import pyobject',
    'class JpD(dict): pass',
    'JP_D = JpD(a=1)',
    'def jp_pass(f):',
    '    return f(pyobject(JP_D), pyobject(JP_D))',
  ].join('\n'));
  const seen = [];
  const f = jsobject((a, b) => { seen.push(a, b); return typeof a; });
  assert.strictEqual(main.jp_pass(f), 'function');
  assert.strictEqual(main.jp_pass(f), 'function');
  assert.ok(seen.every((w) => w === seen[0]), 'one wrapped object for the handle, in one call and across calls');
  assert.strictEqual(seen[0].get('a'), 1);
  // A converter for the type (on another instance): the proxy's hook gives the built-in
  // conversion of the handle — never the wrapped object remembered before.
  const other = new Python();
  other.registerConverter('__main__.JpD', (w) => w);
  try {
    assert.strictEqual(main.jp_pass(f), 'object');
    assert.deepStrictEqual(seen.slice(-2), [{ a: 1 }, { a: 1 }]);
  } finally {
    other.registerConverter('__main__.JpD', null);
  }
  assert.strictEqual(main.jp_pass(f), 'function');
  assert.strictEqual(seen[seen.length - 1], seen[0]);
  // Its handle released: the next pass makes a new handle and a new wrapped object, which works.
  const { clib } = require('..');
  assert.strictEqual(clib._delete_pyobject(seen[0].__wrapper__), true);
  assert.throws(() => seen[0].get('a'), /released/);
  assert.strictEqual(main.jp_pass(f), 'function');
  const fresh = seen[seen.length - 1];
  assert.notStrictEqual(fresh, seen[0]);
  assert.strictEqual(fresh.get('a'), 1);
});

test('a wrapped object\'s length: built-in sequences measured natively (str in code points), others by the sequence rule, a Python attribute of that name wins', () => {
  py.exec([
    'import collections.abc',
    'class JpSeq(collections.abc.Sequence):',
    '    def __len__(self): return 5',
    '    def __getitem__(self, i): raise IndexError(i)',
    'class JpOwnLength:',
    '    length = 12',
    'class JpBadLen(list):',
    '    def __len__(self): raise ValueError("no len")',
  ].join('\n'));
  const len = (code) => py.eval(`pyobject(${code})`).length;
  assert.deepStrictEqual(
    ['[]', '[None] * 1000', '(1,)', '"a\\U0001F600é"', '"x" * 300', 'b"\\x00\\xff"', 'bytearray(3)', 'range(2, 9)', 'JpSeq()', 'JpOwnLength()', '{1: 2}', '{1, 2}', '3'].map(len),
    [0, 1000, 1, 3, 300, 2, 3, 7, 5, 12, undefined, undefined, undefined],
  );
  // A list subclass goes by the rule (its own __len__ runs) and its error reaches JS.
  assert.throws(() => len('JpBadLen()'), (e) => e instanceof PythonError && e.name === 'ValueError' && /no len/.test(e.message));
});

test('python_ts.js is a plain module attribute while one JS thread has registered (read with no module __getattr__), the same global from a Python thread', async () => {
  globalThis.jpWhere = 'main';
  py.exec([
    'import python_ts',
    'def jp_js_attr():',
    '    return ["js" in vars(python_ts), python_ts.js == js, python_ts.js.jpWhere]',
  ].join('\n'));
  assert.deepStrictEqual(main.jp_js_attr(), [true, true, 'main']);
  assert.deepStrictEqual(await main.jp_in_thread_async(main.jp_js_attr), [true, true, 'main']);
});

const thing2 = () => new (class Four { constructor() { this.n = 4; } })();

test('a call through a proxy: keyword arguments as a final options object, Python callables and proxies as arguments, objects back as proxies', () => {
  const seen = [];
  const api = {
    echo(...a) { seen.push(a); return a; },
    apply(f, x) { return f(x); },
    same(o) { return o; },
  };
  py.exec([
    'def jp_call(api, thing):',
    '    r = api.echo(1, "s", None, k=2)',
    '    return [type(r).__name__, r.to_py(), api.apply(lambda x: x * 3, 5), api.same(thing) == thing,',
    '            api.same({"a": [1]})["a"][0], api.same is api.same]',
  ].join('\n'));
  const thing = new (class Thing {})();
  assert.deepStrictEqual(main.jp_call(jsobject(api), thing), ['JsProxy', [1, 's', null, { k: 2 }], 15, true, 1, true]);
  assert.deepStrictEqual(seen[0], [1, 's', null, { k: 2 }]);
  assert.throws(() => py.eval('lambda o: o()')(jsobject({})), (e) => e instanceof TypeError);
  py.exec([
    'def jp_unconnected():',
    '    p = JsProxy()',
    '    try:',
    '        p.x',
    '    except TypeError as e:',
    '        return str(e)',
  ].join('\n'));
  assert.match(main.jp_unconnected(), /not connected to a JavaScript object/);
  assert.deepStrictEqual(py.eval('lambda o: [__import__("copy").copy(o).n, __import__("copy").deepcopy([o])[0] is o]')(thing2()), [4, true]);
  assert.throws(() => py.eval('lambda o: __import__("pickle").dumps(o)')(thing2()), /cannot be pickled/);
});

test('errors: a JS exception through a proxy is a JSError with name, message and stack, and comes back to JS as itself; a rejection raises in async def', async () => {
  class Api {
    fail() { throw new RangeError('out of range'); }
    reject() { return Promise.reject(new TypeError('refused')); }
  }
  const api = new Api();
  py.exec([
    'def catch_js(api):',
    '    try:',
    '        api.fail()',
    '    except JSError as e:',
    '        return [type(e).__name__, str(e), e.js_stack.splitlines()[0]]',
    'def let_through(api):',
    '    api.fail()',
    'async def await_rejection(api):',
    '    try:',
    '        await api.reject()',
    '    except JSError as e:',
    '        return [e.js_name, e.js_message]',
  ].join('\n'));
  assert.deepStrictEqual(main.catch_js(api), ['JSError', 'out of range', 'RangeError: out of range']);
  assert.throws(() => main.let_through(api), (e) => e instanceof RangeError && e.message === 'out of range');
  assert.deepStrictEqual(await main.await_rejection_async(api), ['TypeError', 'refused']);
  assert.throws(() => py.eval('lambda: require("no-such-module-here")')(), (e) => e.code === 'MODULE_NOT_FOUND');
});

test('a Worker\'s proxies: js is the Worker\'s global; after the Worker ends its proxies raise a clear error, no crash', () => {
  const r = runNode(`const { Worker } = require('worker_threads');
    const { Python } = require('.');
    const py = new Python();
    py.exec('kept = []\\ndef use_kept():\\n    try:\\n        return kept[0].name\\n    except Exception as e:\\n        return type(e).__name__ + ": " + str(e)');
    const w = new Worker(\`
      const { parentPort } = require('worker_threads');
      const { Python } = require(\${JSON.stringify(process.cwd())});
      const py = new Python();
      globalThis.whereAmI = 'worker';
      class Thing { constructor() { this.name = 'thing'; } }
      py.exec('from python_ts import js');
      const seen = py.eval('js.whereAmI');
      py.eval('lambda t: kept.append(t)')(new Thing());
      parentPort.postMessage([seen, py.eval('kept[0].name')]);
    \`, { eval: true });
    w.on('message', async (m) => {
      await w.terminate();
      globalThis.whereAmI = 'main';
      py.exec('from python_ts import js');
      console.log(JSON.stringify({ worker: m, main: py.eval('js.whereAmI'), after: py.import('__main__').use_kept() }));
    });`);
  assert.strictEqual(r.status, 0, r.stderr);
  const o = lastJson(r);
  assert.deepStrictEqual(o.worker, ['worker', 'thing']);
  assert.strictEqual(o.main, 'main');
  assert.match(o.after, /RuntimeError: .*JavaScript environment .* has ended/);
});

test('a Worker that ends while Python threads call its objects: every call in flight raises, none waits for good', () => {
  // A call accepted by the Worker's threadsafe function just before its end may never be
  // delivered (Deno drops it): the waiting thread must learn of the end from the env's cleanup.
  const r = runNode(`const { Worker } = require('worker_threads');
    const { Python } = require('.');
    const py = new Python();
    py.exec([
      'import threading',
      'kept = []',
      'def hammer(out):',
      '    n = 0',
      '    while True:',
      '        try:',
      '            kept[-1].name',
      '            n += 1',
      '        except Exception as e:',
      '            out.append([n, type(e).__name__, str(e)])',
      '            return',
      'def start(k):',
      '    out = []',
      '    ts = [threading.Thread(target=hammer, args=(out,)) for _ in range(k)]',
      '    for t in ts:',
      '        t.start()',
      '    return lambda: [t.join() for t in ts] and out',
    ].join('\\n'));
    const rounds = [];
    const round = (i) => new Promise((resolve) => {
      const w = new Worker(\`
        const { parentPort } = require('worker_threads');
        const { Python } = require(\${JSON.stringify(process.cwd())});
        const py = new Python();
        class Thing { constructor() { this.name = 'thing'; } }
        py.eval('lambda t: kept.append(t)')(new Thing());
        setInterval(() => {}, 1000);
        parentPort.postMessage('ready');
      \`, { eval: true });
      w.once('message', () => {
        const join = py.import('__main__').start(4);
        setTimeout(async () => {
          await w.terminate();
          rounds.push(join());
          resolve();
        }, 20 + 10 * i);
      });
    });
    (async () => {
      for (let i = 0; i < 6; i++) await round(i);
      console.log(JSON.stringify(rounds));
    })();`, { timeout: 120000 });
  assert.strictEqual(r.status, 0, `status ${r.status} signal ${r.signal}: a thread waited for good\n${r.stderr}`);
  const rounds = lastJson(r);
  assert.strictEqual(rounds.length, 6);
  for (const out of rounds) {
    assert.strictEqual(out.length, 4);
    for (const [, name, message] of out) {
      assert.strictEqual(name, 'RuntimeError', JSON.stringify(out));
      assert.match(message, /JavaScript environment .* has ended/);
    }
  }
  assert.ok(rounds.flat().some(([n]) => n > 0), 'the Worker served calls before it ended');
});

test('lifetimes: 10 000 proxies made and dropped leave their JS objects collectable', () => {
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    py.exec('def touch(o):\\n    return o.n');
    const touch = py.import('__main__').touch;
    let finalized = 0;
    const registry = new FinalizationRegistry(() => { finalized++; });
    class Item { constructor(n) { this.n = n; } }
    (async () => {
      const round = () => { for (let i = 0; i < 10000; i++) { const o = new Item(i); registry.register(o, i); touch(o); } };
      round();
      // One more call with an object of its own: the engine may keep the last argument of a
      // loop's last call alive until the next one.
      touch(new Item(-1));
      for (let i = 0; i < 40 && finalized < 10000; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); py.eval('0'); }
      console.log(JSON.stringify({ finalized }));
    })();`, { args: ['--expose-gc'] });
  assert.strictEqual(lastJson(r).finalized, 10000);
});

test('lifetimes: the proxies a proxy hands out for its attributes (and keeps for the next read) go with it', () => {
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    py.exec('def touch(h):\\n    return h.child.n + h.child.n + len([h.child.n for _ in range(3)])');
    const touch = py.import('__main__').touch;
    let finalized = 0;
    const registry = new FinalizationRegistry(() => { finalized++; });
    class Item { constructor(n) { this.n = n; } }
    class Holder { constructor(n) { this.child = new Item(n); } }
    (async () => {
      // The loop in a function of its own: an async function's frame is saved at each await,
      // and V8 12 (Node 22) keeps a loop's last object in it.
      const round = () => {
        let total = 0;
        for (let i = 0; i < 10000; i++) { const h = new Holder(i); registry.register(h, i); registry.register(h.child, -i); total += touch(h); }
        return total;
      };
      const sum = round();
      touch(new Holder(-1));
      for (let i = 0; i < 40 && finalized < 20000; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); py.eval('0'); }
      console.log(JSON.stringify({ finalized, sum }));
    })();`, { args: ['--expose-gc'] });
  assert.deepStrictEqual(lastJson(r), { finalized: 20000, sum: 10000 * 9999 + 30000 });
});

test('in a context (sub-interpreter) and from its Python threads', async () => {
  const ctx = new Python({ context: true });
  try {
    ctx.exec([
      'import threading',
      'from python_ts import js',
      'def ctx_use(o):',
      '    return [o.name, o.part.n, o.part == o.part, o.twice(21), js.Math.max(1, 4), type(o).__name__]',
      'def ctx_thread(o):',
      '    out = []',
      '    t = threading.Thread(target=lambda: out.append(ctx_use(o)))',
      '    t.start()',
      '    t.join()',
      '    return out[0]',
    ].join('\n'));
    const o = new (class Obj { constructor() { this.name = 'o'; this.part = { n: 3 }; } twice(x) { return 2 * x; } })();
    const m = ctx.import('__main__');
    assert.deepStrictEqual(m.ctx_use(o), ['o', 3, true, 42, 4, 'JsProxy']);
    assert.deepStrictEqual(await m.ctx_thread_async(o), ['o', 3, true, 42, 4, 'JsProxy']);
  } finally {
    ctx.delete();
  }
});

test('each interpreter makes proxies of its own JsProxy class: main, a context, one made after it was deleted', () => {
  const o = new (class Obj {})();
  const probe = ['import python_ts', 'def jp_kind(o):', '    return [type(o) is python_ts.JsProxy, isinstance(o, python_ts.JsProxy)]'].join('\n');
  py.exec(probe);
  assert.deepStrictEqual(main.jp_kind(o), [true, true]);
  for (let round = 0; round < 3; round++) {
    const ctx = new Python({ context: true });
    try {
      ctx.exec(probe);
      assert.deepStrictEqual(ctx.import('__main__').jp_kind(o), [true, true], `context of round ${round}`);
    } finally {
      ctx.delete();
    }
  }
  assert.deepStrictEqual(main.jp_kind(o), [true, true]);
});

test('on the free-threaded build too', { skip: !freeThreadedPythons().length && 'no free-threaded CPython here' }, () => {
  const ft = freeThreadedPythons()[0];
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    class App { constructor() { this.n = 0; } add(k) { this.n += k; return this.n; } }
    const app = new App();
    py.exec('import threading\\nfrom python_ts import js\\ndef run(app):\\n    app.add(1)\\n    return [js.Math.max(2, 9), app.n]');
    console.log(JSON.stringify(py.import('__main__').run(app)));`, { env: { PYTHON_TS_PYTHON: ft.exe } });
  assert.deepStrictEqual(lastJson(r), [9, 1]);
});

test('js and require work again in a runtime made after _destroy_python()', () => {
  const python = supportedPythons().filter(reinitSafe).pop();
  const r = runNode(`const { Python, clib } = require('.');
    const first = new Python().eval('__import__("python_ts").js.Math.max(1, 2)');
    clib._destroy_python();
    clib._init_python();
    const second = new Python().eval('__import__("python_ts").js.Math.max(3, 4)');
    console.log(JSON.stringify([first, second]));`, { env: { PYTHON_TS_PYTHON: python.exe } });
  assert.deepStrictEqual(lastJson(r), [2, 4]);
});
