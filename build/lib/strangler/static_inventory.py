"""Static route inventory: read a source tree's AST and list its Flask and FastAPI routes, running nothing.

A small abstract interpreter walks the modules the way Python would run them (an imported module first, a
function's body when it is called, with its arguments bound), keeping only what matters for routes: apps
(`Flask(...)`, `FastAPI(...)`), blueprints and routers with their prefixes, flask-restful/restx `Api` and
`Namespace`, class-based views, string constants, and the calls that connect them (`register_blueprint`,
`include_router`, `add_url_rule`, `add_resource`, `add_namespace`, `mount`, `init_app`) and the route decorators.
Imports are resolved inside the tree (absolute ones by their longest suffix that names a module of the tree).

Anything it cannot evaluate (a rule or prefix from config, a route made in a loop over data) is recorded as
unresolved with file and line instead of being guessed. A blueprint or router that is never registered in the
tree is listed under its own prefix, and recorded as unresolved too.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

SKIP_DIRS = {
    ".git",
    ".hg",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "site-packages",
    "__pycache__",
    ".tox",
    "build",
    "dist",
    ".eggs",
}
HTTP = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
VIEW_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
FASTAPI_DOCS = (
    ("openapi_url", "/openapi.json", "openapi"),
    ("docs_url", "/docs", "swagger_ui_html"),
    ("redoc_url", "/redoc", "redoc_html"),
)


@dataclass
class Unresolved:
    file: str
    line: int
    reason: str
    code: str


@dataclass
class Found:
    routes: list[dict]
    unresolved: list[Unresolved]


# --- values the interpreter knows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    why: str = ""


@dataclass(frozen=True)
class External:
    """A name imported from outside the tree, e.g. flask.Flask."""

    qualname: str


@dataclass(eq=False)
class Container:
    """A Flask app, blueprint, FastAPI app, router, restful Api or Namespace."""

    kind: str  # flask_app, blueprint, fastapi_app, router, api, namespace
    name: str | None
    prefix: object  # str, None or Unknown
    file: str
    line: int
    tags: list[str] = field(default_factory=list)
    items: list = field(default_factory=list)  # Route and Edge, in the order they were made
    registered: bool = False


@dataclass
class Route:
    rule: str
    methods: list[str]
    endpoint: str
    file: str
    line: int
    end_line: int
    tags: list[str] = field(default_factory=list)
    raw: bool = False  # restful resources: rule joined to the api prefix by plain concatenation
    head_declared: bool = False  # a class view with a head method keeps HEAD, as in the exact inventory


@dataclass
class Edge:
    child: Container
    prefix: object  # str, None (use the child's own) or Unknown
    name: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FuncRef:
    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class ClassRef:
    module: Module
    node: ast.ClassDef


@dataclass(frozen=True)
class ViewRef:
    cls: ClassRef
    name: object


@dataclass(frozen=True)
class ModuleRef:
    module: Module


@dataclass(frozen=True)
class Lazy:
    """`from m import x` while m is still running (a circular import): m.x as it is when used."""

    module: Module
    name: str


@dataclass(frozen=True)
class Wrapped:
    """WSGIMiddleware(app) or StaticFiles(...): what a FastAPI app mounts."""

    inner: object


class _Return(Exception):
    pass


@dataclass(eq=False)
class Module:
    name: str
    path: Path
    tree: ast.Module
    globals: dict = field(default_factory=dict)
    state: str = "new"

    def __hash__(self) -> int:
        return id(self)


# --- the interpreter --------------------------------------------------------------------------------------------


class Scanner:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, Module] = {}
        self.unresolved: list[Unresolved] = []
        self.containers: list[Container] = []
        self.called: set[int] = set()
        self.depth = 0
        self.loops = 0
        for path in sorted(self._files(root)):
            rel = path.relative_to(root).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join(parts) or root.name
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), str(path))
            except (SyntaxError, ValueError) as exc:
                self.unresolved.append(
                    Unresolved(str(path), getattr(exc, "lineno", 0) or 0, "file does not parse", str(exc)[:200])
                )
                continue
            self.modules[name] = Module(name, path, tree)

    @staticmethod
    def _files(root: Path):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for f in filenames:
                if f.endswith(".py"):
                    yield Path(dirpath) / f

    # modules
    def find_module(self, dotted: str) -> Module | None:
        parts = dotted.split(".")
        for i in range(len(parts)):
            mod = self.modules.get(".".join(parts[i:]))
            if mod is not None:
                return mod
        return None

    def run_module(self, mod: Module) -> Module:
        if mod.state == "new":
            mod.state = "running"
            self.exec_body(mod.tree.body, mod, [mod.globals])
            mod.state = "done"
        return mod

    def import_from(self, mod: Module, node: ast.ImportFrom) -> str:
        if node.level:
            base = mod.name.split(".")
            is_pkg = mod.path.name == "__init__.py"
            base = base[: len(base) - node.level + (1 if is_pkg else 0)]
            return ".".join(base + ([node.module] if node.module else []))
        return node.module or ""

    # unresolved
    def note(self, mod: Module, node: ast.AST, reason: str) -> None:
        code = ast.get_source_segment(mod.path.read_text(encoding="utf-8", errors="replace"), node) or ""
        if self.loops and "loop" not in reason:
            reason += " (inside a loop)"
        if any(
            u.file == str(mod.path) and u.line == getattr(node, "lineno", 0) and u.reason == reason
            for u in self.unresolved[-50:]
        ):
            return
        self.unresolved.append(
            Unresolved(str(mod.path), getattr(node, "lineno", 0), reason, code.splitlines()[0][:200] if code else "")
        )

    # statements
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
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            ref = FuncRef(mod, stmt)
            local[stmt.name] = ref
            self.decorate(stmt, mod, scopes, ref)
        elif isinstance(stmt, ast.ClassDef):
            ref = ClassRef(mod, stmt)
            local[stmt.name] = ref
            self.decorate(stmt, mod, scopes, ref)
        elif isinstance(stmt, ast.Assign):
            value = self.eval(stmt.value, mod, scopes)
            for target in stmt.targets:
                self.bind(target, value, local)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.bind(stmt.target, self.eval(stmt.value, mod, scopes), local)
        elif isinstance(stmt, ast.Expr):
            self.eval(stmt.value, mod, scopes)
        elif isinstance(stmt, ast.Return):
            raise _Return(self.eval(stmt.value, mod, scopes) if stmt.value is not None else None)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            items = self.eval(stmt.iter, mod, scopes)
            if isinstance(items, (list, tuple)) and isinstance(stmt.target, (ast.Name, ast.Tuple)):
                for item in items:
                    self.bind(stmt.target, item, local)
                    self.exec_body(stmt.body, mod, scopes)
            else:
                before = sum(len(c.items) for c in self.containers)
                self.bind(stmt.target, Unknown("loop variable"), local)
                self.loops += 1
                try:
                    self.exec_body(stmt.body, mod, scopes)
                finally:
                    self.loops -= 1
                if sum(len(c.items) for c in self.containers) > before:
                    self.note(
                        mod,
                        stmt,
                        "routes made in a loop over values not known statically (listed once, as the loop body reads)",
                    )
            self.exec_body(stmt.orelse, mod, scopes)
        elif isinstance(stmt, (ast.If, ast.While)):
            self.exec_body(stmt.body, mod, scopes)
            kept = dict(local)
            self.exec_body(stmt.orelse, mod, scopes)
            self.keep_known(local, kept)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            self.exec_body(stmt.body, mod, scopes)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.exec_body(stmt.body, mod, scopes)
            self.exec_body(stmt.orelse, mod, scopes)
            kept = dict(local)
            for handler in stmt.handlers:
                self.exec_body(handler.body, mod, scopes)
            self.keep_known(local, kept)
            self.exec_body(stmt.finalbody, mod, scopes)

    @staticmethod
    def keep_known(local: dict, kept: dict) -> None:
        """Both branches ran: where one bound an app, blueprint, view or module and the other a fallback (None,
        something unknown), keep the former (`try: from .kobo import kobo / except: kobo = None`)."""
        known = (Container, FuncRef, ClassRef, ModuleRef, ViewRef)
        for name, value in kept.items():
            if isinstance(value, known) and not isinstance(local.get(name), known):
                local[name] = value

    def bind(self, target: ast.expr, value: object, local: dict) -> None:
        if isinstance(target, ast.Name):
            local[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value if isinstance(value, (list, tuple)) and len(value) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                self.bind(elt, values[i] if values else Unknown("unpacked"), local)

    # expressions
    def lookup(self, name: str, mod: Module, scopes: list[dict]) -> object:
        for scope in scopes:
            if name in scope:
                value = scope[name]
                if isinstance(value, Lazy):
                    return value.module.globals.get(value.name, Unknown(name))
                return value
        return Unknown(name)

    def eval(self, node: ast.expr | None, mod: Module, scopes: list[dict]) -> object:
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id, mod, scopes)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [self.eval(e, mod, scopes) for e in node.elts]
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                val = self.eval(v.value, mod, scopes) if isinstance(v, ast.FormattedValue) else v.value
                if not isinstance(val, str) or (isinstance(v, ast.FormattedValue) and v.format_spec):
                    return Unknown("f-string")
                parts.append(val)
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            left, right = self.eval(node.left, mod, scopes), self.eval(node.right, mod, scopes)
            values = tuple(right) if isinstance(right, list) else (right,)
            if isinstance(left, str) and all(isinstance(v, (str, int)) for v in values):
                try:
                    return left % values
                except (TypeError, ValueError):
                    pass
            return Unknown("expression")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.eval(node.left, mod, scopes), self.eval(node.right, mod, scopes)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            return Unknown("expression")
        if isinstance(node, ast.Attribute):
            base = self.eval(node.value, mod, scopes)
            if isinstance(base, ModuleRef):
                if node.attr in base.module.globals:
                    return base.module.globals[node.attr]
                sub = self.modules.get(f"{base.module.name}.{node.attr}")
                return ModuleRef(self.run_module(sub)) if sub else Unknown(node.attr)
            if isinstance(base, External):
                return External(f"{base.qualname}.{node.attr}")
            if isinstance(base, ClassRef):
                for stmt in base.node.body:
                    if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == node.attr for t in stmt.targets
                    ):
                        return self.eval(stmt.value, base.module, [base.module.globals])
            return Unknown(node.attr)
        if isinstance(node, ast.Call):
            return self.call(node, mod, scopes)
        return Unknown(type(node).__name__)

    def kwargs(self, node: ast.Call, mod: Module, scopes: list[dict]) -> dict:
        return {k.arg: self.eval(k.value, mod, scopes) for k in node.keywords if k.arg}

    def call(self, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Attribute):
            receiver = self.eval(func.value, mod, scopes)
            if isinstance(receiver, str):
                return self.string_method(receiver, name, node, mod, scopes)
            if isinstance(receiver, ClassRef) and name == "as_view":
                args = [self.eval(a, mod, scopes) for a in node.args]
                return ViewRef(receiver, args[0] if args else self.kwargs(node, mod, scopes).get("name"))
            if not isinstance(receiver, (ModuleRef, External)):
                receiver = self.guess_receiver(receiver, func.value, name, mod, scopes)
                if isinstance(receiver, Container):
                    return self.method_call(receiver, name, node, mod, scopes)
                return Unknown(name)
        target = self.eval(func, mod, scopes)
        if (
            isinstance(target, External)
            and name in ("Api", "Namespace")
            and not any(k in target.qualname for k in ("restx", "restful", "restplus"))
        ):
            return Unknown(name)  # blinker's Namespace, some other library's Api
        if isinstance(target, FuncRef):
            return self.call_function(target, node, mod, scopes)
        if isinstance(target, ClassRef):
            bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in target.node.bases}
            for base in ("Flask", "FastAPI", "Blueprint", "APIRouter"):
                if base in bases:
                    name = base
        return self.construct(name, node, mod, scopes)

    def string_method(self, text: str, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        """'/{}/x'.format(d), '/'.join([...]), .strip('/') and friends, when every argument is known."""
        args = [self.eval(a, mod, scopes) for a in node.args]
        kw = self.kwargs(node, mod, scopes)
        if not all(isinstance(a, (str, int)) for a in args) and name != "join":
            return Unknown(f"str.{name}")
        try:
            if name == "format" and all(isinstance(v, (str, int)) for v in kw.values()):
                return text.format(*args, **kw)
            if (
                name == "join"
                and len(args) == 1
                and isinstance(args[0], list)
                and all(isinstance(a, str) for a in args[0])
            ):
                return text.join(args[0])
            if name in ("strip", "lstrip", "rstrip", "lower", "upper", "replace") and not kw:
                return getattr(text, name)(*args)
        except (IndexError, KeyError, ValueError, TypeError):
            pass
        return Unknown(f"str.{name}")

    def guess_receiver(self, value: object, expr: ast.expr, name: str, mod: Module, scopes: list[dict]) -> object:
        """A parameter with no known argument (a function never called in the tree) that registers routes on
        an app: the tree's only app of the right framework, if it has exactly one."""
        if isinstance(value, Unknown) and isinstance(expr, ast.Name) and len(scopes) > 1 and expr.id in scopes[0]:
            kinds = {
                "register_blueprint": "flask_app",
                "add_url_rule": "flask_app",
                "route": "flask_app",
                "include_router": "fastapi_app",
                "add_api_route": "fastapi_app",
                "api_route": "fastapi_app",
            }
            kind = kinds.get(name)
            apps = [c for c in self.containers if c.kind == kind]
            if len(apps) == 1:
                return apps[0]
        return value

    def call_function(self, ref: FuncRef, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        if self.depth > 12:
            return Unknown("recursion")
        self.called.add(id(ref.node))
        local = self.bind_args(ref, [self.eval(a, mod, scopes) for a in node.args], self.kwargs(node, mod, scopes))
        self.depth += 1
        try:
            self.exec_body(ref.node.body, ref.module, [local, ref.module.globals])
        except _Return as ret:
            return ret.args[0]
        finally:
            self.depth -= 1
        return None

    @staticmethod
    def bind_args(ref: FuncRef, args: list, kwargs: dict) -> dict:
        params = ref.node.args.posonlyargs + ref.node.args.args
        local: dict = {}
        for p in params + ref.node.args.kwonlyargs:
            local[p.arg] = Unknown(p.arg)
        for p, value in zip(params, args):
            local[p.arg] = value
        for k, value in kwargs.items():
            local[k] = value
        return local

    def construct(self, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        args = [self.eval(a, mod, scopes) for a in node.args]
        kw = self.kwargs(node, mod, scopes)
        where = (str(mod.path), node.lineno)
        if name == "Flask":
            app = self.new(Container("flask_app", None, None, *where))
            folder = kw.get("static_folder", "static")
            if folder is not None:
                url = kw.get("static_url_path")
                url = (
                    url
                    if isinstance(url, str)
                    else "/" + os.path.basename(str(folder))
                    if isinstance(folder, str)
                    else "/static"
                )
                app.items.append(Route(f"{url.rstrip('/')}/<path:filename>", ["GET"], "static", "", 0, 0))
            return app
        if name == "Blueprint":
            bp_name = args[0] if args else kw.get("name")
            return self.new(
                Container("blueprint", bp_name if isinstance(bp_name, str) else None, kw.get("url_prefix"), *where)
            )
        if name == "FastAPI":
            app = self.new(Container("fastapi_app", None, "", *where))
            urls = {key: kw.get(key, default) for key, default, _ in FASTAPI_DOCS}
            for key, _, endpoint in FASTAPI_DOCS:
                if isinstance(urls[key], str) and (key == "openapi_url" or isinstance(urls["openapi_url"], str)):
                    app.items.append(Route(urls[key], ["GET"], endpoint, "", 0, 0))
                    if key == "docs_url":
                        redirect = kw.get("swagger_ui_oauth2_redirect_url", "/docs/oauth2-redirect")
                        if isinstance(redirect, str):
                            app.items.append(Route(redirect, ["GET"], "swagger_ui_redirect", "", 0, 0))
            return app
        if name == "APIRouter":
            tags = kw.get("tags")
            return self.new(
                Container(
                    "router",
                    None,
                    kw.get("prefix", ""),
                    *where,
                    tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
                )
            )
        if name == "Api":
            api = self.new(Container("api", None, kw.get("prefix", ""), *where))
            parent = args[0] if args else kw.get("app")
            if isinstance(parent, Container):
                parent.items.append(Edge(api, None))
                api.registered = True
            return api
        if name == "Namespace":
            ns_name = args[0] if args else kw.get("name")
            path = kw.get("path")
            prefix = path if path is not None else ("/" + ns_name if isinstance(ns_name, str) else Unknown("name"))
            return self.new(
                Container(
                    "namespace",
                    ns_name if isinstance(ns_name, str) else None,
                    prefix.rstrip("/") if isinstance(prefix, str) else prefix,
                    *where,
                )
            )
        if name in ("WSGIMiddleware", "StaticFiles"):
            return Wrapped(
                args[0]
                if name == "WSGIMiddleware" and args
                else kw.get("app")
                if name == "WSGIMiddleware"
                else "static"
            )
        return Unknown(name)

    def new(self, container: Container) -> Container:
        self.containers.append(container)
        return container

    def method_call(self, c: Container, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        args = [self.eval(a, mod, scopes) for a in node.args]
        kw = self.kwargs(node, mod, scopes)
        if name in ("register_blueprint", "include_router", "add_namespace"):
            child = args[0] if args else kw.get("blueprint", kw.get("router", kw.get("ns")))
            if not isinstance(child, Container):
                self.note(
                    mod,
                    node,
                    f"{name}: the {('router' if name == 'include_router' else 'blueprint')} is not known statically",
                )
                return None
            key = {"register_blueprint": "url_prefix", "include_router": "prefix", "add_namespace": "path"}[name]
            prefix = kw.get(key, args[1] if name == "add_namespace" and len(args) > 1 else None)
            if isinstance(prefix, Unknown) or (prefix is not None and not isinstance(prefix, str)):
                self.note(mod, node, f"{name}: the {key} is not known statically")
                child.registered = True
                return None
            tags = kw.get("tags") if isinstance(kw.get("tags"), list) else []
            c.items.append(
                Edge(
                    child,
                    prefix,
                    kw.get("name") if isinstance(kw.get("name"), str) else None,
                    [t for t in tags if isinstance(t, str)],
                )
            )
            child.registered = True
            return None
        if name == "namespace" and c.kind == "api":
            ns = self.construct("Namespace", node, mod, scopes)
            c.items.append(Edge(ns, None))
            ns.registered = True
            return ns
        if name == "init_app" and c.kind == "api" and args and isinstance(args[0], Container):
            args[0].items.append(Edge(c, None))
            c.registered = True
            return None
        if name == "mount" and c.kind == "fastapi_app":
            path = args[0] if args else kw.get("path")
            app = args[1] if len(args) > 1 else kw.get("app")
            if isinstance(app, Wrapped) and isinstance(app.inner, Container) and isinstance(path, str):
                c.items.append(Edge(app.inner, path))
                app.inner.registered = True
            elif isinstance(app, Wrapped) and app.inner == "static" and isinstance(path, str):
                mount_name = kw.get("name") if isinstance(kw.get("name"), str) else "StaticFiles"
                c.items.append(Route(path.rstrip("/") + "/{path:path}", ["GET"], mount_name, "", 0, 0))
            else:
                self.note(mod, node, "mount: the mounted app is not known statically")
            return None
        if name == "add_url_rule":
            rule = args[0] if args else kw.get("rule")
            endpoint = args[1] if len(args) > 1 else kw.get("endpoint")
            view = args[2] if len(args) > 2 else kw.get("view_func")
            self.add_view(c, rule, kw.get("methods"), endpoint, view, mod, node)
            return None
        if name == "add_api_route":
            rule = args[0] if args else kw.get("path")
            view = args[1] if len(args) > 1 else kw.get("endpoint")
            methods = kw.get("methods", ["GET"])
            self.add_view(c, rule, methods, kw.get("name"), view, mod, node)
            return None
        if name == "add_resource" and c.kind in ("api", "namespace"):
            if not args or not isinstance(args[0], ClassRef):
                self.note(mod, node, "add_resource: the resource class is not known statically")
                return None
            urls = args[1:] or kw.get("urls") or []
            endpoint = kw.get("endpoint") if isinstance(kw.get("endpoint"), str) else args[0].node.name.lower()
            self.add_resource(c, args[0], urls, endpoint, mod, node)
            return None
        if name in ("route", "api_route", *HTTP):
            return Decorator(c, name, args, kw, node)
        return Unknown(name)

    def add_view(
        self, c: Container, rule: object, methods: object, endpoint: object, view: object, mod: Module, node: ast.Call
    ) -> None:
        if not isinstance(rule, str):
            self.note(mod, node, "the rule is not known statically")
            return
        if isinstance(view, ViewRef):
            cls_methods = self.class_methods(view.cls)
            meths = methods if isinstance(methods, list) else [m.upper() for m in cls_methods]
            name = endpoint if isinstance(endpoint, str) else view.name if isinstance(view.name, str) else None
            for m in meths:
                if not isinstance(m, str):
                    continue
                fn = cls_methods.get(m.lower()) or cls_methods.get("get" if m.upper() == "HEAD" else "")
                first, last = self.lines(fn[1]) if fn else self.lines(view.cls.node)
                path = str((fn[0] if fn else view.cls.module).path)
                c.items.append(
                    Route(rule, [m.upper()], name or "", path, first, last, head_declared="head" in cls_methods)
                )
            return
        fname = view.node.name if isinstance(view, FuncRef) else None
        name = endpoint if isinstance(endpoint, str) else fname
        if name is None:
            self.note(mod, node, "the view function is not known statically")
            return
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            if methods is not None:
                self.note(mod, node, "the methods are not known statically")
                return
            methods = ["GET"]
        where = (
            (str(view.module.path), *self.lines(view.node))
            if isinstance(view, FuncRef)
            else (str(mod.path), node.lineno, node.end_lineno or node.lineno)
        )
        c.items.append(Route(rule, [m.upper() for m in methods], name, *where))

    def add_resource(self, c: Container, cls: ClassRef, urls: list, endpoint: str, mod: Module, node: ast.AST) -> None:
        methods = self.class_methods(cls)
        for url in urls:
            if not isinstance(url, str):
                self.note(mod, node, "a resource URL is not known statically")
                continue
            for m, (owner, fn) in methods.items():
                c.items.append(
                    Route(
                        url,
                        [m.upper()],
                        endpoint,
                        str(owner.path),
                        *self.lines(fn),
                        raw=True,
                        head_declared="head" in methods,
                    )
                )

    def class_methods(self, cls: ClassRef, seen: frozenset = frozenset()) -> dict:
        """HTTP method name -> (module, FunctionDef), following base classes defined in the tree."""
        found: dict = {}
        if id(cls.node) in seen:
            return found
        for base in cls.node.bases:
            ref = self.eval(base, cls.module, [cls.module.globals])
            if isinstance(ref, ClassRef):
                found.update(self.class_methods(ref, seen | {id(cls.node)}))
        declared = None
        for stmt in cls.node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in VIEW_METHODS:
                found[stmt.name] = (cls.module, stmt)
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "methods" for t in stmt.targets
            ):
                declared = self.eval(stmt.value, cls.module, [cls.module.globals])
        if isinstance(declared, list) and all(isinstance(m, str) for m in declared):
            found = {m.lower(): found.get(m.lower(), (cls.module, cls.node)) for m in declared}
        return found

    @staticmethod
    def lines(node: ast.AST) -> tuple[int, int]:
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno] + [d.lineno for d in decorators])
        return first, node.end_lineno or node.lineno

    def decorate(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, mod: Module, scopes: list[dict], ref: object
    ) -> None:
        for dec in reversed(node.decorator_list):
            value = self.eval(dec, mod, scopes) if isinstance(dec, ast.Call) else None
            if not isinstance(value, Decorator):
                continue
            c, kind, args, kw = value.container, value.kind, value.args, value.kwargs
            if isinstance(ref, ClassRef):
                if c.kind in ("api", "namespace") and kind == "route":
                    endpoint = kw.get("endpoint") if isinstance(kw.get("endpoint"), str) else node.name.lower()
                    self.add_resource(c, ref, list(args), endpoint, mod, dec)
                continue
            rule = args[0] if args else kw.get("rule", kw.get("path"))
            if kind == "route":
                methods = kw.get("methods")
            elif kind == "api_route":
                methods = kw.get("methods", ["GET"])
            else:
                methods = [kind.upper()]
            endpoint = kw.get("endpoint") if c.kind not in ("fastapi_app", "router") else kw.get("name")
            self.add_view(c, rule, methods, endpoint, ref, mod, dec)
            if c.kind in ("fastapi_app", "router") and c.items and isinstance(c.items[-1], Route):
                tags = kw.get("tags")
                c.items[-1].tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    def finish(self) -> None:
        """Run the bodies of functions nobody in the tree calls (factories called by a server, CLI, tests)."""
        for mod in list(self.modules.values()):
            self.run_module(mod)
        for mod in list(self.modules.values()):
            for node in ast.walk(mod.tree):
                if (
                    isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and id(node) not in self.called
                    and node in mod.tree.body
                ):
                    self.called.add(id(node))
                    ref = FuncRef(mod, node)
                    try:
                        self.depth += 1
                        self.exec_body(node.body, mod, [self.bind_args(ref, [], {}), mod.globals])
                    except _Return:
                        pass
                    finally:
                        self.depth -= 1


