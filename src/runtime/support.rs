//! The `python_ts` module installed in every interpreter at start-up: `JSError` (a JS error
//! seen from Python) and the date helpers the serializer calls.

use crate::error::{Error, Result};
use crate::runtime::refs::{Keep, Kept};
use crate::sys::python::concrete as pc;
use crate::sys::python::object as objects;
use crate::sys::python::Gil;
use crate::sys::python::Owned;
use crate::sys::python::PY_FILE_INPUT;
use std::sync::Mutex;

const SOURCE: &str = r#"
import sys
import threading

import builtins as _builtins

_gcd_import = sys.modules['_frozen_importlib']._gcd_import
_real_import = _builtins.__import__


class _OwnImports:
    """`with _OwnImports():` around python-ts's own work that may import (a module it needs, the
    asyncio loop it makes): `builtins.__import__` is CPython's for that time, even when user code
    replaced it — the `import` statements of those modules go through that hook, and a hook that
    refuses everything must not break a call, an error report or a date conversion."""

    def __enter__(self):
        self.hook = _builtins.__import__
        if self.hook is not _real_import:
            _builtins.__import__ = _real_import

    def __exit__(self, *exc):
        if self.hook is not _real_import and _builtins.__import__ is _real_import:
            _builtins.__import__ = self.hook


def _import(name):
    """A module python-ts needs for its own work (see `_OwnImports`)."""
    m = sys.modules.get(name)
    if m is not None:
        return m
    with _OwnImports():
        return _gcd_import(name)


class JSError(Exception):
    """A JavaScript error thrown by a JS function called from Python.

    `js_message` and `js_stack` carry the JS side. If it propagates back to JS, JS receives the
    original error object."""

    # No __init__: python-ts makes these with C calls only and sets the attributes below.
    js_message = None
    js_stack = None
    _python_ts_js_id = None

    def __str__(self):
        return str(self.js_message) if self.js_message is not None else super().__str__()


class CancelledError(BaseException):
    """Raised in a call that JS cancelled (an AbortSignal given to an async call). A
    BaseException, like asyncio's: `except Exception` in user code does not swallow it."""


_loop = None
_loop_lock = threading.Lock()


def _get_loop():
    """The asyncio loop of this interpreter, running on a thread of its own."""
    global _loop
    with _loop_lock, _OwnImports():
        if _loop is None or _loop.is_closed():
            asyncio = _import('asyncio')
            loop = asyncio.new_event_loop()
            try:
                t = threading.Thread(target=loop.run_forever, name='python-ts-asyncio', daemon=True)
                t.start()
            except RuntimeError:
                # Interpreters with their own GIL allow no daemon threads; `shutdown_loop` ends
                # this one before the context is deleted.
                t = threading.Thread(target=loop.run_forever, name='python-ts-asyncio')
                t.start()
            loop._python_ts_thread = t
            _loop = loop
        return _loop


def shutdown_loop():
    """Stop this interpreter's loop and join its thread (before the context ends)."""
    global _loop
    with _loop_lock:
        loop, _loop = _loop, None
    if loop is None:
        return
    loop.call_soon_threadsafe(loop.stop)
    loop._python_ts_thread.join()
    loop.close()


def run_awaitable(aw):
    """Run an awaitable to completion on this interpreter's loop; called from a worker thread."""
    asyncio = _import('asyncio')
    futures = _import('concurrent.futures')

    async def _await():
        # SystemExit and KeyboardInterrupt escape asyncio's tasks and stop the loop itself:
        # the Promise never settled and every later coroutine hung. Carry them out as values
        # and raise them here, on the worker, where they are ordinary errors.
        try:
            return False, await aw
        except (SystemExit, KeyboardInterrupt) as e:
            return True, e

    fut = asyncio.run_coroutine_threadsafe(_await(), _get_loop())
    try:
        # Waiting in slices runs bytecode now and then, so a cancel from JS (an exception
        # raised in this thread) is seen; `result` still returns the moment the result is in.
        while True:
            try:
                raised, value = fut.result(0.05)
                break
            except TimeoutError:
                continue
            except futures.TimeoutError:
                continue
    except BaseException:
        fut.cancel()
        raise
    if raised:
        raise value
    return value


def release_dummy_thread():
    """Before an interpreter ends on this thread: drop this thread's `_DummyThread` while the
    `threading` module still works (3.13 releases it from a thread-local, whose destructor ran
    after module teardown and printed "Exception ignored ... _DeleteDummyThreadOnDel")."""
    info = getattr(threading, '_thread_local_info', None)
    if info is not None:
        info.__dict__.pop('_track_dummy_thread_ref', None)


