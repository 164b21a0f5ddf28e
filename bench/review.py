"""Benchmark: `review.review` of every batch over 10 M requests (goal: under 30 s).

The requests table is generated synthetically in DuckDB by `simulate.simulate` (daily and weekly cycles, skewed
route popularity, hourly random effects): 40 routes over 10 weeks, three batches of five routes each with
cutovers at days 20, 35 and 50. Run: `.venv/bin/python bench/review.py [--requests N] [--keep DB]`.

`--calibrate N` instead checks the statistics on N seeds of a 60 k-request simulation with a 50 % canary in the
router's log: how often the 95 % interval excludes zero when nothing changed (nominal 5 %), how often a verdict
other than no_change is given when nothing changed (false alarms), and how often a 10 % and a 30 % latency cut on
one route is found (power).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from strangler import db, manifest, review, simulate

UTC = dt.UTC
START = dt.datetime(2026, 1, 5, tzinfo=UTC)


def calibrate(seeds: int, path: Path) -> None:
    """Coverage, false alarms and power of `review` over `seeds` simulated batches per setting.

    Setting `cutover`: no backend in the log, the effects hit every request after the cutover (before/after rows).
    Setting `canary`: the router's log, a 50 % canary, the effects hit FastAPI's requests (Flask-vs-FastAPI rows).
    Each batch has five routes: r0-r2 unchanged, r3 latency x 0.9, r4 latency x 0.7 (r4 carries ~10 % of traffic).
    """
    con = db.connect(path)
    rows = []
    for setting, backend in (("cutover", False), ("canary", True)):
        for seed in range(seeds):
            cut = dt.datetime(2026, 1, 19, 9, tzinfo=UTC) + dt.timedelta(hours=seed)
            name = f"{setting}{seed}"
            routes = simulate.simulate(
                con,
                60_000,
                seed=100 + seed,
                start=START,
                days=28,
                cutover=cut,
                backend=backend,
                canary=0.5 if backend else None,
                routes=6,
                batch_routes=5,
                prefix=f"/{name}",
                source_id=len(rows),
                effects={3: {"latency": 0.9}, 4: {"latency": 0.7}},
            )
            rows += [(name, m, r, cut, 0.5 if backend else None, len(rows) + 1) for m, r in routes]
    con.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
    t0 = time.perf_counter()
    t = review.review(con).table
    print(f"review of {2 * seeds} batches: {time.perf_counter() - t0:.1f} s")
    t = t[
        (t["verdict"] != "insufficient_data")
        & (
            (t["batch"].str.startswith("cutover") & (t["comparison"] == "before_after"))
            | (t["batch"].str.startswith("canary") & (t["comparison"] == "flask_vs_fastapi"))
        )
    ].copy()
    t["route"] = np.where(t["method"] == "*", "*", t["rule"].str.split("/").str[2])
    t["excludes_0"] = (t["ci_low"] > 0) | (t["ci_high"] < 0)
    t["called"] = t["verdict"] != "no_change"
    null = t[t["route"].isin(["r0", "r1", "r2"])]
    print("nothing changed (routes r0-r2, every metric): share of tests")
    print(null.groupby("comparison")[["excludes_0", "called"]].mean().round(4).to_string())
    lat = t[t["metric"].isin(["p50_ms", "p95_ms", "p99_ms"]) & t["route"].isin(["r3", "r4"])]
    print("latency cut found: share of seeds called better")
    print(
        lat.assign(better=lat["verdict"] == "better")
        .groupby(["comparison", "route", "metric"])["better"]
        .mean()
        .unstack("metric")
        .rename(index={"r3": "-10 %", "r4": "-30 %"})
        .to_string()
    )
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="DuckDB file to reuse (generated if missing)")
    ap.add_argument("--calibrate", type=int, default=0, metavar="N", help="check coverage and power on N seeds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.calibrate:
            calibrate(args.calibrate, Path(tmp) / "calibrate.duckdb")
            return
        path = args.keep or Path(tmp) / "bench.duckdb"
        fresh = not path.exists()
        con = db.connect(path)
        t0 = time.perf_counter()
        if fresh:
            simulate.simulate(con, args.requests, seed=1, start=START, days=70, routes=40, batch_routes=0)
        n = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        t_gen = time.perf_counter() - t0
        batches = [
            manifest.Batch(
                f"batch{k + 1}",
                START + dt.timedelta(days=d, hours=9),
                tuple(("GET", f"/api/r{i}/<int:item_id>") for i in range(5 * k, 5 * k + 5)),
                None,
                k + 1,
            )
            for k, d in enumerate((20, 35, 50))
        ]
        manifest.store(con, batches)
        t0 = time.perf_counter()
        result = review.review(con)
        t_review = time.perf_counter() - t0
        in_windows = int(
            result.table.query("comparison == 'before_after' and method == '*' and metric == 'requests'")[
                ["n_before", "n_after"]
            ]
            .to_numpy()
            .sum()
        )
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
            f"{dt.date.today()}"
        )
        print(f"requests table: {n:,} rows ({'generated' if fresh else 'reused'} in {t_gen:.1f} s)")
        print(
            f"review of {len(batches)} batches x 5 routes ({in_windows:,} requests in the windows): "
            f"{t_review:.1f} s -> {len(result.table)} rows; goal < 30 s"
        )
        con.close()


if __name__ == "__main__":
    main()
