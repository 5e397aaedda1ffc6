'use strict';
// js/typegen and js/cli.js: `python-ts types` writes .d.ts files that tsc --strict checks
// programs against, and every generated function of an annotated plugin keeps its promise at
// run time (arguments of the declared types are accepted; the result has the declared type).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Python, kwargs, tuple } = require('..');
const { describe: describeModules } = require('../js/typegen');
const { render, splitUnion } = require('../js/typegen/render');
const { ROOT, venvPython, nodeFor } = require('./helpers');

const CLI = path.join(ROOT, 'js', 'cli.js');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PLUGINS = path.join(__dirname, 'fixtures', 'typed');
// numpy (with its stubs) from the cookbook's venv: the same packages, so one venv serves both.
const numpyPython = venvPython('cookbook', ['numpy', 'pandas', 'scikit-learn', 'pillow', 'pydantic']);
const MODULES = ['json', 'os.path', 'pathlib', 'datetime', 'shapes', 'stubbed', ...(numpyPython ? ['numpy'] : [])];

const made = [];
test.after(() => { for (const dir of made) fs.rmSync(dir, { recursive: true, force: true }); });

/** A fresh folder inside the package (so compiled programs resolve 'python-ts' to it). */
function workdir(name) {
  const dir = path.join(ROOT, 'test', '.tmp', `typegen-${name}-${process.pid}`);
  made.push(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function cli(args, env = {}) {
  const e = { ...process.env, ...env };
  return spawnSync(nodeFor(e), [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: e, timeout: 600000 });
}

let generated = null;
/** The types of MODULES, generated once for the file's tests. */
function types() {
  if (generated) return generated;
  const dir = workdir('out');
  const out = path.join(dir, 'py-types');
  const args = ['types', ...MODULES, '--plugins', PLUGINS, '--out', out];
  if (numpyPython) args.push('--python', numpyPython);
  const r = cli(args);
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
  generated = { dir, out, stdout: r.stdout };
  return generated;
}

/** tsc over `files` ({ name: source }) beside the generated types; `emit`: write JS to dir/js. */
function tsc(dir, files, { emit = false } = {}) {
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
  const compilerOptions = {
    strict: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: [], skipLibCheck: false,
    baseUrl: '.', paths: { 'python-ts': [path.join(ROOT, 'js', 'index.d.ts')] },
    ...(emit ? { outDir: 'js' } : { noEmit: true }),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: Object.keys(files), include: ['py-types/*.d.ts'] }));
  return spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8', timeout: 600000 });
}

const HEAD = `import { Python, kwargs } from 'python-ts';
const py = new Python({ plugins_path: ${JSON.stringify(PLUGINS)} });
const json = py.import('json');
const osPath = py.import('os.path');
const pathlib = py.import('pathlib');
const datetime = py.import('datetime');
const shapes = py.import('shapes');
const stubbed = py.import('stubbed');
`;

const GOOD = `${HEAD}
const text: string = json.dumps({ a: [1, 2] }, kwargs({ indent: 2 }));
const parsed = json.loads(text);
const joined: string = osPath.join('a', 'b');
const p = pathlib.Path('/tmp', 'x.txt');
const name = p.name;
const when: Date = datetime.datetime(2020, 1, 2);
const sum: number | bigint = shapes.add(2, 3);
const sum2 = shapes.add(2, kwargs({ b: 10 }));
const scaled: number[] = shapes.scale([1, 2], 1.5);
const hi: string = shapes.greet('Ada', kwargs({ upper: true }));
const hi2: string = shapes.greet('Ada', '?');
const found: number | bigint | null = shapes.lookup({ a: 1 }, 'b');
const pr: [number | bigint, string] = shapes.pair(1, 'x');
const mode: 'fast' | 'slow' = shapes.mode('fast');
const tot = shapes.total(1, 2, 3, kwargs({ start: 4 }));
const counter = shapes.Counter(5);
const next: number | bigint = counter.inc();
const value: number | bigint = counter.value;
const fromText = shapes.Counter.from_text('7');
const item = shapes.make_item('pen', 2.5);
const label: string = item.label();
const level: number | bigint = shapes.Level.HIGH;
const color: string = shapes.Color.RED.value;
const area: number = stubbed.area(2, 3.5);
const names: string[] = stubbed.names(2);
const token: string = shapes.required_kw(kwargs({ token: 'abc' }));
async function later(): Promise<unknown[]> {
  const viaTwin: number | bigint = await shapes.add_async(1, 1);
  const fetched: (number | bigint)[] = await shapes.fetch(3);
  return [viaTwin, fetched];
}
`;

