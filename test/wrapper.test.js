'use strict';
// js/internal/wrapper.js and js/python.js: wrapped results, callables with attributes, Python's
// protocols on wrappers, tuples, typeOf, items, converters, readable objects — and numpy, in a
// venv the suite makes (test/helpers.js numpyPython).
const test = require('node:test');
const assert = require('node:assert');
const util = require('util');
const { Python, clib, kwargs, tuple } = require('..');
const { runNode, lastJson, numpyPython, supportedPythons } = require('./helpers');

/** The Python the test venvs are made from (helpers.venvPython: 3.11 where present). */
const venvBase = () => supportedPythons().find((p) => p.version[1] === 11) || supportedPythons().pop();

const py = new Python();
py.exec(`
import decimal, enum, itertools
class Color(enum.Enum):
    RED = 1
class Config:
    debug = False
    LIMIT = 3
    @staticmethod
    def twice(x):
        return 2 * x
    @classmethod
    def name(cls):
        return cls.__name__
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __repr__(self):
        return f'Point({self.x}, {self.y})'
    def __str__(self):
        return f'({self.x}, {self.y})'
def points(n):
    return [Point(i, i) for i in range(n)]
def nested():
    return {'p': Point(1, 2), 'many': [Point(3, 4)], 'n': 5}
def count_forever():
    return itertools.count()
def gen(n):
    for i in range(n):
        yield Point(i, -i)
async def agen(n):
    for i in range(n):
        yield i * 10
def kinds(*a, **kw):
    return [type(x).__name__ for x in a] + [type(v).__name__ for v in kw.values()]
`);
const m = py.import('__main__');

test('results with no plain JS form are wrapped objects, inside containers too, sync and async', async () => {
  const p = m.Point(1, 2);
  assert.ok(py.isPyObject(p) && typeof p === 'function');
  assert.strictEqual(p.x, 1);
  assert.strictEqual(p.unwrap(), p, 'a wrapper answers unwrap() with itself');
  const ps = m.points(3);
  assert.ok(Array.isArray(ps) && ps.length === 3);
  assert.deepStrictEqual(ps.map((q) => q.y), [0, 1, 2]);
  const n = m.nested();
  assert.strictEqual(n.p.y, 2);
  assert.strictEqual(n.many[0].x, 3);
  assert.strictEqual(n.n, 5);
  assert.strictEqual((await m.points_async(2))[1].x, 1);
  assert.strictEqual(py.call(m, 'Point', [5, 6]).x, 5);
  assert.strictEqual((await py.call_async(m, 'Point', [7, 8])).y, 8);
  assert.strictEqual(py.eval('Point(9, 9)').x, 9);
  assert.strictEqual((await py.eval_async('[Point(1, 1)]'))[0].x, 1);
  assert.strictEqual(m.points(1)[0].unwrap().x, 0, 'seed-style chains still run');
});

test('wrapped results go back to Python as the objects themselves', () => {
  const [a, b] = m.points(2);
  assert.deepStrictEqual(m.kinds(a, [b], { k: a }, new Map([[1, b]]), kwargs({ z: a })), ['Point', 'list', 'dict', 'dict', 'Point']);
});

test('py.typeOf gives the qualified type name; undefined for JS values', () => {
  assert.strictEqual(py.typeOf(py.eval('decimal.Decimal(1)')), 'decimal.Decimal');
  assert.strictEqual(py.typeOf(m.Point(1, 1)), '__main__.Point');
  assert.strictEqual(py.typeOf(py.eval('object()')), 'object');
  assert.strictEqual(py.typeOf(clib._eval('object()')), 'object', 'raw handles too');
  assert.strictEqual(py.typeOf(5), undefined);
  assert.strictEqual(py.typeOf({}), undefined);
});

test('callables keep their attributes: classes, static and class methods, enum members; assignment sets Python attributes', () => {
  assert.strictEqual(typeof m.Config, 'function');
  assert.strictEqual(m.Config.LIMIT, 3);
  assert.strictEqual(m.Config.twice(4), 8);
  assert.strictEqual(m.Config.name(), 'Config');
  assert.strictEqual(m.Color.RED.value, 1);
  assert.strictEqual(m.Color.RED.name, 'RED');
  m.Config.debug = true;
  assert.strictEqual(py.eval('Config.debug'), true);
  const p = m.Point(1, 2);
  p.x = 7;
  assert.strictEqual(py.eval('1') && py.call(py.eval('lambda p: p.x'), null, [p]), 7);
  const dt = py.import('datetime');
  assert.ok(dt.datetime.now() instanceof Date, 'datetime.datetime.now() (a datetime converts to a Date)');
  assert.strictEqual(dt.timedelta(kwargs({ hours: 1 })).total_seconds(), 3600);
});

