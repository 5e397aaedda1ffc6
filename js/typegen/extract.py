"""What python-ts hands JS for a module, as a model the type generator renders to a .d.ts.

Run inside the embedded interpreter (`npx python-ts types`). Types come, in this order, from
.pyi stubs (the package's own, a `<pkg>-stubs` package, or a stub beside the module), then
inline annotations (`typing.get_type_hints`), then `inspect.signature` alone. A type is a small
tree that says what the Python type is, not how it is spelled in TypeScript: the renderer picks
the spelling per direction (an argument JS passes, or a value JS gets back), following the
conversion table. Anything not understood is {'t': 'any'} — never a wrong precise type.
"""

import ast
import builtins
import enum
import importlib
import importlib.util
import inspect
import os
import sys
import types
import typing

ANY = {'t': 'any'}
OBJECT = {'t': 'object'}
NONE = {'t': 'none'}
MAX_DOC = 1500
MAX_DEPTH = 12

# Names JS answers itself on a wrapped object (js/internal/wrapper.js): never Python attributes.
JS_PROBES = {'then', 'toJSON', 'constructor', 'inspect', 'asymmetricMatch', 'nodeType', 'toString', 'valueOf',
             '__wrapper__', '__refresh__', 'unwrap'}

# Qualified names → trees. Concrete containers convert to JS; abstract ones only where JS passes
# them (a function that returns a Sequence may return any sequence, which stays wrapped).
SIMPLE = {
    'builtins.int': {'t': 'int'},
    'builtins.float': {'t': 'float'},
    'builtins.str': {'t': 'str'},
    'builtins.bool': {'t': 'bool'},
    'builtins.bytes': {'t': 'bytes'},
    'builtins.bytearray': {'t': 'bytes'},
    'builtins.object': ANY,
    'builtins.complex': OBJECT,
    'builtins.memoryview': OBJECT,
    'builtins.NoneType': NONE,
    'types.NoneType': NONE,
    'typing.Any': ANY,
    '_typeshed.Incomplete': ANY,
    'typing_extensions.Any': ANY,
    'typing.Never': {'t': 'never'},
    'typing.NoReturn': {'t': 'never'},
    'typing_extensions.Never': {'t': 'never'},
    'typing_extensions.NoReturn': {'t': 'never'},
    'typing.LiteralString': {'t': 'str'},
    'typing.Text': {'t': 'str'},
    'typing_extensions.LiteralString': {'t': 'str'},
    'datetime.datetime': {'t': 'datetime'},
    'datetime.date': {'t': 'date'},
    'typing.SupportsIndex': {'t': 'proto', 'accepts': 'int'},
    'typing_extensions.SupportsIndex': {'t': 'proto', 'accepts': 'int'},
    'typing.SupportsInt': {'t': 'proto', 'accepts': 'float'},
    'typing.SupportsFloat': {'t': 'proto', 'accepts': 'float'},
    'os.PathLike': {'t': 'proto', 'accepts': 'str'},
}
LISTS = {'builtins.list': False, 'typing.List': False, 'builtins.tuple': False, 'typing.Tuple': False,
         'typing.Sequence': True, 'collections.abc.Sequence': True, 'typing.MutableSequence': True,
         'collections.abc.MutableSequence': True, 'typing.Iterable': True, 'collections.abc.Iterable': True,
         'typing.Collection': True, 'collections.abc.Collection': True}
SETS = {'builtins.set': False, 'builtins.frozenset': False, 'typing.Set': False, 'typing.FrozenSet': False,
        'typing.AbstractSet': True, 'collections.abc.Set': True, 'typing.MutableSet': True,
        'collections.abc.MutableSet': True}
DICTS = {'builtins.dict': False, 'typing.Dict': False, 'typing.Mapping': True, 'collections.abc.Mapping': True,
         'typing.MutableMapping': True, 'collections.abc.MutableMapping': True}
AWAITABLES = {'typing.Awaitable', 'collections.abc.Awaitable', 'typing.Coroutine', 'collections.abc.Coroutine'}
CALLABLES = {'typing.Callable', 'collections.abc.Callable'}
UNIONS = {'typing.Union', 'typing_extensions.Union'}
OPTIONALS = {'typing.Optional', 'typing_extensions.Optional'}
LITERALS = {'typing.Literal', 'typing_extensions.Literal'}
WRAPPERS = {'typing.Annotated', 'typing_extensions.Annotated', 'typing.Final', 'typing_extensions.Final',
            'typing.ClassVar', 'typing.Required', 'typing.NotRequired', 'typing_extensions.Required',
            'typing_extensions.NotRequired', 'typing.ReadOnly', 'typing_extensions.ReadOnly'}
TYPES = {'builtins.type', 'typing.Type'}
SELF = {'typing.Self', 'typing_extensions.Self'}

# Instances of these convert to plain JS values, subclasses included (the conversion table).
CONVERTING_BASES = [
    ('builtins.bool', {'t': 'bool'}),
    ('builtins.int', {'t': 'int'}),
    ('builtins.float', {'t': 'float'}),
    ('builtins.str', {'t': 'str'}),
    ('builtins.bytes', {'t': 'bytes'}),
    ('builtins.bytearray', {'t': 'bytes'}),
    ('builtins.list', {'t': 'list', 'of': ANY}),
    ('builtins.tuple', {'t': 'list', 'of': ANY}),
    ('builtins.dict', {'t': 'dict', 'key': ANY, 'value': ANY}),
    ('builtins.set', {'t': 'set', 'of': ANY}),
    ('builtins.frozenset', {'t': 'set', 'of': ANY}),
    ('datetime.datetime', {'t': 'datetime'}),
]


