"""Hourly rollups of the attributed requests: what every analysis reads (schema: `db.ROLLUP_SCHEMA`).

`build(con)` brings tables `rollups`, `rollup_latency` and `rollup_peaks` up to date with `requests`,
incrementally. For each source (`requests.source_id`) `rollup_state` keeps its row count, how many rows have a
route and a timestamp, its last line and a checksum of its attribution. The rows of a new source, or the new lines
of a source that grew (its old lines unchanged), are aggregated and merged into the rollups of the hours they touch
(counts and sums added, histograms added bucket by bucket, first/last and examples by min/max, the busiest second
counted again from the raw rows of those hours); no other hour changes. A source whose old rows changed
(attributed again under other routes, deleted, edited) or vanished rebuilds everything. Running it again adds
nothing. Sources the ingest rolled up itself (`rollup_state.origin = 'ingest'`) are left alone.

`export(con, out)` writes the rollups as hive-partitioned Parquet (`out/<table>/day=YYYY-MM-DD/`) with the route
tables beside them; `open_dir(out)` opens such a directory as a DuckDB database of views (in memory, or a file the
report's notebooks open) in which every analysis runs with no raw rows at all. `ensure(con)` is what the readers call first: it refreshes the rollups of a database
that has raw requests, and accepts a rollup directory as it is.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from strangler import db as dbm
from strangler import routes, sketch
from strangler.errors import StranglerError

HOUR_US = 3_600_000_000

# the UTC hour of a timestamp, whatever the session's time zone (epoch hours, back to TIMESTAMPTZ)
HOUR_SQL = "to_timestamp(epoch_us({ts}) // 3600000000 * 3600)"

# one row per request with its rollup key (the shape looked up only for requests no route took); `{where}` selects
# the rows to roll up. `path` is read only where it can become an example (match <> 'matched'): the widest column
# is not read for the matched rows.
_ROWS = f"""
SELECT {HOUR_SQL.format(ts="q.ts")} AS hour, q.method, q.route, q.route_framework, q.match, NULL::VARCHAR AS shape,
       q.backend, q.status, q.bytes, q.duration_ms, q.db_ms, q.db_queries, q.ts, NULL::VARCHAR AS path
FROM requests q
WHERE q.match = 'matched' AND {{where}}
UNION ALL
SELECT {HOUR_SQL.format(ts="q.ts")} AS hour, q.method, q.route, q.route_framework, q.match,
       CASE WHEN q.match IS NOT NULL AND q.method IS NOT NULL THEN s.shape END AS shape,
       q.backend, q.status, q.bytes, q.duration_ms, q.db_ms, q.db_queries, q.ts, q.path
FROM requests q LEFT JOIN path_shapes s ON s.path = q.path
WHERE q.match IS DISTINCT FROM 'matched' AND {{where}}
"""
_KEY = ", ".join(dbm.ROLLUP_KEY)

_INSERT_ROLLUPS = f"""
INSERT INTO rollups
SELECT {_KEY}, count(*), count(bytes), sum(bytes), count(duration_ms), count(db_ms), sum(db_ms),
       count(db_queries), sum(db_queries), min(ts), max(ts), CASE WHEN match <> 'matched' THEN min(path) END
