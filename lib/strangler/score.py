"""Priority score of every Flask route, and a batch plan: what to move next, what to delete.

`plan(con, ...)` rebuilds the `scores` table (and `coupling`, one row per Flask construct a route uses) from
`routes` (the Flask rows), `requests` (attributed) and `batches`. It joins three things: value from the logs,
effort from the code (`strangler.effort`), and what the manifest has already planned.

**Value** over the window `[start, end)` (default: every request; requests without a timestamp count only when
no window is given), from requests attributed to the route's Flask rule (a HEAD request counts for the GET rule
unless the app declares HEAD itself):

- `requests`, `share` = requests / every attributed request in the window;
- `rate_5xx` = share of 5xx responses; `rate_4xx`; `error_rate` = share of 4xx and 5xx;
- `rate_5xx_adj` = (5xx + 100 · overall 5xx rate) / (requests + 100): the 5xx rate shrunk towards the app's
  overall rate by 100 pseudo-requests, so that 2 errors in 150 requests do not outrank a real incident;
- `p95_ms` = 95th percentile of `duration_ms` (NULL when the log has no latency), read from the rollups' latency
  histogram: within 1 % of the exact one.

Value is read from the rollups (`strangler.rollup`, refreshed first), so `start`/`end` must fall on whole hours.

**Normalised inputs** (0–1, over all scored routes): `traffic_n = ln(1 + requests) / ln(1 + max requests)`
(log scale: traffic is heavily skewed), `errors_n = rate_5xx_adj / max rate_5xx_adj`, `latency_n = p95_ms /
max p95_ms`, `effort_n = effort / max effort` (effort from `strangler.effort`; an unknown effort counts as 1).

**Score** with weights `traffic`, `errors`, `latency`, `effort` (`--weights traffic=1,errors=0.5,latency=0.5,effort=1`
are the defaults; a missing key keeps its default, 0 switches a term off):

    value = (w_traffic·traffic_n + w_errors·errors_n + w_latency·latency_n) / (w_traffic + w_errors + w_latency)
    score = 100 · (w_traffic·traffic_n + w_errors·errors_n + w_latency·latency_n − w_effort·effort_n)
                / (w_traffic + w_errors + w_latency + w_effort)

`rank` orders the live routes by score (ties: more requests first, then rule and method). A route with no request
in the window and in no batch of the manifest is **dead** (`dead = true`, `status = 'dead'`): a delete candidate,
never planned. Flask's own static routes are never dead (`attribute.framework_added`).

**Batch plan.** Routes already in the `batches` table keep their batch (`status` `migrated` once its cutover is
past by the wall clock, else `planned`). The other live routes (`status = 'proposed'`) are grouped by affinity
(column `affinity`: the Flask blueprint, else the first static segment of the rule, `/trips/<int:id>` → `trips`)
and packed first-fit in score order into batches of at most `budget` effort points (default 20; a route bigger
than the budget gets a batch of its own). Batches are named `<affinity>-<n>` and ordered by the mean score of
their routes, so high value and low effort come first. Every live route ends in exactly one batch, every dead
route in none.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from strangler import attribute, manifest, rollup, sketch
from strangler import effort as effort_mod
from strangler import routes as routes_mod
from strangler.attribute import ROUTE_PER_RULE
from strangler.errors import StranglerError

DEFAULT_WEIGHTS: dict[str, float] = {"traffic": 1.0, "errors": 0.5, "latency": 0.5, "effort": 1.0}
DEFAULT_BUDGET = 20.0
PRIOR_REQUESTS = 100  # pseudo-requests at the overall 5xx rate in rate_5xx_adj

# the fixed columns of DESIGN.md first, then every input beside them
SCORE_COLUMNS = [
    "method",
    "rule",
    "requests",
    "error_rate",
    "p95_ms",
    "complexity",
    "effort",
    "score",
    "proposed_batch",
    "dead",
    "rank",
    "status",
    "batch_position",
    "share",
    "rate_5xx",
    "rate_5xx_adj",
    "rate_4xx",
    "traffic_n",
    "errors_n",
    "latency_n",
    "effort_n",
    "value",
    "cyclomatic",
    "helper_cyclomatic",
    "sloc",
    "halstead_volume",
    "maintainability",
    "helpers",
    *effort_mod.KINDS,
    "coupling",
    "blueprint",
    "affinity",
    "endpoint",
    "file",
    "line",
    "view_file",
    "view_line",
    "note",
    "window_start",
    "window_end",
]


# columns that may be all NULL in a small app, typed explicitly so that the table's schema never depends on data
_SCORE_CASTS = ", ".join(
    [
        f"CAST({c} AS VARCHAR) AS {c}"
        for c in (
            "proposed_batch",
            "status",
            "helpers",
            "blueprint",
            "affinity",
            "endpoint",
            "file",
            "view_file",
            "note",
        )
    ]
    + [f"CAST({c} AS TIMESTAMPTZ) AS {c}" for c in ("window_start", "window_end")]
    + [
        f"CAST({c} AS DOUBLE) AS {c}"
        for c in (
            "error_rate",
            "p95_ms",
            "effort",
            "rate_5xx",
            "rate_5xx_adj",
            "rate_4xx",
            "share",
            "halstead_volume",
            "maintainability",
        )
    ]
    + [f"CAST({c} AS INTEGER) AS {c}" for c in ("line", "view_line", "batch_position", "rank")]
)


# --- inputs -------------------------------------------------------------------------------------------------


def parse_weights(weights: str | dict | None) -> dict[str, float]:
    """Weights from 'traffic=1,errors=0.5' or a dict, over the defaults; raises StranglerError on a bad one."""
    out = dict(DEFAULT_WEIGHTS)
    if weights is None or weights == "":
        return out
    if isinstance(weights, str):
        items: dict[str, Any] = {}  # values checked by float() below
        for part in weights.split(","):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            if not sep:
                raise StranglerError(f"weights: {part.strip()!r} must read KEY=NUMBER, e.g. traffic=1,effort=0.5")
            items[key.strip()] = val.strip()
    elif isinstance(weights, dict):
        items = dict(weights)
    else:
        raise StranglerError(f"weights must be 'traffic=1,effort=0.5' or a dict, not {type(weights).__name__}")
    for key, val in items.items():
        if key not in DEFAULT_WEIGHTS:
            raise StranglerError(f"weights: unknown key {key!r}; use {', '.join(DEFAULT_WEIGHTS)}")
        try:
            number = float(val)
        except (TypeError, ValueError):
            raise StranglerError(f"weights: {key}={val!r} is not a number") from None
        if not number >= 0 or number == float("inf"):
            raise StranglerError(f"weights: {key}={val!r} must be a finite number ≥ 0")
        out[key] = number
    if sum(out.values()) == 0:
        raise StranglerError("weights: at least one weight must be above 0")
    return out


def _timestamp(value, name: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise StranglerError(
            f"{name} {value!r} is not a date or date-time; write e.g. 2026-03-02 or 2026-03-02T09:00:00Z"
        ) from None
    if ts is pd.NaT:
        raise StranglerError(f"{name} {value!r} is not a date or date-time")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


# One row per Flask (method, rule): the same row the endpoints and dead-routes reports read (ROUTE_PER_RULE).
_ROUTES_SQL = f"""
SELECT method, rule, endpoint, file, line, end_line, blueprint
FROM ({ROUTE_PER_RULE})
WHERE framework = 'flask'
ORDER BY rule, method
"""

# value per Flask route from the rollups (`{where}`: the window on hour); p95 from the latency histogram (within 1 %)
_VALUE_SQL = """
WITH fr AS ({routes}),
heads AS (SELECT rule FROM fr WHERE method = 'HEAD'),
win AS (SELECT * FROM rollups q WHERE route IS NOT NULL AND {where}),
total AS (SELECT coalesce(sum(requests), 0)::BIGINT AS n,
                 sum(requests) FILTER (WHERE status >= 500) / sum(requests) FILTER (WHERE status IS NOT NULL)
                     AS rate_5xx
          FROM win),