def qualname_of(obj):
    mod = getattr(obj, '__module__', None)
    name = getattr(obj, '__qualname__', None) or getattr(obj, '__name__', None)
    if not isinstance(name, str):
        return None
    return name if not isinstance(mod, str) else mod + '.' + name


def union(items):
    flat = []
    for it in items:
        if it['t'] == 'any':
            return ANY
        for x in (it['of'] if it['t'] == 'union' else [it]):
            if x not in flat and x['t'] != 'never':
                flat.append(x)
    if not flat:
        return {'t': 'never'}
    return flat[0] if len(flat) == 1 else {'t': 'union', 'of': flat}


def doc_of(obj):
    try:
        d = inspect.getdoc(obj)
    except Exception:
        return None
    if not d or not isinstance(d, str):
        return None
    if len(d) > MAX_DOC:
        d = d[:MAX_DOC].rsplit('\n', 1)[0] + '\n…'
    return d


# ---------------------------------------------------------------------------------------------
# Stubs: .pyi files read with ast. A StubModule knows its imports and its top-level definitions.

class StubModule:
    def __init__(self, name, path, is_package):
        self.name = name
        self.path = path
        with open(path, encoding='utf-8') as f:
            self.tree = ast.parse(f.read(), path)
        self.package = name if is_package else name.rpartition('.')[0]
        self.imports = {}
        self.defs = {}
        self.star = []
        self._scan(self.tree.body)

    def _scan(self, body):
        for node in body:
            if isinstance(node, ast.If):
                # `if sys.version_info >= (3, 10):` / `if sys.platform == "win32":` are decided for
                # this interpreter; any other test reads both branches (the first definition wins)
                for branch in branches(node):
                    self._scan(branch)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.imports.setdefault(a.asname, a.name)
                    else:
                        top = a.name.split('.')[0]
                        self.imports.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(node.module, node.level)
                for a in node.names:
                    if a.name == '*':
                        self.star.append(base)
                    else:
                        self.imports.setdefault(a.asname or a.name, base + '.' + a.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defs.setdefault(node.name, [])
                if isinstance(self.defs[node.name], list):
                    self.defs[node.name].append(node)
            elif isinstance(node, ast.ClassDef):
                self.defs.setdefault(node.name, node)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.defs.setdefault(node.target.id, node)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        self.defs.setdefault(t.id, node)
            elif type(node).__name__ == 'TypeAlias':  # `type X = ...` (3.12+)
                self.defs.setdefault(node.name.id, node)

    def _absolute(self, module, level):
        if not level:
            return module or ''
        parts = self.package.split('.') if self.package else []
        if level > 1:
            parts = parts[:len(parts) - (level - 1)]
        base = '.'.join(parts)
        return base + ('.' + module if module else '') if base else (module or '')


def bundled_typeshed():
    """typeshed's stdlib/ folder as typeshed_client, mypy or jedi ship it, if one is installed."""
    for package, sub in (('typeshed_client', ('typeshed',)), ('mypy', ('typeshed', 'stdlib')),
                         ('jedi', ('third_party', 'typeshed', 'stdlib'))):
        try:
            spec = importlib.util.find_spec(package)
        except Exception:
            spec = None
        for base in (getattr(spec, 'submodule_search_locations', None) or []) if spec else []:
            path = os.path.join(base, *sub)
            if os.path.isfile(os.path.join(path, 'builtins.pyi')):
                return path
    return None


def is_stdlib(top):
    names = getattr(sys, 'stdlib_module_names', None)
    if names is not None:
        return top in names
    if top in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(top)
    except Exception:
        return False
    origin = getattr(spec, 'origin', None) or ''
    import sysconfig
    stdlib = sysconfig.get_paths().get('stdlib') or ''
    return bool(stdlib) and origin.startswith(stdlib) and 'site-packages' not in origin


class Stubs:
    """Finds and caches the stubs of modules; follows re-exports to where a name is defined."""

    def __init__(self, roots=()):
        self.cache = {}
        # folders searched first, laid out as typeshed's stdlib/ is (`os/path.pyi`, `json/__init__.pyi`)
        self.roots = [r for r in roots if os.path.isdir(r)]
        # the standard library's stubs, where a tool installed in this Python bundles typeshed
        self.stdlib = bundled_typeshed()

    def module(self, name):
        if name in self.cache:
            return self.cache[name]
        self.cache[name] = None
        path, is_package = self._find(name)
        if path:
            try:
                self.cache[name] = StubModule(name, path, is_package)
            except (SyntaxError, OSError, UnicodeDecodeError):
                self.cache[name] = None
        return self.cache[name]

    def _find(self, name):
        parts = name.split('.')
        bases = [os.path.join(root, *parts) for root in self.roots]
        if self.stdlib and (is_stdlib(parts[0]) or parts[0] == '_typeshed'):
            bases.append(os.path.join(self.stdlib, *parts))
        bases += [os.path.join(entry, root, *parts[1:]) for entry in sys.path if entry and os.path.isdir(entry)
                  for root in (parts[0] + '-stubs', parts[0])]
        for base in bases:
            # a package's stub (`__init__.pyi`), or a module's
            if os.path.isfile(os.path.join(base, '__init__.pyi')):
                return os.path.join(base, '__init__.pyi'), True
            if os.path.isfile(base + '.pyi'):
                return base + '.pyi', False
        # A stub beside a module found elsewhere (a .so with a .pyi, a namespace of its own).
        try:
            spec = importlib.util.find_spec(name)
        except Exception:
            spec = None
        origin = getattr(spec, 'origin', None) if spec else None
        if origin and os.path.isfile(origin):
            stem = origin
            for ext in ('.py', '.pyc'):
                if stem.endswith(ext):
                    stem = stem[:-len(ext)]
            stem = stem.split('.cpython-')[0].split('.abi3')[0]
            if stem.endswith('.so') or stem.endswith('.pyd'):
                stem = stem[:-3] if stem.endswith('.so') else stem[:-4]
            if os.path.isfile(stem + '.pyi'):
                return stem + '.pyi', os.path.basename(stem) == '__init__'
        return None, False

    def lookup(self, module, name, depth=0):
        """(StubModule, node) where `module.name` is defined in stubs, following re-exports."""
        if depth > MAX_DEPTH:
            return None, None
        stub = self.module(module)
        if stub is None:
            return None, None
        node = stub.defs.get(name)
        if node is not None:
            return stub, node
        target = stub.imports.get(name)
        if target and '.' in target:
            mod, _, attr = target.rpartition('.')
            found = self.lookup(mod, attr, depth + 1)
            if found[1] is not None:
                return found
            # `from . import sub` names a module, not an attribute of one
            return None, None
        for base in stub.star:
            found = self.lookup(base, name, depth + 1)
            if found[1] is not None:
                return found
        return None, None


# ---------------------------------------------------------------------------------------------
# Types: both sources (stub ast and runtime annotations) go through `named(qualified, args)`.

class Typer:
    def __init__(self, stubs, local_classes):
        self.stubs = stubs
        # qualified class name → (module, exported name) of the classes this run emits
        self.local = local_classes
        self.self_type = None

    # -- shared mapping ---------------------------------------------------------------------
    def named(self, q, args):
        """A qualified name with its (already typed) arguments."""
        if q in SIMPLE:
            return SIMPLE[q]
        if q in SELF:
            return self.self_type or OBJECT
        if q in LISTS:
            if q in ('builtins.tuple', 'typing.Tuple') and args:
                if len(args) == 2 and args[1] == 'ellipsis':
                    return {'t': 'list', 'of': args[0] if args[0] != 'ellipsis' else ANY}
                if args == [{'t': 'empty'}]:
                    return {'t': 'tuple', 'items': []}
                return {'t': 'tuple', 'items': [a if a != 'ellipsis' else ANY for a in args]}
            return {'t': 'list', 'of': args[0] if args and args[0] != 'ellipsis' else ANY, 'abstract': LISTS[q]}
        if q in SETS:
            return {'t': 'set', 'of': args[0] if args else ANY, 'abstract': SETS[q]}
        if q in DICTS:
            k, v = (args + [ANY, ANY])[:2] if args else (ANY, ANY)
            return {'t': 'dict', 'key': k, 'value': v, 'abstract': DICTS[q]}
        if q in UNIONS:
            return union(args)
        if q in OPTIONALS:
            return union(args + [NONE])
        if q in WRAPPERS:
            return args[0] if args else ANY
        if q in AWAITABLES:
            return {'t': 'awaitable', 'of': args[-1] if args else ANY}
        if q in TYPES:
            return OBJECT
        if q in self.local:
            module, name = self.local[q]
            return {'t': 'class', 'module': module, 'name': name}
        return None

    # -- runtime annotations ----------------------------------------------------------------
    def runtime(self, ann, depth=0):
        if depth > MAX_DEPTH:
            return ANY
        if ann is None or ann is type(None):
            return NONE
        if ann is inspect.Parameter.empty:
            return ANY
        if isinstance(ann, str):
            return ANY
        if isinstance(ann, typing.TypeVar):
            bound = getattr(ann, '__bound__', None)
            if bound is not None:
                return self.runtime(bound, depth + 1)
            cons = getattr(ann, '__constraints__', ())
            return union([self.runtime(c, depth + 1) for c in cons]) if cons else ANY
        sup = getattr(ann, '__supertype__', None)  # NewType
        if sup is not None:
            return self.runtime(sup, depth + 1)
        origin = typing.get_origin(ann)
        args = typing.get_args(ann)
        if origin is typing.Literal:
            return literal(args)
        if origin is not None:
            if isinstance(origin, type) and issubclass(origin, types.UnionType if hasattr(types, 'UnionType') else ()):
                return union([self.runtime(a, depth + 1) for a in args])
            q = 'typing.Union' if origin is typing.Union else qualname_of(origin)
            if q in ('collections.abc.Callable', 'typing.Callable'):
                if args and isinstance(args[0], (list, tuple)):
                    return {'t': 'callable', 'params': [self.runtime(a, depth + 1) for a in args[0]],
                            'returns': self.runtime(args[-1], depth + 1)}
                return {'t': 'callable', 'params': None,
                        'returns': self.runtime(args[-1], depth + 1) if args else ANY}
            if q in ('typing.Annotated', 'typing_extensions.Annotated'):
                return self.runtime(args[0], depth + 1) if args else ANY
            typed = ['ellipsis' if a is Ellipsis else ({'t': 'empty'} if a == () else self.runtime(a, depth + 1))
                     for a in args]
            r = self.named(q, typed) if q else None
            if r is not None:
                return r
            return self.runtime(origin, depth + 1)
        if hasattr(types, 'UnionType') and isinstance(ann, types.UnionType):
            return union([self.runtime(a, depth + 1) for a in args])
        q = qualname_of(ann)
        if q:
            r = self.named(q, [])
            if r is not None:
                return r
        if isinstance(ann, type):
            return self.instance_of(ann)
        return ANY

    def instance_of(self, cls):
        """What an instance of `cls` becomes in JS: a plain value, or a wrapped object."""
        if is_protocol(cls):
            return ANY
        try:
            mro = cls.__mro__
        except Exception:
            return OBJECT
        for base in mro:
            q = qualname_of(base)
            if q in self.local:
                module, name = self.local[q]
                converted = converting(cls)
                return converted or {'t': 'class', 'module': module, 'name': name}
        return converting(cls) or OBJECT

    # -- stub ast ---------------------------------------------------------------------------
    def stub(self, node, stub, depth=0, seen=None):
        if depth > MAX_DEPTH or node is None:
            return ANY
        if isinstance(node, ast.Constant):
            if node.value is None:
                return NONE
            if isinstance(node.value, str):
                try:
                    return self.stub(ast.parse(node.value, mode='eval').body, stub, depth + 1, seen)
                except SyntaxError:
                    return ANY
            if node.value is Ellipsis:
                return 'ellipsis'
            return ANY
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return union([self.stub(node.left, stub, depth + 1, seen), self.stub(node.right, stub, depth + 1, seen)])
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.stub_name(node, stub, [], depth, seen)
        if isinstance(node, ast.Subscript):
            sl = node.slice
            if sys.version_info < (3, 9) and isinstance(sl, ast.Index):  # pragma: no cover
                sl = sl.value
            elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            q = self.qualify(node.value, stub)
            if q in LITERALS:
                vals = []
                for e in elts:
                    if isinstance(e, ast.Constant) and (e.value is None or isinstance(e.value, (str, int, float, bool))):
                        vals.append(e.value)
                    elif isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant):
                        vals.append(-e.operand.value)
                    else:
                        return ANY
                return literal(vals)
            if q in CALLABLES:
                if len(elts) == 2 and isinstance(elts[0], ast.List):
                    return {'t': 'callable', 'params': [self.stub(e, stub, depth + 1, seen) for e in elts[0].elts],
                            'returns': self.stub(elts[1], stub, depth + 1, seen)}
                return {'t': 'callable', 'params': None,
                        'returns': self.stub(elts[-1], stub, depth + 1, seen) if elts else ANY}
            if q in ('typing.Annotated', 'typing_extensions.Annotated'):
                return self.stub(elts[0], stub, depth + 1, seen)
            if isinstance(sl, ast.Tuple) and not sl.elts:
                args = [{'t': 'empty'}]
            else:
                args = [self.stub(e, stub, depth + 1, seen) for e in elts]
            return self.stub_name(node.value, stub, args, depth, seen)
        return ANY

    def qualify(self, node, stub):
        if isinstance(node, ast.Name):
            n = node.id
            if n in stub.imports:
                return stub.imports[n]
            if n in stub.defs:
                return stub.name + '.' + n
            if hasattr(builtins, n) or n == 'ellipsis':
                return 'builtins.' + n
            return stub.name + '.' + n
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value, stub)
            return base + '.' + node.attr if base else None
        return None

    def stub_name(self, node, stub, args, depth, seen):
        q = self.qualify(node, stub)
        if not q:
            return ANY
        special = numpy_argument(q)
        if special:
            return special
        r = self.named(q, args)
        if r is not None:
            return r
        # An alias, a TypeVar or a class in some stub: find where it is defined.
        mod, _, attr = q.rpartition('.')
        seen = seen or set()
        if q in seen:
            return ANY
        seen = seen | {q}
        where, found = self.stubs.lookup(mod, attr) if mod else (None, None)
        if found is None:
            # Not in stubs: the runtime object, when it can be imported.
            obj = runtime_lookup(mod, attr)
            if obj is not None:
                return self.runtime(obj, depth + 1)
            return ANY
        if isinstance(found, ast.ClassDef):
            for b in found.bases:
                bq = self.qualify(b.value if isinstance(b, ast.Subscript) else b, where)
                if bq in ('typing.Protocol', 'typing_extensions.Protocol'):
                    return ANY
            cq = where.name + '.' + found.name
            r = self.named(cq, args)
            if r is not None:
                return r
            obj = runtime_lookup(where.name, found.name) or runtime_lookup(mod, attr)
            if isinstance(obj, type):
                return self.instance_of(obj)
            return self.stub_class_base(found, where, depth, seen)
        value = None
        if isinstance(found, ast.AnnAssign):
            ann = found.annotation
            aq = self.qualify(ann, where) if isinstance(ann, (ast.Name, ast.Attribute)) else None
            if aq in ('typing.TypeAlias', 'typing_extensions.TypeAlias'):
                value = found.value
            else:
                return ANY
        elif isinstance(found, ast.Assign):
            value = found.value
        elif type(found).__name__ == 'TypeAlias':
            value = found.value
        if value is None:
            return ANY
        if isinstance(value, ast.Call):
            fq = self.qualify(value.func, where)
            if fq in ('typing.TypeVar', 'typing_extensions.TypeVar'):
                for kw in value.keywords:
                    if kw.arg == 'bound':
                        return self.stub(kw.value, where, depth + 1, seen)
                cons = value.args[1:]
                return union([self.stub(c, where, depth + 1, seen) for c in cons]) if cons else ANY
            if fq in ('typing.NewType', 'typing_extensions.NewType') and len(value.args) == 2:
                return self.stub(value.args[1], where, depth + 1, seen)
            return ANY
        return self.stub(value, where, depth + 1, seen)

    def stub_class_base(self, node, stub, depth, seen):
        """A class known only from a stub: a subclass of a converting type converts."""
        for b in node.bases:
            t = self.stub(b, stub, depth + 1, seen)
            if isinstance(t, dict) and t['t'] in ('int', 'float', 'str', 'bool', 'bytes', 'datetime'):
                return t
        return OBJECT


