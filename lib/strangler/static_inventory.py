"""Static route inventory: what Flask, flask-restful/restx and FastAPI routing calls mean, read from the source.

`pyeval` runs the tree's modules statically; this module gives the framework calls their meaning: apps
(`Flask(...)`, `FastAPI(...)`), blueprints and routers with their prefixes, flask-restful/restx `Api` and
`Namespace` (subclasses of any of these defined in the tree too, their `__init__` and own methods run),
class-based views, the calls that connect them (`register_blueprint`, `include_router`, `add_url_rule`,
`add_api_route`, `add_resource`, `add_namespace`, `mount`, `init_app`) and the route decorators. A Flask app's
`config` is followed as the app loads it by default (`from_object` of a class, module or import string,
`from_pyfile` of a file in the tree, `config[...] = ...`, `update`), so a prefix read from it is known.

**Never a wrong rule.** A route is listed only when its whole path is known. Where a part is not (a prefix from
the environment, a blueprint or router never registered in the tree, a loop over values not known statically, a
class made by a metaclass), it goes to `unresolved` instead: with the method, the rule with each unknown part
written `{?}`, and the expression that is not known. FastAPI's `include_router` copies the routes the router has
at that moment, as FastAPI does; Flask defers to registration.
"""

from __future__ import annotations

import ast
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from strangler.pyeval import (
    ClassRef,
    Evaluator,
    External,
    FuncRef,
    Instance,
    KnownDict,
    Module,
    ModuleRef,
    Unknown,
    Unresolved,
    assumptions,
    carry,
    truth,
)

HTTP = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
VIEW_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
FASTAPI_DOCS = (
    ("openapi_url", "/openapi.json", "openapi"),
    ("docs_url", "/docs", "swagger_ui_html"),
    ("redoc_url", "/redoc", "redoc_html"),
)
FRAMEWORK_CLASSES = ("Flask", "Blueprint", "FastAPI", "APIRouter", "Api", "Namespace")
REGISTERING = ("add_url_rule", "register_blueprint", "include_router", "add_api_route", "add_resource", "add_namespace")
KINDS = {
    "Flask": "flask_app",
    "Blueprint": "blueprint",
    "FastAPI": "fastapi_app",
    "APIRouter": "router",
    "Api": "api",
    "Namespace": "namespace",
}
APP_PARAMETERS = ("app", "application", "flask_app", "fastapi_app")
PLACEHOLDER = "{?}"
CONDITION = "made under a condition not known statically"

__all__ = ["Found", "Unresolved", "scan"]


@dataclass
class Found:
    routes: list[dict]
    unresolved: list[Unresolved]
    environment: dict[str, str] = field(default_factory=dict)  # variables read -> what was taken (pyeval)


@dataclass(frozen=True)
class UnknownPart:
    """A part of a path that is not known: the expression, and where it is."""

    expr: str
    file: str
    line: int
    reason: str
    code: str


@dataclass(eq=False)
class Container:
    """A Flask app, blueprint, FastAPI app, router, restful Api or Namespace."""

    kind: str  # flask_app, blueprint, fastapi_app, router, api, namespace
    name: str | None
    prefix: object  # str, None or UnknownPart
    file: str
    line: int
    tags: list[str] = field(default_factory=list)
    items: list = field(default_factory=list)  # Route and Edge, in the order they were made
    registered: bool = False
    cls: ClassRef | None = None  # the tree class it is an instance of, when it is a subclass
    config: KnownDict = field(default_factory=KnownDict)  # a Flask app's config as loaded by default
    root_path: str = ""  # the folder of the module that made it (Flask's root_path)
    static: str | None = None  # a blueprint's static folder, for its static route
    origin: str = ""  # which app object of the tree: module:variable, module:factory(), module:function(app)


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
    condition: UnknownPart | None = None  # made under a condition not known statically: it may not exist


@dataclass
class Edge:
    child: Container
    prefix: object  # str, None (use the child's own) or UnknownPart
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    count: int | None = None  # FastAPI: how many items the child had when it was included (None: Flask)
    where: UnknownPart | None = None  # the include call, for routes added to the child after it
    condition: UnknownPart | None = None  # made under a condition not known statically: it may not exist


# deliberate: ViewRef and Wrapped share only the dataclass shape with pyeval's ModuleRef/Lazy value types
@dataclass(frozen=True)
class ViewRef:
    cls: ClassRef
    name: object


@dataclass(frozen=True)
class Wrapped:
    """WSGIMiddleware(app) or StaticFiles(...): what a FastAPI app mounts."""

    inner: object


@dataclass
class Decorator:
    container: Container
    kind: str
    args: list
    kwargs: dict
    node: ast.Call


def _arg(args: list, kw: dict, position: int, name: str, default: object = None) -> object:
    return args[position] if len(args) > position else kw.get(name, default)


