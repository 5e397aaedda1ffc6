'use strict';
// JS → Python arguments as the Python class passes them. Wrapped objects need no translation:
// the native serializer knows a wrapper by its registered symbol at any depth — twice in one
// call, inside a Map, a Set, a class instance or kwargs({...}) — and passes the Python object.

function argsOf(args) {
  if (args === undefined || args === null) return [];
  if (!Array.isArray(args)) throw new TypeError('python-ts: args must be an Array');
  return args;
}

function kwargsOf(kw) {
  if (kw === undefined || kw === null) return null;
  if (typeof kw !== 'object' || Array.isArray(kw)) throw new TypeError('python-ts: kwargs must be an Object');
  return kw;
}

module.exports = { argsOf, kwargsOf };