class JsProxy(_JsProxyBase):
    """A live JavaScript object. Attribute and item access, calls (`this` bound for methods),
    `obj.new(*args)` to construct, len(), iteration over JS iterables, `in`, bool, repr (what
    util.inspect shows), == and hash by identity, `await` on a thenable; `to_py()` copies it by
    the conversion table. Values come back as Python values, objects as proxies. Usable from any
    thread: a call from another thread runs on the object's JS thread.

    Attribute get, set and del and calls are the native base's (on the object's JS thread they
    go straight through N-API); `self._d(op, ...)` is the object's dispatcher, which does every
    other operation (and those from other threads)."""

    __slots__ = ('__weakref__',)

    def new(self, *args, **kwargs):
        """`new F(...args)`; keyword arguments as a final options object."""
        if kwargs:
            args = args + (dict(kwargs),)
        return self._d('new', list(args))

    def __getitem__(self, key):
        return self._d('getitem', key)

    def __setitem__(self, key, value):
        self._d('setitem', key, value)

    def __delitem__(self, key):
        self._d('delitem', key)

    def __len__(self):
        n = self._d('len')
        if n is None:
            raise TypeError('this JavaScript object has no length or size')
        return n

    def __iter__(self):
        it = self._d('iter')
        while True:
            done, value = it._d('next')
            if done:
                return
            yield value

    def __contains__(self, item):
        return self._d('has', item)

    def __bool__(self):
        return self._d('bool')

    def __repr__(self):
        return self._d('repr')

    def __str__(self):
        return self._d('str')

    def __eq__(self, other):
        return isinstance(other, JsProxy) and self._d('is', other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return self._d('id')

    def __copy__(self):
        # A live object has no copy of its own: the copy is the proxy (`to_py()` copies).
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError('python-ts: a live JavaScript object cannot be pickled (to_py() gives a copy that can be)')

    def to_py(self):
        """A copy by the conversion table (dict, list, ...)."""
        return self._d('topy')

    def __await__(self):
        asyncio = _import('asyncio')
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def settle(ok, value):
            if fut.done():
                return
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value if isinstance(value, BaseException) else JSError(str(value)))

        def fulfilled(value):
            loop.call_soon_threadsafe(settle, True, value)

        def rejected(reason):
            loop.call_soon_threadsafe(settle, False, _js_rejection(reason))

        self._d('then', fulfilled, rejected)
        return fut.__await__()


def _js_rejection(reason):
    """A Promise's rejection reason as a Python exception: a JSError carrying the JS error."""
    if isinstance(reason, BaseException):
        return reason
    if isinstance(reason, JsProxy):
        try:
            e = JSError(str(reason._d('get', 'message')))
            e.js_name = reason._d('get', 'name')
            e.js_message = reason._d('get', 'message')
            e.js_stack = reason._d('get', 'stack')
            e.js_error = reason
            return e
        except BaseException:
            pass
    return JSError(str(reason))


def current_is_daemon():
    """Whether the calling thread is a daemon thread (threads not made by `threading` count as
    daemons, as they do at interpreter shutdown)."""
    return bool(_import('threading').current_thread().daemon)


def seq_len(o):
    """What a wrapped object's `length` reads first: `len(o)` for a sequence that has no attribute
    of that name; None for anything else (then `length` is an attribute read, as any name).
    `clib._seq_len` measures the exact built-in sequences itself and calls this for the rest."""
    if type(o) is range:
        return len(o)  # no `length` attribute: without raising AttributeError
    if hasattr(o, 'length') or not isinstance(o, _import('collections.abc').Sequence):
        return None
    return len(o)


_hosts = {}


def _register_host(js_global, js_require):
    """Called by the package on each JS thread (main or Worker): its global scope and require."""
    me = threading.get_ident()
    _hosts[me] = (js_global, js_require)
    _hosts.setdefault('first', (js_global, js_require))
    # While one JS thread has registered, every thread's `js` is its global: a plain module
    # attribute, read with no `__getattr__` call (`python_ts.js.Math` in a loop). A second one (a
    # Worker) makes `js` per thread again.
    if all(k == me or k == 'first' for k in _hosts):
        globals()['js'] = js_global
    else:
        globals().pop('js', None)


def _host():
    h = _hosts.get(threading.get_ident()) or _hosts.get('first')
    if h is None:
        raise RuntimeError('python-ts: no JavaScript environment has registered (js and require need the python-ts package, `new Python()`)')
    return h


def require(name):
    """`require(name)` in the JS environment of this thread (the main one from other threads):
    a Node module, live."""
    return _host()[1](name)


