"""Straight to rollups: parse, attribute and aggregate a log in one pass, storing no raw row but rejects and a
sample (`strangler rollup --logs LOG... --db DB`).

Raw rows cost most of an ingest (storing 20 columns per line, then an UPDATE of three per line to attribute
them); the rollups need none of it. Each file is read in chunks with `strangler.ingest`'s own readers and SQL
(a plain file in pieces side by side, fed through pipes and numbered from the newlines before them, DuckDB's CSV
reader splitting the fields; gzip files and files that are not clean in the robust reader's 16 MB blocks), and
each chunk is:

1. parsed into a temporary in-memory table (rows whose timestamp does not parse become rejects, as in ingest);
2. attributed: only the (method, path) pairs not seen before get a shape (`attribute.shape_sql`), and only the
   (method, shape) pairs not seen before are matched by Werkzeug/Starlette (`attribute.matchers`);
3. aggregated with `strangler.rollup`'s own SQL into partial rollups, latency histograms and per-second counts
   (the busiest second of an hour may straddle two chunks, so seconds are counted exactly and maxed at the end);
4. checked for rejects (the lines that did not become rows, with their reason and raw line) and sampled: the
   first SAMPLE rows of each source are kept in `requests` for drill-down.

Everything a run reads waits in temporary tables; at the end, in one transaction, the partials are merged into
`rollups`, `rollup_latency` and `rollup_peaks` (sums, mins and maxes: `rollup.MERGE`; the busiest second of an
hour from the per-second counts of every file of the run), the files are recorded in `sources` (lines = rows +
rejects) and in `rollup_state` with origin 'ingest', so `strangler rollup` leaves them alone, and the rejects and
samples are stored. A run killed half way leaves nothing. A file read before (same fingerprint) is not read again.
"""

from __future__ import annotations

import re
import time
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
from strangler import ingest
from strangler import parse_sql as P
from strangler import rollup as R
from strangler.errors import StranglerError

SAMPLE = 10_000  # raw rows kept per source, for drill-down
CHUNK_BYTES = 96 << 20  # bytes of a plain file parsed and aggregated at a time (one piece per DuckDB thread)
COLS = ", ".join(ingest.REQUEST_COLUMNS)


def _select(insert_sql: str, table: str) -> str:
    """The SELECT of one of ingest's or rollup's INSERT statements (their SQL, not a copy of it)."""
    m = re.match(rf"\s*INSERT INTO {table}(?:\s*\([^)]*\))?\s+(?=SELECT\b)", insert_sql)
    if not m:
        raise RuntimeError(f"expected an INSERT INTO {table} ... SELECT statement")
    return insert_sql[m.end() :]


def _on(sql: str, old: str, new: str) -> str:
    """`sql` reading `new` where it read `old` (exactly once)."""
    if sql.count(old) != 1:
        raise RuntimeError(f"expected {old!r} once in the SQL")
    return sql.replace(old, new)


def _ours(sql: str) -> str:
    """rollup.py's aggregation reading this module's chunk tables instead of `requests` and `path_shapes`."""
    out, n = re.subn(r"\b(FROM|JOIN)\s+requests\b", r"\1 _fp_req", sql)
    out = re.sub(r"\b(FROM|JOIN)\s+path_shapes\b", r"\1 _fp_shapes", out)
    if not n:
        raise RuntimeError("rollup's aggregation no longer reads requests")
    return out


_ROLLUPS = _ours(_select(R._INSERT_ROLLUPS.format(where="TRUE"), "rollups"))
_LATENCY = _ours(_select(R._INSERT_LATENCY.format(where="TRUE"), "rollup_latency"))
# per-second counts: the peaks query without its last max()
_PEAKS = _ours(_select(R._INSERT_PEAKS.format(where="TRUE"), "rollup_peaks"))
_SECONDS = _on(
    _on(_PEAKS, "SELECT hour, route_framework, route, route_method, max(n) FROM (", "SELECT * FROM ("),
    "GROUP BY ALL)\nGROUP BY ALL ORDER BY hour",
    "GROUP BY ALL)",
)


@dataclass
class FastResult:
    """What one run did: one summary row per file (as `ingest`), and the rollups written."""

    table: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        text = str(ingest.IngestResult(self.table, self.errors))
        return text + f"\nrolled up in one pass ({SAMPLE:,} sample rows per source kept); {self.seconds:.1f} s"


class _State:
    """The attribution and the partial aggregates of one file, in temporary tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, warnings: list[str]):
        self.con = con
        self.plan = A.plan(con, warnings)
        self.warnings = warnings
        self.shape_select, self.shape_params = self.plan.shape_select, self.plan.shape_params
        con.execute("CREATE OR REPLACE TEMP TABLE _fp_pairs (method VARCHAR, path VARCHAR, shape VARCHAR)")
        con.execute("CREATE OR REPLACE TEMP TABLE _fp_shapes (path VARCHAR, shape VARCHAR)")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_map (method VARCHAR, shape VARCHAR, match VARCHAR, route VARCHAR, "
            "route_framework VARCHAR)"
        )
        for name, table in (("_fp_rollups", "rollups"), ("_fp_latency", "rollup_latency")):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {table} LIMIT 0")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_seconds (hour TIMESTAMPTZ, route_framework VARCHAR, route VARCHAR, "
            "route_method VARCHAR, second BIGINT, n BIGINT)"
        )
        for name, table in (("_fp_sources", "sources"), ("_fp_rejects", "rejects"), ("_fp_sample", "requests")):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {table} LIMIT 0")

    def attribute(self) -> None:
        """Shapes for the new (method, path) pairs of _fp_rows, matches for the new (method, shape) pairs."""
        con = self.con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fp_new AS SELECT DISTINCT method, path FROM _fp_rows "
            "WHERE method IS NOT NULL AND path IS NOT NULL EXCEPT SELECT method, path FROM _fp_pairs"
        )
        con.execute(
            f"INSERT INTO _fp_pairs SELECT n.method, n.path, s.shape FROM _fp_new n JOIN "
            f"(SELECT {self.shape_select} (SELECT DISTINCT path FROM _fp_new))) s USING (path)",
            self.shape_params,
        )
        keys = con.execute(
            "SELECT p.method, p.shape, min(p.path) FROM _fp_pairs p ANTI JOIN _fp_map m USING (method, shape) "
            "GROUP BY ALL"
        ).fetchall()
        if keys:
            outcomes = self.plan.outcomes([(m, p) for m, _, p in keys], self.warnings)
            out = [(m, s, *o) for (m, s, _), o in zip(keys, outcomes)]
            frame = pd.DataFrame(out, columns=["method", "shape", "match", "route", "route_framework"])
            con.register("_fp_matched", frame.astype("string"))
            try:
                con.execute("INSERT INTO _fp_map SELECT * FROM _fp_matched")
            finally:
                con.unregister("_fp_matched")
        con.execute(
            "INSERT INTO _fp_shapes SELECT DISTINCT n.path, p.shape FROM (SELECT DISTINCT path FROM _fp_new) n "
            "JOIN _fp_pairs p USING (path) ANTI JOIN _fp_shapes s USING (path)"
        )

    def aggregate(self) -> None:
        """The chunk's rows, attributed, added to the partial rollups."""
        con = self.con
        con.execute("""CREATE OR REPLACE TEMP TABLE _fp_req AS
            SELECT r.*, m.route, m.route_framework, coalesce(m.match, 'unmatched') AS match
            FROM _fp_rows r LEFT JOIN _fp_pairs p USING (method, path) LEFT JOIN _fp_map m USING (method, shape)""")
        con.execute(f"INSERT INTO _fp_rollups {_ROLLUPS}")
        con.execute(f"INSERT INTO _fp_latency {_LATENCY}")
        con.execute(
            f"INSERT INTO _fp_seconds SELECT hour, route_framework, route, route_method, second, n FROM ({_SECONDS})"
        )

    def merge(self) -> None:
        """The partials merged into the rollup tables (with what is there for the same hours)."""
        con = self.con
        parts = {
            "rollups": "SELECT * FROM _fp_rollups",
            "rollup_latency": "SELECT * FROM _fp_latency",
            "rollup_peaks": "SELECT hour, route_framework, route, route_method, max(n) AS peak_rps FROM "
            "(SELECT hour, route_framework, route, route_method, second, sum(n) AS n FROM _fp_seconds GROUP BY ALL) "
            "GROUP BY ALL",
        }
        con.execute("CREATE OR REPLACE TEMP TABLE _fp_hours AS SELECT DISTINCT hour FROM _fp_rollups")
        in_hours = (
            "hour IN (SELECT hour FROM _fp_hours) OR (hour IS NULL AND (SELECT bool_or(hour IS NULL) FROM _fp_hours))"
        )
        for table, part in parts.items():
            con.execute(f"CREATE OR REPLACE TEMP TABLE _fp_part AS SELECT * FROM {table} LIMIT 0")
            con.execute(f"INSERT INTO _fp_part {part}")
            con.execute(f"INSERT INTO _fp_part SELECT * FROM {table} WHERE {in_hours}")
            con.execute(f"DELETE FROM {table} WHERE {in_hours}")
            con.execute(f"INSERT INTO {table} {R.MERGE[table].format(rows='SELECT * FROM _fp_part')} ORDER BY hour")

    def drop(self) -> None:
        for t in (
            "_fp_req",
            "_fp_shapes",
            "_fp_pairs",
            "_fp_map",
            "_fp_rollups",
            "_fp_latency",
            "_fp_seconds",
            "_fp_hours",
            "_fp_part",
            "_fp_new",
            "_fp_rows",
            "_fp_sources",
            "_fp_rejects",
            "_fp_sample",
        ):
            self.con.execute(f"DROP TABLE IF EXISTS {t}")


def _grouped(tables, min_bytes: int):
    """The robust reader's 16 MB tables joined into chunks of at least `min_bytes` of lines: every chunk pays a
    dozen statements, so fewer, larger chunks."""
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


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The one value a query gives."""
    return con.execute(sql).fetchall()[0][0]


# the columns the rollups read: once the sample is full, only these are parsed (DuckDB drops the others' work)
ROLLUP_COLUMNS = "ts, method, path, status, bytes, duration_ms, backend, db_ms, db_queries, line_no"


def _create_rows(con: duckdb.DuckDBPyConnection, rows_sql: str, params: dict, full: bool) -> None:
    """_fp_rows from one of ingest's row queries: every request column while the sample is not full, else only
    the columns the rollups read."""
    sql = rows_sql if full else f"SELECT {ROLLUP_COLUMNS} FROM ({rows_sql})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _fp_rows AS {sql}", {k: v for k, v in params.items() if f"${k}" in sql})


def _finish_chunk(
    con, state: _State, fmt: F.Format, params: dict, sampled: int, lines: int, lines_src
) -> tuple[int, int, int]:
    """After _fp_rows holds a chunk's rows: bad timestamps out, rejects (the chunk's lines with no row, read from
    `lines_src()`, a context giving the lines as SQL), attribution, aggregation and the sample.
    Returns (rows, rejects, rows sampled so far)."""
    con.execute(f"DELETE FROM _fp_rows WHERE {P.bad_row(fmt)}")  # rows failing a field check become rejects
    rows = _scalar(con, "SELECT count(*) FROM _fp_rows")
    rejects = 0
    if rows < lines:
        with lines_src() as src:
            sql = _on(
                ingest._rejects_sql(fmt, src),
                "SELECT line_no FROM requests WHERE source_id = $sid ",
                "SELECT line_no FROM _fp_rows WHERE $sid = $sid ",
            )
            rejects = ingest._run(con, _on(sql, "INSERT INTO rejects SELECT", "INSERT INTO _fp_rejects SELECT"), params)
    if rows + rejects != lines:
        raise RuntimeError(f"line accounting broke in a chunk ({rows} rows + {rejects} rejects != {lines} lines)")
    state.attribute()
    state.aggregate()
    if sampled < SAMPLE:
        sampled += ingest._run(
            con,
            f"INSERT INTO _fp_sample ({COLS}, route, route_framework, match, source_id, line_no) "
            f"SELECT {COLS}, route, route_framework, match, $sid, line_no FROM _fp_req ORDER BY line_no "
            f"LIMIT {SAMPLE - sampled}",
            params,
        )
    return rows, rejects, sampled


def _columns_chunk(
    con, fmt: F.Format, content, sub, group, after: int, newlines: int, params: dict, full: bool
) -> bool:
    """_fp_rows from DuckDB's CSV reader splitting the fields (ingest's fastest reader); False when its line
    numbers cannot be trusted: the CSV reader skips blank lines and joins lines across an unbalanced quote, and
    then a piece's last line has no row of that number."""
    with ingest._Feed(content, sub) as pieces:
        _create_rows(con, _select(ingest._columns_rows_sql(fmt, pieces), "requests"), params, full)
    ends = [g[2] for g in group[1:]] + [min(after, newlines)]
    ranges = [(g[2], hi) for g, hi in zip(group, ends) if g[2] < hi]
    if not ranges:
        return True
    tops = con.execute(
        "SELECT "
        + ", ".join(f"max(line_no) FILTER (WHERE line_no > {lo} AND line_no <= {hi})" for lo, hi in ranges)
        + " FROM _fp_rows"
    ).fetchall()[0]
    return list(tops) == [hi for _, hi in ranges]