const GOOD_NUMPY = `
const np = py.import('numpy');
const arr = np.arange(6);
const total = np.sum([1, 2, 3]);
const mean = np.mean(arr, kwargs({ axis: 0 }));
const zeros = np.zeros([2, 3]);
const shape = zeros.shape;
`;

test('python-ts types writes one .d.ts per module, each registering its module in PythonModules', () => {
  const { out, stdout } = types();
  for (const m of MODULES) {
    const file = path.join(out, `${m}.d.ts`);
    assert.ok(fs.existsSync(file), `${file} missing:\n${stdout}`);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, new RegExp(`"${m.replace('.', '\\.')}": Module;`));
  }
  const shapes = fs.readFileSync(path.join(out, 'shapes.d.ts'), 'utf8');
  // docstrings as JSDoc, annotations as types, keyword-only parameters in kwargs, the _async twin
  assert.match(shapes, /\* Add two integers\.\n[^]*?add\(a: number \| bigint, kw\?: Kwargs<\{ b\?: number \| bigint \}>\): number \| bigint;/);
  assert.match(shapes, /greet\(name: string, kw\?: Kwargs<\{ punctuation\?: string; upper\?: boolean \}>\): string;/);
  assert.match(shapes, /add_async\(a: number \| bigint, b: number \| bigint\): Promise<number \| bigint>;/);
  assert.match(shapes, /required_kw\(kw: Kwargs<\{ token: string \}>\): string;/);
  assert.match(shapes, /export type Point = \[number \| bigint, number \| bigint\];/);
  assert.match(shapes, /readonly RED: Color;/);
  // typing's names imported by the plugin are not its API
  assert.doesNotMatch(shapes, /\bOptional\(/);
  // a .pyi beside a module wins over the module's missing annotations
  assert.match(fs.readFileSync(path.join(out, 'stubbed.d.ts'), 'utf8'), /area\(w: number, h: number\): number;/);
});

