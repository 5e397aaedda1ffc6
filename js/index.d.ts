// Type definitions for python-ts.

// `Symbol.dispose` and `Symbol.asyncDispose` (ES2026, TypeScript's `esnext.disposable` lib),
// declared here so a project on its target's default lib compiles these typings; identical to
// the lib's declarations where it has them.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

/** A Python object with no plain JS form, as the native side hands it out. */
export interface PyHandle {
  readonly type: 'python-ts/PyObject*';
  /** The object's address as a decimal string (display and `clib.objects` lookups only). */
  readonly value: string;
  /** `repr(obj)`, computed when read. */
  readonly repr: string;
  /** `type(obj).__name__` */
  readonly pytype: string;
  readonly time: number;
  readonly index: number;
  /** The handle's context; undefined for the main context. */
  readonly state?: PyContext;

}

/** A sub-interpreter context. */
export interface PyContext {
  readonly type: 'python-ts/PyThreadState*';
  readonly state: string;
  readonly main: boolean;
  readonly time: number;
  readonly index: number;
  /** Whether the context has a GIL of its own (CPython 3.13+, `{ ownGil: true }`). */
  readonly ownGil: boolean;
}

/** The main context sentinel: `{}`, `null` or omitted. */
export type ContextArg = PyContext | Record<string, never> | null | undefined;

/**
 * Keyword arguments, made by `kwargs({...})`; the last argument of a call. `T` is the object's
 * type: generated module types (`python-ts types`) say which keywords a function takes.
 */
export interface Kwargs<T = Record<string, any>> {
  readonly __kwargs: unique symbol;
  readonly __keywords?: T;
}

/** A Python tuple, made by `tuple([...])` (an Array is a list). */
export interface PyTuple {
  readonly __tuple: unique symbol;
  readonly items: readonly unknown[];
}

/**
 * What every wrapped Python object has, whatever its type: the base of the interfaces that
 * `python-ts types` generates for Python classes and modules.
 */
export interface PyWrapped {
  readonly __wrapper__: PyHandle;
  __refresh__(): this;
  unwrap(): this;
  [Symbol.dispose](): void;
  /** `str(obj)`. */
  [Symbol.toPrimitive](hint: string): string;
}

/**
 * The Python modules typed by `python-ts types`: each generated .d.ts adds its module here, and
 * `py.import(name)` of a module named here has its type.
 */
export interface PythonModules {}

/**
 * A wrapped Python object: attributes read Python values, methods call Python (`name()` sync,
 * `name_async()` as a Promise). A trailing `kwargs({...})` gives keyword arguments.
 */
export type PyObject = {
  readonly __wrapper__: PyHandle;
  __refresh__(): PyObject;
  /** A wrapped object is its own wrapper (so seed-style `.unwrap()` chains still run). */
  unwrap(): PyObject;
  [Symbol.dispose](): void;
  /** `iter(obj)`, lazily. */
  [Symbol.iterator](): Iterator<any>;
  /** Async iterables (and sync ones), each step off the JS thread. */
  [Symbol.asyncIterator](): AsyncIterator<any>;
  /** `str(obj)`. */
  [Symbol.toPrimitive](hint: string): string;
  [name: string]: any;
  [index: number]: any;
} & ((...args: any[]) => any);

export type NodeCallback<T = any> = (err: PythonError | Error | null, result?: T) => void;

export declare class PythonError extends Error {
  /** `type(e).__name__` */
  name: string;
  /** `"{name}: {str(e)}"` */
  message: string;
  /** Python's formatted traceback, chained causes included. */
  traceback: string;
  /** `"{module}.{qualname}"` of the type, or the bare name for builtins. */
  pyType: string;
  /** The exception object, wrapped (`e.pyException.args`, pydantic's `e.pyException.errors()`). */
  readonly pyException?: PyObject;
  /** The exception object as a raw handle. */
  readonly pyExceptionHandle?: PyHandle;
}

