"""Attribution speed: 10 M requests against 500 Flask rules (target: under 10 s on the 2-core CI machine).

The rules mimic a large API: 100 resources, each with list/create, item get/put/delete (int ids), a uuid
sub-resource, a slug page and an action; plus a catch-all. Requests are generated in DuckDB with ids drawn from a
pool of 2,000 per resource: about 90,000 distinct paths, which collapse into about 6,700 (method, shape) pairs.
Usage: `python bench/attribute.py [N_REQUESTS]` (default 10 M). Prints the figures recorded in bench/README.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from strangler import attribute, db, routes


def rules() -> list[dict]:
    out = []
    for k in range(100):
        r = f"/api/res{k}"
        for method, rule in [
            ("GET", r),
            ("POST", r),
            ("GET", f"{r}/<int:item_id>"),
            ("PUT", f"{r}/<int:item_id>"),
            ("DELETE", f"{r}/<int:item_id>"),
            ("GET", f"{r}/<int:item_id>/files/<uuid:file_id>"),
            ("GET", f"{r}/by-slug/<slug>"),
            ("POST", f"{r}/<int:item_id>/actions/<any(start, stop):a>"),
        ]:
            out.append({"framework": "flask", "method": method, "rule": rule, "endpoint": f"e{len(out)}"})
    out = out[:499] + [{"framework": "flask", "method": "GET", "rule": "/<path:rest>", "endpoint": "catch_all"}]
    for i, row in enumerate(out, 1):
        row["position"] = i
    return out


def main() -> None:
    n_requests = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        con = db.connect(Path(tmp) / "bench.duckdb")
        routes.store(con, "bench:app", "app", rules())
        t0 = time.perf_counter()
        con.execute(
            """
            INSERT INTO requests (ts, method, path, status, duration_ms, source_id, line_no)
            SELECT TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_seconds(i // 100), m, p, 200, 12.5, 1, i
            FROM (SELECT i, hash(i) AS h, hash(i * 7 + 1) AS h2 FROM range(?) t(i)) s,
            LATERAL (SELECT
                CASE WHEN h % 10 < 6 THEN 'GET' WHEN h % 10 < 8 THEN 'POST' WHEN h % 10 < 9 THEN 'PUT' ELSE 'DELETE' END AS m,
                '/api/res' || (h2 % 110) ||
                CASE h % 7 WHEN 0 THEN '' WHEN 1 THEN '/' || (h2 % 2000)
                           WHEN 2 THEN '/' || (h2 % 2000) || '/files/' || md5(CAST(h2 % 2000 AS VARCHAR))::UUID
                           WHEN 3 THEN '/by-slug/s' || (h2 % 50) WHEN 4 THEN '/' || (h2 % 2000) || '/actions/start'
                           WHEN 5 THEN '/' || (h2 % 2000) || '/actions/' || left(md5(CAST(h2 % 2000 AS VARCHAR)), 12)
                           ELSE '/x' || (h % 20) END AS p)
        """,
            [n_requests],
        )
        con.execute("CHECKPOINT")  # as after `strangler ingest`, which is another process
        load = time.perf_counter() - t0
        distinct = con.execute("SELECT count(DISTINCT path) FROM requests").fetchone()[0]
        result = attribute.attribute(con)
        print(f"generated {n_requests:,} requests ({distinct:,} distinct paths) in {load:.1f} s")
        print(result)
        con.close()


if __name__ == "__main__":
    main()
