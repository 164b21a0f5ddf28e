"""The Spark engine: the formats and shapes compiled to Spark SQL agree with DuckDB on the same input, and the
rollups Spark builds from the demo logs equal DuckDB's row for row and bucket for bucket.

Spark runs in local mode (local[2], 2 shuffle partitions, no UI), one session for the module; its start-up
alone takes 10-60 s on the shared machine, so every test that uses it is marked slow.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from strangler import attribute as A
from strangler import db as dbm
from strangler import formats as F
from strangler import ingest, rollup
from strangler.errors import StranglerError

pyspark = pytest.importorskip("pyspark", reason="the [spark] extra is not installed: pip install -e '.[spark]'")

from strangler import spark_job, spark_sql  # noqa: E402  (needs the extra)

CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"}

# sample lines per format: well formed, escaped, odd values and lines that must be rejects
SAMPLES: dict[str, list[str]] = {
    "common": [
        '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
        '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "POST /a/b?c=d&e HTTP/1.1" 201 -',
        '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "-" 400 0',
        '10.0.0.1 - - [31/Feb/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1',
        "not a log line",
    ],
    "combined": [
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /trips/7?x=1 HTTP/1.1" 200 512 "-" "curl/8"',
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /a\\"b HTTP/1.1" 404 - "http://r/" "x\\\\y" "9.9.9.9"',
        '1.2.3.4 - - [02/Mar/2026:23:59:59 -0530] "OPTIONS * HTTP/1.1" 204 0 "-" "-"',
        "",
        "# comment",
    ],
    "combined_s": [
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /trips/7?x=1 HTTP/1.1" 200 512 "-" "curl/8" 0.123',
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /a\\"b HTTP/1.1" 404 - "-" "x\\\\y" -',
        '1.2.3.4 - - [99/Foo/2026:10:00:01 +0100] "GET / HTTP/1.1" 200 1 "-" "-" 1',
        "garbage",
        '5.6.7.8 - - [02/Mar/2026:10:00:01 +0000] "POST http://h.com/x/y?q HTTP/1.1" 500 1 "r" "u" 2.5\r',
        '5.6.7.8 - - [02/Mar/2026:10:00:01 +0000] "get /%7Bx%7D/caf\u00e9 HTTP/2.0" 302 17 "-" "ü" 10',
    ],
    "combined_ms": [
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /x HTTP/1.1" 200 5 "-" "ua" 12',
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /x HTTP/1.1" 200 5 "-" "ua" 12.75',
    ],
    "combined_us": [
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "DELETE /x/1 HTTP/1.1" 204 0 "-" "ua" 123456',
        '1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "BREW /pot HTTP/1.1" 418 0 "-" "ua" 1',
    ],
    "uvicorn": [
        'INFO:     127.0.0.1:5000 - "GET /x?y=1 HTTP/1.1" 200 OK',
        '127.0.0.1:1 - "BAD" 500',
        "nope",
    ],
    "json": [
        '{"ts":"2026-03-02T10:00:00.123456Z","method":"get","path":"/a/1?x=2","status":"200","bytes":12.6,'
        '"duration_ms":3.25,"db_queries":2.5}',
        '{"time": 1772445600.5, "request": "POST /b HTTP/1.1", "status": 201.5, "request_time": "0.5"}',
        '{"ts":"2026-03-02 10:00:00","status":500}',
        '{"ts":"02/Mar/2026:10:00:01 +0100","status":204,"uri":"/z","ua":"a\\"b"}',
        '{"ts":"2026-03-02T10:00:00+01:00","status":200,"path":"/q","query":"k=v"}',
        "[1,2]",
        "{bad",
        '{"ts":"x"}',
    ],
    "strangler": [
        '{"ts":"2026-03-02T10:00:00.000001Z","method":"GET","path":"/trips/7","route":"/trips/<int:trip_id>",'
        '"backend":"fastapi","status":200,"bytes":10,"duration_ms":1.5,"db_ms":0.25,"db_queries":3,"request_id":"r1"}',
        '{"ts":"2026-03-02T10:00:01Z","method":"POST","path":"/users","route":null,"backend":"flask","status":500}',
    ],
    "alb": [
        'http 2026-03-02T10:00:00.123456Z app/x 1.2.3.4:5 10.0.0.1:80 0.001 0.002 0.003 200 200 10 20 '
        '"GET http://h:80/p/1?z HTTP/1.1" "ua" x',
        'http 2026-03-02T10:00:00.123456Z app/x 1.2.3.4:5 - -1 -1 -1 502 - 10 20 "GET http://h:80/p HTTP/1.1" "-"',
        "h2 nonsense",
    ],
}
SRC = "SELECT line_no, line, CAST(NULL AS VARCHAR) AS flag FROM _lines"


def _norm(v: object) -> object:
    """One value as comparable text: timestamps as UTC ISO, numbers as floats, every missing value as None."""
    if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return (v.tz_convert("UTC") if v.tzinfo else v.tz_localize("UTC")).isoformat()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return str(v)


def _rows(df: pd.DataFrame) -> list[tuple]:
    return [tuple(_norm(v) for v in row) for row in df.astype(object).itertuples(index=False)]


@pytest.fixture(scope="module")
def spark():
    session = spark_job.session("local[2]", CONF)
    yield session
    session.stop()


def _duck(fmt: F.Format, lines: list[str]) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE _lines (line_no BIGINT, line VARCHAR)")
    con.executemany("INSERT INTO _lines VALUES (?, ?)", list(enumerate(lines, 1)))
    sql = spark_job.format_sql(fmt, SRC)
    return con.execute(sql, {"tz": "UTC"} if "$tz" in sql else {}).df().sort_values("line_no")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n in SAMPLES if n in F.FORMATS))
def test_format_compiled_to_spark_agrees_with_duckdb(spark, name: str) -> None:
    fmt = F.FORMATS[name]
    lines = SAMPLES[name]
    duck = _duck(fmt, lines)
    spark.createDataFrame(list(enumerate(lines, 1)), "line_no bigint, line string").createOrReplaceTempView("_lines")
    sql = spark_job.format_sql(fmt, SRC)
    ours = spark.sql(spark_sql.to_spark(sql, {"tz": "UTC"})).toPandas().sort_values("line_no")
    assert list(ours.columns) == list(duck.columns)
    assert _rows(ours) == _rows(duck)
    # and the DuckDB query is what `strangler ingest` does: the same requests and the same reject reasons
    assert duck["reason"].isna().sum() >= 1 and duck["reason"].notna().sum() + duck["reason"].isna().sum() == len(lines)


def test_format_sql_is_what_ingest_stores(tmp_path: Path) -> None:
    """format_sql (the query Spark runs) gives the rows and reject reasons `strangler ingest` stores."""
    for name in ("combined_s", "json"):
        log = tmp_path / f"{name}.log"
        log.write_text("\n".join(SAMPLES[name]) + "\n", encoding="utf-8")
        con = dbm.connect(tmp_path / f"{name}.duckdb")
        con.execute("SET TimeZone = 'UTC'")
        ingest.ingest(con, [str(log)], fmt=name)
        cols = ", ".join(ingest.REQUEST_COLUMNS)
        stored = con.execute(f"SELECT line_no, {cols} FROM requests ORDER BY line_no").df()
        rejects = con.execute("SELECT line_no, reason FROM rejects ORDER BY line_no").df()
        duck = _duck(F.FORMATS[name], [s.rstrip("\n") for s in SAMPLES[name]])
        ok = duck[duck["reason"].isna()]
        assert _rows(ok[["line_no", *ingest.REQUEST_COLUMNS]]) == _rows(stored), name
        assert _rows(duck[duck["reason"].notna()][["line_no", "reason"]]) == _rows(rejects), name


def test_windowed_format_is_refused() -> None:
    with pytest.raises(StranglerError, match="Spark engine cannot"):
        spark_job.format_sql(F.FORMATS["w3c"], SRC)


def test_to_spark_rewrites() -> None:
    """The rewrites where DuckDB and Spark differ, as Spark SQL text."""
    assert spark_sql.to_spark("SELECT regexp_full_match(a, 'x|y')") == "SELECT a RLIKE '(?d)^(?:x|y)$'"
    assert spark_sql.to_spark("SELECT left(a, -1)") == "SELECT SUBSTRING(a, 1, LENGTH(a) - 1)"
    assert spark_sql.to_spark("SELECT strlen(a), suffix(a, 'b')") == "SELECT OCTET_LENGTH(a), ENDSWITH(a, 'b')"
    assert spark_sql.to_spark("SELECT try_strptime(a, '%d/%b/%Y:%H:%M:%S %z')") == (
        "SELECT TO_TIMESTAMP(a, 'dd/MMM/yyyy:HH:mm:ss Z')"
    )
    assert spark_sql.to_spark("SELECT $tz, ?", {"tz": "Europe/Paris"}, ["it's"]) == "SELECT 'Europe/Paris', 'it\\'s'"
    assert spark_sql.to_spark("SELECT list_transform(l, lambda s, i: i)") == "SELECT TRANSFORM(l, (s, i) -> (i + 1))"
    assert spark_sql.to_spark("SELECT try_cast(try_cast(a AS DOUBLE) AS INTEGER)") == (
        "SELECT TRY_CAST(BROUND(TRY_CAST(a AS DOUBLE)) AS INT)"
    )
    with pytest.raises(StranglerError, match=r"\$tz has no value"):
        spark_sql.to_spark("SELECT $tz")


PATHS = [
    "/trips/7",
    "/trips/0",
    "/trips/7/photos/bcb0035a-8dcf-5928-bcb6-2c2cdaad7f33",
    "/files/deadbeef12/x",
    "/y/2024/12",
    "/y/2025/12",
    "/a//b/1",
    "rel/1",
    "/{x}/1",
    "/cafe/9f",
    "/a/1-2/3",
]
RULES = [("flask", "/trips/<int(min=1):trip_id>"), ("flask", "/y/2024/<int:m>"), ("fastapi", "/files/{p:path}")]


@pytest.mark.slow
def test_shape_sql_compiled_to_spark_agrees_with_duckdb(spark) -> None:
    select, params = A.shape_sql(A.guards(RULES))
    sql = f"SELECT {select} (SELECT DISTINCT path FROM _paths)) ORDER BY path"
    con = duckdb.connect()
    con.execute("CREATE TABLE _paths AS SELECT unnest(?::VARCHAR[]) AS path", [PATHS])
    duck = con.execute(sql, params).df()
    spark.createDataFrame([(p,) for p in PATHS], "path string").createOrReplaceTempView("_paths")
    ours = spark.sql(spark_sql.to_spark(sql, positional=params)).toPandas()
    assert _rows(ours) == _rows(duck)
    shapes = dict(zip(duck["path"], duck["shape"]))
    assert shapes["/trips/7"] == "/trips/7"  # int(min=1) tells 0 from 7: that position is not collapsed
    assert shapes["/a/1-2/3"] == "/a/1-2/{n}"
    assert shapes["/trips/7/photos/bcb0035a-8dcf-5928-bcb6-2c2cdaad7f33"] == "/trips/{n}/photos/{uuid}"  # no rule there


@pytest.fixture(scope="module")
def demo_rollups(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A 20 k-request demo: its logs, a DuckDB file (ingest, routes of both apps, attribute) and its rollups."""
    from strangler import demo

    root = tmp_path_factory.mktemp("spark_demo")
    demo.generate(root / "demo", requests=20_000, seed=7)
    db_file = root / "raw.duckdb"
    strangler = [sys.executable, "-m", "strangler"]
    apps = ["--app", "strangler.demo.flask_app:app", "--app", "strangler.demo.fastapi_app:app"]
    for args in (
        ["ingest", str(root / "demo" / "logs")],
        ["routes", *apps],
        ["attribute"],
        ["rollup", "--out", str(root / "duck")],
    ):
        subprocess.run([*strangler, *args, "--db", str(db_file)], check=True, capture_output=True)
    return root / "demo" / "logs", db_file, root / "duck"