class Scanner(Evaluator):
    def __init__(self, root: Path, entry: list[str] | None = None) -> None:
        super().__init__(root)
        self.containers: list[Container] = []
        self.param_apps: dict[tuple[str, str], Container] = {}
        self.guards: list[tuple[int, UnknownPart, dict[int, int]]] = []  # (depth, condition, item counts then)
        self.exempt: set[int] = set()  # items a module made as it ran: not conditional on where it was imported
        self.entry = entry or []

    # --- what is a framework object ---------------------------------------------------------------------------

    def is_framework(self, value: object) -> bool:
        return isinstance(value, Container)

    def is_identity(self, value: object) -> bool:
        return isinstance(value, (Container, ViewRef, Wrapped))

    def wrapped(self, args: list, kwargs: dict, result: object) -> object:
        """A decorator applied by hand to a view (`view_func = login_required(view)`, `jwt_required()(view)`) gives
        a wrapper that keeps the view's name and methods (functools.wraps): the view, as routing sees it."""
        if len(args) == 1 and not kwargs and isinstance(args[0], (FuncRef, ViewRef)):
            nested = isinstance(result, FuncRef) and result.node not in result.module.tree.body
            if isinstance(result, Unknown) or nested:
                return args[0]
        return result

    def framework_kind(self, name: str, cls: object) -> str | None:
        """Which framework class a call makes: by the outside name, or by the outside base of a tree class."""
        if isinstance(cls, ClassRef):
            base = self.framework_base(cls, FRAMEWORK_CLASSES + ("WSGIMiddleware", "StaticFiles"))
            if base is None:
                return None
            cls = base
        if not isinstance(cls, External):
            return None
        last = cls.qualname.split(".")[-1]
        if last in ("Api", "Namespace") and not any(k in cls.qualname for k in ("restx", "restful", "restplus")):
            return None  # blinker's Namespace, some other library's Api
        return last if last in FRAMEWORK_CLASSES + ("WSGIMiddleware", "StaticFiles") else None

    def construct(self, name: str, cls: object, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        kind = self.framework_kind(name, cls)
        if kind is None:
            if isinstance(cls, External) and name in REGISTERING:
                self.note(mod, node, f"{name}: called on {cls.qualname.rsplit('.', 1)[0]}, not known statically")
            if isinstance(cls, External) and len(node.args) == 1 and not node.keywords:
                return self.wrapped(*self.call_args(node, mod, scopes), Unknown(name))
            return super().construct(name, cls, node, mod, scopes)
        args, kw = self.call_args(node, mod, scopes)
        if kind in ("WSGIMiddleware", "StaticFiles"):
            return Wrapped(_arg(args, kw, 0, "app") if kind == "WSGIMiddleware" else "static")
        c = self.new(Container(KINDS[kind], None, None, str(mod.path), node.lineno, root_path=str(mod.path.parent)))
        c.origin = self.frames[-1] if self.frames else self.import_name(mod)
        init = self.class_attributes(cls).get("__init__") if isinstance(cls, ClassRef) else None
        if isinstance(cls, ClassRef):
            c.cls = cls
        if isinstance(init, FuncRef):
            self.call_function(init, [c, *args], kw)  # its super().__init__(...) configures the container
        else:
            self.configure(c, args, kw, mod, node)
        return c

    def super_call(self, receiver: object, name: str, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        if isinstance(receiver, Container):
            if name == "__init__":
                args, kw = self.call_args(node, mod, scopes)
                self.configure(receiver, args, kw, mod, node)
                return None
            return self.method_call(receiver, name, node, mod, scopes, own=False)
        return Unknown(name)

    def configure(self, c: Container, args: list, kw: dict, mod: Module, node: ast.Call) -> None:
        """The framework class's own constructor: name, prefix, static folder, docs routes, parent app."""
        if c.kind == "flask_app":
            folder = kw.get("static_folder", "static")
            if folder is not None:
                url = kw.get("static_url_path")
                if not isinstance(url, str):
                    url = "/" + posixpath.basename(folder) if isinstance(folder, str) else None
                if isinstance(url, str):
                    c.items.append(Route(f"{url.rstrip('/')}/<path:filename>", ["GET"], "static", "", 0, 0))
                else:
                    self.note(mod, node, "the static folder is not known statically", unknown="static_folder")
        elif c.kind == "blueprint":
            name = _arg(args, kw, 0, "name")
            c.name = name if isinstance(name, str) else None
            c.prefix = self.part(kw.get("url_prefix"), node, "url_prefix", mod, "the blueprint's url_prefix")
            folder, url = kw.get("static_folder"), kw.get("static_url_path")
            if isinstance(url, str):
                c.static = url
            elif isinstance(folder, str):
                c.static = ("/" + posixpath.basename(folder.rstrip("/"))).rstrip("/")
        elif c.kind == "fastapi_app":
            c.prefix = ""
            urls = {key: kw.get(key, default) for key, default, _ in FASTAPI_DOCS}
            for key, _, endpoint in FASTAPI_DOCS:
                if isinstance(urls[key], str) and (key == "openapi_url" or isinstance(urls["openapi_url"], str)):
                    c.items.append(Route(urls[key], ["GET"], endpoint, "", 0, 0))
                    if key == "docs_url":
                        redirect = kw.get("swagger_ui_oauth2_redirect_url", "/docs/oauth2-redirect")
                        if isinstance(redirect, str):
                            c.items.append(Route(redirect, ["GET"], "swagger_ui_redirect", "", 0, 0))
        elif c.kind == "router":
            c.prefix = self.part(kw.get("prefix", ""), node, "prefix", mod, "the router's prefix")
            tags = kw.get("tags")
            c.tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        elif c.kind == "api":
            c.prefix = self.part(kw.get("prefix", ""), node, "prefix", mod, "the Api's prefix")
            parent = _arg(args, kw, 0, "app")
            if isinstance(parent, Container):
                parent.items.append(Edge(c, None))
                c.registered = True
        elif c.kind == "namespace":
            name = _arg(args, kw, 0, "name")
            path = kw.get("path")
            prefix = path if path is not None else ("/" + name if isinstance(name, str) else Unknown("name"))
            c.name = name if isinstance(name, str) else None
            c.prefix = self.part(
                prefix.rstrip("/") if isinstance(prefix, str) else prefix, node, "path", mod, "the namespace's path"
            )

    def part(self, value: object, node: ast.Call, keyword: str, mod: Module, what: str) -> object:
        """A prefix as given: a string, None, or an UnknownPart naming the expression."""
        if value is None or isinstance(value, str):
            return value
        expr = next((k.value for k in node.keywords if k.arg == keyword), node)
        return UnknownPart(
            mod.source(expr), str(mod.path), node.lineno, f"{what} is not known statically", mod.source(node)
        )

    def run_module(self, mod: Module) -> Module:
        """A module runs once, wherever it is first imported: what it registers does not depend on a condition
        around that import (a deferred `from .validate import x` inside an `if`)."""
        if mod.state != "new":
            return mod
        before = self.counts()
        super().run_module(mod)
        for c in self.containers:
            self.exempt.update(id(i) for i in c.items[before.get(id(c), 0) :])
        return mod

    def module_done(self, mod: Module) -> None:
        """An app made at a module's top level is named by its variable: `module:app`, as `--app` names it."""
        module = self.import_name(mod)
        for name, value in mod.globals.items():
            if isinstance(value, Container) and value.origin == module and value.kind in ("flask_app", "fastapi_app"):
                value.origin = f"{module}:{name}"

    def new(self, container: Container) -> Container:
        self.containers.append(container)
        return container

    # --- attributes of framework objects ----------------------------------------------------------------------

    def attribute(self, receiver: object, name: str) -> object:
        assert isinstance(receiver, Container)
        if name == "config" and receiver.kind == "flask_app":
            return receiver.config
        if name == "router" and receiver.kind == "fastapi_app":
            return receiver
        if name == "name" and receiver.kind == "blueprint":
            return receiver.name if receiver.name is not None else Unknown(name)
        if receiver.cls is not None:
            value = self.class_attributes(receiver.cls).get(name, Unknown(name))
            if not isinstance(value, FuncRef):
                return value
        return Unknown(name)

    # --- calls on framework objects ---------------------------------------------------------------------------

    def method_call(
        self, receiver: object, name: str, node: ast.Call, mod: Module, scopes: list[dict], own: bool = True
    ) -> object:
        c = receiver
        assert isinstance(c, Container)
        if own and c.cls is not None and name not in REGISTERING + ("route", "register"):
            method = self.class_attributes(c.cls).get(name)
            if isinstance(method, FuncRef):  # a method of the subclass itself
                args, kw = self.call_args(node, mod, scopes)
                return self.call_function(method, [c, *args], kw)
        args, kw = self.call_args(node, mod, scopes)
        if name in ("register_blueprint", "include_router", "add_namespace"):
            self.connect(c, name, args, kw, mod, node)
            return None
        if name == "namespace" and c.kind == "api":
            ns = self.new(Container("namespace", None, None, str(mod.path), node.lineno))
            self.configure(ns, args, kw, mod, node)
            c.items.append(Edge(ns, None))
            ns.registered = True
            return ns
        if name == "init_app" and c.kind == "api" and args and isinstance(args[0], Container):
            args[0].items.append(Edge(c, None))
            c.registered = True
            return None
        if name == "mount" and c.kind == "fastapi_app":
            self.mount(c, args, kw, mod, node)
            return None
        if name == "add_url_rule":
            rule = _arg(args, kw, 0, "rule")
            self.add_view(
                c, rule, kw.get("methods"), _arg(args, kw, 1, "endpoint"), _arg(args, kw, 2, "view_func"), mod, node
            )
            return None
        if name == "add_api_route":
            view = _arg(args, kw, 1, "endpoint")
            self.add_view(c, _arg(args, kw, 0, "path"), kw.get("methods", ["GET"]), kw.get("name"), view, mod, node)
            if c.items and isinstance(c.items[-1], Route):
                c.items[-1].tags = self.tags(kw)
            return None
        if name == "add_resource" and c.kind in ("api", "namespace"):
            if not args or not isinstance(args[0], ClassRef):
                self.note(mod, node, "add_resource: the resource class is not known statically")
                return None
            urls = args[1:] or kw.get("urls") or []
            endpoint = str(kw["endpoint"]) if isinstance(kw.get("endpoint"), str) else args[0].node.name.lower()
            self.add_resource(c, args[0], urls if isinstance(urls, list) else [urls], endpoint, mod, node)
            return None
        if name in ("route", "api_route", "resource", *HTTP):
            return Decorator(c, name, args, kw, node)
        return Unknown(name)

    @staticmethod
    def tags(kw: dict) -> list[str]:
        tags = kw.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    def connect(self, c: Container, name: str, args: list, kw: dict, mod: Module, node: ast.Call) -> None:
        """register_blueprint, include_router, add_namespace: the child under the parent, with its prefix."""
        child = args[0] if args else kw.get("blueprint", kw.get("router", kw.get("ns")))
        if not isinstance(child, Container):
            what = "router" if name == "include_router" else "namespace" if name == "add_namespace" else "blueprint"
            self.note(mod, node, f"{name}: the {what} is not known statically")
            return
        key = {"register_blueprint": "url_prefix", "include_router": "prefix", "add_namespace": "path"}[name]
        prefix = kw.get(key, args[1] if name == "add_namespace" and len(args) > 1 else None)
        if name == "include_router" and prefix is None:
            prefix = ""
        prefix = self.part(prefix, node, key, mod, f"{name}: the {key}")
        count, where = None, None
        if c.kind in ("fastapi_app", "router"):
            count = len(child.items)
            where = UnknownPart(
                "the FastAPI version",
                str(mod.path),
                node.lineno,
                "a route added to the router after it was included: older FastAPI versions copy a router's routes at "
                "include_router, newer ones include the router as it is when serving",
                mod.source(node),
            )
        name_kw = kw.get("name") if isinstance(kw.get("name"), str) else None
        c.items.append(Edge(child, prefix, name_kw, self.tags(kw), count, where))
        child.registered = True

    def mount(self, c: Container, args: list, kw: dict, mod: Module, node: ast.Call) -> None:
        path = _arg(args, kw, 0, "path")
        app = _arg(args, kw, 1, "app")
        inner = app.inner if isinstance(app, Wrapped) else app
        if isinstance(inner, Container) and inner.kind in ("flask_app", "fastapi_app"):
            prefix = self.part(path, node, "path", mod, "mount: the path")
            c.items.append(Edge(inner, prefix.rstrip("/") if isinstance(prefix, str) else prefix))
            inner.registered = True
        elif inner == "static" and isinstance(path, str):
            mount_name = str(kw["name"]) if isinstance(kw.get("name"), str) else "StaticFiles"
            c.items.append(Route(path.rstrip("/") + "/{path:path}", ["GET"], mount_name, "", 0, 0))
        else:
            self.note(mod, node, "mount: the mounted app is not known statically")

    def unknown_receiver(
        self, receiver: object, expr: ast.expr, name: str, node: ast.Call, mod: Module, scopes: list[dict]
    ) -> object:
        guess = self.guess_receiver(receiver, expr, name, scopes)
        if isinstance(guess, Container):
            return self.method_call(guess, name, node, mod, scopes)
        if name in REGISTERING:
            self.note(mod, node, f"{name}: called on {mod.source(expr)[:60]}, not known statically")
        return Unknown(name)

    def guess_receiver(self, value: object, expr: ast.expr, name: str, scopes: list[dict]) -> object:
        """A parameter named like an app (`def init_app(app)`, `def bind(app)`) of a function run with nothing known
        for it (nobody in the tree calls it with an app: the user's app, a server or tests do): routes registered
        on it belong to whichever app is passed. They go to one app per function and parameter, labelled
        `module:function(app)`, with no prefix of its own (a Flask app has none; a FastAPI app may be mounted,
        which the label says is not known here)."""
        if not (isinstance(value, Unknown) and isinstance(expr, ast.Name) and expr.id in APP_PARAMETERS):
            return value
        if len(scopes) < 2 or value.why != expr.id or expr.id not in scopes[0] or not self.running:
            return value
        kinds = {
            "register_blueprint": "flask_app",
            "add_url_rule": "flask_app",
            "route": "flask_app",
            "include_router": "fastapi_app",
            "add_api_route": "fastapi_app",
            "api_route": "fastapi_app",
        }
        kind = kinds.get(name)
        if kind is None:
            return value
        func = self.running[-1]
        label = f"{self.import_name(func.module)}:{func.node.name}({expr.id})"
        app = self.param_apps.get((label, kind))
        if app is None:
            app = self.new(Container(kind, None, "" if kind == "fastapi_app" else None, str(func.module.path), 0))
            app.line, app.origin = func.node.lineno, label
            app.root_path = str(func.module.path.parent)
            app.config.complete = False  # the passed app's config is whatever its owner loaded
            self.param_apps[(label, kind)] = app
        scopes[0][expr.id] = app
        return app

    # --- a Flask app's config ---------------------------------------------------------------------------------

    def config_call(self, c: Container, name: str, args: list, kw: dict, mod: Module) -> object:
        """app.config.from_object / from_pyfile / from_mapping …: the keys they load by default."""
        config = c.config
        if name == "from_object" and args:
            source = self.resolve_dotted(args[0]) if isinstance(args[0], str) else args[0]
            if isinstance(source, (ClassRef, Instance)):
                attrs = self.class_attributes(source.cls if isinstance(source, Instance) else source)
                if isinstance(source, Instance):
                    attrs = {**attrs, **source.attrs}
                config.update({k: v for k, v in attrs.items() if k.isupper()})
                return None
            if isinstance(source, ModuleRef):
                config.update({k: v for k, v in source.module.globals.items() if k.isupper()})
                return None
        if name == "from_pyfile" and args and isinstance(args[0], str):
            path = Path(c.root_path) / args[0]
            loaded = self.pyfile(path)
            if loaded is not None:
                config.update({k: v for k, v in loaded.items() if k.isupper()})
                return None
            if kw.get("silent") is True:
                return None  # by default the file is not there: nothing loaded
        if name == "from_mapping":
            mapping = args[0] if args else {}
            if isinstance(mapping, dict) and (not isinstance(mapping, KnownDict) or mapping.complete):
                config.update({k: v for k, v in {**mapping, **kw}.items() if str(k).isupper()})
                return None
        if name == "from_envvar" and args and isinstance(args[0], str):
            # as the app starts here: the variable unset (and `silent=True`) loads nothing; set, it names a file
            # that is read if it is in the tree
            variable = args[0]
            if variable not in os.environ:
                self.environment.setdefault(variable, "unset")
                if kw.get("silent") is True or (len(args) > 1 and args[1] is True):
                    return None
            else:
                self.environment[variable] = f"{os.environ[variable]!r} (set in strangler's environment)"
                loaded = self.pyfile(Path(c.root_path) / os.environ[variable])
                if loaded is not None:
                    config.update({k: v for k, v in loaded.items() if k.isupper()})
                    return None
        if name == "from_prefixed_env":
            prefix = _arg(args, kw, 0, "prefix", "FLASK")
            if isinstance(prefix, str):
                names = sorted(k for k in os.environ if k.startswith(f"{prefix}_"))
                self.environment.setdefault(f"{prefix}_*", ", ".join(names) if names else "none set")
                if not names:
                    return None  # nothing in the environment: nothing loaded
        config.clear()  # from_file, an unknown object, a file outside the tree: any key may change
        config.complete = False
        return None

    def pyfile(self, path: Path) -> dict | None:
        """The module-level values of a config file of the tree, evaluated as from_pyfile runs it."""
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, str(path))
        except (OSError, SyntaxError, ValueError):
            return None
        mod = Module(path.stem, path, tree, text)
        self.run_module(mod)
        return mod.globals

    # --- views and resources ----------------------------------------------------------------------------------

    def add_view(
        self, c: Container, rule: object, methods: object, endpoint: object, view: object, mod: Module, node: ast.AST
    ) -> None:
        if not isinstance(rule, str):
            rule_node = node.args[0] if isinstance(node, ast.Call) and node.args else node
            self.note(mod, node, "the rule is not known statically", unknown=mod.source(rule_node))
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
            else (str(mod.path), node.lineno, node.end_lineno or node.lineno)  # type: ignore[attr-defined]
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
        for base in self.class_bases(cls):
            if isinstance(base, ClassRef):
                found.update(self.class_methods(base, seen | {id(cls.node)}))
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
        first = min([node.lineno] + [d.lineno for d in decorators])  # type: ignore[attr-defined]
        return first, node.end_lineno or node.lineno  # type: ignore[attr-defined]

    def decorate(self, node: ast.AST, mod: Module, scopes: list[dict], ref: object) -> None:
        for dec in reversed(node.decorator_list):  # type: ignore[attr-defined]
            value = self.eval(dec, mod, scopes)
            if isinstance(value, FuncRef) and isinstance(ref, (FuncRef, ClassRef)):
                # a decorator of the tree runs when the function is defined: it may register it as a route
                self.call_function(value, [ref], {})
                continue
            if not isinstance(dec, ast.Call):
                continue
            if not isinstance(value, Decorator):
                if (
                    isinstance(value, Unknown)
                    and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr in ("route", "api_route", *HTTP)
                    and not isinstance(
                        self.eval(dec.func.value, mod, scopes), (External, ModuleRef, ClassRef, Instance)
                    )
                ):
                    self.note(
                        mod,
                        dec,
                        f"a route decorator on {mod.source(dec.func.value)[:60]}, which is not known statically",
                    )
                continue
            c, kind, args, kw = value.container, value.kind, value.args, value.kwargs
            if isinstance(ref, ClassRef):
                if c.kind in ("api", "namespace") and kind in ("route", "resource"):
                    endpoint = str(kw["endpoint"]) if isinstance(kw.get("endpoint"), str) else ref.node.name.lower()
                    self.add_resource(c, ref, list(args), endpoint, mod, dec)
                continue
            rule = args[0] if args else kw.get("rule", kw.get("path"))
            if kind == "route":
                methods = kw.get("methods")
            elif kind == "api_route":
                methods = kw.get("methods", ["GET"])
            else:
                methods = [kind.upper()]
            view_name = kw.get("endpoint") if c.kind not in ("fastapi_app", "router") else kw.get("name")
            self.add_view(c, rule, methods, view_name, ref, mod, dec)
            if c.kind in ("fastapi_app", "router") and c.items and isinstance(c.items[-1], Route):
                c.items[-1].tags = self.tags(kw)

    def class_defined(self, ref: ClassRef, mod: Module, scopes: list[dict]) -> None:
        """A class made by a metaclass of the tree, or whose base has `__init_subclass__`, may register routes in
        code that runs when the class is made: not evaluated, listed as unresolved."""
        meta = next((k.value for k in ref.node.keywords if k.arg == "metaclass"), None)
        hooks: list[str] = []
        if meta is not None and isinstance(self.eval(meta, mod, scopes), ClassRef):
            hooks.append(f"metaclass {mod.source(meta)}")
        for base in self.class_bases(ref):
            if isinstance(base, ClassRef) and "__init_subclass__" in self.class_attributes(base):
                hooks.append(f"{base.node.name}.__init_subclass__")
        for hook in hooks:
            self.note(
                mod, ref.node, f"class {ref.node.name} is made by {hook}: routes it may register are not evaluated"
            )

    # --- views via as_view ------------------------------------------------------------------------------------

    def call(self, node: ast.Call, mod: Module, scopes: list[dict]) -> object:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "as_view":
            receiver = self.eval(func.value, mod, scopes)
            if isinstance(receiver, ClassRef):
                args, kw = self.call_args(node, mod, scopes)
                return ViewRef(receiver, args[0] if args else kw.get("name"))
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) and func.value.attr == "config":
            owner = self.eval(func.value.value, mod, scopes)
            if isinstance(owner, Container) and owner.kind == "flask_app" and func.attr.startswith("from_"):
                args, kw = self.call_args(node, mod, scopes)
                return self.config_call(owner, func.attr, args, kw, mod)
        return Evaluator.call(self, node, mod, scopes)

    # --- loops over values not known --------------------------------------------------------------------------

    def loop_over_unknown(self, stmt: ast.For | ast.AsyncFor, mod: Module, scopes: list[dict]) -> None:
        """Routes made in the body of a loop over unknown values may not exist (or exist many times): they are not
        listed; each goes to unresolved with the loop as the unknown part."""
        before = {id(c): len(c.items) for c in self.containers}
        self.exec_maybe(stmt.body, mod, scopes)
        for c in self.containers:
            added = c.items[before.get(id(c), 0) :]
            del c.items[before.get(id(c), 0) :]
            for item in added:
                if isinstance(item, Edge):  # registered in the loop: its routes are unresolved, with this reason
                    item.prefix = UnknownPart(
                        mod.source(stmt.iter),
                        str(mod.path),
                        stmt.lineno,
                        "registered in a loop over values not known statically",
                        mod.source(stmt),
                    )
                    c.items.append(item)
                elif isinstance(item, Route):
                    for method in _methods(item):
                        self.note(
                            mod,
                            stmt,
                            "a route made in a loop over values not known statically",
                            method=method,
                            rule=item.rule,
                            unknown=mod.source(stmt.iter),
                        )

    def exec_branches(
        self,
        test: object,
        body: list[ast.stmt],
        orelse: list[ast.stmt],
        mod: Module,
        scopes: list[dict],
        node: ast.If | ast.While | None = None,
    ) -> None:
        """Routes made or registered under a condition not known statically (`if settings.SCOPES:`, a `while`) may
        not exist: each keeps its path, and goes to unresolved with the condition as the unknown part, unless both
        branches make it alike. A branch that may `return` nothing (`if not enabled: return`) makes the rest of
        the function conditional the same way."""
        if truth(test) is not None or node is None:
            super().exec_branches(test, body, orelse, mod, scopes, node)
            return
        expr = mod.source(node.test) if isinstance(node, ast.If) else "while " + mod.source(node.test)
        part = UnknownPart(expr, str(mod.path), node.lineno, CONDITION, mod.source(node))
        negated = UnknownPart(_negate(expr), str(mod.path), node.lineno, CONDITION, mod.source(node))
        start = self.counts()
        local = scopes[0]
        before = dict(local)
        self.exec_maybe(body, mod, scopes)
        middle = self.counts()
        kept = dict(local)
        local.clear()
        local.update(before)
        self.exec_maybe(orelse, mod, scopes)
        self.keep_known(local, kept)
        for c in self.containers:
            if id(c) not in start:  # made in the branch: its own routes exist wherever it does
                continue
            first = [i for i in c.items[start[id(c)] : middle.get(id(c), 0)] if id(i) not in self.exempt]
            second = [i for i in c.items[middle.get(id(c), start[id(c)]) :] if id(i) not in self.exempt]
            both = {_shape(i) for i in first} & {_shape(i) for i in second}
            if both:  # made alike on both sides: it exists either way, once (the first side's lines)
                twins = [i for i in second if _shape(i) in both]
                c.items[:] = [i for i in c.items if not any(i is t for t in twins)]
                second = [i for i in second if not any(i is t for t in twins)]
            for items, holds in ((first, part), (second, negated)):
                for item in items:
                    if item.condition is None and _shape(item) not in both:
                        item.condition = holds  # what must hold for it to exist
        if self.depth and _skips(body) != _skips(orelse):  # the rest runs when the returning side did not
            self.guards.append((self.depth, negated if _skips(body) else part, self.counts()))

    def is_factory(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """A function whose own body constructs a Flask or FastAPI app (`app = Flask(__name__)`)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                func = sub.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in ("Flask", "FastAPI"):
                    return True
        return False

    def counts(self) -> dict[int, int]:
        return {id(c): len(c.items) for c in self.containers}

    def function_done(self) -> None:
        """Items made after a guard (`if not enabled: return`) of the function now returning are conditional."""
        while self.guards and self.guards[-1][0] >= self.depth:
            _, part, since = self.guards.pop()
            for c in self.containers:
                for item in c.items[since.get(id(c), len(c.items)) :]:
                    if item.condition is None and id(item) not in self.exempt:
                        item.condition = part

    def run(self) -> None:
        """Every module (as if each were imported), or with `entry` only those modules (and what they import), as
        a program that starts there would; then the functions nobody calls, of the modules that ran."""
        for name in self.entry:
            mod = self.find_module(name)
            if mod is None:
                raise ValueError(f"--entry {name}: no such module under {self.root}")
            self.run_module(mod)
        self.run_uncalled(only_loaded=bool(self.entry))


def _shape(item: object) -> tuple:
    """What makes two routes or registrations alike, whichever branch made them."""
    if isinstance(item, Route):
        return ("route", item.rule, tuple(sorted(item.methods)), item.endpoint)
    assert isinstance(item, Edge)
    return ("edge", id(item.child), repr(item.prefix), item.name)


def _negate(expr: str) -> str:
    return expr[4:] if expr.startswith("not ") else f"not ({expr})"


def _skips(body: list[ast.stmt]) -> bool:
    """Whether a block may `return` nothing (`return`, `return None`), outside functions defined in it."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and (
            node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)
        ):
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


