"""The Spark engine: the formats and shapes compiled to Spark SQL agree with DuckDB on the same input, and the
rollups Spark builds from the demo logs equal DuckDB's row for row and bucket for bucket.

Spark runs in local mode (local[2], 2 shuffle partitions, no UI), one session for the module; its start-up
alone takes 10-60 s on the shared machine, so every test that uses it is marked slow.
"""

from __future__ import annotations

import json
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
from strangler import ingest, layouts, rollup
from strangler.errors import StranglerError
from test_formats import (
    CADDY,
    ELB,
    ENVOY,
    HAPROXY,
    NGINX_KV,
    TRAEFIK,
    cloudfront_text,
    gcp_text,
    ltsv_text,
    werkzeug_text,
)
from test_layouts import APACHE_COMMA, NGINX_PIPE, NGINX_PIPE_LINES

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


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


# the producers' own lines, as test_formats writes and checks them, each with a line that is no request
SAMPLES.update(
    {
        "traefik": [*_lines(TRAEFIK), "garbage"],
        "traefik_json": [
            json.dumps(
                {
                    "StartUTC": "2026-03-02T10:00:00.123456789Z",
                    "RequestMethod": "GET",
                    "RequestPath": "/t/7?p=2",
                    "DownstreamStatus": 200,
                    "DownstreamContentSize": 512,
                    "Duration": 1408123456,
                    "ClientHost": "192.0.2.10",
                    "request_User-Agent": "curl/8.1",
                    "RouterName": "trips@docker",
                }
            ),
            json.dumps(
                {
                    "StartUTC": "2026-03-02T10:00:01Z",
                    "RequestMethod": "GET",
                    "RequestPath": "/live",
                    "DownstreamStatus": 0,
                    "Duration": 5000,
                    "RouterName": "ws@docker",
                }
            ),
            '{"level": "info", "msg": "Configuration loaded"}',
        ],
        "caddy": [
            json.dumps(CADDY),
            json.dumps({**CADDY, "msg": "NOP", "status": 0, "size": 0, "ts": "2026-03-02T10:00:01.250Z"}),
            json.dumps({"level": "info", "ts": 1772445602.0, "logger": "tls.obtain", "msg": "certificate obtained"}),
        ],
        "gcp": [*_lines(gcp_text()), '{"severity": "INFO", "textPayload": "started"}'],
        "envoy": [*_lines(ENVOY), "garbage"],
        "haproxy": _lines(HAPROXY),
        "cloudfront": _lines(cloudfront_text()),
        "ltsv": [*_lines(ltsv_text()), "time:x\thost:y"],
        "nginx_kv": [*_lines(NGINX_KV), "garbage"],
        "werkzeug": _lines(werkzeug_text()),
        "elb": [*_lines(ELB), "garbage"],
        # the layout comes from the latest #Fields: line above (a window over the lines in file order)
        "w3c": [
            "#Software: Microsoft IIS",
            "2026-03-02 10:00:00 GET /before-any-fields 200 5",
            "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes time-taken cs(User-Agent)",
            "2026-03-08 06:59:59 10.0.0.1 GET /d a=b 302 10 7 Mozilla/5.0+(X11)",
            "2026-03-08 07:00:00 10.0.0.1 get /e - 200 - 8 -\r",
            "#Fields: date time cs-method cs-uri-stem sc-status",
            "2026-03-09 10:00:02 POST /c 404",
            "2026-03-09 10:00:02 POST /c 404 12",
        ],
    }
)
# declared layouts (`--format KIND:LAYOUT`, strangler.layouts): one of each kind and escape
DECLARED: dict[str, tuple[str, list[str]]] = {
    "nginx_pipes": (
        NGINX_PIPE,
        [
            *NGINX_PIPE_LINES,  # + a '+' and a byte that is not UTF-8 among nginx's \xHH escapes
            '10.0.0.10|2024-03-01T10:00:07+01:00|"GET /f+g HTTP/1.1"|200|1|0.001|-|"a+b \\xFF \\x41"|-',
            '10.0.0.11|2024-03-01T10:00:08+01:00|"GET /h HTTP/1.1"|200|1|0.001|-|"a+b \\x41"|-',
        ],
    ),
    "nginx_json": (
        'nginx,escape=json:{"time":"$time_iso8601","request":"$request","status":$status,"rt":$request_time,'
        '"ua":"$http_user_agent"}',
        [
            '{"time":"2024-03-01T10:00:00+00:00","request":"GET /x?y=1 HTTP/1.1","status":200,"rt":0.004,'
            '"ua":"Mozilla \\"X\\" \\u00e9\\\\"}',
            '{"time":"2024-03-01T10:00:01+00:00","request":"DELETE /t/1 HTTP/1.1","status":404,"rt":0.25,"ua":""}',
            '10.0.0.9 - - [01/Mar/2024:10:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "curl/8.1"',
        ],
    ),
    "apache_commas": (
        APACHE_COMMA,
        [
            '10.2.0.1,2024-03-01 10:00:00.123,"GET /trips/1 HTTP/1.1",200,100,1500,"Mozilla \\"Q\\" 5.0",abc-1',
            '10.2.0.2,2024-03-01 10:00:01.000,"GET /p?q=\\\\x HTTP/1.1",404,0,20,"-",-',
            '10.2.0.3,2024-03-01 10:00:02.5,"GET / HTTP/1.1",200,0,1,"x",-',
            '10.2.0.4,2024-07-01 10:00:03.000,"GET / HTTP/1.1",200,0,1,"x",-',
        ],
    ),
    "gunicorn_pipes": (
        'gunicorn:%(h)s|%(t)s|"%(r)s"|%(s)s|%(B)s|%(M)s|"%(a)s"',
        [
            '127.0.0.1|[01/Mar/2024:10:00:00 +0000]|"GET /api/trips?limit=5 HTTP/1.1"|200|42|7|"python-requests/2.31"',
            '127.0.0.1|[01/Mar/2024:10:00:01 +0000]|"GET / HTTP/1.1"|200|42|7|"Mozilla "X""',
            '127.0.0.1|[01/Mar/2024:10:00:03 +0000]|"GET / HTTP/1.1"|200|42|7.5|"x"',
        ],
    ),
}
# formats whose timestamps carry no offset: read in a zone with daylight saving time
ZONES = {
    "haproxy": "Europe/Paris",
    "werkzeug": "Europe/Paris",
    "w3c": "America/New_York",
    "apache_commas": "Europe/Paris",
}
# every format strangler reads, built in or declared, with its sample lines
CASES: dict[str, tuple[F.Format, list[str]]] = {
    **{name: (F.FORMATS[name], lines) for name, lines in SAMPLES.items()},
    **{name: (layouts.declared(spec), lines) for name, (spec, lines) in DECLARED.items()},
}


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