test('a program that uses the generated types correctly compiles with tsc --strict, and runs', (t) => {
  const { dir } = types();
  const body = `${GOOD}${numpyPython ? GOOD_NUMPY : ''}
later().then((l) => {
  console.log(JSON.stringify({ text, parsed, joined, name, when: when.toISOString(), sum: String(sum), sum2: String(sum2), scaled, hi, hi2,
    found, pr: String(pr), mode, tot: String(tot), next: String(next), value: String(value), fromText: String(fromText.value), label,
    level: String(level), color, area, names, token, later: String(l)${numpyPython ? ', total: String(total), mean: String(mean), shape: String(shape), arr: String(arr)' : ''} }));
});
`;
  // and from an ES module, with the module type given explicitly (py.import<M>)
  const esm = `import { Python } from 'python-ts';
import type { Module as Shapes } from './py-types/shapes.js';
const py = new Python({ plugins_path: ${JSON.stringify(PLUGINS)} });
const shapes = py.import<Shapes>('shapes');
export const n: number | bigint = shapes.add(1, 2);
`;
  const r = tsc(dir, { 'good.ts': body, 'esm.mts': esm }, { emit: true });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
  const env = { ...process.env, ...(numpyPython ? { PYTHON_TS_PYTHON: numpyPython } : {}) };
  const run = spawnSync(nodeFor(env), [path.join(dir, 'js', 'good.js')], { cwd: ROOT, encoding: 'utf8', env, timeout: 600000 });
  assert.strictEqual(run.status, 0, run.stdout + run.stderr);
  const got = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.deepStrictEqual(got.parsed, { a: [1, 2] });
  assert.strictEqual(got.joined, 'a/b');
  assert.strictEqual(got.name, 'x.txt');
  assert.strictEqual(got.sum, '5');
  assert.strictEqual(got.sum2, '12');
  assert.deepStrictEqual(got.scaled, [1.5, 3]);
  assert.strictEqual(got.hi, 'HELLO, ADA!');
  assert.strictEqual(got.hi2, 'Hello, Ada?');
  assert.strictEqual(got.found, null);
  assert.strictEqual(got.pr, '1,x');
  assert.strictEqual(got.tot, '10');
  assert.strictEqual(got.next, '6');
  assert.strictEqual(got.fromText, '7');
  assert.strictEqual(got.label, 'pen: $2.50');
  assert.strictEqual(got.level, '2');
  assert.strictEqual(got.color, 'red');
  assert.strictEqual(got.area, 7);
  assert.deepStrictEqual(got.names, ['n0', 'n1']);
  assert.strictEqual(got.token, 'cba');
  assert.strictEqual(got.later, '2,0,1,2');
  if (numpyPython) {
    assert.strictEqual(got.total, '6');
    assert.strictEqual(got.mean, '2.5');
    assert.strictEqual(got.shape, '2,3');
  } else {
    t.diagnostic('numpy not installable here: its part of the program is left out');
  }
});

test('programs that misuse the generated types each fail to compile', () => {
  const { dir } = types();
  const misuses = {
    'wrong-type.ts': "shapes.add('one', 2);",
    'wrong-stub-type.ts': "stubbed.area('wide', 2);",
    'missing-argument.ts': 'json.loads();',
    'missing-keyword.ts': 'shapes.required_kw();',
    'unknown-attribute.ts': "json.dumpz({ a: 1 });",
    'unknown-method.ts': 'shapes.Counter(1).decrement();',
    'wrong-keyword-type.ts': "shapes.greet('Ada', kwargs({ upper: 'yes' }));",
    'wrong-result.ts': 'const s: string = shapes.add(1, 2);',
    'wrong-literal.ts': "shapes.mode('medium');",
    'readonly-property.ts': 'shapes.Counter(1).value = 3;',
    ...(numpyPython ? {
      'numpy-unknown.ts': "py.import('numpy').not_a_function(1);",
      // the README's example
      'numpy-shape.ts': "const np = py.import('numpy');\nnp.reshape([1, 2, 3, 4], '2x2');",
    } : {}),
  };
  const files = Object.fromEntries(Object.entries(misuses).map(([name, line]) => [name, `${HEAD}${line}\nexport {};\n`]));
  const r = tsc(dir, files);
  assert.notStrictEqual(r.status, 0);
  for (const name of Object.keys(misuses)) {
    assert.match(r.stdout, new RegExp(`\\b${name.replace(/[.-]/g, '\\$&')}\\(\\d+,\\d+\\): error TS`), `${name} must fail to compile:\n${r.stdout}`);
  }
});

// ---- the run-time check of the fixture plugin -------------------------------------------------