# numpy's argument aliases are unions with Protocols (nothing a JS value can be checked against);
# what JS can pass for each is known from the conversion table, so they are typed by name.
NUMPY_ARGS = [
    (('ArrayLike',), '_ArrayLike', 'number | bigint | boolean | string | readonly any[] | ArrayBufferView | PyWrapped'),
    (('_ShapeLike',), None, 'number | bigint | readonly (number | bigint)[] | PyWrapped'),
    (('DTypeLike',), '_DTypeLike', 'string | null | undefined | readonly any[] | Readonly<Record<string, any>> | PyWrapped'),
    (('_IntLike_co', '_FloatLike_co', '_NumberLike_co', '_BoolLike_co'), None, 'number | bigint | boolean | PyWrapped'),
    (('_CharLike_co',), None, 'string | Uint8Array | PyWrapped'),
    (('_ScalarLike_co',), None, 'number | bigint | boolean | string | Uint8Array | PyWrapped'),
]


def numpy_argument(q):
    mod, _, attr = q.rpartition('.')
    if not (mod == 'numpy' or mod.startswith('numpy.')):
        return None
    for names, prefix, ts in NUMPY_ARGS:
        if attr in names or (prefix and attr.startswith(prefix)):
            return {'t': 'jsin', 'in': ts}
    return None


