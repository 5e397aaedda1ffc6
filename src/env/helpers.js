// The JS helpers the serializer calls (one per environment), made from the protocol table `P`
// (src/env/protocol.rs) and the native `reprNative` getter of handles.
(function (reprNative, P) {
  const { NUMBER, STRING, TRUE, FALSE, NONE, ARRAY, SEEN, OWN, OTHER } = P.record;
  class PyObjectHandle {
    constructor(value, pytype, time, index, state) {
      this.type = P.names.HANDLE_TYPE;
      this.value = value;
      this.pytype = pytype;
      this.time = time;
      this.index = index;
      if (state !== undefined) this.state = state;
    }
    /** `repr(obj)`, computed when read. */
    get repr() { return reprNative(this); }
    /** util.inspect / console.log show the object's repr(). */
    [Symbol.for('nodejs.util.inspect.custom')]() { try { return `[PyObject ${this.pytype}: ${this.repr}]`; } catch (e) { return `[PyObject ${this.pytype}]`; } }
  }
  /** Objects made by kwargs({...}) (also type-tagged natively). */
  class Kwargs {}
  /** Objects made by tuple([...]) (also type-tagged natively). */
  class Tuple {}
  /** Context objects (also type-tagged natively). */
  class PyContext {}
  /** `jsobject(x)`: `x` (with `thisArg` for a method) goes to Python as a live proxy. */
  class JsObject { constructor(value, thisArg) { this.value = value; this.thisArg = thisArg; } }
  // Every key is checked before any value is read: a getter runs once per conversion, so a
  // refusal after reading values (a NUL in a later key) would make the fallback read them again.
  const objectParts = (o) => {
    const ks = Object.keys(o);
    const n = ks.length;
    for (let i = 0; i < n; i++) if (ks[i].indexOf('\0') !== -1) return null;
    const vs = new Array(n);
    let numeric = true;
    for (let i = 0; i < n; i++) {
      const v = o[ks[i]];
      vs[i] = v;
      if (typeof v !== 'number') numeric = false;
    }
    return [ks.join('\0'), numeric ? Float64Array.from(vs) : vs];
  };
  const WRAPPED = Symbol.for(P.names.WRAPPED_SYMBOL);
  const define = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  // Objects that are not plain: boxed primitives convert as their primitive, weak collections
  // have no contents to give.
  const special = (o) => {
    if (o instanceof Number || o instanceof String || o instanceof Boolean || o instanceof BigInt || o instanceof Symbol) return P.inspect.BOXED;
    if (o instanceof WeakMap || o instanceof WeakSet || (typeof WeakRef === 'function' && o instanceof WeakRef)
      || (typeof FinalizationRegistry === 'function' && o instanceof FinalizationRegistry)) return P.inspect.WEAK;
    return 0;
  };
  return {
    makeHandle(value, pytype, time, index, state) { return new PyObjectHandle(value, pytype, time, index, state); },
    // Keys copied as own data properties: `o[k] = v` with k '__proto__' set a prototype instead.
    makeTuple(items) { const t = new Tuple(); Object.defineProperty(t, 'items', { value: Array.from(items), enumerable: true }); return t; },
    makeKwargs(src) { const k = new Kwargs(); if (src) for (const key of Object.keys(src)) define(k, key, src[key]); return k; },
    // The handle of a wrapped object (a Proxy over a function), or undefined for a plain function.
    wrappedHandle(f) { let w; try { w = f[WRAPPED]; } catch (e) { return undefined; } return w && typeof w.handle === 'function' ? w.handle() : undefined; },
    unbox(o) { return o.valueOf(); },
    arrayFrom(o) { return Array.prototype.slice.call(o); },
    // Text of any thrown value (String() works for symbols, where coercion throws).
    describe(v) { try { return String(v); } catch (e) { return '<unprintable JavaScript value>'; } },
    makeContext() { return new PyContext(); },
    makeJsObject(value, thisArg) { return new JsObject(value, thisArg); },
    // What the serializer needs to know of an object, in one call: a memo hit (its index), a
    // kind (a negative code), or a plain object's parts [keys joined by NUL, values]. Containers
    // are entered in the memo under `next`, the index the native side gives the Python object.
    inspect(o, memo, next) {
      const hit = memo.get(o);
      if (hit !== undefined) return hit;
      if (Array.isArray(o)) { memo.set(o, next); return P.inspect.ARRAY; }
      if (ArrayBuffer.isView(o)) return o instanceof DataView ? P.inspect.DATA_VIEW : P.inspect.TYPED_ARRAY;
      if (o instanceof ArrayBuffer) return P.inspect.ARRAY_BUFFER;
      if (o instanceof Date) return P.inspect.DATE;
      if (o instanceof Map) { memo.set(o, next); return P.inspect.MAP; }
      if (o instanceof Set) { memo.set(o, next); return P.inspect.SET; }
      if (o instanceof Promise) return P.inspect.PROMISE;
      if (o instanceof Kwargs) return P.inspect.KWARGS;
      if (o instanceof PyContext) return P.inspect.CONTEXT;
      if (o instanceof PyObjectHandle) return P.inspect.HANDLE;
      if (o instanceof Tuple) return P.inspect.TUPLE;
      if (o instanceof JsObject) return P.inspect.JS_OBJECT;
      // A copy of a handle ({...h}, structuredClone(h)) is no handle, and no dict either.
      if (o.type === P.names.HANDLE_TYPE) return P.inspect.HANDLE_COPY;
      const proto = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) {
        const k = special(o);
        if (k) return k;
        memo.set(o, next);
        return P.inspect.INSTANCE;
      }
      memo.set(o, next);
      return objectParts(o) || P.inspect.OBJECT_BY_KEY;
    },
    Map, JSON,
    mapEntries(m) { const a = []; for (const [k, v] of Map.prototype.entries.call(m)) a.push(k, v); return a; },
    setValues(s) { return Array.from(Set.prototype.values.call(s)); },
    memoNew() { return new Map(); },
    memoSet(m, k, v) { m.set(k, v); },
    // Bulk paths of the serializer: one JIT-compiled loop instead of one N-API call per element.
    numbersToF64(a) {
      const n = a.length;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = a[i];
        if (typeof v !== 'number') return null;
        out[i] = v;
      }
      return out;
    },
    // An Array of same-shaped plain records (the everyday payload) in one call, as columns:
    // [keys joined by NUL, kinds, numbers, strings joined, others]. Per value slot, record-major,
    // a kind of P.record: NUMBER, STRING (its length in numbers), TRUE, FALSE, NONE
    // (null/undefined), ARRAY (its length, then its items, each a primitive or an OTHER), SEEN
    // (an Array already converted: its memo index), OTHER (any other value, taken from `others`
    // in order and converted by the native side's general path after the columns). Records enter the memo at base.., their
    // Arrays after them in this order, as the native side makes them. null when the items are
    // not records of one shape — decided from keys alone, before any value is read, so that no
    // getter runs twice (the general path reads them then).
    recordsOf(a, memo, base) {
      const n = a.length;
      const first = a[0];
      if (first === null || typeof first !== 'object' || Object.getPrototypeOf(first) !== Object.prototype) return null;
      const ks = Object.keys(first);
      const k = ks.length;
      if (k === 0 || k > 64) return null;
      for (let j = 0; j < k; j++) if (ks[j].indexOf('\0') !== -1) return null;
      const rows = new Array(n);
      const fail = (i) => { for (let e = 0; e < i; e++) memo.delete(rows[e]); return null; };
      for (let i = 0; i < n; i++) {
        const o = a[i];
        // A record seen before (twice in the Array) keeps its identity on the general path.
        if (o === null || typeof o !== 'object' || Object.getPrototypeOf(o) !== Object.prototype || memo.has(o)) return fail(i);
        const oks = Object.keys(o);
        if (oks.length !== k) return fail(i);
        for (let j = 0; j < k; j++) if (oks[j] !== ks[j]) return fail(i);
        rows[i] = o;
        memo.set(o, base + i);
      }
      const kinds = [];
      const nums = [];
      const strs = [];
      const others = [];
      let next = base + n;
      const item = (x) => {
        const tx = typeof x;
        if (tx === 'number') { kinds.push(NUMBER); nums.push(x); }
        else if (tx === 'string') { kinds.push(STRING); nums.push(x.length); strs.push(x); }
        else if (tx === 'boolean') { kinds.push(x ? TRUE : FALSE); nums.push(0); }
        else if (x === null || x === undefined) { kinds.push(NONE); nums.push(0); }
        else { kinds.push(OTHER); nums.push(0); others.push(x); }
      };
      for (let i = 0; i < n; i++) {
        const o = rows[i];
        for (let j = 0; j < k; j++) {
          const v = o[ks[j]];
          if (Array.isArray(v)) {
            const seen = memo.get(v);
            if (seen !== undefined) { kinds.push(SEEN); nums.push(seen); continue; }
            const m = v.length;
            if (m > 64) { kinds.push(OTHER); nums.push(0); others.push(v); continue; }
            memo.set(v, next++);
            kinds.push(ARRAY); nums.push(m);
            for (let e = 0; e < m; e++) item(v[e]);
          } else item(v);
        }
      }
      return [ks.join('\0'), Uint8Array.from(kinds), Float64Array.from(nums), strs.join(''), others];
    },
    // Records from columns (the native side's mirror of recordsOf): kinds of P.record — STRING
    // slices its length from the joined strings, ARRAY is its length then its items, OWN is a
    // value of its own (from own, in order).
    makeRecords(keys, n, kinds, nums, strs, own) {
      const ks = keys.split('\0');
      const k = ks.length;
      const out = new Array(n);
      let at = 0;
      let so = 0;
      let oi = 0;
      const value = () => {
        const kind = kinds[at];
        const x = nums[at];
        at++;
        switch (kind) {
          case NUMBER: return x;
          case STRING: { const s = strs.slice(so, so + x); so += x; return s; }
          case TRUE: return true;
          case FALSE: return false;
          case NONE: return null;
          case ARRAY: { const arr = new Array(x); for (let e = 0; e < x; e++) arr[e] = value(); return arr; }
          case OWN: return own[oi++];
          default: throw new Error('python-ts: record columns out of step');
        }
      };
      const proto = ks.indexOf('__proto__') !== -1;
      for (let i = 0; i < n; i++) {
        const o = {};
        if (proto) for (let j = 0; j < k; j++) define(o, ks[j], value());
        else for (let j = 0; j < k; j++) o[ks[j]] = value();
        out[i] = o;
      }
      return out;
    },
    f64ToArray(f) {
      const n = f.length;
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = f[i];
      return out;
    },
    partsObject(keys, vs) {
      const ks = keys.split('\0');
      const o = {};
      for (let i = 0; i < ks.length; i++) {
        const k = ks[i];
        if (k === '__proto__') Object.defineProperty(o, k, { value: vs[i], writable: true, enumerable: true, configurable: true });
        else o[k] = vs[i];
      }
      return o;
    },
  };
})
