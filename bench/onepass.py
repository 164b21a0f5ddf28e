"""Benchmark: straight to rollups (`strangler rollup --logs`) against the raw-row path on an API-like log.

    .venv/bin/python bench/onepass.py [--lines 5000000] [--rate 2000] [--raw] [--floor] [--gb 10] [--keep DIR]

Writes an nginx combined + $request_time log with DuckDB: a new client address on most lines, ~90,000 distinct
paths over bench/attribute.py's 500 Flask rules, `--rate` requests per second. Then times whole processes, start
to exit (imports and the final checkpoint included), each on a fresh DuckDB file that already holds the routes:
  * one pass: `strangler rollup --logs LOG --db DB`;
  * with `--raw`: `strangler ingest`, `strangler attribute` and `strangler rollup`, one after the other.
  * with `--floor`: what bounds the one pass on this machine, each as its own process on the same file: DuckDB's
    CSV reader alone (`count(*)` over ingest's read_csv options, every core), and that reader with the parse the
    one pass runs (ingest's SQL for the columns the rollups read, and its field checks), aggregated to one row;
  * with `--gb N`: a second log of about N GB (written, read in one pass, deleted) for throughput and peak RSS.
Prints wall and CPU seconds, lines/s and each process's peak RSS, with the load average before and after; checks
that the one pass accounted for every line and that both paths give the same rollups. Record the figures in
bench/README.md by hand.
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


CPU = 0.0  # CPU seconds (user + system) of the last process `timed` ran
OUT = ""  # its standard output


def timed(args: list[str], python: bool = False) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `strangler` process (or, with `python`, of `python ARGS`), start to
    exit; its CPU seconds in CPU and its output in OUT."""
    global CPU, OUT
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    cmd = [sys.executable, *args] if python else [sys.executable, "-m", "strangler", *args]
    OUT = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    secs = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU = after.ru_utime + after.ru_stime - ru.ru_utime - ru.ru_stime
    # ru_maxrss of the children is the largest of any child so far: each step runs alone, largest first wins
    return secs, max(after.ru_maxrss, ru.ru_maxrss) / 1024


FLOOR = """
import sys, duckdb
from strangler import formats, ingest, parse_sql
path, what = sys.argv[1], sys.argv[2]
con = duckdb.connect()
if what == "read":
    print(con.execute(f"SELECT count(*) FROM read_csv('{path}', {ingest._READ_FIELDS})").fetchall())
else:  # the one pass's parse (ingest's SQL for the rollup columns) and its field checks, every core, no numbering
    fmt = formats.FORMATS["combined_s"]
    sql = ingest._columns_rows_sql(fmt, [(repr(path), 0)]).replace("row_number() OVER () + 0", "0")
    rows = sql[sql.index("SELECT") :]
    bad = parse_sql.bad_row(fmt)
    q = "SELECT count(*), min(ts), sum(bytes), count(*) FILTER (WHERE NOT " + bad + "), sum(hash(method, path))"
    print(con.execute(q + " FROM (" + rows + ")", {"last": 1 << 62, "sid": 1}).fetchall())
"""


def one_pass(log: Path, db_path: Path, lines: int) -> None:
    """Time `strangler rollup --logs LOG --db DB` on a fresh database; print and check what it did."""
    fresh_db(db_path)
    load = os.getloadavg()[0]
    secs, rss = timed(["rollup", "--logs", str(log), "--db", str(db_path)])
    con = duckdb.connect(str(db_path), read_only=True)
    n, rows, rejects = con.execute("SELECT sum(lines), sum(rows), sum(rejects) FROM sources").fetchone()
    sample = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    size = db_path.stat().st_size
    con.close()
    assert n == lines and rows + rejects == lines, (n, lines, rows, rejects)
    print(
        f"one pass: {secs:.2f} s ({CPU:.1f} CPU-s), {lines / secs:,.0f} lines/s, peak RSS {rss:,.0f} MB; "
        f"{rows:,} rows + {rejects:,} rejects = {lines:,} lines; {sample:,} sample rows; file {size / 1e6:.1f} MB; "
        f"load {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print("  " + OUT.strip().splitlines()[-1])  # the steps line


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
    ap.add_argument("--floor", action="store_true", help="also time the bare CSV read and the parse alone")
    ap.add_argument("--gb", type=float, default=0, help="also read a log of about this many GB (peak RSS)")
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
        one_pass(log, one, args.lines)
        if args.floor:
            for what in ("read", "parse"):
                secs, _ = timed(["-c", FLOOR, str(log), what], python=True)
                print(f"floor, {what}: {secs:.2f} s ({CPU:.1f} CPU-s), {args.lines / secs:,.0f} lines/s")
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
        if args.gb:
            big = work / "big.log"
            n = int(args.gb * 1e9 / (log.stat().st_size / args.lines))
            t = time.perf_counter()
            generate(big, n, args.rate)
            print(
                f"big log: {n:,} lines, {big.stat().st_size / 1e9:.2f} GB, written in {time.perf_counter() - t:.1f} s"
            )
            try:
                one_pass(big, work / "big.duckdb", n)
            finally:
                big.unlink()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
