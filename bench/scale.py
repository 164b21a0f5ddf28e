"""Scale: raw rows against rollups as the traffic grows (targets: plan + review from the rollups of 100 M requests
in under 10 s; rollups under 2 % of the raw table's bytes).

    .venv/bin/python bench/scale.py [--from sql|logs] [--days 14] [--lean] [--keep DIR] [REQUESTS ...]
    (default 10000000 100000000)

--from sql (the default): the attributed `requests` table is generated straight in DuckDB (`generate_requests`:
the demo's routes and traffic model over a 14-day before/after window, one source per day, no logs written), so
100 M requests take minutes, not hours (`--lean`: without the columns only the raw table holds, which no rollup
reads; `--keep DIR`: the generated database of each size kept in DIR/<n>/ and reused). Then, timed:
  * raw rows: the `requests` table's rows, its bytes as Parquet (DuckDB's defaults) and as a DuckDB file;
  * `rollup.build` from those rows (every hour), and again with nothing new (what every reader pays first);
  * the rollups: rows of the three tables, bytes as Parquet (`rollup.export`), share of the raw table's bytes;
  * plan + review of every batch from the rollups in the DuckDB file and from the Parquet directory alone.
--from logs: the demo's logs (`strangler demo --requests N`: 70 days, nginx, three files), `ingest`, `attribute`
and `rollup` timed, and the one pass (`strangler rollup --logs`) in its own process, start to exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from strangler import attribute, db, demo, ingest, manifest, review, rollup, routes, score
from strangler.demo import traffic

DEMO_SOURCE = Path(demo.__file__).parent
APPS = ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"]


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(label: str, fn, out: dict):
    t = time.perf_counter()
    result = fn()
    out[label] = time.perf_counter() - t
    print(f"  {label:<40} {out[label]:8.2f} s", flush=True)
    return result


def from_logs(n: int, work: Path) -> dict:
    """The log path: the demo's logs written, ingested, attributed, rolled up, and the one pass."""
    out: dict = {"requests": n}
    logs = work / "demo"
    _timed("demo logs (not part of any path)", lambda: demo.generate(logs, requests=n, seed=7), out)
    raw = work / "raw.duckdb"
    con = db.connect(raw)
    con.execute("SET enable_progress_bar = false")
    _timed("raw: ingest", lambda: ingest.ingest(con, [str(logs / "logs")]), out)
    routes.inventory_apps(con, APPS)
    manifest.store(con, manifest.load(logs / "migration.toml"))
    _timed("raw: attribute", lambda: attribute.attribute(con), out)
    _timed("raw: rollup", lambda: rollup.build(con), out)
    out["raw_build"] = out["raw: ingest"] + out["raw: attribute"] + out["raw: rollup"]
    con.execute("CHECKPOINT")
    out["raw_duckdb_bytes"] = _size(raw)
    _rollup_side(con, work, logs / "migration.toml", out)
    con.close()
    one = work / "one.duckdb"
    shutil.copy(raw, one)  # the same routes; then everything read is dropped
    con = db.connect(one)
    for t in ("requests", "rejects", "sources", "path_shapes", "rollup_state", *db.ROLLUP_TABLES):
        con.execute(f"DELETE FROM {t}")
    con.execute("CHECKPOINT")
    con.close()
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "strangler", "rollup", "--logs", str(logs / "logs"), "--db", str(one)],
        check=True,
        capture_output=True,
    )
    out["one pass (process, start to exit)"] = time.perf_counter() - t
    print(f"  {'one pass (process, start to exit)':<40} {out['one pass (process, start to exit)']:8.2f} s")
    return out


# --- the attributed requests table generated in DuckDB (no logs) ------------------------------------------------

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
SLOTS = 100_000  # resolution of every weighted pick (a share of 1e-5)
ID_MAX = 2_000_000  # ids in paths: log-uniform over 1..ID_MAX (a few hot ids, a long tail)
CLIENTS = 200_000  # client addresses, Zipf-like
_CONV = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _slots(weights: list[float], size: int = SLOTS) -> np.ndarray:
    """`size` slots, slot -> index into `weights`, each index holding its share of the slots (for a pick by one
    uniform: slot = floor(u * size))."""
    w = np.asarray(weights, dtype=np.float64)
    edges = np.rint(np.cumsum(w) / w.sum() * size).astype(np.int64)
    return np.repeat(np.arange(len(w)), np.diff(np.concatenate([[0], edges])))


