"""Calibration of the pilot's judge: false rollbacks of healthy ramps, and the chance to catch a regression.

The real judge (`strangler.judge.judge`, default thresholds, `min_requests` and `alpha`) runs on simulated steps:

- **Traffic assumed.** The batch's routes get `--per-step` requests per default step of 30 minutes (default
  20,000, about 11 requests/s), over three routes (weights 0.6 / 0.3 / 0.1, base latency 30 / 60 / 120 ms,
  lognormal with sigma 0.5). Each of the step's 30 time slices has a random effect on latency (lognormal, sigma
  0.15) and on the 5xx rate (baseline 0.4 %) shared by both backends, so requests close in time are correlated.
- **A step.** At fraction f, each request goes to FastAPI with probability f. A step with fewer than
  `min_requests` on a backend is held and extended by one step, as the pilot does; the judge then sees the
  whole extended window.
- **False rollbacks.** A healthy ramp (FastAPI identical to Flask) is judged at 0.01, 0.05, 0.25 and 0.5 (1.0 is
  not judged: no Flask left); a ramp is falsely rolled back if any of its steps fails.
- **Power.** A regression present from the first step: FastAPI's latency doubled (p95 × 2), or its 5xx rate
  +2 points. Caught = the first judged step (at 0.01, after its holds) fails; also reported: caught by the
  second step.

    .venv/bin/python bench/pilot.py [--ramps N] [--trials N] [--per-step N] [--seed S] [--workers W]

Bounded: N ramps and N trials per regression (defaults 500 and 200), in W worker processes (default 2, one
DuckDB thread each); every ramp and trial has its own seed, so the figures do not depend on W. Prints the rates
with a 95 % interval, and for each false rollback the step and metric that failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import multiprocessing
import time

import duckdb
import numpy as np
import pandas as pd

from strangler import judge
from strangler.manifest import Ramp

ROUTES = (("/a/<int:i>", 0.6, 30.0), ("/b/<int:i>", 0.3, 60.0), ("/c", 0.1, 120.0))
BASE_5XX = 0.004


def simulate(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    fraction: float,
    steps: int,
    per_step: int,
    step_s: float,
    slow: float = 1.0,
    extra_5xx: float = 0.0,
) -> None:
    """Fill pilot_requests with `steps` steps of traffic at `fraction` (window from 0)."""
    n = per_step * steps
    slices = 30 * steps
    slice_us = int(step_s * 1e6 / 30)
    us = rng.integers(0, slices * slice_us, n)
    sl = us // slice_us
    lat_eff = rng.normal(0, 0.15, slices)[sl]
    err_eff = np.exp(rng.normal(0, 0.3, slices) - 0.045)[sl]
    route = rng.choice(len(ROUTES), n, p=[r[1] for r in ROUTES])
    base = np.array([r[2] for r in ROUTES])[route]
    fastapi = rng.random(n) < fraction
    dur = base * np.exp(rng.normal(0, 0.5, n) + lat_eff) * np.where(fastapi, slow, 1.0)
    p5 = BASE_5XX * err_eff + np.where(fastapi, extra_5xx, 0.0)
    u = rng.random(n)
    status = np.where(u < p5, 500, np.where(u > 0.97, 404, 200)).astype(np.int16)
    df = pd.DataFrame(  # numbers only: DuckDB names the route and backend (strings in pandas are slow)
        {"us": us, "route": route.astype(np.int8), "fastapi": fastapi, "status": status, "dur": dur,
         "bytes": rng.integers(500, 1500, n)}
    )  # fmt: skip
    con.register("df", df)
    con.execute("DELETE FROM pilot_requests")
    con.execute(
        "INSERT INTO pilot_requests SELECT us, 'b', 'GET', list_extract($rules, route + 1), "
        "CASE WHEN fastapi THEN 'fastapi' ELSE 'flask' END, status, dur, bytes, NULL, NULL FROM df",
        {"rules": [r[0] for r in ROUTES]},
    )
    con.unregister("df")


def judged_step(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    ramp: Ramp,
    fraction: float,
    per_step: int,
    seed: int,
    **effect: float,
) -> tuple[judge.Judgement, int]:
    """The judgement of one step at `fraction` after the holds it needs, and how many steps its window spans."""
    need = ramp.min_requests / min(fraction, 1 - fraction)
    steps = max(1, math.ceil(need * 1.1 / per_step))  # the step is extended until both sides have enough
    while True:
        simulate(con, rng, fraction, steps, per_step, ramp.step_seconds, **effect)
        j = judge.judge(con, "b", ramp, 0, steps * ramp.step_seconds, seed=seed)
        if j.outcome != "hold":
            return j, steps
        steps += 1


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    z = 1.96
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


_CON: duckdb.DuckDBPyConnection | None = None
EFFECTS = {"healthy": {}, "p95 doubled": {"slow": 2.0}, "5xx +2 points": {"extra_5xx": 0.02}}


def _con() -> duckdb.DuckDBPyConnection:
    global _CON
    if _CON is None:
        _CON = duckdb.connect(config={"threads": 1})  # one core per worker process
        _CON.execute(judge.REQUESTS_DDL)
    return _CON


def run_ramp(job: tuple[str, int, Ramp, int, int]) -> tuple[str, int, list[tuple[float, int]], str | None]:
    """One healthy ramp (or one regression trial, judged at the first two fractions), with its own seed:
    (kind, index, [(fraction, steps in its window)], the failure as 'fraction: reason' or None)."""
    kind, i, ramp, per_step, seed = job
    rng = np.random.default_rng([seed, list(EFFECTS).index(kind), i])
    judged = [f for f in ramp.fractions if f < 1.0]
    steps_seen: list[tuple[float, int]] = []
    for k, f in enumerate(judged if kind == "healthy" else judged[:2]):
        j, steps = judged_step(_con(), rng, ramp, f, per_step, seed=i * 10 + k, **EFFECTS[kind])
        steps_seen.append((f, steps))
        if j.outcome == "fail":
            return kind, i, steps_seen, f"{f:g}: {j.reason}"
    return kind, i, steps_seen, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ramps", type=int, default=500)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--per-step", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--min-requests", type=int, default=None, help="instead of the default (1000)")
    ap.add_argument("--alpha", type=float, default=None, help="instead of the default (0.005)")
    ap.add_argument("--only", choices=["healthy", "power"], default=None, help="run one half")
    args = ap.parse_args()
    ramp = Ramp()  # the defaults: ramp 0.01 → 1.0, step 30 min, min_requests 1000, 0.5 points, 10 %, 10 %, 0.5 %
    if args.min_requests is not None:
        ramp = dataclasses.replace(ramp, min_requests=args.min_requests)
    if args.alpha is not None:
        ramp = dataclasses.replace(ramp, alpha=args.alpha)
    print(
        f"judge defaults: ramp {list(ramp.fractions)}, step {ramp.step_seconds / 60:g} min, min_requests "
        f"{ramp.min_requests}, fail at +{ramp.fail_5xx_points} points 5xx / +{ramp.fail_p95_pct:g} % p95 / "
        f"+{ramp.fail_p99_pct:g} % p99, alpha {ramp.alpha:g} over the ramp (Holm at {judge.step_alpha(ramp):.3%} "
        f"per step); traffic {args.per_step:,} requests per step on the batch's routes; {args.workers} workers"
    )
    kinds = [k for k in EFFECTS if args.only is None or (k == "healthy") == (args.only == "healthy")]
    for kind in kinds:
        n = args.ramps if kind == "healthy" else args.trials
        jobs = [(kind, i, ramp, args.per_step, args.seed) for i in range(n)]
        t0 = time.time()
        fails: dict[int, str] = {}
        first = 0
        steps: list[int] = []
        with multiprocessing.Pool(args.workers) as pool:
            for done, (_, i, seen, failure) in enumerate(pool.imap_unordered(run_ramp, jobs, chunksize=4), 1):
                steps += [s for _, s in seen]
                if failure is not None:
                    fails[i] = failure
                    first += len(seen) == 1
                    if kind == "healthy":
                        print(f"  ramp {i} rolled back at {failure[:160]}", flush=True)
                if done % 50 == 0:
                    print(f"  ... {kind}: {done} of {n}, {len(fails)} failed, {time.time() - t0:.0f} s", flush=True)
        took = f"steps per judgement {min(steps, default=0)}-{max(steps, default=0)}; {time.time() - t0:.0f} s"
        if kind == "healthy":
            lo, hi = wilson(len(fails), n)
            print(
                f"healthy ramps: {len(fails)} of {n} falsely rolled back = {len(fails) / n:.2%} "
                f"(95 % CI {lo:.2%}-{hi:.2%}); {took}"
            )
        else:
            lo, hi = wilson(first, n)
            print(
                f"{kind}: caught at the first step (fraction {ramp.fractions[0]:g}) in {first} of {n} = "
                f"{first / n:.1%} (95 % CI {lo:.1%}-{hi:.1%}); by the second step {len(fails) / n:.1%}; {took}"
            )


if __name__ == "__main__":
    main()