req AS (
    SELECT {counted_w} AS method,
           w.route AS rule, w.status, w.requests
    FROM win w
    LEFT JOIN heads h ON h.rule = w.route
    WHERE coalesce(w.route_framework, 'flask') = 'flask'
),
agg AS (
    SELECT method, rule, sum(requests)::BIGINT AS requests,
           coalesce(sum(requests) FILTER (WHERE status >= 500), 0)
               / sum(requests) FILTER (WHERE status IS NOT NULL) AS rate_5xx,
           coalesce(sum(requests) FILTER (WHERE status BETWEEN 400 AND 499), 0)
               / sum(requests) FILTER (WHERE status IS NOT NULL) AS rate_4xx,
           coalesce(sum(requests) FILTER (WHERE status >= 400), 0)
               / sum(requests) FILTER (WHERE status IS NOT NULL) AS error_rate
    FROM req GROUP BY method, rule
),
lat AS ({latency}),
planned AS (
    SELECT method, rule, any_value(batch) AS batch, min(cutover_at) AS cutover_at, min(position) AS position
    FROM batches GROUP BY method, rule
)
SELECT fr.*, total.n AS total,
       coalesce(agg.requests, 0) AS requests,
       coalesce(agg.requests, 0) / nullif(total.n, 0) AS share,
       agg.rate_5xx,
       CASE WHEN agg.requests > 0 THEN (agg.rate_5xx * agg.requests + $prior * total.rate_5xx)
                                       / (agg.requests + $prior) END AS rate_5xx_adj,
       agg.rate_4xx, agg.error_rate, lat.p95_ms,
       planned.batch AS existing_batch, planned.cutover_at, planned.position AS existing_position