def _template(rule: str) -> str:
    """The rule with each converter as a placeholder the SQL fills per row: {i} {j} ids, {u} a UUID, {s} a name,
    {c} a country code, {p} a file key; the catch-all gets {a} (favicon & co)."""
    if rule == traffic.CATCH_ALL:
        return "{a}"
    ints = iter(("{i}", "{j}"))

    def one(m: re.Match) -> str:
        conv = m["conv"] or "default"
        if conv == "int":
            return next(ints)
        if conv == "uuid":
            return "{u}"
        if conv == "path":
            return "{p}"
        return "{c}" if "length=2" in m.group(0) else "{s}"

    return _CONV.sub(one, rule)


def _catalogue(days: int) -> tuple[pd.DataFrame, list[dt.datetime]]:
    """One row per kind of request (the demo's live routes, then the bots' probes) with what the SQL draws from,
    and the cutovers of the demo's three batches spread over the window (09:00 UTC on days 4, 7 and 10 of 14)."""
    cutovers = [START + dt.timedelta(days=days * f, hours=9) for f in (4 / 14, 7 / 14, 10 / 14)]
    batch_of = {r: (b, c) for b, c in zip(traffic.BATCHES, cutovers) for r in b.routes}
    live = [r for r in traffic.ROUTES if r.weight > 0]
    total = sum(r.weight for r in live)
    rows = []
    for r in live:
        b, cut = batch_of.get((r.method, r.rule), (None, None))
        q = [(text.lstrip("?"), p) for text, p in r.queries]
        qslots = [None] * 100
        pos = 0
        for text, p in q:
            for k in range(pos, min(100, pos + round(p * 100))):
                qslots[k] = text
            pos += round(p * 100)
        rows.append(
            dict(
                method=r.method,
                rule=r.rule,
                weight=r.weight / total * (1 - traffic.BOT_SHARE),
                tmpl=_template(r.rule),
                p50=r.p50_ms,
                sigma=r.sigma,
                bytes=r.bytes,
                ok=r.ok,
                auth=r.auth,
                p404=r.p404,
                p4o=r.p4xx_other,
                p5=r.p5xx,
                cutover=cut,
                lat_factor=b.latency_factor if b else 1.0,
                p5_after=b.p5xx_after.get((r.method, r.rule)) if b else None,
                login=(r.method, r.rule) == ("POST", "/auth/login"),
                bot=False,
                qslots=qslots,
            )
        )
    for method, path in traffic.BOT_PATHS:  # GET probes hit the catch-all (404), the others are not allowed (405)
        rows.append(
            dict(
                method=method,
                rule=traffic.CATCH_ALL if method == "GET" else None,
                weight=traffic.BOT_SHARE / len(traffic.BOT_PATHS),
                tmpl=path,
                p50=2.0,
                sigma=0.3,
                bytes=153,
                ok=404 if method == "GET" else 405,
                auth=False,
                p404=0.0,
                p4o=0.0,
                p5=0.0,
                cutover=None,
                lat_factor=1.0,
                p5_after=None,
                login=False,
                bot=True,
                qslots=[None] * 100,
            )
        )
    cat = pd.DataFrame(rows)
    cat.insert(0, "k", range(len(cat)))
    cat["cutover"] = pd.to_datetime(cat["cutover"], utc=True)
    return cat, cutovers


