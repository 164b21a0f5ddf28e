"""Turn the traffic model into access-log files, vectorised: numpy draws every column, pyarrow joins the strings.

Python only touches distinct values (routes, user agents, the 86,400 times of day, a few dozen malformed lines);
every per-request step is an array operation. The same seed gives byte-identical files (gzip without a
timestamp or name).
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from strangler.demo import store, traffic

_CONVERTER = re.compile(r"<(?:(?P<conv>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
S = pa.scalar  # a literal piece of a line


@dataclass
class Columns:
    """One array per field of a request, in time order (epoch seconds)."""

    ts: np.ndarray
    method: np.ndarray  # index into METHODS
    path: pa.Array  # string, without the query
    query: pa.Array  # string, '' or '?...'
    status: np.ndarray
    bytes: np.ndarray
    ms: np.ndarray  # request time, whole milliseconds
    upstream_ms: np.ndarray
    ip: pa.Array
    ua_idx: np.ndarray  # index into UAS
    referer_idx: np.ndarray
    proto_idx: np.ndarray
    port: np.ndarray
    route: np.ndarray  # index into traffic.ROUTES; len(ROUTES) for a bot


UAS = tuple(u for u, _ in traffic.BROWSER_UAS) + tuple(u for u, _ in traffic.BOT_UAS) + (traffic.HEALTH_UA,)
PROTOS = ("HTTP/1.1", "HTTP/2.0", "HTTP/1.0")
BOT = len(traffic.ROUTES)
TAIL_SHARE = 0.005  # requests in the heavy tail (x 1 + 3 Lomax(1.5)): above p99, so p99 stays measurable


def _epoch(t: dt.datetime) -> int:
    return int(t.timestamp())


def _lut(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """values[idx] as an arrow string array (the distinct values are built once, in Python)."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _str(x: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(x, dtype=np.int64)).cast(pa.string())


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _pick(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


# --- path and query values ---------------------------------------------------------------------------------------


def _ranked(rng: np.random.Generator, size: int, count: int, a: float = 1.1) -> np.ndarray:
    """`size` draws from 1..count where a few values are much more popular (Zipf-like, ranks shuffled)."""
    ranks = np.arange(1, count + 1, dtype=float)
    order = rng.permutation(count) + 1
    return order[_pick(rng, ranks**-a, size)]


def _values(
    rng: np.random.Generator, conv: str, name: str, size: int, unknown: np.ndarray, context: dict[str, np.ndarray]
) -> pa.Array:
    """Strings for one converter of a rule; rows where `unknown` is set name something that does not exist."""
    if name in ("trip_id", "user_id"):
        count = store.N_TRIPS if name == "trip_id" else store.N_USERS
        ids = _ranked(rng, size, count)
        ids = np.where(unknown, rng.integers(100_000, 1_000_000, size), ids)
        context[name] = ids
        return _str(ids)
    if name == "step_id":
        trip = context.get("trip_id", np.ones(size, dtype=np.int64))
        ids = (trip - 1) * store.STEPS_PER_TRIP + rng.integers(1, store.STEPS_PER_TRIP + 1, size)
        ids = np.where(unknown & (trip < 100_000), ids + 10_000_000, ids)
        return _str(ids)
    if name == "photo_id":
        known = store.photo_ids()
        ghosts = [
            str(dt.datetime(2026, 1, 1).toordinal() + i).zfill(8) + "-0000-4000-8000-00000000dead" for i in range(40)
        ]
        idx = _ranked(rng, size, len(known)) - 1
        idx = np.where(unknown, len(known) + rng.integers(0, len(ghosts), size), idx)
        return _lut(known + ghosts, idx)
    if name == "username":
        names = [store.username(i) for i in range(1, store.N_USERS + 1)] + [f"ghost{i}" for i in range(30)]
        idx = _ranked(rng, size, store.N_USERS) - 1
        idx = np.where(unknown, store.N_USERS + rng.integers(0, 30, size), idx)
        return _lut(names, idx)
    if name == "cc":
        return _lut(store.COUNTRIES, _ranked(rng, size, len(store.COUNTRIES)) - 1)
    if name == "name":
        places = list(store.PLACES) + ["atlantis", "narnia", "el-dorado", "shangri-la"]
        idx = np.where(unknown, len(store.PLACES) + rng.integers(0, 4, size), _ranked(rng, size, len(store.PLACES)) - 1)
        return _lut(places, idx)
    if name == "n":
        return _lut(("5", "10", "20", "50"), _pick(rng, (3, 4, 2, 1), size))
    if name == "key":
        keys = [f"2025/{m:02d}/{(m * 7919 + k * 104729) % 16**8:08x}.jpg" for m in range(1, 13) for k in range(25)]
        return _lut(keys, _ranked(rng, size, len(keys)) - 1)
    raise ValueError(f"no value generator for <{conv}:{name}>")


def _route_paths(rng: np.random.Generator, rule: str, size: int, unknown: np.ndarray) -> pa.Array:
    """Fill the rule's converters with values: one path per row."""
    if rule == traffic.CATCH_ALL:
        return _lut(traffic.CATCH_ALL_PATHS, _pick(rng, (6, 2, 1, 1), size))
    parts: list = []
    context: dict[str, np.ndarray] = {}
    pos = 0
    for m in _CONVERTER.finditer(rule):
        parts.append(S(rule[pos : m.start()]))
        parts.append(_values(rng, m["conv"] or "default", m["name"], size, unknown, context))
        pos = m.end()
    parts.append(S(rule[pos:]))
    if len(parts) == 1:
        return _lut([rule], np.zeros(size, dtype=np.int64))
    return _join(*parts)


def _queries(rng: np.random.Generator, route: traffic.Route, size: int) -> pa.Array:
    options = [q for q, _ in route.queries]
    probs = [p for _, p in route.queries]
    choice = _pick(rng, probs + [max(0.0, 1 - sum(probs))], size)  # last = no query string
    table = options + [""]
    if route.method == "GET":
        utm = rng.random(size) < traffic.UTM[1]
        table = table + [q + "&" + traffic.UTM[0] for q in options] + ["?" + traffic.UTM[0]]
        choice = np.where(utm, choice + len(options) + 1, choice)
    return _lut(table, choice)


# --- low-discrepancy draws ---------------------------------------------------------------------------------------

# Irrational steps, linearly independent over the rationals: each gives one dimension of a Kronecker sequence.
_STATUS, _LATENCY, _TAIL, _TAIL_SIZE = 0.6180339887498949, 0.4142135623730951, 0.7320508075688772, 0.6457513110645906

_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01, -1.328068155288572e01)
_C = (
    -7.784894802446129e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)