def __getattr__(name):
    if name == 'js':
        return _host()[0]
    raise AttributeError("module 'python_ts' has no attribute %r" % (name,))


def watch_root(m):
    """What `Python.watch` watches for module `m`: its package's folder, its file, or None."""
    os = _import('os')
    paths = getattr(m, '__path__', None)
    if paths:
        return os.path.realpath(list(paths)[0])
    f = getattr(m, '__file__', None)
    return os.path.realpath(f) if f else None


def modules_at(path):
    """Names of the loaded modules whose code is the file `path` (sources and their .pyc)."""
    os = _import('os')
    p = os.path.realpath(path)
    names = []
    for name, m in list(sys.modules.items()):
        f = getattr(m, '__file__', None)
        if isinstance(f, str) and os.path.realpath(f) == p:
            names.append(name)
    return sorted(names)


def reload_keeping(name):
    """importlib.reload, with the module's namespace put back as it was when the new code fails
    (a SyntaxError leaves it as it was anyway; an error half-way through its code would not)."""
    m = sys.modules[name]
    saved = dict(m.__dict__)
    # A .pyc records its source's mtime in whole seconds and its size: an edit within the second
    # that keeps the size would load the old code from it.
    f = getattr(m, '__file__', None)
    if isinstance(f, str) and f.endswith('.py'):
        try:
            _import('os').remove(_import('importlib.util').cache_from_source(f))
        except (OSError, NotImplementedError, ValueError):
            pass
    try:
        _import('importlib').reload(m)
    except BaseException:
        m.__dict__.clear()
        m.__dict__.update(saved)
        sys.modules[name] = m
        raise


def is_awaitable(o):
    """Whether JS may await `o` (a coroutine, a Future of this interpreter, anything with
    `__await__`); a class with an `__await__` method is not."""
    return hasattr(type(o), '__await__') and not isinstance(o, type)


def format_exception(e):
    """Python's own formatting of an exception, chained causes included (a list of str), without
    python-ts's own frames (as CPython leaves importlib's out): this module's code, and the
    concurrent.futures frames an async call's result comes back through."""
    with _OwnImports():
        tb = _import('traceback')
        te = tb.TracebackException(type(e), e, e.__traceback__)
        todo, seen = [te], set()
        while todo:
            t = todo.pop()
            if t is None or id(t) in seen:
                continue
            seen.add(id(t))
            kept, after_own = [], False
            for f in t.stack:
                if f.filename == '<python_ts>':
                    after_own = True
                    continue
                if after_own and f.filename.replace('\\', '/').endswith('concurrent/futures/_base.py'):
                    continue
                after_own = False
                kept.append(f)
            if len(kept) != len(t.stack):
                t.stack = tb.StackSummary.from_list(kept)
            todo += [t.__cause__, t.__context__] + list(getattr(t, 'exceptions', None) or [])
        return list(te.format())


def live_threads(daemons):
    """Names of the Python threads alive that shutdown would wait for (with `daemons`: every
    thread of user code), leaving out the calling thread, the main thread and the threads that
    entered through python-ts (`_DummyThread`)."""
    me = threading.get_ident()
    main = threading.main_thread()
    return [t.name for t in threading.enumerate()
            if t.ident != me and t is not main and t.is_alive()
            and not isinstance(t, threading._DummyThread) and (daemons or not t.daemon)]


def exit_threads(timeout):
    """At process exit, on Python's main thread: what `python` does before it finalizes
    (`threading._shutdown`), within `timeout` seconds. First the callbacks registered with
    `threading._register_atexit` (concurrent.futures shuts its executors down there, and so the
    worker processes of a ProcessPoolExecutor), then a wait for non-daemon threads. True when none
    is left: Py_FinalizeEx (which would wait for them for ever) may run, with atexit's handlers.
    Otherwise atexit's handlers run now (multiprocessing ends its children there), because the
    process ends without finalizing."""
    time = _import('time')
    deadline = time.monotonic() + timeout
    calls = getattr(threading, '_threading_atexits', None)
    if calls:
        pending = list(reversed(calls))
        del calls[:]

        def run():
            for call in pending:
                try:
                    call()
                except BaseException:
                    pass

        t = threading.Thread(target=run, name='python-ts-exit', daemon=True)
        t.start()
        t.join(max(0.0, deadline - time.monotonic()))
    me = threading.get_ident()
    left = []
    for t in threading.enumerate():
        if t.daemon or t.ident == me or t is threading.main_thread() or isinstance(t, threading._DummyThread):
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            left.append(t)
    if left:
        try:
            _import('atexit')._run_exitfuncs()
        except BaseException:
            pass
        return False
    return True


