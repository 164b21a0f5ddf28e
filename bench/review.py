"""Benchmark: `compare.review` of every batch over 10 M requests (goal: under 30 s).

The requests table is generated synthetically in DuckDB by `compare.simulate` (daily and weekly cycles, skewed
route popularity, hourly random effects): 40 routes over 10 weeks, three batches of five routes each with
cutovers at days 20, 35 and 50. Run: `.venv/bin/python bench/review.py [--requests N] [--keep DB]`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

from strangler import compare, db, manifest

UTC = dt.timezone.utc
START = dt.datetime(2026, 1, 5, tzinfo=UTC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="DuckDB file to reuse (generated if missing)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.duckdb"
        fresh = not path.exists()
        con = db.connect(path)
        t0 = time.perf_counter()
        if fresh:
            compare.simulate(con, args.requests, seed=1, start=START, days=70, routes=40, batch_routes=0)
        n = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        t_gen = time.perf_counter() - t0
        batches = [manifest.Batch(f"batch{k + 1}", START + dt.timedelta(days=d, hours=9),
                                  tuple(("GET", f"/api/r{i}/<int:item_id>") for i in range(5 * k, 5 * k + 5)),
                                  None, k + 1)
                   for k, d in enumerate((20, 35, 50))]
        manifest.store(con, batches)
        t0 = time.perf_counter()
        result = compare.review(con)
        t_review = time.perf_counter() - t0
        in_windows = int(result.table.query("comparison == 'before_after' and method == '*' and metric == 'requests'")
                         [["n_before", "n_after"]].to_numpy().sum())
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
              f"{dt.date.today()}")
        print(f"requests table: {n:,} rows ({'generated' if fresh else 'reused'} in {t_gen:.1f} s)")
        print(f"review of {len(batches)} batches x 5 routes ({in_windows:,} requests in the windows): "
              f"{t_review:.1f} s -> {len(result.table)} rows; goal < 30 s")
        con.close()


if __name__ == "__main__":
    main()
