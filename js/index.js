'use strict';
/**
 * python-ts: CPython embedded in Node.js.
 *
 * `Python` is the friendly layer over `clib`: wrapped modules and objects whose attributes are
 * read from Python lazily and whose methods call Python, sync or async. `PythonPool` spreads
 * calls over several contexts. `kwargs({...})` and `tuple([...])` mark keyword arguments and
 * tuples.
 * @module python-ts
 */
const clib = require('./native');
const { Python } = require('./python');
const { PythonPool } = require('./pool');
const { callOptions } = require('./internal/args');
// diagnostics_channel: traced calls while anyone subscribes (docs/internals.md).
require('./internal/diagnostics');

const { setRequireBase } = require('./internal/jsproxy');

const { PythonError, kwargs, tuple, jsobject } = clib;

module.exports = { Python, PythonPool, clib, PythonError, kwargs, tuple, callOptions, jsobject, setRequireBase };
