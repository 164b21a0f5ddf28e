"""Ingestion: real logs with exact counts, every format, every bad input, idempotence, growth, rotation, kill -9."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from strangler import cli, db, ingest
from strangler.errors import StranglerError

UTC = dt.UTC

# file -> (format, lines, rows, rejects); lines counted with `wc -l`, rejects read by eye
REAL = {
    "apache-combined-blog/access.log": ("combined", 10_000, 9_999, 1),  # line 8899 lost its closing quote
    "apache-combined-homeserver/access.log": ("combined", 3_456, 3_456, 0),
    "fastapi-uvicorn-admin/access.log": ("uvicorn", 115, 115, 0),  # CRLF line ends
    "fastapi-uvicorn-aws/access.log": ("uvicorn", 70_014, 70_014, 0),
    "flask-api-gunicorn/access.log": ("combined", 2_265, 2_265, 0),
    "iis-w3c-timed/u_ex150113.log": ("w3c", 254, 210, 44),  # 11 blocks of 4 '#' header lines
    "nginx-combined-xff-shop/access.log": ("combined", 1_000, 1_000, 0),
    "nginx-json-timed/access.log": ("json", 4_122, 4_122, 0),
    "elb-classic-onedio/AWSLogs.log": ("elb", 668, 668, 0),
    "nginx-combined-reqtime-isucon9/access.log": ("combined_s", 1_876, 1_876, 0),
    "caddy-json-turboinserat/access.log": ("caddy", 686, 686, 0),  # 75 'NOP' lines with status 0 are requests
    # 10,807 request lines, of which 4 are TLS handshakes (bad_method); 328 banners and errors (not_a_request)
    "werkzeug-dev-nerdearla/werkzeug.log": ("werkzeug", 11_135, 10_803, 332),
}


def req(con, sid: int, line: int) -> dict:
    cols = ingest.REQUEST_COLUMNS
    row = con.execute(
        f"SELECT {', '.join(cols)} FROM requests WHERE source_id = ? AND line_no = ?", [sid, line]
    ).fetchone()
    assert row is not None, f"no request at {sid}:{line}"
    return dict(zip(cols, row))


def rejects(con, sid: int = 1) -> list[tuple]:
    return con.execute(
        "SELECT line_no, reason, raw FROM rejects WHERE source_id = ? ORDER BY line_no", [sid]
    ).fetchall()


def sources(con) -> list[tuple]:
    return con.execute("SELECT source_id, format, lines, rows, rejects FROM sources ORDER BY source_id").fetchall()


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def base(**over) -> dict:
    """A request dict with every column NULL except those given."""
    d = dict.fromkeys(ingest.REQUEST_COLUMNS)
    d.update(over)
    return d


LINE = '10.0.0.{i} - - [02/Mar/2026:10:00:{s:02d} +0100] "GET /trips/{i}?page=2 HTTP/1.1" 200 {b} "-" "curl/8.1" 0.{i:03d}\n'


def nginx(n: int, start: int = 0) -> str:
    return "".join(LINE.format(i=i, s=i % 60, b=100 + i) for i in range(start, start + n))


# --- real logs ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_db(tmp_path_factory, real_logs):
    con = db.connect(tmp_path_factory.mktemp("real") / "real.duckdb")
    result = ingest.ingest(con, [str(real_logs / f) for f in REAL])
    yield con, result
    con.close()


def test_every_real_log_ingests_with_exact_counts(real_db, real_logs):
    con, result = real_db
    assert result.ok
    got = {
        Path(p).relative_to(real_logs).as_posix(): (f, lines, rows, rej)
        for p, f, lines, rows, rej in con.execute("SELECT path, format, lines, rows, rejects FROM sources").fetchall()
    }
    assert got == REAL
    table = result.table
    assert list(table.columns) == ["file", "format", "lines", "rows", "rejects", "seconds", "lines/s", "note"]
    assert table[["format", "lines", "rows", "rejects"]].values.tolist() == [list(v) for v in REAL.values()]
    assert con.execute("SELECT count(*) FROM requests").fetchone()[0] == sum(v[2] for v in REAL.values())


def test_real_log_rejects_keep_reason_and_raw(real_db):
    con, _ = real_db
    blog = rejects(con, 1)
    assert [(n, r) for n, r, _ in blog] == [(8899, "malformed")]
    assert blog[0][2].endswith('"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html')
    iis = rejects(con, 6)
    assert {r for _, r, _ in iis} == {"header"}
    assert [n for n, _, _ in iis][:5] == [1, 2, 3, 4, 11]


def test_real_log_fields(real_db):
    con, _ = real_db
    # apache-combined-homeserver line 2: +0100 becomes UTC, HTTP/1.0
    assert req(con, 2, 2) == base(
        ts=dt.datetime(2015, 10, 25, 3, 11, 26, tzinfo=UTC),
        method="GET",
        path="/join_form",
        status=200,
        bytes=11114,
        client="23.95.237.180",
        referer="http://howto.basjes.nl/",
        user_agent="Mozilla/5.0 (Windows NT 5.1; rv:35.0) Gecko/20100101 Firefox/35.0",
    )
    # apache-combined-blog line 8898: referer '-' is NULL
    assert req(con, 1, 8898) == base(
        ts=dt.datetime(2015, 5, 20, 12, 5, 48, tzinfo=UTC),
        method="GET",
        path="/files/fastest_sites/",
        status=200,
        bytes=1436,
        client="46.118.127.106",
        user_agent="portscout/0.8.1",
    )
    # uvicorn: no time, no size, the client loses its port; CRLF file keeps the query without the CR
    assert req(con, 4, 10) == base(method="GET", path="/", status=404, client="193.42.32.221")
    assert req(con, 3, 17) == base(
        method="OPTIONS", path="/users", query="page=1&limit=25", status=200, client="127.0.0.1"
    )
    # gunicorn
    assert req(con, 5, 2)["ts"] == dt.datetime(2018, 11, 16, 12, 57, 53, tzinfo=UTC)
    # IIS: UTC date + time, time-taken in ms, '+' in the user agent is a space
    assert req(con, 6, 5) == base(
        ts=dt.datetime(2015, 1, 13, 0, 32, 17, tzinfo=UTC),
        method="GET",
        path="/robots.txt",
        status=404,
        bytes=1405,
        duration_ms=283.0,
        client="157.55.39.146",
        user_agent="Mozilla/5.0 (compatible; bingbot/2.0;  http://www.bing.com/bingbot.htm)",
    )
    # nginx xff shop: +0330, percent-encoded path kept as logged
    shop = req(con, 7, 1)
    assert shop["ts"] == dt.datetime(2019, 1, 22, 0, 26, 14, tzinfo=UTC)
    assert shop["path"].startswith("/filter/27|13%20%D9%85") and shop["status"] == 200 and shop["bytes"] == 30577
    # nginx json: +09:00, numbers as strings, request_time in seconds
    assert req(con, 8, 3) == base(
        ts=dt.datetime(2024, 10, 12, 14, 14, 21, tzinfo=UTC),
        method="GET",
        path="/",
        status=200,
        bytes=6038,
        duration_ms=852.0,
        client="172.31.7.82",
        user_agent="benchmarker",
        referer="http://172.31.6.201/login",
    )


def test_new_real_log_fields_and_rejects(real_db):
    con, _ = real_db
    # classic ELB line 98: absolute URL cut to its path, query kept, \" unescaped, the three times (s) added up
    assert req(con, 9, 98) == base(
        ts=dt.datetime(2015, 11, 7, 18, 45, 33, 964284, tzinfo=UTC),
        method="GET",
        path="/",
        query="mode=json&after=&iteration=1",
        status=200,
        bytes=41690,
        duration_ms=pytest.approx(0.401),
        client="88.231.208.225",
        user_agent='Optional("Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 '
        '(KHTML, like Gecko) Mobile/11D257") (example iOS Application)',
    )
    # line 7: POST to another host, 0.000032 + 0.506634 + 0.000026 s; sent 71 bytes (received 99)
    assert req(con, 9, 7) == base(
        ts=dt.datetime(2015, 11, 7, 18, 45, 33, 94266, tzinfo=UTC),
        method="POST",
        path="/mobile/ios/register-push",
        status=200,
        bytes=71,
        duration_ms=pytest.approx(506.692),
        client="5.47.131.168",
        user_agent="example/7 CFNetwork/758.1.6 Darwin/15.0.0",
    )
    # nginx combined + $request_time line 5
    assert req(con, 10, 5) == base(
        ts=dt.datetime(2020, 7, 11, 12, 52, 12, tzinfo=UTC),
        method="GET",
        path="/static/css/main.19393e92.chunk.css",
        status=304,
        bytes=0,
        duration_ms=3.0,
        client="192.168.224.1",
        referer="http://localhost:8000/",
        user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/83.0.4103.116 Safari/537.36",
    )
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 "
        "Safari/537.36"
    )
    # Caddy line 1: ts in epoch seconds, duration in s, method from request.method (not the request object)
    assert req(con, 11, 1) == base(
        ts=dt.datetime(2025, 5, 19, 11, 7, 9, 925178, tzinfo=UTC),
        method="GET",
        path="/",
        status=308,
        bytes=0,
        duration_ms=pytest.approx(0.056806),
        client="172.19.0.1",
        user_agent=chrome,
    )
    # line 26: "msg":"NOP" with status 0, Referer header
    assert req(con, 11, 26) == base(
        ts=dt.datetime(2025, 5, 19, 11, 47, 19, 122304, tzinfo=UTC),
        method="GET",
        path="/wizard",
        status=0,
        bytes=0,
        duration_ms=pytest.approx(0.036705),
        client="172.20.0.1",
        user_agent=chrome,
        referer="https://localhost:8443/",
    )
    # line 469: ts is now an ISO string
    assert req(con, 11, 469)["ts"] == dt.datetime(2025, 5, 19, 21, 24, 2, 79000, tzinfo=UTC)
    assert con.execute("SELECT count(*) FROM requests WHERE source_id = 11 AND status = 0").fetchone()[0] == 75
    # Werkzeug behind a logging prefix: plain, coloured (ANSI codes dropped), OPTIONS; no time zone written (UTC)
    assert req(con, 12, 28) == base(
        ts=dt.datetime(2024, 2, 8, 17, 47, 38, tzinfo=UTC), method="GET", path="/", status=200, client="127.0.0.1"
    )
    assert req(con, 12, 45) == base(
        ts=dt.datetime(2024, 2, 8, 17, 47, 38, tzinfo=UTC),
        method="GET",
        path="/static/fontawesome/css/fontawesome.min.css",
        status=304,
        client="127.0.0.1",
    )
    assert req(con, 12, 10198)["method"] == "OPTIONS"
    got = rejects(con, 12)
    assert [(n, r) for n, r, _ in got if r != "not_a_request"] == [
        (778, "bad_method"),
        (781, "bad_method"),
        (782, "bad_method"),
        (784, "bad_method"),
    ]
    assert [(n, r) for n, r, _ in got][:3] == [(1, "not_a_request"), (2, "not_a_request"), (3, "not_a_request")]
    assert got[1][2] == " * Running on http://127.0.0.1:5000"
    chosen = con.execute("SELECT source_id, chosen FROM sources WHERE source_id >= 9 ORDER BY 1").fetchall()
    # the sample: the first 1,000 lines and 1,000 from the middle (all of a file shorter than that)
    assert chosen == [
        (9, "detected 668/668"),
        (10, "detected 1876/1876"),
        (11, "detected 686/686"),
        (12, "detected 1884/2000"),  # banners and the TLS handshakes (bad_method, within the 1 % allowed) aside
    ]


def test_real_logs_again_add_nothing(real_db, real_logs):
    con, _ = real_db
    before = sources(con)
    again = ingest.ingest(con, [str(real_logs / "*" / "*.log")])
    assert again.ok
    assert again.table[["lines", "rows", "rejects", "note"]].values.tolist() == [[0, 0, 0, "unchanged"]] * len(REAL)
    assert sources(con) == before


def test_directory_skips_files_that_are_not_logs(con, real_logs):
    result = ingest.ingest(con, [str(real_logs / "nginx-json-timed")])
    assert result.ok
    notes = dict(zip(result.table["file"].map(lambda p: Path(p).name), result.table["note"]))
    assert notes == {
        "access.log": "new",
        "alp-reference.txt": "skipped: format not recognised: no format reads the sample "
        "(none parsed any of its 21 lines); pass --format NAME",
    }


# --- formats ------------------------------------------------------------------------------------------------------


def test_formats_detected_and_parsed(con, tmp_path):
    files = {
        "common.log": '::1 - alice [02/Mar/2026:10:00:00 -0330] "DELETE /trips/7 HTTP/1.0" 204 -\n',
        "gunicorn_L.log": '127.0.0.1 - - [02/Mar/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 12 "-" "ua" 0.012345\n',
        "uvicorn.log": 'INFO:     [::1]:5000 - "GET /health HTTP/1.1" 200 OK\n',
        "structlog.log": '{"event": "request", "timestamp": "2026-03-02T10:00:00.5", "method": "get", '
        '"path": "/c?x=1", "status_code": "500", "duration_ms": "12.5", "request_id": "r1"}\n',
        "alb.log": 'https 2026-03-02T10:00:00.123456Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.001 0.250 '
        '0.002 200 200 34 366 "GET https://api.example.com:443/trips/9?x=1 HTTP/1.1" "curl/7.46.0" '
        'ECDHE TLSv1.2 arn:aws:x "Root=1-5" "api.example.com" "-" 0 2026-03-02T10:00:00.000000Z '
        '"forward" "-" "-" "10.0.0.1:80" "200" "-" "-"\n',
        "w3c.log": "#Software: Microsoft IIS\n#Fields: date time cs-method cs-uri-stem cs-uri-query sc-status "
        "time-taken\n2026-03-02 10:00:00 GET /d a=b 302 7\n",
    }
    for name, text in files.items():
        write(tmp_path / name, text)
    # an integer request time does not say its unit (Apache %D is µs, %{ms}T ms): refused until named
    apache_d = write(
        tmp_path / "apache_D.log",
        '1.2.3.4 - - [02/Mar/2026:10:00:00 +0545] "POST /b HTTP/1.1" 201 3 "http://r/" "ua" 1500\n',
    )
    refused = ingest.ingest(con, [str(apache_d)])
    assert refused.errors == [
        f"{apache_d}: format ambiguous: combined_ms and combined_us read the sample equally well (1/1 lines, same "
        "fields); pass --format NAME"
    ]
    result = ingest.ingest(con, [str(tmp_path / n) for n in files], tz="Europe/Paris")
    assert result.ok
    assert ingest.ingest(con, [str(apache_d)], fmt="apache_D").ok
    assert result.table["format"].tolist() == ["common", "combined_s", "uvicorn", "json", "alb", "w3c"]
    assert con.execute("SELECT format, chosen FROM sources ORDER BY source_id").fetchall() == [
        ("common", "detected 1/1"),
        ("combined_s", "detected 1/1"),
        ("uvicorn", "detected 1/1"),
        ("json", "detected 1/1"),
        ("alb", "detected 1/1"),
        ("w3c", "detected 1/1"),
        ("combined_us", "declared"),
    ]
    got = [req(con, sid, 3 if sid == 6 else 1) for sid in (1, 2, 7, 3, 4, 5, 6)]
    assert got == [
        base(
            ts=dt.datetime(2026, 3, 2, 13, 30, tzinfo=UTC), method="DELETE", path="/trips/7", status=204, client="::1"
        ),
        base(
            ts=dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            method="GET",
            path="/a",
            status=200,
            bytes=12,
            duration_ms=pytest.approx(12.345),
            client="127.0.0.1",
            user_agent="ua",
        ),
        base(
            ts=dt.datetime(2026, 3, 2, 4, 15, tzinfo=UTC),
            method="POST",
            path="/b",
            status=201,
            bytes=3,
            duration_ms=1.5,
            client="1.2.3.4",
            user_agent="ua",
            referer="http://r/",
        ),
        base(method="GET", path="/health", status=200, client="[::1]"),
        base(
            ts=dt.datetime(2026, 3, 2, 9, 0, 0, 500000, tzinfo=UTC),
            method="GET",
            path="/c",
            query="x=1",
            status=500,
            duration_ms=12.5,
            request_id="r1",
        ),
        base(
            ts=dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC),
            method="GET",
            path="/trips/9",
            query="x=1",
            status=200,
            bytes=366,
            duration_ms=pytest.approx(253.0),
            client="192.168.131.39",
            user_agent="curl/7.46.0",
        ),
        base(
            ts=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            method="GET",
            path="/d",
            query="a=b",
            status=302,
            duration_ms=7.0,
        ),
    ]


def test_router_log_has_no_rejects_and_keeps_route_and_backend(con, tmp_path):
    from strangler import accesslog

    lines = [
        accesslog.format_record(
            (
                1772445600.25 + i,
                "GET",
                f"/trips/{i}?x=1",
                "/trips/<int:trip_id>",
                "fastapi" if i % 2 else "flask",
                200,
                0.0125,
                512,
                1.5,
                3,
                f"id{i}",
                "trips" if i < 2 else None,
                "/trips/<int:trip_id>" if i < 2 else None,
            )
        )
        for i in range(4)
    ]
    event = accesslog.event_line({"ts": "2026-03-02T10:00:05.000000Z", "batch": "trips", "action": "advance"})
    write(tmp_path / "router.log", "".join(lines) + event)
    result = ingest.ingest(con, [str(tmp_path / "router.log")])
    assert result.table[["format", "lines", "rows", "rejects"]].values.tolist() == [["strangler", 5, 4, 1]]
    # the pilot's event is kept whole as a reject with its own reason, never counted as a request
    assert con.execute("SELECT line_no, reason, raw FROM rejects").fetchall() == [(5, "router_event", event[:-1])]
    assert req(con, 1, 2) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 1, 250000, tzinfo=UTC),
        method="GET",
        path="/trips/1",
        query="x=1",
        status=200,
        bytes=512,
        duration_ms=12.5,
        request_id="id1",
        backend="fastapi",
        logged_route="/trips/<int:trip_id>",
        db_ms=1.5,
        db_queries=3,
    )


def test_json_field_mapping_is_configurable(con, tmp_path):
    write(
        tmp_path / "app.log",
        '{"when": "2026-03-02T10:00:00Z", "verb": "PUT", "url": "/x", "code": "404", "took": "250"}\n',
    )
    ingest.ingest(
        con, [str(tmp_path / "app.log")], json_fields={"ts": ["when"], "status": ["code"], "duration_ms": ["took:us"]}
    )
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC), method="PUT", path="/x", status=404, duration_ms=0.25
    )


def test_format_override_and_unknown_format(con, tmp_path):
    write(tmp_path / "a.log", nginx(2))
    result = ingest.ingest(con, [str(tmp_path / "a.log")], fmt="combined")
    assert result.table["format"].tolist() == ["combined"]
    assert req(con, 1, 1)["duration_ms"] is None
    with pytest.raises(StranglerError, match="unknown log format 'nginx-ish'"):
        ingest.ingest(con, [str(tmp_path / "a.log")], fmt="nginx-ish")
    with pytest.raises(StranglerError, match="unknown time zone 'Mars/Base'"):
        ingest.ingest(con, [str(tmp_path / "a.log")], tz="Mars/Base")


# --- bad input ----------------------------------------------------------------------------------------------------


def test_blank_lines_headers_crlf_and_unbalanced_quotes(con, tmp_path):
    text = (
        "# written by hand\r\n"
        + nginx(1).replace("\n", "\r\n")
        + "\r\n   \n"
        + '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /open HTTP/1.1" 200 1 "-" "ua\n'
        + nginx(1, 5)
    )
    write(tmp_path / "mixed.log", text)
    result = ingest.ingest(con, [str(tmp_path / "mixed.log")], fmt="combined_s")
    assert result.table[["lines", "rows", "rejects"]].values.tolist() == [[6, 2, 4]]
    assert rejects(con) == [
        (1, "header", "# written by hand"),
        (3, "blank", ""),
        (4, "blank", "   "),
        (5, "malformed", '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /open HTTP/1.1" 200 1 "-" "ua'),
    ]
    assert req(con, 1, 2)["user_agent"] == "curl/8.1" and req(con, 1, 6)["path"] == "/trips/5"


def test_invalid_utf8_is_replaced_and_the_line_kept(con, tmp_path):
    raw = (
        nginx(1).encode()
        + b'1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /caf\xe9 HTTP/1.1" 200 1 "-" "\xff\xfe" 0.5\n'
    )
    write(tmp_path / "latin.log", raw)
    result = ingest.ingest(con, [str(tmp_path / "latin.log")])
    assert result.table[["format", "lines", "rows", "rejects"]].values.tolist() == [["combined_s", 2, 2, 0]]
    assert req(con, 1, 2)["path"] == "/caf\ufffd" and req(con, 1, 2)["user_agent"] == "\ufffd\ufffd"


def test_line_over_one_megabyte_is_a_reject(con, tmp_path):
    long = '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /' + "a" * (1 << 20) + ' HTTP/1.1" 200 1 "-" "ua" 0.1\n'
    huge = "x" * (9 << 20) + "\n"
    write(tmp_path / "long.log", nginx(1) + long + huge + nginx(1, 3))
    result = ingest.ingest(con, [str(tmp_path / "long.log")])
    assert result.ok
    assert result.table[["lines", "rows", "rejects"]].values.tolist() == [[4, 2, 2]]
    got = rejects(con)
    assert [(n, r, len(raw)) for n, r, raw in got] == [(2, "too_long", 2048), (3, "too_long", 2048)]
    assert got[0][2] == long[:2048]


def test_empty_file(con, tmp_path):
    write(tmp_path / "empty.log", "")
    result = ingest.ingest(con, [str(tmp_path / "empty.log")])
    assert result.ok
    assert result.table[["lines", "rows", "rejects"]].values.tolist() == [[0, 0, 0]]
    assert sources(con) == [(1, "combined", 0, 0, 0)]
    write(tmp_path / "empty.log", nginx(2))  # an empty file that fills up later
    ingest.ingest(con, [str(tmp_path / "empty.log")], fmt="combined_s")
    assert sources(con) == [(1, "combined", 2, 2, 0)]


def test_dashes_http10_ipv6_and_unusual_offsets(con, tmp_path):
    write(
        tmp_path / "odd.log",
        '2001:db8::1 - - [31/Dec/2025:23:59:59 -1200] "GET / HTTP/1.0" 304 - "-" "-" -\n'
        '10.0.0.1 - bob [01/Jan/2026:00:00:00 +1345] "-" 400 0 "-" "-" 0.000\n',
    )
    result = ingest.ingest(con, [str(tmp_path / "odd.log")], fmt="combined_s")
    assert result.table[["rows", "rejects"]].values.tolist() == [[2, 0]]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 1, 1, 11, 59, 59, tzinfo=UTC), method="GET", path="/", status=304, client="2001:db8::1"
    )
    assert req(con, 1, 2) == base(
        ts=dt.datetime(2025, 12, 31, 10, 15, tzinfo=UTC), status=400, bytes=0, duration_ms=0.0, client="10.0.0.1"
    )


def test_bad_timestamp_is_a_reject(con, tmp_path):
    write(tmp_path / "ts.log", nginx(1) + nginx(1).replace("02/Mar/2026", "31/Feb/2026"))
    result = ingest.ingest(con, [str(tmp_path / "ts.log")])
    assert result.table[["rows", "rejects"]].values.tolist() == [[1, 1]]
    assert [(n, r) for n, r, _ in rejects(con)] == [(2, "bad_timestamp")]


def test_truncated_gzip_keeps_readable_lines_and_goes_on(con, tmp_path):
    whole = gzip.compress(nginx(5000).encode())
    write(tmp_path / "cut.log.gz", whole[: len(whole) // 2])
    write(tmp_path / "next.log", nginx(3))
    result = ingest.ingest(con, [str(tmp_path / "cut.log.gz"), str(tmp_path / "next.log")])
    assert result.ok
    (lines, rows, rej), (l2, r2, j2) = result.table[["lines", "rows", "rejects"]].values.tolist()
    assert rej == 1 and rows == lines - 1 and 0 < rows < 5000 and (l2, r2, j2) == (3, 3, 0)
    last = rejects(con)
    assert last[0][0] == lines and last[0][1] == "truncated_gzip" and nginx(5000).startswith(nginx(rows) + last[0][2])
    assert "gzip stream ends early" in result.table["note"][0]
    # rows are exactly the first lines of the file
    assert con.execute("SELECT max(line_no), count(DISTINCT line_no) FROM requests WHERE source_id = 1").fetchone() == (
        rows,
        rows,
    )


def test_gzip_and_plain_give_the_same_rows(con, tmp_path):
    text = nginx(300) + "\n" + nginx(10, 400)
    write(tmp_path / "p.log", text)
    write(tmp_path / "g.log.gz", gzip.compress(text.encode()))
    ingest.ingest(con, [str(tmp_path / "p.log")])
    (tmp_path / "p.log").unlink()
    ingest.ingest(con, [str(tmp_path / "g.log.gz")])
    # same content: the gzip is recognised as the plain file already read
    assert sources(con) == [(1, "combined_s", 311, 310, 1)]
    con2 = db.connect(tmp_path / "other.duckdb")
    ingest.ingest(con2, [str(tmp_path / "g.log.gz")])
    cols = "line_no, ts, method, path, query, status, bytes, duration_ms, client, user_agent, referer"
    assert (
        con.execute(f"SELECT {cols} FROM requests ORDER BY line_no").fetchall()
        == con2.execute(f"SELECT {cols} FROM requests ORDER BY line_no").fetchall()
    )
    con2.close()


def test_unreadable_and_missing_files_exit_1_with_summary(tmp_path, capsys):
    write(tmp_path / "a.log", nginx(2))
    secret = write(tmp_path / "secret.log", nginx(2))
    secret.chmod(0)
    dbfile = str(tmp_path / "x.duckdb")
    try:
        code = cli.main(["ingest", str(tmp_path / "a.log"), str(tmp_path / "nope.log"), str(secret), "--db", dbfile])
    finally:
        secret.chmod(0o644)
    out = capsys.readouterr().out
    if os.geteuid() == 0:  # root reads anything: only the missing file fails
        assert "secret.log" in out
    assert code == 1
    assert "could not read " + str(tmp_path / "nope.log") + ": no such file or directory" in out
    assert "a.log combined_s     2    2       0" in out


def test_cli_exit_codes(tmp_path, capsys):
    write(tmp_path / "a.log", nginx(2) + "\n")
    dbfile = str(tmp_path / "x.duckdb")
    assert cli.main(["ingest", str(tmp_path / "a.log"), "--db", dbfile]) == 0
    assert "total: 1 files, 3 lines, 2 rows, 1 rejects" in capsys.readouterr().out
    assert cli.main(["ingest", str(tmp_path / "a.log"), "--db", dbfile, "--format", "bogus"]) == 2
    assert "strangler: error: unknown log format 'bogus'" in capsys.readouterr().err
    write(tmp_path / "what.log", "hello\nworld\n")
    assert cli.main(["ingest", str(tmp_path / "what.log"), "--db", dbfile]) == 1
    assert "format not recognised" in capsys.readouterr().out


# --- idempotence, growth, rotation, crash -------------------------------------------------------------------------


def test_idempotent_and_append(con, tmp_path):
    log = write(tmp_path / "access.log", nginx(10))
    ingest.ingest(con, [str(log)])
    again = ingest.ingest(con, [str(log)])
    assert again.table[["lines", "note"]].values.tolist() == [[0, "unchanged"]]
    with open(log, "a") as f:
        f.write(nginx(5, 10))
    grew = ingest.ingest(con, [str(log)])
    assert grew.table[["lines", "rows", "rejects", "note"]].values.tolist() == [[5, 5, 0, "grew"]]
    assert sources(con) == [(1, "combined_s", 15, 15, 0)]
    assert con.execute(
        "SELECT list(line_no ORDER BY line_no), list(path ORDER BY line_no)[15] FROM requests"
    ).fetchone() == (list(range(1, 16)), "/trips/14")
    assert con.execute("SELECT bytes_read FROM sources").fetchone()[0] == log.stat().st_size


def test_unterminated_last_line_waits_for_its_newline(con, tmp_path):
    full = nginx(3)
    log = write(tmp_path / "live.log", full[:-20])
    first = ingest.ingest(con, [str(log)])
    assert first.table[["lines", "rows", "rejects"]].values.tolist() == [[3, 2, 1]]
    assert [(n, r) for n, r, _ in rejects(con)] == [(3, "unterminated")]
    write(log, full + nginx(1, 3))
    ingest.ingest(con, [str(log)])
    assert sources(con) == [(1, "combined_s", 4, 4, 0)]
    assert rejects(con) == [] and req(con, 1, 3)["path"] == "/trips/2"


@pytest.mark.parametrize("gz", [False, True])
def test_a_blank_line_beside_an_unfinished_last_line_keeps_every_line_number(con, tmp_path, monkeypatch, gz):
    """DuckDB's CSV reader skips a blank line; an unfinished last line read with it would take the number of the
    last complete line and hide the skip (every later request one line too low, the blank line gone). The fast
    reader never sees the unfinished line, so the skip shows and the file is read line by line instead."""
    monkeypatch.setattr(ingest, "PIECES", 1)
    lines = nginx(40).splitlines()
    lines[30] = ""
    text = "\n".join(lines)  # no newline after the last line
    log = write(tmp_path / ("live.log.gz" if gz else "live.log"), gzip.compress(text.encode()) if gz else text)
    for fmt in (
        "combined_s",
        (
            'nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
            '"$http_user_agent" $request_time'
        ),
    ):
        con.execute("DELETE FROM requests; DELETE FROM rejects; DELETE FROM sources")
        ingest.ingest(con, [str(log)], fmt=fmt)
        numbered = con.execute("SELECT line_no, path FROM requests ORDER BY line_no").fetchall()
        assert numbered == [(n + 1, f"/trips/{n}") for n in range(39) if n != 30], fmt
        assert [(n, r) for n, r, _ in rejects(con)] == [(31, "blank"), (40, "unterminated")], fmt


def test_rotation_is_recognised_by_content(con, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    write(logs / "access.log", nginx(10))
    ingest.ingest(con, [str(logs)])
    # logrotate: the file grew by 5 lines, was renamed to .1, then gzipped to .2.gz; a new access.log started
    with open(logs / "access.log", "a") as f:
        f.write(nginx(5, 10))
    (logs / "access.log").rename(logs / "access.log.1")
    write(logs / "access.log", nginx(4, 100))
    first = ingest.ingest(con, [str(logs / "access.log*")])
    assert first.table[["file", "lines", "note"]].values.tolist() == [
        [str(logs / "access.log.1"), 5, "grew"],
        [str(logs / "access.log"), 4, "new"],
    ]
    write(logs / "access.log.2.gz", gzip.compress((logs / "access.log.1").read_bytes()))
    (logs / "access.log.1").rename(logs / "access.log.1.bak")
    (logs / "access.log").rename(logs / "access.log.1")
    with open(logs / "access.log.1", "a") as f:
        f.write(nginx(1, 104))
    write(logs / "access.log", nginx(2, 200))
    second = ingest.ingest(con, [str(logs)])
    assert second.table[["file", "lines", "note"]].values.tolist() == [
        [str(logs / "access.log.2.gz"), 0, "unchanged"],
        [str(logs / "access.log.1"), 1, "grew"],
        [str(logs / "access.log"), 2, "new"],
        [str(logs / "access.log.1.bak"), 0, "unchanged"],
    ]
    assert sources(con) == [(1, "combined_s", 15, 15, 0), (2, "combined_s", 5, 5, 0), (3, "combined_s", 2, 2, 0)]
    assert con.execute("SELECT count(*), count(DISTINCT path) FROM requests").fetchone() == (22, 22)


KILLER = """
import sys, time
from strangler import db, ingest
con = db.connect(sys.argv[1])
ingest.ingest(con, [sys.argv[2]])
print("small done", flush=True)
run = ingest._run
def announce(*args):  # the first block of the big file is stored, its transaction still open: say so, then wait
    n = run(*args)
    print("inside big", flush=True)
    time.sleep(60)
    return n
