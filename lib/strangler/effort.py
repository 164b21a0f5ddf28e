"""Porting effort of each Flask route: its code's complexity (radon) and how deeply it leans on Flask.

Reads the source, runs nothing. Works on the distinct routes of the `routes` table (a few hundred at most), so
the Python here walks syntax trees, never log rows.

**Which code belongs to a route.** The view at `routes.file:line` — the function whose `def` (or first decorator)
is on that line, else the innermost function that spans it. When the line is a class (a `View`/`MethodView`),
the class's method named after the HTTP method (`get`, `post` …), else its `dispatch_request`. When the function
found there is not named like the route's endpoint (the source changed after the inventory), the one function of
that file named like the endpoint is used instead, with a note.

**Helpers, one level deep.** A call inside the view counts its callee as a helper when the callee is a function
of the source tree: `name(...)` for a module-level function of the same file or one imported from a module of
the tree (`from .services import load_trip`, relative or absolute imports, resolved by module-name suffix),
`module.name(...)` for an imported module of the tree, and `self.name(...)`/`cls.name(...)` for a method of the
view's own class. Callees of helpers are not followed, library functions are never helpers, and each helper
counts once per route however often it is called.

**Metrics** (radon): `cyclomatic` is radon's cyclomatic complexity of the view function itself
(`ComplexityVisitor`, exactly what `radon cc` prints for it); `helper_cyclomatic` sums the helpers';
`complexity = cyclomatic + helper_cyclomatic`. `sloc` and `halstead_volume` are radon's raw SLOC and Halstead
volume of the view's source plus each helper's source. `maintainability` is radon's maintainability index
(`mi_visit(..., multi=True)`, 0–100, higher is easier) of the view's own source.

**Flask coupling**, one row per construct with file and line (table `coupling`), in the view, its decorators
and its helpers, plus app-wide and blueprint-wide constructs that apply to it:

| kind | what is counted | weight |
|---|---|---|
| `g` | each use of `flask.g` | 1 |
| `session` | each use of `flask.session` | 2 |
| `request_body` | `request.form`, `.files`, `.values`, `.get_json`, `.json` | 0.5 |
| `hook` | `before_request`/`after_request`/`teardown_*` on the route's blueprint (or a parent) or on the app | 1 |
| `current_user` | each use of `current_user` | 1 |
| `login_required` | a `login_required`/`fresh_login_required` decorator | 1 |
| `render_template` | `render_template`, `render_template_string`, `stream_template` | 2 |
| `streaming` | `stream_with_context`; a generator (a `def` containing `yield`) in the view | 2 |
| `send_file` | `send_file`, `send_from_directory` | 1 |
| `abort` | `abort` | 0.5 |
| `make_response` | `make_response` | 0.5 |
| `db_session` | Flask-SQLAlchemy `db.session` (`db`, or any name bound to `SQLAlchemy(...)`) | 1.5 |
| `model_query` | `Model.query` (`.query` on a capitalised name) | 1.5 |
| `current_app_config` | `current_app.config` | 0.5 |
| `extension` | a name imported from a `flask_*` module or bound to an instance of one (`cache`, `limiter` …) | 2 |
| `signal` | `.send(...)` of a blinker/Flask signal; a Flask request signal connected app-wide | 1.5 |

**Effort model** (points; one point ≈ a simple route ported with its test):

    effort = 1 + complexity / 5 + sloc / 50 + Σ_kind weight_kind · (1 + (n_kind − 1) / 4)

The first use of a kind costs its full weight (finding the FastAPI equivalent: a dependency, a response class,
middleware), each further use a quarter (a mechanical edit). A route whose source cannot be found gets
`effort = NULL` and a note; the plan treats it as 1 point and shows the note.
"""

from __future__ import annotations

import ast
import math
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from radon.metrics import h_visit, h_visit_ast, mi_visit
from radon.raw import analyze
from radon.visitors import ComplexityVisitor

from strangler import sourcetree
from strangler.errors import StranglerError

_FuncDef = ast.FunctionDef | ast.AsyncFunctionDef