def _poly(coef, x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for c in coef:
        out = out * x + c
    return out


def inverse_normal(u: np.ndarray) -> np.ndarray:
    """The standard normal quantile of each u in (0, 1) (Acklam's rational approximation, relative error < 1.2e-9)."""
    u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
    low, high = u < 0.02425, u > 1 - 0.02425
    q = u - 0.5
    r = q * q
    z = _poly(_A, r) * q / (_poly(_B, r) * r + 1)
    t = np.sqrt(-2 * np.log(np.where(low, u, np.where(high, 1 - u, 0.5))))
    tail = _poly(_C, t) / (_poly(_D, t) * t + 1)
    return np.where(low, tail, np.where(high, -tail, z))


def kronecker(rng: np.random.Generator, group: np.ndarray, steps: tuple[float, ...], groups: int) -> list[np.ndarray]:
    """Uniforms that are evenly spread along each group's requests in time order (a Kronecker sequence).

    One array per step (one dimension each). Any run of consecutive requests of a route gets its share of errors
    and of each latency band almost exactly, so a before/after window differs by the injected effects and not by
    sampling noise.
    """
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=groups)
    starts = np.cumsum(counts) - counts
    rank = np.empty(group.size, dtype=np.int64)
    rank[order] = np.arange(group.size) - np.repeat(starts, counts)
    return [(rng.random(groups)[group] + rank * step) % 1.0 for step in steps]


# --- the columns ----------------------------------------------------------------------------------------------


def draw(n: int, seed: int) -> Columns:
    """Draw n requests: times with daily and weekly cycles, routes, statuses, latencies, clients."""
    rng = np.random.default_rng(seed)
    start = _epoch(traffic.START)
    hours = traffic.DAYS * 24
    h = np.arange(hours)
    intensity = (
        np.asarray(traffic.HOURLY)[h % 24]
        * np.asarray(traffic.WEEKLY)[(h // 24) % 7]
        * (1 + traffic.GROWTH * h / hours)
    )
    hour = np.sort(_pick(rng, intensity, n))
    ts = np.sort(start + hour * 3600 + rng.integers(0, 3600, n))

    routes = traffic.ROUTES
    weights = np.array([r.weight for r in routes])
    route = _pick(rng, weights, n)
    route = np.where(rng.random(n) < traffic.BOT_SHARE, BOT, route)
    is_bot = route == BOT
    bot_path = rng.integers(0, len(traffic.BOT_PATHS), n)

    def per_route(attr: str, bot_value: float) -> np.ndarray:
        return np.append(np.array([getattr(r, attr) for r in routes], dtype=float), bot_value)[route]

    method_of = np.array([METHODS.index(r.method) for r in routes] + [0])
    method = np.where(is_bot, np.array([METHODS.index(m) for m, _ in traffic.BOT_PATHS])[bot_path], method_of[route])

    # statuses: 5xx, then 401, then 404 (unknown id), then other 4xx, else the route's success status
    p5 = per_route("p5xx", 0.0)
    for b in traffic.BATCHES:
        for (m, rule), rate in b.p5xx_after.items():
            k = routes.index(traffic.route(m, rule))
            p5 = np.where((route == k) & (ts >= _epoch(b.cutover)), rate, p5)
    incident = (ts >= _epoch(traffic.INCIDENT[0])) & (ts < _epoch(traffic.INCIDENT[1]))
    p5 = np.where(incident & ~is_bot, np.maximum(p5, traffic.INCIDENT_5XX), p5)
    p401 = np.where(per_route("auth", 0.0) > 0, 0.015, 0.0)
    p404 = per_route("p404", 0.0)
    p4o = per_route("p4xx_other", 0.0)
    u, u_body, u_tail, u_size = kronecker(rng, route, (_STATUS, _LATENCY, _TAIL, _TAIL_SIZE), BOT + 1)
    c = rng.random(n)
    code5 = np.where(
        incident,
        np.select([c < 0.5, c < 0.8], [502, 504], 500),
        np.select([c < 0.6, c < 0.8, c < 0.9], [500, 502, 503], 504),
    )
    login = route == routes.index(traffic.route("POST", "/auth/login"))
    ok = per_route("ok", 404).astype(np.int64)
    status = np.select(
        [u < p5, u < p5 + p401, u < p5 + p401 + p404, u < p5 + p401 + p404 + p4o],
        [code5, 401, 404, np.where(login, 401, 400)],
        ok,
    )
    status = np.where(is_bot, np.where(method == METHODS.index("GET"), 404, 405), status)
    unknown = status == 404

    # latency: per-route lognormal, a heavy tail, busier hours a little slower, then the injected effects
    load = np.asarray(traffic.HOURLY)[(ts - start) // 3600 % 24] / max(traffic.HOURLY)
    z = inverse_normal(u_body)
    x = per_route("p50_ms", 2.0) * np.exp(per_route("sigma", 0.3) * z) * (0.85 + 0.3 * load)
    tail = u_tail < TAIL_SHARE
    lomax = (1 - u_size) ** (-1 / 1.5) - 1  # numpy's pareto(1.5), by its inverse distribution function
    x = np.where(tail, x * (1 + 3 * lomax), x)
    for b in traffic.BATCHES:
        if b.latency_factor != 1.0:
            ks = [routes.index(traffic.route(m, rule)) for m, rule in b.routes]
            x = np.where(np.isin(route, ks) & (ts >= _epoch(b.cutover)), x * b.latency_factor, x)
    client_error = (status >= 400) & (status < 500) & (ok != 404)
    x = np.where(client_error, x * 0.3, x)
    x = np.where(incident & ~is_bot, x * traffic.INCIDENT_SLOWDOWN, x)
    x = np.where(incident & (status == 504), 30_000 + 500 * rng.random(n), x)
    ms = np.clip(np.rint(x), 1, 60_000).astype(np.int64)
    upstream_ms = np.maximum(ms - rng.integers(0, 3, n), 0)

    size = np.rint(per_route("bytes", 150) * np.exp(0.25 * rng.standard_normal(n))).astype(np.int64)
    size = np.where(status >= 400, 60 + rng.integers(0, 60, n), size)
    size = np.where(np.isin(status, (204, 302)), 0, size)
    size = np.where(is_bot, 153, size)

    # paths and query strings, route by route (the loop is over distinct routes, not rows)
    chunks, order = [], []
    qchunks = []
    for k, r in enumerate(routes):
        sel = np.flatnonzero(route == k)
        if r.weight == 0:
            assert sel.size == 0
            continue
        chunks.append(_route_paths(rng, r.rule, sel.size, unknown[sel]))
        qchunks.append(_queries(rng, r, sel.size))
        order.append(sel)
    sel = np.flatnonzero(is_bot)
    chunks.append(_lut([p for _, p in traffic.BOT_PATHS], bot_path[sel]))
    qchunks.append(_lut([""], np.zeros(sel.size, dtype=np.int64)))
    order.append(sel)
    inverse = np.empty(n, dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(n)
    path = pa.concat_arrays(chunks).take(pa.array(inverse))
    query = pa.concat_arrays(qchunks).take(pa.array(inverse))

    # clients: a long tail of IPs, user agents, referers, protocols
    pool = rng.integers(0, 256, (5000, 4))
    pool[:, 0] = np.where(np.isin(pool[:, 0], (0, 10, 127, 172, 192, 224, 255)), 81, pool[:, 0])
    ips = [f"{a}.{b}.{c}.{d}" for a, b, c, d in pool.tolist()]
    bot_ips = [f"45.{i % 200}.{(i * 37) % 250}.{(i * 11) % 250 + 1}" for i in range(40)]
    health = route == routes.index(traffic.route("GET", "/health"))
    ip_idx = _pick(rng, 1.0 / (np.arange(5000) + 20), n)
    ip_idx = np.where(is_bot, 5000 + rng.integers(0, 40, n), ip_idx)
    ip_idx = np.where(health, 5040, ip_idx)
    ip = _lut(ips + bot_ips + ["10.0.3.7"], ip_idx)
    nb = len(traffic.BROWSER_UAS)
    ua = _pick(rng, [w for _, w in traffic.BROWSER_UAS], n)
    ua = np.where(is_bot, nb + _pick(rng, [w for _, w in traffic.BOT_UAS], n), ua)
    ua = np.where(health, len(UAS) - 1, ua)
    referer = np.where(is_bot | health, 0, _pick(rng, [w for _, w in traffic.REFERERS], n))
    proto = np.where(is_bot, _pick(rng, (9, 0, 1), n), _pick(rng, (7, 3, 0), n))
    port = rng.integers(1024, 65536, n)
    return Columns(ts, method, path, query, status, size, ms, upstream_ms, ip, ua, referer, proto, port, route)


# --- formatting ---------------------------------------------------------------------------------------------------

_TOD = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
_MILLIS = [f"{i:03d}" for i in range(1000)]


def _seconds(ms: np.ndarray) -> pa.Array:
    """Milliseconds as nginx's `$request_time`: seconds with three decimals."""
    return _join(_str(ms // 1000), S("."), _lut(_MILLIS, ms % 1000))


def combined(c: Columns) -> pa.Array:
    """nginx `combined` plus ` $request_time`, UTC, one line per request (each ends with a newline)."""
    start = _epoch(traffic.START)
    days = [(traffic.START + dt.timedelta(days=d)) for d in range(traffic.DAYS + 1)]
    day_str = [f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d.year}" for d in days]
    rel = c.ts - start
    uas = [u.replace('"', "\\x22") for u in UAS]
    return _join(
        c.ip,
        S(" - - ["),
        _lut(day_str, rel // 86400),
        S(":"),
        _lut(_TOD, rel % 86400),
        S(' +0000] "'),
        _lut(METHODS, c.method),
        S(" "),
        c.path,
        c.query,
        S(" "),
        _lut(PROTOS, c.proto_idx),
        S('" '),
        _str(c.status),
        S(" "),
        _str(c.bytes),
        S(' "'),
        _lut([r for r, _ in traffic.REFERERS], c.referer_idx),
        S('" "'),
        _lut(uas, c.ua_idx),
        S('" '),
        _seconds(c.ms),
        S("\n"),
    )


def json_lines(c: Columns, tokyo: np.ndarray) -> pa.Array:
    """nginx `escape=json` lines with the keys of real-logs/nginx-json-timed; local time of each app server."""
    dst = _epoch(traffic.NEW_YORK_DST)
    offset = np.where(tokyo, 9 * 3600, np.where(c.ts >= dst, -4 * 3600, -5 * 3600))
    off_str = np.where(tokyo, 0, np.where(c.ts >= dst, 2, 1))
    local = c.ts + offset - (_epoch(traffic.START) - 86400)  # day 0 = the day before START
    days = [(traffic.START + dt.timedelta(days=d - 1)).date().isoformat() for d in range(traffic.DAYS + 3)]
    uas = [u.replace("\\", "\\\\").replace('"', '\\"') for u in UAS]
    referers = ["" if r == "-" else r for r, _ in traffic.REFERERS]
    return _join(
        S('{"time":"'),
        _lut(days, local // 86400),
        S("T"),
        _lut(_TOD, local % 86400),
        _lut(("+09:00", "-05:00", "-04:00"), off_str),
        S('","host":"'),
        c.ip,
        S('","port":'),
        _str(c.port),
        S(',"method":"'),
        _lut(METHODS, c.method),
        S('","uri":"'),
        c.path,
        c.query,
        S('","status":"'),
        _str(c.status),
        S('","body_bytes":'),
        _str(c.bytes),
        S(',"referer":"'),
        _lut(referers, c.referer_idx),
        S('","ua":"'),
        _lut(uas, c.ua_idx),
        S('","request_time":"'),
        _seconds(c.ms),
        S('","response_time":"'),
        _seconds(c.upstream_ms),
        S('"}\n'),
    )


def subset(c: Columns, mask: np.ndarray) -> Columns:
    """The rows of `c` where mask is set, every column alike."""
    idx = np.flatnonzero(mask)
    pidx = pa.array(idx)
    return Columns(
        *(
            v.take(pidx) if isinstance(v, pa.Array) else v[idx]
            for v in (getattr(c, f) for f in Columns.__dataclass_fields__)
        )
    )


# --- writing, with a few broken lines -----------------------------------------------------------------------------

GARBAGE_TEXT = (
    "-- MARK --",
    "2026/01/12 09:15:02 [error] 31#31: *1 upstream timed out (110: Connection timed out) while reading",
    "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03",
    "#### logrotate: rotated ####",
    "GET /trips/42 HTTP/1.1",
    "<<<<<<< truncated by disk full >>>>>>>",
)


@dataclass
class Written:
    """What one log file holds: requests, and the malformed (truncated + garbage) and blank lines slipped in."""

    name: str
    format: str
    requests: int
    malformed: int
    blank: int
    truncated: int
    garbage: int

    @property
    def lines(self) -> int:
        return self.requests + self.malformed + self.blank


def write(lines: pa.Array, dest: BinaryIO, rng: np.random.Generator, name: str, fmt: str) -> Written:
    """Write the lines with a few truncated, garbage and blank lines slipped in at random places."""
    n = len(lines)
    k = max(2, n // 40_000)
    blank = max(2, n // 50_000)
    extra = 2 * k + blank
    if n:
        lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + n + 1]
        blob = memoryview(lines.buffers()[2])
    else:
        offsets, blob = np.zeros(1, dtype=np.int64), memoryview(b"")
    positions = np.sort(rng.integers(0, n + 1, extra))
    kinds = rng.permutation(np.repeat([0, 1, 2], [k, k, blank]))  # 0 truncated, 1 garbage, 2 blank
    cut = rng.uniform(0.25, 0.6, extra)
    junk = rng.integers(0, len(GARBAGE_TEXT), extra)
    prev = int(offsets[0])
    for pos, kind, frac, j in zip(positions.tolist(), kinds.tolist(), cut.tolist(), junk.tolist()):
        at = int(offsets[pos])
        dest.write(blob[prev:at])
        prev = at
        if kind == 0:
            src = pos if pos < n else n - 1
            line = bytes(blob[int(offsets[src]) : int(offsets[src + 1]) - 1]) if n else b'{"time":"2026-'
            dest.write(line[: max(1, int(len(line) * frac))] + b"\n")
        elif kind == 1:
            text = GARBAGE_TEXT[j] if fmt == "nginx_combined" else ("not json: " + GARBAGE_TEXT[j])
            dest.write(text.encode() + b"\n")
        else:
            dest.write(b"\n")
    dest.write(blob[prev : int(offsets[n])])
    return Written(name, fmt, n, 2 * k, blank, k, k)


def write_gz(lines: pa.Array, path: Path, rng: np.random.Generator, fmt: str) -> Written:
    """Like `write`, gzip-compressed with no timestamp and no file name, so the bytes depend on the seed only."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3) as gz:
        return write(lines, gz, rng, path.name, fmt)  # type: ignore[arg-type]  # GzipFile is a binary file
