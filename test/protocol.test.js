'use strict';
// The JS ↔ native protocol (src/env/protocol.rs): one table, read by both sides. These specs
// check that the table the addon exports is what the native side acts on, and that no code of
// the table is written out by hand in the JS the addon runs or in the Python class.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { Python, clib } = require('..');
const { ROOT } = require('./helpers');

const P = clib._protocol;

test('the protocol table is exported, frozen, with every group', () => {
  assert.ok(Object.isFrozen(P));
  for (const g of ['inspect', 'record', 'attribute', 'names']) {
    assert.ok(Object.isFrozen(P[g]), g);
    assert.ok(Object.keys(P[g]).length > 0, g);
  }
  for (const g of ['inspect', 'record', 'attribute']) {
    const values = Object.values(P[g]);
    assert.strictEqual(new Set(values).size, values.length, `${g} codes are unique`);
  }
});

test('the native side answers with the table: attribute kinds, handle and context types, the wrapper symbol', () => {
  clib._exec('class _P:\n    x = 1\n    def f(self):\n        return 2\n_p = _P()');
  const h = clib._eval('_p');
  assert.strictEqual(clib._getattr(h, 'nope')[0], P.attribute.MISSING);
  assert.strictEqual(clib._getattr(h, 'f')[0], P.attribute.CALLABLE);
  assert.deepStrictEqual(clib._getattr(h, 'x'), [P.attribute.VALUE, 1]);
  assert.strictEqual(h.type, P.names.HANDLE_TYPE);
  const ctx = clib._create_pycontext();
  try {
    assert.strictEqual(ctx.type, P.names.CONTEXT_TYPE);
  } finally {
    clib._delete_pycontext(ctx);
  }
  const py = new Python();
  const w = py.unwrap(h);
  assert.ok(w[Symbol.for(P.names.WRAPPED_SYMBOL)], 'a wrapper answers the marker symbol');
  // The serializer recognises the wrapper by that symbol: it arrives as the object itself.
  assert.strictEqual(py.eval('lambda o: o is _p')(w), true);
});

test('no code of the table is written out by hand in the addon\'s JS or the Python class', () => {
  const helpers = fs.readFileSync(path.join(ROOT, 'src', 'env', 'helpers.js'), 'utf8');
  assert.doesNotMatch(helpers, /return -\d/, 'inspect kinds come from P.inspect');
  assert.doesNotMatch(helpers, /kinds\.push\(\d/, 'record kinds come from P.record');
  assert.doesNotMatch(helpers, /case \d+:/, 'record kinds come from P.record');
  for (const f of ['python.js', 'pool.js', path.join('internal', 'wrapper.js'), path.join('internal', 'handles.js')]) {
    const js = fs.readFileSync(path.join(ROOT, 'js', f), 'utf8');
    assert.doesNotMatch(js, /python-ts\/Py(Object|ThreadState)\*|python-ts\.wrapped/, `${f} reads the names from the table`);
    assert.doesNotMatch(js, /_getattr\([^)]*\)\[0\] [!=]== \d/, `${f} reads attribute kinds from the table`);
  }
});