WEIGHTS: dict[str, float] = {
    "g": 1,
    "session": 2,
    "request_body": 0.5,
    "hook": 1,
    "current_user": 1,
    "login_required": 1,
    "render_template": 2,
    "streaming": 2,
    "send_file": 1,
    "abort": 0.5,
    "make_response": 0.5,
    "db_session": 1.5,
    "model_query": 1.5,
    "current_app_config": 0.5,
    "extension": 2,
    "signal": 1.5,
}
KINDS = tuple(WEIGHTS)

_FLASK_NAMES = {
    "flask.g": "g",
    "flask.session": "session",
    "flask.render_template": "render_template",
    "flask.render_template_string": "render_template",
    "flask.stream_template": "render_template",
    "flask.stream_template_string": "render_template",
    "flask.stream_with_context": "streaming",
    "flask.send_file": "send_file",
    "flask.send_from_directory": "send_file",
    "flask.abort": "abort",
    "werkzeug.exceptions.abort": "abort",
    "flask.make_response": "make_response",
}
_BODY_ATTRS = {"form", "files", "values", "get_json", "json"}
_HOOKS = {
    "before_request",
    "after_request",
    "teardown_request",
    "teardown_appcontext",
    "before_app_request",
    "after_app_request",
    "teardown_app_request",
}
_APP_WIDE_HOOKS = {"before_app_request", "after_app_request", "teardown_app_request", "teardown_appcontext"}
_REQUEST_SIGNALS = {
    "request_started",
    "request_finished",
    "got_request_exception",
    "request_tearing_down",
    "appcontext_tearing_down",
}
_FLASK_SIGNALS = _REQUEST_SIGNALS | {
    "template_rendered",
    "before_render_template",
    "message_flashed",
    "appcontext_pushed",
    "appcontext_popped",
}
_LOGIN_DECORATORS = {"login_required", "fresh_login_required"}

METRIC_COLUMNS = [
    "cyclomatic",
    "helper_cyclomatic",
    "complexity",
    "sloc",
    "halstead_volume",
    "maintainability",
    "helpers",
    "view_file",
    "view_line",
    "note",
]


# --- the source tree ----------------------------------------------------------------------------------------


@dataclass
class Module:
    """One parsed file of the source tree, with what its names mean."""

    path: Path
    name: str  # dotted module name relative to the tree root
    tree: ast.Module
    lines: list[str]
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    functions: dict[str, _FuncDef | ast.ClassDef] = field(default_factory=dict)  # module-level defs
    blueprints: dict[str, str] = field(default_factory=dict)  # variable -> blueprint name
    instances: dict[str, str] = field(default_factory=dict)  # variable -> qualified constructor (module level)


