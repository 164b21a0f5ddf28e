"""Benchmark `strangler.score.plan`: value over N attributed requests, code analysis of the demo app, the plan.

Builds a DuckDB file with the demo Flask app's routes (taken from its url_map, no inventory module needed) and
N synthetic attributed requests spread over them by a Zipf-like weight, then times one `plan()` and its code
analysis alone. Usage: `python bench/score.py [N ...]` (default 2,000,000 and 10,000,000).
"""

from __future__ import annotations

import inspect
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from strangler import db, effort, score

DEMO = Path(__file__).resolve().parent.parent / "lib" / "strangler" / "demo"


def demo_routes() -> pd.DataFrame:
    """(method, rule, endpoint, file, line, blueprint) of the demo Flask app, from its url_map."""
    from strangler.demo.flask_app import app

    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            fn = getattr(cls, method.lower()) if cls else inspect.unwrap(view)
            rows.append(
                (
                    "flask",
                    method,
                    rule.rule,
                    rule.endpoint,
                    fn.__code__.co_filename,
                    fn.__code__.co_firstlineno,
                    rule.endpoint.rpartition(".")[0] or None,
                )
            )
    return pd.DataFrame(rows, columns=["framework", "method", "rule", "endpoint", "file", "line", "blueprint"])


def build(path: Path, n: int) -> None:
    con = db.connect(path)
    routes = demo_routes()
    con.register("r", routes)
    con.execute(
        "INSERT INTO routes (framework, method, rule, endpoint, file, line, blueprint, inventory) "
        "SELECT *, 'app' FROM r"
    )
    con.execute("""
        CREATE TEMP TABLE w AS
        SELECT method, rule, row_number() OVER (ORDER BY rule, method) AS k FROM routes
    """)
    k = con.execute("SELECT count(*) FROM w").fetchone()[0]
    # route k gets weight 1/k (k = 1 … K), except the last three: dead
    con.execute(f"""
        INSERT INTO requests (ts, method, path, status, duration_ms, route, route_framework, source_id, line_no)
        SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 5000000), w.method, '/x',
               CASE WHEN hash(i) % 1000 < 3 THEN 500 WHEN hash(i) % 100 < 2 THEN 404 ELSE 200 END,
               5 + (hash(i * 7) % 2000) / 10.0, w.rule, 'flask', 1, i + 1
        FROM (SELECT i, least({k - 3}, floor(exp((hash(i * 13) % 1000000) / 1e6 * ln({k - 2})))::BIGINT) AS k
              FROM range({n}) t(i)) t
        JOIN w USING (k)
    """)
    con.close()


def main(sizes: list[int]) -> None:
    print(f"machine: {platform.machine()}, {platform.python_version()}, duckdb {db.duckdb.__version__}")
    t = time.perf_counter()
    routes = demo_routes()
    _metrics, coupling = effort.analyze_routes(routes, DEMO)
    print(
        f"code analysis of the demo app: {len(routes)} routes, {len(coupling)} coupling rows in "
        f"{time.perf_counter() - t:.2f} s"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.duckdb"
            t = time.perf_counter()
            build(path, n)
            built = time.perf_counter() - t
            con = db.connect(path)
            t = time.perf_counter()
            result = score.plan(con, source=DEMO)
            took = time.perf_counter() - t
            print(
                f"{n:>12,} requests: build {built:5.1f} s; plan {took:5.2f} s "
                f"({len(result.scores)} routes, {len(result.batches)} batches, {len(result.dead)} dead)"
            )
            con.close()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2_000_000, 10_000_000])
