'use strict';
// src/convert/strings.rs: str ↔ string by storage kind (1-, 2-, 4-byte strs; one- and two-byte JS
// strings), external strings over a str's memory, and the surrogate routes.
const test = require('node:test');
const assert = require('node:assert');
const fc = require('fast-check');
const { clib } = require('..');
const { runNode, runNodeAsync, lastJson, supportedPythons } = require('./helpers');

clib._exec(`
import sys, gc
def echo(x):
    return x
def facts(s):
    # length, widest code point, and whether s equals the same code points built by Python
    # (CPython compares kinds first: a str stored in a wider kind than it needs is unequal)
    cps = [ord(c) for c in s]
    return [len(s), max(cps) if cps else 0, s == ''.join(map(chr, cps)), hash(s) == hash(''.join(map(chr, cps)))]
def build(cps):
    return ''.join(map(chr, cps))
`);
const main = clib._import_module('__main__');
const call = (name, ...args) => clib._call_python(main, name, args);
const codePoints = (s) => {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
      out.push(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
      i++;
    } else out.push(c);
  }
  return out;
};

// Lengths around every threshold: the 256-byte stack read, the external-string floor (16 Ki).
const LENGTHS = [0, 1, 7, 8, 9, 63, 64, 65, 85, 86, 127, 128, 255, 256, 257, 4095, 16383, 16384, 16385, 70000];
const UNITS = { ascii: 'a', latin1: 'é', max1: '\u00ff', c1: '\u0080', bmp: '€', maxBmp: '\uffff', astral: '😀', maxAstral: '\u{10ffff}', lone: '\ud800', loneLow: '\udfff' };

test('every kind at every threshold length round-trips exactly, and Python holds it in its narrowest kind', () => {
  for (const [kind, unit] of Object.entries(UNITS)) {
    for (const n of LENGTHS) {
      for (const s of [unit.repeat(n), 'x'.repeat(n) + unit, unit + 'x'.repeat(n), 'x'.repeat(n >> 1) + unit + 'y'.repeat(n >> 1)]) {
        const label = `${kind} × ${n} (${s.length} units)`;
        assert.ok(call('echo', s) === s, label);
        const cps = codePoints(s);
        const [len, max, canonical, sameHash] = call('facts', s);
        assert.strictEqual(len, cps.length, label);
        assert.strictEqual(max, cps.length ? Math.max(...cps) : 0, label);
        assert.ok(canonical && sameHash, `${label}: not in its narrowest kind`);
        assert.ok(call('build', cps) === s, `${label}: Python → JS`);
      }
    }
  }
});

test('surrogates: pairs join, lone ones stay, misplaced halves stay as they are', () => {
  const cases = ['\ud83d\ude00', '\ude00\ud83d', 'a\ud800', '\udc00b', '\ud800\ud800\udc00', '\ud800\udc00\udc00', 'x'.repeat(20000) + '\ud800', '😀'.repeat(10000) + '\udc00' + '😀'.repeat(10000), '\udbff\udfff'.repeat(9000)];
  for (const s of cases) {
    assert.ok(call('echo', s) === s, JSON.stringify(s.slice(0, 8)));
    assert.deepStrictEqual(call('facts', s).slice(0, 1), [codePoints(s).length]);
  }
  // Python code points that JS sees as one pair stay a pair (the documented normalisation).
  assert.strictEqual(clib._eval("'\\ud83d\\ude00'"), '😀');
});

const SEED = Number(process.env.PYTHON_TS_SEED || 20261202);
test(`property: random strings of every kind and length, as values and keys (seed ${SEED})`, () => {
  const unit = fc.oneof(
    fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0x100, max: 0xd7ff }),
    fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0xe000, max: 0xffff }), fc.integer({ min: 0x10000, max: 0x10ffff }),
  ).map((cp) => String.fromCodePoint(cp));
  const str = fc.oneof(fc.array(unit, { maxLength: 40 }), fc.array(unit, { minLength: 200, maxLength: 3000 })).map((a) => a.join(''));
  fc.assert(fc.property(str, fc.integer({ min: 0, max: 20000 }), (s, pad) => {
    const long = 'p'.repeat(pad) + s;
    assert.ok(call('echo', s) === s);
    assert.ok(call('echo', long) === long);
    const back = call('echo', { [s]: 1 });
    assert.deepStrictEqual(Object.keys(back), [s]);
    assert.ok(call('facts', long)[2], 'narrowest kind');
  }), { numRuns: 300, seed: SEED });
});