ingest._run = announce
ingest.ingest(con, [sys.argv[3]])
print("big done", flush=True)
"""


def test_kill_9_mid_ingest_then_rerun_gives_exact_counts(tmp_path):
    small = write(tmp_path / "small.log", nginx(50))
    big = tmp_path / "big.log.gz"  # gzip: the block-by-block reader, several seconds of work
    with gzip.open(big, "wt", compresslevel=1) as f:
        chunk = nginx(1000, 5000)
        for _ in range(500):
            f.write(chunk)
    dbfile = tmp_path / "k.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(dbfile), str(small), str(big)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "small done"
    assert proc.stdout.readline().strip() == "inside big"  # the event: a block of the big file is stored, uncommitted
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # killed inside the big file's transaction
    con = db.connect(dbfile)
    try:
        assert sources(con) == [(1, "combined_s", 50, 50, 0)]
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE source_id = 2) FROM requests").fetchone() == (50, 0)
        ingest.ingest(con, [str(small), str(big)])
        assert sources(con) == [(1, "combined_s", 50, 50, 0), (2, "combined_s", 500_000, 500_000, 0)]
        assert con.execute("SELECT count(*), count(DISTINCT (source_id, line_no)) FROM requests").fetchone() == (
            500_050,
            500_050,
        )
        # every line number is the physical line that holds the request (line k has /trips/5000 + (k-1) % 1000)
        assert (
            con.execute(
                "SELECT count(*) FROM requests WHERE source_id = 2 "
                "AND path <> '/trips/' || (5000 + (line_no - 1) % 1000)"
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()


# --- views for notebook 01 -------------------------------------------------------------------------------------


def test_views(con, tmp_path):
    write(tmp_path / "a.log", nginx(3) + "\n" + nginx(1, 3).replace(" 200 ", " 503 ") + "junk <b>\n")
    ingest.ingest(con, [str(tmp_path / "a.log")])
    assert ingest.sources(con)[["source_id", "file", "format", "lines", "rows", "rejects"]].values.tolist() == [
        [1, "a.log", "combined_s", 6, 4, 2]
    ]
    assert ingest.rejects_by_reason(con, examples=1).values.tolist() == [
        ["blank", 1, "a.log:4: "],
        ["malformed", 1, "a.log:6: junk <b>"],
    ]
    cov = ingest.coverage(con)
    assert cov[["file", "rows", "with_ts", "first_ts", "last_ts"]].values.tolist() == [
        ["a.log", 4, 4, dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), dt.datetime(2026, 3, 2, 9, 0, 3, tzinfo=UTC)]
    ]
    assert ingest.status_mix(con)[["file", "status_class", "requests"]].values.tolist() == [
        ["a.log", "2xx", 3],
        ["a.log", "5xx", 1],
    ]


def test_cli_json_field_option(tmp_path, capsys):
    write(tmp_path / "app.log", '{"at": 1772445600, "verb": "GET", "url": "/y", "code": 201, "took": "0.5"}\n')
    dbfile = tmp_path / "x.duckdb"
    assert (
        cli.main(
            [
                "ingest",
                str(tmp_path / "app.log"),
                "--db",
                str(dbfile),
                "--json-field",
                "ts=at",
                "--json-field",
                "status=code",
                "--json-field",
                "duration_ms=took:s",
            ]
        )
        == 0
    )
    con = db.connect(dbfile)
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC), method="GET", path="/y", status=201, duration_ms=500.0
    )
    con.close()
    assert cli.main(["ingest", str(tmp_path / "app.log"), "--db", str(dbfile), "--json-field", "oops"]) == 2
    assert "--json-field 'oops': write COLUMN=KEY" in capsys.readouterr().err


def test_notebook_01_runs_and_escapes_rejects(tmp_path, real_logs):
    import nbformat
    import papermill

    hostile = write(tmp_path / "hostile.log", nginx(3) + "<script>alert(1)</script>\n")
    con = db.connect(tmp_path / "nb.duckdb", "create")  # the notebook only reads: the logs are ingested first
    ingest.ingest(con, [str(hostile), str(real_logs / "iis-w3c-timed")])
    con.close()
    out = tmp_path / "01.ipynb"
    papermill.execute_notebook(
        str(Path(__file__).parent.parent / "notebooks" / "01_ingest.ipynb"),
        str(out),
        parameters={"db": str(tmp_path / "nb.duckdb")},
        progress_bar=False,
        log_output=False,
    )
    nb = nbformat.read(out, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    summary = "".join(o.get("text", "") for o in cells[-1].outputs)
    assert summary == "2 log files, 258 lines: 213 requests and 45 rejects\n"
    html = "".join(o.get("data", {}).get("text/html", "") for c in cells for o in c.outputs)
    assert "hostile.log:4: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize("pieces", [1, 5])
def test_fast_readers_keep_exact_line_numbers(con, tmp_path, monkeypatch, pieces):
    """Files that each reader must hand to the next: blank lines, an unbalanced quote, a '#' line; the line
    number of every request must still be the physical line that holds it, also when a file is read in
    pieces side by side (cut small here so that every file is)."""
    monkeypatch.setattr(ingest, "PIECES", pieces)
    monkeypatch.setattr(ingest, "PIECE_BYTES", 1000)
    read = []
    numbered = ingest._numbered
    monkeypatch.setattr(ingest, "_numbered", lambda p, options: read.append(len(p)) or numbered(p, options))
    cases = {
        "plain.log": nginx(3000),  # each file starts differently: else it is "the same file"
        "blank.log": nginx(1000, 10_000) + "\n" + nginx(1000, 11_000) + "\n\n" + nginx(1000, 12_000),
        "quote.log": nginx(1000, 20_000) + '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 1 '
        '"-" "ua\n' + nginx(1000, 21_000) + "# note\n" + nginx(1000, 22_000),
        "crlf.log": nginx(3000, 30_000).replace("\n", "\r\n"),
    }
    for name, text in cases.items():
        write(tmp_path / name, text)
    result = ingest.ingest(con, [str(tmp_path / n) for n in cases])
    assert result.table[["lines", "rows", "rejects"]].values.tolist() == [
        [3000, 3000, 0],
        [3003, 3000, 3],
        [3002, 3000, 2],
        [3000, 3000, 0],
    ]
    for sid, name in enumerate(cases, 1):
        lines = (tmp_path / name).read_text().splitlines()
        got = con.execute("SELECT line_no, path FROM requests WHERE source_id = ? ORDER BY line_no", [sid]).fetchall()
        assert all(f"GET {p}?page=2 " in lines[n - 1] for n, p in got), name
    assert max(read) == pieces


def test_pieces_cut_at_line_starts_and_count_every_newline(tmp_path, monkeypatch):
    text = nginx(700) + "no newline at the end"
    log = write(tmp_path / "a.log", text)
    cuts = ingest._cuts(log, log.stat().st_size, pieces=4, min_bytes=100)
    data = log.read_bytes()
    assert len(cuts) == 5 and cuts[0] == 0 and cuts[-1] == len(data)
    assert all(data[c - 1 : c] == b"\n" for c in cuts[1:-1])
    monkeypatch.setattr(ingest, "PIECE_BYTES", 100)
    scan = ingest._prescan(ingest._Content(log), 4)
    assert [(lo, hi) for lo, hi, _ in scan.pieces] == list(zip(cuts, cuts[1:]))
    assert (scan.newlines, scan.ends_with_newline, scan.clean, scan.tail) == (700, False, True, 21)
    assert [before for _, _, before in scan.pieces] == [data[:lo].count(b"\n") for lo, _, _ in scan.pieces]
    counts = ingest._Bytes()  # a CRLF cut between two blocks still counts as one
    for block in (b"a\r", b"\nb\r\n", b"c\0d"):
        counts.add(block)
    assert (counts.nl, counts.cr, counts.crlf, counts.nul, counts.tail) == (2, 2, 2, 1, 3)


def test_progress_bar_on_stderr(con, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ingest, "PROGRESS_DELAY", 0)
    write(tmp_path / "a.log", nginx(100))
    write(tmp_path / "b.log.gz", gzip.compress(nginx(100, 500).encode()))
    result = ingest.ingest(con, [str(tmp_path / "a.log"), str(tmp_path / "b.log.gz")], progress=True)
    assert result.table["rows"].tolist() == [100, 100]
    err = capsys.readouterr().err
    assert "ingest: 100%" in err


def test_w3c_file_that_grows_keeps_its_fields_header(con, tmp_path):
    log = write(
        tmp_path / "u_ex.log",
        "#Software: Microsoft IIS\n#Fields: date time cs-method cs-uri-stem "
        "sc-status time-taken\n2026-03-02 10:00:00 GET /a 200 5\n",
    )
    ingest.ingest(con, [str(log)])
    with open(log, "a") as f:
        f.write(
            "2026-03-02 10:00:01 POST /b 201 6\n#Fields: date time cs-method cs-uri-stem sc-status\n"
            "2026-03-02 10:00:02 GET /c 404\n"
        )
    grew = ingest.ingest(con, [str(log)])
    assert grew.table[["lines", "rows", "rejects", "note"]].values.tolist() == [[3, 2, 1, "grew"]]
    assert [(r["method"], r["path"], r["status"], r["duration_ms"]) for r in (req(con, 1, n) for n in (3, 4, 6))] == [
        ("GET", "/a", 200, 5.0),
        ("POST", "/b", 201, 6.0),
        ("GET", "/c", 404, None),
    ]


def test_gzip_blocks_stay_bounded(tmp_path, monkeypatch):
    """A highly compressed file expands block by block, never all at once (memory stays bounded)."""
    monkeypatch.setattr(ingest, "BLOCK", 1 << 20)
    log = write(tmp_path / "a.log.gz", gzip.compress(nginx(1).encode() * 100_000) + gzip.compress(nginx(1, 7).encode()))
    content = ingest._Content(log)
    sizes = [len(b) for b in content.blocks()]
    assert max(sizes) <= 1 << 20
    assert (sum(sizes), content.size, content.truncated) == (len(nginx(1)) * 100_000 + len(nginx(1, 7)),) * 2 + (None,)


# --- confusion: every real log read with every other format --------------------------------------------------------


def misread(con, sid: int, path: Path, trusted: str, work: Path) -> dict[str, list[tuple]]:
    """`path` read by name with every format but `trusted`, each into its own DuckDB file: per format, the first
    rows it kept that disagree with source `sid` of `con` (the trusted reading) on method, path, status or duration
    (a NULL agrees: the format did not read that field), or that come from a line the trusted reading rejects."""
    wrong = {}
    for name in sorted(ingest.F.FORMATS):
        if name == trusted:
            continue
        dbfile = work / f"{name}.duckdb"
        other = db.connect(dbfile)
        ingest.ingest(other, [str(path)], fmt=name)
        other.close()
        con.execute("ATTACH ? AS other (READ_ONLY)", [str(dbfile)])
        try:
            rows = con.execute(
                """
                SELECT o.line_no, o.method, o.path, o.status, o.duration_ms, t.method, t.path, t.status, t.duration_ms
                FROM other.requests o LEFT JOIN requests t ON t.source_id = ? AND t.line_no = o.line_no
                WHERE t.line_no IS NULL
                   OR o.method IS DISTINCT FROM t.method AND o.method IS NOT NULL
                   OR o.path IS DISTINCT FROM t.path AND o.path IS NOT NULL
                   OR o.status IS DISTINCT FROM t.status AND o.status IS NOT NULL
                   OR o.duration_ms IS NOT NULL
                      AND (t.duration_ms IS NULL OR abs(o.duration_ms - t.duration_ms) > 1e-9 + 1e-9 * t.duration_ms)
                ORDER BY o.line_no LIMIT 3""",
                [sid],
            ).fetchall()
        finally:
            con.execute("DETACH other")
        if rows:
            wrong[name] = rows
    return wrong


@pytest.mark.slow
@pytest.mark.parametrize("log", list(REAL))
def test_real_log_read_as_another_format_never_keeps_a_wrong_value(real_db, real_logs, tmp_path, log):
    """Read by name with each other format, a real log gives rejects or a refusal: every row kept agrees with the
    trusted reading (the detected format, checked above) on method, path, status and duration, or leaves the
    field NULL; and no row is kept from a line that the trusted reading rejects."""
    con, _ = real_db
    assert misread(con, list(REAL).index(log) + 1, real_logs / log, REAL[log][0], tmp_path) == {}
