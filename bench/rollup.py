"""Rollups on the demo: time to build them (all at once, and again with nothing new), their size against the raw
table's, and plan + review of every batch read from them.

Usage: `python bench/rollup.py [N_REQUESTS]` (default 2 M, the demo's size). Generates the demo into a temporary
folder, ingests it, inventories both demo apps and attributes it (not timed), then times `rollup.build`, a second
`rollup.build` (nothing to add), `rollup.export` and plan + review. Prints the figures recorded in bench/README.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from strangler import attribute, db, demo, ingest, manifest, review, rollup, routes, score

N_REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
DEMO_SOURCE = Path(__file__).resolve().parent.parent / "lib" / "strangler" / "demo"


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        demo.generate(out / "demo", requests=N_REQUESTS, seed=7)
        con = db.connect(out / "bench.duckdb")
        ingest.ingest(con, [str(out / "demo" / "logs")])
        routes.inventory_apps(con, ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"])
        manifest.store(con, manifest.load(out / "demo" / "migration.toml"))
        attribute.attribute(con)
        n = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        for label, call in (
            ("rollup.build (every hour)", lambda: rollup.build(con)),
            ("rollup.build again (nothing new)", lambda: rollup.build(con)),
            ("rollup.export (Parquet)", lambda: rollup.export(con, out / "rollups")),
            ("plan + review, from the database", lambda: (score.plan(con, source=DEMO_SOURCE), review.review(con))),
        ):
            t0 = time.perf_counter()
            result = call()
            print(f"{label:<36} {time.perf_counter() - t0:6.2f} s  {str(result).splitlines()[0][:90]}")
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in db.ROLLUP_TABLES}
        con.execute("COPY requests TO '" + str(out / "requests.parquet") + "' (FORMAT parquet)")
        con.close()
        raw, rolled = _size(out / "requests.parquet"), _size(out / "rollups")
        print(f"requests: {n:,} rows; rollups: " + ", ".join(f"{t} {k:,}" for t, k in rows.items()))
        print(f"Parquet: requests {raw / 1e6:.1f} MB, rollups {rolled / 1e6:.1f} MB ({rolled / raw:.1%})")
        pq = rollup.open_dir(out / "rollups")
        manifest.store(pq, manifest.load(out / "demo" / "migration.toml"))
        t0 = time.perf_counter()
        score.plan(pq, source=DEMO_SOURCE)
        review.review(pq)
        print(f"{'plan + review, from Parquet alone':<36} {time.perf_counter() - t0:6.2f} s")


if __name__ == "__main__":
    main()
