"""Benchmark: `strangler ingest` against GoAccess on one generated nginx log (combined + $request_time).

    .venv/bin/python bench/ingest.py [--lines 5000000] [--rss-gb 0] [--no-goaccess] [--floor] [--no-declared]
                                     [--keep DIR]

Writes the log with DuckDB (fast, deterministic), then times, each in its own process:
  * strangler: `ingest.ingest` into a fresh DuckDB file (lines/s, peak RSS of the process);
  * GoAccess 1.7: the same file with the matching --log-format, JSON report to a temp file;
  * strangler with the same layout declared as nginx's log_format (`--format nginx:'...'`, strangler.layouts):
    its speed against the built-in combined_s on the same lines (the target is at least 80 %), and the rows equal.
and prints the ratio. `--rss-gb X` also writes an X GB log and reports the peak RSS of ingesting it (the issue's
10 GB case, measured on what the disk and the clock allow). Record the figures in bench/README.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

GOACCESS = shutil.which("goaccess") or "/usr/bin/goaccess"
NGINX_LAYOUT = (
    "nginx:$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
    '"$http_user_agent" $request_time'
)
GOACCESS_FORMAT = ['--log-format=%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T', "--date-format=%d/%b/%Y", "--time-format=%T"]

LINE_SQL = r"""
SELECT '10.' || (i % 250) || '.' || (i // 250 % 250) || '.' || (i % 7) || ' - - ['
    || strftime(TIMESTAMP '2026-03-02 00:00:00' + to_seconds(i // 20), '%d/%b/%Y:%H:%M:%S') || ' +0100] "'
    || (['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'])[1 + i % 6] || ' /trips/' || (hash(i) % 5000)::BIGINT
    || CASE WHEN i % 5 = 0 THEN '?page=' || (i % 9) ELSE '' END || ' HTTP/1.1" '
    || (['200', '200', '200', '201', '304', '404', '500'])[1 + ((hash(i) // 7) % 7)::BIGINT] || ' '
    || (hash(i) % 50000)::BIGINT || ' "-" "'
    || (['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
         'curl/8.1.2', 'TravelJournal/4.2.0 (Android 14; Pixel 8)'])[1 + i % 3] || '" '
    || printf('%.3f', ((hash(i) // 11) % 100000)::BIGINT / 100000.0) AS line
FROM range({start}, {stop}) t(i)
"""

CHILD = r"""
import json, resource, sys, time
from strangler import db, ingest
con = db.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")   # DuckDB's bar writes to stdout, where the JSON goes
t = time.perf_counter()
r = ingest.ingest(con, [sys.argv[2]], fmt=sys.argv[4])
secs = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# line k of the generated log has client 10.{i % 250}.{i // 250 % 250}.{i % 7}, i = k - 1: line numbers are exact
wrong = con.execute("SELECT count(*) FROM requests WHERE client <> '10.' || ((line_no - 1) % 250) || '.' "
                    "|| ((line_no - 1) // 250 % 250) || '.' || ((line_no - 1) % 7)").fetchall()[0][0]
out = {"seconds": secs, "lines": int(r.table["lines"].sum()), "rows": int(r.table["rows"].sum()), "rss_mb": rss,
       "wrong_line_numbers": wrong, "format": r.table["format"].iloc[0],
       "digest": con.execute("SELECT sum(hash(line_no, ts, method, path, query, status, bytes, duration_ms, client, "
                             "user_agent, referer)) FROM requests").fetchall()[0][0]}
if sys.argv[3] == "floor":
    # what no parser can beat on this machine: DuckDB's CSV reader splitting the fields (nothing parsed, nothing
    # stored), and storing the parsed rows (nothing read: an INSERT of the same rows from memory into a fresh file)
    con = db.connect(sys.argv[1])
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    con.execute("SELECT count(*) FROM read_csv(?, " + ingest._READ_FIELDS + ")", [sys.argv[2]]).fetchall()
    out["read_only_seconds"] = time.perf_counter() - t
    con.execute("CREATE TEMP TABLE parsed AS SELECT * FROM requests")
    con.execute("ATTACH ? AS fresh", [sys.argv[1] + ".fresh"])
    con.execute("USE fresh")
    con.execute(db.SCHEMA)
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{ingest.MEMORY_LIMIT}'")
    t = time.perf_counter()
    con.execute("INSERT INTO fresh.main.requests SELECT * FROM temp.main.parsed")
    out["store_only_seconds"] = time.perf_counter() - t
    con.close()
print(json.dumps(out))
"""


def generate(path: Path, lines: int) -> None:
    """Write `lines` nginx combined + request-time lines (1 M lines at a time, appended)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    step = 1_000_000
    with open(path, "wb") as out:
        for start in range(0, lines, step):
            part = path.with_suffix(".part")
            con.execute(
                f"COPY ({LINE_SQL.format(start=start, stop=min(lines, start + step))}) TO '{part}' "
                "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t')"
            )
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
            part.unlink()
    con.close()


def run_strangler(log: Path, work: Path, floor: bool = False, fmt: str = "auto") -> dict:
    dbfile = work / "bench.duckdb"
    files = [dbfile, dbfile.with_suffix(".duckdb.wal"), work / "bench.duckdb.fresh", work / "bench.duckdb.fresh.wal"]
    for f in files:
        f.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(dbfile), str(log), "floor" if floor else "-", fmt],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    for f in files:
        f.unlink(missing_ok=True)
    return result


def run_goaccess(log: Path, work: Path) -> float:
    t = time.perf_counter()
    subprocess.run(
        [GOACCESS, str(log), *GOACCESS_FORMAT, "-o", str(work / "goaccess.json"), "--no-progress"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--rss-gb", type=float, default=0.0, help="also ingest a log of this many GB for peak RSS")
    ap.add_argument("--no-goaccess", action="store_true", help="time strangler only (GoAccess takes minutes)")
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also time reading alone and storing alone: the ceiling for any parser on this machine",
    )
    ap.add_argument("--no-declared", action="store_true", help="skip the declared nginx layout's run")
    ap.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp folder)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="strangler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "access.log"
    try:
        t = time.perf_counter()
        generate(log, args.lines)
        size = log.stat().st_size
        print(
            f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.platform()}, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}"
        )
        print(f"log: {args.lines:,} lines, {size / 1e9:.2f} GB, written in {time.perf_counter() - t:.1f} s")
        s = run_strangler(log, work, args.floor)
        assert s["lines"] == s["rows"] == args.lines and s["wrong_line_numbers"] == 0, s
        sl = args.lines / s["seconds"]
        print(f"strangler: {s['seconds']:.2f} s, {sl:,.0f} lines/s, peak RSS {s['rss_mb']:,.0f} MB")
        if args.floor:
            r, w = s["read_only_seconds"], s["store_only_seconds"]
            print(
                f"floor: reading alone {r:.2f} s ({args.lines / r:,.0f} lines/s), storing alone {w:.2f} s "
                f"({args.lines / w:,.0f} lines/s); both, with no parsing: {args.lines / (r + w):,.0f} lines/s"
            )
        if not args.no_declared:
            d = run_strangler(log, work, fmt=NGINX_LAYOUT)
            assert d["lines"] == d["rows"] == args.lines and d["wrong_line_numbers"] == 0, d
            assert d["digest"] == s["digest"], "the declared layout's rows differ from combined_s's"
            dl = args.lines / d["seconds"]
            print(
                f"declared nginx layout ({d['format']}): {d['seconds']:.2f} s, {dl:,.0f} lines/s, "
                f"{dl / sl:.0%} of {s['format']}'s speed, same rows"
            )
        if not args.no_goaccess:
            g = run_goaccess(log, work)
            gl = args.lines / g
            print(f"goaccess:  {g:.2f} s, {gl:,.0f} lines/s")
            print(f"ratio strangler/goaccess: {sl / gl:.1f}x")
        log.unlink()
        if args.rss_gb > 0:
            per_line = size / args.lines
            n = int(args.rss_gb * 1e9 / per_line)
            generate(log, n)
            s = run_strangler(log, work)
            print(
                f"big log: {n:,} lines, {log.stat().st_size / 1e9:.2f} GB: {s['seconds']:.1f} s, "
                f"{n / s['seconds']:,.0f} lines/s, peak RSS {s['rss_mb']:,.0f} MB"
            )
            assert s["lines"] == n and s["wrong_line_numbers"] == 0, s
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
