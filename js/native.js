'use strict';
// Loads the native addon (build/Release/python_ts.node, where node-gyp puts it).
const path = require('path');

module.exports = require(path.join(__dirname, '..', 'build', 'Release', 'python_ts.node'));
