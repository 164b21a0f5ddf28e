"""The Flask side of the router: a2wsgi runs the Flask app; this wraps it so the router learns what it needs.

`measured_wsgi` keeps the request's DbTime accumulator current in the WSGI worker thread (for the call and for
every chunk of the body), whatever the adapter does with contextvars, and hands the rule Flask matched to the
router's per-request `Exchange`. The Flask hook (`hook_flask`) is a `request_started` receiver that leaves the
matched rule in the WSGI environ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from strangler import dbtime

SCOPE_KEY = "strangler.exchange"  # scope (and a2wsgi's environ["asgi.scope"]) key of the per-request record
ROUTE_KEY = "strangler.route"  # environ key where the Flask hook leaves the matched rule


class Exchange:
    """What the router learns about one request while it is served."""

    __slots__ = ("bytes", "db", "done", "end", "route", "started", "status")

    def __init__(self) -> None:
        self.db = dbtime.DbTime()
        self.route: str | None = None
        self.status = 0
        self.bytes = 0
        self.started = False
        self.done = False
        self.end = 0.0


def measured_wsgi(app: Callable) -> Callable:
    """Wrap a WSGI app so the request's DbTime accumulator is current in the worker thread (for the call and
    for every chunk of its body), whatever the WSGI adapter does with contextvars, and the rule Flask matched
    reaches the router."""

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        ex = environ.get("asgi.scope", {}).get(SCOPE_KEY)
        if ex is None:
            return app(environ, start_response)
        environ.setdefault("wsgi.input_terminated", True)  # a2wsgi's body ends at the request's end: chunked works
        if dbtime.current() is ex.db:  # the adapter copied the router's context into this thread
            result = app(environ, start_response)
            ex.route = environ.get(ROUTE_KEY)
            return result
        with dbtime.measure(ex.db):
            result = app(environ, start_response)
        ex.route = environ.get(ROUTE_KEY)
        return _measured_iter(result, ex.db)

    return wsgi


def _measured_iter(result: Iterable[bytes], acc: dbtime.DbTime) -> Iterator[bytes]:
    try:
        it = iter(result)
        while True:
            with dbtime.measure(acc):
                try:
                    chunk = next(it)
                except StopIteration:
                    return
            yield chunk
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            with dbtime.measure(acc):
                close()


_hooked_apps: dict[int, int] = {}  # id(Flask app) -> routers using it: the hook stays while one does


def hook_flask(app: Any, connect: bool) -> None:
    """Connect (or, when the last router lets go, disconnect) the rule hook on a Flask app."""
    import flask

    key = id(app)
    if connect:
        if not _hooked_apps.get(key):
            flask.request_started.connect(_flask_rule_hook, sender=app, weak=False)
        _hooked_apps[key] = _hooked_apps.get(key, 0) + 1
    else:
        _hooked_apps[key] -= 1
        if not _hooked_apps[key]:
            del _hooked_apps[key]
            flask.request_started.disconnect(_flask_rule_hook, sender=app)


def _flask_rule_hook(sender: Any, **_: Any) -> None:
    """Flask `request_started` receiver: leave the matched rule in the WSGI environ for the router."""
    import flask

    rule = flask.request.url_rule
    flask.request.environ[ROUTE_KEY] = rule.rule if rule is not None else None