test('for..of, spread and Array.from iterate Python iterables lazily; break leaves an endless one', () => {
  assert.deepStrictEqual([...m.gen(3)].map((p) => p.x), [0, 1, 2]);
  assert.deepStrictEqual(Array.from(py.eval('range(4)')), [0, 1, 2, 3]);
  assert.deepStrictEqual([...py.eval('{"a": 1, "b": 2}.keys()')], ['a', 'b']);
  let n = 0;
  for (const x of m.count_forever()) {
    n = x;
    if (x >= 1000) break;
  }
  assert.strictEqual(n, 1000);
  assert.throws(() => [...py.eval('object()')], (e) => e.name === 'TypeError' && /not iterable/.test(e.message), 'never a silent []');
});

test('for await iterates async generators and sync iterables, each step off the JS thread', async () => {
  const out = [];
  for await (const x of m.agen(3)) out.push(x);
  assert.deepStrictEqual(out, [0, 10, 20]);
  const sync = [];
  for await (const p of m.gen(2)) sync.push(p.x);
  assert.deepStrictEqual(sync, [0, 1]);
});

test('integer-like keys index sequences; getitem/setitem/delitem work for any key', () => {
  const r = py.eval('range(10, 20)');
  assert.strictEqual(r[3], 13);
  assert.strictEqual(r[-1], 19);
  const l = py.eval('[Point(0, 0), 5]');
  assert.strictEqual(l[1], 5, 'a converted list is a JS Array');
  const d = py.eval('__import__("types").MappingProxyType({(1, 2): "t", "k": Point(3, 3)})');
  assert.strictEqual(py.getitem(d, tuple([1, 2])), 't');
  assert.strictEqual(py.getitem(d, 'k').x, 3);
  const env = py.import('os').environ;
  py.setitem(env, 'PYTHON_TS_TEST_KEY', 'v');
  assert.strictEqual(py.getitem(env, 'PYTHON_TS_TEST_KEY'), 'v');
  py.delitem(env, 'PYTHON_TS_TEST_KEY');
  assert.throws(() => py.getitem(env, 'PYTHON_TS_TEST_KEY'), (e) => e.name === 'KeyError');
  const lst = py.eval('__import__("collections").UserList([1, 2, 3])');
  lst[0] = 9;
  assert.strictEqual(lst[0], 9);
});

test('tuple([...]) passes a Python tuple, nestable, at any depth', () => {
  assert.deepStrictEqual(m.kinds(tuple([1, 2]), [tuple([])], { t: tuple([tuple([1])]) }), ['tuple', 'list', 'dict']);
  assert.strictEqual(py.call(py.eval('repr'), null, [tuple([1, tuple([2, 'x'])])]), "(1, (2, 'x'))");
  assert.throws(() => tuple('ab'), TypeError);
});

test('String() is str(); util.inspect shows repr() for wrappers and raw handles', () => {
  const p = m.Point(1, 2);
  assert.strictEqual(String(p), '(1, 2)');
  assert.strictEqual(`${p}`, '(1, 2)');
  assert.strictEqual(util.inspect(p), 'Point(1, 2)');
  assert.match(util.inspect(p.__wrapper__), /Point\(1, 2\)/);
});

test('registerConverter converts a Python type on the way to JS, with a Python callable or a JS function', () => {
  const local = new Python();
  local.registerConverter('decimal.Decimal', local.eval('str'));
  assert.strictEqual(local.eval('decimal.Decimal("1.10")'), '1.10');
  assert.deepStrictEqual(local.eval('[decimal.Decimal("2")]'), ['2']);
  local.registerConverter('__main__.Point', (p) => ({ x: p.x, y: p.y }));
  assert.deepStrictEqual(local.eval('Point(1, 2)'), { x: 1, y: 2 });
  local.registerConverter('__main__.Point', null);
  assert.ok(local.isPyObject(local.eval('Point(1, 2)')));
  assert.ok(py.isPyObject(py.eval('decimal.Decimal(1)')), 'converters belong to their instance');
});