class Source:
    """The parsed Python files under a root directory (plus any extra files named by routes)."""

    def __init__(self, root: Path | None, extra_files: list[Path] | None = None):
        self.root = root.resolve() if root else None
        self.modules: dict[Path, Module] = {}
        self.by_name: dict[str, Module] = {}
        files: list[Path] = []
        if self.root is not None:
            if not self.root.is_dir():
                raise StranglerError(f"source directory {root} does not exist")
            files = list(sourcetree.python_files(self.root))
        known = {p.resolve() for p in files}
        for f in extra_files or []:
            if f.resolve() not in known:
                files.append(f)
        for f in files:
            self._add(f.resolve())
        self.sqlalchemy_names = {"db"} | {
            var for m in self.modules.values() for var, q in m.instances.items() if q.endswith("SQLAlchemy")
        }
        self.signal_names = {
            var
            for m in self.modules.values()
            for var, q in m.instances.items()
            if q.endswith(".signal") or q.startswith("blinker.")
        }

    def _add(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, filename=str(path))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            return
        mod = Module(path, sourcetree.module_name(self.root, path), tree, text.splitlines())
        package = mod.name.split(".")[:-1] if path.name != "__init__.py" else mod.name.split(".")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    mod.imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1] if node.level > 1 else package
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                for a in node.names:
                    mod.imports[a.asname or a.name] = f"{origin}.{a.name}" if origin else a.name
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                mod.functions[node.name] = node
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                ctor = qualify(node.value.func, mod.imports)
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        mod.instances[t.id] = ctor
                        if (
                            ctor.split(".")[-1] == "Blueprint"
                            and node.value.args
                            and isinstance(node.value.args[0], ast.Constant)
                        ):
                            mod.blueprints[t.id] = str(node.value.args[0].value)
        self.modules[path] = mod
        self.by_name.setdefault(mod.name, mod)

    def find_module(self, dotted: str) -> Module | None:
        """The tree module for an import path (`sourcetree.find_module`)."""
        return sourcetree.find_module(self.by_name, self.root, dotted)

    def resolve(self, mod: Module, local: str) -> tuple[Module, str] | None:
        """Where a module-level name used in `mod` is defined inside the tree: (module, name)."""
        if local in mod.functions or local in mod.instances:
            return mod, local
        q = mod.imports.get(local)
        if not q or "." not in q:
            return None
        origin, _, name = q.rpartition(".")
        target = self.find_module(origin)
        if target is not None and target is not mod and (name in target.functions or name in target.instances):
            return target, name
        return None

    def file(self, path: str, hint: Path | None = None) -> Module | None:
        """The parsed module for a routes.file value (absolute, or relative to the tree root)."""
        candidates = [Path(path)]
        if self.root is not None:
            candidates.append(self.root / path)
        for c in candidates:
            try:
                m = self.modules.get(c.resolve())
            except OSError:
                m = None
            if m is not None:
                return m
        tail = Path(path).parts[-2:]
        hits = [m for p, m in self.modules.items() if p.parts[-len(tail) :] == tail]
        return hits[0] if len(hits) == 1 else None


def qualify(node: ast.AST, imports: dict[str, str]) -> str:
    """Dotted name of a Name/Attribute chain with the first part mapped through the file's imports."""
    if isinstance(node, ast.Name):
        return imports.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        return f"{qualify(node.value, imports)}.{node.attr}"
    if isinstance(node, ast.Call):
        return qualify(node.func, imports)
    return "?"


# --- finding the view ---------------------------------------------------------------------------------------

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _start(node: ast.stmt) -> int:
    decos = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decos])


def find_view(mod: Module, line: int, method: str) -> tuple[_FuncDef, ast.ClassDef | None] | None:
    """The function node for a route at `line` (see module docstring), and its class if it is a method."""
    best: tuple[_FuncDef, ast.ClassDef | None] | None = None
    best_span = math.inf

    def visit(node: ast.AST, cls: ast.ClassDef | None) -> None:
        nonlocal best, best_span
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (*_DEFS, ast.ClassDef)):
                start, end = _start(child), child.end_lineno or child.lineno
                exact = line in (start, child.lineno)
                if exact or start <= line <= end:
                    span = -1 if exact else end - start
                    if isinstance(child, ast.ClassDef):
                        meth = _class_method(child, method)
                        if exact and meth is not None:
                            best, best_span = (meth, child), -1
                            return
                    elif span < best_span:
                        best, best_span = (child, cls), span
                    if exact:
                        return
                visit(child, child if isinstance(child, ast.ClassDef) else cls)

    visit(mod.tree, None)
    return best


def find_by_name(mod: Module, name: str) -> _FuncDef | None:
    """The one function called `name` outside classes in `mod` (module level or nested), else None."""
    hits: list[_FuncDef] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _DEFS):
                if child.name == name:
                    hits.append(child)
                visit(child)
            elif not isinstance(child, ast.ClassDef):
                visit(child)

    visit(mod.tree)
    return hits[0] if len(hits) == 1 else None


def _class_method(cls: ast.ClassDef, method: str) -> _FuncDef | None:
    by_name = {n.name: n for n in cls.body if isinstance(n, _DEFS)}
    return by_name.get(method.lower()) or by_name.get("dispatch_request")


# --- metrics ------------------------------------------------------------------------------------------------


def _snippet(mod: Module, node: ast.stmt) -> str:
    code = textwrap.dedent("\n".join(mod.lines[_start(node) - 1 : node.end_lineno]))
    try:
        ast.parse(code)
        return code
    except SyntaxError:
        return ast.unparse(node)


