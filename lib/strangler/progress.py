"""Migration progress for notebook 05: routes migrated and traffic served by FastAPI over time, per batch, with
each batch's verdict (from `strangler.review`). Read from the rollups: time buckets are whole hours."""

from __future__ import annotations

import duckdb
import pandas as pd

from strangler import rollup
from strangler.review import batch_verdicts

# every timestamped rollup row in its time bucket `bu` (epoch µs, `$step` wide), its batch, its logged backend,
# its requests and how much of them FastAPI served: 1/0 where the log names the backend, else what the manifest
# implies from the first whole hour after the cutover (the rollups count hours)
_ON_FASTAPI_CTE = """
r AS (SELECT (epoch_us(r.hour) // $step) * $step AS bu, b.batch, r.backend, r.requests,
             CASE WHEN r.backend IS NOT NULL THEN (r.backend = 'fastapi')::DOUBLE
                  WHEN b.batch IS NOT NULL AND r.hour >= b.cutover_at THEN coalesce(b.canary, 1.0)
                  ELSE 0.0 END AS on_fastapi
      FROM rollups r LEFT JOIN batches b ON r.method = b.method AND r.route = b.rule
      WHERE r.hour IS NOT NULL)"""


def progress(con: duckdb.DuckDBPyConnection, bucket_hours: float = 24) -> pd.DataFrame:
    """Migration progress per time bucket: share of routes migrated and share of traffic served by FastAPI.

    A route counts as migrated from its batch's cutover. Traffic on FastAPI is measured where the log names the
    backend (the router's log); elsewhere it is what the manifest implies (batch routes after cutover, times the
    canary fraction when one is set). `fastapi_measured` is the share of requests whose backend was logged.
    """
    rollup.ensure(con)
    step = rollup.step_us(bucket_hours)
    return con.execute(
        f"""
        WITH routes_all AS (
            SELECT method, rule FROM routes WHERE framework = 'flask'
            UNION SELECT method, route FROM rollups
                  WHERE route IS NOT NULL AND route_framework IS DISTINCT FROM 'fastapi'
            UNION SELECT method, rule FROM batches),
        {_ON_FASTAPI_CTE},
        t AS (SELECT bu, sum(requests)::BIGINT AS requests, sum(requests * on_fastapi) AS fastapi_requests,
                     coalesce(sum(requests) FILTER (WHERE backend IS NOT NULL), 0) / sum(requests) AS fastapi_measured
              FROM r GROUP BY bu)
        SELECT to_timestamp(t.bu / 1e6) AS bucket, t.requests, t.fastapi_requests,
               t.fastapi_requests / t.requests AS share_traffic_fastapi,
               (SELECT count(*) FROM routes_all) AS routes_total,
               (SELECT count(*) FROM batches b WHERE epoch_us(b.cutover_at) < t.bu + $step) AS routes_migrated,
               (SELECT count(*) FROM batches b WHERE epoch_us(b.cutover_at) < t.bu + $step)
                 / (SELECT count(*) FROM routes_all) AS share_routes_migrated,
               t.fastapi_measured
        FROM t ORDER BY t.bu
    """,
        {"step": step},
    ).df()


def progress_by_batch(con: duckdb.DuckDBPyConnection, bucket_hours: float = 24) -> pd.DataFrame:
    """Per time bucket and batch: its share of all traffic, the share of all traffic it sends to FastAPI,
    whether it is past cutover, and its overall verdict (see `batch_verdicts`)."""
    rollup.ensure(con)
    step = rollup.step_us(bucket_hours)
    df = con.execute(
        f"""
        WITH {_ON_FASTAPI_CTE},
        t AS (SELECT bu, sum(requests) AS total FROM r GROUP BY bu),
        g AS (SELECT bu, batch, sum(requests)::BIGINT AS requests, sum(requests * on_fastapi) AS fastapi_requests
              FROM r WHERE batch IS NOT NULL GROUP BY bu, batch),
        bb AS (SELECT batch, min(position) AS position, min(cutover_at) AS cutover_at FROM batches GROUP BY batch)
        SELECT to_timestamp(t.bu / 1e6) AS bucket, bb.batch, bb.position, coalesce(g.requests, 0) AS requests,
               coalesce(g.requests, 0) / t.total AS share_traffic,
               coalesce(g.fastapi_requests, 0) / t.total AS share_traffic_fastapi,
               epoch_us(bb.cutover_at) < t.bu + $step AS migrated
        FROM t CROSS JOIN bb LEFT JOIN g ON g.bu = t.bu AND g.batch = bb.batch
        ORDER BY t.bu, bb.position
    """,
        {"step": step},
    ).df()
    verdicts = batch_verdicts(con)[["batch", "verdict"]]
    return df.merge(verdicts, on="batch", how="left")


def progress_summary(con: duckdb.DuckDBPyConnection) -> str:
    """One plain line for the report index: routes migrated, traffic on FastAPI at the end, each batch's verdict."""
    prog = progress(con)
    if prog.empty:
        return "no timestamped requests: no progress to show."
    last = prog.iloc[-1]
    verdicts = batch_verdicts(con)
    each = ", ".join(f"{r.batch} {r.verdict}" for r in verdicts.itertuples())
    return (
        f"{int(last['routes_migrated'])} of {int(last['routes_total'])} routes migrated; "
        f"{last['share_traffic_fastapi']:.0%} of traffic on FastAPI on {pd.Timestamp(last['bucket']):%Y-%m-%d}; "
        f"verdicts: {each}."
    )
