"""The demo's traffic model: which routes are called how often, how fast, how they fail, and what changes when.

Everything here is a small table of distinct values (routes, batches, user agents, bot paths); the generator in
`strangler.demo.logs` turns it into millions of lines with numpy. Dates are fixed, never relative to now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

UTC = dt.UTC
START = dt.datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DAYS = 70  # ten weeks
END = START + dt.timedelta(days=DAYS)
ROTATED_BEFORE = dt.datetime(2026, 2, 16, tzinfo=UTC)  # access.log.1.gz holds what came before, access.log the rest
INCIDENT = (dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC), dt.datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
INCIDENT_5XX = 0.35
INCIDENT_SLOWDOWN = 4.0
NEW_YORK_DST = dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # -05:00 before, -04:00 after
JSON_SHARE = 0.2  # the app servers that log JSON lines carry this share of the requests
BOT_SHARE = 0.015


@dataclass(frozen=True)
class Route:
    """One (method, rule) of the Flask app and the traffic it gets."""

    method: str
    rule: str
    weight: float  # relative share of the app's traffic; 0 = dead (never called)
    p50_ms: float  # median latency
    sigma: float = 0.5  # lognormal shape
    bytes: int = 1500  # typical body size of a success
    ok: int = 200  # status of a success
    auth: bool = False  # may answer 401
    p404: float = 0.0  # share of requests naming an id that does not exist
    p4xx_other: float = 0.0  # other client errors (400 on bad input)
    p5xx: float = 0.003
    queries: tuple[tuple[str, float], ...] = ()  # (query string with '?', probability); the rest get none


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/feed",
        18,
        60,
        0.45,
        5200,
        queries=(("?before=420", 0.08), ("?before=380", 0.05), ("?before=300", 0.04)),
    ),
    Route("GET", "/trips/<int:trip_id>", 15, 45, 0.5, 1400, p404=0.02),
    Route(
        "GET",
        "/photos/<uuid:photo_id>/thumb",
        10,
        12,
        0.6,
        30000,
        p404=0.01,
        queries=(("?size=s", 0.2), ("?size=m", 0.2), ("?size=l", 0.1)),
    ),
    Route(
        "GET",
        "/trips",
        8,
        80,
        0.5,
        6000,
        queries=(
            ("?page=2", 0.15),
            ("?page=3", 0.08),
            ("?page=4", 0.04),
            ("?country=PT", 0.05),
            ("?country=JP", 0.04),
            ("?sort=distance", 0.05),
            ("?sort=distance&page=2", 0.02),
        ),
    ),
    Route("GET", "/users/<int:user_id>", 7, 35, 0.45, 600, p404=0.015),
    Route("GET", "/trips/<int:trip_id>/steps", 6, 50, 0.5, 2500, p404=0.02),
    Route(
        "GET",
        "/search",
        5,
        120,
        0.7,
        3000,
        p4xx_other=0.01,
        queries=(
            ("?q=lisbon", 0.14),
            ("?q=kyoto", 0.12),
            ("?q=porto", 0.1),
            ("?q=iceland", 0.08),
            ("?q=road%20trip", 0.08),
            ("?q=ka", 0.1),
            ("?q=hanoi&type=trips", 0.08),
            ("?q=mira&type=users", 0.08),
            ("?q=cape%20town", 0.06),
            ("?q=peru", 0.06),
            ("?q=s%C3%A3o%20paulo", 0.04),
            ("?q=tbilisi", 0.05),
        ),
    ),
    Route("GET", "/feed/popular", 4, 90, 0.5, 3500, queries=(("?limit=20", 0.2), ("?limit=5", 0.1))),
    Route("GET", "/auth/me", 3.5, 8, 0.4, 120, auth=True),
    Route("GET", "/photos/<uuid:photo_id>", 3, 20, 0.5, 400, p404=0.02),
    Route("GET", "/trips/<int:trip_id>/steps/<int:step_id>", 2.5, 30, 0.5, 700, p404=0.03),
    Route("GET", "/health", 2.5, 3, 0.3, 16),
    Route("POST", "/auth/login", 2, 150, 0.3, 90, p4xx_other=0.09),
    Route("GET", "/users/<string:username>/profile", 1.6, 55, 0.5, 2200, p404=0.03),
    Route("GET", "/users/<int:user_id>/followers", 1.2, 40, 0.5, 900, p404=0.01, queries=(("?page=2", 0.2),)),
    Route("GET", "/trips/<int:trip_id>/stats", 1.0, 70, 0.6, 200, p404=0.02),
    Route("GET", "/feed/stream", 0.8, 900, 0.8, 9000, auth=True),
    Route("POST", "/auth/refresh", 0.8, 15, 0.4, 80, auth=True),
    Route("GET", "/trips/by-country/<string(length=2):cc>", 0.7, 60, 0.5, 4000),
    Route("POST", "/trips/<int:trip_id>/steps", 0.6, 60, 0.5, 200, ok=201, auth=True, p4xx_other=0.03),
    Route("PATCH", "/trips/<int:trip_id>/steps/<int:step_id>", 0.5, 40, 0.5, 200, auth=True, p404=0.01),
    Route("POST", "/photos", 0.5, 400, 0.6, 60, ok=201, auth=True, p4xx_other=0.02),
    Route("POST", "/users/<int:user_id>/follow", 0.4, 25, 0.4, 30, ok=201, auth=True, p404=0.01),
    Route("GET", "/search/places/<string:name>", 0.4, 70, 0.5, 1800, p404=0.1),
    Route("POST", "/trips", 0.3, 70, 0.5, 200, ok=201, auth=True, p4xx_other=0.03),
    Route("GET", "/photos/raw/<path:key>", 0.3, 5, 0.4, 0, ok=302),
    Route("PATCH", "/users/<int:user_id>", 0.25, 45, 0.5, 600, auth=True),
    Route("GET", "/trips/<int:trip_id>/export.gpx", 0.2, 150, 0.6, 12000, p404=0.02),
    Route("POST", "/auth/logout", 0.3, 5, 0.3, 0, ok=302),
    Route("GET", "/", 0.3, 3, 0.3, 60),
    Route("GET", "/trips/top/<int(min=1):n>", 0.2, 60, 0.5, 4000),
    Route("PUT", "/trips/<int:trip_id>", 0.15, 55, 0.5, 200, auth=True),
    Route("DELETE", "/trips/<int:trip_id>/steps/<int:step_id>", 0.1, 30, 0.5, 0, ok=204, auth=True),
    Route("DELETE", "/photos/<uuid:photo_id>", 0.1, 35, 0.5, 0, ok=204, auth=True),
    Route("POST", "/auth/password-reset", 0.05, 300, 0.4, 14, ok=202),
    Route("GET", "/admin/stats", 0.05, 200, 0.5, 80, auth=True),
    Route("GET", "/admin/users", 0.04, 80, 0.5, 4000, auth=True),
    Route("DELETE", "/trips/<int:trip_id>", 0.03, 80, 0.5, 0, ok=204, auth=True),
    Route("POST", "/admin/users", 0.01, 60, 0.5, 40, ok=201, auth=True),
    Route("DELETE", "/admin/cache", 0.01, 500, 0.5, 40, auth=True),
    Route("GET", "/<path:anything>", 0.6, 2, 0.3, 90, ok=404),  # favicon & co (bots come on top)
    # dead: nobody calls these any more
    Route("GET", "/users/<int:user_id>/badges", 0, 30),
    Route("POST", "/photos/<uuid:photo_id>/rotate", 0, 60),
    Route("GET", "/admin/legacy/export", 0, 400),
)

CATCH_ALL = "/<path:anything>"
CATCH_ALL_PATHS = ("/favicon.ico", "/robots.txt", "/apple-touch-icon.png", "/sitemap.xml")

# Bots probing for software that is not there: (method, path); all land on the catch-all (404) or 405.
BOT_PATHS: tuple[tuple[str, str], ...] = (
    ("GET", "/wp-login.php"),
    ("POST", "/wp-login.php"),
    ("GET", "/.env"),
    ("GET", "/.git/config"),
    ("GET", "/wp-admin/setup-config.php"),
    ("POST", "/xmlrpc.php"),
    ("GET", "/phpmyadmin/index.php"),
    ("GET", "/admin.php"),
    ("GET", "/cgi-bin/luci"),
    ("GET", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"),
    ("GET", "/actuator/health"),
    ("POST", "/boaform/admin/formLogin"),
    ("GET", "/owa/auth/logon.aspx"),
    ("GET", "/.aws/credentials"),
    ("GET", "/server-status"),
    ("GET", "/%2e%2e/%2e%2e/etc/passwd"),
    ("GET", "/api/v1/pods"),
    ("GET", "/.DS_Store"),
    ("GET", "/config.json"),
    ("GET", "/backup.sql"),
)

BROWSER_UAS: tuple[tuple[str, float], ...] = (
    ("TravelJournal/4.2.1 (iPhone; iOS 17.2; Scale/3.00)", 0.30),
    ("TravelJournal/4.2.0 (Android 14; Pixel 8)", 0.22),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36",
        0.18,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
        "Safari/605.1.15",
        0.12,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", 0.08),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.2 Mobile/15E148 Safari/604.1",
        0.07,
    ),
    ("okhttp/4.12.0", 0.03),
)
BOT_UAS: tuple[tuple[str, float], ...] = (
    ("Mozilla/5.0 zgrab/0.x", 0.3),
    ("python-requests/2.31.0", 0.25),
    ("Go-http-client/1.1", 0.2),
    ("curl/8.4.0", 0.1),
    ("-", 0.1),
    ('Mozilla/5.0 (compatible; "Scanner" 2.0; +http://scan.example/)', 0.05),  # a quote inside: escaped in logs
)
HEALTH_UA = "kube-probe/1.29"
REFERERS: tuple[tuple[str, float], ...] = (
    ("-", 0.8),
    ("https://journal.example/", 0.12),
    ("https://www.google.com/", 0.05),
    ("https://t.co/xyz123", 0.03),
)
UTM = ("utm_source=newsletter&utm_medium=email", 0.01)  # appended to any GET's query string


@dataclass(frozen=True)
class Batch:
    """A migration batch, its cutover and what the migration did to its routes."""

    name: str
    cutover: dt.datetime
    routes: tuple[tuple[str, str], ...]
    effect: str
    latency_factor: float = 1.0  # on every route of the batch, after cutover
    p5xx_after: dict[tuple[str, str], float] = field(default_factory=dict)  # new 5xx rate of some routes


BATCHES: tuple[Batch, ...] = (
    Batch(
        "trips-read",
        dt.datetime(2026, 1, 26, 9, 0, tzinfo=UTC),
        (("GET", "/trips/<int:trip_id>"), ("GET", "/trips"), ("GET", "/trips/<int:trip_id>/steps")),
        "latency x 0.7 on every route (p50, p95, p99 down 30 %)",
        latency_factor=0.7,
    ),
    Batch(
        "feed",
        dt.datetime(2026, 2, 9, 9, 0, tzinfo=UTC),
        (("GET", "/feed"), ("GET", "/feed/popular")),
        "none: same latency, same errors",
    ),
    Batch(
        "users-search",
        dt.datetime(2026, 2, 23, 9, 0, tzinfo=UTC),
        (("GET", "/users/<int:user_id>"), ("GET", "/search")),
        "5xx rate of GET /users/<int:user_id> from 0.3 % to 6 %; nothing else",
        p5xx_after={("GET", "/users/<int:user_id>"): 0.06},
    ),
)

METRICS = ("p50_ms", "p95_ms", "p99_ms", "error_rate_5xx", "error_rate_4xx")

# Relative traffic per hour of the day (UTC; most users in Europe) and per weekday (Monday first).
HOURLY = (
    0.25,
    0.18,
    0.14,
    0.12,
    0.12,
    0.16,
    0.3,
    0.55,
    0.8,
    0.95,
    1.0,
    1.0,
    1.05,
    1.0,
    0.95,
    0.9,
    0.9,
    0.95,
    1.05,
    1.15,
    1.2,
    1.05,
    0.75,
    0.45,
)
WEEKLY = (1.0, 0.98, 0.97, 0.99, 0.93, 0.72, 0.78)
GROWTH = 0.15  # traffic grows by this much over the ten weeks


def expected(batch: Batch) -> list[dict]:
    """The verdict a correct before/after review must reach for each route and metric of `batch`."""
    out = []
    for method, rule in batch.routes:
        for metric in METRICS:
            verdict = "no_change"
            if metric.startswith("p") and batch.latency_factor < 1:
                verdict = "better"
            elif metric.startswith("p") and batch.latency_factor > 1:
                verdict = "worse"
            elif metric == "error_rate_5xx" and (method, rule) in batch.p5xx_after:
                before = route(method, rule).p5xx
                verdict = "worse" if batch.p5xx_after[(method, rule)] > before else "better"
            out.append({"method": method, "rule": rule, "metric": metric, "verdict": verdict})
    return out


def route(method: str, rule: str) -> Route:
    """The catalogue entry of (method, rule)."""
    for r in ROUTES:
        if (r.method, r.rule) == (method, rule):
            return r
    raise KeyError(f"{method} {rule}")


def dead_routes() -> list[tuple[str, str]]:
    """Routes of the Flask app that the traffic never calls."""
    return [(r.method, r.rule) for r in ROUTES if r.weight == 0]
