"""The strangler router against a real uvicorn on a free loopback port, with small Flask/FastAPI test apps."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import uvicorn

from strangler import accesslog, router, wsgi_bridge
from strangler.errors import StranglerError

APPS = Path(__file__).resolve().parent / "apps"
sys.path.insert(0, str(APPS))

import router_fastapi  # noqa: E402
import router_flask  # noqa: E402

PAST = "2026-01-05T09:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"


def write_manifest(
    path: Path,
    cutover: str = PAST,
    canary: float | None = None,
    routes: str = '"GET /trips/<int:trip_id>", "GET /stream", "GET /boom", "POST /upload"',
) -> Path:
    text = f'[[batch]]\nname = "trips"\ncutover = {cutover}\nroutes = [{routes}]\n'
    if canary is not None:
        text += f"canary = {canary}\n"
    path.write_text(text)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app):
    """uvicorn on 127.0.0.1 in a thread; lifespan on, so shutdown flushes the router's log."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive()


def read_log(path: Path) -> list[dict]:
    """The records in request order (by `ts`, the request's arrival: a record is written once it is served, and
    a sequential client may already be served its next request by then)."""
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["ts"])


def stable(record: dict) -> dict:
    """A log record without the fields that vary from run to run."""
    return {k: v for k, v in record.items() if k not in ("ts", "duration_ms")}