def literal(values):
    vals = []
    for v in values:
        if v is None:
            vals.append(NONE)
        elif isinstance(v, enum.Enum):
            return ANY
        elif isinstance(v, (bool, int, float, str)):
            vals.append({'t': 'literal', 'value': v if not isinstance(v, int) or isinstance(v, bool) or abs(v) < 2 ** 53 else str(v)})
        else:
            return ANY
    return union(vals) if vals else ANY


# numpy scalars reach JS as their `.item()` (the conversion table): by their abstract kind.
NUMPY_SCALARS = [
    ('numpy.bool', {'t': 'bool'}),
    ('numpy.bool_', {'t': 'bool'}),
    ('numpy.integer', {'t': 'int'}),
    ('numpy.floating', {'t': 'float'}),
    ('numpy.datetime64', {'t': 'union', 'of': [{'t': 'datetime'}, NONE, OBJECT]}),
    ('numpy.generic', ANY),
]


def converting(cls):
    """What an instance of `cls` converts to, when it does not stay a wrapped object."""
    try:
        mro = [qualname_of(b) for b in cls.__mro__]
    except Exception:
        return None
    for q, t in CONVERTING_BASES:
        if q in mro:
            return t
    if 'numpy.generic' in mro:
        names = {getattr(b, '__name__', '') for b in cls.__mro__}
        for q, t in NUMPY_SCALARS:
            if q.split('.')[1] in names:
                return t
    return None