FROM fr
CROSS JOIN total
LEFT JOIN agg USING (method, rule)
LEFT JOIN lat USING (method, rule)
LEFT JOIN planned USING (method, rule)
"""
_VALUE_LATENCY = """
SELECT {counted_q} AS method, q.route AS rule,
       q.bucket, q.n
FROM rollup_latency q LEFT JOIN heads h ON h.rule = q.route
WHERE q.route IS NOT NULL AND coalesce(q.route_framework, 'flask') = 'flask' AND {where}
"""

# the score of one route from its normalised inputs, with the weights as parameters (see `_weight_params`)
_SCORE_EXPR = (
    "round(100 * ($wt * traffic_n + $we * errors_n + $wl * latency_n - $wf * effort_n) / ($wt + $we + $wl + $wf), 2)"
)
# the order of `rank` among the live routes, given a `score` expression
_RANK_ORDER = "{score} DESC, requests DESC, rule, method"


def _weight_params(w: dict[str, float]) -> dict[str, float]:
    """The weights as the query parameters of `_SCORE_EXPR`."""
    return {"wt": w["traffic"], "we": w["errors"], "wl": w["latency"], "wf": w["effort"]}


_SCORE_SQL = """
WITH n AS (
    SELECT *,
           CASE WHEN requests > 0 THEN ln(1 + requests) / nullif(max(ln(1 + requests)) OVER (), 0) ELSE 0 END
               AS traffic_n,
           coalesce(rate_5xx_adj / nullif(max(rate_5xx_adj) OVER (), 0), 0) AS errors_n,
           coalesce(p95_ms / nullif(max(p95_ms) OVER (), 0), 0) AS latency_n,
           coalesce(effort, 1) / nullif(max(coalesce(effort, 1)) OVER (), 0) AS effort_n
    FROM {inputs}
),
s AS (
    SELECT *,
           coalesce(($wt * traffic_n + $we * errors_n + $wl * latency_n) / nullif($wt + $we + $wl, 0), 0) AS value,
           {score} AS score
    FROM n
)
SELECT *,
       CASE WHEN NOT dead THEN row_number() OVER (PARTITION BY dead ORDER BY {rank_order}) END AS rank
FROM s
"""


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _group(blueprint: object, rule: str) -> str:
    """Affinity group: the blueprint, else the rule's first static segment."""
    if isinstance(blueprint, str) and blueprint:
        name = blueprint
    else:
        first = next((seg for seg in rule.split("/") if seg and not seg.startswith("<")), "root")
        name = first
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "root"


