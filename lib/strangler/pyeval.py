"""A small static evaluator of Python: runs a source tree's modules on their syntax trees, executing nothing.

It walks the modules the way Python would run them (an imported module first, a function's body when it is
called, with its arguments bound, defaults and `*args`/`**kwargs` included) and keeps the values it can know
statically: constants, strings built with `+`, `%`, f-strings and `str.format`/`join`, lists, tuples and dicts
(built literally, by comprehensions over known values, or by `append`/`extend`/`update`), in-tree functions,
classes (their attributes, inheritance included), instances and modules, and names imported from outside the
tree (`External`). Anything else is `Unknown`, never a guess.

Conditions are evaluated when their value is known (`if DEBUG:` with `DEBUG = False` runs only the else branch);
otherwise both branches run and a name bound to something known on one side keeps it. Loops over known lists
and dicts run once per item; loops over unknown values run their body once with the loop variable unknown.

What the values mean for a framework is not known here: `static_inventory.Scanner` subclasses `Evaluator` and
answers the hooks `construct` (a call of an outside class), `method_call`/`attribute` (on its own objects),
`decorate` (a decorated definition) and `class_defined`. Modules are found with `sourcetree`.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from strangler import sourcetree


@dataclass
class Unresolved:
    """What the evaluation could not know: where, why, the code, and for a route the part that is known."""

    file: str
    line: int
    reason: str
    code: str
    method: str | None = None
    rule: str | None = None  # the route's rule with each unknown part written as {?}
    unknown: str | None = None  # the expression whose value is not known


# --- values -----------------------------------------------------------------------------------------------------


# deliberate: the small frozen dataclasses below (and static_inventory's ViewRef/Wrapped) are distinct value
# types of the evaluator; they share only the dataclass shape
@dataclass(frozen=True)
class Unknown:
    why: str = ""


@dataclass(frozen=True)
class External:
    """A name imported from outside the tree, e.g. flask.Flask."""

    qualname: str


@dataclass(eq=False)
class Module:
    name: str
    path: Path
    tree: ast.Module
    text: str
    globals: dict = field(default_factory=dict)
    state: str = "new"
    lines: list[bytes] | None = None  # the text's lines as UTF-8 (column offsets count bytes), split when first needed

    def __hash__(self) -> int:
        return id(self)

    def source(self, node: ast.AST) -> str:
        """The first line of a node's source, cut at 200 characters (the file's lines are split once: asking
        `ast.get_source_segment` splits the whole file on every call)."""
        lineno, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if lineno is None or end is None or col is None or end_col is None:
            return ""
        if self.lines is None:
            self.lines = [line.encode() for line in re.split(r"\r\n|\r|\n", self.text)]  # as the parser counts
        if lineno > len(self.lines):
            return ""
        line = self.lines[lineno - 1]
        code = (line[col:end_col] if end == lineno else line[col:]).decode(errors="replace")
        return code.splitlines()[0][:200] if code else ""


@dataclass(frozen=True)
class FuncRef:
    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class ClassRef:
    module: Module
    node: ast.ClassDef


@dataclass(frozen=True)
class BoundMethod:
    func: FuncRef
    self: object


@dataclass(eq=False)
class Instance:
    """An instance of a class of the tree: its class's attributes plus what was assigned to it."""

    cls: ClassRef
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleRef:
    module: Module


@dataclass(frozen=True)
class Lazy:
    """`from m import x` while m is still running (a circular import): m.x as it is when used."""

    module: Module
    name: str


@dataclass(frozen=True)
class Super:
    """`super()` inside a method: calls on it go to the framework's base class (see `Evaluator.super_call`)."""

    self: object


class EnvStr(str):
    """A string read from the environment as the app reads it at start-up: the variable's value in strangler's own
    environment when set there, else the code's default. `assumes` names each variable and the value taken; it
    goes along when the string is joined, formatted or returned, so a route whose path used it says so."""

    assumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvUnset(Unknown):
    """`os.environ.get(NAME)` without a default, NAME not set: None for the app, false in a condition, and the
    other side of an `or`; anywhere else it is not known (None says nothing about the path it would give)."""


def assumptions(*values: object) -> tuple[str, ...]:
    """The environment assumptions carried by these values (strings, or lists of them)."""
    out: list[str] = []
    for v in values:
        if isinstance(v, EnvStr):
            out.extend(v.assumes)
        elif isinstance(v, EnvUnset):
            out.append(f"{v.why} unset")
        elif isinstance(v, (list, tuple)):
            out.extend(assumptions(*v))
    return tuple(dict.fromkeys(out))


def tagged(value: str, tag: str) -> EnvStr:
    """`value` carrying one environment assumption."""
    out = EnvStr(value)
    out.assumes = (tag,)
    return out


def carry(result: object, *sources: object) -> object:
    """`result` (a string computed from `sources`) with the sources' environment assumptions."""
    if not isinstance(result, str):
        return result
    tags = assumptions(*sources)
    if not tags:
        return result
    out = EnvStr(result)
    out.assumes = tuple(dict.fromkeys((*assumptions(result), *tags)))
    return out


class KnownDict(dict):
    """A dict whose keys may not all be known (`complete=False`): a missing key is then Unknown, not absent."""

    complete: bool = True


class _Return(Exception):
    pass


MODEL_BASES = ("BaseModel", "BaseSettings")  # pydantic classes whose fields the generated __init__ sets


def _decorator_name(node: ast.expr) -> str:
    """`dataclass` for `@dataclass`, `@dataclasses.dataclass` and `@dataclass(frozen=True)`."""
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""


def _assigns(stmt: ast.Assign, name: str) -> bool:
    return any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)


BUILTINS = frozenset(
    {"list", "tuple", "dict", "sorted", "reversed", "str", "getattr", "zip", "enumerate", "len", "super"}
)


def truth(value: object) -> bool | None:
    """The truth value of a known value, None when it is not known."""
    if isinstance(value, KnownDict) and not value.complete and not value:
        return None
    if isinstance(value, EnvUnset):
        return False
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return bool(value)
    if isinstance(value, (FuncRef, ClassRef, ModuleRef, Instance)):
        return True
    return None


KEYS = (str, int, float, bool, type(None), External, FuncRef, ClassRef, ModuleRef)  # dict keys known statically


def _memo_key(ref: object, args: list, kwargs: dict) -> tuple | None:
    immutable = (str, int, float, bool, type(None), Unknown, External, FuncRef, ClassRef, ModuleRef)
    values = [*args, *kwargs.values()]
    if not all(isinstance(v, immutable) for v in values):
        return None
    try:
        tags = assumptions(*values)  # "x" read from the environment is not the literal "x"
        return (id(ref.node), tuple(args), tuple(sorted(kwargs.items())), tags)  # type: ignore[attr-defined]
    except TypeError:
        return None