def is_protocol(cls):
    """A Protocol says what an argument must do, not what it is: JS values may well do it."""
    return bool(getattr(cls, '_is_protocol', False))


def runtime_lookup(module, attr):
    if not module:
        return None
    mod = sys.modules.get(module)
    if mod is None:
        return None
    return getattr(mod, attr, None)


# ---------------------------------------------------------------------------------------------
# Signatures

KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: 'posonly',
    inspect.Parameter.POSITIONAL_OR_KEYWORD: 'pos',
    inspect.Parameter.KEYWORD_ONLY: 'kwonly',
    inspect.Parameter.VAR_POSITIONAL: 'varargs',
    inspect.Parameter.VAR_KEYWORD: 'varkw',
}


def stub_signatures(defs, stub, typer, drop_first):
    sigs = []
    for node in defs:
        decorators = {typer.qualify(d, stub) for d in node.decorator_list if isinstance(d, (ast.Name, ast.Attribute))}
        if any(d and (d.endswith('.setter') or d.endswith('.deleter')) for d in decorators):
            continue
        a = node.args
        params = []
        posonly = list(getattr(a, 'posonlyargs', []))
        positional = posonly + list(a.args)
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        for i, p in enumerate(positional):
            # a stub's `__x` parameter is positional-only by convention
            kind = 'posonly' if i < len(posonly) or (p.arg.startswith('__') and not p.arg.endswith('__')) else 'pos'
            params.append({'name': p.arg.lstrip('_') or p.arg, 'kind': kind, 'optional': defaults[i] is not None,
                           'type': typer.stub(p.annotation, stub) if p.annotation is not None else ANY})
        if a.vararg:
            params.append({'name': a.vararg.arg, 'kind': 'varargs', 'optional': True,
                           'type': typer.stub(a.vararg.annotation, stub) if a.vararg.annotation is not None else ANY})
        for p, d in zip(a.kwonlyargs, a.kw_defaults):
            params.append({'name': p.arg, 'kind': 'kwonly', 'optional': d is not None,
                           'type': typer.stub(p.annotation, stub) if p.annotation is not None else ANY})
        if a.kwarg:
            params.append({'name': a.kwarg.arg, 'kind': 'varkw', 'optional': True,
                           'type': typer.stub(a.kwarg.annotation, stub) if a.kwarg.annotation is not None else ANY})
        if drop_first and params and params[0]['kind'] in ('posonly', 'pos') and 'builtins.staticmethod' not in decorators:
            params = params[1:]
        returns = typer.stub(node.returns, stub) if node.returns is not None else ANY
        if returns == 'ellipsis':
            returns = ANY
        for p in params:
            if p['type'] == 'ellipsis':
                p['type'] = ANY
        if isinstance(node, ast.AsyncFunctionDef):
            returns = {'t': 'awaitable', 'of': returns}
        sigs.append({'params': params, 'returns': returns, 'source': 'stub'})
    return sigs


def runtime_signatures(obj, typer, drop_first=False):
    try:
        sig = inspect.signature(obj)
    except (ValueError, TypeError):
        return [{'params': [{'name': 'args', 'kind': 'varargs', 'optional': True, 'type': ANY},
                            {'name': 'kwargs', 'kind': 'varkw', 'optional': True, 'type': ANY}],
                 'returns': ANY, 'source': 'none'}]
    target = obj
    if isinstance(obj, type):
        target = obj.__init__ if obj.__init__ is not object.__init__ else obj.__new__
    try:
        hints = typing.get_type_hints(target)
    except Exception:
        hints = {}
    source = 'annotations' if hints else 'signature'
    params = []
    for p in sig.parameters.values():
        ann = hints.get(p.name, inspect.Parameter.empty)
        t = typer.runtime(ann) if ann is not inspect.Parameter.empty else ANY
        params.append({'name': p.name, 'kind': KINDS[p.kind],
                       'optional': p.default is not inspect.Parameter.empty or p.kind in (
                           inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD),
                       'type': t})
    if drop_first and params and params[0]['kind'] in ('posonly', 'pos'):
        params = params[1:]
    if isinstance(obj, type):
        returns = typer.instance_of(obj)
    elif 'return' in hints:
        returns = typer.runtime(hints['return'])
    else:
        returns = ANY
    if inspect.iscoroutinefunction(obj):
        returns = {'t': 'awaitable', 'of': returns}
    return [{'params': params, 'returns': returns, 'source': source}]


# ---------------------------------------------------------------------------------------------
# Modules and classes

def public_names(mod):
    names = getattr(mod, '__all__', None)
    if isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names):
        # sorted: some packages build __all__ from sets (numpy), whose order changes from run to
        # run, and a generated file should not
        return sorted({n for n in names if hasattr(mod, n)})
    out = []
    for n in sorted(vars(mod)):
        if n.startswith('_'):
            continue
        v = getattr(mod, n)
        if isinstance(v, types.ModuleType) or type(v).__module__ == '__future__':
            continue
        home = getattr(v, '__module__', None)
        # `from typing import List` and the like: typing's names, not this module's
        if home in ('typing', 'typing_extensions', 'collections.abc', 'abc') and home != mod.__name__:
            continue
        # what a module imported for its own use is not its API
        if (inspect.isclass(v) or inspect.isfunction(v)) and isinstance(home, str) and home != mod.__name__ \
                and not home.startswith(mod.__name__ + '.') and not home.startswith('_'):
            continue
        out.append(n)
    return out


