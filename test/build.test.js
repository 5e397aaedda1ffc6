'use strict';
// The build: the addon links no libpython and registers through N-API's module symbols.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('child_process');
const { ADDON } = require('./helpers');

test('the addon links no libpython: no undefined Py* symbols', () => {
  const r = spawnSync('nm', ['-D', '--undefined-only', ADDON], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  const py = r.stdout.split('\n').filter((l) => / _?Py/.test(l));
  assert.deepStrictEqual(py, []);
  const ldd = spawnSync('ldd', [ADDON], { encoding: 'utf8' });
  assert.doesNotMatch(ldd.stdout, /libpython/);
});

test('the addon exports the N-API module symbols, not a legacy constructor', () => {
  const r = spawnSync('nm', ['-D', '--defined-only', ADDON], { encoding: 'utf8' });
  assert.match(r.stdout, / T napi_register_module_v1\b/);
  assert.match(r.stdout, / T node_api_module_get_api_version_v1\b/);
});