/** A JS value of a model type, as an argument ('in'). */
function sample(py, mod, t, depth = 0) {
  switch (t.t) {
    case 'int': return 3;
    case 'float': return 1.5;
    case 'str': return '7';
    case 'bool': return true;
    case 'none': return null;
    case 'bytes': return Buffer.from([1, 2, 250]);
    case 'datetime': case 'date': return new Date(Date.UTC(2021, 5, 7));
    case 'literal': return t.value;
    case 'list': return [sample(py, mod, t.of, depth + 1), sample(py, mod, t.of, depth + 1)];
    case 'tuple': return tuple(t.items.map((x) => sample(py, mod, x, depth + 1)));
    case 'set': return new Set([sample(py, mod, t.of, depth + 1)]);
    case 'dict': return { k: sample(py, mod, t.value, depth + 1) };
    case 'union': return sample(py, mod, t.of[0], depth + 1);
    case 'callable': return (...args) => sample(py, mod, t.returns, depth + 1);
    case 'class': return construct(py, mod, mod.classes.find((c) => c.name === t.name), depth + 1);
    case 'object': return py.eval('object()');
    default: return 1;
  }
}

/** Arguments for one signature: the required positional ones, the required keywords in kwargs. */
function argsFor(py, mod, sig, depth = 0) {
  const args = sig.params.filter((p) => (p.kind === 'pos' || p.kind === 'posonly') && !p.optional).map((p) => sample(py, mod, p.type, depth));
  const kw = sig.params.filter((p) => p.kind === 'kwonly' && !p.optional);
  if (kw.length) args.push(kwargs(Object.fromEntries(kw.map((p) => [p.name, sample(py, mod, p.type, depth)]))));
  return args;
}

function construct(py, mod, c, depth) {
  assert.ok(c && depth < 5, 'a class the model names');
  const m = py.import(mod.name);
  if (c.enum) return m[c.name][c.members[0].name];
  return m[c.name](...argsFor(py, mod, c.ctor[0], depth));
}

/** Whether a JS value is of a model type, as a result ('out'); a reason string when not. */
function check(py, mod, t, v, where) {
  const fail = (what) => `${where}: ${what}, got ${typeof v} ${String(v)}`;
  switch (t.t) {
    case 'any': return null;
    case 'never': return fail('never');
    case 'int': return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint' ? null : fail('int');
    case 'float': return typeof v === 'number' ? null : fail('float');
    case 'str': return typeof v === 'string' ? null : fail('str');
    case 'bool': return typeof v === 'boolean' ? null : fail('bool');
    case 'none': return v === null ? null : fail('None');
    case 'bytes': return v instanceof Uint8Array ? null : fail('bytes');
    case 'datetime': return v instanceof Date ? null : fail('datetime');
    case 'literal': return v === t.value ? null : fail(`literal ${t.value}`);
    case 'list': case 'set':
      if (t.abstract) return null;
      if (!Array.isArray(v)) return fail('an Array');
      for (const [i, x] of v.entries()) { const e = check(py, mod, t.of, x, `${where}[${i}]`); if (e) return e; }
      return null;
    case 'tuple':
      if (!Array.isArray(v) || v.length !== t.items.length) return fail(`a ${t.items.length}-tuple`);
      for (const [i, x] of v.entries()) { const e = check(py, mod, t.items[i], x, `${where}[${i}]`); if (e) return e; }
      return null;
    case 'dict':
      if (t.abstract) return null;
      if (t.key.t === 'str' && (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Map)) return fail('an Object');
      for (const [k, x] of Object.entries(v)) { const e = check(py, mod, t.value, x, `${where}.${k}`); if (e) return e; }
      return null;
    case 'union': return t.of.some((x) => check(py, mod, x, v, where) === null) ? null : fail('one of the union');
    case 'object': return py.isPyObject(v) ? null : fail('a wrapped object');
    case 'class': {
      const c = mod.classes.find((x) => x.name === t.name);
      if (c && c.instance) return check(py, mod, c.instance, v, where);
      return py.isPyObject(v) && py.typeOf(v).split('.').pop() === t.name ? null : fail(`a wrapped ${t.name}`);
    }
    case 'callable': return typeof v === 'function' ? null : fail('a function');
    default: return null;
  }
}

