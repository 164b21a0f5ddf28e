"""What notebook 04 shows of one batch beside its verdicts: latency before and after, metrics over time, one
sentence per route, and the one-line summary. The verdicts themselves come from `strangler.review`."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from strangler import rollup, sketch
from strangler.errors import StranglerError
from strangler.review import (
    _BY_NAME,
    DAY_US,
    HOUR_US,
    Metric,
    _check_batch,
    _check_inputs,
    _cleanup,
    _ensure_table,
    _prepare,
    _route_label,
    batch_verdicts,
    verdict_table,
)


def review_windows(con: duckdb.DuckDBPyConnection, batch: str) -> dict[str, float | bool]:
    """The windows `batch` was last reviewed with (before_days, after_days, settle_hours, same_hours), so the
    charts of a notebook count the requests the stored verdicts counted; the defaults when it has no review."""
    _check_batch(con, batch)
    _ensure_table(con)
    row = con.execute(
        """
        SELECT epoch(min(cutover_at) - min(before_start)) / 86400, epoch(min(after_end) - min(after_start)) / 86400,
               epoch(min(after_start) - min(cutover_at)) / 3600, bool_and(same_hours)
        FROM reviews WHERE batch = ? AND comparison = 'before_after'
    """,
        [batch],
    ).fetchone()
    if row is None or row[0] is None:
        return {"before_days": 7.0, "after_days": 7.0, "settle_hours": 1.0, "same_hours": True}
    return {
        "before_days": round(row[0], 6),
        "after_days": round(row[1], 6),
        "settle_hours": round(row[2], 6),
        "same_hours": bool(row[3]),
    }


# deliberate: latency_histogram and timeseries are public views with the same window parameters as `review`
def latency_histogram(
    con: duckdb.DuckDBPyConnection,
    batch: str,
    before_days: float = 7,
    after_days: float = 7,
    settle_hours: float = 1,
    same_hours: bool = True,
    bins_per_decade: int = 20,
) -> pd.DataFrame:
    """Latency distribution before and after, per route and whole batch, on the windows `review` compares.

    One row per (route, side, log-spaced bin): bin_low_ms, bin_high_ms, requests, share (of that route's side).
    Read from the rollups' latency histograms: each 1 % bucket counts in the bin holding its centre.
    """
    _check_inputs(con, batch)
    try:
        _prepare(con, batch, before_days, after_days, settle_hours, same_hours)
        df = con.execute(
            f"""
            WITH b AS (SELECT method, rule, side, n,
                              floor(log10(greatest({sketch.value_sql("bucket")}, 0.001)) * $k)::INTEGER AS bin
                       FROM _rv_lat WHERE comparison = 'before_after'),
            g AS (SELECT coalesce(method, '*') AS method, coalesce(rule, '*') AS rule, side, bin,
                         sum(n)::BIGINT AS requests
                  FROM b GROUP BY GROUPING SETS ((method, rule, side, bin), (side, bin)))
            SELECT method, rule, CASE side WHEN 0 THEN 'before' ELSE 'after' END AS side,
                   pow(10, bin / $k::DOUBLE) AS bin_low_ms, pow(10, (bin + 1) / $k::DOUBLE) AS bin_high_ms,
                   requests, requests / sum(requests) OVER (PARTITION BY method, rule, side) AS share
            FROM g ORDER BY method = '*' DESC, method, rule, side DESC, bin
        """,
            {"k": bins_per_decade},
        ).df()
    finally:
        _cleanup(con)
    df.insert(2, "route", [_route_label(m, r) for m, r in zip(df["method"], df["rule"])])
    return df


# deliberate: same window parameters as latency_histogram; see the note above it
def timeseries(
    con: duckdb.DuckDBPyConnection,
    batch: str,
    bucket_hours: float = 6,
    before_days: float = 7,
    after_days: float = 7,
    settle_hours: float = 1,
    same_hours: bool = True,
) -> pd.DataFrame:
    """Per time bucket around the cutover, per route and whole batch: requests, p50/p95 (from the latency
    histogram, within 1 %), 4xx and 5xx rates. Buckets are whole hours of the rollups.

    Every hour of both windows is shown; `same_hours` (which hours a review compares) is accepted so that the
    windows of `review_windows` pass as they are."""
    _check_inputs(con, batch)
    params = {
        "batch": batch,
        "step": rollup.step_us(bucket_hours),
        "before": int(before_days * DAY_US),
        "after": int(after_days * DAY_US),
        "settle": int(settle_hours * HOUR_US),
    }
    rows = """
        SELECT q.method, q.route AS rule, (epoch_us(q.hour) // $step) * $step AS bu, {cols}
        FROM {table} q JOIN batches b ON b.batch = $batch AND q.method = b.method AND q.route = b.rule,
             (SELECT epoch_us(min(cutover_at)) AS c FROM batches WHERE batch = $batch) w
        WHERE epoch_us(q.hour) >= w.c - $before AND epoch_us(q.hour) < w.c + $settle + $after"""
    lat = rows.format(table="rollup_latency", cols="q.bucket, q.n")
    quantiles = sketch.quantiles_sql(
        f"SELECT * FROM ({lat}) UNION ALL SELECT '*', '*', bu, bucket, n FROM ({lat})",
        ["method", "rule", "bu"],
        {"p50_ms": 0.5, "p95_ms": 0.95},
    )
    df = con.execute(
        f"""
        WITH r AS ({rows.format(table="rollups", cols="q.status, q.requests")}),
        g AS (SELECT coalesce(method, '*') AS method, coalesce(rule, '*') AS rule, bu, sum(requests)::BIGINT AS requests,
                     coalesce(sum(requests) FILTER (WHERE status BETWEEN 400 AND 499), 0)
                         / sum(requests) FILTER (WHERE status IS NOT NULL) AS error_rate_4xx,
                     coalesce(sum(requests) FILTER (WHERE status BETWEEN 500 AND 599), 0)
                         / sum(requests) FILTER (WHERE status IS NOT NULL) AS error_rate_5xx
              FROM r GROUP BY GROUPING SETS ((method, rule, bu), (bu))),
        l AS ({quantiles})
        SELECT to_timestamp(bu / 1e6) AS bucket, method, rule, requests, l.p50_ms, l.p95_ms, error_rate_4xx,
               error_rate_5xx, bu >= (SELECT epoch_us(min(cutover_at)) FROM batches WHERE batch = $batch) AS after_cutover
        FROM g LEFT JOIN l USING (method, rule, bu) ORDER BY method = '*' DESC, method, rule, bucket
    """,
        params,
    ).df()
    df.insert(3, "route", [_route_label(m, r) for m, r in zip(df["method"], df["rule"])])
    return df


def _fmt_value(m: Metric, v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    if m.unit == "%":
        return f"{100 * v:.2f} %"
    if m.unit == "ms":
        return f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"
    if m.unit == "/h":
        return f"{v:,.1f}/h"
    if m.unit == "B":
        return f"{v:,.0f} B"
    return f"{v:.2f}"


def _fmt_change(m: Metric, row: pd.Series) -> str:
    b, a = row["before"], row["after"]
    text = f"{m.label} {_fmt_value(m, b)} → {_fmt_value(m, a)}"
    lo, hi = row["ci_low"], row["ci_high"]
    if m.unit == "%":
        return text + f" ({100 * (a - b):+.2f} points, 95 % CI {100 * lo:+.2f} to {100 * hi:+.2f})"
    if b:
        return text + f" ({100 * (a - b) / b:+.0f} %, 95 % CI {100 * lo / b:+.0f} % to {100 * hi / b:+.0f} %)"
    return text


def summaries(con: duckdb.DuckDBPyConnection, batch: str | None = None) -> pd.DataFrame:
    """One generated sentence per reviewed route (and whole batch): what changed, by how much, how sure."""
    t = verdict_table(con, batch)
    out = []
    for (b, method, rule), g in t.groupby(["batch", "method", "rule"], sort=False):
        by = {r["metric"]: r for _, r in g.iterrows()}
        worse = [_fmt_change(_BY_NAME[k], r) for k, r in by.items() if r["verdict"] == "worse"]
        better = [_fmt_change(_BY_NAME[k], r) for k, r in by.items() if r["verdict"] == "better"]
        short = [k for k, r in by.items() if r["verdict"] == "insufficient_data"]
        label = _route_label(method, rule)
        n0, n1 = (int(by["requests"][c]) if "requests" in by else 0 for c in ("n_before", "n_after"))
        if len(short) == len(by):
            text = f"{label}: not enough data for a verdict ({by[short[0]]['note']})."
        else:
            parts = []
            if worse:
                parts.append("worse: " + "; ".join(worse))
            if better:
                parts.append("better: " + "; ".join(better))
            if not parts:
                keep = [k for k in ("p95_ms", "error_rate_5xx") if k in by and by[k]["verdict"] == "no_change"]
                keep = keep or [k for k, r in by.items() if r["verdict"] == "no_change"][:2]
                parts.append(
                    "no detectable change ("
                    + ", ".join(
                        f"{_BY_NAME[k].label} {_fmt_value(_BY_NAME[k], by[k]['before'])} → "
                        f"{_fmt_value(_BY_NAME[k], by[k]['after'])}"
                        for k in keep
                    )
                    + ")"
                )
            text = f"{label}: " + "; ".join(parts) + f" — {n0:,} requests before, {n1:,} after"
            if short:
                text += f"; too little data for {', '.join(_BY_NAME[k].label for k in short)}"
            text += "."
        out.append((b, method, rule, label, text))
    return pd.DataFrame(out, columns=["batch", "method", "rule", "route", "sentence"])


def batch_summary(con: duckdb.DuckDBPyConnection, batch: str) -> str:
    """One plain line for the report index: the batch's verdict and its clearest changes on the whole batch."""
    v = batch_verdicts(con)
    row = v[v["batch"] == batch]
    if row.empty:
        raise StranglerError(f"batch {batch!r} is not in the manifest")
    row = row.iloc[0]
    t = verdict_table(con, batch)
    whole = t[(t["method"] == "*") & t["verdict"].isin(["better", "worse"])]
    changes = [
        f"{_BY_NAME[r.metric].label} {r.change_pct:+.0f} %"
        if _BY_NAME[r.metric].unit != "%"
        else f"{_BY_NAME[r.metric].label} {100 * r.change:+.2f} points"
        for r in whole.itertuples()
    ]
    routes = t[t["method"] != "*"].groupby("route")["verdict"].agg(set)
    n_worse = int(sum("worse" in s for s in routes))
    n_better = int(sum("better" in s and "worse" not in s for s in routes))
    cut = pd.Timestamp(row["cutover_at"]).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
    text = f"{batch} (cutover {cut}): {row['verdict']}"
    if t.empty:
        return text + f" ({int(row['routes'])} routes): no review stored for this batch."
    seen = t[(t["method"] == "*") & (t["metric"] == "requests")][["n_before", "n_after"]].fillna(0).sum()
    if not seen.sum():
        return text + f": no request of its {int(row['routes'])} routes in the compared windows."
    if changes:
        text += " — whole batch " + ", ".join(changes)
    return text + f"; {len(routes)} routes: {n_worse} worse, {n_better} better."