export interface PythonOptions {
  /** A Python executable, its shared library, or the folder that holds it. */
  runtime_path?: string;
  /** A folder put first on `sys.path`. */
  plugins_path?: string;
  /** `true`: a sub-interpreter of its own; `'isolated'`: one with its own GIL. */
  context?: boolean | 'isolated';
  /** Log each clib call on stderr. */
  debug?: boolean;
}

export interface BufferView {
  data: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
  shape: number[];
  strides: number[];
  format: string;
  readonly: boolean;
  /** The data is a copy (non-contiguous, unaligned or other-byte-order data, or no external memory). */
  copied: boolean;
}

/** An AbortSignal (structurally: the typings need no DOM or Node lib). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface AsyncOptions {
  /** Aborting rejects with an AbortError and cancels the call in Python. */
  signal?: AbortSignalLike;
}

export declare class Python {
  constructor(options?: PythonOptions);
  /** The clib context of this instance (`{}` for the main interpreter). */
  readonly context: PyContext | Record<string, never>;
  readonly ownContext: boolean;
  import<K extends keyof PythonModules>(name: K): PythonModules[K];
  import<T = PyObject>(name: string): T;
  unwrap<T = PyObject>(handle: PyHandle | PyWrapped): T;
  /** `obj.method(*args, **kwargs)`; keyword arguments as a plain object or `kwargs({...})` (also as the last of `args`). */
  call<T = any>(obj: PyHandle | PyWrapped, method?: string | null, args?: any[], kwargs?: Record<string, any> | Kwargs | null): T;
  call_async<T = any>(obj: PyHandle | PyWrapped, method?: string | null, args?: any[], kwargs?: Record<string, any> | Kwargs | null, options?: AsyncOptions): Promise<T>;
  exec(code: string): null;
  eval<T = any>(expr: string): T;
  exec_async(code: string, options?: AsyncOptions): Promise<null>;
  eval_async<T = any>(expr: string, options?: AsyncOptions): Promise<T>;
  reload(module: string | PyHandle | PyWrapped): boolean;
  add_syspath(dir: string): boolean;
  refresh<T>(obj: T): T;
  gc(obj: PyHandle | PyWrapped): boolean;
  clear(): number;
  delete(): boolean;
  isPyObject(x: unknown): boolean;
  sameContext(obj: unknown): boolean;
  /** The qualified Python type name (`'decimal.Decimal'`; bare for builtins), undefined for JS values. */
  typeOf(x: unknown): string | undefined;
  getitem<T = any>(obj: PyHandle | PyWrapped, key: any): T;
  setitem(obj: PyHandle | PyWrapped, key: any, value: any): void;
  delitem(obj: PyHandle | PyWrapped, key: any): void;
  /**
   * Convert a Python type your own way on the way to JS (it wins over the built-in conversion
   * of that type): a JS function given the wrapped object, or a Python callable; null removes it.
   */
  registerConverter(typeName: string, fn: (obj: PyObject) => unknown): void;
  registerConverter(typeName: string, fn: PyObject | null): void;
  view(obj: PyHandle | PyWrapped): BufferView;
  /**
   * Reload Python code when its files change (development): a module (wrapped or by name), or an
   * absolute or `./` path to a folder or file. A failed reload keeps the last good code.
   */
  watch(target: string | PyObject | PyHandle, onReload?: (err: PythonError | Error | null, module: string) => void): PyWatcher;
  [Symbol.dispose](): void;
}

/** What `Python.watch` returns: events `'reload'` (module name) and `'error'` (err with `module`). */
export interface PyWatcher {
  readonly root: string;
  readonly closed: boolean;
  close(): void;
  on(event: 'reload', listener: (module: string) => void): this;
  on(event: 'error', listener: (err: (PythonError | Error) & { module?: string }) => void): this;
  once(event: 'reload', listener: (module: string) => void): this;
  once(event: 'error', listener: (err: (PythonError | Error) & { module?: string }) => void): this;
  off(event: 'reload' | 'error', listener: (...args: any[]) => void): this;
}

