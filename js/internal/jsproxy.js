'use strict';
// Python uses JS: the dispatcher behind each Python `python_ts.JsProxy`. The native serializer
// calls the hook installed here (`clib._set_js_proxy`) for a JS object that goes to Python live
// — a class instance, a Promise, a `jsobject(x)` — and hands Python a callable of the returned
// dispatcher; every operation of the proxy is one call of it, on this JS thread (from another
// Python thread the call hops here, as any JS function's does). Results: primitives as values,
// objects as markers that become proxies again. Internal modules never import python.js: the
// instance's `wrap` (Python handles → wrapped objects, callables → JS functions) is passed in.
const path = require('path');
const util = require('util');
const { createRequire } = require('module');
const clib = require('../native');
const { handleOf } = require('./handles');

let wrapFor = (v) => v;
/** One dispatcher per JS object (no `this`): the same object gives the same proxy state. */
const dispatchers = new WeakMap();
const ids = new WeakMap();
let nextId = 1;

const isObject = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
/**
 * A value going back to Python: objects live, as proxies. A Promise is Python's to await from
 * here on: its rejection is not reported as unhandled while Python has not awaited it yet.
 */
const out = (v) => {
  if (!isObject(v) || handleOf(v)) return v; // a Python object (handle or wrapped) is itself
  if (v instanceof Promise) v.catch(() => {});
  return clib.jsobject(v);
};
/**
 * A value read from an object (`owner`) or returned by a call (no owner) as it goes back to
 * Python: a function read from an object is bound to it (`app.log` calls with `this === app`).
 */
const resultOf = (v, owner) => (typeof v === 'function' && owner !== undefined && !handleOf(v) ? clib.jsobject(v, owner) : out(v));
const args = (a) => (Array.isArray(a) ? a.map((x) => wrapFor(x)) : []);

function sizeOf(t) {
  if (typeof t.length === 'number') return t.length;
  if (typeof t.size === 'number') return t.size;
  return null;
}

function dispatcherOf(target, thisArg) {
  if (thisArg === undefined) {
    const known = dispatchers.get(target);
    if (known) return known;
  }
  const d = function dispatch(op, a, b) {
    switch (op) {
      case 'self': return target;
      case 'get': return resultOf(target[a], target);
      case 'set': target[a] = wrapFor(b); return null;
      case 'delete': return delete target[a];
      case 'call': return out(Reflect.apply(target, thisArg, args(a)));
      case 'new': return out(Reflect.construct(target, args(a)));
      case 'getitem': return out(target instanceof Map ? target.get(a) : target[a]);
      case 'setitem':
        if (target instanceof Map) target.set(a, wrapFor(b));
        else target[a] = wrapFor(b);
        return null;
      case 'delitem': return target instanceof Map ? target.delete(a) : delete target[a];
      case 'len': return sizeOf(target);
      case 'iter': {
        if (typeof target[Symbol.iterator] !== 'function') throw new TypeError(`${util.inspect(target, { depth: 0 })} is not iterable`);
        return clib.jsobject(target[Symbol.iterator]());
      }
      case 'next': {
        const r = target.next();
        return [Boolean(r.done), out(r.value)];
      }
      case 'has':
        if (target instanceof Map || target instanceof Set) return target.has(a);
        if (Array.isArray(target) || typeof target === 'string') return target.includes(a);
        return (typeof a === 'string' || typeof a === 'number') && a in target;
      case 'bool': {
        const n = sizeOf(target);
        return n === null ? true : n !== 0;
      }
      case 'repr': return util.inspect(target, { depth: 1, breakLength: Infinity });
      case 'str': return String(target);
      case 'is': return a === target;
      case 'id': {
        let id = ids.get(target);
        if (id === undefined) ids.set(target, (id = nextId++));
        return id;
      }
      case 'topy': return target;
      case 'then': {
        const ok = wrapFor(a);
        const bad = wrapFor(b);
        Promise.resolve(target).then((v) => ok(out(v)), (e) => bad(out(e)));
        return null;
      }
      default: throw new TypeError(`python-ts: unknown proxy operation ${op}`);
    }
  };
  if (thisArg === undefined) dispatchers.set(target, d);
  return d;
}

let base = process.cwd();
/** `require` for Python: builtins, and packages resolved from the base folder (the process's working directory unless set). */
function requireForPython(name) {
  return clib.jsobject(createRequire(path.join(base, 'noop.js'))(name));
}

/**
 * Install the hook in this JS thread; `wrap` turns Python handles into wrapped objects. The
 * native proxy reads attributes and calls functions itself on this thread: it wraps the
 * arguments that are objects with `wrap` and hands what it gets back to `resultOf`.
 */
function install(wrap) {
  wrapFor = wrap;
  clib._set_js_proxy(dispatcherOf, (v) => wrapFor(v), resultOf);
}

function setRequireBase(dir) {
  base = path.resolve(String(dir));
}

module.exports = { install, requireForPython, setRequireBase };