@pytest.fixture
def make_router(tmp_path):
    made = []

    def make(manifest: Path, **kw) -> router.Router:
        kw.setdefault("flask", router_flask.app)
        kw.setdefault("fastapi", router_fastapi.app)
        r = router.create(manifest, access_log=tmp_path / "access.jsonl", **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def test_template_key_ignores_parameter_syntax():
    assert [
        router.template_key(r)
        for r in ["/trips/<int:trip_id>", "/trips/{trip_id}", "/trips/{trip_id:int}", "/a/<x>/b/<path:rest>", "/trips"]
    ] == ["/trips/{}", "/trips/{}", "/trips/{}", "/a/{}/b/{}", "/trips"]


def test_dispatch_table_maps_batches_to_fastapi_twins(tmp_path):
    from strangler import manifest

    batches = manifest.parse(
        '[[batch]]\nname = "b"\ncutover = 2026-01-05T09:00:00Z\n'
        'routes = ["GET /trips/<int:trip_id>", "DELETE /trips/<int:trip_id>", "GET /gone"]\n'
    )
    targets, missing = router.dispatch_table(router_fastapi.versioned, batches, "/v2")
    planned = {(t.name, t.public, m, p.batch) for t in targets for m, p in t.plans.items()}
    assert planned == {("/v2/trips/{trip_id}", "/trips/{trip_id}", "GET", "b")}
    assert missing == [("b", "DELETE", "/trips/<int:trip_id>"), ("b", "GET", "/gone")]
    # the unprefixed docs routes are not reachable through a /v2 router
    assert all(t.name.startswith("/v2/") for t in targets)


def test_routes_land_on_the_right_backend_header_and_log(tmp_path, make_router):
    log = tmp_path / "access.jsonl"
    app = make_router(write_manifest(tmp_path / "migration.toml"))
    asked = [("GET", "/trips/7"), ("GET", "/trips"), ("GET", "/users/3?x=1"), ("GET", "/nowhere"), ("HEAD", "/trips/8")]
    with serving(app) as url, httpx.Client(base_url=url) as client:
        assert "startup" in router_fastapi.lifespan_events  # lifespan went to FastAPI
        got, sizes = [], []
        for i, (method, path) in enumerate(asked):
            r = client.request(method, path, headers={"x-request-id": f"req-{i}"})
            got.append(
                (
                    r.status_code,
                    r.headers["x-strangler-backend"],
                    r.headers["x-request-id"],
                    r.json() if method == "GET" and r.status_code == 200 else None,
                )
            )
            sizes.append(len(r.content))
        anonymous = client.get("/trips")
    assert got == [
        (200, "fastapi", "req-0", {"backend": "fastapi", "trip": 7}),
        (200, "flask", "req-1", {"backend": "flask", "trips": [1, 2]}),
        (200, "flask", "req-2", {"backend": "flask", "user": 3}),
        (404, "flask", "req-3", None),
        (200, "flask", "req-4", None),  # FastAPI answers HEAD with 405, so HEAD stays on Flask
    ]
    records = read_log(log)
    assert [list(r) for r in records] == [list(accesslog.LOG_KEYS)] * 6
    assert [stable(r) for r in records] == [
        {
            "method": "GET",
            "path": "/trips/7",
            "route": "/trips/{trip_id}",
            "backend": "fastapi",
            "status": 200,
            "bytes": sizes[0],
            "db_ms": 3.0,
            "db_queries": 1,
            "request_id": "req-0",
            "batch": "trips",
            "rule": "/trips/<int:trip_id>",
        },
        {
            "method": "GET",
            "path": "/trips",
            "route": "/trips",
            "backend": "flask",
            "status": 200,
            "bytes": sizes[1],
            "db_ms": 1.5,
            "db_queries": 1,
            "request_id": "req-1",
            "batch": None,
            "rule": None,
        },
        {
            "method": "GET",
            "path": "/users/3",
            "route": "/users/<int:user_id>",
            "backend": "flask",
            "status": 200,
            "bytes": sizes[2],
            "db_ms": 0.0,
            "db_queries": 0,
            "request_id": "req-2",
            "batch": None,
            "rule": None,
        },
        {
            "method": "GET",
            "path": "/nowhere",
            "route": None,
            "backend": "flask",
            "status": 404,
            "bytes": sizes[3],
            "db_ms": 0.0,
            "db_queries": 0,
            "request_id": "req-3",
            "batch": None,
            "rule": None,
        },
        {
            "method": "HEAD",
            "path": "/trips/8",
            "route": "/trips/<int:trip_id>",
            "backend": "flask",
            "status": 200,
            "bytes": 0,
            "db_ms": 2.5,
            "db_queries": 2,
            "request_id": "req-4",
            "batch": None,  # FastAPI's route does not list HEAD: not moved, not the batch's
            "rule": None,
        },
        {
            "method": "GET",
            "path": "/trips",
            "route": "/trips",
            "backend": "flask",
            "status": 200,
            "bytes": sizes[1],
            "db_ms": 1.5,
            "db_queries": 1,
            "request_id": anonymous.headers["x-request-id"],
            "batch": None,
            "rule": None,
        },
    ]
    assert sizes == [30, 34, 29, 207, 0] and len(anonymous.headers["x-request-id"]) == 32  # generated: prefix + counter
    now = dt.datetime.now(dt.UTC)
    for r in records:
        ts = dt.datetime.fromisoformat(r["ts"].replace("Z", "+00:00"))
        assert r["ts"].endswith("Z") and dt.timedelta(0) < now - ts < dt.timedelta(minutes=1)
        assert 0 < r["duration_ms"] < 10_000


def test_future_cutover_keeps_flask_and_manifest_edit_switches_without_restart(tmp_path, make_router):
    manifest = write_manifest(tmp_path / "migration.toml", cutover=FUTURE)
    app = make_router(manifest, reload_interval=0.0)
    with serving(app) as url, httpx.Client(base_url=url) as client:
        before = client.get("/trips/1").headers["x-strangler-backend"]
        write_manifest(manifest, cutover=PAST, routes='"GET /trips/<int:trip_id>", "GET /trips"')
        after = [client.get(p).headers["x-strangler-backend"] for p in ("/trips/1", "/trips")]
        manifest.write_text("[[batch]]\nthis is not toml")  # a broken edit keeps the plan
        broken = client.get("/trips/1").headers["x-strangler-backend"]
        write_manifest(manifest, cutover=FUTURE)
        back = client.get("/trips/1").headers["x-strangler-backend"]
    assert (before, after, broken, back) == ("flask", ["fastapi", "fastapi"], "fastapi", "flask")
    assert [(r["path"], r["backend"], r["route"]) for r in read_log(tmp_path / "access.jsonl")] == [
        ("/trips/1", "flask", "/trips/<int:trip_id>"),
        ("/trips/1", "fastapi", "/trips/{trip_id}"),
        ("/trips", "fastapi", "/trips"),
        ("/trips/1", "fastapi", "/trips/{trip_id}"),
        ("/trips/1", "flask", "/trips/<int:trip_id>"),
    ]


def test_canary_sends_a_tenth_of_distinct_clients_sticky(tmp_path, make_router):
    app = make_router(write_manifest(tmp_path / "migration.toml", canary=0.1))
    clients = [f"10.{i // 250}.{i % 250}.7" for i in range(2000)]

    def backend(conn: http.client.HTTPConnection, ip: str) -> str:
        conn.request("GET", "/trips/5", headers={"x-forwarded-for": ip})
        r = conn.getresponse()
        r.read()
        return r.headers["x-strangler-backend"]

    with serving(app) as url:  # http.client: a lighter client for 2,200 requests
        conn = http.client.HTTPConnection(*url.removeprefix("http://").split(":"))
        first = [backend(conn, ip) for ip in clients]
        again = [backend(conn, ip) for ip in clients[:200]]
        conn.close()
    share = first.count("fastapi") / len(first)
    assert 0.07 <= share <= 0.13, share
    assert again == first[:200]  # sticky per client
    expected = ["fastapi" if router.canary_bucket("trips", ip) < 0.1 else "flask" for ip in clients]
    assert first == expected
    assert Counter(r["backend"] for r in read_log(tmp_path / "access.jsonl")) == Counter(first + again)


@pytest.mark.parametrize("backend", ["flask", "fastapi"])
def test_streaming_response_arrives_in_chunks(tmp_path, make_router, backend):
    cutover = PAST if backend == "fastapi" else FUTURE
    app = make_router(write_manifest(tmp_path / "migration.toml", cutover=cutover))
    release = (router_fastapi if backend == "fastapi" else router_flask).stream_release
    release.clear()
    with serving(app) as url, httpx.Client(base_url=url) as client, client.stream("GET", "/stream") as r:
        chunks = r.iter_raw()
        first = next(chunks)  # arrives while the app is still waiting for release
        release.set()
        rest = b"".join(chunks)
        headers = r.headers["x-strangler-backend"]
    assert (first, rest, headers) == (b"first\n", b"second\n", backend)
    [record] = read_log(tmp_path / "access.jsonl")
    assert (record["backend"], record["status"], record["bytes"], record["db_ms"], record["db_queries"]) == (
        backend,
        200,
        13,
        4.0,
        1,
    )


@pytest.mark.parametrize("backend", ["flask", "fastapi"])
def test_request_body_is_streamed_not_buffered(tmp_path, make_router, backend):
    cutover = PAST if backend == "fastapi" else FUTURE
    app = make_router(write_manifest(tmp_path / "migration.toml", cutover=cutover))
    seen = (router_fastapi if backend == "fastapi" else router_flask).upload_seen
    seen.clear()
    waited = []

    def body():
        yield b"head"
        waited.append(seen.wait(10))  # the app has read the first part before the rest is sent
        yield b"-and-the-rest"

    with serving(app) as url, httpx.Client(base_url=url) as client:
        r = client.post("/upload", content=body())  # chunked transfer encoding
    assert (r.status_code, r.headers["x-strangler-backend"], r.json(), waited) == (
        200,
        backend,
        {"backend": backend, "first": "head", "bytes": 17},
        [True],
    )


def test_exceptions_in_either_app_give_500_and_a_log_record(tmp_path, make_router, caplog):
    app = make_router(write_manifest(tmp_path / "migration.toml", routes='"GET /trips/<int:trip_id>"'))
    with serving(app) as url, httpx.Client(base_url=url) as client:
        flask_boom = client.get("/boom", headers={"x-request-id": "f"})
        write_manifest(tmp_path / "migration.toml", routes='"GET /boom"')
        app._next_check = 0.0
        fastapi_boom = client.get("/boom", headers={"x-request-id": "a"})
        after = client.get("/users/1")  # the server still answers
    assert [(r.status_code, r.headers["x-strangler-backend"]) for r in (flask_boom, fastapi_boom, after)] == [
        (500, "flask"),
        (500, "fastapi"),
        (200, "flask"),
    ]
    assert [(r["request_id"], r["backend"], r["status"], r["route"]) for r in read_log(tmp_path / "access.jsonl")][
        :2
    ] == [("f", "flask", 500, None), ("a", "fastapi", 500, "/boom")]
    failures = [r.getMessage() for r in caplog.records if r.name == "strangler.router"]
    assert failures == ["GET /boom failed in flask", "GET /boom failed in fastapi"]


def test_200_concurrent_requests_are_each_logged_once(tmp_path, make_router):
    app = make_router(write_manifest(tmp_path / "migration.toml"))
    ids = [f"c{i:03d}" for i in range(200)]

    async def hammer(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
            paths = ["/trips/9", "/trips", "/users/2", "/nowhere"]
            rs = await asyncio.gather(
                *(client.get(paths[i % 4], headers={"x-request-id": rid}) for i, rid in enumerate(ids))
            )
            return [r.status_code for r in rs]

    with serving(app) as url:
        statuses = asyncio.run(hammer(url))
    records = read_log(tmp_path / "access.jsonl")
    assert Counter(statuses) == {200: 150, 404: 50}
    assert sorted(r["request_id"] for r in records) == ids
    # DB time stays with its own request even with 200 in flight (Flask threads, FastAPI tasks)
    assert Counter((r["path"], r["backend"], r["db_ms"], r["db_queries"]) for r in records) == {
        ("/trips/9", "fastapi", 3.0, 1): 50,
        ("/trips", "flask", 1.5, 1): 50,
        ("/users/2", "flask", 0.0, 0): 50,
        ("/nowhere", "flask", 0.0, 0): 50,
    }


def test_create_rejects_bad_input(tmp_path):
    good = write_manifest(tmp_path / "m.toml")
    with pytest.raises(StranglerError, match="manifest .*missing.toml does not exist"):
        router.create(tmp_path / "missing.toml", router_flask.app, router_fastapi.app)
    with pytest.raises(StranglerError, match="must read MODULE:ATTR"):
        router.create(good, ":app", router_fastapi.app)  # a module alone names its app
    with pytest.raises(StranglerError, match="has no attribute 'nope'"):
        router.create(good, "router_flask:nope", router_fastapi.app)
    with pytest.raises(StranglerError, match="prefix 'v2' must start with /"):
        router.create(good, router_flask.app, router_fastapi.app, prefix="v2")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StranglerError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            router.serve(good, router_flask.app, router_fastapi.app, port=port)


def test_strangler_serve_with_a_versioned_fastapi_prefix(tmp_path):
    manifest = write_manifest(tmp_path / "migration.toml")
    log = tmp_path / "serve.jsonl"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{APPS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strangler",
            "serve",
            "--manifest",
            str(manifest),
            "--flask",
            "router_flask:app",
            "--fastapi",
            "router_fastapi:versioned",
            "--fastapi-prefix",
            "/v2",
            "--port",
            str(port),
            "--access-log",
            str(log),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(url + "/users/1")
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.05)
        with httpx.Client(base_url=url) as client:
            public, internal = client.get("/trips/3"), client.get("/v2/trips/3")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    assert (public.status_code, public.headers["x-strangler-backend"], public.json()) == (
        200,
        "fastapi",
        {"backend": "fastapi", "trip": 3},
    )
    assert (internal.status_code, internal.headers["x-strangler-backend"]) == (404, "flask")  # /v2 is not public
    assert [(r["path"], r["route"], r["backend"]) for r in read_log(log)] == [
        ("/users/1", "/users/<int:user_id>", "flask"),
        ("/trips/3", "/v2/trips/{trip_id}", "fastapi"),
        ("/v2/trips/3", None, "flask"),
    ]


# --- strangler load, and the demo apps behind the router -----------------------------------------------------


def test_load_drives_the_demo_apps_through_the_router_and_stops(tmp_path, make_router, con):
    from strangler import ingest, loadgen

    manifest = loadgen.live_manifest(
        tmp_path / "migration.toml", 60, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )  # all cut over
    app = make_router(manifest, flask="strangler.demo.flask_app:app", fastapi="strangler.demo.fastapi_app:app")
    with serving(app) as url:
        result = loadgen.run(url, requests=300, duration=120, concurrency=4, seed=3)
    records = read_log(tmp_path / "access.jsonl")
    assert (result.requests, result.failures, sum(result.statuses.values())) == (300, 0, 300)
    assert Counter(r["backend"] for r in records) == result.backends
    assert Counter(r["status"] for r in records) == result.statuses
    assert set(result.backends) == {"flask", "fastapi"}
    assert {r["route"] for r in records if r["backend"] == "fastapi"} <= {
        "/trips/{trip_id}",
        "/trips",
        "/trips/{trip_id}/steps",
        "/feed",
        "/feed/popular",
        "/users/{user_id}",
        "/search",
    }
    # strangler ingest reads the router's log with zero rejects, every field intact
    ingest.ingest(con, [str(tmp_path / "access.jsonl")])
    assert con.execute("SELECT format, lines, rows, rejects FROM sources").fetchall() == [("strangler", 300, 300, 0)]
    rows = con.execute(
        "SELECT request_id, method, path || coalesce('?' || query, ''), status, bytes, backend, "
        "logged_route, db_ms, db_queries, duration_ms, "
        "strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') FROM requests"
    ).fetchall()
    assert sorted(rows) == sorted(
        (
            r["request_id"],
            r["method"],
            r["path"],
            r["status"],
            r["bytes"],
            r["backend"],
            r["route"],
            r["db_ms"],
            r["db_queries"],
            r["duration_ms"],
            r["ts"],
        )
        for r in records
    )


def test_load_workload_follows_the_demo_mix_and_is_deterministic():
    from strangler import loadgen

    a, b = loadgen.workload(400, seed=5), loadgen.workload(400, seed=5)
    assert (a.methods, a.targets, a.clients, a.auth) == (b.methods, b.targets, b.clients, b.auth)
    assert len(a) == 400 and set(a.methods) <= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert Counter(a.methods).most_common(1)[0][0] == "GET"
    assert all(t.startswith("/") for t in a.targets)


def test_load_refuses_anything_but_loopback():
    from strangler import loadgen

    assert loadgen.check_loopback("http://127.0.0.1:8000") == "127.0.0.1"
    assert loadgen.check_loopback("http://localhost:9") == "localhost"
    with pytest.raises(StranglerError, match="192.0.2.1:8000' is not a loopback address"):
        loadgen.run("http://192.0.2.1:8000", requests=1)
    with pytest.raises(StranglerError, match="must look like http://127.0.0.1:8000"):
        loadgen.run("ftp://127.0.0.1/", requests=1)


def test_live_manifest_spreads_cutovers_over_the_run(tmp_path):
    from strangler import loadgen, manifest

    start = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    batches = manifest.load(loadgen.live_manifest(tmp_path / "m.toml", 120, start=start))
    assert [(b.name, b.cutover - start) for b in batches] == [
        ("trips-read", dt.timedelta(seconds=30)),
        ("feed", dt.timedelta(seconds=60)),
        ("users-search", dt.timedelta(seconds=90)),
    ]


def test_dbtime_adds_queries_to_the_request_being_measured_only():
    from strangler import dbtime

    dbtime.record(5.0)  # outside a request: nowhere to go, no error
    with dbtime.measure() as outer:
        dbtime.record(1.25)
        with dbtime.timed():
            pass
        with dbtime.measure() as inner:
            dbtime.record(2.0)
            assert dbtime.current() is inner
        dbtime.record(0.75)
    assert dbtime.current() is None
    assert (inner.ms, inner.queries) == (2.0, 1)
    assert outer.queries == 3 and outer.ms >= 2.0  # 1.25 + 0.75 + the timed block


def test_wsgi_wrapper_carries_db_time_into_a_thread_that_lacks_the_context(tmp_path, make_router):
    """An adapter that runs the WSGI app in a thread without copying contextvars still reports DB time."""
    from werkzeug.test import EnvironBuilder

    from strangler import dbtime

    make_router(write_manifest(tmp_path / "m.toml"))  # connects the Flask rule hook
    ex = wsgi_bridge.Exchange()
    wsgi = wsgi_bridge.measured_wsgi(router_flask.app)
    environ = EnvironBuilder(path="/stream").get_environ()
    environ["asgi.scope"] = {wsgi_bridge.SCOPE_KEY: ex}
    router_flask.stream_release.set()
    out: list = []

    def run() -> None:  # a new thread starts with an empty context
        out.append(dbtime.current())
        body = wsgi(environ, lambda status, headers, exc_info=None: out.append(status))
        out.append(b"".join(body))
        body.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert out == [None, "200 OK", b"first\nsecond\n"]
    assert (ex.db.ms, ex.db.queries, ex.route) == (4.0, 1, "/stream")


def test_canary_client_can_come_from_a_header(tmp_path, make_router):
    app = make_router(write_manifest(tmp_path / "m.toml", canary=0.25), client_header="X-User")

    def scope(user: str, ip: str) -> dict:
        return {
            "type": "http",
            "method": "GET",
            "path": "/trips/1",
            "client": (ip, 1),
            "headers": [(b"x-user", user.encode())],
        }

    users = [f"user-{i}" for i in range(1000)]
    chosen = [app.choose(scope(u, f"10.0.0.{i % 200}"))[0] for i, u in enumerate(users)]
    moved = [app.choose(scope(u, "10.9.9.9"))[0] for u in users]  # same users, another address
    assert chosen == moved == ["fastapi" if router.canary_bucket("trips", u) < 0.25 else "flask" for u in users]
    assert 0.21 <= chosen.count("fastapi") / 1000 <= 0.29


def test_strangler_load_cli_refuses_a_remote_url_in_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "strangler", "load", "--url", "http://192.0.2.1:8000"], capture_output=True, text=True
    )
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (
        "strangler: error: --url 'http://192.0.2.1:8000' is not a loopback address; strangler "
        "load only targets this machine (127.0.0.1, ::1, localhost)\n"
    )