class Extractor:
    def __init__(self, names, roots=()):
        self.stubs = Stubs(roots)
        self.modules = {}
        self.local = {}
        for name in names:
            self.modules[name] = importlib.import_module(name)
        # Classes each module exports get an interface of their own, named after the export.
        for name, mod in self.modules.items():
            for n in public_names(mod):
                v = getattr(mod, n, None)
                if inspect.isclass(v):
                    q = qualname_of(v)
                    if q and q not in self.local:
                        self.local[q] = (name, n)
                        # the stub may name it where it is exported
                        self.local.setdefault(name + '.' + n, (name, n))
        self.typer = Typer(self.stubs, self.local)

    def describe(self, name):
        mod = self.modules[name]
        out = {'name': name, 'doc': doc_of(mod), 'stub': None, 'functions': [], 'classes': [], 'constants': [],
               'python': sys.version.split()[0]}
        st = self.stubs.module(name)
        if st:
            # shown from the folder that holds the package (no machine's paths in the output)
            parts = st.path.split(os.sep)
            top = name.split('.')[0]
            at = max([i for i, p in enumerate(parts) if p in (top, top + '-stubs', top + '.pyi')] or [len(parts) - 1])
            out['stub'] = '/'.join(parts[at:])
        for n in public_names(mod):
            if n in JS_PROBES:
                continue
            v = getattr(mod, n)
            where, node = self.stubs.lookup(name, n)
            if inspect.isclass(v):
                out['classes'].append(self.klass(name, n, v, where, node))
            elif callable(v) and not isinstance(v, types.ModuleType):
                out['functions'].append(self.function(n, v, where, node))
            else:
                out['constants'].append({'name': n, 'type': self.constant(v, where, node), 'doc': None})
        return out

    def function(self, n, v, where, node, drop_first=False):
        sigs = None
        if isinstance(node, list) and node:
            sigs = stub_signatures(overloads_of(node, where, self.typer), where, self.typer, drop_first) or None
        if not sigs:
            sigs = runtime_signatures(v, self.typer, drop_first)
        return {'name': n, 'doc': doc_of(v), 'sigs': sigs, 'async': inspect.iscoroutinefunction(v)}

    def constant(self, v, where, node):
        if isinstance(node, ast.AnnAssign) and where is not None:
            t = self.typer.stub(node.annotation, where)
            if t != 'ellipsis' and t != ANY:
                return t
        if v is None:
            return ANY
        if isinstance(v, bool):
            return {'t': 'bool'}
        if isinstance(v, (int, float, str, bytes, bytearray)):
            return converting(type(v))
        if isinstance(v, (list, tuple)):
            return {'t': 'list', 'of': ANY}
        if isinstance(v, dict):
            return {'t': 'dict', 'key': ANY, 'value': ANY}
        return self.typer.instance_of(type(v))

    def klass(self, module, n, cls, where, node):
        out = {'name': n, 'doc': doc_of(cls), 'ctor': [], 'methods': [], 'statics': [], 'props': [], 'attrs': [],
               'members': [], 'instance': None, 'callable': False, 'iterable': False, 'items': False,
               'async_iterable': False, 'enum': isinstance(cls, enum.EnumMeta)}
        me = {'t': 'class', 'module': module, 'name': n}
        self.typer.self_type = me
        try:
            out['instance'] = converting(cls)
            fields = getattr(cls, '_fields', None)
            if out['instance'] and issubclass(cls, tuple) and isinstance(fields, tuple):
                try:
                    fh = typing.get_type_hints(cls)
                except Exception:
                    fh = {}
                out['instance'] = {'t': 'tuple', 'items': [self.typer.runtime(fh[f]) if f in fh else ANY for f in fields]}
            body = {}
            if isinstance(node, ast.ClassDef):
                body = class_body(node)
            # the constructor
            init = body.get('__init__') or body.get('__new__')
            ctor = None
            if isinstance(init, list) and init and not out['enum']:
                ctor = stub_signatures(overloads_of(init, where, self.typer), where, self.typer, True)
                for s in ctor:
                    s['returns'] = out['instance'] or me
            if not ctor:
                ctor = runtime_signatures(cls, self.typer)
                for s in ctor:
                    s['returns'] = out['instance'] or me
            if out['instance'] and out['instance'].get('t') == 'tuple' and isinstance(fields, tuple):
                for sig in ctor:  # a NamedTuple's fields type its constructor
                    for p, t in zip([p for p in sig['params'] if p['kind'] in ('pos', 'posonly')], out['instance']['items']):
                        if p['type'] == ANY:
                            p['type'] = t
            out['ctor'] = ctor
            if out['instance']:
                # reaches JS as a plain value (its methods and attributes are not there): so does `Self`
                self.typer.self_type = out['instance']
            hints = {}
            try:
                hints = typing.get_type_hints(cls)
            except Exception:
                hints = {}
            seen = set()
            members = []
            # each class of the MRO's stub (where, body), looked up once
            stub_bodies = {cls: (where, body)}
            for klass in cls.__mro__:
                if klass is object or qualname_of(klass).startswith('builtins.'):
                    continue
                for k, raw in vars(klass).items():
                    if k in seen:
                        continue
                    seen.add(k)
                    members.append((k, raw, klass))
            if out['enum']:
                for k, m in cls.__members__.items():
                    out['members'].append({'name': k, 'value': m.name})
                values = union([self.constant(m.value, None, None) for m in cls.__members__.values()]) \
                    if cls.__members__ else ANY
                out['props'].append({'name': 'name', 'type': {'t': 'str'}, 'readonly': True, 'doc': None})
                out['props'].append({'name': 'value', 'type': values, 'readonly': True, 'doc': None})
                seen.update(('name', 'value'))
            for k, raw, owner in members:
                if k == '__call__':
                    out['callable'] = True
                elif k == '__iter__':
                    out['iterable'] = True
                elif k == '__aiter__':
                    out['async_iterable'] = True
                elif k == '__getitem__':
                    out['items'] = True
                if k.startswith('_') or k in JS_PROBES or (out['enum'] and (k in cls.__members__ or k in ('name', 'value'))):
                    continue
                if owner not in stub_bodies:
                    stub_bodies[owner] = class_stub_of(self.stubs, owner)
                swhere, sbody = stub_bodies[owner]
                snode = sbody.get(k)
                if isinstance(raw, (staticmethod, classmethod)) or type(raw).__name__ == 'classmethod_descriptor':
                    f = getattr(cls, k)
                    if isinstance(snode, list) and swhere is not None:
                        out['statics'].append(self.method_from_stub(k, f, swhere, snode, not isinstance(raw, staticmethod)))
                    else:
                        # bound to the class already: inspect.signature drops `cls`
                        out['statics'].append(self.function(k, f, None, None))
                elif isinstance(raw, property):
                    t = ANY
                    if isinstance(snode, list) and swhere is not None:
                        getter = [d for d in snode if not any(isinstance(x, ast.Attribute) and x.attr in ('setter', 'deleter')
                                                              for x in d.decorator_list)]
                        if getter and getter[0].returns is not None:
                            t = self.typer.stub(getter[0].returns, swhere)
                    elif raw.fget is not None:
                        try:
                            h = typing.get_type_hints(raw.fget)
                            if 'return' in h:
                                t = self.typer.runtime(h['return'])
                        except Exception:
                            pass
                    out['props'].append({'name': k, 'type': t if t != 'ellipsis' else ANY, 'readonly': raw.fset is None,
                                         'doc': doc_of(raw)})
                elif inspect.isfunction(raw) or isinstance(snode, list) or inspect.ismethoddescriptor(raw) \
                        or inspect.isbuiltin(raw):
                    if not callable(raw):
                        continue
                    if isinstance(snode, list) and swhere is not None:
                        out['methods'].append(self.method_from_stub(k, raw, swhere, snode, True))
                    else:
                        out['methods'].append(self.function(k, raw, None, None, drop_first=True))
                elif inspect.isdatadescriptor(raw) or inspect.isgetsetdescriptor(raw) or inspect.ismemberdescriptor(raw):
                    t = ANY
                    if isinstance(snode, ast.AnnAssign) and swhere is not None:
                        t = self.typer.stub(snode.annotation, swhere)
                    elif k in hints:
                        t = self.typer.runtime(hints[k])
                    out['props'].append({'name': k, 'type': t if t != 'ellipsis' else ANY, 'readonly': False,
                                         'doc': doc_of(raw) if not inspect.ismemberdescriptor(raw) else None})
                elif inspect.isclass(raw):
                    out['attrs'].append({'name': k, 'type': OBJECT, 'doc': None})
                else:
                    t = None
                    if isinstance(snode, ast.AnnAssign) and swhere is not None:
                        t = self.typer.stub(snode.annotation, swhere)
                    elif k in hints:
                        t = self.typer.runtime(hints[k])
                    if t is None or t == 'ellipsis' or t == ANY:
                        t = self.constant(raw, None, None)
                    out['attrs'].append({'name': k, 'type': t, 'doc': None})
            # annotated instance attributes (dataclass fields, `x: int` in the class body)
            for k, h in hints.items():
                if k.startswith('_') or k in seen or k in JS_PROBES:
                    continue
                if typing.get_origin(h) is typing.ClassVar:
                    continue
                out['props'].append({'name': k, 'type': self.typer.runtime(h), 'readonly': False, 'doc': None})
        finally:
            self.typer.self_type = None
        if out['instance']:
            out['methods'], out['props'] = [], []
        return out

    def method_from_stub(self, k, f, where, defs, drop_first):
        sigs = stub_signatures(overloads_of(defs, where, self.typer), where, self.typer, drop_first)
        if not sigs:
            sigs = runtime_signatures(f, self.typer, drop_first)
        return {'name': k, 'doc': doc_of(f), 'sigs': sigs, 'async': bool(defs) and isinstance(defs[0], ast.AsyncFunctionDef)}


