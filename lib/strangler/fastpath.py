"""Straight to rollups: parse, attribute and aggregate a log in one pass, storing no raw row but rejects and a
sample (`strangler rollup --logs LOG... --db DB`).

Raw rows cost most of an ingest (storing 20 columns per line, then an UPDATE of three per line to attribute
them); the rollups need none of it. A plain file is read in a few large chunks (FIRST_BYTES, then CHUNK_BYTES;
2 pieces per DuckDB thread, fed through pipes and numbered from the newlines before them, as `strangler.ingest`
reads it). Where the format has columns for DuckDB's CSV reader, a chunk is **one statement** over the reader
(`_Run.group`, `_grouped_sql`): ingest's SQL parses what the rollups read (timestamp, method, path, status, bytes,
latency bucket, backend, db time) with its layout and field checks as a flag; each row is joined by
`hash(method, path)` to the integer id of its rollup key (method, route, route_framework, match, shape) in the
run's map of pairs; and four aggregations run side by side on those rows:

1. per (hour, key, backend, status, latency bucket): counts, sums, first and last timestamps, smallest path;
2. per (second, key), routed keys only: the requests, for the busiest second of each route and hour (seconds stay
   whole across chunks and files until the end of the run);
3. the (method, path) pairs not in the map (their rows are grouped by pair hash in 1 and 2 until attributed);
4. per piece: the records (to check the CSV reader's line numbers) and the line numbers of the refused rows.

Then (`_Run.settle`) the new pairs are attributed as `strangler attribute` does (a shape for each new path by
`attribute.shape_sql`, Werkzeug/Starlette for each new (method, shape) pair, `attribute.Plan`), their rows get
their key id, and the refused lines are read again by the line reader for their reason and raw line (file, line
number, reason, as ingest keeps them; a declared layout's refused lines may still be requests there). A chunk
whose numbers the CSV reader cannot keep (it skips blank lines, joins lines around an unbalanced quote), a format
without columns, a gzip file or a file that is not clean goes through a table of its rows (the line reader, or
the robust reader's 16 MB blocks) and the same aggregation. Two new pairs of one chunk with the same 64-bit hash
stop the run with an error; a new pair with the hash of a pair seen in an earlier chunk would be counted under
that pair's key (odds about n²/2⁶⁵ for n distinct pairs: 3·10⁻⁸ for a million).

At the end of a file its first SAMPLE requests are read again from its head, with every column, and kept in
`requests` for drill-down. At the end of the run, in one transaction, the partials are folded into the rollup
key (they are also added up during the run whenever they have doubled) and merged into `rollups`, `rollup_latency` and `rollup_peaks` (sums, mins and maxes: `rollup.MERGE`; the
busiest second of an hour from the per-second counts of every file of the run), the files are recorded in
`sources` (lines = rows + rejects) and in `rollup_state` with origin 'ingest', so `strangler rollup` leaves them
alone, and the rejects and samples are stored. A run killed half way leaves nothing. A file read before (same
fingerprint) is not read again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pandas as pd
import pyarrow as pa

from strangler import attribute as A
from strangler import db as dbm
from strangler import formats as F
from strangler import ingest, layouts, sketch
from strangler import parse_sql as P
from strangler import routes as routes_mod
from strangler.errors import StranglerError

SAMPLE = 10_000  # raw rows kept per source, for drill-down
CHUNK_BYTES = 256 << 20  # bytes of log aggregated by one set of statements (more: fewer statements, more memory)
COMPACT_ROWS = 2_000_000  # partial rows past which the run's partials are first added up (chunks of one hour overlap)
FIRST_BYTES = 64 << 20  # the first chunk of a plain file: every pair in it is new, so it is kept small
HEAD_BYTES = 4 << 20  # bytes of a plain file's head read again for the sample (doubled while too few rows)
COLS = ", ".join(ingest.REQUEST_COLUMNS)
_COLLISION = "two (method, path) pairs of one chunk have the same hash: read these logs with `strangler ingest`"
OPTIONAL = ("backend", "db_ms", "db_queries")  # rollup columns most formats do not have (left out of the chunk)

# the rollup key without hour, backend and status: what the attribution of one (method, path) decides
KEY = ("method", "route", "route_framework", "match", "shape")


def _select(insert_sql: str, table: str) -> str:
    """The SELECT of one of ingest's INSERT statements (their SQL, not a copy of it)."""
    m = re.match(rf"\s*INSERT INTO {table}(?:\s*\([^)]*\))?\s+(?=SELECT\b)", insert_sql)
    if not m:
        raise RuntimeError(f"expected an INSERT INTO {table} ... SELECT statement")
    return insert_sql[m.end() :]