def function_metrics(mod: Module, node: ast.stmt) -> dict[str, float]:
    """radon's cyclomatic complexity, SLOC, Halstead volume and maintainability index of one function."""
    visitor = ComplexityVisitor.from_ast(ast.Module(body=[node], type_ignores=[]))
    cc = visitor.functions[0].complexity if visitor.functions else visitor.complexity
    code = _snippet(mod, node)
    try:
        volume = h_visit(code).total.volume
    except Exception:  # radon on odd code; fall back to the node itself
        volume = h_visit_ast(node).total.volume
    return {
        "cyclomatic": cc,
        "sloc": analyze(code).sloc,
        "halstead_volume": float(volume or 0.0),
        "maintainability": float(mi_visit(code, True)),
    }


def helpers(src: Source, mod: Module, view: ast.AST, cls: ast.ClassDef | None) -> list[tuple[Module, _FuncDef, str]]:
    """The project functions the view calls directly (one level; see module docstring): (module, def, label)."""
    found: dict[tuple[Path, int], tuple[Module, _FuncDef, str]] = {}
    own = {n.name: n for n in cls.body if isinstance(n, _DEFS)} if cls is not None else {}
    for node in ast.walk(view):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        target: tuple[Module, _FuncDef, str] | None = None
        if isinstance(f, ast.Name):
            hit = src.resolve(mod, f.id)
            if hit and isinstance(fn := hit[0].functions.get(hit[1]), _DEFS):
                target = (hit[0], fn, f"{hit[0].name}.{hit[1]}")
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            if f.value.id in {"self", "cls"} and f.attr in own and cls is not None:
                target = (mod, own[f.attr], f"{cls.name}.{f.attr}")
            else:
                q = mod.imports.get(f.value.id)
                other = src.find_module(q) if q else None
                if other is not None and isinstance(fn := other.functions.get(f.attr), _DEFS):
                    target = (other, fn, f"{other.name}.{f.attr}")
        if target is not None and target[1] is not view:
            found.setdefault((target[0].path, target[1].lineno), target)
    return sorted(found.values(), key=lambda t: (str(t[0].path), t[1].lineno))


# --- coupling -----------------------------------------------------------------------------------------------


def coupling_in(src: Source, mod: Module, node: ast.AST) -> list[tuple[str, str, int]]:
    """Flask constructs used in one function (body and decorators): (kind, detail, line), in source order."""
    out: list[tuple[str, str, int]] = []
    ext_names = _extension_names(src, mod)
    decorators = getattr(node, "decorator_list", [])
    for d in decorators:
        name = qualify(d, mod.imports).split(".")[-1]
        if name in _LOGIN_DECORATORS:
            out.append(("login_required", name, d.lineno))
    for n in ast.walk(node):
        if isinstance(n, _DEFS) and any(isinstance(y, (ast.Yield, ast.YieldFrom)) for y in _own_nodes(n)):
            out.append(("streaming", f"generator {n.name}()", n.lineno))
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            q = mod.imports.get(n.id, "")
            kind = _FLASK_NAMES.get(q)
            if kind:
                out.append((kind, n.id, n.lineno))
            elif q.endswith(".current_user") or (n.id == "current_user" and not q):
                out.append(("current_user", "current_user", n.lineno))
            elif n.id in ext_names:
                out.append(("extension", ext_names[n.id], n.lineno))
        elif isinstance(n, ast.Attribute):
            base = qualify(n.value, mod.imports)
            full = f"{base}.{n.attr}"
            if full in _FLASK_NAMES and isinstance(n.value, ast.Name) and n.value.id in mod.imports:
                out.append((_FLASK_NAMES[full], full.removeprefix("flask."), n.lineno))
            elif base == "flask.request" and n.attr in _BODY_ATTRS:
                out.append(("request_body", f"request.{n.attr}", n.lineno))
            elif n.attr == "session" and isinstance(n.value, ast.Name) and n.value.id in src.sqlalchemy_names:
                out.append(("db_session", f"{n.value.id}.session", n.lineno))
            elif n.attr == "query" and isinstance(n.value, ast.Name) and n.value.id[:1].isupper():
                out.append(("model_query", f"{n.value.id}.query", n.lineno))
            elif n.attr == "config" and base == "flask.current_app":
                out.append(("current_app_config", "current_app.config", n.lineno))
            elif (
                n.attr == "send"
                and isinstance(n.value, ast.Name)
                and (
                    n.value.id in src.signal_names
                    or (base.startswith("flask") and base.split(".")[-1] in _FLASK_SIGNALS)
                )
            ):
                out.append(("signal", f"{n.value.id}.send", n.lineno))
    out.sort(key=lambda t: (t[2], t[0], t[1]))
    return out