test('a converter wins over the built-in rule for its type (datetime and dict subclasses); other instances keep the built-in one', () => {
  const local = new Python();
  local.exec('import collections, datetime\nclass Stamp(datetime.datetime):\n    pass');
  const counter = 'collections.Counter("abca")';
  assert.deepStrictEqual(py.eval(counter), { a: 2, b: 1, c: 1 }, 'built in: a dict subclass is an Object');
  local.registerConverter('collections.Counter', (c) => ['Counter', c.most_common(1)]);
  local.registerConverter('__main__.Stamp', (d) => d.isoformat());
  assert.deepStrictEqual(local.eval(counter), ['Counter', [['a', 2]]]);
  assert.deepStrictEqual(local.eval(`{"c": ${counter}, "s": Stamp(2024, 1, 3)}`), { c: ['Counter', [['a', 2]]], s: '2024-01-03T00:00:00' });
  // Another instance in this thread has no converter for them: the built-in conversion, also nested.
  assert.deepStrictEqual(py.eval(counter), { a: 2, b: 1, c: 1 });
  assert.deepStrictEqual(py.eval(`[${counter}]`), [{ a: 2, b: 1, c: 1 }]);
  py.exec('import datetime');
  const plain = py.eval('__import__("__main__").Stamp(2024, 1, 3, tzinfo=datetime.timezone.utc)');
  assert.ok(plain instanceof Date && plain.toISOString() === '2024-01-03T00:00:00.000Z', String(plain));
  // A second registration replaces the first; removing it gives the built-in rule back.
  local.registerConverter('collections.Counter', (c) => 'again');
  assert.strictEqual(local.eval(counter), 'again');
  local.registerConverter('collections.Counter', null);
  local.registerConverter('__main__.Stamp', null);
  assert.deepStrictEqual(local.eval(counter), { a: 2, b: 1, c: 1 });
  assert.ok(local.eval('Stamp(2024, 1, 3)') instanceof Date);
});