def _on(sql: str, old: str, new: str) -> str:
    """`sql` reading `new` where it read `old` (exactly once)."""
    if sql.count(old) != 1:
        raise RuntimeError(f"expected {old!r} once in the SQL")
    return sql.replace(old, new)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The one value a query gives."""
    return con.execute(sql, params).fetchall()[0][0]


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> None:
    """Execute with only the named parameters the statement uses."""
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


@dataclass
class FastResult:
    """What one run did: one summary row per file (as `ingest`), and the rollups written."""

    table: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, summed over the run
    chunks: dict[str, int] = field(default_factory=dict)  # chunks read straight from the CSV reader / by a table

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        text = str(ingest.IngestResult(self.table, self.errors))
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items() if v >= 0.05)
        chunks = ", ".join(f"{v} {k}" for k, v in self.chunks.items() if v)
        return (
            text
            + f"\nrolled up in one pass ({SAMPLE:,} sample rows per source kept); {self.seconds:.1f} s"
            + (f"\nchunks: {chunks}; steps: {steps}" if chunks else "")
        )


def _narrow(fmt: F.Format, rows_sql: str, present: set[str], ok: str = "true") -> tuple[str, list[str]]:
    """SQL over one of ingest's row queries giving what the rollups read of each row, its pair's hash and
    whether the row is refused (`ok` false: the layout does not hold; or a field check fails); and the optional
    columns kept."""
    opt = [c for c in OPTIONAL if c in present]
    inner = f"SELECT ts, method, path, status, bytes, duration_ms, {', '.join(OPTIONAL)}, line_no, {ok} AS ok FROM ({rows_sql})"
    cols = ", ".join(
        [
            "line_no",
            "ts",
            "hash(method, path) AS h",
            "method",
            "path",
            "status",
            "bytes",
            f"{sketch.bucket_sql('duration_ms')} AS bucket",
            *opt,
            f"(NOT ok OR {P.bad_row(fmt)}) AS bad",
        ]
    )
    return f"SELECT {cols} FROM ({inner})", opt


def _columns_sql(fmt: F.Format, pieces: list[tuple[str, int]]) -> str:
    """Every record of DuckDB's CSV reader over the pieces, as ingest's columns path reads them
    (`ingest._columns_rows_sql`), with the layout check as a column `ok` instead of a filter: the lines it
    refuses stay, numbered, so that the rejects are known by line number without reading the rows again."""
    assert fmt.csv_columns is not None and fmt.csv_valid is not None
    lines = f"SELECT * FROM ({ingest._numbered(pieces, fmt.csv_read or ingest._READ_FIELDS)}) WHERE line_no <= $last"
    rel = P.layered(F.request_layers("c6") if fmt.csv_prep is None else fmt.csv_prep, lines)
    rel = f"SELECT *, coalesce({fmt.csv_valid}, false) AS ok FROM ({rel})"
    names = ", ".join(f"CASE WHEN ok THEN {fmt.csv_columns.get(c, 'NULL')} END AS {c}" for c in ingest.REQUEST_COLUMNS)
    return f"SELECT {names}, $sid AS source_id, line_no, ok FROM ({rel})"


# the partial columns of _fp_agg added up: sums, mins and maxes (types kept)
_SUMS = [
    "sum(n)::BIGINT AS n",
    "sum(bytes_n)::BIGINT AS bytes_n",
    "sum(bytes_sum)::HUGEINT AS bytes_sum",
    "sum(db_ms_n)::BIGINT AS db_ms_n",
    "sum(db_ms_sum) AS db_ms_sum",
    "sum(db_queries_n)::BIGINT AS db_queries_n",
    "sum(db_queries_sum)::HUGEINT AS db_queries_sum",
    "min(first_ts) AS first_ts",
    "max(last_ts) AS last_ts",
    "min(example_path) AS example_path",
]


def _grouped_sql(rows_sql: str, opt: list[str], piece: str) -> str:
    """The one statement that aggregates a chunk (see `_Run.group`): its rows joined to the map once, then four
    aggregations of them side by side, each with only the rows and aggregates it needs (a CTE DuckDB streams to
    its four readers). The optional columns the format does not have are constants, not aggregates."""
    has = {c: c in opt for c in OPTIONAL}
    agg = [
        "count(*) AS n",
        "count(bytes) AS bytes_n",
        "sum(bytes) AS bytes_sum",
        "count(db_ms) AS db_ms_n" if has["db_ms"] else "0 AS db_ms_n",
        "sum(db_ms) AS db_ms_sum" if has["db_ms"] else "NULL::DOUBLE AS db_ms_sum",
        "count(db_queries) AS db_queries_n" if has["db_queries"] else "0 AS db_queries_n",
        "sum(db_queries) AS db_queries_sum" if has["db_queries"] else "NULL::HUGEINT AS db_queries_sum",
        "min(ts) AS first_ts",
        "max(ts) AS last_ts",
        "min(ex) AS example_path",
    ]
    none = [
        "NULL::BIGINT AS bytes_n",
        "NULL::HUGEINT AS bytes_sum",
        "NULL::BIGINT AS db_ms_n",
        "NULL::DOUBLE AS db_ms_sum",
        "NULL::BIGINT AS db_queries_n",
        "NULL::HUGEINT AS db_queries_sum",
        "NULL::TIMESTAMPTZ AS first_ts",
        "NULL::TIMESTAMPTZ AS last_ts",
        "NULL::VARCHAR AS example_path",
    ]
    backend = "backend" if has["backend"] else "NULL::VARCHAR"
    keys = ["hr", "kid", "hu", "status", "bucket", "sec", "mu", "pu", "rl", "pi"]
    casts = {
        "hr": "BIGINT",
        "kid": "INTEGER",
        "hu": "UBIGINT",
        "status": "SMALLINT",
        "bucket": "SMALLINT",
        "sec": "BIGINT",
        "mu": "VARCHAR",
        "pu": "VARCHAR",
        "rl": "BIGINT",
        "pi": "INTEGER",
    }

    def branch(name: str, used: list[str], aggs: list[str], where: str, top: str = "NULL::BIGINT") -> str:
        cols = [k if k in used else f"NULL::{casts[k]} AS {k}" for k in keys]
        flags = [f"{g == name} AS g_{g}" for g in ("hour", "second", "new", "piece")]
        bk = f"{backend} AS backend" if name == "hour" else "NULL::VARCHAR AS backend"
        group = ", ".join(used + (["backend"] if name == "hour" and has["backend"] else []))
        return (
            f"SELECT {', '.join(flags)}, false AS bad, {', '.join(cols)}, {bk}, {', '.join(aggs)}, {top} AS top "
            f"FROM x WHERE {where} GROUP BY {group}"
        )

    rows = f"""SELECT r.bad, r.line_no, r.ts, epoch_us(r.ts) // {3_600_000_000} AS hr,
                      CASE WHEN m.kid IS NULL OR m.routed THEN epoch_us(r.ts) // 1000000 END AS sec, m.kid,
                      CASE WHEN m.kid IS NULL OR m.unmatched THEN r.path END AS ex,
                      CASE WHEN m.kid IS NULL THEN r.h END AS hu, r.method AS mu, r.path AS pu,
                      CASE WHEN r.bad THEN r.line_no END AS rl, {piece} AS pi, r.status, r.bucket, r.bytes
                      {"".join(f", r.{c}" for c in opt)}
               FROM ({rows_sql}) r LEFT JOIN _fp_map m ON m.h = r.h"""
    return f"""WITH x AS ({rows})
        {branch("hour", ["hr", "kid", "hu", "status", "bucket"], agg, "NOT bad")}
        UNION ALL {branch("second", ["sec", "kid", "hu"], ["count(*) AS n", *none], "NOT bad AND sec IS NOT NULL")}
        UNION ALL {branch("new", ["hu", "mu", "pu"], ["count(*) AS n", *none], "NOT bad AND hu IS NOT NULL")}
        UNION ALL {branch("piece", ["pi", "rl"], ["count(*) AS n", *none], "true", "max(line_no)")}"""


class _Run:
    """The attribution and the partial aggregates of one run, in temporary tables."""

    TABLES = (
        "_fp_t",
        "_fp_refused",
        "_fp_g",
        "_fp_new",
        "_fp_shapes",
        "_fp_newkeys",
        "_fp_map",
        "_fp_keys",
        "_fp_matched",
        "_fp_agg",
        "_fp_sec",
        "_fp_bad",
        "_fp_head",
        "_fp_hours",
        "_fp_part",
        "_fp_sources",
        "_fp_rejects",
        "_fp_sample",
    )

    def __init__(self, con: duckdb.DuckDBPyConnection, warnings: list[str]):
        self.con = con
        self.plan = A.plan(con, warnings)
        self.warnings = warnings
        self.timings: dict[str, float] = {}
        self.chunk = 0  # chunks read so far (the pairs of _fp_map remember the chunk that brought them)
        self.chunks = {"streamed": 0, "tabled": 0}
        self.compact_at = COMPACT_ROWS  # rows of _fp_agg past which its partials are added up
        # every (method, path) pair seen: its hash, the id of its rollup key, whether that key is not 'matched'
        # (its rows keep their smallest path), whether it has a route (its rows count for the busiest second)
        # and the chunk it came in
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_map (h UBIGINT, method VARCHAR, path VARCHAR, kid INTEGER, "
            "unmatched BOOLEAN, routed BOOLEAN, born INTEGER)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_keys (kid INTEGER, kh UBIGINT, method VARCHAR, route VARCHAR, "
            "route_framework VARCHAR, match VARCHAR, shape VARCHAR)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_matched (method VARCHAR, shape VARCHAR, match VARCHAR, route VARCHAR, "
            "route_framework VARCHAR)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_agg (hr BIGINT, kid INTEGER, backend VARCHAR, status SMALLINT, "
            "bucket SMALLINT, n BIGINT, bytes_n BIGINT, bytes_sum HUGEINT, db_ms_n BIGINT, db_ms_sum DOUBLE, "
            "db_queries_n BIGINT, db_queries_sum HUGEINT, first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ, "
            "example_path VARCHAR)"
        )
        con.execute("CREATE OR REPLACE TEMP TABLE _fp_sec (sec BIGINT, kid INTEGER, n BIGINT)")
        for name, table in (("_fp_sources", "sources"), ("_fp_rejects", "rejects"), ("_fp_sample", "requests")):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {table} LIMIT 0")

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Add the seconds the block takes to `timings[step]` (what `bench/onepass.py --steps` prints)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - t

    def group(self, rows_sql: str, opt: list[str], params: dict, pieces: list[tuple[int, int]] | None) -> None:
        """One statement over the rows of `rows_sql` (`_narrow`'s columns), joined to the key ids of the pairs
        seen before, with four aggregations of them side by side (`_grouped_sql`): per (hour, key, backend,
        status, latency bucket) the counts, sums, first and last timestamps and the smallest path; per (second,
        key) the requests; the pairs not seen before (their rows are grouped by the pair's hash instead of a key
        id, and given one once attributed); and per piece (`pieces`: the line ranges of the pieces the CSV
        reader read) the records, to check its line numbers, and the line numbers of the refused rows. The result
        waits in _fp_g for `settle`."""
        con = self.con
        self.chunk += 1
        piece = "NULL"
        if pieces:
            piece = "CASE " + " ".join(f"WHEN line_no <= {hi} THEN {i}" for i, (_, hi) in enumerate(pieces)) + " END"
        with self.timed("aggregate"):
            # the map is the join's build side: DuckDB cannot estimate a pipe's rows and would build on them
            con.execute("SET disabled_optimizers = 'build_side_probe_side'")
            try:
                _run(con, f"CREATE OR REPLACE TEMP TABLE _fp_g AS {_grouped_sql(rows_sql, opt, piece)}", params)
            finally:
                con.execute("RESET disabled_optimizers")

    def settle(self, pieces: list[tuple[int, int]] | None) -> bool:
        """After `group`: the checks, the attribution of the new pairs and the partials of the chunk added.
        Returns False (nothing added) when a piece's numbers cannot be trusted or two new pairs share a hash:
        then the caller reads the chunk again by the line reader, through a table."""
        con = self.con
        if pieces:
            got = dict(con.execute("SELECT pi, [sum(n), max(top)] FROM _fp_g WHERE g_piece GROUP BY pi").fetchall())
            want = {i: [hi - lo + 1, hi] for i, (lo, hi) in enumerate(pieces) if lo <= hi}
            if {i: list(v) for i, v in got.items() if i is not None} != want:
                return False
        new = "FROM _fp_g WHERE g_new AND NOT bad AND hu IS NOT NULL"
        if _scalar(con, f"SELECT count(*) - count(DISTINCT hu) {new}"):
            return False
        with self.timed("fold"):
            con.execute("""INSERT INTO _fp_agg
                SELECT hr, kid, backend, status, bucket, n, bytes_n, bytes_sum, db_ms_n, db_ms_sum, db_queries_n,
                       db_queries_sum, first_ts, last_ts, example_path
                FROM _fp_g WHERE g_hour AND NOT bad AND hu IS NULL""")
            con.execute("INSERT INTO _fp_sec SELECT sec, kid, n FROM _fp_g WHERE g_second AND NOT bad AND hu IS NULL")
            con.execute(f"CREATE OR REPLACE TEMP TABLE _fp_new AS SELECT hu AS h, mu AS method, pu AS path {new}")
        with self.timed("attribute"):
            self.attribute()
        with self.timed("fold"):
            # rows of the new pairs, now attributed (a pair that shares its hash with an older one is the new one)
            con.execute(f"""INSERT INTO _fp_agg
                SELECT g.hr, m.kid, g.backend, g.status, g.bucket, g.n, g.bytes_n, g.bytes_sum, g.db_ms_n,
                       g.db_ms_sum, g.db_queries_n, g.db_queries_sum, g.first_ts, g.last_ts, g.example_path
                FROM _fp_g g JOIN _fp_map m ON m.h = g.hu AND m.born = {self.chunk}
                WHERE g.g_hour AND NOT g.bad AND g.hu IS NOT NULL""")
            con.execute(f"""INSERT INTO _fp_sec SELECT g.sec, m.kid, g.n
                FROM _fp_g g JOIN _fp_map m ON m.h = g.hu AND m.born = {self.chunk}
                WHERE g.g_second AND NOT g.bad AND g.hu IS NOT NULL""")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _fp_bad AS SELECT rl AS line_no FROM _fp_g WHERE g_piece AND rl IS NOT NULL"
            )
            con.execute("DROP TABLE _fp_g")
            # added up when they have doubled since the last time: each row is rewritten a bounded number of times
            if _scalar(con, "SELECT count(*) FROM _fp_agg") > self.compact_at:
                con.execute(f"""CREATE OR REPLACE TEMP TABLE _fp_agg AS
                    SELECT hr, kid, backend, status, bucket, {", ".join(_SUMS)}
                    FROM _fp_agg GROUP BY hr, kid, backend, status, bucket""")
                self.compact_at = max(COMPACT_ROWS, 2 * _scalar(con, "SELECT count(*) FROM _fp_agg"))
        return True

    def attribute(self) -> None:
        """Key ids for the pairs of _fp_new: shapes for their paths, matches for the (method, shape) pairs not
        matched before, a new key id for each key not seen before; then _fp_map with them."""
        con = self.con
        if not _scalar(con, "SELECT count(*) FROM _fp_new"):
            return
        shapes = (
            f"SELECT {self.plan.shape_select} (SELECT DISTINCT path FROM _fp_new WHERE method IS NOT NULL "
            "AND path IS NOT NULL))"
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _fp_shapes AS {shapes}", self.plan.shape_params)
        todo = con.execute(
            "SELECT n.method, s.shape, min(n.path) FROM _fp_new n JOIN _fp_shapes s USING (path) "
            "ANTI JOIN _fp_matched m ON m.method = n.method AND m.shape = s.shape GROUP BY ALL"
        ).fetchall()
        if todo:
            outcomes = self.plan.outcomes([(m, p) for m, _, p in todo], self.warnings)
            frame = pd.DataFrame(
                [(m, s, *o) for (m, s, _), o in zip(todo, outcomes)],
                columns=["method", "shape", "match", "route", "route_framework"],
            )
            con.register("_fp_outcomes", frame.astype("string"))
            try:
                con.execute("INSERT INTO _fp_matched SELECT * FROM _fp_outcomes")
            finally:
                con.unregister("_fp_outcomes")
        # each new pair's rollup key, as attribute + rollup give it: a pair without method or path is unmatched
        # with no shape, a matched pair has no shape; key ids through a hash of the key (its columns may be NULL)
        kh = "hash(method, route, route_framework, match, shape)"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _fp_newkeys AS
            SELECT h, method, path, {kh} AS kh, route, route_framework, match, shape
            FROM (SELECT n.h, n.method, n.path, m.route, m.route_framework, coalesce(m.match, 'unmatched') AS match,
                         CASE WHEN m.match <> 'matched' THEN m.shape END AS shape
                  FROM _fp_new n LEFT JOIN _fp_shapes s USING (path)
                  LEFT JOIN _fp_matched m ON m.method = n.method AND m.shape = s.shape)""")
        con.execute("""INSERT INTO _fp_keys
            SELECT (SELECT coalesce(max(kid), 0) FROM _fp_keys) + row_number() OVER (), *
            FROM (SELECT DISTINCT kh, method, route, route_framework, match, shape FROM _fp_newkeys) n
            ANTI JOIN _fp_keys k USING (kh)""")
        if _scalar(con, "SELECT count(*) - count(DISTINCT kh) FROM _fp_keys"):
            raise RuntimeError("two rollup keys share a hash")  # (a 64-bit hash over a few thousand keys)
        con.execute(f"""INSERT INTO _fp_map
                        SELECT n.h, n.method, n.path, k.kid, k.match <> 'matched', k.route IS NOT NULL, {self.chunk}
                        FROM _fp_newkeys n JOIN _fp_keys k USING (kh)""")
        for t in ("_fp_new", "_fp_shapes", "_fp_newkeys"):
            con.execute(f"DROP TABLE {t}")

    def write(self) -> None:
        """The partials of the run folded into the rollup key and merged into the rollup tables: inserted as
        they are into hours the tables do not hold yet, added to what is there for the others (`rollup.MERGE`)."""
        from strangler import rollup as R

        con = self.con
        k = ", ".join(f"k.{c}" for c in KEY)
        hour = "to_timestamp(a.hr * 3600)"
        method = routes_mod.counted_method_sql("k.method", "h.rule IS NOT NULL")
        parts = {
            "rollups": f"""
                SELECT {hour} AS hour, {k}, a.backend, a.status, a.requests, a.bytes_n, a.bytes_sum, a.duration_n,
                       a.db_ms_n, a.db_ms_sum, a.db_queries_n, a.db_queries_sum, a.first_ts, a.last_ts,
                       CASE WHEN k.match <> 'matched' THEN a.example_path END AS example_path
                FROM (SELECT hr, kid, backend, status, sum(n)::BIGINT AS requests, sum(bytes_n)::BIGINT AS bytes_n,
                             sum(bytes_sum)::BIGINT AS bytes_sum,
                             coalesce(sum(n) FILTER (WHERE bucket IS NOT NULL), 0)::BIGINT AS duration_n,
                             sum(db_ms_n)::BIGINT AS db_ms_n, sum(db_ms_sum) AS db_ms_sum,
                             sum(db_queries_n)::BIGINT AS db_queries_n, sum(db_queries_sum)::BIGINT AS db_queries_sum,
                             min(first_ts) AS first_ts, max(last_ts) AS last_ts, min(example_path) AS example_path
                      FROM _fp_agg GROUP BY ALL) a JOIN _fp_keys k USING (kid)""",
            "rollup_latency": f"""
                SELECT {hour} AS hour, {k}, a.backend, a.status, a.bucket, a.n
                FROM (SELECT hr, kid, backend, status, bucket, sum(n)::BIGINT AS n FROM _fp_agg
                      WHERE bucket IS NOT NULL GROUP BY ALL) a JOIN _fp_keys k USING (kid)""",
            "rollup_peaks": f"""
                SELECT to_timestamp(sec // 3600 * 3600) AS hour, route_framework, route, route_method,
                       max(n)::BIGINT AS peak_rps
                FROM (SELECT s.sec, k.route_framework, k.route, {method} AS route_method, sum(s.n) AS n
                      FROM (SELECT sec, kid, sum(n) AS n FROM _fp_sec WHERE sec IS NOT NULL GROUP BY ALL) s
                      JOIN _fp_keys k USING (kid)
                      LEFT JOIN (SELECT DISTINCT framework, rule FROM routes WHERE method = 'HEAD') h
                             ON h.framework = k.route_framework AND h.rule = k.route
                      WHERE k.route IS NOT NULL
                      GROUP BY ALL)
                GROUP BY ALL""",
        }
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_hours AS SELECT DISTINCT to_timestamp(hr * 3600) AS hour FROM _fp_agg"
        )
        in_hours = (
            "hour IN (SELECT hour FROM _fp_hours) OR (hour IS NULL AND (SELECT bool_or(hour IS NULL) FROM _fp_hours))"
        )
        for table, part in parts.items():
            if not _scalar(con, f"SELECT count(*) FROM {table} WHERE {in_hours}"):
                con.execute(f"INSERT INTO {table} {part} ORDER BY hour")
                continue
            con.execute(f"CREATE OR REPLACE TEMP TABLE _fp_part AS SELECT * FROM {table} LIMIT 0")
            con.execute(f"INSERT INTO _fp_part {part}")
            con.execute(f"INSERT INTO _fp_part SELECT * FROM {table} WHERE {in_hours}")
            con.execute(f"DELETE FROM {table} WHERE {in_hours}")
            con.execute(f"INSERT INTO {table} {R.MERGE[table].format(rows='SELECT * FROM _fp_part')} ORDER BY hour")

    def drop(self) -> None:
        for t in self.TABLES:
            self.con.execute(f"DROP TABLE IF EXISTS {t}")


def _grouped(tables: Iterable[pa.Table], min_bytes: int) -> Iterator[pa.Table]:
    """The robust reader's 16 MB tables joined into chunks of at least `min_bytes` of lines."""
    buf: list[pa.Table] = []
    size = 0
    for table in tables:
        buf.append(table)
        size += table["line"].nbytes
        if size >= min_bytes:
            yield pa.concat_tables(buf)
            buf, size = [], 0
    if buf:
        yield pa.concat_tables(buf)


def _present(cols: dict[str, str] | None, fmt: F.Format) -> set[str]:
    """The optional rollup columns a row query of the format fills (all of them for a format of spans)."""
    if fmt.spans:
        return set(OPTIONAL)
    return {c for c in OPTIONAL if (cols or {}).get(c, "NULL") != "NULL"}


class _File:
    """Reading one file into the run's partials: its counts, and how to read its lines again for rejects."""

    def __init__(self, run: _Run, fmt: F.Format, params: dict):
        self.run, self.con, self.fmt, self.params = run, run.con, fmt, params
        self.rows = self.rejects = self.lines = 0

    def _rejects(self, sql: str) -> int:
        """Run one of ingest's rejects statements into _fp_rejects; returns how many it added."""
        con = self.con
        before = _scalar(con, "SELECT count(*) FROM _fp_rejects")
        _run(con, _on(sql, "INSERT INTO rejects SELECT", "INSERT INTO _fp_rejects SELECT"), self.params)
        return _scalar(con, "SELECT count(*) FROM _fp_rejects") - before

    def streamed(self, content: ingest._Content, sub: ingest._Scan, ranges: list[tuple[int, int]], last: int) -> bool:
        """A chunk of a clean plain file straight from DuckDB's CSV reader into the aggregates (no table of
        rows); its rejects from the line numbers the aggregation gave. False when the CSV reader's line numbers
        cannot be trusted (nothing added)."""
        fmt, run = self.fmt, self.run
        checks = [(lo, min(hi, last)) for lo, hi in ranges]
        try:
            with ingest._Feed(content, sub) as pieces:
                sql, opt = _narrow(fmt, _columns_sql(fmt, pieces), _present(fmt.csv_columns, fmt), ok="ok")
                run.group(sql, opt, self.params, checks)
        except duckdb.Error:  # what the CSV reader cannot split, the lines reader reads (as ingest)
            run.chunk -= 1
            return False
        if not run.settle(checks):
            run.chunk -= 1
            return False
        lines = sum(hi - lo + 1 for lo, hi in ranges)
        # the refused rows, and a last line with no newline (the CSV reader leaves it out)
        self.con.execute(
            f"INSERT INTO _fp_bad SELECT {ranges[-1][1]} WHERE {ranges[-1][1]} > {last} AND {ranges[-1][1]} >= {ranges[-1][0]}"
        )
        if fmt.csv_partial and _scalar(self.con, "SELECT count(*) FROM _fp_bad"):
            self._partial(content, sub, ranges)
        bad = _scalar(self.con, "SELECT count(*) FROM _fp_bad")
        rejects = 0
        if bad:
            with run.timed("rejects"):
                short = [
                    i
                    for i, (lo, hi) in enumerate(ranges)
                    if _scalar(self.con, f"SELECT count(*) FROM _fp_bad WHERE line_no BETWEEN {lo} AND {hi}")
                ]
                piece_scan = ingest._Scan(sub.newlines, True, sub.tail, [sub.pieces[i] for i in short])
                with ingest._Feed(content, piece_scan) as pieces:
                    src = ingest._csv_source(pieces)
                    sql = _on(
                        ingest._rejects_sql(fmt, src),
                        "ANTI JOIN (SELECT line_no FROM requests WHERE source_id = $sid "
                        "AND line_no BETWEEN $lo AND $hi) r",
                        "SEMI JOIN _fp_bad r",
                    )
                    rejects = self._rejects(sql)
        if rejects != bad:
            raise RuntimeError(f"line accounting broke in a chunk ({bad} lines refused, {rejects} rejects)")
        self.rows += lines - rejects
        self.rejects += rejects
        self.lines += lines
        run.chunks["streamed"] += 1
        return True

    def _partial(self, content: ingest._Content, sub: ingest._Scan, ranges: list[tuple[int, int]]) -> None:
        """A declared layout: the lines its columns refused, read by the line reader; those that are requests
        there are aggregated (through a table), the others stay in _fp_bad as rejects."""
        con, run, fmt = self.con, self.run, self.fmt
        con.execute("CREATE OR REPLACE TEMP TABLE _fp_refused AS SELECT line_no FROM _fp_bad")
        which = [
            i
            for i, (lo, hi) in enumerate(ranges)
            if _scalar(con, f"SELECT count(*) FROM _fp_refused WHERE line_no BETWEEN {lo} AND {hi}")
        ]
        with ingest._Feed(content, ingest._Scan(sub.newlines, True, sub.tail, [sub.pieces[i] for i in which])) as pc:
            src = f"SELECT s.* FROM ({ingest._csv_source(pc)}) s SEMI JOIN _fp_refused USING (line_no)"
            sql, opt = _narrow(fmt, _select(ingest._rows_sql(fmt, src), "requests"), _present(fmt.columns, fmt))
            _run(con, f"CREATE OR REPLACE TEMP TABLE _fp_t AS {sql}", self.params)
        run.group("SELECT * FROM _fp_t", opt, self.params, None)
        if not run.settle(None):
            raise StranglerError(_COLLISION)
        con.execute("""CREATE OR REPLACE TEMP TABLE _fp_bad AS SELECT line_no FROM _fp_refused
                       ANTI JOIN (SELECT line_no FROM _fp_t WHERE NOT bad) USING (line_no)""")
        con.execute("DROP TABLE _fp_t")
        con.execute("DROP TABLE _fp_refused")

    def tabled(self, rows_sql: str, present: set[str], ranges: list[tuple[int, int]], lines_src, more=None) -> None:
        """A chunk through a table of its rows (the line reader's, or the robust reader's): the rejects are the
        lines of a range that did not become rows (from `lines_src(indexes)`, a context giving those ranges'
        lines as SQL); `more(opt)` may add rows first (a declared layout's lines its columns path left)."""
        con, run, fmt = self.con, self.run, self.fmt
        with run.timed("parse"):
            sql, opt = _narrow(fmt, _select(rows_sql, "requests"), present)
            _run(con, f"CREATE OR REPLACE TEMP TABLE _fp_t AS {sql}", self.params)
            if more is not None:
                more(opt)
        with_rows = "count(DISTINCT line_no)" if fmt.spans else "count(*)"
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE NOT bad), "
            + ", ".join(f"{with_rows} FILTER (WHERE NOT bad AND line_no BETWEEN {lo} AND {hi})" for lo, hi in ranges)
            + " FROM _fp_t"
        ).fetchall()[0]
        rows, per_range = counts[0], counts[1:]
        short = [i for i, ((lo, hi), n) in enumerate(zip(ranges, per_range)) if n < hi - lo + 1]
        rejects = 0
        if short:
            with run.timed("rejects"), lines_src(short) as src:
                rejects = self._rejects(
                    _on(
                        ingest._rejects_sql(fmt, src),
                        "SELECT line_no FROM requests WHERE source_id = $sid ",
                        "SELECT line_no FROM _fp_t WHERE NOT bad AND $sid = $sid ",
                    )
                )
        lines = sum(hi - lo + 1 for lo, hi in ranges)
        if sum(per_range) + rejects != lines:
            raise RuntimeError(
                f"line accounting broke in a chunk ({sum(per_range)} lines with rows + {rejects} rejects != {lines})"
            )
        run.group("SELECT * FROM _fp_t", opt, self.params, None)
        if not run.settle(None):
            raise StranglerError(_COLLISION)
        con.execute("DROP TABLE _fp_t")
        run.chunks["tabled"] += 1
        self.rows += rows
        self.rejects += rejects
        self.lines += lines


def _head_scan(content: ingest._Content, scan: ingest._Scan, size: int) -> ingest._Scan | None:
    """A scan of the file's first `size` bytes cut after the last newline in them (None when that reaches the
    end of the file's complete lines: then the whole file is the head)."""
    if size >= content.size - scan.tail:
        return None
    with open(content.path, "rb") as f:
        head = f.read(size)
    cut = head.rfind(b"\n") + 1
    if cut <= 0:
        return None
    return ingest._Scan(head.count(b"\n"), True, 0, [(0, cut, 0)])


def _sample_plain(run: _Run, fmt: F.Format, params: dict, content: ingest._Content, scan: ingest._Scan) -> None:
    """The first SAMPLE requests of a plain file with every column, attributed, into _fp_sample: its head read
    again by the line reader (HEAD_BYTES, doubled while it holds too few requests)."""
    con = run.con
    size = HEAD_BYTES
    while True:
        head = _head_scan(content, scan, size)
        use = head or scan
        with ingest._Feed(content, use) as pieces:
            rows = _select(ingest._rows_sql(fmt, ingest._csv_source(pieces)), "requests")
            _run(con, f"CREATE OR REPLACE TEMP TABLE _fp_head AS {rows}", {**params, "last": use.newlines})
        con.execute(f"DELETE FROM _fp_head WHERE {P.bad_row(fmt)}")
        if head is None or _scalar(con, "SELECT count(*) FROM _fp_head") >= SAMPLE:
            break
        size *= 2
    _insert_sample(run, params, SAMPLE)


def _sample_lines(run: _Run, fmt: F.Format, params: dict, src: str, lo: int, hi: int) -> bool:
    """The robust reader's chunk (lines `lo`..`hi` of `src`): its first requests into the sample, up to SAMPLE
    for the file; reads the first lines again with every column (2 * SAMPLE lines, doubled while too few).
    Returns whether the sample is full."""
    con, sid = run.con, params["sid"]
    need = SAMPLE - _scalar(con, "SELECT count(*) FROM _fp_sample WHERE source_id = ?", [sid])
    n = 2 * SAMPLE
    while True:
        head = f"SELECT * FROM ({src}) WHERE line_no < {lo + n}"
        _run(
            con, f"CREATE OR REPLACE TEMP TABLE _fp_head AS {_select(ingest._rows_sql(fmt, head), 'requests')}", params
        )
        con.execute(f"DELETE FROM _fp_head WHERE {P.bad_row(fmt)}")
        if lo + n > hi or _scalar(con, "SELECT count(*) FROM _fp_head") >= need:
            break
        n *= 2
    _insert_sample(run, params, need)
    return _scalar(con, "SELECT count(*) FROM _fp_sample WHERE source_id = ?", [sid]) >= SAMPLE


def _insert_sample(run: _Run, params: dict, limit: int) -> None:
    """_fp_head's first `limit` rows, attributed through the run's map, into _fp_sample."""
    _run(
        run.con,
        f"INSERT INTO _fp_sample ({COLS}, route, route_framework, match, source_id, line_no) "
        f"SELECT {', '.join('q.' + c for c in ingest.REQUEST_COLUMNS)}, k.route, k.route_framework, "
        "coalesce(k.match, 'unmatched'), $sid, q.line_no "
        f"FROM (SELECT * FROM _fp_head ORDER BY line_no LIMIT {int(limit)}) q "
        "LEFT JOIN _fp_map m ON m.h = hash(q.method, q.path) AND m.method IS NOT DISTINCT FROM q.method "
        "AND m.path IS NOT DISTINCT FROM q.path LEFT JOIN _fp_keys k USING (kid) ORDER BY q.line_no",
        params,
    )
    run.con.execute("DROP TABLE IF EXISTS _fp_head")


