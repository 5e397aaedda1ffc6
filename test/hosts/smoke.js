'use strict';
// A host smoke test: the addon's main paths in one script any N-API host can run as a file
// (node, bun, deno run -A). Prints one JSON line and exits 0 only when every check held.
const assert = require('assert');
const path = require('path');
const { Python, PythonError, clib, kwargs } = require(path.join(__dirname, '..', '..'));

const checks = {};
const check = (name, f) => {
  try {
    const r = f();
    checks[name] = r === undefined ? true : r;
  } catch (e) {
    checks[name] = `FAILED: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`;
  }
};

const py = new Python();
check('eval', () => assert.strictEqual(py.eval('sum(range(10))'), 45));
check('strings of every plane', () => {
  const s = 'aé€😀\u{10FFFF}'.repeat(300);
  assert.strictEqual(py.import('builtins').str(s), s);
});
check('containers', () => assert.deepStrictEqual(py.eval('{"a": [1, 2.5, None, True], "b": {"c": "d"}}'), { a: [1, 2.5, null, true], b: { c: 'd' } }));
check('bigint', () => assert.strictEqual(py.eval('2**100'), 2n ** 100n));
check('module call and kwargs', () => {
  const json = py.import('json');
  assert.strictEqual(json.dumps({ b: 1, a: 2 }, kwargs({ sort_keys: true })), '{"a": 2, "b": 1}');
});
check('handles', () => {
  const d = py.eval('__import__("collections").deque([1, 2])');
  d.append(3);
  assert.strictEqual(py.import('builtins').len(d), 3);
});
check('errors', () => assert.throws(() => py.eval('1/0'), (e) => e instanceof PythonError && e.name === 'ZeroDivisionError'));
check('callbacks', () => {
  py.exec('def twice(f, x):\n    return f(f(x))');
  assert.strictEqual(py.import('__main__').twice((x) => x * 3, 2), 18);
});
check('buffers', () => {
  assert.strictEqual(Buffer.from(clib._eval('b"abc"')).toString(), 'abc');
  const arr = py.eval('__import__("array").array("d", [1.5, 2.5])');
  const v = py.view(arr);
  v.data[0] = 4;
  assert.deepStrictEqual(arr.tolist(), [4, 2.5]);
});

(async () => {
  try {
    const t0 = Date.now();
    const time = py.import('time');
    await Promise.all([1, 2, 3, 4].map(() => time.sleep_async(0.2)));
    checks['async calls overlap'] = Date.now() - t0 < 700 ? true : `FAILED: ${Date.now() - t0} ms`;
    py.exec('import asyncio\nasync def later(x):\n    await asyncio.sleep(0.01)\n    return x + 1');
    checks.coroutine = (await py.import('__main__').later_async(41)) === 42 || 'FAILED';
    const ctx = new Python({ context: true });
    ctx.exec('x = 7');
    checks.context = (ctx.eval('x') === 7 && py.eval('"x" in globals()') === false) || 'FAILED';
    ctx.delete();
  } catch (e) {
    checks.async = `FAILED: ${e && e.stack}`;
  }
  const failed = Object.entries(checks).filter(([, v]) => v !== true);
  console.log(JSON.stringify({ host: process.versions.bun ? `bun ${process.versions.bun}` : process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`, checks: Object.keys(checks).length, failed }));
  process.exitCode = failed.length ? 1 : 0;
})();
