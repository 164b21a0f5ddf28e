"""`strangler rollup --engine spark`: the rollups built by Apache Spark straight from the logs.

The same pipeline as DuckDB's, from the same definitions (`strangler.spark_sql` writes them in Spark's dialect):

1. files: each URI (a file, a directory, a glob; local paths or object storage such as s3a://) expanded through
   Hadoop's FileSystem; each file's format detected from its first lines (`formats.detect`, as `ingest` does);
2. parse: per format, the lines of its files through the format's SQL (`format_sql`: `ingest`'s classification
   and the format's columns) compiled to Spark SQL; every line is a request or a reject with its reason;
3. attribute: the distinct paths of the requests get their shape (`attribute.shape_sql`, compiled), the driver
   matches only the distinct (method, shape) pairs with Werkzeug and Starlette (`attribute.matchers`), and the
   answer is broadcast back onto the requests;
4. aggregate: the rollup aggregation (`strangler.rollup`) compiled, written as hive-partitioned Parquet in the
   layout of `db.ROLLUP_TABLES`, plus `sources.parquet` (lines = rows + rejects per file) and `rejects/`.

Differences from `strangler ingest` (both documented in the README): Spark reads a file as lines split on '\\n'
with no line numbers, so rejects carry the file but no line number, and a last line without a newline is read as
a line (DuckDB keeps it back as `unterminated` until it is finished); gzip is recognised by the `.gz` name
(Hadoop's codecs), not by content; the W3C format (its layout comes from a `#Fields:` line above, an order that
Spark's splits do not keep) is refused.
"""

from __future__ import annotations

from strangler import formats as F
from strangler import ingest

# requests columns and their types (db.SCHEMA): NULL columns need a type in Spark's Parquet
REQUEST_TYPES = {
    "ts": "TIMESTAMPTZ",
    "method": "VARCHAR",
    "path": "VARCHAR",
    "query": "VARCHAR",
    "status": "SMALLINT",
    "bytes": "BIGINT",
    "duration_ms": "DOUBLE",
    "client": "VARCHAR",
    "user_agent": "VARCHAR",
    "referer": "VARCHAR",
    "request_id": "VARCHAR",
    "backend": "VARCHAR",
    "logged_route": "VARCHAR",
    "db_ms": "DOUBLE",
    "db_queries": "INTEGER",
}


def format_sql(fmt: F.Format, src: str) -> str:
    """DuckDB SQL: every line of `src` (line_no, line, flag) with the request columns and `reason` (NULL for a
    request, else the reject reason), exactly as `strangler ingest` classifies and parses it."""
    if fmt.windowed:
        from strangler.errors import StranglerError

        raise StranglerError(f"format {fmt.name!r} reads its layout from lines above; the Spark engine cannot")
    # computed for requests only (CASE is lazy in both engines): a reject may not even have the fields
    cols = ", ".join(
        f"CAST(CASE WHEN reason IS NULL THEN {fmt.columns.get(c, 'NULL')} END AS {REQUEST_TYPES[c]}) AS {c}"
        for c in ingest.REQUEST_COLUMNS
    )
    bad_ts = f"WHEN ts IS NULL THEN '{fmt.bad_value}' " if fmt.ts_required else ""
    names = ", ".join(ingest.REQUEST_COLUMNS)
    return (
        f"SELECT {names}, CASE WHEN reason IS NOT NULL THEN reason {bad_ts}END AS reason, line "
        f"FROM (SELECT {cols}, reason, line FROM ({ingest._classified(fmt, src)}))"
    )
