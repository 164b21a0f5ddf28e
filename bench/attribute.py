"""Attribution speed: 10 M requests against 500 Flask rules (target: under 10 s on the 2-core CI machine).

The rules mimic a large API: 100 resources, each with list/create, item get/put/delete (int ids), a uuid
sub-resource, a slug page and an action; plus a catch-all. Requests are generated in DuckDB with ids drawn from a
pool of 2,000 per resource: about 90,000 distinct paths, which collapse into about 6,700 (method, shape) pairs.
Usage: `python bench/attribute.py [N_REQUESTS]` (default 10 M). Prints the figures recorded in bench/README.md.

`python bench/attribute.py --own-converters [N_REQUESTS]` (default 1 M) measures the other case: the app of
`bench/apps/ownconv.py`, inventoried with `--app`, has a converter with its own to_python on 300 of its 601 (method, rule) rows;
requests carry 20 % fresh UUIDs, so every such path is a distinct value that the app's own interpreter must check.
It prints how many distinct paths went to the app and how fast they came back.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from strangler import attribute, db, routes

OWN = "--own-converters" in sys.argv
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N_REQUESTS = int(ARGS[0]) if ARGS else (1_000_000 if OWN else 10_000_000)


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
            [N_REQUESTS],
        )
        con.execute("CHECKPOINT")  # as after `strangler ingest`, which is another process
        load = time.perf_counter() - t0
        distinct = con.execute("SELECT count(DISTINCT path) FROM requests").fetchone()[0]
        result = attribute.attribute(con)
        print(f"generated {N_REQUESTS:,} requests ({distinct:,} distinct paths) in {load:.1f} s")
        print(result)
        con.close()


def own_converters() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        con = db.connect(Path(tmp) / "bench.duckdb")
        routes.inventory_apps(con, ["ownconv:app"], cwd=Path(__file__).parent / "apps")
        con.execute(
            """
            INSERT INTO requests (ts, method, path, status, duration_ms, source_id, line_no)
            SELECT TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_seconds(i // 100), m, p, 200, 12.5, 1, i
            FROM (SELECT i, hash(i) AS h, hash(i * 7 + 1) AS h2 FROM range(?) t(i)) s,
            LATERAL (SELECT CASE WHEN h % 10 < 8 THEN 'GET' ELSE 'DELETE' END AS m,
                '/api/res' || (h2 % 100) ||
                CASE h % 10 WHEN 0 THEN '/' || uuid()                       -- a fresh id: a distinct path
                            WHEN 1 THEN '/' || uuid() || '/children'
                            WHEN 2 THEN '/me' WHEN 3 THEN '/not-a-uuid-' || (h2 % 500)
                            WHEN 4 THEN '/' || (h2 % 5000)
                            ELSE '/' || md5(CAST(h2 % 5000 AS VARCHAR))::UUID END AS p)
        """,
            [N_REQUESTS],
        )
        con.execute("CHECKPOINT")
        distinct = con.execute("SELECT count(DISTINCT path) FROM requests").fetchone()[0]
        result = attribute.attribute(con)
        print(f"{N_REQUESTS:,} requests, {distinct:,} distinct paths")
        print(result)
        for app, n, seconds in result.app_checks:
            print(f"app check: {n:,} distinct (method, path) in {seconds:.2f} s = {n / seconds:,.0f}/s through {app}")
        con.close()


if __name__ == "__main__":
    own_converters() if OWN else main()