# --- from containers to rows ------------------------------------------------------------------------------------


def _flask_join(prefix: str | None, rule: str) -> str:
    if prefix is None:
        return rule
    return carry("/".join((prefix.rstrip("/"), rule.lstrip("/"))) if rule else prefix, prefix, rule)  # type: ignore[return-value]


def _cat(*parts: object) -> str:
    """Strings joined as they are, keeping the environment assumptions of each (pyeval.EnvStr)."""
    return cast(str, carry("".join(p if isinstance(p, str) else "" for p in parts), *parts))


def _methods(route: Route) -> list[str]:
    methods = sorted(set(route.methods))
    if "GET" in methods and not route.head_declared:
        methods = [m for m in methods if m != "HEAD"]
    return methods


class _Rows:
    """Rows of every route reachable from the apps, with prefixes and endpoint names as the frameworks compute them
    (Flask's blueprint join and nesting, flask-restful's plain concatenation, FastAPI's); a route under an unknown
    part goes to `unresolved` with that part written {?}."""

    def __init__(self, conditional: bool = False) -> None:
        self.rows: list[dict] = []
        self.unresolved: list[Unresolved] = []
        self.app_object = ""  # the app whose routes are being walked (Container.origin)
        self.conditional = conditional  # list routes whose only unknown is a condition, naming it in `assumes`

    def emit(
        self, framework: str, rule: str, route: Route, endpoint: str, blueprint: str | None, unknown: list
    ) -> None:
        tags = list(assumptions(rule, route.rule))
        if self.conditional and unknown and all(u.reason == CONDITION for u in unknown):
            tags += [f"condition true: {u.expr} ({Path(u.file).name}:{u.line})" for u in unknown]
            unknown = []
        assumes = "; ".join(tags) or None
        for method in _methods(route):
            if unknown:
                part = unknown[0]
                self.unresolved.append(
                    Unresolved(
                        part.file, part.line, part.reason, part.code, method, rule, " ; ".join(u.expr for u in unknown)
                    )
                )
                continue
            self.rows.append(
                {
                    "framework": framework,
                    "method": method,
                    "rule": rule,
                    "endpoint": endpoint,
                    "file": route.file or None,
                    "line": route.line or None,
                    "end_line": route.end_line or None,
                    "blueprint": blueprint,
                    "app_object": self.app_object or None,
                    "assumes": assumes,
                }
            )

    def flask(
        self, c: Container, url_prefix: str | None, name_prefix: str, api_prefix: str, unknown: list, seen: tuple
    ) -> None:
        if id(c) in seen:
            return
        seen = seen + (id(c),)
        for item in c.items:
            if isinstance(item, Route):
                rule = _cat(api_prefix, item.rule) if item.raw else item.rule
                endpoint = f"{name_prefix}.{item.endpoint}".lstrip(".") if name_prefix else item.endpoint
                cond = [item.condition] if item.condition and item.condition not in unknown else []
                self.emit("flask", _flask_join(url_prefix, rule), item, endpoint, name_prefix or None, unknown + cond)
                continue
            child, more = item.child, list(unknown)
            if item.condition is not None and item.condition not in more:
                more.append(item.condition)
            if child.kind == "blueprint":
                own = item.prefix if item.prefix is not None else child.prefix
                if isinstance(own, UnknownPart):
                    more.append(own)
                    own = PLACEHOLDER
                if url_prefix is not None and own is not None:
                    joined: str | None = carry(  # type: ignore[assignment]
                        url_prefix.rstrip("/") + "/" + own.lstrip("/"), url_prefix, own
                    )
                else:
                    joined = own if own is not None else url_prefix
                name = item.name or child.name or "?"
                self.flask(child, joined, f"{name_prefix}.{name}".lstrip("."), "", more, seen)
                if child.static is not None:
                    static = Route(f"{child.static}/<path:filename>", ["GET"], "static", "", 0, 0)
                    self.emit(
                        "flask",
                        _flask_join(joined, static.rule),
                        static,
                        f"{name_prefix}.{name}.static".lstrip("."),
                        f"{name_prefix}.{name}".lstrip("."),
                        more,
                    )
            elif child.kind == "api":
                prefix = child.prefix
                if isinstance(prefix, UnknownPart):
                    more.append(prefix)
                    prefix = PLACEHOLDER
                self.flask(child, url_prefix, name_prefix, prefix or "", more, seen)
            elif child.kind == "namespace":
                ns = item.prefix if item.prefix is not None else child.prefix
                if isinstance(ns, UnknownPart):
                    more.append(ns)
                    ns = PLACEHOLDER
                if isinstance(ns, str):
                    self.flask(
                        child,
                        url_prefix,
                        name_prefix,
                        cast(str, carry(api_prefix + ns.rstrip("/"), api_prefix, ns)),
                        more,
                        seen,
                    )

    def fastapi(
        self, c: Container, prefix: str, tags: list[str], unknown: list, seen: tuple, edge: Edge | None = None
    ) -> None:
        if id(c) in seen:
            return
        seen = seen + (id(c),)
        for i, item in enumerate(c.items):
            if edge is not None and edge.count is not None and i >= edge.count and edge.where is not None:
                unknown = [*unknown, edge.where] if edge.where not in unknown else unknown
            if isinstance(item, Route):
                all_tags = tags + item.tags
                cond = [item.condition] if item.condition and item.condition not in unknown else []
                tag = all_tags[0] if all_tags else None
                self.emit("fastapi", _cat(prefix, item.rule), item, item.endpoint, tag, unknown + cond)
                continue
            child, more = item.child, list(unknown)
            if item.condition is not None and item.condition not in more:
                more.append(item.condition)
            parts = []
            for p in (item.prefix, child.prefix if child.kind == "router" else ""):
                if isinstance(p, UnknownPart):
                    more.append(p)
                    p = PLACEHOLDER
                parts.append(p or "")
            if child.kind == "router":
                self.fastapi(child, _cat(prefix, *parts), tags + item.tags + child.tags, more, seen, item)
            elif child.kind == "fastapi_app":  # a mounted FastAPI app: its routes under the mount path
                self.fastapi(child, _cat(prefix, parts[0]), [], more, seen)
            # a mounted Flask app is listed on its own, see _rows