def _table(root: Path, table: str) -> pd.DataFrame:
    con = duckdb.connect()
    return con.execute(
        f"SELECT * EXCLUDE (day) FROM read_parquet('{root / table}/*/*.parquet', hive_partitioning = true)"
    ).df()


@pytest.mark.slow
def test_spark_rollups_equal_duckdb_rollups(spark, demo_rollups, tmp_path: Path) -> None:
    logs, db_file, duck_dir = demo_rollups
    result = spark_job.run([str(logs)], str(db_file), str(tmp_path / "spark"), master="local[2]", conf=CONF)
    con = duckdb.connect(str(db_file), read_only=True)
    expected = con.execute("SELECT regexp_replace(path, '^.*/', '') AS f, lines, rows, rejects FROM sources").df()
    got = result.sources.assign(f=result.sources["path"].str.replace(r"^.*/", "", regex=True))
    assert sorted(_rows(got[["f", "lines", "rows", "rejects"]])) == sorted(_rows(expected))
    assert int(got["lines"].sum()) == 20_018 and (got["lines"] == got["rows"] + got["rejects"]).all()
    for table in dbm.ROLLUP_TABLES:
        ours, theirs = _table(tmp_path / "spark", table), _table(duck_dir, table)
        assert list(ours.columns) == list(theirs.columns), table
        assert [str(t) for t in ours.dtypes] == [str(t) for t in theirs.dtypes], table
        assert len(ours) == len(theirs) > 100, table
        assert sorted(_rows(ours), key=str) == sorted(_rows(theirs), key=str), table
    assert int(_table(tmp_path / "spark", "rollups")["requests"].sum()) == 20_000
    rejects = (
        duckdb.connect()
        .execute(f"SELECT reason, count(*) FROM '{tmp_path / 'spark' / 'rejects'}/*.parquet' GROUP BY ALL ORDER BY 1")
        .fetchall()
    )
    assert rejects == con.execute("SELECT reason, count(*) FROM rejects GROUP BY ALL ORDER BY 1").fetchall()
    # the directory is a rollup directory: the analyses open it with no raw rows
    view = rollup.open_dir(tmp_path / "spark")
    assert view.execute("SELECT sum(requests) FROM rollups").fetchone()[0] == 20_000


def test_cli_spark_needs_logs_routes_and_out(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "strangler", "rollup", "--engine", "spark", "--logs", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "strangler: error: --engine spark needs --logs URI..., --routes DB and --out DIR"
    ]
