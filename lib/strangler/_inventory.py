"""Print the routes of a Flask or FastAPI app as JSON: run in the app's own interpreter, standard library only.

strangler runs this file by path with the app's Python (`python _inventory.py SPEC OUT.json`), so that the app is
imported with its own packages and never inside strangler's process. It must keep working on Python 3.8: no
`match`, no `X | Y` annotations, no `str.removeprefix`.

SPEC is `module:attr`, `module:factory()` or `module:factory('arg')`. The result has `routes`, one object per
(method, rule): framework, method, rule, endpoint, file, line, end_line, blueprint, position (the framework's
matching order for Starlette); `converters`, one object per rule variable whose converter is
the app's own (not Werkzeug's default for its name): rule, variable, converter, args, regex, part_isolating,
weight, checked (its to_python is not the identity, so a regex match is not enough), mount (the prefix of the
Flask app it belongs to); `werkzeug`, the version the app's Flask rules match with (when it has some); and
`versions`, one object per (Cadwyn API version, method, rule) that the version serves
(a Cadwyn app's `routes` hold every (method, rule) of any version once; unversioned routes have no version rows).

`python _inventory.py --match SPEC MOUNT IN.json OUT.json` matches each [method, path] of IN with the app's own
Werkzeug `MapAdapter.match` (the Flask app mounted at MOUNT, "" for the app itself) and writes [outcome, rule]
pairs: matched / method_not_allowed / redirect / unmatched, or `error: <exception>` when a converter raised
something other than ValidationError. Exit status 3 means the app failed to import (its traceback is on stderr),
4 that SPEC named something that is neither a Flask nor a FastAPI/Starlette app.
"""

import importlib
import inspect
import json
import os
import re
import sys
import traceback


class SpecError(LookupError):
    """An app spec that names nothing in its module (the message says what is missing)."""


def load(spec):
    """Import the module and return the object SPEC names (calling the factory if SPEC ends with a call).

    The one parser of app specs: strangler's router imports it too. `module` alone means its `app`,
    `application` or `create_app()`; `module:a.b` a dotted attribute; `module:factory(...)` a call evaluated in
    the module's namespace (the spec comes from the command line of the person running strangler, like
    `flask --app`). ImportError comes from importing the module, SpecError when it lacks the named object.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise SpecError("app %r must read MODULE:ATTR, e.g. myapp:app" % spec)
    module = importlib.import_module(module_name)
    if not attr:
        for candidate in ("app", "application"):
            if hasattr(module, candidate):
                return getattr(module, candidate)
        if hasattr(module, "create_app"):
            return module.create_app()
        raise SpecError("app %r: module %r has no app, application or create_app" % (spec, module_name))
    head = attr.split("(", 1)[0].strip()
    obj = module
    for part in head.split("."):
        if not hasattr(obj, part):
            raise SpecError("app %r: module %r has no attribute %r" % (spec, module_name, head))
        obj = getattr(obj, part)
    if "(" in attr:
        return eval(attr, vars(module))
    return obj


def source_of(func):
    """(file, first line, last line) of a function or class, following decorators; Nones when unknown."""
    if func is None:
        return None, None, None
    try:
        func = inspect.unwrap(func)
    except ValueError:  # a cycle of __wrapped__: keep the function as it is
        pass
    try:
        filename = inspect.getsourcefile(func) or inspect.getfile(func)
        lines, start = inspect.getsourcelines(func)
        return os.path.abspath(filename), start, start + len(lines) - 1
    except (TypeError, OSError):
        return None, None, None


# a variable in a Werkzeug rule: <converter(args):name> or <name>
FLASK_VARIABLE = re.compile(
    r"<(?:(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?(?P<var>[a-zA-Z_][a-zA-Z0-9_]*)>"
)


class Walk(object):
    """What one inventory run collects: route rows, custom converters, Flask apps by mount prefix, warnings."""

    def __init__(self):
        self.rows = []
        self.converters = []
        self.versions = []
        self.flask_apps = {}
        self.warnings = []


def own_converters(app, rule, prefix):
    """The rule's variables whose converter is not Werkzeug's default for its name, as read from the app."""
    found = []
    instances = getattr(rule, "_converters", None) or {}
    defaults = getattr(type(app.url_map), "default_converters", {})
    try:
        from werkzeug.routing import BaseConverter

        identity = BaseConverter.to_python
    except ImportError:  # a stand-in for Flask without Werkzeug: nothing to read
        return found
    for m in FLASK_VARIABLE.finditer(rule.rule):
        name, var = m.group("conv") or "default", m.group("var")
        conv = instances.get(var)
        if conv is None or defaults.get(name) is type(conv):
            continue
        found.append(
            {
                "rule": prefix + rule.rule,
                "variable": var,
                "converter": name,
                "args": m.group("args"),
                "regex": conv.regex,
                "part_isolating": bool(getattr(conv, "part_isolating", "/" not in conv.regex)),
                "weight": getattr(conv, "weight", 100),
                "checked": getattr(type(conv), "to_python", identity) is not identity,
                "mount": prefix,
            }
        )
    return found


def flask_routes(app, walk, prefix="", framework="flask"):
    """One row per (declared method, rule) of a Flask app's url_map; its own converters into walk.converters."""
    rows = []
    walk.flask_apps[prefix] = app
    for rule in app.url_map.iter_rules():
        walk.converters.extend(own_converters(app, rule, prefix))
        view = app.view_functions.get(rule.endpoint)
        view_class = getattr(view, "view_class", None)
        methods = set(rule.methods or ())
        declared = set(methods)
        if "GET" in methods and not (view_class is not None and hasattr(view_class, "head")):
            declared.discard("HEAD")  # Werkzeug adds HEAD to every GET rule
        if getattr(rule, "provide_automatic_options", False):
            declared.discard("OPTIONS")  # Flask adds OPTIONS unless the view declares it
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        for method in sorted(declared):
            target = view
            if view_class is not None:
                target = getattr(view_class, method.lower(), None)
                if target is None and method == "HEAD":
                    target = getattr(view_class, "get", None)
                if target is None:
                    target = view_class
            filename, line, end_line = source_of(target)
            rows.append(
                {
                    "framework": framework,
                    "method": method,
                    "rule": prefix + rule.rule,
                    "endpoint": rule.endpoint,
                    "file": filename,
                    "line": line,
                    "end_line": end_line,
                    "blueprint": blueprint,
                }
            )
    return rows