def scan(root: str | Path, entry: list[str] | None = None, conditional: bool = False) -> Found:
    """Every route the tree under `root` defines, and what could not be resolved. With `entry` (module names),
    only what a program starting with those imports is evaluated (a tree that holds a demo app beside a library).
    With `conditional`, a route whose only unknown is a condition it was made under is listed, its `assumes`
    naming the condition taken as true (for a deployment where the feature is on)."""
    scanner = Scanner(Path(root), entry)
    scanner.run()
    rows, unresolved = _rows(scanner, conditional)
    once = list(dict.fromkeys((u.file, u.line, u.reason, u.code, u.method, u.rule, u.unknown) for u in unresolved))
    return Found(rows, scanner.unresolved + [Unresolved(*u) for u in once], dict(sorted(scanner.environment.items())))


def _rows(scanner: Scanner, conditional: bool = False) -> tuple[list[dict], list[Unresolved]]:
    """Rows for the apps, then for Flask apps mounted in a FastAPI app (under the mount path). The routes of
    blueprints and routers never registered in the tree are unresolved: the prefix they get is not known."""
    mounted: dict[int, object] = {}
    for c in scanner.containers:
        if c.kind == "fastapi_app":
            for item in c.items:
                if isinstance(item, Edge) and item.child.kind == "flask_app":
                    mounted[id(item.child)] = item.prefix
    out = _Rows(conditional)
    kinds = {"blueprint": "blueprint", "router": "router", "api": "restful Api", "namespace": "namespace"}
    for c in scanner.containers:
        out.app_object = c.origin
        if c.kind == "flask_app" and id(c) not in mounted:
            out.flask(c, None, "", "", [], ())
        elif c.kind == "fastapi_app" and not c.registered:
            out.fastapi(c, "", [], [], ())
    out.app_object = ""
    for c in scanner.containers:
        if c.kind in kinds and not c.registered:
            label = f"{kinds[c.kind]} {c.name}" if c.name else kinds[c.kind]
            try:
                code = Path(c.file).read_text(encoding="utf-8", errors="replace").splitlines()[c.line - 1].strip()[:200]
            except (OSError, IndexError):
                code = ""
            part = UnknownPart(
                f"where {label} is registered", c.file, c.line, f"{label} is never registered in the tree", code
            )
            if c.kind == "router":
                wrapper = Container("fastapi_app", None, "", c.file, c.line)
                wrapper.items.append(Edge(c, ""))
                out.fastapi(wrapper, PLACEHOLDER, [], [part], ())
            else:
                wrapper = Container("flask_app", None, None, c.file, c.line)
                wrapper.items.append(Edge(c, None))
                out.flask(wrapper, PLACEHOLDER, "", "", [part], ())
    for c in scanner.containers:
        if id(c) in mounted:
            inner, path = _Rows(conditional), mounted[id(c)]
            inner.app_object = c.origin
            if isinstance(path, UnknownPart):
                inner.flask(c, PLACEHOLDER, "", "", [path], ())
            else:
                inner.flask(c, None, "", "", [], ())
                for row in inner.rows:
                    row["rule"] = carry(str(path).rstrip("/") + row["rule"], path, row["rule"])
                    row["assumes"] = "; ".join(assumptions(row["rule"])) or None
            out.rows += inner.rows
            out.unresolved += inner.unresolved
    for position, row in enumerate(out.rows, 1):
        row["position"] = position
    return out.rows, out.unresolved
