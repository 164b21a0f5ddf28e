"""The strangler router: one ASGI app in front of the Flask app and its FastAPI twin.

A request whose (method, path) is matched by a FastAPI route — with Starlette's own matching, first full match
wins, as FastAPI would dispatch it — goes to FastAPI when that route's batch in `migration.toml` has passed its
cutover (and, for a batch with `canary = f`, when the client falls in the first fraction `f`: sticky per
client). Everything else goes to Flask through a2wsgi, which streams request and response bodies. Lifespan goes
to FastAPI. Batches name Flask rules (`GET /trips/<int:trip_id>`); a rule maps to the FastAPI route with the same
method and the same path template once parameter syntax is ignored (`/trips/{trip_id}`).

Versioned FastAPI side: with `prefix="/v2"` the FastAPI app serves `/v2/trips/{trip_id}` while clients keep
calling `/trips/7`; the router matches and forwards `/v2` + public path. Only FastAPI routes under the prefix are
reachable through the router.

Every response carries `x-strangler-backend: flask|fastapi` (and `x-request-id`: the client's, or a new one
also passed on to the app). Every HTTP request becomes one JSON line in the access log (`strangler.accesslog`);
the Flask side runs through `strangler.wsgi_bridge`, which reports DB time and the rule Flask matched. An app that
raises before answering gets a 500 from the router; one that fails mid-body has its connection closed (its
record keeps the status that was sent).

The manifest is re-read when its file changes (checked at most every `reload_interval` seconds), without a
restart; an edit that does not parse is logged and the previous plan stays. FastAPI does not answer HEAD for a
GET route, so HEAD stays on Flask unless the FastAPI route lists HEAD itself.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strangler import dbtime
from strangler import manifest as manifest_mod
from strangler import pilot_state as pilot_state_mod
from strangler import routes as routes_mod
from strangler.accesslog import AccessLog
from strangler.errors import StranglerError
from strangler.wsgi_bridge import SCOPE_KEY, Exchange, hook_flask, measured_wsgi

log = logging.getLogger("strangler.router")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BACKEND_HEADER = b"x-strangler-backend"
REQUEST_ID_HEADER = b"x-request-id"
DEFAULT_FLASK = "strangler.demo.flask_app:app"
DEFAULT_FASTAPI = "strangler.demo.fastapi_app:app"

_ID_PREFIX = os.urandom(8).hex()  # request ids: random per process + a counter (uuid4 costs ~5 µs)
_id_counter = itertools.count(1)


def template_key(rule: str) -> str:
    """A path template with every parameter written `{}` (defined once in `strangler.routes`)."""
    return routes_mod.template_key(rule)


def canary_bucket(batch: str, client: str) -> float:
    """Where a client falls in [0, 1) for a batch's canary: stable across restarts, independent per batch."""
    digest = hashlib.blake2b(f"{batch}\0{client}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def load_app(spec: str) -> Any:
    """Import `module:attr` (dotted, or a factory call) as `strangler routes --app` does: one parser, in _inventory."""
    from strangler._inventory import SpecError, load

    try:
        return load(spec)
    except SpecError as exc:
        raise StranglerError(str(exc)) from None
    except ImportError as exc:
        raise StranglerError(f"cannot import {spec.partition(':')[0]!r} for app {spec!r}: {exc}") from None


# --- dispatch table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutePlan:
    """When and how much of one FastAPI route's traffic goes to FastAPI."""

    batch: str
    rule: str  # the batch's Flask rule, as the manifest names it (logged with each request of the batch)
    cutover: float  # POSIX seconds
    canary: float | None  # fraction of clients; None means all of them
    ramped: bool = False  # the pilot sets the fraction (pilot state file); cutover and canary do not apply


@dataclass(frozen=True)
class Target:
    """One FastAPI route, in the app's matching order, with the plans of the methods that a batch moved."""

    route: Any  # the effective route (a starlette route, or FastAPI's RouteContext)
    name: str  # the route as FastAPI names it (its full path, prefix included)
    public: str  # the public path template (prefix removed)
    plans: dict[str, RoutePlan]  # method -> plan
    regex: Any  # the route's compiled path regex: a cheap pre-filter before `matches`
    matches: Callable  # the route's own `matches(scope)`


def fastapi_routes(app: Any) -> list[Any]:
    """The app's routes flattened in matching order, with included routers' prefixes applied.

    FastAPI >= 0.13x keeps included routers as lazy `_IncludedRouter` entries; `iter_route_contexts` (what its
    OpenAPI generator uses) flattens them. Older FastAPI and plain Starlette already list flat routes."""
    routes = getattr(app, "routes", None)
    if routes is None:
        raise StranglerError(f"the FastAPI app {app!r} has no routes (is it a FastAPI/Starlette app?)")
    from strangler._inventory import route_contexts

    return [ctx for ctx, _ in route_contexts(routes)]


def dispatch_table(
    fastapi_app: Any, batches: list[manifest_mod.Batch], prefix: str = ""
) -> tuple[list[Target], list[tuple[str, str, str]]]:
    """FastAPI routes under `prefix` with their plans, and the (batch, method, rule) that have no FastAPI twin."""
    routes = fastapi_routes(fastapi_app)
    wanted: dict[tuple[str, str], RoutePlan] = {}
    for b in batches:
        for method, rule in b.routes:
            wanted[(method, template_key(rule))] = RoutePlan(
                b.name, rule, b.cutover.timestamp(), b.canary, b.ramp is not None
            )
    used: set[tuple[str, str]] = set()
    targets: list[Target] = []
    for route in routes:
        path = getattr(route, "path", None)
        regex = getattr(route, "path_regex", None)
        if regex is None or path is None or not path.startswith(prefix):
            continue
        public = path[len(prefix) :] or "/"
        key = template_key(public)
        methods = getattr(route, "methods", None) or set()
        plans: dict[str, RoutePlan] = {}
        for method in methods:
            counted = routes_mod.counted_method(method, head_declared=(method, key) in wanted)
            plan = wanted.get((counted, key))
            if counted == method:
                used.add((method, key))
            if plan is not None:
                plans[method] = plan
        targets.append(Target(route, path, public, plans, regex, route.matches))
    missing = [(b.name, m, r) for b in batches for m, r in b.routes if (m, template_key(r)) not in used]
    return targets, missing


# --- the router ---------------------------------------------------------------------------------------------


class Router:
    """The ASGI app. Build it with `create`; call `close()` (or let lifespan shutdown do it) to flush the log."""

    def __init__(
        self,
        manifest: str | Path,
        flask_app: Any,
        fastapi_app: Any,
        access_log: str | Path | None = None,
        *,
        prefix: str = "",
        client_header: str | None = None,
        flask_workers: int = 10,
        reload_interval: float = 1.0,
        pilot_state: str | Path | None = None,
        faults: dict[str, Any] | None = None,
    ) -> None:
        from a2wsgi import WSGIMiddleware

        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise StranglerError(f"FastAPI prefix {prefix!r} must start with / and not end with /, e.g. /v2")
        self.manifest = Path(manifest)
        self.fastapi = fastapi_app
        self.flask_app = flask_app
        self.prefix = prefix
        self._prefix_raw = prefix.encode("utf-8")
        self.client_header = client_header.lower().encode("latin-1") if client_header else None
        self.reload_interval = reload_interval
        self.pilot = pilot_state_mod.Watcher(
            pilot_state_mod.default_path(manifest) if pilot_state is None else pilot_state
        )
        self.faults = dict(faults or {})  # batch -> demo fault in its FastAPI port (strangler.demo.fault)
        self.flask = WSGIMiddleware(measured_wsgi(flask_app), workers=flask_workers)
        self._hooked = False
        import flask

        if isinstance(flask_app, flask.Flask):
            hook_flask(flask_app, True)
            self._hooked = True
        self.targets: list[Target] = []
        self.missing: list[tuple[str, str, str]] = []
        self._signature: tuple | None = None
        self._next_check = 0.0
        self._reload(first=True)
        self.access_log = AccessLog(access_log) if access_log is not None else None
        atexit.register(self.close)

    # manifest -------------------------------------------------------------------------------------------

    def _reload(self, first: bool = False) -> None:
        """Re-read the manifest if its file changed; a broken edit keeps the previous plan (and says so)."""
        try:
            st = os.stat(self.manifest)
        except OSError as exc:
            if first:
                raise StranglerError(f"manifest {self.manifest} does not exist") from None
            log.warning("manifest %s unreadable (%s); keeping the previous plan", self.manifest, exc)
            return
        # deliberate twin of pilot_state.Watcher.refresh's change check; see the note there
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self._signature:
            return
        self._signature = signature
        try:
            batches = manifest_mod.load(self.manifest)
        except (StranglerError, OSError) as exc:
            if first:
                raise
            log.warning("keeping the previous plan: %s", exc)
            return
        self.targets, self.missing = dispatch_table(self.fastapi, batches, self.prefix)
        for batch, method, rule in self.missing:
            log.warning(
                "batch %r: %s %s has no FastAPI twin under %r; it stays on Flask",
                batch,
                method,
                rule,
                self.prefix or "/",
            )

    # dispatch -------------------------------------------------------------------------------------------

    def _client(self, scope: Scope) -> str:
        if self.client_header is not None:
            for name, value in scope.get("headers", ()):
                if name == self.client_header:
                    return value.decode("latin-1")
        client = scope.get("client")
        return client[0] if client else ""

    def choose(self, scope: Scope, now: float | None = None) -> tuple[str, Target | None, RoutePlan | None]:
        """('fastapi' | 'flask', the FastAPI route that would serve it, the plan of its batch) for an HTTP scope.

        A ramped batch's route goes to FastAPI when the client's bucket is below the pilot's current fraction;
        any other batch's route from its cutover (and, with a canary, when the bucket is below the canary)."""
        from starlette.routing import Match

        root = scope.get("root_path", "")
        path = scope["path"]
        public = path[len(root) :] if root and path.startswith(root) else path
        fpath = self.prefix + public
        method = scope["method"]
        probe = None
        for target in self.targets:
            if target.regex.match(fpath) is None:
                continue
            if probe is None:
                probe = {"type": "http", "path": fpath, "root_path": "", "method": method}
            match, _ = target.matches(probe)
            if match is not Match.FULL:
                continue
            plan = target.plans.get(method)
            if plan is None:
                return "flask", None, None
            if plan.ramped:
                share = self.pilot.fraction(plan.batch)
                if share <= 0 or canary_bucket(plan.batch, self._client(scope)) >= share:
                    return "flask", None, plan
                return "fastapi", target, plan
            if (time.time() if now is None else now) < plan.cutover:
                return "flask", None, plan
            if plan.canary is not None and canary_bucket(plan.batch, self._client(scope)) >= plan.canary:
                return "flask", None, plan
            return "fastapi", target, plan
        return "flask", None, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:  # websockets: only FastAPI speaks them
            await self.fastapi(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_close(message: dict) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.close()
            await send(message)

        await self.fastapi(scope, receive, send_and_close)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.time()
        p0 = time.perf_counter()
        if p0 >= self._next_check:
            self._next_check = p0 + self.reload_interval
            self._reload()
        self.pilot.refresh(p0)
        backend, target, plan = self.choose(scope, t0)
        scope = dict(scope)
        rid = None
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER:
                rid = value.decode("latin-1")[:200]
                break
        if rid is None:
            rid = f"{_ID_PREFIX}{next(_id_counter):016x}"
            scope["headers"] = [*scope.get("headers", ()), (REQUEST_ID_HEADER, rid.encode())]
        ex = Exchange()
        extra = [(BACKEND_HEADER, backend.encode())]
        rid_bytes = rid.encode("latin-1", "replace")

        async def send_tracked(message: dict) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                ex.started = True
                ex.status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(n.lower() == REQUEST_ID_HEADER for n, _ in headers):
                    headers.append((REQUEST_ID_HEADER, rid_bytes))
                message = {**message, "headers": headers + extra}
            elif kind == "http.response.body":
                ex.bytes += len(message.get("body", b""))
                if not message.get("more_body", False):
                    ex.done = True
                    ex.end = time.perf_counter()
            await send(message)

        if backend == "fastapi":
            assert target is not None
            app = self.fastapi
            fault = self.faults.get(plan.batch) if plan is not None and self.faults else None
            if fault is not None:
                app = fault.wrap(app)
            ex.route = target.name
            if self.prefix:
                root = scope.get("root_path", "")
                public = scope["path"][len(root) :] if root and scope["path"].startswith(root) else scope["path"]
                scope["path"] = root + self.prefix + public
                scope["raw_path"] = self._prefix_raw + scope.get("raw_path", public.encode())
        else:
            app = self.flask
            scope[SCOPE_KEY] = ex
        try:
            with dbtime.measure(ex.db):
                await app(scope, receive, send_tracked)
            if not ex.started:
                raise RuntimeError(f"{backend} app returned without a response")
        except Exception:
            log.exception("%s %s failed in %s", scope["method"], scope["path"], backend)
            if not ex.started:
                body = b"Internal Server Error"
                await send_tracked(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send_tracked({"type": "http.response.body", "body": body})
            elif not ex.done:
                raise  # the status line is gone; the server closes the connection
        finally:
            end = ex.end or time.perf_counter()
            if self.access_log is not None:
                raw = scope.get("raw_path")
                path = raw.decode("latin-1") if raw else scope["path"]
                if backend == "fastapi" and self.prefix and path.startswith(self.prefix):
                    path = path[len(self.prefix) :]
                path = path.partition("?")[0]
                self.access_log.put(
                    (
                        t0,
                        scope["method"],
                        path,
                        ex.route,
                        backend,
                        ex.status or 500,
                        end - p0,
                        ex.bytes,
                        ex.db.ms,
                        ex.db.queries,
                        rid,
                        plan.batch if plan is not None else None,
                        plan.rule if plan is not None else None,
                    )
                )

    def close(self) -> None:
        """Flush and close the access log; stop the WSGI thread pool."""
        if self.access_log is not None:
            self.access_log.close()
        if self._hooked:
            self._hooked = False
            hook_flask(self.flask_app, False)
        self.flask.executor.shutdown(wait=False)


# deliberate twin of serve's parameters: both are public entry points taking the same router options
def create(
    manifest: str | Path,
    flask: Any = DEFAULT_FLASK,
    fastapi: Any = DEFAULT_FASTAPI,
    access_log: str | Path | None = None,
    *,
    prefix: str = "",
    client_header: str | None = None,
    flask_workers: int = 10,
    reload_interval: float = 1.0,
    pilot_state: str | Path | None = None,
    faults: list[str] | None = None,
) -> Router:
    """The router as an ASGI app. `flask`/`fastapi` are app objects or `module:attr` strings.

    prefix: the FastAPI side's versioned prefix (`/v2`); client_header: request header naming the client for
    canary stickiness (default: the client address, which uvicorn takes from X-Forwarded-For when the peer is
    a trusted proxy); reload_interval: seconds between checks of the manifest file; pilot_state: the pilot's
    state file (default beside the manifest, see `strangler.pilot_state`); faults: demo faults in FastAPI
    ports, `BATCH:errors=0.1` or `BATCH:slow=2` (see `strangler.demo.fault`)."""
    from strangler.demo import fault

    flask_app = load_app(flask) if isinstance(flask, str) else flask
    fastapi_app = load_app(fastapi) if isinstance(fastapi, str) else fastapi
    return Router(
        manifest,
        flask_app,
        fastapi_app,
        access_log,
        prefix=prefix,
        client_header=client_header,
        flask_workers=flask_workers,
        reload_interval=reload_interval,
        pilot_state=pilot_state,
        faults=dict(fault.parse(spec) for spec in faults or ()),
    )


_CONFIG_ENV = "STRANGLER_ROUTER_CONFIG"  # JSON keyword arguments of `create`, for uvicorn's worker processes


def worker_app() -> Router:
    """uvicorn factory for `serve --workers N`: each worker process builds its router from the environment."""
    import json

    kw = json.loads(os.environ[_CONFIG_ENV])
    return create(kw.pop("manifest"), **kw)


# deliberate twin of create's parameters: serve passes them on to create (or to the workers' environment)
def serve(
    manifest: str | Path,
    flask: Any = DEFAULT_FLASK,
    fastapi: Any = DEFAULT_FASTAPI,
    host: str = "127.0.0.1",
    port: int = 8000,
    access_log: str | Path | None = None,
    *,
    prefix: str = "",
    client_header: str | None = None,
    flask_workers: int = 10,
    workers: int = 1,
    pilot_state: str | Path | None = None,
    faults: list[str] | None = None,
) -> None:
    """Run the router with uvicorn until interrupted; the access log is flushed at shutdown.

    workers > 1 runs that many uvicorn worker processes (apps given as `module:attr` strings); they share the
    access log (O_APPEND writes) and each reads the pilot's state file."""
    import json
    import socket

    import uvicorn

    if workers < 1:
        raise StranglerError(f"--workers must be at least 1, got {workers}")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise StranglerError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    kw: dict[str, Any] = {
        "prefix": prefix,
        "client_header": client_header,
        "flask_workers": flask_workers,
        "pilot_state": None if pilot_state is None else str(pilot_state),
        "faults": list(faults or ()),
    }
    app = create(manifest, flask, fastapi, access_log, **kw)  # in this process too: bad input fails here, once
    moved = sum(len(t.plans) for t in app.targets)
    print(
        f"strangler router on http://{host}:{port} — manifest {manifest} ({moved} FastAPI route methods "
        f"planned{', prefix ' + prefix if prefix else ''}); access log {access_log or 'off'}; "
        f"pilot state {app.pilot.path}{f'; {workers} workers' if workers > 1 else ''}",
        file=sys.stderr,
        flush=True,
    )
    if workers == 1:
        try:
            uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", lifespan="on")
        finally:
            app.close()
        return
    app.close()
    if not isinstance(flask, str) or not isinstance(fastapi, str):
        raise StranglerError("--workers N needs the apps as MODULE:ATTR strings")
    os.environ[_CONFIG_ENV] = json.dumps(
        {
            "manifest": str(manifest),
            "flask": flask,
            "fastapi": fastapi,
            "access_log": None if access_log is None else str(access_log),
            **kw,
        }
    )
    uvicorn.run(
        "strangler.router:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )
