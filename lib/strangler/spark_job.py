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

Differences from `strangler ingest` (documented in the README): Spark reads a file as lines split on '\\n' with
no line numbers, so rejects carry the file but no line number, and a last line without a newline is read as a line
(DuckDB keeps it back as `unterminated` until it is finished); gzip is recognised by the `.gz` name (Hadoop's
codecs), not by content. The W3C format (its layout comes from the `#Fields:` line above, an order that Spark's
splits do not keep) is read a whole file per task. OpenTelemetry (`otel`: several requests per line, joined to
database spans anywhere in the file) is refused (`SPANS_REFUSED`). Declared layouts (`--format KIND:LAYOUT`) run
like built-in formats.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from strangler import attribute as A
from strangler import db as dbm
from strangler import detect, ingest, layouts
from strangler import formats as F
from strangler import parse_sql as P
from strangler import rollup as R
from strangler import spark_sql as S
from strangler.errors import StranglerError

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


# why a format is not read by the Spark engine (the README lists these)
SPANS_REFUSED = (
    "format {name!r} is not read by the Spark engine: a line holds several requests whose database spans may be "
    "on any line of the file (a recursive walk up each trace); roll it up with DuckDB (`strangler rollup --logs`)"
)


def format_sql(fmt: F.Format, src: str) -> str:
    """DuckDB SQL: every line of `src` (line_no, line, flag) with `reason` (NULL for a request, else the reject
    reason), the request columns (typed as db.SCHEMA says), the cleaned `line` and `line_no`: exactly how
    `strangler ingest` judges and parses it (`parse_sql.verdict`)."""
    if fmt.spans:
        raise StranglerError(SPANS_REFUSED.format(name=fmt.name))
    cols = ", ".join(f"CAST({c} AS {REQUEST_TYPES[c]}) AS {c}" for c in ingest.REQUEST_COLUMNS)
    return f"SELECT {cols}, reason, line, line_no FROM ({P.verdict(_unshadowed(fmt), src)})"