def wsgi_flask_app(asgi_app):
    """The Flask app inside a WSGI-to-ASGI adapter (starlette's or a2wsgi's), or None."""
    for name in ("app", "wsgi", "application"):
        inner = getattr(asgi_app, name, None)
        if inner is not None and hasattr(inner, "url_map") and hasattr(inner, "view_functions"):
            return inner
    return None


def route_contexts(routes):
    """The routes in Starlette's matching order, including FastAPI's lazily included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(r, r) for r in routes]
    return [(ctx, ctx.original_route) for ctx in iter_route_contexts(routes)]


def cadwyn_versions(app):
    """{version: routes} of a Cadwyn-versioned app (newest first), None for any other app.

    Cadwyn generates its versioned routers on the first request; the inventory asks it to do so now, as its own
    `__call__` would."""
    router = getattr(app, "router", None)
    versioned = getattr(router, "versioned_routers", None)
    if not isinstance(versioned, dict) or not hasattr(router, "unversioned_routes"):
        return None
    if getattr(app, "_cadwyn_initialized", True) is False:
        app._cadwyn_initialize()
    return dict((v, versioned[v].routes) for v in sorted(versioned, reverse=True))


def app_routes(app, prefix, walk):
    """Rows of a Starlette/FastAPI app: for a Cadwyn app its unversioned routes, then each version's routes (newest
    first), every (method, rule) once, and one `walk.versions` row per (version, method, rule) it serves."""
    versions = cadwyn_versions(app)
    if versions is None:
        return starlette_routes(app.routes, prefix, walk)
    rows = starlette_routes(app.router.unversioned_routes, prefix, walk)
    unversioned = set((r["method"], r["rule"]) for r in rows)  # served whatever the version: no version rows
    seen = set(unversioned)
    for version, routes in versions.items():
        for row in starlette_routes(routes, prefix, walk):
            key = (row["method"], row["rule"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
            if key not in unversioned:
                walk.versions.append({"method": row["method"], "rule": row["rule"], "api_version": str(version)})
    return rows


def starlette_routes(routes, prefix, walk):
    """One row per (declared method, path) of a Starlette/FastAPI route list, mounts at any depth included."""
    rows = []
    for ctx, original in route_contexts(routes):
        kind = type(original).__name__
        path = getattr(ctx, "path", None)
        if kind == "Mount" or (
            hasattr(original, "app") and path is not None and not hasattr(ctx, "methods") and kind != "WebSocketRoute"
        ):
            mount_path = prefix + (path or "")
            inner = getattr(original, "app", None)
            flask_app = wsgi_flask_app(inner)
            if flask_app is not None:
                rows.extend(flask_routes(flask_app, walk, prefix=mount_path))
                continue
            if getattr(inner, "routes", None) is not None and type(inner).__name__ != "StaticFiles":
                rows.extend(app_routes(inner, mount_path, walk))
                continue
            name = getattr(original, "name", None) or type(inner).__name__
            rows.append(
                {
                    "framework": "fastapi",
                    "method": "GET",
                    "rule": mount_path + "/{path:path}",
                    "endpoint": name,
                    "file": None,
                    "line": None,
                    "end_line": None,
                    "blueprint": None,
                }
            )
            if type(inner).__name__ != "StaticFiles":
                walk.warnings.append(
                    "mount %s serves %s: recorded as GET %s/{path:path}"
                    % (mount_path, type(inner).__name__, mount_path)
                )
            continue
        if kind in ("WebSocketRoute", "APIWebSocketRoute"):
            continue
        methods = getattr(ctx, "methods", None)
        if path is None or methods is None:
            continue
        declared = set(methods)
        if kind != "APIRoute" and "GET" in declared:
            declared.discard("HEAD")  # starlette.routing.Route adds HEAD to GET routes
        endpoint = getattr(ctx, "endpoint", None)
        filename, line, end_line = source_of(endpoint)
        tags = getattr(ctx, "tags", None) or []
        for method in sorted(declared):
            rows.append(
                {
                    "framework": "fastapi",
                    "method": method,
                    "rule": prefix + path,
                    "endpoint": getattr(ctx, "name", None),
                    "file": filename,
                    "line": line,
                    "end_line": end_line,
                    "blueprint": str(tags[0]) if tags else None,
                }
            )
    return rows


def is_flask(obj):
    return hasattr(obj, "url_map") and hasattr(obj, "view_functions")


def is_starlette(obj):
    return hasattr(obj, "routes") and callable(obj)


def inventory(obj):
    """Rows for a Flask app or a Starlette/FastAPI app; raises TypeError for anything else."""
    walk = Walk()
    if is_flask(obj):
        rows = flask_routes(obj, walk)
    elif is_starlette(obj):
        rows = app_routes(obj, "", walk)
    else:
        raise TypeError("%r is neither a Flask app nor a FastAPI/Starlette app" % (obj,))
    for position, row in enumerate(rows, 1):
        row["position"] = position
    result = {
        "routes": rows,
        "converters": walk.converters,
        "versions": walk.versions,
        "warnings": walk.warnings,
        "python": "%d.%d.%d" % sys.version_info[:3],
    }
    if walk.flask_apps:
        try:
            from importlib.metadata import version

            result["werkzeug"] = version("werkzeug")
        except Exception:  # a stand-in without Werkzeug installed
            pass
    return result


def match(obj, mount, pairs):
    """[outcome, rule] for each [method, path]: the Flask app at `mount` (its prefix) matches them itself."""
    walk = Walk()
    if is_flask(obj):
        flask_routes(obj, walk)
    elif is_starlette(obj):
        app_routes(obj, "", walk)
    app = walk.flask_apps.get(mount)
    if app is None:
        raise TypeError("no Flask app at mount %r of %r" % (mount, obj))
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    adapter = app.url_map.bind("localhost")
    out = []
    for method, path in pairs:
        inner = path[len(mount) :] if mount and path.startswith(mount) else path
        try:
            rule, _ = adapter.match(inner or "/", method=method, return_rule=True)
            out.append(["matched", mount + rule.rule])
        except RequestRedirect:
            out.append(["redirect", None])
        except MethodNotAllowed:
            out.append(["method_not_allowed", None])
        except NotFound:
            out.append(["unmatched", None])
        except Exception as exc:  # a converter that raised something else: Flask answers 500
            out.append(["error: %s" % type(exc).__name__, None])
    return out


def main(argv):
    if argv[1] == "--match":
        spec, mount, src, out = argv[2:6]
    else:
        spec, out = argv[1], argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]  # strangler's own modules
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = load(spec)
    except BaseException as exc:  # the app's own error: show its traceback, not ours
        tb = exc.__traceback__
        while tb is not None and (
            tb.tb_frame.f_code.co_filename in (__file__, importlib.__file__)
            or tb.tb_frame.f_code.co_filename.startswith("<frozen")
        ):
            tb = tb.tb_next
        sys.stderr.write("".join(traceback.format_exception(type(exc), exc, tb)))
        return 3
    try:
        if argv[1] == "--match":
            with open(src) as fh:
                result = match(obj, mount, json.load(fh))
        else:
            result = inventory(obj)
    except TypeError as exc:
        sys.stderr.write(str(exc) + "\n")
        return 4
    with open(out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # An app may start threads when it is imported or built (schedulers, updaters, a server); do not wait for them.
    os._exit(status)