export interface PythonPoolOptions {
  size: number;
  runtime_path?: string;
  plugins_path?: string;
  /** Code run once in each context. */
  setup?: string;
}

export declare class PythonPool {
  constructor(options: PythonPoolOptions);
  readonly size: number;
  /** Whether the contexts have GILs of their own (CPython 3.13+); false: calls run one at a time (warned once). */
  readonly ownGil: boolean;
  call<T = any>(module: string, func: string, args?: any[], kwargs?: Record<string, any> | Kwargs | null): Promise<T>;
  close(): Promise<void>;
  /** `await using pool = new PythonPool(...)`: `close()` at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

export declare function kwargs<T extends Record<string, any> = Record<string, any>>(obj?: T): Kwargs<T>;
export declare function tuple(items: readonly unknown[]): PyTuple;

/** Options of one wrapped `_async` method call, as its last argument: `m.slow_async(n, callOptions({ signal }))`. */
export interface CallOptions {
  readonly signal?: AbortSignalLike;
}
export declare function callOptions(options: { signal?: AbortSignalLike }): CallOptions;

/** Marks a JS value to go to Python live, as a `python_ts.JsProxy` (an Array, a plain object, a Map too). */
export interface JsObjectMarker {
  readonly value: unknown;
}
export declare function jsobject(x: object | Function, thisArg?: unknown): JsObjectMarker;
/** The folder Python's `require(name)` resolves packages from (default: the working directory). */
export declare function setRequireBase(dir: string): void;

export interface RuntimeInfo {
  version: string;
  library: string;
  executable: string | null;
  home: string | null;
  source: string;
  running: boolean;
  /** The C API that started the running interpreter: PEP 741 (3.14+) or the legacy calls. */
  init: "PyInitConfig" | "Py_InitializeEx";
}

/**
 * A traced clib call, as published on the diagnostics channels `python-ts:call:start`,
 * `python-ts:call:end` and `python-ts:call:error`.
 */
export interface CallEvent {
  /** Pairs a start with its end or error. */
  id: number;
  /** The clib function (`_call_python`, `bound method`, …). */
  fn: string;
  /** The target's Python type when the call has one (`module`, `dict`), else ''. */
  target: string;
  /** The method or attribute named, else ''. */
  method: string;
  /** The arguments' kinds and sizes: `str(12), array(3), handle(dict)`. */
  args: string;
  thread: string;
  /** `main context`, `context 3`, or null (no Python entered). */
  context: string | null;
  /** An async call: its end and error come at its delivery. */
  async: boolean;
  durationMs?: number;
  /** Async calls: time queued for a worker, and time Python ran. */
  queuedMs?: number;
  ranMs?: number;
  /** The error thrown (sync), or its message (async: the error itself goes to the callback). */
  error?: unknown;
}

/** The low-level clib surface (the seed's functions). */
export interface Clib {
  readonly references: PyHandle[];
  readonly objects: Record<string, PyHandle>;
  readonly contexts: PyContext[];
  PythonError: typeof PythonError;
  kwargs: typeof kwargs;
  tuple: typeof tuple;
  jsobject: typeof jsobject;
  /** The package's proxy hook in this thread (`hook(target, thisArg)` → dispatcher). */
  _set_js_proxy(hook: ((target: object, thisArg: unknown) => Function) | null): boolean;
  _set_debug(on?: boolean): boolean;
  /** What python-ts holds now. */
  _counters(): { handles: number; queuedReleases: number; threads: number; idleThreads: number; queuedCalls: number; callsInFlight: number; contexts: number };
  /** The publisher of traced calls (the package sets it while its diagnostics channels have subscribers). */
  _set_trace(publish: ((phase: 'start' | 'end' | 'error', event: CallEvent) => void) | null): boolean;
  _set_runtime_path(path: string | null): boolean;
  _set_plugins_path(dir: string | null): boolean;
  _set_max_threads(n?: number): number;
  _executor_stats(): { threads: number; idle: number; queued: number; max: number };
  /** Cancel an async call by the job id its callback form returned. */
  _cancel_job(id: number): boolean;
  _init_python(): boolean;
  _destroy_python(): boolean;
  _runtime_info(): RuntimeInfo | null;
  _import_module(name: string, ctx?: ContextArg): PyHandle;
  _reload_module(module: string | PyHandle, ctx?: ContextArg): boolean;
  _call_python<T = any>(obj: PyHandle, method: string | null | undefined, args?: any[] | null, kwargs?: Record<string, any> | Kwargs | null, ctx?: ContextArg): T;
  _call_python<T = any>(obj: PyHandle, method: string | null | undefined, args: any[] | null | undefined, kwargs: Record<string, any> | Kwargs | null | undefined, ctx: ContextArg, callback: NodeCallback<T>): number;
  /**
   * A native function that calls `obj.method(...args)` synchronously (`method` empty or null:
   * `obj(...args)`); a trailing `kwargs({...})` gives keyword arguments. Object results go
   * through `wrap` when given. The fastest sync call: it reads only its own arguments.
   */
  _method<T = any>(obj: PyHandle, method: string | null | undefined, ctx?: ContextArg, wrap?: ((value: any) => any) | null): (...args: any[]) => T;
  _getattr(obj: PyHandle, name: string, ctx?: ContextArg, withHandle?: boolean): [0 | 1 | 2, any];
  _setattr(obj: PyHandle, name: string, value: any, ctx?: ContextArg): boolean;
  /** What a wrapped object's `length` reads: `len(obj)` of a sequence that has no `length` attribute, else null. */
  _seq_len(obj: PyHandle, ctx?: ContextArg): number | null;
  _attr_names(obj: PyHandle, ctx?: ContextArg): string[];
  /** Count a converter registration for a type in this thread (`on` false takes one back): its objects then reach JS as handles. Returns how many types are counted. */
  _keep_wrapped(typeName: string, on: boolean): number;
  /** The built-in conversion of a handle's object, also for a type a converter names. */
  _to_js<T = any>(obj: PyHandle, ctx?: ContextArg): T;
  _dir(obj: PyHandle, ctx?: ContextArg): Array<[string, boolean, any]>;
  _exec(code: string, ctx?: ContextArg): null;
  _exec(code: string, ctx: ContextArg, callback: NodeCallback<null>): number;
  _eval<T = any>(code: string, ctx?: ContextArg): T;
  _eval<T = any>(code: string, ctx: ContextArg, callback: NodeCallback<T>): number;
  _delete_pyobject(obj: PyHandle, ctx?: ContextArg): boolean;
  _delete_all_pyobjects(ctx?: ContextArg): number;
  _create_pycontext(opts?: { ownGil?: boolean }): PyContext;
  _delete_pycontext(ctx: PyContext): boolean;
  _buffer_view(obj: PyHandle, ctx?: ContextArg): BufferView;
  _internals: {
    str_to_uint64(s: string): bigint;
    uint64_to_str(n: bigint | number): string;
    is_pyobject(x: unknown): boolean;
    is_pycontext(x: unknown): boolean;
    serialize_pyobject(h: PyHandle): Record<string, unknown>;
    deserialize_pyobject(x: unknown): PyHandle;
    serialize_pycontext(ctx: ContextArg): Record<string, unknown>;
    deserialize_pycontext(x: unknown): PyContext | Record<string, never>;
    napi_parse_json(text: string): any;
    napi_dump_json(v: unknown): string;
    napi_number_is_int(n: unknown): boolean;
    napi_object_is_empty(o: object): boolean;
    napi_value_to_pyobject(v: unknown, ctx?: ContextArg): PyHandle;
    pyobject_to_napi_value<T = any>(h: PyHandle, ctx?: ContextArg): T;
    throw_pyexception_in_javascript(exc: PyHandle | string, message?: string): never;
  };
}

export declare const clib: Clib;
