"""Router overhead: latency through `strangler serve` minus latency of the same app served directly.

Four uvicorn processes on 127.0.0.1 (h11, one worker each): the FastAPI test app directly, the Flask test app
through a2wsgi directly, and the router in front of both twice (a FastAPI-routed path and a Flask-routed path go
to the same router). One client sends sequential keep-alive requests, interleaving direct and routed requests so
that both see the same background load, and reports p50/p95 of each and the p50 of the paired differences.

    .venv/bin/python bench/router.py [--requests N]

Bounded: N requests per pair (default 3000), then every server is stopped.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"


def flask_direct():
    """uvicorn factory: the Flask test app behind a2wsgi alone (the baseline for Flask-routed requests)."""
    import router_flask
    from a2wsgi import WSGIMiddleware

    return WSGIMiddleware(router_flask.app)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(APPS), str(ROOT / "bench")])}
    proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server {args} did not start")


def timed(conn: http.client.HTTPConnection, path: str) -> float:
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    elapsed = time.perf_counter() - t0
    assert r.status == 200, (path, r.status)
    return elapsed * 1000


def pair(direct_port: int, routed_port: int, path: str, n: int) -> dict:
    a = http.client.HTTPConnection("127.0.0.1", direct_port)
    b = http.client.HTTPConnection("127.0.0.1", routed_port)
    for _ in range(200):  # warm-up: imports, caches, thread pools
        timed(a, path), timed(b, path)
    direct, routed = [], []
    for i in range(n):
        if i % 2:
            direct.append(timed(a, path)), routed.append(timed(b, path))
        else:
            routed.append(timed(b, path)), direct.append(timed(a, path))
    a.close(), b.close()
    q = lambda xs, p: statistics.quantiles(xs, n=100)[p - 1]
    diffs = [r - d for r, d in zip(routed, direct)]
    return {
        "direct_p50": q(direct, 50),
        "direct_p95": q(direct, 95),
        "routed_p50": q(routed, 50),
        "routed_p95": q(routed, 95),
        "overhead_p50": q(routed, 50) - q(direct, 50),
        "paired_diff_p50": statistics.median(diffs),
    }


def in_process(manifest: Path, log: Path, n: int) -> dict:
    """CPU cost of the router per request without sockets: the same ASGI call through the router and straight
    into the app, interleaved, median of per-request differences (µs)."""
    import asyncio

    sys.path.insert(0, str(APPS))
    import router_fastapi
    import router_flask
    from a2wsgi import WSGIMiddleware

    from strangler import router

    app = router.create(manifest, router_flask.app, router_fastapi.app, log)
    flask_direct_app = WSGIMiddleware(router_flask.app)

    def scope(path: str) -> dict:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
        }

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    async def once(target, path: str) -> float:
        t0 = time.perf_counter()
        await target(scope(path), receive, send)
        return (time.perf_counter() - t0) * 1e6

    async def measure(direct, path: str) -> tuple[float, float, float]:
        for _ in range(300):
            await once(direct, path), await once(app, path)
        d, r = [], []
        for _ in range(n):
            d.append(await once(direct, path))
            r.append(await once(app, path))
        return statistics.median(d), statistics.median(r), statistics.median(x - y for x, y in zip(r, d))

    async def both() -> dict:
        return {
            "fastapi": await measure(router_fastapi.app, "/trips/7"),
            "flask": await measure(flask_direct_app, "/users/7"),
        }

    try:
        return asyncio.run(both())
    finally:
        app.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    n = ap.parse_args().requests
    tmp = Path(tempfile.mkdtemp(prefix="bench-router-"))
    manifest = tmp / "migration.toml"
    manifest.write_text(
        '[[batch]]\nname = "b"\ncutover = 2026-01-01T00:00:00Z\nroutes = ["GET /trips/<int:trip_id>"]\n'
    )
    ports = {k: free_port() for k in ("fastapi", "flask", "router")}
    uv = ["-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
    procs = [
        start([*uv, "--port", str(ports["fastapi"]), "router_fastapi:app"], ports["fastapi"]),
        start([*uv, "--port", str(ports["flask"]), "--factory", "router:flask_direct"], ports["flask"]),
        start(
            [
                "-m",
                "strangler",
                "serve",
                "--manifest",
                str(manifest),
                "--flask",
                "router_flask:app",
                "--fastapi",
                "router_fastapi:app",
                "--port",
                str(ports["router"]),
                "--access-log",
                str(tmp / "router.jsonl"),
            ],
            ports["router"],
        ),
    ]
    try:
        results = {
            "fastapi (GET /trips/7)": pair(ports["fastapi"], ports["router"], "/trips/7", n),
            "flask (GET /users/7)": pair(ports["flask"], ports["router"], "/users/7", n),
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
    inproc = in_process(manifest, tmp / "inproc.jsonl", n)
    lines = len((tmp / "router.jsonl").read_bytes().splitlines())
    print(f"{n} sequential keep-alive requests per side, interleaved; router log lines written: {lines}")
    print(
        f"{'route':24} {'direct p50':>10} {'p95':>7} {'routed p50':>10} {'p95':>7} {'overhead p50':>12} "
        f"{'paired p50':>10}  (ms)"
    )
    for name, r in results.items():
        print(
            f"{name:24} {r['direct_p50']:10.3f} {r['direct_p95']:7.3f} {r['routed_p50']:10.3f} "
            f"{r['routed_p95']:7.3f} {r['overhead_p50']:12.3f} {r['paired_diff_p50']:10.3f}"
        )
    print("in process, no sockets (µs): app alone p50 / through the router p50 / router cost p50 (paired)")
    for name, (d, r, diff) in inproc.items():
        print(f"  {name:8} {d:8.1f} {r:8.1f} {diff:8.1f}")


if __name__ == "__main__":
    main()