# --- the plan -----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """The result of `plan`: the scores table as a DataFrame, the batches, and what was written."""

    scores: pd.DataFrame
    batches: pd.DataFrame  # batch, position, status, routes, effort, requests, share, mean_score
    weights: dict[str, float]
    budget: float
    start: dt.datetime | None
    end: dt.datetime | None
    written: list[Path] = field(default_factory=list)

    @property
    def window(self) -> str:
        """The value window in words: 'all requests', or 'requests from … to …' (UTC, end exclusive)."""
        if not (self.start or self.end):
            return "all requests"
        fmt = "%Y-%m-%d %H:%M UTC"
        return (
            f"requests from {self.start.strftime(fmt) if self.start else 'the first'} "
            f"to {self.end.strftime(fmt) if self.end else 'the last'}"
        )

    @property
    def dead(self) -> pd.DataFrame:
        """Delete candidates: routes with no request in the window and in no batch."""
        return self.scores[self.scores["dead"]]

    def summary(self) -> str:
        """One line for the report index."""
        live = self.scores[~self.scores["dead"]]
        proposed = self.batches[self.batches["status"] == "proposed"]
        top = live.sort_values("rank").head(1)
        first = (
            f"; first: {proposed.iloc[0]['batch']} ({_n(int(proposed.iloc[0]['routes']), 'route')})"
            if len(proposed)
            else ""
        )
        lead = f"; top route {top.iloc[0]['method']} {top.iloc[0]['rule']}" if len(top) else ""
        return (
            f"{_n(len(self.scores), 'Flask route')} scored: {_n(len(proposed), 'batch', 'batches')} proposed "
            f"under {self.budget:g} effort points{first}; {_n(len(self.dead), 'dead route')} to delete{lead}"
        )

    def __str__(self) -> str:
        w = ",".join(f"{k}={v:g}" for k, v in self.weights.items())
        lines = [f"scored {len(self.scores)} Flask routes over {self.window} (weights {w}, budget {self.budget:g})"]
        for b in self.batches.itertuples(index=False):
            lines.append(
                f"  {b.position:>3}. {b.batch:<24} {b.status:<9} {b.routes:>3} routes  "
                f"effort {b.effort:6.1f}  share {b.share:6.1%}  mean score {b.mean_score:6.1f}"
            )
        dead = self.dead
        lines.append(
            f"dead routes (delete candidates): {len(dead)}"
            + (": " + ", ".join(f"{m} {r}" for m, r in zip(dead["method"], dead["rule"])) if len(dead) else "")
        )
        for p in self.written:
            lines.append(f"wrote {p}")
        return "\n".join(lines)


