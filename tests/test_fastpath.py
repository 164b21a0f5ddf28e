"""Straight to rollups (`strangler rollup --logs`): the one pass gives the rollups of ingest + attribute + rollup,
accounts for every line, keeps only rejects and a bounded sample, and reading the same logs again adds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from strangler import db as dbm
from strangler import fastpath

APPS = ["--app", "strangler.demo.flask_app:app", "--app", "strangler.demo.fastapi_app:app"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "strangler", *args], capture_output=True, text=True, check=True)


def _rollups(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=str) for t in dbm.ROLLUP_TABLES}
    finally:
        con.close()


@pytest.mark.slow
def test_one_pass_equals_ingest_attribute_rollup(small_demo: Path, tmp_path: Path, monkeypatch) -> None:
    logs = small_demo / "logs"
    raw, one = tmp_path / "raw.duckdb", tmp_path / "one.duckdb"
    _cli("ingest", str(logs), "--db", str(raw))
    for db_file in (raw, one):
        _cli("routes", *APPS, "--db", str(db_file))
    _cli("attribute", "--db", str(raw))
    _cli("rollup", "--db", str(raw))
    monkeypatch.setattr(fastpath, "SAMPLE", 500)
    monkeypatch.setattr(fastpath, "CHUNK_BYTES", 1 << 20)  # many chunks: seconds and hours straddle them
    con = dbm.connect(one)
    result = fastpath.run(con, [str(logs)])
    assert result.ok
    sources = con.execute("SELECT path, lines, rows, rejects FROM sources ORDER BY path").fetchall()
    con.close()
    expected = _rollups(raw)
    assert _rollups(one) == expected
    assert sum(len(v) for v in expected.values()) > 1000
    rcon = duckdb.connect(str(raw), read_only=True)
    assert sources == rcon.execute("SELECT path, lines, rows, rejects FROM sources ORDER BY path").fetchall()
    ocon = duckdb.connect(str(one), read_only=True)
    assert all(lines == rows + rejects for _, lines, rows, rejects in sources)
    # raw rows: the rejects (all of them, with reason and line) and at most 500 requests per source
    assert (
        ocon.execute("SELECT source_id, line_no, reason, raw FROM rejects ORDER BY ALL").fetchall()
        == rcon.execute("SELECT source_id, line_no, reason, raw FROM rejects ORDER BY ALL").fetchall()
    )
    per_source = ocon.execute("SELECT source_id, count(*) FROM requests GROUP BY ALL ORDER BY 1").fetchall()
    assert per_source == [(1, 500), (2, 500), (3, 500)]
    # the sample rows are the raw path's rows, attributed the same way
    cols = "source_id, line_no, ts, method, path, query, status, bytes, duration_ms, client, user_agent, route, match"
    sample = ocon.execute(f"SELECT {cols} FROM requests ORDER BY source_id, line_no").fetchall()
    raw_rows = rcon.execute(f"SELECT {cols} FROM requests ORDER BY source_id, line_no").fetchall()
    first = [r for sid in (1, 2, 3) for r in [x for x in raw_rows if x[0] == sid][:500]]
    assert sample == first  # the first 500 requests of each source, attributed as attribute does
    assert ocon.execute("SELECT DISTINCT origin FROM rollup_state").fetchall() == [("ingest",)]
    ocon.close()
    rcon.close()
    # read again: nothing is added, and `strangler rollup` leaves the one-pass sources alone
    con = dbm.connect(one)
    again = fastpath.run(con, [str(logs)])
    assert list(again.table["lines"]) == [0, 0, 0] and all(again.table["note"].str.startswith("unchanged"))
    con.close()
    _cli("rollup", "--db", str(one))
    assert _rollups(one) == expected


def test_one_pass_needs_routes(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text('1.2.3.4 - - [02/Mar/2026:10:00:01 +0100] "GET /x HTTP/1.1" 200 5 "-" "ua" 0.1\n')
    run = subprocess.run(
        [sys.executable, "-m", "strangler", "rollup", "--logs", str(log), "--db", str(tmp_path / "x.duckdb")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert (
        run.stderr.strip() == "strangler: error: no routes to attribute the requests with: run `strangler routes` first"
    )


def _api_log(path: Path, lines: int) -> None:
    """An nginx combined + request time log over the demo's routes, with every kind of line that is not a request:
    garbage, a blank line, an unbalanced quote, a bad method, a bad status, and a last line with no newline."""
    paths = ["/api/trips", "/api/trips/{n}", "/api/trips/{n}/photos", "/nope/{n}", "/api/users/{n}", "/static/x.css"]
    out = []
    for i in range(lines):
        p = paths[i % len(paths)].replace("{n}", str(i % 37))
        method = ["GET", "POST", "DELETE", "HEAD", "PUT"][i % 5]
        sec = 1772445600 + i * 3  # a request every 3 seconds, across three hours
        ts = f"{2 + sec // 86400 - 20514:02d}/Mar/2026:{sec // 3600 % 24:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        out.append(
            f'10.0.{i % 7}.{i % 251} - - [{ts} +0000] "{method} {p}?q={i % 3} HTTP/1.1" {[200, 404, 500, 201][i % 4]} '
            f'{i * 7 % 5000} "-" "ua/{i % 3}" {(i % 997) / 1000:.3f}'
        )
    out[10] = "garbage that is no request"
    out[11] = ""
    out[500] = out[500].replace('"-"', '"-', 1)  # an unbalanced quote
    out[700] = out[700].replace('"GET ', '"G:T ', 1)
    out[900] = out[900].replace(" 200 ", " 999 ", 1)
    path.write_text("\n".join(out))


NGINX = (
    "nginx:$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
    '"$http_user_agent" $request_time'
)


@pytest.mark.parametrize(("chunk", "fmt"), [(1 << 30, "auto"), (60_000, "auto"), (60_000, NGINX)])
def test_one_pass_streams_a_plain_log_with_rejects(tmp_path: Path, monkeypatch, chunk: int, fmt: str) -> None:
    """The chunks of a plain log go straight from the CSV reader into the aggregates; the result is the raw
    path's, rejects included (file, line number, reason, raw line), in one chunk as in many, with the built-in
    format as with the same layout declared."""
    log = tmp_path / "access.log"
    _api_log(log, 3000)
    raw, one = tmp_path / "raw.duckdb", tmp_path / "one.duckdb"
    _cli("ingest", str(log), "--db", str(raw), "--format", fmt)
    for db_file in (raw, one):
        _cli("routes", *APPS, "--db", str(db_file))
    _cli("attribute", "--db", str(raw))
    _cli("rollup", "--db", str(raw))
    monkeypatch.setattr(fastpath, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(fastpath, "FIRST_BYTES", min(chunk, 1 << 20))
    monkeypatch.setattr(fastpath, "SAMPLE", 100)
    monkeypatch.setattr(fastpath, "COMPACT_ROWS", 100)  # the partials of the chunks added up as they go
    con = dbm.connect(one)
    result = fastpath.run(con, [str(log)], fmt=fmt)
    con.close()
    assert result.ok
    assert result.table["lines"].tolist() == [3000]
    assert _rollups(one) == _rollups(raw)
    ocon, rcon = duckdb.connect(str(one), read_only=True), duckdb.connect(str(raw), read_only=True)
    query = "SELECT line_no, reason, raw FROM rejects ORDER BY line_no"
    rejects = ocon.execute(query).fetchall()
    assert rejects == rcon.execute(query).fetchall()
    assert [r[0] for r in rejects] == [11, 12, 501, 701, 901, 3000]
    assert (rejects[1][1], rejects[-1][1]) == ("blank", "unterminated")
    if fmt == "auto":  # (a declared layout's own checks name the other lines `malformed`)
        assert [r[1] for r in rejects[1:]] == ["blank", "malformed", "bad_method", "bad_status", "unterminated"]
    # every chunk but the first went straight through: the CSV reader skips the blank line (and joins the lines
    # around the unbalanced quote), so the first is numbered by the line reader
    assert result.chunks == {"streamed": 0 if chunk > 1 << 20 else 5, "tabled": 1}
    assert result.table["rejects"].tolist() == [len(rejects)]
    layout = "SELECT format, layout FROM sources"
    assert ocon.execute(layout).fetchall() == rcon.execute(layout).fetchall()
    sources = "SELECT lines, rows, rejects FROM sources"
    assert ocon.execute(sources).fetchall() == rcon.execute(sources).fetchall()
    ocon.close()
    rcon.close()