def _duck(fmt: F.Format, lines: list[str], tz: str = "UTC") -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE _lines (line_no BIGINT, line VARCHAR)")
    con.executemany("INSERT INTO _lines VALUES (?, ?)", list(enumerate(lines, 1)))
    sql = spark_job.format_sql(fmt, SRC)
    params = {k: v for k, v in {"tz": tz, "w3c_fields": None}.items() if f"${k}" in sql}
    return con.execute(sql, params).df().sort_values("line_no")


def test_every_format_but_otel_has_spark_samples() -> None:
    assert set(F.FORMATS) - set(CASES) == {"otel"}
    assert {f.layout.split(":")[0].split(",")[0] for f, _ in CASES.values() if f.layout} == set(layouts.KINDS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_format_compiled_to_spark_agrees_with_duckdb(spark, name: str) -> None:
    fmt, lines = CASES[name]
    tz = ZONES.get(name, "UTC")
    duck = _duck(fmt, lines, tz)
    spark.createDataFrame(list(enumerate(lines, 1)), "line_no bigint, line string").createOrReplaceTempView("_lines")
    sql = spark_job.format_sql(fmt, SRC)
    lists = spark_job.list_helpers(fmt)
    ours = spark.sql(spark_sql.to_spark(sql, {"tz": tz, "w3c_fields": None}, lists=lists)).toPandas()
    ours = ours.sort_values("line_no")
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


def test_otel_is_refused_in_one_line() -> None:
    """OpenTelemetry's requests join database spans from any line of the file: the one format Spark does not read."""
    with pytest.raises(StranglerError, match=r"^format 'otel' is not read by the Spark engine: .*DuckDB") as err:
        spark_job.format_sql(F.FORMATS["otel"], SRC)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_w3c_files_are_read_whole_with_their_own_fields(spark, tmp_path: Path) -> None:
    """A W3C line is read by the #Fields: line above it: Spark reads such a file whole (its lines in order) and the
    window runs per file, so the lines of one file never take another file's fields; same requests and rejects as
    `strangler ingest`."""
    texts = {
        "u_ex1.log": "#Software: Microsoft IIS\n#Fields: date time cs-method cs-uri-stem sc-status time-taken\n"
        "2026-03-02 10:00:00 GET /a 200 5\n2026-03-02 10:00:01 POST /b 201 6\n"
        "#Fields: date time cs-method cs-uri-stem sc-status\n2026-03-02 10:00:02 GET /c 404\r\ngarbage\n",
        "u_ex2.log": "2026-03-02 10:00:00 GET /no-fields-yet 200 5\n"
        "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes time-taken\n"
        "2026-03-08 06:30:00 10.0.0.1 GET /d a=b 302 10 7\n\n2026-03-08 07:30:00 10.0.0.1 GET /e - 200 - 8\n",
    }
    paths = [str(tmp_path / name) for name in texts]
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    ours = spark_job._parsed(spark, paths, F.FORMATS["w3c"], "America/New_York", "_lines_w3c").toPandas()
    ours["file"] = ours["file"].str.replace(r"^.*/", "", regex=True)
    con = dbm.connect(tmp_path / "w3c.duckdb")
    ingest.ingest(con, paths, fmt="w3c", tz="America/New_York")
    cols = "ts, method, path, status, bytes, duration_ms"
    theirs = con.execute(
        f"SELECT regexp_replace(s.path, '^.*/', '') AS file, q.{cols.replace(', ', ', q.')} "
        "FROM requests q JOIN sources s USING (source_id)"
    ).df()
    assert sorted(_rows(ours[ours["reason"].isna()][["file", *cols.split(", ")]]), key=str) == sorted(
        _rows(theirs), key=str
    )
    assert len(theirs) == 5
    rejects = con.execute(
        "SELECT regexp_replace(s.path, '^.*/', ''), reason FROM rejects JOIN sources s USING (source_id)"
    ).fetchall()
    assert sorted(ours[ours["reason"].notna()][["file", "reason"]].itertuples(index=False, name=None)) == sorted(
        rejects
    )


def test_to_spark_rewrites() -> None:
    """The rewrites where DuckDB and Spark differ, as Spark SQL text."""
    assert spark_sql.to_spark("SELECT regexp_full_match(a, 'x|y')") == "SELECT a RLIKE '(?d)^(?:x|y)$'"
    assert spark_sql.to_spark("SELECT left(a, -1)") == "SELECT SUBSTRING(a, 1, LENGTH(a) - 1)"
    assert spark_sql.to_spark("SELECT strlen(a), suffix(a, 'b')") == "SELECT OCTET_LENGTH(a), ENDSWITH(a, 'b')"
    assert spark_sql.to_spark("SELECT try_strptime(a, '%d/%b/%Y:%H:%M:%S')") == (
        "SELECT TO_TIMESTAMP(a, 'dd/MMM/yyyy:HH:mm:ss')"
    )
    # %z reads +01:00, +0100 and +01 in DuckDB: the offset is written +HHMM for Java's Z
    assert spark_sql.to_spark("SELECT try_strptime(a, '%Y-%m-%dT%H:%M:%S%z')") == (
        "SELECT TO_TIMESTAMP(REGEXP_REPLACE(REGEXP_REPLACE(a, '([+-][0-9][0-9]):([0-9][0-9])$', '$1$2'), "
        r"'([+-][0-9][0-9])$', '$100'), 'yyyy-MM-dd\'T\'HH:mm:ssZ')"
    )
    # backreferences, and DuckDB without 'g' replaces the first match only
    assert spark_sql.to_spark(
        r"SELECT regexp_replace(a, 'x(y)', '<\1\0$>', 'g'), regexp_replace(a, 'x(y)', '<\1>')"
    ) == (r"SELECT REGEXP_REPLACE(a, 'x(y)', '<$1$0\\$>'), REGEXP_REPLACE(a, '(?s)^(.*?)(x(y))', '$1<$3>')")
    # a computed list index counts from 1 in both (0 is NULL); list_position's 'not found' is NULL
    assert spark_sql.to_spark("SELECT l[list_position(m, 'k')]") == (
        "SELECT ELEMENT_AT(l, CAST(NULLIF(NULLIF(ARRAY_POSITION(m, 'k'), 0), 0) AS INT))"
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
