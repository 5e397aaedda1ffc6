'use strict';
// src/clib: the object functions and clib._internals.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { clib, PythonError } = require('..');
const { tmpdir, runNode, lastJson } = require('./helpers');

clib._exec('def f(a, b=2, *args, c=3, **kw):\n    return [a, b, list(args), c, kw]');
const main = clib._import_module('__main__');

test('_call_python: positional, keyword, trailing kwargs(), and method null calls the object itself', () => {
  assert.deepStrictEqual(clib._call_python(main, 'f', [1]), [1, 2, [], 3, {}]);
  assert.deepStrictEqual(clib._call_python(main, 'f', [1, 5, 6, 7], { c: 0, z: 9 }), [1, 5, [6, 7], 0, { z: 9 }]);
  assert.deepStrictEqual(clib._call_python(main, 'f', [1, clib.kwargs({ b: 4, y: 1 })]), [1, 4, [], 3, { y: 1 }]);
  const f = clib._getattr(main, 'f')[1];
  assert.deepStrictEqual(clib._call_python(f, null, [0]), [0, 2, [], 3, {}]);
  assert.deepStrictEqual(clib._call_python(f, '', [0], { c: 1 }), [0, 2, [], 1, {}]);
  assert.deepStrictEqual(clib._call_python(f, undefined, [0]), [0, 2, [], 3, {}]);
});

test('_call_python: errors are PythonErrors; bad arguments are TypeErrors', () => {
  assert.throws(() => clib._call_python(main, 'f', []), (e) => e instanceof PythonError && e.name === 'TypeError');
  assert.throws(() => clib._call_python(main, 'nope', []), (e) => e instanceof PythonError && e.name === 'AttributeError');
  assert.throws(() => clib._call_python(main, 5, []), TypeError);
  assert.throws(() => clib._call_python(main, 'f', 'notarray'), TypeError);
  assert.throws(() => clib._call_python(main, 'f', [1], [2]), TypeError);
  assert.throws(() => clib._call_python(main, 'f', [clib.kwargs({}), 1]), TypeError);
  assert.throws(() => clib._call_python(main, 'f', [1], null, null, 'notfn'), TypeError);
  assert.throws(() => clib.kwargs(5), TypeError);
});

test('_import_module returns a module handle; an unknown module is a ModuleNotFoundError', () => {
  const json = clib._import_module('json');
  assert.strictEqual(json.pytype, 'module');
  assert.strictEqual(clib._call_python(json, 'dumps', [{ a: [1, 2] }]), '{"a": [1, 2]}');
  assert.throws(() => clib._import_module('no_such_module_xyz'), (e) => e.name === 'ModuleNotFoundError');
  assert.throws(() => clib._import_module(1), TypeError);
});

test('_reload_module runs the edited file (by name and by handle)', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'reload_me.py');
  fs.writeFileSync(file, 'def v():\n    return 1\n');
  clib._set_plugins_path(dir);
  const m = clib._import_module('reload_me');
  assert.strictEqual(clib._call_python(m, 'v', []), 1);
  // Each version a different size: a .pyc is reused when the source's size and mtime (whole
  // seconds) match, and these writes fall within one second.
  fs.writeFileSync(file, 'def v():\n    return 22\n');
  clib._exec('import importlib; importlib.invalidate_caches()');
  assert.strictEqual(clib._reload_module('reload_me'), true);
  assert.strictEqual(clib._call_python(m, 'v', []), 22);
  fs.writeFileSync(file, 'def v():\n    return 333\n');
  assert.strictEqual(clib._reload_module(m), true);
  assert.strictEqual(clib._call_python(m, 'v', []), 333);
  assert.throws(() => clib._reload_module(5), TypeError);
});

test('_dir lists [name, isMethod, value] and leaves out __builtins__, __loader__, __spec__', () => {
  clib._exec('import types\n_ns = types.ModuleType("ns")\n_ns.x = 5\n_ns.g = lambda: 1');
  const rows = clib._dir(clib._eval('_ns'));
  const byName = Object.fromEntries(rows.map(([n, m, v]) => [n, [m, v]]));
  assert.deepStrictEqual(byName.x, [false, 5]);
  assert.deepStrictEqual(byName.g, [true, null]);
  assert.strictEqual(byName.__name__[1], 'ns');
  for (const hidden of ['__builtins__', '__loader__', '__spec__']) assert.ok(!(hidden in byName));
  assert.ok(!clib._dir(main).some(([n]) => n === '__builtins__'));
});