def daemon_thread_ids():
    """OS thread ids (as str) of the daemon threads of user code alive now."""
    return [str(t.native_id) for t in threading.enumerate()
            if t.daemon and t.is_alive() and t.native_id is not None
            and not isinstance(t, threading._DummyThread) and t is not threading.main_thread()]


def type_name(o):
    """The qualified name of `type(o)`: bare for builtins (`ZeroDivisionError`), else
    `module.Qualname` (`decimal.Decimal`, `numpy.ndarray`)."""
    t = type(o)
    m = getattr(t, '__module__', None)
    return t.__qualname__ if m in (None, 'builtins') else m + '.' + t.__qualname__


from operator import getitem, setitem, delitem


def iter_of(o):
    return iter(o)


class _End:
    """What `next_or_end` gives at the end of an iterator (one object per interpreter)."""
    __slots__ = ()


END = _End()


def next_or_end(it):
    """One step of a sync iterator for JS: the next item, or END."""
    return next(it, END)


def step(it):
    """One step of a sync iterator for JS: [done, value]."""
    try:
        return [False, next(it)]
    except StopIteration:
        return [True, None]


async def astep(it):
    """One step of an async iterator for JS: [done, value]."""
    try:
        return [False, await it.__anext__()]
    except StopAsyncIteration:
        return [True, None]


def aiter_of(o):
    """For `for await` from JS: [is_async, iterator] — async iterables first, then sync ones."""
    if hasattr(type(o), '__aiter__'):
        return [True, o.__aiter__()]
    return [False, iter(o)]


def add_syspath(d):
    """Put `d` first on sys.path, moving it there if it is already present."""
    while d in sys.path:
        sys.path.remove(d)
    sys.path.insert(0, d)


def date_from_ms(ms):
    d = _import('datetime')
    return d.datetime(1970, 1, 1, tzinfo=d.timezone.utc) + d.timedelta(milliseconds=ms)


def ms_from_date(v):
    """A datetime (or subclass: pandas' Timestamp) as ms since the epoch; None for NaT."""
    # Floor division: a Date has whole milliseconds, and rounding 23:59:59.999999 up moved it
    # into the next second (datetime.max became year 10000).
    d = _import('datetime')
    if type(v) is not d.datetime:
        if v != v:
            return None  # pandas' NaT (its comparisons are NaN's)
        # Read as a plain datetime: a subclass's own methods can differ (pandas' astimezone is
        # tz_convert and needs an argument).
        naive_utc = type(v).__module__.split('.', 1)[0] == 'pandas'
        v = d.datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo, fold=v.fold)
        if naive_utc and (v.tzinfo is None or v.utcoffset() is None):
            # pandas reads a naive Timestamp as UTC (Timestamp.timestamp()).
            v = v.replace(tzinfo=d.timezone.utc)
    epoch = d.datetime(1970, 1, 1, tzinfo=d.timezone.utc)
    if v.tzinfo is None or v.utcoffset() is None:
        # A naive datetime is read as local time, as `datetime.timestamp()` reads it.
        try:
            v = v.astimezone()
        except (OverflowError, ValueError, OSError):
            # Beyond what the platform's local-time functions cover: read as UTC.
            v = v.replace(tzinfo=d.timezone.utc)
    return float((v - epoch) // d.timedelta(milliseconds=1))


def ms_from_datetime64(v):
    """A numpy datetime64 as ms since the epoch (it has no zone: read as UTC, as numpy prints
    it); None for NaT."""
    np = sys.modules['numpy']
    if np.isnat(v):
        return None
    return float(v.astype('datetime64[ms]').astype(np.int64))


def _threads_of_js_are_not_daemons():
    # Threads that enter Python through us (the JS thread, our workers) are `_DummyThread`s,
    # which are daemons, and a new Thread inherits `daemon` from the thread that makes it: every
    # `threading.Thread()` made from JS was a daemon, so shutdown didn't wait for it and a
    # runtime could be destroyed under it. In a Python program the main thread is no daemon.
    init = threading._DummyThread.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._daemonic = False

    threading._DummyThread.__init__ = __init__


_threads_of_js_are_not_daemons()
"#;

/// The file name of this module's code in tracebacks.
const OWN_FILE: &str = "<python_ts>";

/// What makes the native base of `JsProxy` in each interpreter (`convert::jsproxy`, registered
/// at load: its slots use N-API, which this layer does not reach).
pub type ProxyBaseMaker = for<'py> fn(Gil<'py>) -> Result<Owned<'py>>;

static PROXY_BASE: once_cell::sync::OnceCell<ProxyBaseMaker> = once_cell::sync::OnceCell::new();