def _scan(content: ingest._Content, threads: int) -> ingest._Scan:
    """`ingest._prescan` of a plain file cut for the chunks: a first chunk of FIRST_BYTES (its pairs are all
    new, so its rows are grouped by pair), then chunks of up to CHUNK_BYTES, each in 2 pieces per thread."""
    size = content.path.stat().st_size
    per = 2 * threads
    first = min(size, FIRST_BYTES)
    offsets = [first * i // per for i in range(per)]
    rest = size - first
    chunks = -(-rest // CHUNK_BYTES) if rest > 0 else 0
    offsets += [first + rest * i // (chunks * per) for i in range(chunks * per)] if chunks else []
    cuts = [0]
    with open(content.path, "rb") as f:
        for off in offsets[1:]:
            f.seek(off)
            f.readline()
            if cuts[-1] < f.tell() < size:
                cuts.append(f.tell())
    cuts.append(size)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda lo_hi: ingest._count_piece(content.path, *lo_hi), zip(cuts, cuts[1:])))
    content.size = size
    nl = sum(p.nl for p in parts)
    cr = sum(p.cr for p in parts)
    crlf = sum(p.crlf for p in parts)
    clean = sum(p.nul for p in parts) == 0 and (cr == 0 or cr == crlf == nl)
    before = [sum(p.nl for p in parts[:i]) for i in range(len(parts))]
    return ingest._Scan(nl, clean, parts[-1].tail, list(zip(cuts, cuts[1:], before)))


def _plain(run: _Run, fp: _File, content: ingest._Content, scan: ingest._Scan, threads: int) -> None:
    """A clean plain file, chunk by chunk (`_scan`): streamed where the format has columns for the CSV reader,
    else (or when the CSV reader's line numbers cannot be trusted: it skips blank lines, and joins lines around
    an unbalanced quote) through a table of the line reader's rows."""
    fmt, params = fp.fmt, fp.params
    first = min(content.size, FIRST_BYTES)
    groups: list[list[tuple[int, int, int]]] = []
    for p in scan.pieces:  # the first chunk's pieces, then 2 per thread
        if groups and (len(groups[-1]) < 2 * threads) and (p[0] < first) == (groups[-1][0][0] < first):
            groups[-1].append(p)
        else:
            groups.append([p])
    total = params["hi"]
    for k, group in enumerate(groups):
        sub = ingest._Scan(scan.newlines, True, scan.tail, group)
        after = groups[k + 1][0][2] if k + 1 < len(groups) else total
        ends = [g[2] for g in group[1:]] + [after]  # each piece's lines: up to the next piece's first
        ranges = [(g[2] + 1, hi) for g, hi in zip(group, ends)]

        @contextmanager
        def lines_src(which: list[int], group=group) -> Iterator[str]:
            with ingest._Feed(content, ingest._Scan(scan.newlines, True, scan.tail, [group[i] for i in which])) as pc:
                yield ingest._csv_source(pc)

        if fmt.csv_columns and fp.streamed(content, sub, ranges, scan.newlines):
            continue
        with ingest._Feed(content, sub) as pieces:
            fp.tabled(ingest._rows_sql(fmt, ingest._csv_source(pieces)), _present(fmt.columns, fmt), ranges, lines_src)


def _robust(run: _Run, fp: _File, content: ingest._Content) -> int:
    """A gzip file, a windowed format or a file that is not clean: the robust reader's blocks in chunks.
    Returns the bytes of complete lines read."""
    fmt, con, params = fp.fmt, fp.con, fp.params
    reader = ingest._Lines(content, 0, 1)
    src = "SELECT line_no, line, flag FROM _strangler_chunk"
    sampled = False
    # the spans of one request may sit on other lines: such a file is one chunk (as ingest reads it whole)
    for table in _grouped(reader, 1 << 62 if fmt.spans else CHUNK_BYTES // 2):
        con.register("_strangler_chunk", table)
        try:
            lo, hi = table["line_no"][0].as_py(), table["line_no"][-1].as_py()
            params.update(lo=lo, hi=hi)
            fp.tabled(ingest._rows_sql(fmt, src), _present(fmt.columns, fmt), [(lo, hi)], lambda _: nullcontext(src))
            if not sampled:  # the first requests are in the first chunks
                with run.timed("sample"):
                    sampled = _sample_lines(run, fmt, params, src, lo, hi)
            if fmt.windowed:
                last = con.execute(
                    "SELECT line FROM _strangler_chunk WHERE starts_with(line, '#Fields:') ORDER BY line_no DESC LIMIT 1"
                ).fetchall()
                if last:
                    params["w3c_fields"] = last[0][0].rstrip("\r")
        finally:
            con.unregister("_strangler_chunk")
    return reader.complete_bytes


def _file(run: _Run, path: Path, explicit: bool, fmt_name: str, fmts: dict[str, F.Format], tz: str) -> dict:
    """Read one file into the run's temporary tables; returns its summary row."""
    con = run.con
    t0 = time.perf_counter()
    row = ingest._summary_row(path)
    content = ingest._Content(path)
    head = content.head(ingest.HEAD)
    fingerprint = ingest._fingerprint(head)
    if ingest._find_source(con, head, path) is not None:
        row.update(
            note="unchanged: read before (a file that grew: use `strangler ingest`)", seconds=time.perf_counter() - t0
        )
        return row
    with run.timed("detect"):
        name, chosen = ingest._choose_format(con, content, head, fmt_name, fmts, tz, explicit)
    fmt = fmts[name]
    sid = int(
        _scalar(
            con,
            "SELECT coalesce(max(source_id), 0) + 1 FROM (SELECT source_id FROM sources UNION ALL "
            "SELECT source_id FROM _fp_sources)",
        )
    )
    params: dict = {"sid": sid, "tz": tz, "w3c_fields": None, "path": str(path)}
    fp = _File(run, fmt, params)
    threads = int(_scalar(con, "SELECT current_setting('threads')"))
    # a gzip stream cannot be cut into pieces: its 16 MB blocks go through the robust reader, so that a big .gz
    # never becomes one chunk in memory
    plain = not fmt.windowed and not fmt.spans and not content.gz
    with run.timed("prescan"):
        scan = _scan(content, threads) if plain else None
    if scan is not None and scan.clean:
        total = scan.newlines + (0 if scan.ends_with_newline else 1)
        params.update(last=scan.newlines, lo=1, hi=total)
        _plain(run, fp, content, scan, threads)
        with run.timed("sample"):
            _sample_plain(run, fmt, params, content, scan)
        complete = content.size - scan.tail
    else:
        complete = _robust(run, fp, content)
    con.execute(
        "INSERT INTO _fp_sources BY NAME SELECT ? AS source_id, ? AS path, ? AS format, ? AS chosen, ? AS lines, "
        "? AS rows, ? AS rejects, ? AS fingerprint, ? AS bytes_read, ? AS seconds, now() AS ingested_at, ? AS layout",
        [
            sid,
            str(path),
            fmt.name,
            chosen,
            fp.lines,
            fp.rows,
            fp.rejects,
            fingerprint,
            complete,
            time.perf_counter() - t0,
            fmt.layout,
        ],
    )
    secs = time.perf_counter() - t0
    row.update(format=name, lines=fp.lines, rows=fp.rows, rejects=fp.rejects, seconds=secs, note="new; rolled up")
    row["lines/s"] = row["lines"] / secs if secs > 0 else 0.0
    return row


def run(
    con: duckdb.DuckDBPyConnection, paths: list[str], fmt: str | F.Format = "auto", tz: str | None = None
) -> FastResult:
    """Read the logs at `paths` straight into the rollups (see the module docstring). `fmt` as for `ingest`: a
    format's name, a declared layout ('nginx:...') or a `formats.Format`."""
    started = time.perf_counter()
    declared = layouts.declared(fmt) if isinstance(fmt, str) and layouts.is_declared(fmt) else fmt
    name = declared.name if isinstance(declared, F.Format) else F.resolve(str(fmt))
    fmts = {**F.FORMATS, name: declared} if isinstance(declared, F.Format) else F.FORMATS
    zone = tz or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise StranglerError(f"unknown time zone {tz!r}; use an IANA name such as Europe/Paris or UTC") from None
    if not _scalar(con, "SELECT count(*) FROM routes"):
        raise StranglerError("no routes to attribute the requests with: run `strangler routes` first")
    con.execute(dbm.ROLLUP_SCHEMA)
    files, errors = ingest.expand(paths)
    rows: list[dict] = []
    warnings: list[str] = []
    limit = _scalar(con, "SELECT current_setting('memory_limit')")
    con.execute(f"SET memory_limit = '{ingest.MEMORY_LIMIT}'")
    state = _Run(con, warnings)
    try:
        for path, explicit in files:
            try:
                rows.append(_file(state, path, explicit, name, fmts, zone))
            except ingest._Unreadable as exc:
                if exc.explicit:
                    errors.append(f"{path}: {exc}")
                rows.append(ingest._summary_row(path, note=f"{'error' if exc.explicit else 'skipped'}: {exc}"))
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror or exc}")
                rows.append(ingest._summary_row(path, note=f"error: {exc.strerror or exc}"))
        # one transaction for the run: the sources, their rejects and samples and the merged rollups land
        # together (a run killed before this point leaves nothing, and running it again reads everything)
        with state.timed("write"):
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("INSERT INTO sources SELECT * FROM _fp_sources")
                con.execute("INSERT INTO rejects SELECT * FROM _fp_rejects")
                con.execute("INSERT INTO requests SELECT * FROM _fp_sample")
                state.write()
                con.execute(
                    "INSERT INTO rollup_state (source_id, origin, rows, rolled_at) "
                    "SELECT source_id, 'ingest', rows, current_timestamp FROM _fp_sources"
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    finally:
        state.drop()
        con.execute(f"SET memory_limit = '{limit}'")
    table = pd.DataFrame(rows, columns=ingest.SUMMARY_COLUMNS)
    return FastResult(table, errors, time.perf_counter() - started, state.timings, state.chunks)