def _same(a: object, b: object) -> bool:
    if a is b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        return a == b and assumptions(a) == assumptions(b)
    simple = (int, float, bool, type(None))
    return isinstance(a, simple) and type(a) is type(b) and a == b


# --- the evaluator ----------------------------------------------------------------------------------------------


class Evaluator:
    """Runs the modules of a tree statically. Subclasses give framework calls their meaning (see the hooks)."""

    MAX_DEPTH = 10

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, Module] = {}
        self.unresolved: list[Unresolved] = []
        self.called: set[int] = set()
        self.depth = 0
        self.loops = 0
        self.maybe_returns: list[list] = []  # per running function: values returned on a branch not known to run
        self.memo: dict[tuple, object] = {}  # (function, arguments) -> result, for calls with immutable arguments
        self.class_cache: dict[int, dict] = {}
        self.environment: dict[str, str] = {}  # variable -> what was taken for it (see `env_value`)
        self.frames: list[str] = []  # what is running at the top: a module, or `module:function()` run alone
        self.running: list[FuncRef] = []  # the functions being run, innermost last
        for path in sourcetree.python_files(root):
            name = sourcetree.module_name(root, path)
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                tree = ast.parse(text, str(path))
            except (SyntaxError, ValueError) as exc:
                self.unresolved.append(
                    Unresolved(str(path), getattr(exc, "lineno", 0) or 0, "file does not parse", str(exc)[:200])
                )
                continue
            self.modules.setdefault(name, Module(name, path, tree, text))

    # --- hooks (the framework knowledge overrides these) -------------------------------------------------------

    def construct(self, name: str, cls: object, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """A call of a name from outside the tree (`cls` External) or of a tree class. Here: a tree class gives an
        Instance, its `__init__` run with the arguments; anything else is Unknown."""
        if not isinstance(cls, ClassRef):
            return Unknown(name)
        args, kw = self.call_args(node, mod, scopes)
        return self.instantiate(cls, args, kw)

    def instantiate(self, cls: ClassRef, args: list, kw: dict) -> Instance:
        """An instance of a tree class: its `__init__` run (`self.x = ...` sets attributes), or for a dataclass or
        pydantic model without one, its fields: the arguments, else each field's default."""
        instance = Instance(cls)
        init = self.class_attributes(cls).get("__init__")
        if isinstance(init, FuncRef):
            self.call_function(init, [instance, *args], kw)
        elif self.is_model(cls):
            instance.attrs.update(self.model_fields(cls, args, kw))
        return instance

    def is_model(self, cls: ClassRef, seen: frozenset = frozenset()) -> bool:
        """A pydantic model (BaseModel, BaseSettings) or a dataclass, through the tree's base classes."""
        if self.framework_base(cls, MODEL_BASES) is not None:
            return True
        if id(cls.node) in seen:
            return False
        if any(_decorator_name(d) == "dataclass" for d in cls.node.decorator_list):
            return True
        return any(isinstance(b, ClassRef) and self.is_model(b, seen | {id(cls.node)}) for b in self.class_bases(cls))

    def model_fields(self, cls: ClassRef, args: list, kw: dict) -> dict:
        """A model's field values as its generated `__init__` sets them: keyword (or, for a dataclass, positional)
        arguments, else the default (`= value`, `Field(default=...)`, `field(default_factory=...)` called). A
        pydantic `BaseSettings` field is read from the environment first (named after the field, any case, with
        the class's literal `env_prefix`): set there, it is not known; unset, the default, noted as read."""
        declared: dict[str, tuple[Module, ast.expr | None]] = {}
        for klass in reversed(self.class_chain(cls)):
            for stmt in klass.node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    declared[stmt.target.id] = (klass.module, stmt.value)
        settings = self.framework_base(cls, ("BaseSettings",)) is not None
        prefix = self.env_prefix(cls) if settings else ""
        environ = {k.lower(): k for k in os.environ}
        positional = not self.framework_base(cls, MODEL_BASES)
        values: dict = {}
        for i, (name, (module, default)) in enumerate(declared.items()):
            if name in kw:
                values[name] = kw[name]
            elif positional and i < len(args):
                values[name] = args[i]
            elif settings and isinstance(prefix, str) and (prefix + name).lower() in environ:
                variable = environ[(prefix + name).lower()]
                self.environment[variable] = f"set in strangler's environment (pydantic {cls.node.name}.{name})"
                values[name] = Unknown(variable)
            else:
                if settings:
                    self.environment.setdefault(f"{prefix}{name}".upper(), f"unset (pydantic {cls.node.name})")
                values[name] = self.field_default(default, module) if default is not None else Unknown(name)
        return values

    def class_chain(self, cls: ClassRef, seen: frozenset = frozenset()) -> list[ClassRef]:
        """The class and its tree base classes, nearest first."""
        if id(cls.node) in seen:
            return []
        chain = [cls]
        for base in self.class_bases(cls):
            if isinstance(base, ClassRef):
                chain += [c for c in self.class_chain(base, seen | {id(cls.node)}) if c not in chain]
        return chain

    def env_prefix(self, cls: ClassRef) -> object:
        """A BaseSettings class's `env_prefix` when it is written literally (`model_config = SettingsConfigDict(
        env_prefix=...)` or `class Config: env_prefix = ...`), else ""; Unknown when it is not literal."""
        for klass in self.class_chain(cls):
            for stmt in klass.node.body:
                found: ast.expr | None = None
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and _assigns(stmt, "model_config"):
                    found = next((k.value for k in stmt.value.keywords if k.arg == "env_prefix"), None)
                elif isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                    found = next(
                        (i.value for i in stmt.body if isinstance(i, ast.Assign) and _assigns(i, "env_prefix")), None
                    )
                if found is not None:
                    value = self.eval(found, klass.module, [klass.module.globals])
                    return value if isinstance(value, str) else Unknown("env_prefix")
        return ""

    def field_default(self, node: ast.expr, mod: Module) -> object:
        """A field's default: the value, or what `Field(...)`/`field(...)` says (`default`, a first positional
        argument, or `default_factory` called)."""
        scope = [mod.globals]
        if isinstance(node, ast.Call):
            func = self.eval(node.func, mod, scope)
            if isinstance(func, External) and func.qualname.split(".")[-1] in ("Field", "field"):
                for k in node.keywords:
                    if k.arg == "default":
                        return self.eval(k.value, mod, scope)
                    if k.arg == "default_factory":
                        return self.call_factory(self.eval(k.value, mod, scope))
                if node.args and not (isinstance(node.args[0], ast.Constant) and node.args[0].value is Ellipsis):
                    return self.eval(node.args[0], mod, scope)
                return Unknown("field without default")
        return self.eval(node, mod, scope)

    def call_factory(self, factory: object) -> object:
        if isinstance(factory, ClassRef):
            return self.instantiate(factory, [], {})
        if isinstance(factory, FuncRef):
            return self.call_function(factory, [], {})
        if isinstance(factory, External) and factory.qualname in ("builtins.list", "builtins.dict"):
            return [] if factory.qualname.endswith("list") else KnownDict()
        return Unknown("default_factory")

    def method_call(self, receiver: object, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """`receiver.name(...)` where the receiver is a framework object."""
        return Unknown(name)

    def attribute(self, receiver: object, name: str) -> object:
        """`receiver.name` where the receiver is a framework object."""
        return Unknown(name)

    def super_call(self, receiver: object, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """`super().name(...)` inside a method of a tree class deriving from a framework class."""
        return Unknown(name)

    def decorate(self, node: ast.AST, mod: Module, scopes: list[dict], ref: object) -> None:
        """A function or class definition with decorators has just been bound."""

    def class_defined(self, ref: ClassRef, mod: Module, scopes: list[dict]) -> None:
        """A class statement has just run."""

    def is_framework(self, value: object) -> bool:
        """Whether a value is one of the framework's objects (those the hooks handle)."""
        return False

    def wrapped(self, args: list, kwargs: dict, result: object) -> object:
        """What a call of one function on another gives (hook: a decorator applied by hand, `login_required(view)`)."""
        return result

    def is_identity(self, value: object) -> bool:
        """Whether a framework value names *which* thing (an app, a view): it wins over a fallback in `merge`."""
        return self.is_framework(value)

    # --- modules -----------------------------------------------------------------------------------------------

    def find_module(self, dotted: str) -> Module | None:
        return sourcetree.find_module(self.modules, self.root, dotted)

    def run_module(self, mod: Module) -> Module:
        if mod.state == "new":
            mod.state = "running"
            mod.globals.setdefault("__name__", mod.name)  # imported, not run as a script: `__main__` blocks skip
            self.frames.append(self.import_name(mod))
            try:
                self.exec_body(mod.tree.body, mod, [mod.globals])
            finally:
                self.frames.pop()
            mod.state = "done"
            self.module_done(mod)
        return mod

    def function_done(self) -> None:
        """The function running at `self.depth` is about to return (hook)."""

    def import_name(self, mod: Module) -> str:
        """The name a module is imported by: inside a package root, with the package's name in front."""
        if (self.root / "__init__.py").is_file() and mod.name != self.root.name:
            return f"{self.root.name}.{mod.name}"
        return mod.name

    def module_done(self, mod: Module) -> None:
        """A module has run to its end (hook)."""

    def import_from(self, mod: Module, node: ast.ImportFrom) -> str:
        """The absolute name a `from ... import` reads; `from . import x` in a module at the root names the root's
        own package (its `__init__.py`, named after the root folder)."""
        if node.level:
            is_pkg = mod.path.name == "__init__.py" and mod.path.parent != self.root
            base = mod.name.split(".") if mod.path.parent != self.root or is_pkg else []
            base = base[: len(base) - node.level + (1 if is_pkg else 0)] if base else []
            return ".".join(base + ([node.module] if node.module else [])) or self.root.name
        return node.module or ""

    def resolve_dotted(self, dotted: str) -> object:
        """`pkg.module.Name` or `pkg.module` as a value of the tree (an import string), else Unknown."""
        target = self.find_module(dotted)
        if target is not None:
            return ModuleRef(self.run_module(target))
        origin, _, name = dotted.rpartition(".")
        target = self.find_module(origin) if origin else None
        if target is not None:
            self.run_module(target)
            return target.globals.get(name, Unknown(dotted))
        return Unknown(dotted)

    # --- unresolved --------------------------------------------------------------------------------------------

    def note(
        self,
        mod: Module,
        node: ast.AST,
        reason: str,
        method: str | None = None,
        rule: str | None = None,
        unknown: str | None = None,
    ) -> None:
        if self.loops and "loop" not in reason:
            reason += " (inside a loop)"
        line = getattr(node, "lineno", 0)
        entry = Unresolved(str(mod.path), line, reason, mod.source(node), method, rule, unknown)
        if entry not in self.unresolved[-200:]:
            self.unresolved.append(entry)

    # --- statements --------------------------------------------------------------------------------------------

    def exec_body(self, body: list[ast.stmt], mod: Module, scopes: list[dict]) -> None:
        for stmt in body:
            self.exec_stmt(stmt, mod, scopes)

    def exec_stmt(self, stmt: ast.stmt, mod: Module, scopes: list[dict]) -> None:
        local = scopes[0]
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                target = self.find_module(alias.name)
                if alias.asname:
                    local[alias.asname] = ModuleRef(self.run_module(target)) if target else External(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    target_top = self.find_module(top) if target is None else target
                    if target is not None:
                        self.run_module(target)
                    local[top] = ModuleRef(self.run_module(target_top)) if target_top else External(top)
        elif isinstance(stmt, ast.ImportFrom):
            self.exec_import_from(stmt, mod, local)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = FuncRef(mod, stmt)
            local[stmt.name] = func
            self.decorate(stmt, mod, scopes, func)
        elif isinstance(stmt, ast.ClassDef):
            cls = ClassRef(mod, stmt)
            local[stmt.name] = cls
            self.class_defined(cls, mod, scopes)
            self.decorate(stmt, mod, scopes, cls)
        elif isinstance(stmt, ast.Assign):
            value = self.eval(stmt.value, mod, scopes)
            for name in stmt.targets:
                self.bind(name, value, mod, scopes)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.bind(stmt.target, self.eval(stmt.value, mod, scopes), mod, scopes)
        elif isinstance(stmt, ast.AugAssign):
            self.exec_aug_assign(stmt, mod, scopes)
        elif isinstance(stmt, ast.Expr):
            self.eval(stmt.value, mod, scopes)
        elif isinstance(stmt, ast.Return):
            raise _Return(self.eval(stmt.value, mod, scopes) if stmt.value is not None else None)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.exec_for(stmt, mod, scopes)
        elif isinstance(stmt, ast.If):
            self.exec_branches(self.eval(stmt.test, mod, scopes), stmt.body, stmt.orelse, mod, scopes, stmt)
        elif isinstance(stmt, ast.While):
            self.exec_branches(None, stmt.body, stmt.orelse, mod, scopes, stmt)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            self.exec_body(stmt.body, mod, scopes)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.exec_body(stmt.body, mod, scopes)  # type: ignore[attr-defined]
            self.exec_body(stmt.orelse, mod, scopes)  # type: ignore[attr-defined]
            kept = dict(local)
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                self.exec_body(handler.body, mod, scopes)
            self.keep_known(local, kept)
            self.exec_body(stmt.finalbody, mod, scopes)  # type: ignore[attr-defined]

    def exec_import_from(self, stmt: ast.ImportFrom, mod: Module, local: dict) -> None:
        source = self.import_from(mod, stmt)
        target = self.find_module(source) if source else None
        if target is not None and target is not mod:
            self.run_module(target)
        for alias in stmt.names:
            if alias.name == "*":
                if target is not None:
                    local.update({k: v for k, v in target.globals.items() if not k.startswith("_")})
                continue
            name = alias.asname or alias.name
            sub = self.find_module(f"{source}.{alias.name}") if source else None
            if target is not None and alias.name in target.globals:
                local[name] = target.globals[alias.name]
            elif sub is not None:
                local[name] = ModuleRef(self.run_module(sub))
            elif target is not None and target.state == "running":
                local[name] = Lazy(target, alias.name)  # a circular import: bound once that module gets there
            elif target is not None:
                local[name] = Unknown(f"{source}.{alias.name}")
            else:
                local[name] = External(f"{source}.{alias.name}")

    def exec_branches(
        self,
        test: object,
        body: list[ast.stmt],
        orelse: list[ast.stmt],
        mod: Module,
        scopes: list[dict],
        node: ast.If | ast.While | None = None,
    ) -> None:
        known = truth(test)
        if known is True:
            self.exec_body(body, mod, scopes)
        elif known is False:
            self.exec_body(orelse, mod, scopes)
        else:  # both run, each from the state before the `if`; then each name is merged
            local = scopes[0]
            before = dict(local)
            self.exec_maybe(body, mod, scopes)
            kept = dict(local)
            local.clear()
            local.update(before)
            self.exec_maybe(orelse, mod, scopes)
            self.keep_known(local, kept)

    def exec_maybe(self, body: list[ast.stmt], mod: Module, scopes: list[dict]) -> None:
        """A block that may or may not run: a `return` in it is remembered, and the code after it runs too (a
        function returns a value only when every way out returns that same value, see `call_function`)."""
        try:
            self.exec_body(body, mod, scopes)
        except _Return as ret:
            if self.maybe_returns:
                self.maybe_returns[-1].append(ret.args[0])

    def exec_for(self, stmt: ast.For | ast.AsyncFor, mod: Module, scopes: list[dict]) -> None:
        items = self.iterate(self.eval(stmt.iter, mod, scopes))
        if items is not None:
            for item in items:
                self.bind(stmt.target, item, mod, scopes)
                self.exec_body(stmt.body, mod, scopes)
        else:
            self.bind(stmt.target, Unknown("loop variable"), mod, scopes)
            self.loops += 1
            try:
                self.loop_over_unknown(stmt, mod, scopes)
            finally:
                self.loops -= 1
        self.exec_body(stmt.orelse, mod, scopes)

    def loop_over_unknown(self, stmt: ast.For | ast.AsyncFor, mod: Module, scopes: list[dict]) -> None:
        """The body of a loop whose items are not known, run once with the loop variable unknown."""
        self.exec_maybe(stmt.body, mod, scopes)

    def exec_aug_assign(self, stmt: ast.AugAssign, mod: Module, scopes: list[dict]) -> None:
        if not isinstance(stmt.target, ast.Name):
            return
        left = self.eval(stmt.target, mod, scopes)
        right = self.eval(stmt.value, mod, scopes)
        if isinstance(stmt.op, ast.Add) and isinstance(left, list) and isinstance(right, list):
            left.extend(right)  # in place, as Python does for lists
            return
        value = self.binop(stmt.op, left, right)
        self.bind(stmt.target, value, mod, scopes)

    def keep_known(self, local: dict, kept: dict) -> None:
        """Two alternatives ran (`kept` after one, `local` after the other): each name gets `merge` of its two values
        (`try: from .kobo import kobo / except: kobo = None` keeps the blueprint)."""
        for name in set(kept) | set(local):
            if name not in kept or name not in local:  # bound on one side only: code that uses it took that side
                local[name] = kept[name] if name in kept else local[name]
            else:
                local[name] = self.merge(kept[name], local[name], name)

    def merge(self, a: object, b: object, name: str = "value") -> object:
        """One value for two alternatives. The same value stays. An object that is *which* thing (an app, a view, a
        function, a class, a module) wins over a fallback (None, unknown): code that goes on to use it means that
        one. Two different data values (strings, numbers, lists) are unknown: taking either would be a guess."""
        if _same(a, b):
            return a
        identity = (FuncRef, ClassRef, ModuleRef, Instance, BoundMethod)
        for x, y in ((a, b), (b, a)):
            if (isinstance(x, identity) or self.is_identity(x)) and (y is None or isinstance(y, Unknown)):
                return x
        return Unknown(f"{name}: differs between branches")

    def bind(self, target: ast.expr, value: object, mod: Module, scopes: list[dict]) -> None:
        local = scopes[0]
        if isinstance(target, ast.Name):
            local[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value if isinstance(value, (list, tuple)) and len(value) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                self.bind(elt, values[i] if values else Unknown("unpacked"), mod, scopes)
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value, mod, scopes)
            key = self.eval(target.slice, mod, scopes)
            if isinstance(container, dict) and isinstance(key, KEYS):
                container[key] = value
            elif isinstance(container, dict):
                container.clear()  # an unknown key: nothing of it is known any more
                if isinstance(container, KnownDict):
                    container.complete = False
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value, mod, scopes)
            if isinstance(owner, Instance):
                owner.attrs[target.attr] = value
            elif self.is_framework(owner):
                self.set_attribute(owner, target.attr, value)

    def set_attribute(self, receiver: object, name: str, value: object) -> None:
        """`receiver.name = value` on a framework object (hook)."""

    # --- expressions -------------------------------------------------------------------------------------------

    def lookup(self, name: str, scopes: list[dict]) -> object:
        for scope in scopes:
            if name in scope:
                value = scope[name]
                if isinstance(value, Lazy):
                    return value.module.globals.get(value.name, Unknown(name))
                return value
        if name in BUILTINS:
            return External(f"builtins.{name}")
        return Unknown(name)

    def eval(self, node: ast.expr | None, mod: Module, scopes: list[dict]) -> object:
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scopes)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            out: list = []
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    inner = self.iterate(self.eval(e.value, mod, scopes))
                    if inner is None:
                        return Unknown("starred")
                    out.extend(inner)
                else:
                    out.append(self.eval(e, mod, scopes))
            return out
        if isinstance(node, ast.Dict):
            return self.eval_dict(node, mod, scopes)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self.comprehension(node, mod, scopes)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                val = self.eval(v.value, mod, scopes) if isinstance(v, ast.FormattedValue) else v.value  # type: ignore[attr-defined]
                if isinstance(val, int) and not isinstance(val, bool):
                    val = str(val)
                if not isinstance(val, str) or (
                    isinstance(v, ast.FormattedValue) and (v.format_spec or v.conversion > 0)
                ):
                    return Unknown("f-string")
                parts.append(val)
            return carry("".join(parts), parts)
        if isinstance(node, ast.BinOp):
            return self.binop(node.op, self.eval(node.left, mod, scopes), self.eval(node.right, mod, scopes))
        if isinstance(node, ast.BoolOp):
            return self.boolop(node, mod, scopes)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            t = truth(self.eval(node.operand, mod, scopes))
            return Unknown("not") if t is None else not t
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = self.eval(node.left, mod, scopes), self.eval(node.comparators[0], mod, scopes)
            if isinstance(right, External) and right.qualname == "os.environ" and isinstance(left, str):
                self.environment.setdefault(left, "set" if left in os.environ else "unset")
            return self.compare(node.ops[0], left, right)
        if isinstance(node, ast.IfExp):
            t = truth(self.eval(node.test, mod, scopes))
            if t is None:
                return Unknown("conditional expression")
            return self.eval(node.body if t else node.orelse, mod, scopes)
        if isinstance(node, ast.Subscript):
            return self.subscript(self.eval(node.value, mod, scopes), node.slice, mod, scopes)
        if isinstance(node, ast.Attribute):
            return self.get_attribute(self.eval(node.value, mod, scopes), node.attr)
        if isinstance(node, ast.Call):
            return self.call(node, mod, scopes)
        if isinstance(node, ast.NamedExpr):  # `if x := value:` binds x and is value
            value = self.eval(node.value, mod, scopes)
            self.bind(node.target, value, mod, scopes)
            return value
        return Unknown(type(node).__name__)

    def eval_dict(self, node: ast.Dict, mod: Module, scopes: list[dict]) -> object:
        out = KnownDict()
        for k, v in zip(node.keys, node.values):
            if k is None:
                inner = self.eval(v, mod, scopes)
                if not isinstance(inner, dict) or (isinstance(inner, KnownDict) and not inner.complete):
                    return Unknown("dict")
                out.update(inner)
                continue
            key = self.eval(k, mod, scopes)
            if not isinstance(key, (str, int, float, bool, type(None))):
                return Unknown("dict key")
            out[key] = self.eval(v, mod, scopes)
        return out

    def comprehension(self, node: ast.expr, mod: Module, scopes: list[dict]) -> object:
        generators = node.generators  # type: ignore[attr-defined]
        results: list = []

        def run(i: int, scope: dict) -> bool:
            inner = [scope, *scopes]
            if i == len(generators):
                if isinstance(node, ast.DictComp):
                    results.append((self.eval(node.key, mod, inner), self.eval(node.value, mod, inner)))
                else:
                    results.append(self.eval(node.elt, mod, inner))  # type: ignore[attr-defined]
                return True
            gen = generators[i]
            items = self.iterate(self.eval(gen.iter, mod, inner))
            if items is None:
                return False
            for item in items:
                new = dict(scope)
                self.bind(gen.target, item, mod, [new, *scopes])
                keep = [truth(self.eval(c, mod, [new, *scopes])) for c in gen.ifs]
                if None in keep:
                    return False
                if all(keep) and not run(i + 1, new):
                    return False
            return True

        if not run(0, {}):
            return Unknown("comprehension over values not known")
        if isinstance(node, ast.DictComp):
            if not all(isinstance(k, (str, int)) for k, _ in results):
                return Unknown("dict key")
            return KnownDict(results)
        return results

    @staticmethod
    def iterate(value: object) -> list | None:
        """The items a `for` would see, when they are known."""
        if isinstance(value, KnownDict) and not value.complete:
            return None
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, (list, tuple)):
            return list(value)
        return None

    @staticmethod
    def binop(op: ast.operator, left: object, right: object) -> object:
        return carry(Evaluator._binop(op, left, right), left, right)

    @staticmethod
    def _binop(op: ast.operator, left: object, right: object) -> object:
        if isinstance(op, ast.Add):
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool):
                return left + right
        if isinstance(op, ast.Mod) and isinstance(left, str):
            values = tuple(right) if isinstance(right, list) else (right,)
            if all(isinstance(v, (str, int)) for v in values):
                try:
                    return left % values
                except (TypeError, ValueError):
                    pass
        if isinstance(op, ast.BitOr) and isinstance(left, dict) and isinstance(right, dict):
            out = KnownDict({**left, **right})
            out.complete = getattr(left, "complete", True) and getattr(right, "complete", True)
            return out
        return Unknown("expression")

    def boolop(self, node: ast.BoolOp, mod: Module, scopes: list[dict]) -> object:
        value: object = None
        seen: list = []  # variables found unset on the way: `os.getenv("P") or "/api"` assumes P unset
        for v in node.values:
            value = self.eval(v, mod, scopes)
            t = truth(value)
            if t is None:
                return Unknown("boolean expression")
            if isinstance(node.op, ast.Or) and t:
                return carry(value, seen)
            if isinstance(node.op, ast.And) and not t:
                return value
            seen.append(value)
        return carry(value, seen) if isinstance(node.op, ast.Or) else value

    @staticmethod
    def compare(op: ast.cmpop, left: object, right: object) -> object:
        simple = (str, int, float, bool, type(None))
        if isinstance(op, (ast.Is, ast.IsNot)) and (left is None or right is None):
            if isinstance(left, Unknown) or isinstance(right, Unknown):
                return Unknown("comparison")
            same = left is right
            return same if isinstance(op, ast.Is) else not same
        if isinstance(left, simple) and isinstance(right, simple):
            if isinstance(op, ast.Eq):
                return left == right
            if isinstance(op, ast.NotEq):
                return left != right
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, External) and right.qualname == "os.environ":
            if not isinstance(left, str):
                return Unknown("comparison")
            found = left in os.environ
            return found if isinstance(op, ast.In) else not found
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(left, simple):
            if isinstance(right, (list, str)) and (not isinstance(right, str) or isinstance(left, str)):
                if isinstance(right, list) and not all(isinstance(x, simple) for x in right):
                    return Unknown("comparison")
                found = left in right
                return found if isinstance(op, ast.In) else not found
            if isinstance(right, dict) and (not isinstance(right, KnownDict) or right.complete):
                return (left in right) if isinstance(op, ast.In) else (left not in right)
        return Unknown("comparison")

    def subscript(self, value: object, index_node: ast.expr, mod: Module, scopes: list[dict]) -> object:
        if isinstance(index_node, ast.Slice):
            if isinstance(value, (list, str)):
                bounds = [self.eval(b, mod, scopes) for b in (index_node.lower, index_node.upper, index_node.step)]
                lower, upper, step = bounds
                if all(b is None or isinstance(b, int) for b in bounds):
                    return value[slice(lower, upper, step)]  # type: ignore[arg-type]
            return Unknown("slice")
        index = self.eval(index_node, mod, scopes)
        if isinstance(value, External) and value.qualname == "os.environ" and isinstance(index, str):
            return self.env_value(index, None, True) if index in os.environ else Unknown(f"os.environ[{index!r}]")
        if isinstance(value, dict) and isinstance(index, KEYS):
            if index in value:
                return value[index]
            return Unknown(f"[{index!r}]")
        if isinstance(value, (list, str)) and isinstance(index, int) and not isinstance(index, bool):
            try:
                return value[index]
            except IndexError:
                return Unknown("index")
        return Unknown("subscript")

    def get_attribute(self, base: object, name: str) -> object:
        if isinstance(base, ModuleRef):
            if name in base.module.globals:
                value = base.module.globals[name]
                return value.module.globals.get(value.name, Unknown(name)) if isinstance(value, Lazy) else value
            sub = self.modules.get(f"{base.module.name}.{name}")
            return ModuleRef(self.run_module(sub)) if sub else Unknown(name)
        if isinstance(base, External):
            return External(f"{base.qualname}.{name}")
        if isinstance(base, (FuncRef, ClassRef)) and name in ("__name__", "__qualname__"):
            return base.node.name
        if isinstance(base, ClassRef):
            attrs = self.class_attributes(base)
            return attrs.get(name, Unknown(name))
        if isinstance(base, Instance):
            if name in base.attrs:
                return base.attrs[name]
            attr = self.class_attributes(base.cls).get(name, Unknown(name))
            return BoundMethod(attr, base) if isinstance(attr, FuncRef) else attr
        if self.is_framework(base):
            return self.attribute(base, name)
        return Unknown(name)

    def class_bases(self, cls: ClassRef) -> list[object]:
        return [self.eval(b, cls.module, [cls.module.globals]) for b in cls.node.bases]

    def class_attributes(self, cls: ClassRef, seen: frozenset = frozenset()) -> dict:
        if id(cls.node) not in self.class_cache:
            self.class_cache[id(cls.node)] = self._class_attributes(cls, seen)
        return self.class_cache[id(cls.node)]

    def _class_attributes(self, cls: ClassRef, seen: frozenset = frozenset()) -> dict:
        """A class's attributes: its bases' (in the tree) first, then its own simple assignments and defs, each
        evaluated in the class body as Python would (a name defined earlier in the body is visible)."""
        if id(cls.node) in seen:
            return {}
        attrs: dict = {}
        for base in reversed(self.class_bases(cls)):
            if isinstance(base, ClassRef):
                attrs.update(self.class_attributes(base, seen | {id(cls.node)}))
        own: dict = {}
        for stmt in cls.node.body:
            if isinstance(stmt, ast.Assign):
                value = self.eval(stmt.value, cls.module, [own, cls.module.globals])
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        own[t.id] = value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                own[stmt.target.id] = self.eval(stmt.value, cls.module, [own, cls.module.globals])
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                own[stmt.name] = FuncRef(cls.module, stmt)
        attrs.update(own)
        return attrs

    def framework_base(self, cls: ClassRef, names: tuple[str, ...], seen: frozenset = frozenset()) -> External | None:
        """The outside class among `names` that a tree class derives from (through tree classes), if any."""
        if id(cls.node) in seen:
            return None
        for base in self.class_bases(cls):
            if isinstance(base, External) and base.qualname.split(".")[-1] in names:
                return base
            if isinstance(base, ClassRef):
                found = self.framework_base(base, names, seen | {id(cls.node)})
                if found is not None:
                    return found
        return None

    def kwargs(self, node: ast.Call, mod: Module, scopes: list[dict]) -> dict | None:
        """Keyword arguments; None when a `**mapping` is not known."""
        out: dict = {}
        for k in node.keywords:
            if k.arg:
                out[k.arg] = self.eval(k.value, mod, scopes)
            else:
                inner = self.eval(k.value, mod, scopes)
                if not isinstance(inner, dict) or (isinstance(inner, KnownDict) and not inner.complete):
                    return None
                out.update(inner)
        return out

    def args(self, node: ast.Call, mod: Module, scopes: list[dict]) -> list | None:
        """Positional arguments; None when a `*iterable` is not known."""
        out: list = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                inner = self.iterate(self.eval(a.value, mod, scopes))
                if inner is None:
                    return None
                out.extend(inner)
            else:
                out.append(self.eval(a, mod, scopes))
        return out

    def call_args(self, node: ast.Call, mod: Module, scopes: list[dict]) -> tuple[list, dict]:
        args, kw = self.args(node, mod, scopes), self.kwargs(node, mod, scopes)
        return (args if args is not None else [Unknown("*args")]), (kw if kw is not None else {})

    def call(self, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Name) and func.id == "super" and not node.args:
            return Super(self.lookup("self", scopes))
        if isinstance(func, ast.Attribute):
            receiver = self.eval(func.value, mod, scopes)
            if isinstance(receiver, str):
                return self.string_method(receiver, name, node, mod, scopes)
            if isinstance(receiver, list):
                return self.list_method(receiver, name, node, mod, scopes)
            if isinstance(receiver, dict):
                return self.dict_method(receiver, name, node, mod, scopes)
            if isinstance(receiver, Super):
                return self.super_call(receiver.self, name, node, mod, scopes)
            if self.is_framework(receiver):
                return self.method_call(receiver, name, node, mod, scopes)
            if not isinstance(receiver, (ModuleRef, External, ClassRef, Instance)):
                return self.unknown_receiver(receiver, func.value, name, node, mod, scopes)
        target = self.eval(func, mod, scopes)
        if isinstance(target, BoundMethod):
            args, kw = self.call_args(node, mod, scopes)
            return self.call_function(target.func, [target.self, *args], kw)
        if isinstance(target, FuncRef):
            args, kw = self.call_args(node, mod, scopes)
            return self.wrapped(args, kw, self.call_function(target, args, kw))
        if isinstance(target, External):
            return self.call_external(target, node, mod, scopes)
        if isinstance(target, ClassRef):
            return self.construct(target.node.name, target, node, mod, scopes)
        if node.args and not isinstance(target, (ModuleRef, Instance)):  # `unknown_decorator()(view)`
            return self.wrapped(*self.call_args(node, mod, scopes), Unknown(name))
        return Unknown(name)

    def unknown_receiver(
        self, receiver: object, expr: ast.expr, name: str, node: ast.Call, mod: Module, scopes: list[dict]
    ) -> object:
        """A method called on a value that is not known (hook: the framework may note it)."""
        return Unknown(name)

    def call_external(self, target: External, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """A call of a name from outside the tree: a few builtins on known values, else the `construct` hook."""
        q = target.qualname
        if q.startswith("builtins."):
            return self.builtin(q.removeprefix("builtins."), node, mod, scopes)
        if q in ("importlib.import_module", "werkzeug.utils.import_string", "werkzeug.import_string"):
            args, kw = self.call_args(node, mod, scopes)
            if args and isinstance(args[0], str) and not kw:
                return self.resolve_dotted(args[0].replace(":", "."))
            return Unknown(q)
        if q in ("os.path.join", "posixpath.join"):
            args, kw = self.call_args(node, mod, scopes)
            if args and all(isinstance(a, str) for a in args) and not kw:
                return carry(posixpath.join(*args), *args)
            return Unknown(q)
        if q in ("os.environ.get", "os.getenv", "os.environ.setdefault"):
            args, kw = self.call_args(node, mod, scopes)
            name = args[0] if args else kw.get("key")
            given = len(args) > 1 or "default" in kw
            return self.env_value(name, args[1] if len(args) > 1 else kw.get("default"), given)
        return self.construct(q.split(".")[-1], target, node, mod, scopes)

    def env_value(self, name: object, default: object, has_default: bool) -> object:
        """An environment variable as the app reads it at start-up: its value in strangler's environment if set
        there, else the code's default (a variable unset and without default is `EnvUnset`). A string value
        carries the assumption (`EnvStr`); every variable read is kept in `self.environment`."""
        if not isinstance(name, str):
            return Unknown("environment variable")
        if name in os.environ:
            value = os.environ[name]
            self.environment[name] = f"{value!r} (set in strangler's environment)"
            return tagged(value, f"{name}={value!r} (set in strangler's environment)")
        if not has_default or default is None:
            self.environment.setdefault(name, "unset")
            return EnvUnset(name)
        if isinstance(default, str):
            self.environment.setdefault(name, f"unset: default {default!r}")
            return carry(tagged(default, f"{name} unset: default {default!r}"), default)
        self.environment.setdefault(name, "unset")
        return default

    def builtin(self, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """list(), dict(), sorted(), getattr() … on known values."""
        args, kw = self.call_args(node, mod, scopes)
        items = self.iterate(args[0]) if len(args) == 1 else None
        if name in ("list", "tuple") and not args:
            return []
        if name in ("list", "tuple", "reversed") and items is not None:
            return items[::-1] if name == "reversed" else items
        if name == "sorted" and items is not None and all(isinstance(i, str) for i in items):
            return sorted(items)
        if name == "dict" and not args:
            return KnownDict(kw)
        if name == "dict" and isinstance(args[0] if args else None, dict):
            return KnownDict({**args[0], **kw})
        if name == "str" and len(args) == 1 and isinstance(args[0], (str, int)):
            return carry(str(args[0]), args[0])
        if name == "len" and len(args) == 1 and isinstance(args[0], (str, list)):
            return len(args[0])
        if name == "zip" and args:
            lists = [self.iterate(a) for a in args]
            if all(x is not None for x in lists):
                return [list(t) for t in zip(*[x or [] for x in lists])]
        if name == "enumerate" and items is not None:
            return [[i, v] for i, v in enumerate(items)]
        if name == "getattr" and len(args) in (2, 3) and isinstance(args[1], str):
            value = self.get_attribute(args[0], args[1])
            return (
                args[2]
                if isinstance(value, Unknown)
                and len(args) == 3
                and isinstance(args[0], (ClassRef, Instance, ModuleRef))
                else value
            )
        return Unknown(name)

    def string_method(self, text: str, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """'/{}/x'.format(d), '/'.join([...]), .strip('/') and friends, when every argument is known."""
        args, kw = self.call_args(node, mod, scopes)
        try:
            if name == "format" and all(isinstance(v, (str, int)) for v in [*args, *kw.values()]):
                return carry(text.format(*args, **kw), text, *args, *kw.values())
            if (
                name == "join"
                and len(args) == 1
                and isinstance(args[0], list)
                and all(isinstance(a, str) for a in args[0])
            ):
                return carry(text.join(args[0]), text, args[0])
            if (
                name in ("strip", "lstrip", "rstrip", "lower", "upper", "replace", "removeprefix", "removesuffix")
                and not kw
                and all(isinstance(a, str) for a in args)
            ):
                return carry(getattr(text, name)(*args), text, *args)
            if name in ("partition", "rpartition") and len(args) == 1 and isinstance(args[0], str):
                return list(getattr(text, name)(args[0]))
            if name in ("split", "rsplit") and all(isinstance(a, (str, int)) for a in args) and not kw:
                return getattr(text, name)(*args)
            if name in ("startswith", "endswith") and len(args) == 1 and isinstance(args[0], str):
                return getattr(text, name)(args[0])
        except (IndexError, KeyError, ValueError, TypeError):
            pass
        return Unknown(f"str.{name}")

    def list_method(self, items: list, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        args, _ = self.call_args(node, mod, scopes)
        if name == "append" and len(args) == 1:
            items.append(args[0])
        elif name == "extend" and len(args) == 1:
            more = self.iterate(args[0])
            if more is None:
                items.append(Unknown("extend"))  # an unknown item makes loops over the list visible as such
            else:
                items.extend(more)
        elif name == "insert" and len(args) == 2 and isinstance(args[0], int):
            items.insert(args[0], args[1])
        elif name == "copy":
            return list(items)
        else:
            return Unknown(f"list.{name}")
        return None

    def dict_method(self, mapping: dict, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        args, kw = self.call_args(node, mod, scopes)
        complete = not isinstance(mapping, KnownDict) or mapping.complete
        if name == "items" and complete:
            return [[k, v] for k, v in mapping.items()]
        if name == "keys" and complete:
            return list(mapping)
        if name == "values" and complete:
            return list(mapping.values())
        if name == "get" and args and isinstance(args[0], KEYS):
            if args[0] in mapping:
                return mapping[args[0]]
            return (args[1] if len(args) > 1 else None) if complete else Unknown(f"[{args[0]!r}]")
        if name in ("update", "setdefault"):
            if name == "setdefault" and args and isinstance(args[0], (str, int)):
                return mapping.setdefault(args[0], args[1] if len(args) > 1 else None)
            if args and isinstance(args[0], dict):
                mapping.update(args[0])
            elif args:
                mapping.clear()
                if isinstance(mapping, KnownDict):
                    mapping.complete = False
            mapping.update(kw)
            return None
        return Unknown(f"dict.{name}")

    def call_function(self, ref: FuncRef, args: list, kwargs: dict) -> object:
        """Run a function's body with its arguments bound. A second call with the same immutable arguments (strings,
        numbers, functions, classes, modules, unknowns) gives the first one's result without running again: it
        would register the same routes again, and real code calls helpers many times."""
        if self.depth > self.MAX_DEPTH:
            return Unknown("recursion")
        key = _memo_key(ref, args, kwargs)
        if key is not None and key in self.memo:
            return self.memo[key]
        result = self._run_function(ref, args, kwargs)
        if key is not None:
            self.memo[key] = result
        return result

    def _run_function(self, ref: FuncRef, args: list, kwargs: dict) -> object:
        self.called.add(id(ref.node))
        local = self.bind_args(ref, args, kwargs)
        self.depth += 1
        self.running.append(ref)
        self.maybe_returns.append([])
        result: object = None
        try:
            self.exec_body(ref.node.body, ref.module, [local, ref.module.globals])
        except _Return as ret:
            result = ret.args[0]
        finally:
            self.function_done()
            self.depth -= 1
            self.running.pop()
            maybe = self.maybe_returns.pop()
        for value in maybe:
            result = self.merge(value, result, "the return value")
        return result

    def bind_args(self, ref: FuncRef, args: list, kwargs: dict) -> dict:
        """Parameters bound as Python binds them: positional, keywords, defaults, *args and **kwargs; a parameter
        with neither argument nor default is unknown."""
        spec = ref.node.args
        params = spec.posonlyargs + spec.args
        local: dict = {}
        scope = [ref.module.globals]
        defaults = [None] * (len(params) - len(spec.defaults)) + list(spec.defaults)
        for p, default in zip(params, defaults):
            local[p.arg] = self.eval(default, ref.module, scope) if default is not None else Unknown(p.arg)
        for p, default in zip(spec.kwonlyargs, spec.kw_defaults):
            local[p.arg] = self.eval(default, ref.module, scope) if default is not None else Unknown(p.arg)
        for p, value in zip(params, args):
            local[p.arg] = value
        if spec.vararg:
            known = not any(isinstance(a, Unknown) and a.why == "*args" for a in args)
            local[spec.vararg.arg] = list(args[len(params) :]) if known else Unknown("*args")
        extra = KnownDict()
        for k, value in kwargs.items():
            if k in local and k not in (spec.vararg.arg if spec.vararg else "",):
                local[k] = value
            else:
                extra[k] = value
        if spec.kwarg:
            local[spec.kwarg.arg] = extra
        return local

    def run_uncalled(self, only_loaded: bool = False) -> None:
        """Run every module (`only_loaded`: none, those that ran already), then the bodies of module-level functions
        nobody in the tree calls (factories called by a server, a CLI or tests), with their defaults. A function whose name the tree calls somewhere waits for
        that call (run on its own too, an app it makes would be listed without the prefix its caller mounts it
        under): such functions run callers first, each only if no run reached it."""
        if not only_loaded:
            for mod in list(self.modules.values()):
                self.run_module(mod)
        defs = [
            (mod, node)
            for mod in self.modules.values()
            if mod.state == "done"
            for node in mod.tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        callers: dict[str, set[int]] = {}  # a called name -> the module-level functions that call it
        for mod in self.modules.values():
            for top in mod.tree.body:
                for node in ast.walk(top):
                    if isinstance(node, ast.Call):
                        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                        callers.setdefault(name, set()).add(id(top))
        pending = [(mod, node) for mod, node in defs if node.name in callers]
        for mod, node in defs:
            if node.name not in callers:
                self.run_alone(mod, node)
        while pending:
            waiting = {id(node) for _, node in pending if id(node) not in self.called}
            pick = next(
                (i for i, (_, node) in enumerate(pending) if not (callers[node.name] - {id(node)}) & waiting), 0
            )
            mod, node = pending.pop(pick)
            self.run_alone(mod, node)
        for mod, node in defs:
            if node.name in callers and self.is_factory(node):
                self.run_with_defaults(mod, node)

    def is_factory(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Whether a function makes an app itself (hook)."""
        return False

    def run_with_defaults(self, mod: Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """An app factory the tree calls only with arguments (tests, a CLI) is also called as a server calls it,
        `create_app()`, when every parameter has a default: the app it then makes is the one loaded by default."""
        spec = node.args
        required = len(spec.posonlyargs + spec.args) - len(spec.defaults)
        if required > 0 or any(d is None for d in spec.kw_defaults):
            return
        ref = FuncRef(mod, node)
        if _memo_key(ref, [], {}) in self.memo:
            return  # the tree calls it that way already
        self.frames.append(f"{self.import_name(mod)}:{node.name}()")
        try:
            self.call_function(ref, [], {})
        finally:
            self.frames.pop()

    def run_alone(self, mod: Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """A module-level function run on its own with its defaults, unless a run reached it already."""
        if id(node) in self.called:
            return
        self.called.add(id(node))
        self.depth += 1
        ref = FuncRef(mod, node)
        self.running.append(ref)
        self.frames.append(f"{self.import_name(mod)}:{node.name}()")
        try:
            self.exec_body(node.body, mod, [self.bind_args(ref, [], {}), mod.globals])
        except _Return:
            pass
        finally:
            self.function_done()
            self.depth -= 1
            self.running.pop()
            self.frames.pop()