test('every generated function of the fixture plugin takes arguments of its declared types and returns its declared type (and its _async twin too)', async () => {
  const py = new Python({ plugins_path: PLUGINS });
  const [mod] = describeModules(py, ['shapes']);
  const m = py.import('shapes');
  assert.ok(mod.functions.length >= 20, `functions described: ${mod.functions.map((f) => f.name)}`);
  const failures = [];
  let calls = 0;
  for (const f of mod.functions) {
    for (const sig of f.sigs) {
      const args = argsFor(py, mod, sig);
      let v = m[f.name](...args);
      let returns = sig.returns;
      if (returns.t === 'awaitable') {
        assert.strictEqual(typeof v.then, 'function', `${f.name}: an awaitable is a thenable`);
        v = await v;
        returns = returns.of;
      }
      const e = check(py, mod, returns, v, f.name);
      if (e) failures.push(e);
      const twin = await m[`${f.name}_async`](...argsFor(py, mod, sig));
      const e2 = check(py, mod, returns, twin, `${f.name}_async`);
      if (e2) failures.push(e2);
      calls += 2;
    }
  }
  for (const c of mod.classes) {
    const obj = construct(py, mod, c, 0);
    const e = check(py, mod, c.instance || { t: 'class', module: 'shapes', name: c.name }, obj, `${c.name}()`);
    if (e) failures.push(e);
    for (const meth of c.methods) {
      for (const sig of meth.sigs) {
        const e2 = check(py, mod, sig.returns, obj[meth.name](...argsFor(py, mod, sig)), `${c.name}.${meth.name}`);
        if (e2) failures.push(e2);
        calls++;
      }
    }
    for (const p of c.props) {
      const e3 = check(py, mod, p.type, obj[p.name], `${c.name}.${p.name}`);
      if (e3) failures.push(e3);
    }
    for (const s of c.statics) {
      const e4 = check(py, mod, s.sigs[0].returns, py.import('shapes')[c.name][s.name](...argsFor(py, mod, s.sigs[0])), `${c.name}.${s.name}`);
      if (e4) failures.push(e4);
    }
  }
  for (const k of mod.constants) {
    const e = check(py, mod, k.type, m[k.name], k.name);
    if (e) failures.push(e);
  }
  assert.deepStrictEqual(failures, []);
  assert.ok(calls > 40, `calls made: ${calls}`);
});

test('numpy: generated from its stubs; the share of public functions with precise parameter types', { skip: !numpyPython && 'numpy not installable here' }, (t) => {
  const { out } = types();
  const text = fs.readFileSync(path.join(out, 'numpy.d.ts'), 'utf8');
  assert.match(text.split('\n')[0], /stubs: numpy\/__init__\.pyi/);
  // the model again, in a child (the runtime is another Python): counted from the same JSON
  const r = spawnSync(nodeFor({}), ['-e', `
    const { Python } = require('.');
    const { describe } = require('./js/typegen');
    const py = new Python();
    const [m] = describe(py, ['numpy']);
    let fns = 0, precise = 0, params = 0, preciseParams = 0;
    for (const f of m.functions) {
      fns++;
      const ps = f.sigs.flatMap((s) => s.params.filter((p) => p.kind !== 'varkw'));
      const known = ps.filter((p) => p.type.t !== 'any');
      params += ps.length; preciseParams += known.length;
      if (f.sigs.every((s) => s.source === 'stub') && known.length === ps.length && ps.length) precise++;
    }
    console.log(JSON.stringify({ fns, precise, params, preciseParams, bytes: ${text.length} }));`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PYTHON_TS_PYTHON: numpyPython }, timeout: 600000 });
  assert.strictEqual(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').pop());
  t.diagnostic(`numpy: ${s.fns} functions, ${s.precise} (${(100 * s.precise / s.fns).toFixed(0)}%) with every parameter typed from stubs; ${s.preciseParams}/${s.params} parameters (${(100 * s.preciseParams / s.params).toFixed(0)}%) precise; ${(s.bytes / 1024).toFixed(0)} KiB`);
  assert.ok(s.fns > 300, `numpy functions: ${s.fns}`);
  assert.ok(s.preciseParams > 0);
});

