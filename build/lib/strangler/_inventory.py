"""Print the routes of a Flask or FastAPI app as JSON: run in the app's own interpreter, standard library only.

strangler runs this file by path with the app's Python (`python _inventory.py SPEC OUT.json`), so that the app is
imported with its own packages and never inside strangler's process. It must keep working on Python 3.8: no
`match`, no `X | Y` annotations, no `str.removeprefix`.

SPEC is `module:attr`, `module:factory()` or `module:factory('arg')`. The result is one object per (method, rule):
framework, method, rule, endpoint, file, line, end_line, blueprint, position (the framework's matching order for
Starlette). Exit status 3 means the app failed to import (its traceback is on stderr), 4 that SPEC named
something that is neither a Flask nor a FastAPI/Starlette app.
"""

import importlib
import inspect
import json
import os
import sys
import traceback


def load(spec):
    """Import the module and return the object SPEC names (calling the factory if SPEC ends with a call)."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    if not attr:
        for candidate in ("app", "application"):
            if hasattr(module, candidate):
                return getattr(module, candidate)
        if hasattr(module, "create_app"):
            return module.create_app()
        raise LookupError("module %s has no app, application or create_app" % module_name)
    if "(" in attr:
        # The spec comes from the command line of the person running strangler, like `flask --app`.
        return eval(attr, vars(module))
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part)
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


def flask_routes(app, prefix="", framework="flask"):
    """One row per (declared method, rule) of a Flask app's url_map."""
    rows = []
    for rule in app.url_map.iter_rules():
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


def starlette_routes(routes, prefix, warnings):
    """One row per (declared method, path) of a Starlette/FastAPI route list, mounts included."""
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
                rows.extend(flask_routes(flask_app, prefix=mount_path))
                continue
            sub_routes = getattr(inner, "routes", None)
            if sub_routes is not None and type(inner).__name__ != "StaticFiles":
                rows.extend(starlette_routes(sub_routes, mount_path, warnings))
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
                warnings.append(
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


def inventory(obj):
    """Rows for a Flask app or a Starlette/FastAPI app; raises TypeError for anything else."""
    warnings = []
    if hasattr(obj, "url_map") and hasattr(obj, "view_functions"):
        rows = flask_routes(obj)
    elif hasattr(obj, "routes") and callable(obj):
        rows = starlette_routes(obj.routes, "", warnings)
    else:
        raise TypeError("%r is neither a Flask app nor a FastAPI/Starlette app" % (obj,))
    for position, row in enumerate(rows, 1):
        row["position"] = position
    return {"routes": rows, "warnings": warnings, "python": "%d.%d.%d" % sys.version_info[:3]}


def main(argv):
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
