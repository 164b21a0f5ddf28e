"""What the reports show of the pilot: its decisions, read back from the ingested router log.

The pilot writes each decision to the router log as an event record (`strangler.accesslog.event_line`); ingest
keeps those lines as rejects with reason `router_event` (they are not requests). These views parse them in
DuckDB: `decisions` (one row per decision: the ramp's timeline for report 05) and `step_evidence` (one row per
judged step and metric of the whole batch: each step's comparison for report 04).
"""

from __future__ import annotations

import duckdb
import pandas as pd

_EVENTS = """
SELECT e.source_id, e.line_no, e.raw::JSON AS j
FROM rejects e JOIN sources s USING (source_id)
WHERE e.reason = 'router_event' AND s.format = 'strangler' AND json_valid(e.raw)
"""
# a rollup directory's database (`strangler report --rollups`) has no rejects: it holds no pilot decision
_NO_EVENTS = "SELECT NULL::INTEGER AS source_id, NULL::BIGINT AS line_no, NULL::JSON AS j WHERE false"


def _events(con: duckdb.DuckDBPyConnection) -> str:
    """The event records' query, or an empty one where the database keeps no raw lines."""
    has = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rejects' AND database_name = current_database()"
    ).fetchone()
    return _EVENTS if has and has[0] else _NO_EVENTS


def decisions(con: duckdb.DuckDBPyConnection, batch: str | None = None) -> pd.DataFrame:
    """Every pilot decision in the ingested router logs, in time order: when, batch, action, step, the fraction
    before and after, the reason, and the requests judged on each backend (null for start, pause, ...)."""
    return con.execute(
        f"""
        SELECT (j->>'at')::TIMESTAMPTZ AS decided_at, j->>'batch' AS batch, j->>'action' AS action,
               (j->>'step')::INTEGER + 1 AS step, (j->>'from')::DOUBLE AS fraction_from,
               (j->>'to')::DOUBLE AS fraction_to, j->>'reason' AS reason,
               (j->>'n_flask')::BIGINT AS n_flask, (j->>'n_fastapi')::BIGINT AS n_fastapi,
               (j->'window'->>0)::TIMESTAMPTZ AS window_start, (j->'window'->>1)::TIMESTAMPTZ AS window_end
        FROM ({_events(con)})
        WHERE $batch IS NULL OR (j->>'batch') = $batch
        ORDER BY decided_at, source_id, line_no
        """,
        {"batch": batch},
    ).df()


def step_evidence(con: duckdb.DuckDBPyConnection, batch: str | None = None) -> pd.DataFrame:
    """One row per judged step and metric (whole batch): Flask, FastAPI, the 95 % interval of the difference,
    the p-value and the verdict (fail / pass for judged metrics, shown for watched ones)."""
    return con.execute(
        f"""
        WITH d AS (
            SELECT j, (j->>'at')::TIMESTAMPTZ AS decided_at, source_id, line_no FROM ({_events(con)})
            WHERE (j->'evidence') IS NOT NULL AND ($batch IS NULL OR (j->>'batch') = $batch)),
        e AS (SELECT d.*, unnest(from_json((j->'evidence'), '["JSON"]')) AS ev FROM d)
        SELECT decided_at, j->>'batch' AS batch, j->>'action' AS decision, (j->>'step')::INTEGER + 1 AS step,
               (j->>'from')::DOUBLE AS fraction, ev->>'route' AS route, ev->>'metric' AS metric,
               (ev->>'flask')::DOUBLE AS flask, (ev->>'fastapi')::DOUBLE AS fastapi,
               (ev->>'ci_low')::DOUBLE AS ci_low, (ev->>'ci_high')::DOUBLE AS ci_high,
               (ev->>'p_value')::DOUBLE AS p_value, ev->>'verdict' AS verdict,
               (j->>'n_flask')::BIGINT AS n_flask, (j->>'n_fastapi')::BIGINT AS n_fastapi
        FROM e
        WHERE (ev->>'route') = '(whole batch)'
        ORDER BY decided_at, source_id, line_no
        """,
        {"batch": batch},
    ).df()


def summary(con: duckdb.DuckDBPyConnection) -> str:
    """One line: each piloted batch's last fraction and last decision ('' when the logs hold no decision)."""
    d = decisions(con)
    if d.empty:
        return ""
    last = d.groupby("batch", sort=False).tail(1)
    return "pilot: " + "; ".join(f"{r.batch} {r.action} at {r.fraction_to:.0%}" for r in last.itertuples()) + "."
