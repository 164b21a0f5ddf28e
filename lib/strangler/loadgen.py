"""`strangler load`: a bounded load generator for the live demo, loopback only.

Requests come from the demo's traffic model (`strangler.demo.logs.draw`): the same route mix, ids, query
strings, bots, user agents and client addresses as the generated logs. Each request carries its client address
in `X-Forwarded-For` (uvicorn trusts it from 127.0.0.1), so the router's sticky canary sees many clients; routes
that need a login get a seeded bearer token most of the time. The run stops by itself after `requests`
requests or `duration` seconds, whichever comes first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import numpy as np
import pyarrow.compute as pc

from strangler.errors import StranglerError

AUTH_SHARE = 0.9  # requests to login-only routes that carry a valid token
WORKLOAD_SIZE = 20_000  # requests drawn up front; a longer run cycles through them


def check_loopback(url: str) -> str:
    """The URL's host if it resolves to loopback addresses only; a load generator never leaves the machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StranglerError(f"--url {url!r} must look like http://127.0.0.1:8000")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise StranglerError(f"--url {url!r}: cannot resolve {parts.hostname!r} ({exc})") from None
    addresses = {info[4][0] for info in infos}
    # TCP over IPv4/IPv6: the host of each sockaddr is a str (typeshed also allows int for other families)
    if not all(ipaddress.ip_address(cast(str, a).split("%")[0]).is_loopback for a in addresses):
        raise StranglerError(
            f"--url {url!r} is not a loopback address; strangler load only targets this "
            "machine (127.0.0.1, ::1, localhost)"
        )
    return parts.hostname


@dataclass
class Workload:
    """The requests to send, drawn from the demo's traffic model: parallel lists, one entry per request."""

    methods: list[str]
    targets: list[str]  # path + query string
    clients: list[str]
    agents: list[str]
    auth: list[str | None]  # Authorization header or None

    def __len__(self) -> int:
        return len(self.methods)


def workload(requests: int, seed: int = 7) -> Workload:
    """Draw `requests` requests from the demo's traffic model (numpy; no per-row Python work but the lists)."""
    from strangler.demo import logs, store, traffic

    if requests < 1:
        raise StranglerError(f"--requests must be at least 1, got {requests}")
    c = logs.draw(requests, seed)
    rng = np.random.default_rng(seed + 1)
    methods = np.array(logs.METHODS)[c.method]
    targets = pc.binary_join_element_wise(c.path, c.query, "")
    agents = np.array(logs.UAS)[c.ua_idx]
    needs_auth = np.array([r.auth for r in traffic.ROUTES] + [False])[c.route]
    tokens = np.array([f"Bearer {store.token(u)}" for u in range(1, store.N_USERS + 1)], dtype=object)
    token = tokens[rng.integers(0, store.N_USERS, requests)]
    # numpy's stubs reject None as a value, yet it is an object scalar here
    auth = np.where(needs_auth & (rng.random(requests) < AUTH_SHARE), token, None)  # type: ignore[call-overload]
    return Workload(methods.tolist(), targets.to_pylist(), c.ip.to_pylist(), agents.tolist(), auth.tolist())


