'use strict';
// What a Python object looks like from JS: raw handles (made by the native side) and wrapped
// objects (Proxies made by the Python class). Nothing here calls Python.
const clib = require('../native');

/** The protocol table the native side is built with (src/env/protocol.rs): one source of codes. */
const PROTOCOL = clib._protocol;
const HANDLE_TYPE = PROTOCOL.names.HANDLE_TYPE;
/** Marks wrapped objects; registered, so the native serializer recognises them too. */
const WRAPPED = Symbol.for(PROTOCOL.names.WRAPPED_SYMBOL);

/** @returns {boolean} whether `x` is a handle made by the native side. */
function isHandle(x) {
  return x !== null && typeof x === 'object' && clib._internals.is_pyobject(x);
}

/** The handle behind a handle, wrapped object or wrapped callable; otherwise undefined. */
function handleOf(x) {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return undefined;
  const w = x[WRAPPED];
  if (w) return w.handle();
  if (typeof x === 'object' && clib._internals.is_pyobject(x)) return x;
  return undefined;
}

/** Whether `x` looks like a handle (cheap check before the native one). */
function looksLikeHandle(x) {
  return x !== null && typeof x === 'object' && x.type === HANDLE_TYPE && clib._internals.is_pyobject(x);
}

module.exports = { PROTOCOL, HANDLE_TYPE, WRAPPED, isHandle, handleOf, looksLikeHandle };
