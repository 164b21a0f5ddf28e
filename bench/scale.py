"""Scale: raw rows against rollups as the traffic grows (targets: plan + review from the rollups of 100 M requests
in under 10 s; rollups under 2 % of the raw table's bytes).

    .venv/bin/python bench/scale.py [REQUESTS ...]   (default 10000000 100000000)

For each size: the demo's logs (`strangler demo --requests N`: 70 days, both apps, three batches), then
  * raw rows: `ingest`, `attribute` and `rollup` timed (the raw table is `requests`, its bytes as Parquet with
    DuckDB's defaults, and the DuckDB file);
  * one pass: `strangler rollup --logs` into a fresh file holding the same routes (no raw rows but rejects and a
    10,000-row sample per source);
  * the rollups: rows of the three tables, bytes as Parquet (`rollup.export`), share of the raw table's bytes;
  * plan + review of every batch from the rollups in the DuckDB file and from the Parquet directory alone.
Each step runs in this process (the one pass in its own, start to exit). Sizes the machine cannot hold in the
time given are left out; bench/README.md says which and how the rest is extrapolated.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from strangler import attribute, db, demo, ingest, manifest, review, rollup, routes, score

DEMO_SOURCE = Path(demo.__file__).parent
APPS = ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"]


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(label: str, fn, out: dict):
    t = time.perf_counter()
    result = fn()
    out[label] = time.perf_counter() - t
    print(f"  {label:<40} {out[label]:8.2f} s", flush=True)
    return result


def one_size(n: int, work: Path) -> dict:
    out: dict = {"requests": n}
    logs = work / "demo"
    _timed("demo logs (not part of any path)", lambda: demo.generate(logs, requests=n, seed=7), out)
    raw = work / "raw.duckdb"
    con = db.connect(raw)
    con.execute("SET enable_progress_bar = false")
    _timed("raw: ingest", lambda: ingest.ingest(con, [str(logs / "logs")]), out)
    routes.inventory_apps(con, APPS)
    manifest.store(con, manifest.load(logs / "migration.toml"))
    _timed("raw: attribute", lambda: attribute.attribute(con), out)
    _timed("raw: rollup", lambda: rollup.build(con), out)
    out["raw_build"] = out["raw: ingest"] + out["raw: attribute"] + out["raw: rollup"]
    parquet = work / "parquet"
    _timed("rollup.export", lambda: rollup.export(con, parquet), out)
    con.execute(f"COPY requests TO '{work / 'requests.parquet'}' (FORMAT parquet)")
    con.execute("CHECKPOINT")
    out["raw_rows"] = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    out["raw_parquet_bytes"] = _size(work / "requests.parquet")
    out["raw_duckdb_bytes"] = _size(raw)
    out["rollup_rows"] = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in db.ROLLUP_TABLES}
    out["rollup_bytes"] = sum(_size(parquet / t) for t in db.ROLLUP_TABLES)
    _timed(
        "plan + review, rollups in the DuckDB file",
        lambda: (score.plan(con, source=DEMO_SOURCE), review.review(con)),
        out,
    )
    con.close()
    pq = rollup.open_dir(parquet)
    manifest.store(pq, manifest.load(logs / "migration.toml"))
    _timed("plan + review, Parquet rollups alone", lambda: (score.plan(pq, source=DEMO_SOURCE), review.review(pq)), out)
    pq.close()
    one = work / "one.duckdb"
    shutil.copy(raw, one)  # the same routes; then everything read is dropped
    con = db.connect(one)
    for t in ("requests", "rejects", "sources", "path_shapes", "rollup_state", *db.ROLLUP_TABLES):
        con.execute(f"DELETE FROM {t}")
    con.execute("CHECKPOINT")
    con.close()
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "strangler", "rollup", "--logs", str(logs / "logs"), "--db", str(one)],
        check=True,
        capture_output=True,
    )
    out["one pass (process, start to exit)"] = time.perf_counter() - t
    print(f"  {'one pass (process, start to exit)':<40} {out['one pass (process, start to exit)']:8.2f} s")
    return out


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000_000, 100_000_000]
    print(
        f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.platform()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}; load {os.getloadavg()[0]:.1f}"
    )
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="strangler-scale-"))
        try:
            print(f"{n:,} requests", flush=True)
            r = one_size(n, work)
            share = r["rollup_bytes"] / r["raw_parquet_bytes"]
            print(
                f"  raw: {r['raw_rows']:,} rows, {r['raw_parquet_bytes'] / 1e6:,.1f} MB as Parquet "
                f"({r['raw_duckdb_bytes'] / 1e6:,.1f} MB DuckDB file), built in {r['raw_build']:.1f} s\n"
                f"  rollups: {r['rollup_rows']} rows, {r['rollup_bytes'] / 1e6:,.1f} MB as Parquet = {share:.2%} of "
                f"the raw table's"
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