@dataclass
class LoadResult:
    """What a run did: counts by status and by backend (from `x-strangler-backend`), client-side latency."""

    url: str
    requests: int
    seconds: float
    statuses: Counter = field(default_factory=Counter)
    backends: Counter = field(default_factory=Counter)
    failures: int = 0  # transport errors (no HTTP answer)
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")

    def __str__(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        classes = Counter(f"{s // 100}xx" for s in self.statuses.elements())
        return (
            f"load {self.url}: {self.requests:,} requests in {self.seconds:.1f} s ({rate:,.0f}/s); "
            f"status {dict(sorted(classes.items()))}; backend {dict(sorted(self.backends.items()))}; "
            f"client p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms; {self.failures} failed"
        )


async def _wait_ready(client, deadline: float) -> None:
    import httpx

    while True:
        try:
            await client.get("/health")
            return
        except httpx.TransportError:
            if time.monotonic() >= deadline:
                raise StranglerError(f"nothing answers at {client.base_url} (waited for it)") from None
            await asyncio.sleep(0.1)


async def _run(
    url: str, todo: Workload, count: int, duration: float, concurrency: int, timeout: float, wait: float
) -> LoadResult:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    result = LoadResult(url, 0, 0.0)
    latencies: list[float] = []
    next_index = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        if wait > 0:
            await _wait_ready(client, time.monotonic() + wait)
        start = time.monotonic()
        deadline = start + duration

        async def worker() -> None:
            nonlocal next_index
            while next_index < count and time.monotonic() < deadline:
                i = next_index % len(todo)
                next_index += 1
                headers = {"x-forwarded-for": todo.clients[i], "user-agent": todo.agents[i]}
                if (auth := todo.auth[i]) is not None:
                    headers["authorization"] = auth
                method = todo.methods[i]
                body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, todo.targets[i], headers=headers, json=body)
                except httpx.HTTPError:
                    result.failures += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                result.statuses[r.status_code] += 1
                result.backends[r.headers.get("x-strangler-backend", "none")] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.monotonic() - start
    result.requests = len(latencies) + result.failures
    if latencies:
        result.p50_ms, result.p95_ms = (float(v) * 1000 for v in np.percentile(latencies, [50, 95]))
    return result


def run(
    url: str = "http://127.0.0.1:8000",
    requests: int = 10_000,
    duration: float = 60.0,
    concurrency: int = 8,
    seed: int = 7,
    timeout: float = 10.0,
    wait: float = 0.0,
) -> LoadResult:
    """Send up to `requests` demo requests to `url` (loopback only) for at most `duration` seconds.

    wait: seconds to wait for the server to answer `GET /health` first (for a router that is still starting)."""
    check_loopback(url)
    if duration <= 0 or concurrency < 1:
        raise StranglerError("--duration must be positive and --concurrency at least 1")
    todo = workload(min(requests, WORKLOAD_SIZE), seed)
    return asyncio.run(_run(url.rstrip("/"), todo, requests, duration, concurrency, timeout, wait))


def live_manifest(out: str | Path, duration: float, start: dt.datetime | None = None) -> Path:
    """Write the demo's batches with cutovers spread over the next `duration` seconds (batch k of n at
    (k / (n + 1)) of the run), so a live run shows each batch before and after its cutover."""
    from strangler import demo
    from strangler.demo import traffic

    start = start or dt.datetime.now(dt.UTC)
    n = len(traffic.BATCHES)
    cutovers = [start + dt.timedelta(seconds=duration * k / (n + 1)) for k in range(1, n + 1)]
    text = demo.manifest_text(
        cutovers, "Live demo manifest written by strangler.loadgen.live_manifest: cutovers during the run."
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pilot_manifest(
    out: str | Path,
    step: float = 5.0,
    min_requests: int = 100,
    fractions: tuple[float, ...] = (0.25, 0.5, 1.0),
    batches: tuple[str, ...] = ("trips-read", "feed"),
    start: dt.datetime | None = None,
) -> Path:
    """Write a manifest whose `batches` (demo batch names) ramp from `start` (default now) with compressed
    `step`s of seconds, for the live pilot demo and its tests; the other demo batches are left out."""
    from strangler import manifest
    from strangler.demo import traffic

    start = start or dt.datetime.now(dt.UTC)
    by_name = {b.name: b for b in traffic.BATCHES}
    unknown = [n for n in batches if n not in by_name]
    if unknown:
        raise StranglerError(f"no demo batch {unknown[0]!r}; the demo's batches are: {', '.join(by_name)}")
    ramp = manifest.Ramp(fractions=fractions, step_seconds=step, min_requests=min_requests)
    lines = ["# Live pilot demo manifest written by strangler.loadgen.pilot_manifest: compressed steps.", ""]
    for name in batches:
        lines += manifest.batch_toml(name, start, by_name[name].routes, ramp=ramp)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
