'use strict';
// Loads the native addon: build/Release/python_ts.node (where node-gyp puts it), or the file
// named by PYTHON_TS_ADDON (a debug-assertions build, for instance).
const path = require('path');

const file = process.env.PYTHON_TS_ADDON || path.join(__dirname, '..', 'build', 'Release', 'python_ts.node');
module.exports = require(path.resolve(file));