@dataclass
class Decorator:
    container: Container
    kind: str
    args: list
    kwargs: dict
    node: ast.Call


# --- from containers to rows ------------------------------------------------------------------------------------


def _flask_join(prefix: str | None, rule: str) -> str:
    if prefix is None:
        return rule
    return "/".join((prefix.rstrip("/"), rule.lstrip("/"))) if rule else prefix


def _methods(route: Route) -> list[str]:
    methods = sorted(set(route.methods))
    if "GET" in methods and not route.head_declared:
        methods = [m for m in methods if m != "HEAD"]
    return methods


def rows_for(roots: list[Container]) -> list[dict]:
    """Rows of every route reachable from these apps, with prefixes and endpoint names as the frameworks
    compute them (Flask's blueprint join and nesting, flask-restful's plain concatenation, FastAPI's)."""
    rows: list[dict] = []

    def emit(framework: str, rule: str, route: Route, endpoint: str, blueprint: str | None) -> None:
        for method in _methods(route):
            rows.append(
                {
                    "framework": framework,
                    "method": method,
                    "rule": rule,
                    "endpoint": endpoint,
                    "file": route.file or None,
                    "line": route.line or None,
                    "end_line": route.end_line or None,
                    "blueprint": blueprint,
                }
            )

    def walk_flask(c: Container, url_prefix: str | None, name_prefix: str, api_prefix: str, seen: tuple) -> None:
        if id(c) in seen:
            return
        seen = seen + (id(c),)
        for item in c.items:
            if isinstance(item, Route):
                rule = api_prefix + item.rule if item.raw else item.rule
                endpoint = f"{name_prefix}.{item.endpoint}".lstrip(".") if name_prefix else item.endpoint
                emit("flask", _flask_join(url_prefix, rule), item, endpoint, name_prefix or None)
            elif item.child.kind == "blueprint":
                own = item.prefix if item.prefix is not None else item.child.prefix
                if isinstance(own, Unknown) or (own is not None and not isinstance(own, str)):
                    continue
                if url_prefix is not None and own is not None:
                    joined = url_prefix.rstrip("/") + "/" + own.lstrip("/")
                else:
                    joined = own if own is not None else url_prefix
                name = item.name or item.child.name or "?"
                walk_flask(item.child, joined, f"{name_prefix}.{name}".lstrip("."), "", seen)
            elif item.child.kind == "api":
                prefix = item.child.prefix if isinstance(item.child.prefix, str) else ""
                walk_flask(item.child, url_prefix, name_prefix, prefix, seen)
            elif item.child.kind == "namespace":
                ns = item.prefix if isinstance(item.prefix, str) else item.child.prefix
                if isinstance(ns, str):
                    walk_flask(item.child, url_prefix, name_prefix, api_prefix + ns.rstrip("/"), seen)

    def walk_fastapi(c: Container, prefix: str, tags: list[str], seen: tuple) -> None:
        if id(c) in seen:
            return
        seen = seen + (id(c),)
        for item in c.items:
            if isinstance(item, Route):
                all_tags = tags + item.tags
                emit("fastapi", prefix + item.rule, item, item.endpoint, all_tags[0] if all_tags else None)
            elif item.child.kind == "router":
                own = item.child.prefix if isinstance(item.child.prefix, str) else ""
                walk_fastapi(item.child, prefix + (item.prefix or "") + own, tags + item.tags + item.child.tags, seen)
            # a mounted Flask app (item.child.kind == "flask_app") is listed on its own, see _rows

    for c in roots:
        if c.kind == "flask_app":
            walk_flask(c, None, "", "", ())
        elif c.kind == "fastapi_app":
            walk_fastapi(c, "", [], ())
    return rows