def _file(con: duckdb.DuckDBPyConnection, state: _State, path: Path, explicit: bool, fmt_name: str, tz: str) -> dict:
    """Read one file into the run's temporary tables; returns its summary row."""
    t0 = time.perf_counter()
    row = ingest._summary_row(path)
    content = ingest._Content(path)
    head = content.head(ingest.HEAD)
    fp = ingest._fingerprint(head)
    if ingest._find_source(con, head, path) is not None:
        row.update(
            note="unchanged: read before (a file that grew: use `strangler ingest`)", seconds=time.perf_counter() - t0
        )
        return row
    name, chosen = ingest._choose_format(con, content, head, fmt_name, F.FORMATS, tz, explicit)
    fmt = F.FORMATS[name]
    sid = int(
        _scalar(
            con,
            "SELECT coalesce(max(source_id), 0) + 1 FROM (SELECT source_id FROM sources UNION ALL "
            "SELECT source_id FROM _fp_sources)",
        )
    )
    params: dict = {"sid": sid, "tz": tz, "w3c_fields": None, "path": str(path)}
    rows = rejects = sampled = 0
    threads = int(_scalar(con, "SELECT current_setting('threads')"))
    size = path.stat().st_size
    # a gzip stream cannot be cut into pieces: its 16 MB blocks go through the robust reader, so that a big .gz
    # never becomes one chunk in memory
    plain = not fmt.windowed and not content.gz
    scan = ingest._prescan(content, max(threads, size // CHUNK_BYTES * threads)) if plain else None
    if scan is not None and scan.clean:
        total = scan.newlines + (0 if scan.ends_with_newline else 1)
        params.update(last=scan.newlines, lo=1, hi=total)
        groups = [scan.pieces[i : i + threads] for i in range(0, len(scan.pieces), threads)]
        for k, group in enumerate(groups):
            sub = ingest._Scan(scan.newlines, True, scan.tail, group)
            first = group[0][2]  # lines before the chunk
            after = groups[k + 1][0][2] if k + 1 < len(groups) else total

            @contextmanager
            def lines_src(sub=sub):
                with ingest._Feed(content, sub) as pieces:
                    yield ingest._csv_source(pieces)

            done = False
            if fmt.csv_columns:
                try:
                    done = _columns_chunk(con, fmt, content, sub, group, after, scan.newlines, params, sampled < SAMPLE)
                except duckdb.Error:  # what the CSV reader cannot split, the lines reader reads (as ingest)
                    done = False
            if not done:
                with lines_src() as src:
                    _create_rows(con, _select(ingest._rows_sql(fmt, src), "requests"), params, sampled < SAMPLE)
            n_rows, n_rej, sampled = _finish_chunk(con, state, fmt, params, sampled, after - first, lines_src)
            rows += n_rows
            rejects += n_rej
        complete = content.size - scan.tail
    else:
        reader = ingest._Lines(content, 0, 1)
        src = "SELECT line_no, line, flag FROM _strangler_chunk"
        for table in _grouped(reader, CHUNK_BYTES // 2):
            con.register("_strangler_chunk", table)
            try:
                params.update(lo=table["line_no"][0].as_py(), hi=table["line_no"][-1].as_py())
                _create_rows(con, _select(ingest._rows_sql(fmt, src), "requests"), params, sampled < SAMPLE)
                n_rows, n_rej, sampled = _finish_chunk(
                    con, state, fmt, params, sampled, len(table), lambda: nullcontext(src)
                )
                rows += n_rows
                rejects += n_rej
                if fmt.windowed:
                    last = con.execute(
                        "SELECT line FROM _strangler_chunk WHERE starts_with(line, '#Fields:') ORDER BY line_no DESC LIMIT 1"
                    ).fetchall()
                    if last:
                        params["w3c_fields"] = last[0][0].rstrip("\r")
            finally:
                con.unregister("_strangler_chunk")
        complete = reader.complete_bytes
    con.execute(
        "INSERT INTO _fp_sources BY NAME SELECT ? AS source_id, ? AS path, ? AS format, ? AS chosen, ? AS lines, "
        "? AS rows, ? AS rejects, ? AS fingerprint, ? AS bytes_read, ? AS seconds, now() AS ingested_at",
        [sid, str(path), fmt.name, chosen, rows + rejects, rows, rejects, fp, complete, time.perf_counter() - t0],
    )
    secs = time.perf_counter() - t0
    row.update(format=name, lines=rows + rejects, rows=rows, rejects=rejects, seconds=secs, note="new; rolled up")
    row["lines/s"] = row["lines"] / secs if secs > 0 else 0.0
    return row


def run(con: duckdb.DuckDBPyConnection, paths: list[str], fmt: str = "auto", tz: str | None = None) -> FastResult:
    """Read the logs at `paths` straight into the rollups (see the module docstring)."""
    started = time.perf_counter()
    name = F.resolve(fmt)
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
    state = _State(con, warnings)
    try:
        for path, explicit in files:
            try:
                rows.append(_file(con, state, path, explicit, name, zone))
            except ingest._Unreadable as exc:
                if exc.explicit:
                    errors.append(f"{path}: {exc}")
                rows.append(ingest._summary_row(path, note=f"{'error' if exc.explicit else 'skipped'}: {exc}"))
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror or exc}")
                rows.append(ingest._summary_row(path, note=f"error: {exc.strerror or exc}"))
        # one transaction for the run: the sources, their rejects and samples and the merged rollups land
        # together (a run killed before this point leaves nothing, and running it again reads everything)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("INSERT INTO sources SELECT * FROM _fp_sources")
            con.execute("INSERT INTO rejects SELECT * FROM _fp_rejects")
            con.execute("INSERT INTO requests SELECT * FROM _fp_sample")
            state.merge()
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
    return FastResult(pd.DataFrame(rows, columns=ingest.SUMMARY_COLUMNS), errors, time.perf_counter() - started)