def list_helpers(fmt: F.Format) -> frozenset[str]:
    """The format's helper columns that hold lists (their DuckDB types, from an empty relation)."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE _lines (line_no BIGINT, line VARCHAR, flag VARCHAR)")
        rel = P.layered(_unshadowed(fmt).prep, P.cleaned("SELECT * FROM _lines"))
        params = {k: v for k, v in {"tz": "UTC", "w3c_fields": None}.items() if f"${k}" in rel}
        described = con.execute(f"DESCRIBE {rel}", params).fetchall()
        return frozenset(name for name, kind, *_ in described if kind.endswith("]"))
    finally:
        con.close()


def _unshadowed(fmt: F.Format) -> F.Format:
    """`fmt` with a helper that a later layer defines again renamed as DuckDB names it (`name_1`): DuckDB keeps
    both columns and every later reference reads the first; Spark calls the name ambiguous."""
    seen: set[str] = set()
    layers = []
    for layer in fmt.prep:
        renamed = {}
        for name, expr in layer.items():
            renamed[f"{name}_1" if name in seen else name] = expr
            seen.add(name)
        layers.append(renamed)
    return dataclasses.replace(fmt, prep=layers)


# --- the session and the files --------------------------------------------------------------------------------

# what the job needs whatever the cluster: DuckDB's semantics for casts and arrays (ANSI off), UTC hours, Parquet
# timestamps DuckDB reads as TIMESTAMPTZ
SESSION_CONF = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
HEAD_BYTES = ingest.HEAD


def session(master: str | None = None, conf: dict[str, str] | None = None):
    """A SparkSession for the job (`master` such as local[2] or spark://host:7077; None: spark-submit's)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise StranglerError("the Spark engine needs PySpark: pip install 'strangler[spark]'") from None
    builder = SparkSession.builder.appName("strangler rollup")
    if master:
        builder = builder.master(master)
    for key, value in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def list_files(spark, uris: list[str]) -> list[str]:
    """The files named by `uris` (files, directories read recursively, globs) through Hadoop's FileSystem, so
    local paths and object storage (s3a://, gs://, abfs://) alike; hidden files ('.', '_') are skipped."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    found: list[str] = []
    for uri in uris:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
        if not statuses:
            raise StranglerError(f"{uri}: no such file or directory")
        for st in statuses:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    f = it.next().getPath()
                    if not f.getName().startswith((".", "_")):
                        found.append(f.toString())
            else:
                found.append(st.getPath().toString())
    return sorted(dict.fromkeys(found))


def _head(spark, uri: str) -> bytes:
    """The first HEAD_BYTES bytes of a file's content (decompressed by the codec Hadoop picks by its name)."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(uri)
    stream = path.getFileSystem(conf).open(path)
    try:
        codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(path)
        data = (codec.createInputStream(stream) if codec is not None else stream).readNBytes(HEAD_BYTES)
    finally:
        stream.close()
    return bytes(data)


# --- the job ----------------------------------------------------------------------------------------------------


@dataclass
class SparkResult:
    """What one Spark job did: one row per file, and what was written."""

    sources: pd.DataFrame
    written: list[str]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        t = self.sources
        lines = [
            f"spark: {len(t)} files, {int(t['lines'].sum()):,} lines, {int(t['rows'].sum()):,} requests, "
            f"{int(t['rejects'].sum()):,} rejects in {self.seconds:.1f} s"
        ]
        lines += [f"wrote {p}" for p in self.written]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# rows the job keeps for each parsed line: the request columns the rollups read, the file, the reject reason and
# the line itself for rejects (cut at 2 KB)
_KEEP = ["ts", "method", "path", "status", "bytes", "duration_ms", "backend", "db_ms", "db_queries"]


def _parsed(spark, files: list[str], fmt: F.Format, tz: str, view: str):
    """The files of one format as (file, reason, raw, request columns): every line, a request when reason is NULL.

    The lines are the temporary view `view`. The file name rides through ingest's classification in `line_no`
    (passed along untouched). A format whose lines depend on the lines above (W3C's `#Fields:`) reads each file
    whole, in one task, so its lines keep their order: `line_no` is then (file, line number) and its windows run
    per file."""
    from pyspark.sql import functions as SF

    if fmt.windowed:
        lines = "split(value, '\\n', -1)"  # a final newline ends the last line; it does not start another
        (
            spark.read.text(files, wholetext=True)
            .select(SF.col("_metadata.file_path").alias("file"), SF.col("value"))
            .selectExpr(
                "file",
                f"posexplode(slice({lines}, 1, size({lines}) - "
                "CASE WHEN value = '' OR endswith(value, '\\n') THEN 1 ELSE 0 END)) AS (pos, line)",
            )
            .selectExpr("named_struct('file', file, 'n', pos + 1) AS line_no", "line")
            .createOrReplaceTempView(view)
        )
        file_of, partition = "line_no.file", "line_no.file"
    else:
        (
            spark.read.option("lineSep", "\n")
            .text(files)
            .select(SF.col("_metadata.file_path").alias("line_no"), SF.col("value").alias("line"))
            .createOrReplaceTempView(view)
        )
        file_of, partition = "line_no", None
    src = f"SELECT line_no, line, CAST(NULL AS VARCHAR) AS flag FROM {view}"
    parse = S.to_spark(
        format_sql(fmt, src), {"tz": tz, "w3c_fields": None}, lists=list_helpers(fmt), partition=partition
    )
    keep = ", ".join(_KEEP)
    return spark.sql(
        f"SELECT {file_of} AS file, reason, CASE WHEN reason IS NOT NULL THEN left(line, {ingest.RAW_MAX}) END "
        f"AS raw, {keep} FROM ({parse})"
    )


def _attributed(spark, requests, routes_db: str, warnings: list[str]):
    """`requests` with route, route_framework and match, and the path shapes (path, shape) of its distinct
    paths: shapes computed by Spark (`attribute.shape_sql`), only the distinct (method, shape) pairs matched in
    Python by the frameworks' own rules (`attribute.matchers`), the answer broadcast back."""
    from pyspark.sql import functions as SF

    con = duckdb.connect(routes_db, read_only=True)
    try:
        how = A.plan(con, warnings)
        routes = con.execute("SELECT framework, method, rule FROM routes").df()
    finally:
        con.close()
    select, params = how.shape_select, how.shape_params
    requests.createOrReplaceTempView("_requests")
    pairs = spark.sql(
        "SELECT DISTINCT method, path FROM _requests WHERE method IS NOT NULL AND path IS NOT NULL"
    ).persist()
    pairs.createOrReplaceTempView("_pairs")
    shapes = spark.sql(S.to_spark(f"SELECT {select} (SELECT DISTINCT path FROM _pairs))", positional=params))
    shapes = shapes.persist()
    shapes.createOrReplaceTempView("path_shapes")
    keys = spark.sql(
        "SELECT q.method, s.shape, min(q.path) AS example FROM _pairs q JOIN path_shapes s USING (path) "
        "GROUP BY q.method, s.shape"
    ).toPandas()
    outcomes = how.outcomes(list(zip(keys["method"], keys["example"])), warnings)
    matched = spark.createDataFrame(
        [(m, s, o[0], o[1], o[2]) for m, s, o in zip(keys["method"], keys["shape"], outcomes)],
        "method string, shape string, match string, route string, route_framework string",
    )
    attr = (
        pairs.join(shapes, "path")
        .join(SF.broadcast(matched), ["method", "shape"])
        .select("method", "path", "route", "route_framework", "match")
    )
    out = requests.join(attr, ["method", "path"], "left").withColumn(
        "match", SF.coalesce(SF.col("match"), SF.lit("unmatched"))
    )
    (
        spark.createDataFrame(routes, "framework string, method string, rule string")
        if len(routes)
        else spark.createDataFrame([], "framework string, method string, rule string")
    ).createOrReplaceTempView("routes")
    return out, [pairs, shapes]


def _schema(table: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a rollup table, from db.ROLLUP_SCHEMA."""
    con = duckdb.connect()
    try:
        con.execute(dbm.ROLLUP_SCHEMA)
        return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]
    finally:
        con.close()


def _aggregate_sql(table: str) -> str:
    """The rollup aggregation of `strangler.rollup` for `table` over every request, in Spark SQL, its columns
    named and typed as db.ROLLUP_SCHEMA says."""
    insert = {"rollups": R._INSERT_ROLLUPS, "rollup_latency": R._INSERT_LATENCY, "rollup_peaks": R._INSERT_PEAKS}[table]
    sql = insert.format(where="TRUE").strip()
    prefix = f"INSERT INTO {table}"
    if not sql.startswith(prefix):
        raise RuntimeError(f"rollup.{table}'s aggregation no longer starts with {prefix!r}")
    return S.to_spark(sql[len(prefix) :])


def _typed(df, table: str):
    """The aggregation's columns in order, named and typed as db.ROLLUP_SCHEMA says (its own names are
    expressions such as count(*))."""
    cols = _schema(table)
    return df.toDF(*[c for c, _ in cols]).select(*[_cast(c, t) for c, t in cols])


def _cast(column: str, duck_type: str):
    from pyspark.sql import functions as SF

    return SF.col(column).cast(exp.DataType.build(duck_type, dialect="duckdb").sql(dialect="spark")).alias(column)


def run(
    uris: list[str],
    routes_db: str,
    out: str,
    master: str | None = None,
    fmt: str = "auto",
    tz: str | None = None,
    conf: dict[str, str] | None = None,
) -> SparkResult:
    """Parse, attribute and roll up the logs at `uris` on Spark; write the rollups under `out`."""
    started = time.perf_counter()
    declared = layouts.declared(fmt) if layouts.is_declared(fmt) else None
    name = "declared" if declared else F.resolve(fmt)
    zone = tz or "UTC"
    if not Path(routes_db).is_file():
        raise StranglerError(f"{routes_db}: no such database (run `strangler routes --db {routes_db}` first)")
    spark = session(master, conf)
    from pyspark import StorageLevel
    from pyspark.sql import functions as SF

    files = list_files(spark, uris)
    by_format: dict[str, list[str]] = {}
    for f in files:
        by_format.setdefault(declared.name if declared else _detect(_head(spark, f), name, zone, f), []).append(f)
    parts = [
        _parsed(spark, fs, declared or F.FORMATS[n], zone, f"_lines_{k}") for k, (n, fs) in enumerate(by_format.items())
    ]
    lines = parts[0]
    for p in parts[1:]:
        lines = lines.unionByName(p)
    lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
    warnings: list[str] = []
    written: list[str] = []
    cache = [lines]
    try:
        counts = (
            lines.groupBy("file")
            .agg(
                SF.count(SF.lit(1)).alias("lines"),
                SF.count(SF.when(SF.col("reason").isNull(), 1)).alias("rows"),
                SF.count("reason").alias("rejects"),
            )
            .toPandas()
        )
        fmt_of = {f: n for n, fs in by_format.items() for f in fs}
        sources = pd.DataFrame({"path": files})
        sources["format"] = sources["path"].map(fmt_of)
        # Hadoop's and Spark's spelling of a local path differ (file:/x, file:///x): matched by the path itself
        counts["key"] = counts["file"].map(_path_key)
        sources["key"] = sources["path"].map(_path_key)
        sources = sources.merge(counts.drop(columns="file"), on="key", how="left").drop(columns="key")
        sources[["lines", "rows", "rejects"]] = sources[["lines", "rows", "rejects"]].fillna(0).astype("int64")
        sources.insert(0, "source_id", range(1, len(sources) + 1))
        requests = lines.where("reason IS NULL").select(*_KEEP)
        attributed, more = _attributed(spark, requests, routes_db, warnings)
        cache += more
        attributed = attributed.persist(StorageLevel.MEMORY_AND_DISK)
        cache.append(attributed)
        attributed.createOrReplaceTempView("requests")
        target = out.rstrip("/")
        for table in dbm.ROLLUP_TABLES:
            df = _typed(spark.sql(_aggregate_sql(table)), table)
            df = df.withColumn("day", SF.date_format("hour", "yyyy-MM-dd"))
            df.write.mode("overwrite").partitionBy("day").parquet(f"{target}/{table}")
            written.append(f"{target}/{table}")
        lines.where("reason IS NOT NULL").select("file", "reason", "raw").write.mode("overwrite").parquet(
            f"{target}/rejects"
        )
        written.append(f"{target}/rejects")
        _side_tables(spark, routes_db, target, sources, written)
    finally:
        for df in cache:
            df.unpersist()
    return SparkResult(sources, written, time.perf_counter() - started, warnings)


def _detect(head: bytes, fmt_name: str, tz: str, uri: str) -> str:
    """The format of a file from its first bytes, by ingest's detector (`strangler.detect`)."""
    if fmt_name != "auto":
        return fmt_name
    lines = head[: head.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines() if b"\n" in head else []
    con = duckdb.connect()
    try:
        return detect.choose(detect.candidates(con, lines, F.FORMATS, tz), F.FORMATS)[0]
    except detect.NoFormat as exc:
        raise StranglerError(f"{uri}: {exc}") from None
    finally:
        con.close()


def _path_key(uri: str) -> str:
    """A file URI reduced to scheme-less path for matching (file:/a, file:///a and /a are one file)."""
    return re.sub(r"^file:(//)?", "", uri)


def _side_tables(spark, routes_db: str, target: str, sources: pd.DataFrame, written: list[str]) -> None:
    """routes.parquet and routes_unresolved.parquet beside the rollups (as `rollup.export` writes them), and
    sources.parquet: one row per file with lines = rows + rejects."""
    local = "://" not in target or target.startswith("file:")
    con = duckdb.connect(routes_db, read_only=True)
    try:
        tables = {t: con.sql(f"SELECT * FROM {t}").to_arrow_table() for t in dbm.ROLLUP_SIDE_TABLES}
    finally:
        con.close()
    tables["sources"] = pa.Table.from_pandas(sources, preserve_index=False)
    for table, data in tables.items():
        if local:
            path = Path(_path_key(target)) / f"{table}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(data, path)
            written.append(str(path))
        else:  # object storage: Spark writes it (a folder of one file)
            spark.createDataFrame(data.to_pandas()).coalesce(1).write.mode("overwrite").parquet(
                f"{target}/{table}.parquet"
            )
            written.append(f"{target}/{table}.parquet")