def generate_requests(con: duckdb.DuckDBPyConnection, n: int, days: int = 14, lean: bool = False) -> list[dt.datetime]:
    """Fill `requests` (attributed: route, route_framework, match), `path_shapes` and `sources` of `con` with n
    requests over `days` days from START, as strangler's router log would give them after `attribute`; returns the
    batches' cutovers. Same n, same rows (every draw is a hash of the row's number).

    Traffic follows the demo's catalogue (`strangler.demo.traffic`): its 44 live routes with their Zipf-like
    weights, 1.5 % bots probing 20 paths (404 on the catch-all, 405 for the POSTs), the hourly and weekly cycle;
    per route a lognormal latency (p50, sigma) slower at busy hours, 0.5 % of requests in a heavy (Lomax) tail,
    4xx faster, 5xx/401/404/400 at the route's rates; the batches' routes served by FastAPI after their cutover
    with their injected effects (latency x 0.7, 5xx 0.3 % -> 6 %), by Flask before; one hour of incident (35 %
    5xx, x 4 latency) on day 8. Ids in paths are log-uniform up to ID_MAX, so distinct paths run to millions.
    One source per day (`generated/day-NN.log`, format strangler).

    `lean` leaves out what only the raw table holds and no rollup reads (client, user agent, referer, request id,
    query, logged route, the path of matched requests) and the time order of the rows: the same rollups, generated
    several times faster, for sizes whose raw bytes are taken from a full-width run (bytes per row are constant).
    """
    cat, cutovers = _catalogue(days)
    con.execute("SET TimeZone = 'UTC'")
    con.register("_cat_df", cat)
    con.execute("CREATE OR REPLACE TEMP TABLE _cat AS SELECT * FROM _cat_df")
    con.unregister("_cat_df")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rslot AS SELECT unnest(?::INTEGER[]) AS k, "
        "generate_subscripts(?::INTEGER[], 1) - 1 AS slot",
        [_slots(cat["weight"]).tolist()] * 2,
    )
    hours = days * 24
    h = np.arange(hours)
    intensity = np.asarray(traffic.HOURLY)[h % 24] * np.asarray(traffic.WEEKLY)[(h // 24) % 7]
    edges = np.rint(np.cumsum(intensity) / intensity.sum() * n).astype(np.int64)
    counts = np.diff(np.concatenate([[0], edges]))
    load = np.asarray(traffic.HOURLY)[h % 24] / max(traffic.HOURLY)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _hours AS SELECT unnest($h) AS h, unnest($cnt) AS cnt, unnest($base) AS base, "
        "unnest($load) AS load",
        {"h": h.tolist(), "cnt": counts.tolist(), "base": (edges - counts).tolist(), "load": load.tolist()},
    )
    ua = [u for u, _ in traffic.BROWSER_UAS]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ua AS SELECT unnest(?::VARCHAR[]) AS ua, "
        "generate_subscripts(?::VARCHAR[], 1) - 1 AS slot",
        [[ua[k] for k in _slots([w for _, w in traffic.BROWSER_UAS], 1000)]] * 2,
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ip AS SELECT i AS idx,
                    (11 + hash(i * 64 + 1) % 200)::VARCHAR || '.' || (hash(i * 64 + 2) % 256)::VARCHAR || '.' ||
                    (hash(i * 64 + 3) % 256)::VARCHAR || '.' || (1 + hash(i * 64 + 4) % 254)::VARCHAR AS ip
                    FROM range({CLIENTS}) t(i)""")
    con.execute("CREATE OR REPLACE MACRO _u(i, s) AS (hash(i * 64 + s) >> 11)::DOUBLE / 9007199254740992.0")
    start_s = START.timestamp()
    incident = (start_s + (8 * 24 + 14) * 3600, start_s + (8 * 24 + 15) * 3600)
    ref = [r for r, _ in traffic.REFERERS if r != "-"]
    catch = list(traffic.CATCH_ALL_PATHS)
    uuid = " || '-' || ".join(
        f"substr(printf('%016x', hash(id1 * 64 + {salt})), {start}, {length})"
        for salt, start, length in ((12, 1, 8), (12, 9, 4), (12, 13, 4), (13, 1, 4), (13, 5, 12))
    )
    wide = {  # what only the raw table holds: left out when lean
        "path": f"""CASE WHEN tmpl NOT LIKE '%{{%' THEN tmpl ELSE
                 replace(replace(replace(replace(replace(replace(replace(tmpl,
                   '{{i}}', id1::VARCHAR), '{{j}}', id2::VARCHAR), '{{s}}', 'traveller' || id2::VARCHAR),
                   '{{c}}', ['PT', 'JP', 'FR', 'US', 'BR', 'IS', 'VN', 'GE'][1 + id2 % 8]),
                   '{{p}}', 'photos/' || id1::VARCHAR || '.jpg'),
                   '{{a}}', {catch!r}[1 + (hash(i * 64 + 11) % {len(catch)})::INTEGER]),
                   '{{u}}', CASE WHEN contains(tmpl, '{{u}}') THEN {uuid} ELSE '' END)
               END""",
        "query": "qslots[1 + floor(_u(i, 14) * 100)::INTEGER]",
        "client": "ip.ip",
        "user_agent": "CASE WHEN bot THEN 'python-requests/2.31.0' ELSE ua.ua END",
        "referer": f"CASE WHEN _u(i, 17) < 0.2 THEN {ref!r}[1 + (hash(i * 64 + 18) % {len(ref)})::INTEGER] END",
        "request_id": "printf('%016x', hash(i * 64 + 19))",
        "logged_route": "rule",
    }
    joins = f"""JOIN _ip ip ON ip.idx = floor(exp(_u(i, 22) * ln({CLIENTS}))) - 1
        JOIN _ua ua ON ua.slot = floor(_u(i, 23) * 1000)::INTEGER
        ORDER BY i"""
    if lean:
        wide = {c: "NULL" for c in wide} | {"path": "CASE WHEN bot THEN tmpl END"}
        joins = ""
    for day in range(days):
        con.execute(f"""
        INSERT INTO requests
        WITH r AS (
            SELECT h.h, h.load, h.base + j AS i, to_timestamp({start_s!r} + h.h * 3600 + (j + _u(h.base + j, 1)) * 3600.0 / h.cnt) AS ts
            FROM _hours h, range(h.cnt) t(j) WHERE h.h // 24 = {day}
        ), d AS (
            SELECT r.*, c.*, _u(i, 3) AS u_status, _u(i, 4) AS u_code,
                   sqrt(-2 * ln(1 - _u(i, 5))) * cos(2 * pi() * _u(i, 6)) AS z, _u(i, 7) AS u_tail, _u(i, 8) AS u_size,
                   c.cutover IS NOT NULL AND r.ts >= c.cutover AS after,
                   NOT c.bot AND epoch(r.ts) >= {incident[0]!r} AND epoch(r.ts) < {incident[1]!r} AS incident
            FROM r JOIN _rslot sl ON sl.slot = floor(_u(i, 2) * {SLOTS})::INTEGER JOIN _cat c ON c.k = sl.k
        ), st AS (
            SELECT d.*,
                   CASE WHEN incident THEN greatest(p5, 0.35) WHEN after AND p5_after IS NOT NULL THEN p5_after ELSE p5 END
                       AS p5x,
                   CASE WHEN auth THEN 0.015 ELSE 0 END AS p401
            FROM d
        ), s AS (
            SELECT st.*, CASE
                WHEN bot THEN ok
                WHEN u_status < p5x THEN CASE WHEN incident THEN CASE WHEN u_code < 0.5 THEN 502 WHEN u_code < 0.8 THEN 504 ELSE 500 END
                                              WHEN u_code < 0.6 THEN 500 WHEN u_code < 0.8 THEN 502 WHEN u_code < 0.9 THEN 503 ELSE 504 END
                WHEN u_status < p5x + p401 THEN 401
                WHEN u_status < p5x + p401 + p404 THEN 404
                WHEN u_status < p5x + p401 + p404 + p4o THEN CASE WHEN login THEN 401 ELSE 400 END
                ELSE ok END AS status
            FROM st
        ), x AS (
            SELECT s.*,
                   p50 * exp(sigma * z) * (0.85 + 0.3 * load)
                   * CASE WHEN u_tail < 0.005 THEN 1 + 3 * (pow(1 - u_size, -1 / 1.5) - 1) ELSE 1 END
                   * CASE WHEN after THEN lat_factor ELSE 1 END
                   * CASE WHEN status BETWEEN 400 AND 499 AND ok <> 404 THEN 0.3 ELSE 1 END
                   * CASE WHEN incident THEN 4 ELSE 1 END AS x,
                   floor(exp(_u(i, 9) * ln({ID_MAX})))::BIGINT AS id1, floor(exp(_u(i, 10) * ln(5000)))::BIGINT AS id2
            FROM s
        )
        SELECT ts, method, {wide["path"]} AS path, {wide["query"]} AS query, status,
               CASE WHEN bot THEN 153 WHEN status IN (204, 302) THEN 0 WHEN status >= 400 THEN 60 + hash(i * 64 + 15) % 60
                    ELSE round(bytes * (0.6 + 0.8 * _u(i, 16)))::BIGINT END AS bytes,
               round(least(greatest(x, 0.05), 60000), 3) AS duration_ms,
               {wide["client"]} AS client, {wide["user_agent"]} AS user_agent, {wide["referer"]} AS referer,
               {wide["request_id"]} AS request_id,
               CASE WHEN after THEN 'fastapi' ELSE 'flask' END AS backend,
               {wide["logged_route"]} AS logged_route,
               CASE WHEN NOT bot THEN round(x * 0.4 * _u(i, 20), 3) END AS db_ms,
               CASE WHEN NOT bot THEN floor(_u(i, 21) * 8)::INTEGER END AS db_queries,
               rule AS route, CASE WHEN rule IS NOT NULL THEN 'flask' END AS route_framework,
               CASE WHEN rule IS NULL THEN 'method_not_allowed' ELSE 'matched' END AS match,
               {day + 1} AS source_id, i - (SELECT min(base) FROM _hours WHERE h // 24 = {day}) + 1 AS line_no
        FROM x
        {joins}
        """)
        con.execute(
            "INSERT INTO sources VALUES (?, ?, 'strangler', 'generated', ?, ?, 0, NULL, NULL, NULL, now(), NULL)",
            [
                day + 1,
                f"generated/day-{day + 1:02d}.log",
                int(counts[day * 24 : (day + 1) * 24].sum()),
                int(counts[day * 24 : (day + 1) * 24].sum()),
            ],
        )
    con.execute("INSERT INTO path_shapes SELECT DISTINCT path, path FROM requests WHERE match <> 'matched'")
    for t in ("_cat", "_rslot", "_hours", "_ua", "_ip"):
        con.execute(f"DROP TABLE {t}")
    return cutovers


def _rollup_side(
    con: duckdb.DuckDBPyConnection, work: Path, migration: Path, out: dict, raw_parquet: bool = True
) -> None:
    """Everything after the raw rows exist (both paths): export, sizes, plan + review from both kinds of rollups."""
    parquet = work / "parquet"
    _timed("rollup.export (Parquet)", lambda: rollup.export(con, parquet), out)
    if raw_parquet:
        _timed(
            "raw table to Parquet",
            lambda: con.execute(f"COPY requests TO '{work / 'requests.parquet'}' (FORMAT parquet)"),
            out,
        )
    con.execute("CHECKPOINT")
    out["raw_rows"] = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    out["raw_parquet_bytes"] = _size(work / "requests.parquet") if raw_parquet else None
    out["rollup_rows"] = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in db.ROLLUP_TABLES}
    out["rollup_bytes"] = sum(_size(parquet / t) for t in db.ROLLUP_TABLES)
    out["rollup_bytes_by_table"] = {t: _size(parquet / t) for t in db.ROLLUP_TABLES}
    _timed(
        "plan + review, rollups in the DuckDB file",
        lambda: (score.plan(con, source=DEMO_SOURCE), review.review(con)),
        out,
    )
    out["verdicts"] = con.execute("SELECT verdict, count(*) FROM reviews GROUP BY ALL ORDER BY ALL").fetchall()
    pq = rollup.open_dir(parquet)
    manifest.store(pq, manifest.load(migration))
    _timed("plan + review, Parquet rollups alone", lambda: (score.plan(pq, source=DEMO_SOURCE), review.review(pq)), out)
    pq.close()


def from_sql(n: int, work: Path, days: int, lean: bool = False) -> dict:
    """The generated path: `requests` made in DuckDB (or kept from an earlier run in `work`: the same n gives the
    same rows), then rollups built from nothing, exported and read."""
    out: dict = {"requests": n}
    raw = work / "raw.duckdb"
    migration = work / "migration.toml"
    con = db.connect(raw)
    con.execute("SET enable_progress_bar = false")
    kept = migration.is_file() and con.execute("SELECT count(*) FROM requests").fetchone()[0] == n
    if kept:
        print("  generated requests kept from an earlier run", flush=True)
        for t in ("rollup_state", *db.ROLLUP_TABLES):
            con.execute(f"DELETE FROM {t}")
    else:
        for t in ("requests", "sources", "path_shapes", "routes", "rollup_state", *db.ROLLUP_TABLES):
            con.execute(f"DELETE FROM {t}")
        routes.inventory_apps(con, APPS)
        cutovers = _timed(
            "generate requests (not part of any path)", lambda: generate_requests(con, n, days, lean), out
        )
        migration.write_text(demo.manifest_text(cutovers, "scale bench: the demo's batches over the generated window"))
    manifest.store(con, manifest.load(migration))
    con.execute("CHECKPOINT")
    out["raw_duckdb_bytes"] = _size(raw)
    built = _timed("rollup.build (every hour)", lambda: rollup.build(con), out)
    out["raw_build"] = out["rollup.build (every hour)"]
    print(f"  {built}")
    _timed("rollup.build again (nothing new)", lambda: rollup.build(con), out)
    _rollup_side(con, work, migration, out, raw_parquet=not lean)
    con.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("requests", nargs="*", type=int, default=[10_000_000, 100_000_000])
    ap.add_argument("--from", dest="source", choices=("sql", "logs"), default="sql")
    ap.add_argument("--days", type=int, default=14, help="window of the generated requests (--from sql)")
    ap.add_argument(
        "--lean",
        action="store_true",
        help="--from sql: leave out the raw-only columns (same rollups, faster); the raw table's bytes are then not "
        "measured (take bytes per row from a full-width run)",
    )
    ap.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="--from sql: keep the generated database of each size in DIR/<n>/ and reuse it on the next run",
    )
    args = ap.parse_args()
    print(
        f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.platform()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}; load {os.getloadavg()}"
    )
    for n in args.requests:
        keep = args.keep is not None and args.source == "sql"
        work = args.keep / str(n) if keep else Path(tempfile.mkdtemp(prefix="strangler-scale-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            print(f"{n:,} requests (from {args.source}), load {os.getloadavg()}", flush=True)
            r = from_sql(n, work, args.days, args.lean) if args.source == "sql" else from_logs(n, work)
            raw_pq = r["raw_parquet_bytes"]
            share = (
                f"{r['rollup_bytes'] / raw_pq:.2%} of the raw table's" if raw_pq else "raw bytes not measured (lean)"
            )
            print(
                f"  raw: {r['raw_rows']:,} rows, "
                + (f"{raw_pq / 1e6:,.1f} MB as Parquet " if raw_pq else "")
                + f"({r['raw_duckdb_bytes'] / 1e6:,.1f} MB DuckDB file)\n"
                f"  rollups: {r['rollup_rows']} rows, {r['rollup_bytes'] / 1e6:,.1f} MB as Parquet "
                f"({ {t: round(b / 1e6, 1) for t, b in r['rollup_bytes_by_table'].items()} }) = {share}\n"
                f"  verdicts: {r.get('verdicts')}; load {os.getloadavg()}",
                flush=True,
            )
        finally:
            if keep:
                for p in (work / "parquet", work / "requests.parquet"):
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            else:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
