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

/** Options of one `_async` method call, passed as its last argument: `callOptions({ signal })`. */
class CallOptions {
  constructor(options) {
    if (options === null || typeof options !== 'object') throw new TypeError('python-ts: callOptions(options): options must be an Object');
    this.signal = options.signal;
  }
}

function callOptions(options) {
  return new CallOptions(options);
}

/**
 * An `_async` call's arguments split from its options: a trailing `callOptions({...})` or a bare
 * AbortSignal (no Python value can be made of one) is the options, not an argument.
 */
function splitOptions(args) {
  const last = args.length ? args[args.length - 1] : undefined;
  if (last instanceof CallOptions) return [args.slice(0, -1), last];
  if (typeof AbortSignal === 'function' && last instanceof AbortSignal) return [args.slice(0, -1), { signal: last }];
  return [args, undefined];
}

module.exports = { argsOf, kwargsOf, callOptions, splitOptions };