const typeshedPython = venvPython('typeshed', ['typeshed_client']);

test('with typeshed bundled in the Python (typeshed_client, mypy or jedi), the standard library gets precise types', { skip: !typeshedPython && 'typeshed_client not installable here' }, () => {
  const dir = workdir('stdlib');
  const out = path.join(dir, 'py-types');
  const r = cli(['types', 'json', 'os.path', 'pathlib', 'datetime', '--python', typeshedPython, '--out', out]);
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
  assert.match(fs.readFileSync(path.join(out, 'json.d.ts'), 'utf8').split('\n')[0], /stubs: json\/__init__\.pyi/);
  const head = `import { Python, kwargs } from 'python-ts';
const py = new Python();
const json = py.import('json');
const osPath = py.import('os.path');
const pathlib = py.import('pathlib');
const datetime = py.import('datetime');
`;
  const good = `${head}
const text: string = json.dumps({ a: 1 }, kwargs({ indent: 2, sort_keys: true }));
const joined: string = osPath.join('a', 'b');
const posix: string = pathlib.Path('/tmp').joinpath('x').as_posix();
const when: Date = datetime.datetime(2020, 1, 2);
const now: Date = datetime.datetime.now();
const span = datetime.timedelta(kwargs({ days: 2 }));
const seconds: number = span.total_seconds();
console.log(JSON.stringify({ text, joined, posix, when: when.toISOString(), now: now instanceof Date, seconds }));
`;
  const built = tsc(dir, { 'good.ts': good }, { emit: true });
  assert.strictEqual(built.status, 0, built.stdout + built.stderr);
  const env = { ...process.env, PYTHON_TS_PYTHON: typeshedPython };
  const run = spawnSync(nodeFor(env), [path.join(dir, 'js', 'good.js')], { cwd: ROOT, encoding: 'utf8', env, timeout: 600000 });
  assert.strictEqual(run.status, 0, run.stdout + run.stderr);
  const got = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.deepStrictEqual({ ...got, when: undefined }, { text: '{\n  "a": 1\n}', joined: 'a/b', posix: '/tmp/x', when: undefined, now: true, seconds: 172800 });
  const misuses = {
    'loads-number.ts': 'json.loads(5);',
    'join-number.ts': "osPath.join('a', 5);",
    'datetime-string.ts': "datetime.datetime('2020', 1, 1);",
    'posix-number.ts': "const n: number = pathlib.Path('/tmp').as_posix();",
    'dumps-keyword.ts': "json.dumps({}, kwargs({ indent: {} }));",
  };
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.ts')) fs.rmSync(path.join(dir, f));
  const files = Object.fromEntries(Object.entries(misuses).map(([name, line]) => [name, `${head}${line}\nexport {};\n`]));
  const bad = tsc(dir, files);
  assert.notStrictEqual(bad.status, 0);
  for (const name of Object.keys(misuses)) {
    assert.match(bad.stdout, new RegExp(`\\b${name.replace(/[.-]/g, '\\$&')}\\(\\d+,\\d+\\): error TS`), `${name} must fail to compile:\n${bad.stdout}`);
  }
});

test('the same module gives the same file on every run (numpy builds __all__ from sets, in hash order)', { skip: !numpyPython && 'numpy not installable here' }, () => {
  const dir = workdir('determinism');
  const texts = ['1', '2'].map((seed) => {
    const out = path.join(dir, seed);
    const r = cli(['types', 'numpy', '--python', numpyPython, '--out', out], { PYTHONHASHSEED: seed });
    assert.strictEqual(r.status, 0, r.stderr);
    return fs.readFileSync(path.join(out, 'numpy.d.ts'), 'utf8');
  });
  assert.ok(texts[0] === texts[1], 'numpy.d.ts differs between two runs');
});