test('_getattr reads live values, callables as handles, and missing names as kind 0', () => {
  clib._exec('_val = 1');
  assert.deepStrictEqual(clib._getattr(main, '_val'), [2, 1]);
  clib._exec('_val = 2');
  assert.deepStrictEqual(clib._getattr(main, '_val'), [2, 2]);
  assert.strictEqual(clib._getattr(main, 'f')[0], 1);
  assert.strictEqual(clib._getattr(main, 'missing_name')[0], 0);
});

test('_getattr: an AttributeError (a subclass too) from __getattr__ is a missing name, any other error throws; none stays pending', () => {
  clib._exec([
    'class _MyMissing(AttributeError): pass',
    'class _Odd:',
    '    def __getattr__(self, name):',
    "        if name == 'sub': raise _MyMissing(name)",
    "        if name == 'bad': raise ValueError('bad attribute ' + name)",
    "        raise AttributeError(name)",
    '_odd = _Odd()',
  ].join('\n'));
  const h = clib._eval('__import__("python_ts").pyobject(_odd)');
  for (const name of ['nope', 'sub']) assert.strictEqual(clib._getattr(h, name)[0], 0, name);
  assert.throws(() => clib._getattr(h, 'bad'), (e) => e instanceof PythonError && /ValueError: bad attribute bad/.test(e.message));
  assert.strictEqual(clib._eval('1 + 1'), 2); // nothing left pending
});

test('_eval and _exec convert results fully; _exec returns null', () => {
  assert.strictEqual(clib._exec('x = {"a": [1, 2.5, None]}'), null);
  assert.deepStrictEqual(clib._eval('x'), { a: [1, 2.5, null] });
});

test('_internals: pointer strings, predicates, JSON helpers', () => {
  const I = clib._internals;
  assert.strictEqual(I.str_to_uint64('18446744073709551615'), 2n ** 64n - 1n);
  assert.throws(() => I.str_to_uint64('-1'), RangeError);
  assert.throws(() => I.str_to_uint64('0x10'), RangeError);
  assert.strictEqual(I.uint64_to_str(2n ** 64n - 1n), '18446744073709551615');
  assert.strictEqual(I.uint64_to_str(42), '42');
  assert.throws(() => I.uint64_to_str(-1n), RangeError);
  assert.strictEqual(I.napi_number_is_int(3), true);
  assert.strictEqual(I.napi_number_is_int(-0), false);
  assert.strictEqual(I.napi_number_is_int(1.5), false);
  assert.strictEqual(I.napi_object_is_empty({}), true);
  assert.strictEqual(I.napi_object_is_empty({ a: 1 }), false);
  assert.deepStrictEqual(I.napi_parse_json('{"a":[1]}'), { a: [1] });
  assert.strictEqual(I.napi_dump_json({ a: [1] }), '{"a":[1]}');
  assert.strictEqual(I.is_pycontext({}), false);
  assert.deepStrictEqual(I.deserialize_pycontext({}), {});
  assert.deepStrictEqual(I.serialize_pycontext(null), {});
});

test('_internals: a round trip through both converters, and serialize/deserialize of handles', () => {
  const I = clib._internals;
  const h = I.napi_value_to_pyobject({ k: [1, 'two'] });
  assert.strictEqual(h.pytype, 'dict');
  assert.deepStrictEqual(I.pyobject_to_napi_value(h), { k: [1, 'two'] });
  const s = I.serialize_pyobject(h);
  assert.strictEqual(I.is_pyobject(s), false);
  assert.strictEqual(s.value, h.value);
  assert.strictEqual(s.repr, "{'k': [1, 'two']}");
  assert.throws(() => I.deserialize_pyobject(s), /cannot be forged/);
  assert.strictEqual(I.deserialize_pyobject(h), h);
  assert.match(I.napi_dump_json(h), /"type":"python-ts\/PyObject\*"/);
});

test('_internals.throw_pyexception_in_javascript throws a PythonError', () => {
  const I = clib._internals;
  assert.throws(() => I.throw_pyexception_in_javascript('ValueError', 'bad'), (e) => e instanceof PythonError && e.message === 'ValueError: bad');
  const exc = clib._eval('KeyError("k")');
  assert.throws(() => I.throw_pyexception_in_javascript(exc), (e) => e.name === 'KeyError');
  assert.throws(() => I.throw_pyexception_in_javascript(clib._eval('object()')), TypeError);
});

