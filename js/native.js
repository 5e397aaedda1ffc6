'use strict';
// Loads the native addon: a prebuilt binary for this platform, else the source build
// (js/internal/binding.js says where each is looked for).
const { addonPath } = require('./internal/binding');

module.exports = require(addonPath());