def overloads_of(defs, where, typer):
    marked = [d for d in defs if any(typer.qualify(x, where) in ('typing.overload', 'typing_extensions.overload')
                                     for x in d.decorator_list if isinstance(x, (ast.Name, ast.Attribute)))]
    return marked or defs[:1]


def condition(test):
    """True/False for the tests stubs make of the interpreter (version, platform); None otherwise."""
    if isinstance(test, ast.BoolOp):
        vals = [condition(v) for v in test.values]
        if isinstance(test.op, ast.And):
            return False if False in vals else (None if None in vals else True)
        return True if True in vals else (None if None in vals else False)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        v = condition(test.operand)
        return None if v is None else not v
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left = ast.unparse(test.left) if hasattr(ast, 'unparse') else None
    try:
        right = ast.literal_eval(test.comparators[0])
    except Exception:
        return None
    if left == 'sys.version_info' or (left or '').startswith('sys.version_info['):
        try:
            value = eval(left, {'sys': sys})
        except Exception:
            return None
    elif left == 'sys.platform':
        value = sys.platform
    else:
        return None
    op = test.ops[0]
    try:
        return {ast.Lt: value < right, ast.LtE: value <= right, ast.Gt: value > right, ast.GtE: value >= right,
                ast.Eq: value == right, ast.NotEq: value != right}.get(type(op))
    except TypeError:
        return None


def branches(node):
    """The branches of an `if` in a stub that apply here."""
    c = condition(node.test)
    if c is True:
        return [node.body]
    if c is False:
        return [node.orelse]
    return [node.body, node.orelse]


def class_body(node):
    out = {}
    for item in node.body:
        if isinstance(item, ast.If):
            for branch in branches(item):
                for k, v in class_body(ast.ClassDef(name=node.name, bases=[], keywords=[], body=branch,
                                                    decorator_list=[])).items():
                    out.setdefault(k, v)
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.setdefault(item.name, [])
            if isinstance(out[item.name], list):
                out[item.name].append(item)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            out.setdefault(item.target.id, item)
    return out


def class_stub_of(stubs, cls):
    """(the StubModule, the class body by name) of a class's stub; (None, {}) without one."""
    where, node = stubs.lookup(getattr(cls, '__module__', '') or '', getattr(cls, '__name__', ''))
    return (where, class_body(node)) if isinstance(node, ast.ClassDef) else (where, {})


def describe(names, stub_roots=()):
    """The models of `names` (module names), one dict each; `stub_roots` are searched first."""
    ex = Extractor(list(names), list(stub_roots or ()))
    return [ex.describe(n) for n in names]