def plan(
    con: duckdb.DuckDBPyConnection,
    weights: str | dict | None = None,
    budget: float | None = None,
    start=None,
    end=None,
    source: str | Path | None = None,
    out: Path | None = None,
) -> Plan:
    """Score every Flask route and propose batches; rebuilds tables `scores` and `coupling`.

    `source` is the app's source tree for helpers and hooks (default: the folder holding the routes' files);
    `start`/`end` bound the value window; with `out`, also writes plan.csv, plan.md and migration.draft.toml.
    """
    w = parse_weights(weights)
    budget = DEFAULT_BUDGET if budget is None else float(budget)
    if not budget > 0:
        raise StranglerError(f"budget must be a number of effort points above 0, not {budget:g}")
    t0, t1 = _timestamp(start, "start"), _timestamp(end, "end")
    if t0 and t1 and t0 >= t1:
        raise StranglerError(f"window start {t0:%Y-%m-%d %H:%M} is not before its end {t1:%Y-%m-%d %H:%M}")
    routes = con.execute(_ROUTES_SQL).df()
    if routes.empty:
        raise StranglerError(
            "no Flask routes in the routes table: run `strangler routes --app MODULE:ATTR` "
            "or `strangler routes --source DIR` first"
        )
    rollup.ensure(con)
    n_req, n_attr = rollup.one_row(
        con,
        "SELECT coalesce(sum(requests), 0), coalesce(sum(requests) FILTER (WHERE route IS NOT NULL), 0) FROM rollups",
    )
    if n_req and not n_attr:
        raise StranglerError("no request is attributed to a route yet: run `strangler attribute` first")
    where, params = rollup.window(t0, t1)
    counted = {alias: routes_mod.counted_method_sql(f"{alias}.method", "h.rule IS NOT NULL") for alias in "wq"}
    latency = sketch.quantiles_sql(
        _VALUE_LATENCY.format(where=where, counted_q=counted["q"]), ["method", "rule"], {"p95_ms": 0.95}
    )
    value = con.execute(
        _VALUE_SQL.format(
            routes=_ROUTES_SQL.replace("ORDER BY rule, method", ""),
            where=where,
            latency=latency,
            counted_w=counted["w"],
        ),
        {**params, "prior": PRIOR_REQUESTS},
    ).df()
    if not value["total"].iloc[0]:
        where = "" if not (t0 or t1) else f" between {t0 or 'the start'} and {t1 or 'the end'}"
        raise StranglerError(
            f"no attributed request{where}: every route would look dead; ingest logs "
            "(`strangler ingest`), attribute them, or widen --start/--end"
        )
    metrics, coupling = effort_mod.analyze_routes(routes, source)
    inputs = routes.merge(
        value[
            [
                "method",
                "rule",
                "requests",
                "share",
                "rate_5xx",
                "rate_5xx_adj",
                "rate_4xx",
                "error_rate",
                "p95_ms",
                "existing_batch",
                "cutover_at",
                "existing_position",
            ]
        ],
        on=["method", "rule"],
    ).merge(metrics, on=["method", "rule"])
    inputs["coupling"] = inputs[list(effort_mod.KINDS)].sum(axis=1)
    # a static route Flask adds by itself is never a delete candidate (attribute.framework_added)
    added = attribute.framework_added(pd.Series("flask", index=inputs.index), inputs["endpoint"], inputs["rule"])
    inputs["dead"] = (inputs["requests"] == 0) & inputs["existing_batch"].isna() & ~added
    inputs["affinity"] = [_group(b, r) for b, r in zip(inputs["blueprint"], inputs["rule"])]
    inputs["window_start"], inputs["window_end"] = t0, t1
    con.register("_score_inputs", inputs)
    try:
        scored = con.execute(
            _SCORE_SQL.format(inputs="_score_inputs", score=_SCORE_EXPR, rank_order=_RANK_ORDER.format(score="score")),
            _weight_params(w),
        ).df()
    finally:
        con.unregister("_score_inputs")
    scored, batches = _assign_batches(scored, budget, con)
    scored = scored.sort_values(["dead", "rank", "rule", "method"], na_position="last").reset_index(drop=True)
    scored = scored[SCORE_COLUMNS]
    con.register("_scores_df", scored)
    con.register("_coupling_df", coupling)
    try:
        con.execute(f"CREATE OR REPLACE TABLE scores AS SELECT * REPLACE ({_SCORE_CASTS}) FROM _scores_df")
        con.execute("""
            CREATE OR REPLACE TABLE coupling AS
            SELECT CAST(method AS VARCHAR) AS method, CAST(rule AS VARCHAR) AS rule, CAST(kind AS VARCHAR) AS kind,
                   CAST(detail AS VARCHAR) AS detail, CAST(file AS VARCHAR) AS file, CAST(line AS INTEGER) AS line,
                   CAST(via AS VARCHAR) AS via
            FROM _coupling_df ORDER BY rule, method, file, line
        """)
    finally:
        con.unregister("_scores_df")
        con.unregister("_coupling_df")
    con.execute(
        "CREATE OR REPLACE TABLE plan_settings AS SELECT ?::VARCHAR AS weights, ?::DOUBLE AS budget, "
        "?::TIMESTAMPTZ AS window_start, ?::TIMESTAMPTZ AS window_end, now() AS planned_at",
        [json.dumps(w), budget, t0, t1],
    )
    result = Plan(con.execute("SELECT * FROM scores").df(), batches, w, budget, t0, t1)
    if out is not None:
        result.written = write(result, Path(out), con)
    return result


