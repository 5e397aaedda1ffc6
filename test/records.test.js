'use strict';
// src/convert/records.rs: Arrays of same-shaped records in one helper call each way. Every case
// is checked against the element-wise path (the same records one at a time, below the 16-item
// threshold of the columns), so both paths give one result.
const test = require('node:test');
const assert = require('node:assert');
const fc = require('fast-check');
const { clib } = require('..');

clib._exec(`
def canon(x):
    return repr(x)
def ident(rs):
    # which items and inner lists are the same object (identity survives the columns)
    ids = {}
    out = []
    for r in rs:
        row = [ids.setdefault(id(r), len(ids))]
        for v in (r.values() if isinstance(r, dict) else []):
            if isinstance(v, list):
                row.append(ids.setdefault(id(v), len(ids)))
        out.append(row)
    return out
def echo(x):
    return x
`);
const main = clib._import_module('__main__');
const call = (name, ...args) => clib._call_python(main, name, args);
const stats = () => clib._internals.conversion_stats();
// The same records through the element-wise path: one at a time.
const oneByOne = (recs) => `[${recs.map((r) => call('canon', [r]).slice(1, -1)).join(', ')}]`;

test('JS → Python: records of every primitive kind and Arrays of them match the element-wise path', () => {
  const before = stats().recordsToPy;
  const recs = Array.from({ length: 40 }, (_, i) => ({
    id: i, name: `n${i}`, score: i * 0.5, neg: -0, nan: NaN, big: 2 ** 53 + (i % 3), ok: i % 2 === 0, none: null, undef: undefined,
    tags: ['a', 'é€😀', i, null, undefined, true, '\ud800'], empty: [], lone: `x\udc00${i}`, long: 'y'.repeat(40) + i,
  }));
  assert.strictEqual(call('canon', recs), oneByOne(recs));
  assert.strictEqual(stats().recordsToPy, before + 1, 'the 40 records took the columns');
  assert.deepStrictEqual(call('echo', recs)[39].tags, ['a', 'é€😀', 39, null, null, true, '\ud800']);
});

test('JS → Python: shapes the columns do not take still convert exactly (mixed keys, nesting, classes, getters, sparse, __proto__)', () => {
  class P { constructor(i) { this.i = i; } }
  const cases = {
    mixedKeys: Array.from({ length: 20 }, (_, i) => (i === 10 ? { b: i, a: i } : { a: i, b: i })),
    extraKey: Array.from({ length: 20 }, (_, i) => (i === 19 ? { a: i, c: 1 } : { a: i })),
    nested: Array.from({ length: 20 }, (_, i) => ({ a: { b: i } })),
    deepArray: Array.from({ length: 20 }, (_, i) => ({ a: [[i]] })),
    classes: Array.from({ length: 20 }, (_, i) => new P(i)),
    nullProto: Array.from({ length: 20 }, (_, i) => Object.assign(Object.create(null), { a: i })),
    getters: Array.from({ length: 20 }, (_, i) => ({ get a() { return i * 2; } })),
    bigints: Array.from({ length: 20 }, (_, i) => ({ a: BigInt(i) })),
    dates: Array.from({ length: 20 }, (_, i) => ({ a: new Date(i * 1000) })),
    proto: Array.from({ length: 20 }, (_, i) => Object.defineProperty({ x: i }, '__proto__', { value: i, enumerable: true })),
    nulKey: Array.from({ length: 20 }, (_, i) => ({ ['a\0b']: i })),
    longArray: Array.from({ length: 20 }, (_, i) => ({ a: Array.from({ length: 100 }, (_, j) => j + i) })),
    holes: Array.from({ length: 20 }, (_, i) => (i === 5 ? undefined : { a: i })),
  };
  for (const [name, recs] of Object.entries(cases)) assert.strictEqual(call('canon', recs), oneByOne(recs), name);
});

