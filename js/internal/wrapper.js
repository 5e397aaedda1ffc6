'use strict';
// Wrapped objects: the Proxy that stands for a Python object in the Python class.
//
// The `get` trap resolves a name in one fixed order — symbols (JS protocols) → JS probes →
// integer-like keys (items) → Python attributes — so a JS protocol never shadows a Python
// attribute name and a new protocol is one entry here. Attribute reads are live; a name seen
// callable is kept as a callable wrapper on this wrapper (each call still looks the method up in
// Python). Internal modules never import python.js: the instance is passed in.
const clib = require('../native');
const { PROTOCOL, HANDLE_TYPE, WRAPPED } = require('./handles');

const { MISSING, CALLABLE, VALUE } = PROTOCOL.attribute;

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Names JS itself probes on objects; answered on the JS side, never as a Python getattr. */
const JS_PROBES = new Set(['then', 'toJSON', 'constructor', 'inspect', 'asymmetricMatch', '$$typeof', 'nodeType', 'toString', 'valueOf']);

/** An integer-like property key ('3', '-1'): no Python attribute can be spelled so. */
const INDEX = /^-?(?:0|[1-9]\d{0,15})$/;

/**
 * The name resolution shared by both kinds of wrapper: `self` is what JS holds (the Proxy, or
 * the function of a callable attribute), `getHandle()` its Python object.
 */
function resolver(py, getHandle, self) {
  const cache = new Map();
  const ctx = () => py._ctx;
  const asyncMethod = (name) => {
    const key = `${name}\0async`;
    let f = cache.get(key);
    if (!f) {
      const parent = getHandle();
      f = (...args) => py._callMethod(parent, name, args, true);
      Object.defineProperty(f, 'name', { value: `${name}_async` });
      cache.set(key, f);
    }
    return f;
  };
  const attribute = (name) => {
    const known = cache.get(name);
    if (known) return known;
    const h = getHandle();
    const [kind, value] = clib._getattr(h, name, ctx(), false);
    if (kind === VALUE) return py._wrap(value);
    if (kind === CALLABLE) {
      const w = callableAttribute(py, h, name);
      cache.set(name, w);
      return w;
    }
    if (name.length > 6 && name.endsWith('_async')) {
      const base = name.slice(0, -6);
      if (clib._getattr(h, base, ctx(), false)[0] === CALLABLE) return asyncMethod(base);
    }
    return undefined;
  };
  const repr = () => {
    try {
      return getHandle().repr;
    } catch (e) {
      return '<repr failed>';
    }
  };
  const str = () => py._callMethod(getHandle(), '__str__', [], false);
  const state = { handle: getHandle, py };
  // An awaitable (a coroutine from calling an `async def` without `_async`) is a thenable: `await`
  // runs it once on the interpreter's loop, as `_async` does; anything else is no thenable.
  // (Whether it is awaitable is asked of Python once per wrapper: JS probes `then` on every
  // Promise resolution with it.)
  let awaited = null;
  let awaitable;
  const thenOf = () => {
    if (awaitable === undefined) awaitable = py._helper('is_awaitable', [getHandle()]);
    if (!awaitable) return undefined;
    return (onFulfilled, onRejected) => {
      if (!awaited) awaited = py.call_async(py._support(), 'run_awaitable', [getHandle()]);
      return awaited.then(onFulfilled, onRejected);
    };
  };
  return {
    cache,
    repr,
    attribute,
    get(prop) {
      // A name already seen callable (only Python attributes are cached — never a symbol, a
      // probe or an index): one Map lookup on the hot path of `m.add(1, 2)`.
      const known = cache.get(prop);
      if (known !== undefined) return known;
      if (typeof prop === 'symbol') {
        switch (prop) {
          case WRAPPED: return state;
          case dispose: return () => py.gc(getHandle());
          case inspectCustom: return () => repr();
          case Symbol.toPrimitive: return () => str();
          case Symbol.iterator: return () => py._iterate(getHandle());
          case Symbol.asyncIterator: return () => py._aiterate(getHandle());
          default: return undefined;
        }
      }
      if (prop === '__wrapper__') return getHandle();
      if (prop === '__refresh__') return () => { cache.clear(); return self(); };
      if (JS_PROBES.has(prop)) {
        if (prop === 'toJSON') return () => { const h = getHandle(); return { type: HANDLE_TYPE, value: h.value, pytype: h.pytype }; };
        if (prop === 'toString') return () => str();
        if (prop === 'constructor') return Object;
        if (prop === 'then') return thenOf();
        return undefined;
      }
      // A sequence's `length` is its len(), read each time (unless Python has that name): one
      // native call, which measures the built-in sequences without calling Python.
      if (prop === 'length') {
        const n = clib._seq_len(getHandle(), ctx());
        if (n !== null) return n;
      }
      if (INDEX.test(prop)) return py.getitem(self(), Number(prop));
      const v = attribute(prop);
      // A wrapped object answers `.unwrap()` like a handle does (unless Python has that name).
      if (v === undefined && prop === 'unwrap') return () => self();
      // A callable handed to JS APIs that use Function.prototype (EventEmitter: handler.apply).
      if (v === undefined && (prop === 'apply' || prop === 'call' || prop === 'bind') && typeof self() === 'function') return Function.prototype[prop];
      return v;
    },
    set(prop, value) {
      if (typeof prop === 'symbol') return false;
      if (INDEX.test(prop)) {
        py.setitem(self(), Number(prop), value);
        return true;
      }
      cache.delete(prop);
      clib._setattr(getHandle(), prop, value, ctx());
      return true;
    },
    has(prop) {
      if (typeof prop === 'symbol') return prop === WRAPPED || prop === Symbol.iterator || prop === Symbol.asyncIterator;
      return clib._getattr(getHandle(), prop, ctx(), false)[0] !== MISSING;
    },
  };
}