def _assign_batches(
    scored: pd.DataFrame, budget: float, con: duckdb.DuckDBPyConnection
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Existing batches kept; proposed ones packed first-fit per affinity group in score order.

    Loops over distinct routes (a few hundred), not over log rows.
    """
    now = pd.Timestamp.now(tz="UTC")
    scored = scored.copy()
    in_batch = scored["existing_batch"].notna()
    scored["status"] = "proposed"
    scored.loc[in_batch, "status"] = [
        "migrated" if pd.notna(c) and pd.Timestamp(c) <= now else "planned" for c in scored.loc[in_batch, "cutover_at"]
    ]
    scored.loc[scored["dead"], "status"] = "dead"
    scored["proposed_batch"] = scored["existing_batch"].where(in_batch, None).astype(object)
    taken = set(con.execute("SELECT DISTINCT batch FROM batches").df()["batch"])
    chunks: list[dict] = []
    candidates = scored[(scored["status"] == "proposed")].sort_values("rank")
    for idx, r in candidates.iterrows():
        cost = float(r["effort"]) if pd.notna(r["effort"]) else 1.0
        for c in chunks:
            if c["group"] == r["affinity"] and c["effort"] + cost <= budget:
                break
        else:
            c = {"group": r["affinity"], "effort": 0.0, "rows": []}
            chunks.append(c)
        c["effort"] += cost
        c["rows"].append(idx)
    for c in chunks:
        c["mean_score"] = float(scored.loc[c["rows"], "score"].mean())
    chunks.sort(key=lambda c: (-c["mean_score"], c["group"]))
    counters: dict[str, int] = {}
    for c in chunks:
        k = counters.get(c["group"], 0) + 1
        while f"{c['group']}-{k}" in taken:
            k += 1
        counters[c["group"]] = k
        c["name"] = f"{c['group']}-{k}"
        taken.add(c["name"])
    existing = scored[in_batch].groupby("existing_batch")["existing_position"].min().sort_values()
    position = {name: i for i, name in enumerate(existing.index, 1)}
    for i, c in enumerate(chunks, len(position) + 1):
        position[c["name"]] = i
        scored.loc[c["rows"], "proposed_batch"] = c["name"]
    scored["batch_position"] = scored["proposed_batch"].map(position).astype("Int64")
    return scored, batch_table(scored)


def batch_table(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per batch of a scored plan: position, batch, status, routes, effort, requests, share, mean_score,
    cutover_at."""
    live = scored[scored["proposed_batch"].notna()]
    batches = (
        live.groupby("proposed_batch")
        .agg(
            position=("batch_position", "min"),
            routes=("rule", "size"),
            effort=("effort", lambda s: float(s.fillna(1).sum())),
            requests=("requests", "sum"),
            share=("share", lambda s: float(s.fillna(0).sum())),
            mean_score=("score", "mean"),
            status=(
                "status",
                lambda s: (
                    "proposed" if (s == "proposed").all() else "migrated" if (s == "migrated").all() else "planned"
                ),
            ),
            cutover_at=("cutover_at", "min"),
        )
        .reset_index()
        .rename(columns={"proposed_batch": "batch"})
        .sort_values("position")
        .reset_index(drop=True)
    )
    return batches[["position", "batch", "status", "routes", "effort", "requests", "share", "mean_score", "cutover_at"]]


# --- sensitivity --------------------------------------------------------------------------------------------


def _one(cur: duckdb.DuckDBPyConnection) -> tuple:
    """The one row of an aggregate query without GROUP BY."""
    row = cur.fetchone()
    assert row is not None  # an aggregate always returns a row
    return row


def _require_scores(con: duckdb.DuckDBPyConnection) -> None:
    if not _one(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scores'"))[0]:
        raise StranglerError("no scores table yet: run `strangler plan` (or score.plan) first")


def rerank(con: duckdb.DuckDBPyConnection, weights: str | dict | None) -> pd.DataFrame:
    """Score and rank of every live route in the current `scores` table under other weights (no re-analysis)."""
    w = parse_weights(weights)
    _require_scores(con)
    return con.execute(
        f"""
        SELECT method, rule, {_SCORE_EXPR} AS score,
               row_number() OVER (ORDER BY {_RANK_ORDER.format(score=_SCORE_EXPR)}) AS rank
        FROM scores WHERE NOT dead
        ORDER BY rank
    """,
        _weight_params(w),
    ).df()


DEFAULT_VARIANTS: dict[str, str] = {
    "traffic only": "traffic=1,errors=0,latency=0,effort=0",
    "errors ×4": "errors=2",
    "latency ×4": "latency=2",
    "effort ×3": "effort=3",
}


def rank_changes(con: duckdb.DuckDBPyConnection, variants: Mapping[str, str | dict] | None = None) -> pd.DataFrame:
    """How each live route's rank moves from the `scores` table's weights to each variant.

    One row per (route, variant): method, rule, route, variant, weights, base_rank, rank, move (positive = up).
    """
    variants = DEFAULT_VARIANTS if variants is None else variants
    _require_scores(con)
    base = con.execute("SELECT method, rule, rank AS base_rank FROM scores WHERE NOT dead").df()
    frames = []
    for name, weights in variants.items():
        w = parse_weights(weights)
        r = rerank(con, w)[["method", "rule", "rank"]]
        r["variant"] = name
        r["weights"] = ",".join(f"{k}={v:g}" for k, v in w.items())
        frames.append(r)
    if not frames:
        return pd.DataFrame(columns=["method", "rule", "route", "variant", "weights", "base_rank", "rank", "move"])
    out = pd.concat(frames).merge(base, on=["method", "rule"])
    out["route"] = out["method"] + " " + out["rule"]
    out["move"] = out["base_rank"] - out["rank"]
    out = out[["method", "rule", "route", "variant", "weights", "base_rank", "rank", "move"]]
    return out.sort_values(["variant", "rank"]).reset_index(drop=True)


def largest_moves(changes: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The `top` routes whose rank moves most under any variant of `rank_changes` (each route once, its
    largest move): route, variant, base_rank, rank, move."""
    order = changes.assign(abs_move=changes["move"].abs()).sort_values(
        ["abs_move", "route", "variant"], ascending=[False, True, True]
    )
    return (
        order.drop_duplicates("route")
        .head(top)[["route", "variant", "base_rank", "rank", "move"]]
        .reset_index(drop=True)
    )


def coupling_by_kind(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Flask constructs across the scored routes, from table `coupling`: kind, uses, routes (distinct)."""
    return con.execute("""
        SELECT kind, count(*) AS uses, count(DISTINCT (method, rule)) AS routes
        FROM coupling GROUP BY kind ORDER BY uses DESC, kind
    """).df()


# --- outputs ------------------------------------------------------------------------------------------------


def _md(value: object) -> str:
    """A Markdown table cell: pipes, backslashes and newlines escaped."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "\\`")


def markdown(result: Plan) -> str:
    """The batch plan as Markdown tables to paste into a ticket."""
    w = ", ".join(f"{k}={v:g}" for k, v in result.weights.items())
    out = [
        "# Migration plan",
        "",
        f"Window: {result.window}. Weights: {w}. Budget: {result.budget:g} effort points per batch.",
        "",
        "| # | batch | status | route | effort | requests | share | 5xx rate | p95 ms | score |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    s = result.scores[result.scores["proposed_batch"].notna()].sort_values(["batch_position", "rank"])
    for r in s.itertuples(index=False):
        out.append(
            "| "
            + " | ".join(
                [
                    str(r.batch_position),
                    _md(r.proposed_batch),
                    r.status,
                    f"`{_md(r.method + ' ' + r.rule)}`",
                    "" if pd.isna(r.effort) else f"{r.effort:.1f}",
                    f"{int(r.requests):,}",
                    f"{(r.share or 0):.2%}",
                    "" if pd.isna(r.rate_5xx) else f"{r.rate_5xx:.2%}",
                    "" if pd.isna(r.p95_ms) else f"{r.p95_ms:.0f}",
                    f"{r.score:.1f}",
                ]
            )
            + " |"
        )
    dead = result.dead
    out += ["", f"## Delete candidates: {_n(len(dead), 'route')} with no request in the window", ""]
    if len(dead):
        out += ["| route | endpoint | file |", "|---|---|---|"]
        for r in dead.itertuples(index=False):
            out.append(f"| `{_md(r.method + ' ' + r.rule)}` | {_md(r.endpoint)} | {_md(r.file)}:{_md(r.line)} |")
    return "\n".join(out) + "\n"


def manifest_draft(result: Plan, con: duckdb.DuckDBPyConnection) -> str:
    """A migration.toml: the batches already in the manifest, then the proposed ones with draft cutovers."""
    lines = ["# Draft written by `strangler plan`: check the routes and set real cutover dates.", ""]
    existing = con.execute("""
        SELECT batch, min(position) AS position, min(cutover_at) AS cutover_at, any_value(canary) AS canary,
               list(method || ' ' || rule ORDER BY rule, method) AS routes
        FROM batches GROUP BY batch ORDER BY position
    """).fetchall()
    for name, _, cutover, canary, routes in existing:
        lines += manifest.batch_toml(name, cutover, routes, canary)
    rollup.ensure(con)
    last = _one(con.execute("SELECT max(last_ts) FROM rollups"))[0]
    last_cut = _one(con.execute("SELECT max(cutover_at) FROM batches"))[0]
    anchor = max(
        [pd.Timestamp(x).tz_convert("UTC") for x in (last, last_cut) if x is not None] or [pd.Timestamp.now(tz="UTC")]
    )
    first = (anchor + pd.Timedelta(days=7)).normalize() + pd.Timedelta(hours=9)
    proposed = result.batches[result.batches["status"] == "proposed"]
    s = result.scores
    for i, b in enumerate(proposed.itertuples(index=False)):
        members = s[s["proposed_batch"] == b.batch].sort_values("rank")
        cutover = first + pd.Timedelta(days=7 * i)
        lines += manifest.batch_toml(
            b.batch,
            cutover,
            zip(members["method"], members["rule"]),
            comments=[f"effort {b.effort:.1f} points, {b.share:.2%} of traffic, mean score {b.mean_score:.1f}"],
            note="draft: weekly from the end of the data",
        )
    return "\n".join(lines)


def write(result: Plan, out: Path, con: duckdb.DuckDBPyConnection) -> list[Path]:
    """Write plan.csv, plan.md and migration.draft.toml into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    csv, md, toml = out / "plan.csv", out / "plan.md", out / "migration.draft.toml"
    result.scores.to_csv(csv, index=False)
    md.write_text(markdown(result), encoding="utf-8")
    toml.write_text(manifest_draft(result, con), encoding="utf-8")
    return [csv, md, toml]


def stored(con: duckdb.DuckDBPyConnection) -> Plan | None:
    """The plan the last `plan` run stored (tables `scores` and `plan_settings`), read without recomputing
    anything, for the notebooks; None when the database holds no plan."""
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    if not {"scores", "plan_settings"} <= have:
        return None
    settings = con.execute("SELECT weights, budget, window_start, window_end FROM plan_settings").fetchone()
    if settings is None:
        return None
    with_cut = con.execute("""
        SELECT s.*, b.cutover_at FROM scores s
        LEFT JOIN (SELECT batch, min(cutover_at) AS cutover_at FROM batches GROUP BY batch) b
               ON b.batch = s.proposed_batch
    """).df()
    weights, budget, t0, t1 = settings
    scores = with_cut.drop(columns=["cutover_at"])
    return Plan(scores, batch_table(with_cut), json.loads(weights), budget, t0, t1)


def why_no_plan(con: duckdb.DuckDBPyConnection) -> str:
    """Why the database holds no plan, in words a report can show: what is missing, and the command that adds it."""
    n_flask = con.execute("SELECT count(*) FROM routes WHERE framework = 'flask'").fetchall()[0][0]
    table = "requests" if rollup.has_raw(con) else "rollups"  # a rollup directory has no raw rows
    n_req, n_attr = con.execute(
        "SELECT count(*), count(route) FROM requests"
        if table == "requests"
        else "SELECT coalesce(sum(requests), 0), coalesce(sum(requests) FILTER (route IS NOT NULL), 0) FROM rollups"
    ).fetchall()[0]
    if not n_flask:
        return "the database holds no Flask routes (strangler routes --app MODULE:ATTR or --source DIR)"
    if not n_req:
        return "the database holds no requests to value the routes by (strangler ingest LOG)"
    if not n_attr:
        return "no request is attributed to a route yet (strangler attribute)"
    return "strangler plan has not run on this database yet"