FROM ({_ROWS}) GROUP BY {_KEY} ORDER BY hour
"""

_INSERT_LATENCY = f"""
INSERT INTO rollup_latency
SELECT {_KEY}, {sketch.bucket_sql("duration_ms")} AS bucket, count(*)
FROM ({_ROWS}) WHERE duration_ms IS NOT NULL GROUP BY ALL ORDER BY hour
"""

# A HEAD request counts for the GET route it matched unless the rule declares HEAD (`routes.counted_method`).
# Requests are counted per second and (route, method) straight from `requests` (every request with a route and a
# timestamp), then the methods a route counts under are added up, then the busiest second of each hour kept.
# (`strangler.spark_job` runs this statement too, after its `INSERT INTO rollup_peaks`.)
_INSERT_PEAKS = f"""
INSERT INTO rollup_peaks
SELECT hour, route_framework, route, route_method, max(n) FROM (
    SELECT to_timestamp(s.second // 3600 * 3600) AS hour, s.route_framework, s.route,
           {routes.counted_method_sql("s.method", "h.rule IS NOT NULL")} AS route_method, s.second, sum(s.n) AS n
    FROM (SELECT epoch_us(q.ts) // 1000000 AS second, q.route_framework, q.route, q.method, count(*) AS n
          FROM requests q WHERE q.route IS NOT NULL AND q.ts IS NOT NULL AND {{where}}
          GROUP BY ALL) s
    LEFT JOIN (SELECT DISTINCT framework, rule FROM routes WHERE method = 'HEAD') h
           ON h.framework = s.route_framework AND h.rule = s.route
    GROUP BY ALL)
GROUP BY ALL ORDER BY hour
"""

# Every row at once (a first build, or --full): one pass over the requests groups them by key and latency bucket
# with every sum the rollups need; `rollups` and `rollup_latency` are then read from that (far smaller) table.
_FINE = f"""
CREATE OR REPLACE TEMP TABLE _ru_fine AS
SELECT {_KEY}, {sketch.bucket_sql("duration_ms")} AS bucket, count(*) AS requests, count(bytes) AS bytes_n,
       sum(bytes) AS bytes_sum, count(db_ms) AS db_ms_n, sum(db_ms) AS db_ms_sum, count(db_queries) AS db_queries_n,
       sum(db_queries) AS db_queries_sum, min(ts) AS first_ts, max(ts) AS last_ts, min(path) AS example_path
FROM ({_ROWS}) GROUP BY ALL
"""
_FINE_ROLLUPS = f"""
INSERT INTO rollups
SELECT {_KEY}, sum(requests), sum(bytes_n), sum(bytes_sum), coalesce(sum(requests) FILTER (WHERE bucket IS NOT NULL), 0),
       sum(db_ms_n), sum(db_ms_sum), sum(db_queries_n), sum(db_queries_sum), min(first_ts), max(last_ts),
       CASE WHEN match <> 'matched' THEN min(example_path) END
FROM _ru_fine GROUP BY {_KEY} ORDER BY hour
"""
_FINE_LATENCY = (
    f"INSERT INTO rollup_latency SELECT {_KEY}, bucket, requests FROM _ru_fine WHERE bucket IS NOT NULL ORDER BY hour"
)

# what each raw source holds now, and (for one already rolled up) the same figures over its old lines only
_FIGURES = """
WITH f AS (
    SELECT q.source_id, count(*) AS rows, count(q.route) AS routed, count(q.ts) AS timed, max(q.line_no) AS max_line,
           coalesce(sum(hash(q.route, q.match, q.ts)), 0)::HUGEINT AS checksum,
           count(*) FILTER (WHERE q.line_no <= s.max_line) AS old_rows,
           count(q.route) FILTER (WHERE q.line_no <= s.max_line) AS old_routed,
           count(q.ts) FILTER (WHERE q.line_no <= s.max_line) AS old_timed,
           coalesce(sum(hash(q.route, q.match, q.ts)) FILTER (WHERE q.line_no <= s.max_line), 0)::HUGEINT
               AS old_checksum
    FROM requests q LEFT JOIN rollup_state s USING (source_id)
    WHERE s.origin IS DISTINCT FROM 'ingest'
    GROUP BY q.source_id)
SELECT f.*, s.source_id IS NOT NULL AS known, s.max_line AS known_line,
       coalesce(s.rows = f.rows AND s.routed = f.routed AND s.timed = f.timed AND s.checksum = f.checksum, false)
           AS same,
       coalesce(s.rows = f.old_rows AND s.routed = f.old_routed AND s.timed = f.old_timed
                AND s.checksum = f.old_checksum, false) AS grew
FROM f LEFT JOIN rollup_state s USING (source_id)
"""

# merging rollup rows: the aggregate of each column of rollups over rows of one key
_MERGE_ROLLUPS = f"""
SELECT {_KEY}, sum(requests), sum(bytes_n), sum(bytes_sum), sum(duration_n), sum(db_ms_n), sum(db_ms_sum),
       sum(db_queries_n), sum(db_queries_sum), min(first_ts), max(last_ts), min(example_path)
FROM ({{rows}}) GROUP BY {_KEY}
"""
_MERGE_LATENCY = f"SELECT {_KEY}, bucket, sum(n) FROM ({{rows}}) GROUP BY {_KEY}, bucket"
_MERGE_PEAKS = "SELECT hour, route_framework, route, route_method, max(peak_rps) FROM ({rows}) GROUP BY ALL"
MERGE = {"rollups": _MERGE_ROLLUPS, "rollup_latency": _MERGE_LATENCY, "rollup_peaks": _MERGE_PEAKS}


@dataclass
class RollupResult:
    """What one `build` did."""

    mode: str  # 'unchanged', 'incremental' or 'full'
    hours: int  # hours rolled up again (the hour of requests without a timestamp counts as one)
    requests: int  # requests in the rollups afterwards
    rows: int  # rows of table rollups afterwards
    latency_rows: int
    seconds: float
    written: list[Path] | None = None

    def __str__(self) -> str:
        what = {
            "unchanged": "rollups up to date: nothing to add",
            "incremental": f"rolled up {self.hours:,} hour(s) touched by new requests",
            "full": f"rolled up every hour ({self.hours:,})",
        }[self.mode]
        text = (
            f"{what}; {self.requests:,} requests in {self.rows:,} rollup rows and {self.latency_rows:,} "
            f"latency buckets ({self.seconds:.1f} s)"
        )
        for p in self.written or []:
            text += f"\nwrote {p}"
        return text


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple:
    """The one row an aggregate query returns."""
    row = con.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        one_row(
            con,
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' AND NOT temporary",
            [name],
        )[0]
        or one_row(
            con,
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND schema_name = 'main' AND NOT temporary",
            [name],
        )[0]
    )


def build(con: duckdb.DuckDBPyConnection, full: bool = False) -> RollupResult:
    """Bring the rollups up to date with `requests` (only the hours new rows touched, unless `full`)."""
    started = time.perf_counter()
    if not _exists(con, "rollup_state"):  # a database from before the rollups (a read-only one cannot get them)
        try:
            con.execute(dbm.ROLLUP_SCHEMA)
        except duckdb.Error as exc:
            raise StranglerError(f"this database has no rollups yet: run `strangler rollup --db DB` ({exc})") from None
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ru_fig AS {_FIGURES}")
    vanished, changed, fresh, grown, direct = one_row(
        con,
        """
        SELECT (SELECT count(*) FROM rollup_state s WHERE origin = 'requests' AND source_id NOT IN
                    (SELECT source_id FROM _ru_fig)),
               count(*) FILTER (WHERE known AND NOT same AND NOT grew),
               count(*) FILTER (WHERE NOT known),
               count(*) FILTER (WHERE known AND NOT same AND grew),
               (SELECT count(*) FROM rollup_state WHERE origin = 'ingest')
        FROM _ru_fig
    """,
    )
    mode = "full" if full or vanished or changed else "incremental" if fresh or grown else "unchanged"
    if mode == "full" and direct:
        raise StranglerError(
            f"the raw requests changed, but {direct} source(s) were rolled up while ingesting and have no raw rows "
            "to roll up again: ingest them again"
        )
    hours = 0
    if mode != "unchanged":
        con.execute("BEGIN TRANSACTION")
        try:
            hours = _roll(con, mode)
            con.execute("DELETE FROM rollup_state WHERE origin = 'requests'")
            con.execute("""INSERT INTO rollup_state SELECT source_id, 'requests', rows, routed, timed, max_line,
                                  checksum, current_timestamp FROM _ru_fig""")
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            if "read-only" in str(exc).lower():
                raise StranglerError(
                    "the rollups are out of date and the database is open read-only: run `strangler rollup --db DB`"
                ) from None
            raise
        finally:
            for t in ("_ru_hours", "_ru_new"):
                con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute("DROP TABLE IF EXISTS _ru_fig")
    n_req, n_rows = one_row(con, "SELECT coalesce(sum(requests), 0), count(*) FROM rollups")
    n_lat = one_row(con, "SELECT count(*) FROM rollup_latency")[0]
    return RollupResult(mode, hours, int(n_req), n_rows, n_lat, time.perf_counter() - started)


def _roll(con: duckdb.DuckDBPyConnection, mode: str) -> int:
    """Roll up the new rows (every raw row for `full`) and merge them into their hours; returns how many hours."""
    first = (
        not one_row(con, "SELECT count(*) FROM rollup_state")[0]
        and not one_row(con, "SELECT bool_or(known) FROM _ru_fig")[0]
    )
    if mode == "full" or first:  # every row is new (a first build rolls up every row too): one pass
        for table in dbm.ROLLUP_TABLES:
            con.execute(f"DELETE FROM {table}")
        try:
            con.execute(_FINE.format(where="TRUE"))
            con.execute(_FINE_ROLLUPS)
            con.execute(_FINE_LATENCY)
        finally:
            con.execute("DROP TABLE IF EXISTS _ru_fine")
        con.execute(_INSERT_PEAKS.format(where="TRUE"))
        return one_row(con, "SELECT count(DISTINCT hour) + bool_or(hour IS NULL)::INTEGER FROM rollups")[0] or 0
    # the new rows: every row of a new source, the lines after the last one rolled up of a grown one
    con.execute("""CREATE OR REPLACE TEMP TABLE _ru_new AS
                   SELECT source_id, CASE WHEN known THEN known_line END AS after_line
                   FROM _ru_fig WHERE NOT same""")
    new = """EXISTS (SELECT 1 FROM _ru_new n WHERE n.source_id = q.source_id
                     AND (n.after_line IS NULL OR q.line_no > n.after_line))"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ru_hours AS
                    SELECT DISTINCT {HOUR_SQL.format(ts="q.ts")} AS hour FROM requests q WHERE {new}""")
    in_hours = (
        "hour IN (SELECT hour FROM _ru_hours) OR (hour IS NULL AND (SELECT bool_or(hour IS NULL) FROM _ru_hours))"
    )
    inserts = {"rollups": _INSERT_ROLLUPS, "rollup_latency": _INSERT_LATENCY}
    for table, insert in inserts.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ru_part AS SELECT * FROM {table} LIMIT 0")
        con.execute(insert.replace(f"INSERT INTO {table}", "INSERT INTO _ru_part").format(where=new))
        con.execute(f"INSERT INTO _ru_part SELECT * FROM {table} WHERE {in_hours}")
        con.execute(f"DELETE FROM {table} WHERE {in_hours}")
        con.execute(f"INSERT INTO {table} {MERGE[table].format(rows='SELECT * FROM _ru_part')} ORDER BY hour")
        con.execute("DROP TABLE _ru_part")
    # the busiest second of a touched hour is counted again from every raw row of that hour (exact), and merged
    # by max with what is there (sources rolled up while ingesting)
    con.execute("CREATE OR REPLACE TEMP TABLE _ru_part AS SELECT * FROM rollup_peaks LIMIT 0")
    con.execute(
        _INSERT_PEAKS.replace("INSERT INTO rollup_peaks", "INSERT INTO _ru_part").format(
            where=f"{HOUR_SQL.format(ts='q.ts')} IN (SELECT hour FROM _ru_hours)"
        )
    )
    con.execute(f"INSERT INTO _ru_part SELECT * FROM rollup_peaks WHERE {in_hours}")
    con.execute(f"DELETE FROM rollup_peaks WHERE {in_hours}")
    con.execute(f"INSERT INTO rollup_peaks {_MERGE_PEAKS.format(rows='SELECT * FROM _ru_part')} ORDER BY hour")
    con.execute("DROP TABLE _ru_part")
    return one_row(con, "SELECT count(*) FROM _ru_hours")[0]


def has_raw(con: duckdb.DuckDBPyConnection) -> bool:
    """Does this database hold raw requests (a DuckDB file), rather than a rollup directory's views?"""
    views = one_row(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'rollups' AND NOT temporary")
    return _exists(con, "requests") and not views[0]


def window(start: object = None, end: object = None, column: str = "hour") -> tuple[str, dict]:
    """SQL condition on a rollup table's hour for [start, end), with its named parameters $start and $end (TRUE
    when both are None).

    Rollups count whole hours, so a bound inside an hour is refused rather than rounded: a number over a window
    it does not cover would be wrong. A bound without a time zone is UTC.
    """
    cond, params = [], {}
    for name, value, op in (("start", start, ">="), ("end", end, "<")):
        if value is None or value == "":
            continue
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError):
            ts = pd.NaT
        if ts is pd.NaT:
            raise StranglerError(
                f"{name} {value!r} is not a date or date-time; write e.g. 2026-03-02 or 2026-03-02T09:00Z"
            )
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        if ts != ts.floor("h"):
            raise StranglerError(
                f"{name} {value} is not on a whole hour (UTC): the rollups count whole hours; use e.g. {ts.floor('h'):%Y-%m-%dT%H:00Z}"
            )
        cond.append(f"{column} {op} ${name}")
        params[name] = ts.to_pydatetime()
    return (" AND ".join(cond) or "TRUE"), params


def step_us(bucket_hours: float) -> int:
    """A time bucket of `bucket_hours` in µs; the rollups count whole hours, so it must be a whole number of them."""
    if not bucket_hours >= 1 or bucket_hours != int(bucket_hours):
        raise StranglerError(
            f"bucket_hours must be a whole number of hours (the rollups count hours), not {bucket_hours:g}"
        )
    return int(bucket_hours) * HOUR_US


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Make sure the rollups a reader is about to use are current.

    A database with raw requests gets its rollups refreshed (cheap when nothing changed); a rollup directory
    opened by `open_dir` is used as it is; anything else is a one-line error.
    """
    if has_raw(con):
        build(con)
    elif not _exists(con, "rollups"):
        raise StranglerError("no requests and no rollups: run `strangler ingest` and `strangler rollup` first")


# --- Parquet ----------------------------------------------------------------------------------------------------


def _literal(path: Path) -> str:
    """A path as a SQL string literal (COPY and read_parquet take no parameters for it)."""
    return "'" + str(path).replace("'", "''") + "'"


def export(con: duckdb.DuckDBPyConnection, out: str | Path) -> list[Path]:
    """Write the rollups as hive-partitioned Parquet (`out/<table>/day=YYYY-MM-DD/`, requests without a timestamp
    under `day=__HIVE_DEFAULT_PARTITION__`) and the route tables as `out/<table>.parquet`; replaces what was there."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in dbm.ROLLUP_TABLES:
        tmp, final = out / f".{table}.tmp", out / table
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        con.execute(f"""
            COPY (SELECT *, strftime(hour AT TIME ZONE 'UTC', '%Y-%m-%d') AS day FROM {table} ORDER BY hour)
            TO {_literal(tmp)} (FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE)
        """)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        written.append(final)
    for table in dbm.ROLLUP_SIDE_TABLES:
        path = out / f"{table}.parquet"
        con.execute(f"COPY {table} TO {_literal(path)} (FORMAT parquet)")
        written.append(path)
    return written


def open_dir(path: str | Path, db: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB database over a rollup directory: the rollups as views on its Parquet files, the route tables
    loaded, the other input tables (batches …) empty, and no `requests` table, so nothing reads raw rows.

    In memory by default; with `db`, that file is created (replaced) and keeps the views, so other processes (the
    report's notebooks) can open it like any strangler database.
    """
    root = Path(path).resolve()
    if not (root / "rollups").is_dir():
        raise StranglerError(
            f"{root} is not a rollup directory (no {root / 'rollups'}/): write one with "
            "`strangler rollup --db DB --out DIR`"
        )
    if db is not None:
        Path(db).unlink(missing_ok=True)
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db) if db is not None else ":memory:")
    con.execute(dbm.SCHEMA)
    con.execute(dbm.ROLLUP_SCHEMA)
    for table in ("requests", "rejects", "path_shapes", "rollup_state"):
        con.execute(f"DROP TABLE {table}")
    for table in dbm.ROLLUP_TABLES:
        if any((root / table).glob("*/*.parquet")):
            con.execute(f"DROP TABLE {table}")
            con.execute(f"""CREATE VIEW {table} AS SELECT * EXCLUDE (day) FROM read_parquet(
                                {_literal(root / table / "*" / "*.parquet")}, hive_partitioning = true)""")
    for table in dbm.ROLLUP_SIDE_TABLES:
        if (root / f"{table}.parquet").is_file():
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet({_literal(root / f'{table}.parquet')})"
            )
    return con


def connect(db: str | Path, rollups: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """The connection a notebook works on: the rollup directory `rollups` when given, else the database `db`."""
    return open_dir(rollups) if rollups else dbm.connect(db)
