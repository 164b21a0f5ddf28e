"""Benchmark: straight to rollups (`strangler rollup --logs`) against the raw-row path on an API-like log.

    .venv/bin/python bench/onepass.py [--lines 5000000] [--rate 2000] [--raw] [--keep DIR]

Writes an nginx combined + $request_time log with DuckDB: a new client address on most lines, ~90,000 distinct
paths over bench/attribute.py's 500 Flask rules, `--rate` requests per second. Then times whole processes, start
to exit (imports and the final checkpoint included), each on a fresh DuckDB file that already holds the routes:
  * one pass: `strangler rollup --logs LOG --db DB`;
  * with `--raw`: `strangler ingest`, `strangler attribute` and `strangler rollup`, one after the other.
Prints lines/s and each process's peak RSS; checks that the one pass accounted for every line and that both give
the same rollups. Record the figures in bench/README.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attribute import rules  # bench/attribute.py: the 500 rules
from strangler import db, routes

LINE_SQL = r"""
SELECT (hash(i) % 223 + 1) || '.' || (i % 251) || '.' || (i // 251 % 251) || '.' || (i // 63001 % 251)
    || ' - - [' || strftime(TIMESTAMP '2026-03-02 00:00:00' + to_seconds(i // {rate}), '%d/%b/%Y:%H:%M:%S')
    || ' +0000] "' || m || ' ' || p || CASE WHEN i % 5 = 0 THEN '?page=' || (i % 9) ELSE '' END || ' HTTP/1.1" '
    || (['200', '200', '200', '201', '304', '404', '500'])[1 + ((h // 7) % 7)::BIGINT] || ' '
    || (h % 50000)::BIGINT || ' "-" "'
    || (['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
         'curl/8.1.2', 'TravelJournal/4.2.0 (Android 14; Pixel 8)'])[1 + i % 3] || '" '
    || printf('%.3f', ((h // 11) % 100000)::BIGINT / 100000.0) AS line
FROM (SELECT i, hash(i) AS h, hash(i * 7 + 1) AS h2 FROM range({start}, {stop}) t(i)) s,
LATERAL (SELECT
    CASE WHEN h % 10 < 6 THEN 'GET' WHEN h % 10 < 8 THEN 'POST' WHEN h % 10 < 9 THEN 'PUT' ELSE 'DELETE' END AS m,
    '/api/res' || (h2 % 110) ||
    CASE h % 7 WHEN 0 THEN '' WHEN 1 THEN '/' || (h2 % 2000)
               WHEN 2 THEN '/' || (h2 % 2000) || '/files/' || md5(CAST(h2 % 2000 AS VARCHAR))::UUID
               WHEN 3 THEN '/by-slug/s' || (h2 % 50) WHEN 4 THEN '/' || (h2 % 2000) || '/actions/start'
               WHEN 5 THEN '/' || (h2 % 2000) || '/actions/' || left(md5(CAST(h2 % 2000 AS VARCHAR)), 12)
               ELSE '/x' || (h % 20) END AS p)
"""


def generate(path: Path, lines: int, rate: int) -> None:
    """Write `lines` lines (1 M at a time, appended)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    step = 1_000_000
    with open(path, "wb") as out:
        for start in range(0, lines, step):
            part = path.with_suffix(".part")
            sql = LINE_SQL.format(start=start, stop=min(lines, start + step), rate=rate)
            con.execute(f"COPY ({sql}) TO '{part}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t')")
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
            part.unlink()
    con.close()


def fresh_db(path: Path) -> None:
    for f in (path, Path(f"{path}.wal")):
        f.unlink(missing_ok=True)
    con = db.connect(path)
    routes.store(con, "bench:app", "app", rules())
    con.close()


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `strangler` process, start to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "strangler", *args], check=True, capture_output=True)
    secs = time.perf_counter() - t
    # ru_maxrss of the children is the largest of any child so far: each step runs alone, largest first wins
    return secs, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024


def rollups(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    out = []
    for table in ("rollups", "rollup_latency", "rollup_peaks"):
        out.append(con.execute(f"SELECT count(*), hash(list(t ORDER BY t)) FROM (SELECT * FROM {table}) t").fetchone())
    con.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--rate", type=int, default=2000, help="requests per second in the generated log")
    ap.add_argument("--raw", action="store_true", help="also time ingest + attribute + rollup")
    ap.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp folder)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="strangler-onepass-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "access.log"
    try:
        t = time.perf_counter()
        if not log.exists():
            generate(log, args.lines, args.rate)
        print(
            f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.platform()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}; load {os.getloadavg()[0]:.1f}"
        )
        print(
            f"log: {args.lines:,} lines, {log.stat().st_size / 1e9:.2f} GB, written in {time.perf_counter() - t:.1f} s"
        )
        one = work / "onepass.duckdb"
        fresh_db(one)
        secs, rss = timed(["rollup", "--logs", str(log), "--db", str(one)])
        con = duckdb.connect(str(one), read_only=True)
        lines, rows, rejects = con.execute("SELECT sum(lines), sum(rows), sum(rejects) FROM sources").fetchone()
        sample = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        size = one.stat().st_size
        con.close()
        assert lines == args.lines and rows + rejects == lines, (lines, rows, rejects)
        print(
            f"one pass: {secs:.2f} s, {args.lines / secs:,.0f} lines/s, peak RSS {rss:,.0f} MB; "
            f"{rows:,} rows + {rejects:,} rejects = {lines:,} lines; {sample:,} sample rows; file {size / 1e6:.1f} MB"
        )
        if args.raw:
            raw = work / "raw.duckdb"
            fresh_db(raw)
            total = 0.0
            for step in (["ingest", str(log)], ["attribute"], ["rollup"]):
                s, r = timed([*step, "--db", str(raw)])
                total += s
                print(f"  {step[0]}: {s:.2f} s (peak RSS so far {r:,.0f} MB)")
            print(f"raw rows: {total:.2f} s, {args.lines / total:,.0f} lines/s; file {raw.stat().st_size / 1e6:.1f} MB")
            same = rollups(one) == rollups(raw)
            print(f"same rollups from both: {same}")
            assert same
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