test('JS → Python: identity survives — a shared Array, a record twice, the Array inside its own record', () => {
  const shared = ['s'];
  const recs = Array.from({ length: 20 }, (_, i) => ({ i, t: shared }));
  assert.deepStrictEqual(call('ident', recs).map((r) => r[1]), Array(20).fill(1));
  const r0 = { i: 0, t: ['x'] };
  const twice = [r0, ...Array.from({ length: 18 }, (_, i) => ({ i: i + 1, t: ['y'] })), r0];
  const ids = call('ident', twice);
  assert.strictEqual(ids[0][0], ids[19][0]);
  assert.strictEqual(call('canon', twice), oneByOne(twice));
  const self = Array.from({ length: 20 }, (_, i) => ({ i, t: [] }));
  self[3].t = self;
  assert.strictEqual(clib._call_python(clib._eval('lambda rs: rs[3]["t"] is rs'), '__call__', [self]), true);
});

test('Python → JS: records come back as plain objects with the element-wise values, identity kept', () => {
  clib._exec(`
recs = [{'id': i, 'name': 'n%d' % i, 'score': i * 0.5, 'ok': i % 2 == 0, 'none': None, 'big': 2**60 if i == 7 else i,
         'tags': ['a', 'é€😀', i, None, True, '\\ud800'], 'long': 'y' * 40 + str(i), 'lone': 'x\\udc00', '__proto__': i} for i in range(40)]
shared = ['s']
sharing = [{'i': i, 't': shared} for i in range(20)]
d0 = {'i': 0}
twice = [d0] + [{'i': i} for i in range(1, 19)] + [d0]
intkeys = [{1: i} for i in range(20)]
`);
  const before = stats().recordsToJs;
  const recs = clib._eval('recs');
  // Not on a free-threaded build, where a dict's reference count can't tell it is unshared.
  const freeThreaded = clib._eval('not getattr(__import__("sys"), "_is_gil_enabled", lambda: True)()');
  assert.strictEqual(stats().recordsToJs, before + (freeThreaded ? 0 : 1), 'the 40 records took the columns');
  const each = clib._eval('[[r] for r in recs]').map((a) => a[0]);
  assert.deepStrictEqual(recs, each);
  assert.strictEqual(typeof recs[7].big, 'bigint');
  assert.strictEqual(Object.getPrototypeOf(recs[3]), Object.prototype);
  assert.strictEqual(Object.getOwnPropertyDescriptor(recs[3], '__proto__').value, 3);
  assert.strictEqual(recs[5].lone, 'x\udc00');
  const sharing = clib._eval('sharing');
  assert.ok(sharing.every((r) => r.t === sharing[0].t));
  const twice = clib._eval('twice');
  assert.strictEqual(twice[0], twice[19]);
  assert.ok(clib._eval('intkeys')[0] instanceof Map);
  // A record list inside itself keeps the cycle.
  clib._exec('cyc = [{"i": i, "l": []} for i in range(20)]\ncyc[4]["l"] = cyc');
  const cyc = clib._eval('cyc');
  assert.strictEqual(cyc[4].l, cyc);
});

const SEED = Number(process.env.PYTHON_TS_SEED || 20261202);
test(`property: random record Arrays give the element-wise result both ways (seed ${SEED})`, () => {
  const prim = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string16bits({ maxLength: 30 }), fc.fullUnicodeString({ maxLength: 20 }));
  const value = fc.oneof(prim, fc.array(prim, { maxLength: 6 }));
  const keys = fc.uniqueArray(fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.constant('__proto__')), { minLength: 1, maxLength: 6 });
  const arb = keys.chain((ks) => fc.array(fc.tuple(...ks.map(() => value)), { minLength: 16, maxLength: 60 }).map((rows) => rows.map((vs) => {
    const o = {};
    ks.forEach((k, j) => Object.defineProperty(o, k, { value: vs[j], enumerable: true, writable: true, configurable: true }));
    return o;
  })));
  fc.assert(fc.property(arb, (recs) => {
    assert.strictEqual(call('canon', recs), oneByOne(recs));
    const back = call('echo', recs);
    const each = recs.map((r) => call('echo', [r])[0]);
    assert.deepStrictEqual(back, each);
  }), { numRuns: 200, seed: SEED });
});
