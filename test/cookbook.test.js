'use strict';
// docs/cookbook.md: every example runs as written, in a venv with the packages they use (made
// once with pip in test/.tmp), and prints what its `// →` comment says.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { runNodeAsync, venvPython, ROOT } = require('./helpers');

const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cookbook.md'), 'utf8');
const examples = [];
for (const m of doc.matchAll(/^## (.+)\n[\s\S]*?```js\n([\s\S]*?)```/gm)) {
  const expected = /\/\/ → (.*)\n?$/.exec(m[2]);
  examples.push({ title: m[1], source: m[2], expected: expected && expected[1] });
}

test('the cookbook has twelve examples, each with its expected output', () => {
  assert.strictEqual(examples.length, 12);
  for (const e of examples) assert.ok(e.expected, `${e.title}: no // → line`);
});

const python = venvPython('cookbook', ['numpy', 'pandas', 'scikit-learn', 'pillow', 'pydantic']);
for (const e of examples) {
  test(`cookbook: ${e.title}`, { skip: !python && 'the packages could not be installed into a venv here (pip reached no registry)' }, async () => {
    const r = await runNodeAsync(e.source, { env: { PYTHON_TS_PYTHON: python }, timeout: 120000 });
    assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.strictEqual(r.stdout.trim().split('\n').pop(), e.expected);
  });
}