def class_decorators(
    src: Source, mod: Module, cls: ast.ClassDef, method: str, seen: frozenset = frozenset()
) -> list[tuple[Module, ast.expr, str]]:
    """The decorators a view class puts on every method: MethodView's `decorators = [...]` and flask-restful's
    `method_decorators` (a list, or a dict of lists per HTTP method), its own and its tree base classes'
    (the nearest class that sets the attribute wins, as Python looks it up): (module, expression, via)."""
    if (mod.path, cls.lineno) in seen:
        return []
    found: dict[str, list[tuple[Module, ast.expr, str]]] = {}
    for stmt in cls.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        value = getattr(stmt, "value", None)
        for t in targets:
            if isinstance(t, ast.Name) and t.id in ("decorators", "method_decorators") and value is not None:
                if isinstance(value, ast.Dict):
                    items = [
                        v
                        for k, v in zip(value.keys, value.values)
                        if isinstance(k, ast.Constant) and str(k.value).lower() == method.lower()
                    ]
                    elts = [e for v in items if isinstance(v, (ast.List, ast.Tuple)) for e in v.elts]
                else:
                    elts = list(value.elts) if isinstance(value, (ast.List, ast.Tuple)) else []
                found[t.id] = [(mod, e, f"class {cls.name}.{t.id}") for e in elts]
    for base in cls.bases:  # attributes the class does not set come from the first base that does
        hit = src.resolve(mod, base.id) if isinstance(base, ast.Name) else None
        base_cls = hit[0].functions.get(hit[1]) if hit else None
        if hit is None or not isinstance(base_cls, ast.ClassDef):
            continue
        inherited: dict[str, list[tuple[Module, ast.expr, str]]] = {}
        for owner, entry, via in class_decorators(src, hit[0], base_cls, method, seen | {(mod.path, cls.lineno)}):
            inherited.setdefault(via.rsplit(".", 1)[-1], []).append((owner, entry, via))
        for attr, entries in inherited.items():
            found.setdefault(attr, entries)
    return [x for entries in found.values() for x in entries]


def decorator_coupling(src: Source, mod: Module, entry: ast.expr) -> list[tuple[str, str, int]]:
    """Flask constructs in one entry of a view class's decorator list: a login decorator, an extension …"""
    out = []
    name = qualify(entry, mod.imports).split(".")[-1]
    if name in _LOGIN_DECORATORS:
        out.append(("login_required", name, entry.lineno))
    return out + [c for c in coupling_in(src, mod, entry) if c[0] != "login_required"]


_NOT_EXTENSIONS = (
    "flask_login.current_user",
    "flask_login.login_required",
    "flask_login.fresh_login_required",
    "flask_sqlalchemy",
)


def _extension_names(src: Source, mod: Module) -> dict[str, str]:
    """Names in `mod` that stand for a Flask extension -> what they are (e.g. 'cache' -> 'flask_caching.Cache').

    Flask-Login's current_user/login_required and Flask-SQLAlchemy have kinds of their own.
    """
    out: dict[str, str] = {}
    for local, q in mod.imports.items():
        if q.startswith("flask_") and not q.startswith(_NOT_EXTENSIONS):
            out[local] = q
        origin, _, name = q.rpartition(".")
        other = src.find_module(origin) if origin else None
        if other is not None and other is not mod:
            ctor = other.instances.get(name, "")
            if ctor.startswith("flask_") and not ctor.startswith(_NOT_EXTENSIONS):
                out[local] = ctor
    for var, ctor in mod.instances.items():
        if ctor.startswith("flask_") and not ctor.startswith(_NOT_EXTENSIONS):
            out[var] = ctor
    return out


