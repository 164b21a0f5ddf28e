"""Synthetic, already attributed requests for the tests and the benchmarks (never used by an analysis)."""

from __future__ import annotations

import datetime as dt

import duckdb

from strangler.review import DAY_US


def simulate(
    con: duckdb.DuckDBPyConnection,
    requests: int,
    seed: int = 0,
    start: dt.datetime = dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    days: float = 28,
    routes: int = 6,
    cutover: dt.datetime | None = None,
    batch_routes: int = 3,
    effects: dict[int, dict[str, float]] | None = None,
    backend: bool = False,
    canary: float | None = None,
    source_id: int = 0,
    prefix: str = "/api",
) -> list[tuple[str, str]]:
    """Insert about `requests` synthetic, already attributed requests into `requests`, generated in DuckDB.

    Traffic has a daily and weekly cycle, skewed route popularity, lognormal latency, and hour-to-hour
    random effects shared by all requests of an hour (load, slow dependencies) so that requests are
    autocorrelated, as in real logs. Route i is `GET {prefix}/r{i}/<int:item_id>`; routes 0..batch_routes-1 form
    the batch. `effects` maps a route index to multipliers applied from `cutover` on (or, with `backend`, to
    the requests FastAPI serves): `latency` (× duration) and `error_5xx` (5xx probability, replaces the base).
    With `backend`, batch routes after the cutover go to FastAPI with probability `canary` (default 1), else
    Flask. Randomness comes from hashes of (row, seed), so the result does not depend on threads. Returns the
    batch's (method, rule) pairs.
    """
    cut = cutover or (start + dt.timedelta(days=days / 2))
    eff = effects or {}
    rows = [
        (
            i,
            f"{prefix}/r{i}/<int:item_id>",
            20.0 * (1 + i % 4),
            0.04,
            0.004,
            i < batch_routes,
            float(eff.get(i, {}).get("latency", 1.0)),
            eff.get(i, {}).get("error_5xx"),
        )
        for i in range(routes)
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sim_routes (idx INTEGER, rule VARCHAR, base_ms DOUBLE, p4 DOUBLE, "
        "p5 DOUBLE, in_batch BOOLEAN, eff_lat DOUBLE, eff_5xx DOUBLE)"
    )
    con.executemany("INSERT INTO _sim_routes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # candidates: `keep` below accepts 0.55 * (5 + 2 * 0.7) / 7 = 0.50286 of them on average
    p = {
        "n": int(requests / 0.50286) + 1,
        "seed": seed,
        "R": routes,
        "start": int(start.timestamp() * 1e6),
        "span": int(days * DAY_US),
        "cut": int(cut.timestamp() * 1e6),
        "backend": backend,
        "canary": 1.0 if canary is None else canary,
        "src": source_id,
        "prefix": prefix,
    }
    con.execute(
        "CREATE OR REPLACE TEMP MACRO _sim_u(x) AS ((hash(x::BIGINT) >> 11)::DOUBLE + 0.5) / 9007199254740992.0"
    )
    con.execute(
        """
        INSERT INTO requests (ts, method, path, status, bytes, duration_ms, backend, db_ms, db_queries, route,
                              route_framework, match, source_id, line_no)
        WITH u AS (
            SELECT i, _sim_u(($seed * 1099511627776 + i) * 16 + 1) AS u1,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 2) AS u2,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 3) AS u3,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 4) AS u4,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 5) AS u5,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 6) AS u6,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 7) AS u7,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 8) AS u8,
                   _sim_u(($seed * 1099511627776 + i) * 16 + 9) AS u9
            FROM range($n) t(i)),
        t AS (
            SELECT *, $start + (u1 * $span)::BIGINT AS us,
                   least(floor($R * u3 * u3), $R - 1)::INTEGER AS idx
            FROM u),
        c AS (   -- daily cycle peaking at 15:00 UTC, quieter weekends; thinning keeps about 50 %
            SELECT *, us // 3600000000 AS hour,
                   (0.55 + 0.45 * sin(2 * pi() * ((us // 3600000000) % 24 - 9) / 24))
                   * CASE WHEN ((us // 3600000000 + 72) % 168) >= 120 THEN 0.7 ELSE 1.0 END AS keep
            FROM t),
        k AS (
            SELECT c.*, r.rule, r.base_ms, r.p4, r.p5, r.in_batch, r.eff_lat, r.eff_5xx,
                   sqrt(-2 * ln(u4)) * cos(2 * pi() * u5) AS z1,
                   sqrt(-2 * ln(u4)) * sin(2 * pi() * u5) AS z2,
                   sqrt(-2 * ln(_sim_u(($seed * 1099511627776 + c.hour) * 16 + 11)))
                     * cos(2 * pi() * _sim_u(($seed * 1099511627776 + c.hour) * 16 + 12)) AS zh,
                   sqrt(-2 * ln(_sim_u((($seed * 1099511627776 + c.hour) * 64 + c.idx) * 16 + 13)))
                     * cos(2 * pi() * _sim_u((($seed * 1099511627776 + c.hour) * 64 + c.idx) * 16 + 14)) AS zr,
                   CASE WHEN NOT $backend THEN NULL
                        WHEN r.in_batch AND c.us >= $cut AND c.u8 < $canary THEN 'fastapi' ELSE 'flask' END AS be
            FROM c JOIN _sim_routes r ON r.idx = c.idx
            WHERE c.u2 < c.keep),
        e AS (
            SELECT *, CASE WHEN $backend THEN be = 'fastapi' ELSE in_batch AND us >= $cut END AS moved FROM k)
        SELECT to_timestamp(us / 1e6), 'GET', $prefix || '/r' || idx || '/' || (i % 997),
               CASE WHEN u7 < CASE WHEN moved AND eff_5xx IS NOT NULL THEN eff_5xx ELSE p5 * exp(0.5 * zr - 0.125) END
                    THEN 500
                    WHEN u7 > 1 - p4 THEN 404 ELSE 200 END::SMALLINT,
               round(800 * (1 + idx) * exp(0.3 * z2))::BIGINT,
               round(base_ms * exp(0.5 * z1 + 0.15 * zh + 0.1 * zr) * CASE WHEN moved THEN eff_lat ELSE 1 END, 3),
               be,
               round(base_ms * exp(0.5 * z1 + 0.15 * zh + 0.1 * zr) * (0.2 + 0.4 * u6), 3),
               1 + idx % 4 + (u9 < 0.1)::INTEGER,
               rule, 'flask', 'matched', $src, i + 1
        FROM e
    """,
        p,
    )
    con.execute("DROP TABLE IF EXISTS _sim_routes")
    con.execute("DROP MACRO IF EXISTS _sim_u")
    return [("GET", r[1]) for r in rows if r[5]]
