'use strict';
/**
 * python-ts: CPython embedded in Node.js.
 * @module python-ts
 */
const clib = require('./native');

module.exports = { clib, PythonError: clib.PythonError };