test('_method: a native function bound to obj.name — positional, trailing kwargs(), many arguments, null calls the object', () => {
  const f = clib._method(main, 'f');
  assert.strictEqual(typeof f, 'function');
  assert.strictEqual(f.name, 'f');
  assert.deepStrictEqual(f(1), [1, 2, [], 3, {}]);
  assert.deepStrictEqual(f(1, 5, 6, 7), [1, 5, [6, 7], 3, {}]);
  assert.deepStrictEqual(f(1, clib.kwargs({ b: 4, c: 0, y: 1 })), [1, 4, [], 0, { y: 1 }]);
  // More arguments than the native side reads at once (8): read again, all of them.
  const many = Array.from({ length: 12 }, (_, i) => i);
  assert.deepStrictEqual(f(...many), [0, 1, many.slice(2), 3, {}]);
  assert.deepStrictEqual(f(...many, clib.kwargs({ z: 'é€😀' })), [0, 1, many.slice(2), 3, { z: 'é€😀' }]);
  const self = clib._method(clib._getattr(main, 'f')[1], null);
  assert.deepStrictEqual(self(0, 1), [0, 1, [], 3, {}]);
  // Builtins and bound methods of objects: the vectorcall path and its fallbacks agree.
  const os = clib._import_module('os.path');
  assert.strictEqual(clib._method(os, 'join')('a', 'b', 'c'), 'a/b/c');
  clib._exec('class _M:\n    def m(self, *a, **k):\n        return [len(a), sorted(k)]\n_m = _M()');
  const m = clib._method(clib._eval('_m'), 'm');
  assert.deepStrictEqual(m(), [0, []]);
  assert.deepStrictEqual(m(1, 2, 3, clib.kwargs({ q: 1, p: 2 })), [3, ['p', 'q']]);
});

test('_method: errors are PythonErrors, bad arguments TypeErrors; object results go through wrap, primitives do not', () => {
  assert.throws(() => clib._method(main, 5), TypeError);
  assert.throws(() => clib._method({}, 'f'), /not a Python object handle/);
  assert.throws(() => clib._method(main, 'f', null, 'notfn'), TypeError);
  assert.throws(() => clib._method(main, 'f')(), (e) => e instanceof PythonError && e.name === 'TypeError');
  assert.throws(() => clib._method(main, 'nope')(1), (e) => e instanceof PythonError && e.name === 'AttributeError');
  const seen = [];
  const wrap = (v) => { seen.push(v); return { wrapped: v }; };
  clib._exec('def _obj(x):\n    return x');
  const obj = clib._method(main, '_obj', null, wrap);
  assert.strictEqual(obj(7), 7);
  assert.strictEqual(obj('s'), 's');
  assert.strictEqual(obj(null), null);
  assert.deepStrictEqual(obj([1]), { wrapped: [1] });
  assert.deepStrictEqual(seen, [[1]]);
  // A released handle: the function fails as a call on it would.
  const h = clib._eval('_m');
  const g = clib._method(h, 'm');
  clib._delete_pyobject(h);
  assert.throws(() => g(), /released/);
});

test('_method: the function keeps its handle alive, and its collection releases the reference', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('import sys\\nclass _T:\\n    def m(self, x):\\n        return x + 1\\n_ts = [_T() for _ in range(1000)]\\n_t = _ts[0]');
    const base = clib._eval('sys.getrefcount(_t)');
    // A function per object, the only JS holder of its handle once the loop is over.
    let fs = [];
    for (let i = 0; i < 1000; i++) fs.push(clib._method(clib._eval('_ts[' + i + ']'), 'm'));
    const wait = () => new Promise((r) => setImmediate(r));
    (async () => {
      for (let i = 0; i < 5; i++) { global.gc(); await wait(); }
      const held = clib._eval('sys.getrefcount(_t)');
      const calls = fs.reduce((s, f) => s + f(1), 0);
      fs = null;
      for (let i = 0; i < 10; i++) { global.gc(); await wait(); }
      clib._eval('0');
      console.log(JSON.stringify({ base, held, calls, after: clib._eval('sys.getrefcount(_t)'), live: clib.references.length }));
    })();`, { args: ['--expose-gc'] });
  const out = lastJson(r);
  assert.strictEqual(out.held, out.base + 1, 'the function holds its handle after its other users are gone');
  assert.strictEqual(out.calls, 2000);
  assert.strictEqual(out.after, out.base, 'collected functions released their handles');
});

test('_method: in a context, results are of that context; a handle of another context is refused', () => {
  const ctx = clib._create_pycontext();
  try {
    clib._exec('class _C:\n    def pair(self, x):\n        return [x, object()]\n_c = _C()', ctx);
    const pair = clib._method(clib._eval('_c', ctx), 'pair', ctx);
    const [x, o] = pair(3);
    assert.strictEqual(x, 3);
    assert.match(clib._call_python(o, '__repr__', [], null, ctx), /^<object object/);
    assert.throws(() => clib._method(o, '__repr__')(), /another context/);
    assert.throws(() => clib._method(clib._eval('_c', ctx), 'pair'), /another context/);
  } finally {
    clib._delete_pycontext(ctx);
  }
});