/**
 * Make the Proxy for a Python object.
 * @param py the Python instance
 * @param getHandle () => handle
 * @param call (args, isAsync) => result: what calling the wrapper does
 */
function makeWrapper(py, getHandle, call) {
  let proxy;
  const r = resolver(py, getHandle, () => proxy);
  // util.inspect looks at a Proxy's target, not through its traps: give the target the inspector.
  const target = () => {};
  Object.defineProperty(target, inspectCustom, { value: () => r.repr(), configurable: true });
  proxy = new Proxy(target, {
    get: (_t, prop) => r.get(prop),
    set: (_t, prop, value) => r.set(prop, value),
    has: (_t, prop) => r.has(prop),
    ownKeys: () => clib._attr_names(getHandle(), py._ctx),
    getOwnPropertyDescriptor(_t, prop) {
      if (typeof prop === 'symbol') return undefined;
      return { configurable: true, enumerable: true, get: () => r.attribute(prop) };
    },
    apply: (_t, _this, args) => call(args, false),
    defineProperty: () => false,
    deleteProperty: () => false,
    getPrototypeOf: () => Object.prototype,
  });
  return proxy;
}

/** Function.prototype's members a callable attribute still answers. */
const FUNCTION_MEMBERS = new Set(['call', 'apply', 'bind']);

/**
 * A callable attribute (a method, function, class or builtin read from `parent`): a real JS
 * function, so calling it costs no Proxy trap — it calls `parent.name(...)` in one native call —
 * whose prototype is a Proxy that resolves the callable's own Python attributes
 * (`datetime.datetime.now`, `Config.LIMIT`, `Color.RED.value`) and assignments to them.
 */
function callableAttribute(py, parent, name) {
  const getHandle = () => clib._getattr(parent, name, py._ctx, true)[1];
  // A native function bound to `parent` and `name`: a call reads only its own arguments (no
  // handle check, method-name string or arguments Array on the way); object results come back
  // through the instance's wrapping.
  const f = clib._method(parent, name, py._ctx, py._wrapResult);
  const r = resolver(py, getHandle, () => f);
  const proto = new Proxy({}, {
    get(_t, prop) {
      if (typeof prop === 'string' && FUNCTION_MEMBERS.has(prop)) return Function.prototype[prop];
      return r.get(prop);
    },
    set: (_t, prop, value) => r.set(prop, value),
    has: (_t, prop) => r.has(prop),
  });
  // Without own `name` and `length`, those names resolve in Python too (`Color.RED.name`).
  delete f.name;
  delete f.length;
  Object.setPrototypeOf(f, proto);
  return f;
}

/** The wrapper of an object behind a handle (calling it calls the object). */
function wrapHandle(py, handle) {
  return makeWrapper(py, () => handle, (args, isAsync) => py._callMethod(handle, null, args, isAsync));
}

/** Whether `v` (an object that is not a handle) is a converted container whose items may hold handles. */
function walkable(v) {
  return !(Buffer.isBuffer(v) || v instanceof Date || ArrayBuffer.isView(v) || v instanceof ArrayBuffer);
}

module.exports = { makeWrapper, wrapHandle, walkable, INDEX };