test('the command: unknown modules, no module and bad options are clear errors', () => {
  const out = workdir('errors');
  const missing = cli(['types', 'no_such_module_xyz', '--out', out]);
  assert.strictEqual(missing.status, 1);
  assert.match(missing.stderr, /ModuleNotFoundError: No module named 'no_such_module_xyz'/);
  const none = cli(['types', '--out', out]);
  assert.strictEqual(none.status, 1);
  assert.match(none.stderr, /name at least one module/);
  const bad = cli(['types', 'json', '--bogus']);
  assert.strictEqual(bad.status, 2);
  assert.match(bad.stderr, /unknown option --bogus/);
  const usage = cli([]);
  assert.strictEqual(usage.status, 0);
  assert.match(usage.stderr, /usage: python-ts types/);
});

test('--plugins with no module types every module of the folder; --watch writes them again when a file changes', { timeout: 300000 }, async () => {
  const dir = workdir('watch');
  const plugins = path.join(dir, 'plugins');
  fs.mkdirSync(plugins);
  fs.writeFileSync(path.join(plugins, 'tool.py'), 'def first(x: int) -> int:\n    return x\n');
  const out = path.join(dir, 'types');
  const once = cli(['types', '--plugins', plugins, '--out', out]);
  assert.strictEqual(once.status, 0, once.stderr);
  assert.match(fs.readFileSync(path.join(out, 'tool.d.ts'), 'utf8'), /first\(x: number \| bigint\): number \| bigint;/);
  const { spawn } = require('child_process');
  const child = spawn(nodeFor(process.env), [CLI, 'types', '--plugins', plugins, '--out', out, '--watch'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = null;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.on('exit', (code) => (exited = code));
  // Wait for `ready`, failing at once if the watcher ends (it must keep running).
  const until = (ready) => new Promise((resolve, reject) => {
    const poll = () => {
      if (ready()) resolve();
      else if (exited !== null) reject(new Error(`the watcher ended (${exited}): ${stdout}${stderr}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
  try {
    await until(() => /watching/.test(stdout));
    fs.writeFileSync(path.join(plugins, 'tool.py'), 'def first(x: int) -> int:\n    return x\n\n\ndef second(s: str) -> str:\n    return s\n');
    await until(() => /second\(s: string\): string;/.test(fs.readFileSync(path.join(out, 'tool.d.ts'), 'utf8')));
  } finally {
    child.kill();
  }
});

test('render: unions split at the top level only; names TypeScript reserves are renamed', () => {
  assert.deepStrictEqual(splitUnion('readonly (number | bigint)[] | PyWrapped'), ['readonly (number | bigint)[]', 'PyWrapped']);
  assert.deepStrictEqual(splitUnion('((a0: string) => number | null) & PyWrapped | null'), ['((a0: string) => number | null) & PyWrapped', 'null']);
  const model = {
    name: 'm', doc: null, stub: null, python: '3.x', constants: [],
    functions: [{ name: 'f', doc: 'a */ b', async: false, sigs: [{ source: 'annotations', returns: { t: 'class', module: 'm', name: 'Date' }, params: [{ name: 'new', kind: 'pos', optional: false, type: { t: 'int' } }] }] }],
    classes: [{ name: 'Date', doc: null, ctor: [{ params: [], returns: { t: 'class', module: 'm', name: 'Date' } }], methods: [], statics: [], props: [], attrs: [], members: [], instance: null, callable: false, iterable: true, items: false, async_iterable: false, enum: false }],
  };
  const text = render(model);
  assert.match(text, /export interface Date_ extends PyWrapped \{/);
  assert.match(text, /f\(new_: number \| bigint\): Date_;/);
  assert.match(text, /a \*\\\/ b/);
  assert.match(text, /\[Symbol\.iterator\]\(\): Iterator<any>;/);
});