test('naive datetimes read as local time (as datetime.timestamp() does), aware ones as their instant', () => {
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    py.exec('import datetime');
    const naive = py.eval('datetime.datetime(2020, 6, 1, 12, 0, 0)').getTime();
    const ts = py.eval('datetime.datetime(2020, 6, 1, 12, 0, 0).timestamp()') * 1000;
    const aware = py.eval('datetime.datetime(2020, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)').getTime();
    console.log(JSON.stringify({ naive, ts, aware }));`, { env: { TZ: 'America/New_York' } });
  const out = lastJson(r);
  assert.strictEqual(out.naive, out.ts);
  assert.strictEqual(out.aware, Date.UTC(2020, 5, 1, 12));
  assert.strictEqual(out.naive - out.aware, 4 * 3600 * 1000, 'EDT is UTC-4');
});

test('another runtime named while one runs is an Error naming both', { skip: supportedPythons().length < 2 && 'needs a second CPython' }, () => {
  const r = runNode(`const { Python } = require('.');
    new Python();
    const { supportedPythons } = require('./test/helpers');
    // Another version than the running one (the suite also runs on other runtimes than 3.11).
    const running = require('.').clib._runtime_info().version.split('.').slice(0, 2).join('.');
    const other = supportedPythons().find((p) => p.version.join('.') !== running && !p.node);
    try { new Python({ runtime_path: other.exe }); console.log(JSON.stringify({ switched: true })); }
    catch (e) { console.log(JSON.stringify({ message: e.message })); }`);
  const out = lastJson(r);
  assert.match(out.message, /already loaded, cannot switch to|cannot switch to/);
});

test('a venv over the running library is another Python too: an Error naming both', (t) => {
  const venv = numpyPython();
  if (!venv) return t.skip('no venv could be made here');
  const r = runNode(`const { Python } = require('.');
    const base = new Python().import('sys').base_prefix;
    try { new Python({ runtime_path: ${JSON.stringify(venv)} }); console.log(JSON.stringify({ switched: true, base })); }
    catch (e) { console.log(JSON.stringify({ message: e.message })); }`, { env: { PYTHON_TS_PYTHON: venvBase().exe } });
  const out = lastJson(r);
  assert.match(out.message || '', /one Python per process: .* is running, cannot switch to .*numpy-venv/, JSON.stringify(out));
});

test('numpy: scalars convert as .item() does; arrays stay wrapped and iterate, view and tolist', (t) => {
  const npPy = numpyPython();
  if (!npPy) return t.skip('numpy could not be installed into a venv on this machine (pip reached no registry)');
  const r = runNode(`const { Python } = require('.');
    const py = new Python();
    const np = py.import('numpy');
    const xs = np.array([3.5, 9.25, 1.0]);
    const am = np.argmax(xs);
    const big = py.eval('__import__("numpy").int64(2**60)');
    const b = py.eval('__import__("numpy").bool_(True)');
    const f32 = py.eval('__import__("numpy").float32(0.5)');
    const typ = py.typeOf(xs);
    const items = [...xs];
    const list = xs.tolist();
    const v = py.view(xs);
    const mean = np.mean(py.eval('__import__("numpy").arange(10)'));
    console.log(JSON.stringify({ am, amType: typeof am, big: String(big), bigType: typeof big, b, f32, typ, items, list, view: Array.from(v.data), mean }));`,
  { env: { PYTHON_TS_PYTHON: npPy }, timeout: 120000 });
  const out = lastJson(r);
  assert.strictEqual(out.am, 1);
  assert.strictEqual(out.amType, 'number');
  assert.strictEqual(out.big, String(2n ** 60n));
  assert.strictEqual(out.bigType, 'bigint');
  assert.strictEqual(out.b, true);
  assert.strictEqual(out.f32, 0.5);
  assert.strictEqual(out.typ, 'numpy.ndarray');
  assert.deepStrictEqual(out.items, [3.5, 9.25, 1]);
  assert.deepStrictEqual(out.list, [3.5, 9.25, 1]);
  assert.deepStrictEqual(out.view, [3.5, 9.25, 1]);
  assert.strictEqual(out.mean, 4.5);
});

test('PythonError#pyException is the exception object, wrapped, sync and async and in contexts', async () => {
  py.exec('class _CodeError(Exception):\n    def __init__(self, code):\n        super().__init__(f"code {code}")\n        self.code = code\n    def errors(self):\n        return [{"code": self.code}]');
  try {
    py.exec('raise _CodeError(42)');
    assert.fail('no error');
  } catch (e) {
    assert.strictEqual(e.name, '_CodeError');
    assert.strictEqual(e.pyException.code, 42);
    assert.deepStrictEqual(e.pyException.errors(), [{ code: 42 }]);
    assert.strictEqual(py.typeOf(e.pyException), '__main__._CodeError');
    assert.ok(!Object.keys(e).includes('pyExceptionHandle'), 'not enumerable');
  }
  await assert.rejects(py.eval_async('1/0'), (e) => e.pyException.args[0] === 'division by zero');
  const c = new Python({ context: true });
  try {
    assert.throws(() => c.eval('int("x")'), (e) => /invalid literal/.test(String(e.pyException)) && e.pyException.__wrapper__.state === c.context);
  } finally {
    c.delete();
  }
});

test('an AbortSignal cancels async calls: a running function at its next bytecode, a coroutine on its loop, a queued or pre-aborted call at once', async () => {
  py.exec('import asyncio\n_spin_state = {"n": 0, "cancelled": False}\ndef _spin():\n    while True:\n        _spin_state["n"] += 1\nasync def _slow():\n    try:\n        await asyncio.sleep(30)\n    except asyncio.CancelledError:\n        _spin_state["cancelled"] = True\n        raise');
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  let ac = new AbortController();
  const spinning = py.eval_async('_spin()', { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(spinning, (e) => e.name === 'AbortError');
  await pause(50);
  const n = py.eval('_spin_state["n"]');
  await pause(50);
  assert.strictEqual(py.eval('_spin_state["n"]'), n, 'the Python loop stopped');
  ac = new AbortController();
  const coro = py.call_async(m, '_slow', [], null, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('enough')), 50);
  await assert.rejects(coro, (e) => e.name === 'AbortError' && e.cause.message === 'enough');
  for (let i = 0; i < 50 && !py.eval('_spin_state["cancelled"]'); i++) await pause(10);
  assert.strictEqual(py.eval('_spin_state["cancelled"]'), true, 'the coroutine saw CancelledError');
  ac = new AbortController();
  ac.abort();
  await assert.rejects(py.exec_async('x = 1', { signal: ac.signal }), (e) => e.name === 'AbortError');
  assert.strictEqual(await py.eval_async('2 + 2', { signal: new AbortController().signal }), 4, 'an unaborted signal changes nothing');
  await assert.rejects(py.eval_async('1', { signal: {} }), TypeError);
});