def scan(root: str | Path) -> Found:
    """Every route the tree under `root` defines, and what could not be resolved."""
    scanner = Scanner(Path(root))
    scanner.finish()
    rows = _rows(scanner)
    return Found(rows, scanner.unresolved)


def _rows(scanner: Scanner) -> list[dict]:
    """Rows for the apps, then for blueprints and routers never registered (under their own prefix), then for
    Flask apps mounted in a FastAPI app (under the mount path)."""
    mounted: dict[int, str] = {}
    for c in scanner.containers:
        if c.kind == "fastapi_app":
            for item in c.items:
                if isinstance(item, Edge) and item.child.kind == "flask_app":
                    mounted[id(item.child)] = item.prefix or ""
    kinds = {"blueprint": "blueprint", "router": "router", "api": "restful Api", "namespace": "namespace"}
    orphans = [c for c in scanner.containers if c.kind in kinds and not c.registered]
    roots = [c for c in scanner.containers if c.kind in ("flask_app", "fastapi_app") and id(c) not in mounted]
    for c in orphans:
        label = f"{kinds[c.kind]} {c.name}" if c.name else kinds[c.kind]
        try:
            code = Path(c.file).read_text(encoding="utf-8", errors="replace").splitlines()[c.line - 1].strip()
        except (OSError, IndexError):
            code = ""
        scanner.unresolved.append(
            Unresolved(
                c.file,
                c.line,
                f"{label} is never registered in the tree; its routes are listed under its own prefix",
                code[:200],
            )
        )
        wrapper = Container("fastapi_app" if c.kind == "router" else "flask_app", None, "", c.file, c.line)
        wrapper.items.append(Edge(c, None))
        roots.append(wrapper)
    rows = rows_for(roots)
    for c in scanner.containers:
        if id(c) in mounted:
            for row in rows_for([c]):
                row["rule"] = mounted[id(c)].rstrip("/") + row["rule"]
                rows.append(row)
    for position, row in enumerate(rows, 1):
        row["position"] = position
    return rows