def _own_nodes(fn: ast.AST):
    """Nodes of a function body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        n = stack.pop()
        yield n
        if not isinstance(n, (*_DEFS, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))


@dataclass(frozen=True)
class Hook:
    """A request hook or a connected request signal: where it is, and which blueprint it applies to."""

    kind: str  # 'hook' or 'signal'
    detail: str  # e.g. 'trips.before_request' or 'request_started.connect'
    file: str
    line: int
    blueprint: str | None  # None: applies to every route of the app


def app_hooks(src: Source) -> list[Hook]:
    """Every before/after/teardown hook and connected Flask request signal in the tree."""
    hooks: list[Hook] = []
    for mod in src.modules.values():
        for node in ast.walk(mod.tree):
            targets: list[tuple[ast.AST, int]] = []
            if isinstance(node, (*_DEFS,)):
                targets += [(d.func if isinstance(d, ast.Call) else d, d.lineno) for d in node.decorator_list]
            elif isinstance(node, ast.Call):
                targets.append((node.func, node.lineno))
            for t, line in targets:
                if not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)):
                    continue
                var, attr = t.value.id, t.attr
                if attr in _HOOKS:
                    bp = None
                    if attr not in _APP_WIDE_HOOKS:
                        owner = src.resolve(mod, var)
                        bp = owner[0].blueprints.get(owner[1]) if owner else None
                    hooks.append(Hook("hook", f"{bp or 'app'}.{attr}", str(mod.path), line, bp))
                elif attr in {"connect", "connect_via"}:
                    q = mod.imports.get(var, "")
                    if q.split(".")[-1] in _REQUEST_SIGNALS and q.startswith("flask"):
                        hooks.append(Hook("signal", f"{var}.{attr}", str(mod.path), line, None))
    # a decorator call such as @bp.before_request is both a decorator and (when called) a Call: dedupe
    return sorted(set(hooks), key=lambda h: (h.file, h.line, h.detail))


def _applies(hook: Hook, blueprint: str | None) -> bool:
    if hook.blueprint is None:
        return True
    return blueprint is not None and hook.blueprint in blueprint.split(".")


# --- per route ----------------------------------------------------------------------------------------------


def effort_points(complexity: float, sloc: float, counts: dict[str, int]) -> float:
    """Effort points from complexity, SLOC and coupling counts per kind (formula in the module docstring)."""
    coupling = sum(WEIGHTS[k] * (1 + (n - 1) / 4) for k, n in counts.items() if n > 0)
    return round(1 + complexity / 5 + sloc / 50 + coupling, 1)


def analyze_routes(routes: pd.DataFrame, source: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics and coupling for each route of `routes` (columns method, rule, file, line, blueprint).

    Returns (metrics: one row per route with METRIC_COLUMNS, coupling counts per kind and `effort`;
    coupling: one row per construct with method, rule, kind, detail, file, line, via).
    """
    files = sorted({Path(f) for f in routes["file"].dropna().unique()})
    root = Path(source) if source is not None else _common_root(files)
    src = Source(root, [f for f in files if f.exists()])
    hooks = app_hooks(src)
    metrics_rows: list[dict] = []
    coupling_rows: list[dict] = []
    per_function: dict[tuple[Path, int], tuple[dict, list]] = {}

    def measure(mod: Module, node: _FuncDef) -> tuple[dict, list]:
        key = (mod.path, node.lineno)
        if key not in per_function:
            per_function[key] = (function_metrics(mod, node), coupling_in(src, mod, node))
        return per_function[key]

    for r in routes.itertuples(index=False):
        row = {"method": r.method, "rule": r.rule, **{c: None for c in METRIC_COLUMNS}}
        counts = dict.fromkeys(KINDS, 0)
        mod = src.file(r.file) if isinstance(r.file, str) else None
        found = find_view(mod, int(r.line), r.method) if mod is not None and pd.notna(r.line) else None
        endpoint = getattr(r, "endpoint", None)
        name = endpoint.rsplit(".", 1)[-1] if isinstance(endpoint, str) else None
        if mod is not None and name and (found is None or (found[1] is None and found[0].name != name)):
            by_name = find_by_name(mod, name)
            if by_name is not None:
                row["note"] = (
                    f"{r.file}:{r.line} holds no view named {name}(); used the def at line "
                    f"{by_name.lineno} (is the routes table older than the source?)"
                )
                found = (by_name, None)
        if found is None:
            row["note"] = "no source file for this route" if mod is None else f"no function at {r.file}:{r.line}"
            metrics_rows.append({**row, **counts, "effort": None})
            continue
        view, cls = found
        assert mod is not None  # a view is only found in a parsed module
        own, own_coupling = measure(mod, view)
        found_helpers = helpers(src, mod, view, cls)
        h_metrics = [(hm, hn, *measure(hm, hn)) for hm, hn, _ in found_helpers]
        row.update(own)
        row["helper_cyclomatic"] = sum(m["cyclomatic"] for _, _, m, _ in h_metrics)
        row["complexity"] = row["cyclomatic"] + row["helper_cyclomatic"]
        row["sloc"] = own["sloc"] + sum(m["sloc"] for _, _, m, _ in h_metrics)
        row["halstead_volume"] = round(
            own["halstead_volume"] + sum(m["halstead_volume"] for _, _, m, _ in h_metrics), 3
        )
        row["maintainability"] = round(own["maintainability"], 3)
        row["helpers"] = ", ".join(label for _, _, label in found_helpers) or None
        row["view_file"], row["view_line"] = str(mod.path), view.lineno
        found_coupling = [(k, d, str(mod.path), ln, "view") for k, d, ln in own_coupling]
        if cls is not None and mod is not None:
            for owner, entry, label in class_decorators(src, mod, cls, r.method):
                found_coupling += [
                    (k, d, str(owner.path), ln, label) for k, d, ln in decorator_coupling(src, owner, entry)
                ]
        for hm, hn, _, hc in h_metrics:
            found_coupling += [(k, d, str(hm.path), ln, f"helper {hn.name}") for k, d, ln in hc]
        blueprint = r.blueprint if isinstance(r.blueprint, str) else None
        found_coupling += [
            (h.kind, h.detail, h.file, h.line, "app" if h.blueprint is None else "blueprint")
            for h in hooks
            if _applies(h, blueprint)
        ]
        for k, d, f, ln, via in found_coupling:
            counts[k] += 1
            coupling_rows.append(
                {"method": r.method, "rule": r.rule, "kind": k, "detail": d, "file": f, "line": ln, "via": via}
            )
        metrics_rows.append({**row, **counts, "effort": effort_points(row["complexity"], row["sloc"], counts)})
    metrics = pd.DataFrame(metrics_rows, columns=["method", "rule", *METRIC_COLUMNS, *KINDS, "effort"])
    for col in ["cyclomatic", "helper_cyclomatic", "complexity", "sloc", "view_line", *KINDS]:
        metrics[col] = metrics[col].astype("Int64")
    metrics["effort"] = metrics["effort"].astype("Float64").astype(float)
    coupling = pd.DataFrame(coupling_rows, columns=["method", "rule", "kind", "detail", "file", "line", "via"])
    return metrics, coupling


_INSTALLED = {"site-packages", "dist-packages"}


def _common_root(files: list[Path]) -> Path | None:
    """The deepest folder holding every route file of the project (installed packages left out).

    None (only the route files themselves are read) when that folder would be a filesystem root or home.
    """
    existing = [f.resolve().parent for f in files if f.exists() and not _INSTALLED & set(f.parts)]
    if not existing:
        return None
    root = Path(os.path.commonpath(existing))
    if len(root.parts) <= 2 or root in {Path.home(), Path(root.anchor)}:
        return None
    return root