test('an external string outlives its Python object, and its reference is given back after JS drops it', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('import sys, gc\\nbig = "é" * 100000 + "x"\\nbmp = "€" * 100000\\nrc0 = sys.getrefcount(big)');
    let a = clib._eval('big');
    let b = clib._eval('bmp');
    const held = clib._eval('sys.getrefcount(big) - rc0');
    clib._exec('del big, bmp\\ngc.collect()\\njunk = ["y" * 100000 for _ in range(50)]');
    const intact = a === 'é'.repeat(100000) + 'x' && b === '€'.repeat(100000);
    clib._exec('big = "é" * 100000 + "x"\\nrc0 = sys.getrefcount(big)');
    let c = clib._eval('big');
    const held2 = clib._eval('sys.getrefcount(big) - rc0');
    c = null; a = null; b = null;
    global.gc(); global.gc();
    setTimeout(() => { console.log(JSON.stringify({ held, held2, intact, after: clib._eval('sys.getrefcount(big) - rc0') })); }, 50);`, { args: ['--expose-gc'] });
  const out = lastJson(r);
  assert.strictEqual(out.intact, true);
  // Node has external strings (since 20.4); a host without them copies, holding nothing.
  if (!process.versions.node || process.versions.bun || process.versions.deno) {
    if (out.held === 0) return;
  }
  assert.deepStrictEqual([out.held, out.held2, out.after], [1, 1, 0]);
});

test('external strings stay intact after their context is deleted and after _destroy_python()', () => {
  const r = runNode(`const { clib } = require('.');
    const ctx = clib._create_pycontext();
    const fromCtx = clib._eval('"ü" * 50000 + "€" * 50000', ctx);
    clib._delete_pycontext(ctx);
    const fromMain = clib._eval('"ä" * 60000');
    clib._destroy_python();
    clib._eval('["z" * 100000 for _ in range(100)]');
    console.log(JSON.stringify({ ctx: fromCtx === 'ü'.repeat(50000) + '€'.repeat(50000), main: fromMain === 'ä'.repeat(60000) }));`, { env: { PYTHON_TS_PYTHON: require('./helpers').supportedPythons().filter(require('./helpers').reinitSafe).pop().exe } });
  assert.deepStrictEqual(lastJson(r), { ctx: true, main: true });
});

test('strings up to 100 MB of every kind round-trip exactly', () => {
  const r = runNode(`const { clib } = require('.');
    clib._exec('def echo(x):\\n    return x\\ndef facts(s):\\n    return [len(s), max(s[:10] + s[-10:])]');
    const m = clib._import_module('__main__');
    const out = {};
    const MB = 1 << 20;
    for (const [name, s] of [
      ['latin1', 'x'.repeat(50 * MB) + 'é'.repeat(50 * MB)],      // 100 MB one-byte
      ['bmp', 'x'.repeat(25 * MB) + '€'.repeat(25 * MB)],         // 100 MB two-byte
      ['astral', 'x'.repeat(10 * MB) + '😀'.repeat(20 * MB)],     // 100 MB, half pairs
      ['lone', '\\ud800' + 'x'.repeat(50 * MB - 2) + '\\udc00'],   // 100 MB with lone surrogates
    ]) {
      const back = clib._call_python(m, 'echo', [s]);
      out[name] = back === s;
    }
    console.log(JSON.stringify(out));`, { timeout: 180000 });
  assert.deepStrictEqual(lastJson(r), { latin1: true, bmp: true, astral: true, lone: true });
});

test('every runtime here: the str layout is found by its probe, and strings of every kind round-trip', async () => {
  const pys = supportedPythons();
  assert.ok(pys.length > 0, 'no CPython >= 3.8 found');
  await Promise.all(pys.map(async (py) => {
    const r = await runNodeAsync(`const { clib } = require('.');
      const s = ['a', 'é', '€', '😀', '\\ud800'].map((u) => 'x'.repeat(300) + u.repeat(20000)).join('|');
      const ok = clib._call_python(clib._eval('lambda x: x'), '__call__', [s]) === s;
      console.log(JSON.stringify({ ok, ...clib._internals.conversion_stats() }));`, { env: { PYTHON_TS_PYTHON: py.exe } });
    const out = lastJson(r);
    assert.strictEqual(out.ok, true, py.label);
    assert.strictEqual(out.strLayout, py.version[1] >= 12 ? '3.12+' : '3.8-3.11', py.label);
    assert.ok(out.externalStrings >= 1, `${py.label}: no external string`);
  }));
});
