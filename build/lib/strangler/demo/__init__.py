"""The built-in demo: a travel-journal API (Flask app, FastAPI port of its batches) and its generated traffic.

`generate(out)` writes, deterministically for a seed:

- `out/logs/access.log.1.gz` and `out/logs/access.log`: nginx combined + `$request_time`, UTC, rotated at
  `traffic.ROTATED_BEFORE`;
- `out/logs/access.json.log`: the JSON-logging app servers' share, nginx `escape=json` with the keys of a real
  log, local times in three offsets (Tokyo, New York before and after DST);
- `out/migration.toml`: the batches of `traffic.BATCHES`;
- `out/truth.json`: what was injected, and the verdict a correct review must reach.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from strangler import manifest
from strangler.demo import logs, traffic

__all__ = ["DemoInfo", "generate", "manifest_text"]


@dataclass
class DemoInfo:
    """What `generate` wrote: the folder, request and line counts per file, the batches, how long it took."""

    out: Path
    requests: int
    seed: int
    files: dict[str, dict] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lines(self) -> int:
        return sum(f["lines"] for f in self.files.values())

    def __str__(self) -> str:
        names = ", ".join(self.files)
        noun = "request" if self.requests == 1 else "requests"
        return (
            f"demo (seed {self.seed}): {self.requests:,} {noun} in {self.lines:,} lines over "
            f"{traffic.DAYS} days -> {self.out / 'logs'} ({names}); {len(self.batches)} batches "
            f"({', '.join(self.batches)}) in {self.out / 'migration.toml'}; injected effects in "
            f"{self.out / 'truth.json'}; {self.seconds:.1f} s"
        )


def _iso(t) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_text(
    cutovers: Sequence[dt.datetime] | None = None,
    header: str = "Migration of the travel-journal API to FastAPI, written by `strangler demo`.",
) -> str:
    """The demo's migration.toml; `cutovers` (one per batch, in order) replace the batches' own, `header` is the
    comment on top."""
    if cutovers is None:
        cutovers = [b.cutover for b in traffic.BATCHES]
    if len(cutovers) != len(traffic.BATCHES):
        raise ValueError(f"{len(cutovers)} cutovers for {len(traffic.BATCHES)} demo batches")
    out = [f"# {header}", ""]
    for b, cutover in zip(traffic.BATCHES, cutovers):
        out += manifest.batch_toml(b.name, cutover, b.routes)
    return "\n".join(out)


def _truth(n: int, seed: int, files: dict[str, dict]) -> dict:
    weights = sum(r.weight for r in traffic.ROUTES)
    return {
        "generator": "strangler demo",
        "seed": seed,
        "requests": n,
        "start": _iso(traffic.START),
        "end": _iso(traffic.END),
        "files": files,
        "batches": [
            {
                "name": b.name,
                "cutover": _iso(b.cutover),
                "routes": [{"method": m, "rule": r} for m, r in b.routes],
                "effect": b.effect,
                "expected": traffic.expected(b),
            }
            for b in traffic.BATCHES
        ],
        "review_window": "7 days before vs 7 days after the cutover, 1 h after it left out, same hours of the week",
        "dead_routes": [{"method": m, "rule": r} for m, r in traffic.dead_routes()],
        "incident": {
            "start": _iso(traffic.INCIDENT[0]),
            "end": _iso(traffic.INCIDENT[1]),
            "routes": "all",
            "error_rate_5xx": traffic.INCIDENT_5XX,
            "latency_factor": traffic.INCIDENT_SLOWDOWN,
        },
        "bots": {"share": traffic.BOT_SHARE, "paths": [{"method": m, "path": p} for m, p in traffic.BOT_PATHS]},
        "latency_model": "per route lognormal(p50_ms, sigma), x 0.85-1.15 by hour of day, x (1 + 3 Lomax(1.5)) "
        f"for {logs.TAIL_SHARE:.1%} of requests, x 0.3 for 4xx; in ms, whole",
        "sampling": "status and latency bands drawn from a Kronecker (low-discrepancy) sequence per route in time "
        "order: any window gets its share almost exactly, so only injected effects differ",
        "time_zones": {"access.log*": "+0000", "access.json.log": ["+09:00", "-05:00", "-04:00"]},
        "routes": [
            {
                "method": r.method,
                "rule": r.rule,
                "share": round(r.weight / weights * (1 - traffic.BOT_SHARE), 5),
                "p50_ms": r.p50_ms,
                "sigma": r.sigma,
                "p5xx": r.p5xx,
                "p404": r.p404,
                "auth": r.auth,
            }
            for r in traffic.ROUTES
        ],
    }


def generate(out: str | Path, requests: int = 2_000_000, seed: int = 7, progress: bool = False) -> DemoInfo:
    """Write the demo's logs, migration.toml and truth.json under `out`; same seed, same bytes."""
    t0 = time.perf_counter()
    out = Path(out)
    if requests < 1:
        from strangler.errors import StranglerError

        raise StranglerError(f"--requests must be at least 1, not {requests}")

    def say(msg: str) -> None:
        if progress:
            print(f"demo: {msg} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)

    (out / "logs").mkdir(parents=True, exist_ok=True)
    cols = logs.draw(requests, seed)
    say(f"drew {requests:,} requests")
    side = np.random.default_rng([seed, 1])
    is_json = side.random(requests) < traffic.JSON_SHARE
    tokyo = side.random(requests) < 0.5
    old = cols.ts < int(traffic.ROTATED_BEFORE.timestamp())
    files: dict[str, dict] = {}

    def record(w: logs.Written) -> None:
        files[w.name] = {
            "format": w.format,
            "requests": w.requests,
            "malformed": w.malformed,
            "truncated": w.truncated,
            "garbage": w.garbage,
            "blank": w.blank,
            "lines": w.lines,
        }

    record(
        logs.write_gz(
            logs.combined(logs.subset(cols, old & ~is_json)),
            out / "logs" / "access.log.1.gz",
            np.random.default_rng([seed, 2]),
            "nginx_combined",
        )
    )
    say("wrote access.log.1.gz")
    with open(out / "logs" / "access.log", "wb") as f:
        record(
            logs.write(
                logs.combined(logs.subset(cols, ~old & ~is_json)),
                f,
                np.random.default_rng([seed, 3]),
                "access.log",
                "nginx_combined",
            )
        )
    say("wrote access.log")
    with open(out / "logs" / "access.json.log", "wb") as f:
        record(
            logs.write(
                logs.json_lines(logs.subset(cols, is_json), tokyo[is_json]),
                f,
                np.random.default_rng([seed, 4]),
                "access.json.log",
                "nginx_json",
            )
        )
    say("wrote access.json.log")
    (out / "migration.toml").write_text(manifest_text(), encoding="utf-8")
    truth = _truth(requests, seed, files)
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return DemoInfo(out, requests, seed, files, [b.name for b in traffic.BATCHES], time.perf_counter() - t0)
