'use strict';
// src/boundary.rs and src/error.rs: panics, argument errors, Python exceptions.
const test = require('node:test');
const assert = require('node:assert');
const { clib, PythonError } = require('..');

test('a Rust panic becomes a JS Error and the next call works', () => {
  assert.throws(() => clib.__panic_for_tests(), (e) => e instanceof Error && /panic/.test(e.message));
  assert.strictEqual(clib._eval('40 + 2'), 42);
});

test('wrong argument types are TypeErrors that name the parameter', () => {
  assert.throws(() => clib._eval(42), (e) => e instanceof TypeError && /code must be a string, got number/.test(e.message));
  assert.throws(() => clib._exec(), TypeError);
  assert.throws(() => clib._set_runtime_path(5), TypeError);
  assert.throws(() => clib._set_debug('yes'), TypeError);
  assert.throws(() => clib._eval('1', 'not a context'), TypeError);
});

test('a Python exception is a PythonError with name, message, pyType and traceback', () => {
  clib._exec('class Outer:\n    class Inner(Exception):\n        pass\ndef boom():\n    raise Outer.Inner("deep")');
  try {
    clib._eval('boom()');
    assert.fail('no throw');
  } catch (e) {
    assert.ok(e instanceof PythonError);
    assert.ok(e instanceof Error);
    assert.strictEqual(e.name, 'Inner');
    assert.strictEqual(e.message, 'Inner: deep');
    assert.strictEqual(e.pyType, '__main__.Outer.Inner');
    assert.match(e.traceback, /Traceback \(most recent call last\)/);
    assert.match(e.traceback, /in boom/);
  }
  assert.throws(() => clib._eval('1/0'), (e) => e.pyType === 'ZeroDivisionError' && e.message === 'ZeroDivisionError: division by zero');
});

test('chained exceptions keep their causes in the traceback', () => {
  try {
    clib._exec('try:\n    1/0\nexcept Exception as e:\n    raise ValueError("wrapped") from e');
    assert.fail('no throw');
  } catch (e) {
    assert.strictEqual(e.name, 'ValueError');
    assert.match(e.traceback, /ZeroDivisionError/);
    assert.match(e.traceback, /direct cause/);
  }
});

test('a syntax error is a PythonError', () => {
  assert.throws(() => clib._exec('def ('), (e) => e instanceof PythonError && e.name === 'SyntaxError');
  assert.throws(() => clib._exec('x = "\0"'), (e) => e instanceof PythonError);
});

test('debug output names the context of each call', () => {
  const { runNode } = require('./helpers');
  const r = runNode(`const { clib } = require('.'); const c = clib._create_pycontext(); clib._set_debug(true); clib._eval('1', c); clib._set_debug(false); clib._delete_pycontext(c);`);
  assert.match(r.stderr, /\[python-ts\] _eval \(str\(1\), object\) on thread \d+ \[context \d+\] [\d.]+ ms ok/);
});

test('_set_debug logs each call with its duration on stderr', () => {
  const { runNode } = require('./helpers');
  const r = runNode(`const { clib } = require('.'); clib._set_debug(true); clib._eval('1'); clib._set_debug(false); clib._eval('2');`);
  assert.match(r.stderr, /\[python-ts\] _eval \(str\(1\)\) on thread \d+ \[main context\] [\d.]+ ms ok/);
  assert.strictEqual(r.stderr.match(/_eval/g).length, 1);
});