/// Register the maker of `JsProxy`'s native base (once per process; later calls are ignored).
pub fn set_proxy_base(make: ProxyBaseMaker) {
    let _ = PROXY_BASE.set(make);
}

/// Create `python_ts` and register it in `sys.modules` (GIL of the new interpreter held).
pub fn install(gil: Gil<'_>) -> Result<()> {
    let m = pc::module_new(gil, c"python_ts")?;
    let d = pc::module_dict(gil, m.borrow())?;
    let b = objects::builtins(gil)?;
    pc::dict_set_str(gil, d, c"__builtins__", b.borrow())?;
    let base = match PROXY_BASE.get() {
        Some(make) => make(gil)?,
        None => objects::getattr(gil, b.borrow(), "object")?,
    };
    pc::dict_set_str(gil, d, c"_JsProxyBase", base.borrow())?;
    pc::dict_set_str(gil, d, c"pyobject", super::pyobject::make_type(gil)?.borrow())?;
    // Its own file name: `format_exception` leaves its frames out of tracebacks.
    objects::run_as(gil, SOURCE, OWN_FILE, PY_FILE_INPUT, d)?;
    pc::dict_set_str(gil, sys_modules(gil)?, c"python_ts", m.borrow())
}

pub use crate::sys::python::object::{loaded_module, sys_modules};

/// A module python-ts needs for its own work (`python_ts._import`): from `sys.modules`, else
/// imported with CPython's own import function even when user code replaced `__import__`.
pub fn import<'py>(gil: Gil<'py>, name: &str) -> Result<Owned<'py>> {
    let c = objects::cstr(name)?;
    if let Some(m) = loaded_module(gil, &c) {
        return Ok(m.to_owned());
    }
    let f = attr(gil, "_import")?;
    let n = objects::py_str(gil, name)?;
    objects::call_with(gil, f.borrow(), &[n.borrow()])
}

/// An attribute of the `python_ts` module.
pub fn attr<'py>(gil: Gil<'py>, name: &str) -> Result<Owned<'py>> {
    let m =
        loaded_module(gil, c"python_ts").ok_or_else(|| Error::Runtime("python_ts support module missing".into()))?;
    objects::getattr(gil, m, name)
}

/// `python_ts.JsProxy` of each interpreter (by context), kept from its first use until the
/// interpreter ends (`forget_interpreter`): each JS object that crosses into Python as a proxy
/// reads the class here instead of looking it up by name (`sys.modules`, the module, two
/// temporary strings: ≈ 0.4 µs of passing a class instance). Entries of an ended runtime
/// generation or context are never read, and dropping them touches nothing (`Kept`).
static JSPROXY: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// `python_ts.JsProxy` of the interpreter of `context` (whose GIL is held).
pub fn jsproxy_class<'py>(gil: Gil<'py>, context: u64) -> Result<Owned<'py>> {
    {
        let cache = JSPROXY.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(class) = cache.iter().find(|k| k.context() == context).and_then(|k| k.borrow(gil)) {
            return Ok(class.to_owned());
        }
    }
    let class = attr(gil, "JsProxy")?;
    let dropped: Vec<Kept> = {
        let mut cache = JSPROXY.lock().unwrap_or_else(|p| p.into_inner());
        let (gone, kept): (Vec<Kept>, Vec<Kept>) = std::mem::take(&mut *cache).into_iter().partition(|k| {
            k.context() == context || !k.is_current() || (k.context() != 0 && !super::context::is_alive(k.context()))
        });
        *cache = kept;
        cache.push(class.clone().keep(context));
        gone
    };
    // Dropped outside the lock: a live one's release is queued; an ended one's is forgotten.
    drop(dropped);
    Ok(class)
}

/// The interpreter of `context` is ending (its GIL held): what was kept for it is given back now.
pub fn forget_interpreter(gil: Gil<'_>, context: u64) {
    let mine: Vec<Kept> = {
        let mut cache = JSPROXY.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, others) = std::mem::take(&mut *cache).into_iter().partition(|k| k.context() == context);
        *cache = others;
        mine
    };
    for k in mine {
        drop(k.into_owned(gil));
    }
}

/// `python_ts.live_threads(daemons)`: the names of the Python threads of user code alive (all of
/// them, or only non-daemon ones) in the current interpreter.
pub fn live_threads(gil: Gil<'_>, daemons: bool) -> Result<Vec<String>> {
    let f = attr(gil, "live_threads")?;
    let flag = objects::boolean(gil, daemons);
    let names = objects::call_with(gil, f.borrow(), &[flag.borrow()])?;
    objects::str_list(gil, names.borrow())
}
