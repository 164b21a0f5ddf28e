"""Before/after review of migrated batches (the engine): what changed at each cutover, and how sure we are.

For each batch of the manifest (table `batches`) and each of its routes, plus the batch as a whole
(method = rule = '*'), `review` compares requests in a window *before* the cutover with a window *after* it:

- **Windows.** before = [cutover − before_days, cutover); after = [cutover + settle_hours,
  cutover + settle_hours + after_days). The settling period right after the cutover (caches warming, the
  deploy itself) is left out. With `same_hours` (default) only the hours of the week (UTC) present in *both*
  windows are kept, so a daily or weekly traffic cycle weighs the same on both sides.
- **Metrics.** `requests` (per hour of window), `error_rate_4xx`, `error_rate_5xx` (share of requests),
  `p50_ms`, `p95_ms`, `p99_ms` (of `duration_ms`), and where the log carries them `db_ms` and `db_queries`
  (mean per request) and `bytes` (mean per request).
- **Uncertainty.** Requests close in time are not independent (bursts, slow minutes, incidents), so a bootstrap
  over single requests would give intervals that are too narrow. We use a *paired hourly block bootstrap*:
  DuckDB sums the hourly rollups (`strangler.rollup`) into one block per hour of the week and side (counts,
  sums, and the latency histogram in 1 % log buckets, `strangler.sketch`); numpy resamples the hour-of-week slots with replacement (the same draw
  for before and after, so both sides keep the same mix of hours) `N_BOOT` times and recomputes each metric
  from the resampled blocks. The 95 % interval of after − before is the 2.5–97.5 percentile of the
  resampled differences. Without `same_hours`, hours are resampled independently on each side.
- **Verdicts.** `insufficient_data` when a side has fewer than `MIN_BLOCKS` hours with traffic or fewer
  requests than the metric's `min_n` (see `METRICS`; e.g. 1,000 requests with a duration per side for p99).
  Otherwise each change gets a p-value (normal approximation with the bootstrap's standard error), and a
  change is called `better`/`worse` only when it passes Holm's step-down test at 5 % over all the tests of its
  batch (every metric of every route and of the whole batch: a batch where nothing changed gets any false alarm
  at most 5 % of the time, not 5 % per metric) *and* is at least the metric's minimum relevant change
  (`rel_min` of the before value, `abs_min`); else `no_change`, with the reason in `note`. For `requests` and
  `bytes` a port should change nothing, so any clear change is `worse` (look at it).
- **Flask against FastAPI.** When the log says which backend served each request (the router's log) and both
  served a route after its cutover (a canary), the same statistics compare Flask (column `before`) with FastAPI
  (column `after`) on that route in the after window, paired by hour; those rows have
  `comparison = 'flask_vs_fastapi'`, the before/after rows `comparison = 'before_after'`.

Everything is read from the rollups (refreshed first when the database has raw requests), so the windows count
whole hours: an hour that a window does not cover entirely (a cutover or settling period ending inside an hour)
is left out of that side. p50/p95/p99 are read from the histogram (within 1 % of the exact ones).
DuckDB does the selection and aggregation; Python only sees per-hour blocks of each route.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

import duckdb
import numpy as np
import pandas as pd

from strangler import rollup, sketch
from strangler.errors import StranglerError

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
N_BOOT = 1000  # bootstrap resamples
MIN_BLOCKS = 24  # hours with traffic needed on each side for any verdict
ALPHA = 0.05  # family-wise error rate per batch and comparison (Holm)


@dataclass(frozen=True)
class Metric:
    """A reviewed metric and the rule that turns its interval into a verdict."""

    name: str
    count: str  # the block column that counts the data behind it (checked against min_n)
    min_n: int  # fewer than this on either side: insufficient_data
    rel_min: float  # smallest relative change worth a verdict (of the before value)
    abs_min: float  # smallest absolute change worth a verdict
    lower_is_better: bool  # False: any clear change is `worse`
    label: str
    unit: str


METRICS: tuple[Metric, ...] = (
    Metric("requests", "n", 100, 0.10, 0.0, False, "requests", "/h"),
    Metric("error_rate_4xx", "n", 200, 0.20, 0.001, True, "4xx rate", "%"),
    Metric("error_rate_5xx", "n", 200, 0.20, 0.001, True, "5xx rate", "%"),
    Metric("p50_ms", "dur_n", 50, 0.05, 0.0, True, "p50", "ms"),
    Metric("p95_ms", "dur_n", 200, 0.05, 0.0, True, "p95", "ms"),
    Metric("p99_ms", "dur_n", 1000, 0.05, 0.0, True, "p99", "ms"),
    Metric("db_ms", "db_n", 50, 0.05, 0.0, True, "DB time", "ms"),
    Metric("db_queries", "dq_n", 50, 0.05, 0.0, True, "DB queries", ""),
    Metric("bytes", "by_n", 50, 0.05, 0.0, False, "response size", "B"),
)
_BY_NAME = {m.name: m for m in METRICS}
_OPTIONAL = {"db_ms": "db_n", "db_queries": "dq_n", "bytes": "by_n"}  # only where the log carries them
_BLOCK_COLS = ("n", "n4", "n5", "dur_n", "db_n", "db_sum", "dq_n", "dq_sum", "by_n", "by_sum")

REVIEWS_DDL = """
CREATE TABLE IF NOT EXISTS reviews (
    batch       VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,   -- '*' for the batch as a whole
    rule        VARCHAR NOT NULL,   -- '*' for the batch as a whole
    metric      VARCHAR NOT NULL,
    before      DOUBLE,             -- for comparison 'flask_vs_fastapi': the Flask value
    after       DOUBLE,             -- for comparison 'flask_vs_fastapi': the FastAPI value
    ci_low      DOUBLE,             -- 95 % interval of after - before (paired hourly block bootstrap)
    ci_high     DOUBLE,
    verdict     VARCHAR NOT NULL,   -- better / worse / no_change / insufficient_data
    n_before    BIGINT,             -- requests (with this metric's field) on each side
    n_after     BIGINT,
    p_value     DOUBLE,             -- two-sided, normal approximation with the bootstrap standard error
    comparison  VARCHAR NOT NULL,   -- 'before_after' or 'flask_vs_fastapi'
    cutover_at  TIMESTAMPTZ,
    before_start TIMESTAMPTZ,
    before_end  TIMESTAMPTZ,
    after_start TIMESTAMPTZ,
    after_end   TIMESTAMPTZ,
    hours_before DOUBLE,            -- hours of window compared on each side (after the same-hours filter)
    hours_after DOUBLE,
    same_hours  BOOLEAN,
    note        VARCHAR,            -- why a verdict is insufficient_data, with the minimum it needs
    reviewed_at TIMESTAMPTZ
)
"""
_COLUMNS = [
    "batch",
    "method",
    "rule",
    "metric",
    "before",
    "after",
    "ci_low",
    "ci_high",
    "verdict",
    "n_before",
    "n_after",
    "p_value",
    "comparison",
    "cutover_at",
    "before_start",
    "before_end",
    "after_start",
    "after_end",
    "hours_before",
    "hours_after",
    "same_hours",
    "note",
    "reviewed_at",
]


@dataclass
class Review:
    """What `review` wrote to the `reviews` table; `str()` is the CLI's verdict grid."""

    table: pd.DataFrame
    batches: list[str]
    settings: dict = field(default_factory=dict)

    def verdicts(self, comparison: str = "before_after") -> pd.DataFrame:
        """Verdict grid: one row per (batch, method, rule), one column per metric."""
        t = self.table[self.table["comparison"] == comparison]
        if t.empty:
            return pd.DataFrame()
        grid = t.pivot_table(
            index=["batch", "method", "rule"], columns="metric", values="verdict", aggfunc="first", sort=False
        )
        return grid[[m.name for m in METRICS if m.name in grid.columns]]

    def __str__(self) -> str:
        s = self.settings
        head = (
            f"reviewed {len(self.batches)} batch(es): before {s.get('before_days'):g} d, after "
            f"{s.get('after_days'):g} d after {s.get('settle_hours'):g} h settling"
            f"{', same hours of the week' if s.get('same_hours') else ''}; "
            f"{len(self.table)} rows in table reviews"
        )
        parts = [head]
        short = {"better": "better", "worse": "WORSE", "no_change": ".", "insufficient_data": "n/a"}
        for comparison, title in (
            ("before_after", ""),
            ("flask_vs_fastapi", "Flask (before) against FastAPI (after) on the same routes in the same hours:"),
        ):
            grid = self.verdicts(comparison)
            if grid.empty:
                continue
            grid = grid.map(lambda v: short.get(v, "")).reset_index()
            grid.insert(1, "route", (grid.pop("method") + " " + grid.pop("rule")).replace("* *", "(whole batch)"))
            with pd.option_context(
                "display.width", 200, "display.max_columns", 20, "display.max_rows", 500, "display.max_colwidth", 48
            ):
                parts += [title] if title else []
                parts.append(grid.to_string(index=False))
        if len(parts) > 1:
            parts.append("(. = no change, n/a = insufficient data)")
        return "\n".join(parts)


# --- windows and the requests in them -------------------------------------------------------------------------


def _check_inputs(con: duckdb.DuckDBPyConnection, batch: str | None) -> list[str]:
    """The batches to review; raises StranglerError for what the user can fix."""
    names = batch_names(con)
    if not names:
        raise StranglerError("table batches is empty: load a manifest first (strangler review --manifest M)")
    if batch is not None and batch not in names:
        raise StranglerError(f"batch {batch!r} is not in the manifest; its batches are: {', '.join(names)}")
    rollup.ensure(con)
    n, with_ts, with_route = rollup.one_row(
        con,
        "SELECT coalesce(sum(requests), 0), coalesce(sum(requests) FILTER (WHERE hour IS NOT NULL), 0), "
        "coalesce(sum(requests) FILTER (WHERE route IS NOT NULL), 0) FROM rollups",
    )
    if n and not with_ts:
        raise StranglerError("the requests have no timestamps (e.g. uvicorn's log): a before/after review needs them")
    if n and not with_route:
        raise StranglerError("no request is attributed to a route yet: run strangler attribute --db DB first")
    return [batch] if batch is not None else names


def _check_batch(con: duckdb.DuckDBPyConnection, batch: str) -> None:
    """StranglerError unless `batch` is one of the manifest's batches (what a view of stored rows needs)."""
    names = batch_names(con)
    if batch not in names:
        raise StranglerError(
            f"batch {batch!r} is not in the manifest; its batches are: {', '.join(names)}"
            if names
            else "table batches is empty: load a manifest first (strangler review --manifest M)"
        )


def _prepare(
    con: duckdb.DuckDBPyConnection,
    batch: str | None,
    before_days: float,
    after_days: float,
    settle_hours: float,
    same_hours: bool,
) -> None:
    """Create temp tables: _rv_windows, _rv_slots (hours compared, per side), _rv_req (the rollup rows of the batch
    routes in them) and _rv_lat (their latency histograms)."""
    if before_days <= 0 or after_days <= 0 or settle_hours < 0:
        raise StranglerError(
            "windows: before_days and after_days must be > 0 and settle_hours >= 0 "
            f"(got {before_days}, {after_days}, {settle_hours})"
        )
    p = {
        "batch": batch,
        "before": int(before_days * DAY_US),
        "after": int(after_days * DAY_US),
        "settle": int(settle_hours * HOUR_US),
        "H": HOUR_US,
        "same": same_hours,
    }
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _rv_windows AS
        SELECT batch, c AS cut, c - $before AS b0, c AS b1, c + $settle AS a0, c + $settle + $after AS a1
        FROM (SELECT batch, epoch_us(min(cutover_at)) AS c FROM batches
              WHERE $batch IS NULL OR batch = $batch GROUP BY batch)
    """,
        {k: p[k] for k in ("batch", "before", "after", "settle")},
    )
    # Every hour touched by a window, its exposure on each side (1 when the window covers all of it, else 0: the
    # rollups cannot split an hour) and its slot: the hour of the week (epoch hour 0 is a Thursday 00:00 UTC, so
    # +72 makes slot 0 Monday 00:00) when pairing same hours.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _rv_hours AS
        WITH h AS (SELECT w.*, unnest(range(w.b0 // $H, (w.a1 - 1) // $H + 1)) AS hour FROM _rv_windows w)
        SELECT batch, hour, CASE WHEN $same THEN (hour + 72) % 168 ELSE hour END AS slot,
               (hour * $H >= b0 AND (hour + 1) * $H <= b1)::DOUBLE AS e0,
               (hour * $H >= a0 AND (hour + 1) * $H <= a1)::DOUBLE AS e1
        FROM h
    """,
        {k: p[k] for k in ("H", "same")},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _rv_slots AS
        WITH keep AS (SELECT batch, slot FROM _rv_hours GROUP BY batch, slot
                      HAVING NOT $same OR (sum(e0) > 0 AND sum(e1) > 0)),
             h AS (SELECT h.* FROM _rv_hours h SEMI JOIN keep k ON h.batch = k.batch AND h.slot = k.slot)
        SELECT 'before_after' AS comparison, batch, 0 AS side, hour, slot, e0 AS exposure FROM h WHERE e0 > 0
        UNION ALL SELECT 'before_after', batch, 1, hour, slot, e1 FROM h WHERE e1 > 0
        UNION ALL SELECT 'flask_vs_fastapi', batch, 0, hour, hour, e1 FROM _rv_hours WHERE e1 > 0
        UNION ALL SELECT 'flask_vs_fastapi', batch, 1, hour, hour, e1 FROM _rv_hours WHERE e1 > 0
    """,
        {"same": same_hours},
    )
    # before/after: the side is the hour's; Flask against FastAPI: the side is the backend, in the after window
    for target, source, cols in (
        (
            "_rv_req",
            "rollups",
            "q.status, q.requests, q.duration_n, q.db_ms_n, q.db_ms_sum, q.db_queries_n, "
            "q.db_queries_sum, q.bytes_n, q.bytes_sum",
        ),
        ("_rv_lat", "rollup_latency", "q.bucket, q.n"),
    ):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {target} AS
            SELECT sl.comparison, b.batch, q.method, q.route AS rule, sl.side, sl.slot, {cols}
            FROM {source} q
            JOIN batches b ON q.method = b.method AND q.route = b.rule
            JOIN _rv_slots sl ON sl.batch = b.batch AND sl.hour = epoch_us(q.hour) // $H
            WHERE sl.comparison = 'before_after'
               OR (q.backend IN ('flask', 'fastapi') AND sl.side = CASE q.backend WHEN 'flask' THEN 0 ELSE 1 END)
        """,
            {"H": HOUR_US},
        )


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    for t in ("_rv_windows", "_rv_hours", "_rv_slots", "_rv_req", "_rv_lat", "_rv_groups"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


# --- the bootstrap --------------------------------------------------------------------------------------------


def _quantiles(counts: np.ndarray, bins: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles (columns) of each row of histogram `counts` over the sketch's buckets `bins`; NaN for an empty row.

    Bucket i holds (gamma^(i-1), gamma^i] ms (`strangler.sketch`); a quantile is interpolated linearly (in ln ms)
    inside its bucket, so resampled quantiles vary continuously instead of in 2 % steps (the zero bucket reads 0).
    """
    cum = np.cumsum(counts, axis=1)
    tot = cum[:, -1]
    rows = np.arange(counts.shape[0])
    out = np.empty((counts.shape[0], len(qs)))
    for j, q in enumerate(qs):
        target = q * tot
        idx = np.minimum((cum < target[:, None]).sum(axis=1), counts.shape[1] - 1)
        below = np.where(idx > 0, cum[rows, np.maximum(idx - 1, 0)], 0.0)
        inside = counts[rows, idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.clip(np.where(inside > 0, (target - below) / inside, 0.5), 0.0, 1.0)
        b = bins[idx]
        out[:, j] = np.where(b == sketch.ZERO, 0.0, np.power(sketch.GAMMA, b - 1 + frac))
    out[tot <= 0] = np.nan
    return out


def _metric_values(tot: np.ndarray, exposure: np.ndarray, quant: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric from block totals (columns of _BLOCK_COLS) and exposure hours, for every resample row."""
    c = {name: tot[:, i] for i, name in enumerate(_BLOCK_COLS)}
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "requests": c["n"] / exposure,
            "error_rate_4xx": c["n4"] / c["n"],
            "error_rate_5xx": c["n5"] / c["n"],
            "p50_ms": quant[:, 0],
            "p95_ms": quant[:, 1],
            "p99_ms": quant[:, 2],
            "db_ms": c["db_sum"] / c["db_n"],
            "db_queries": c["dq_sum"] / c["dq_n"],
            "bytes": c["by_sum"] / c["by_n"],
        }


def _bootstrap_group(
    blocks: dict[str, np.ndarray],
    hist: dict[str, np.ndarray],
    slots: dict[str, np.ndarray],
    paired: bool,
    rng: np.random.Generator,
    n_boot: int,
) -> dict:
    """Resample one group's hourly blocks: {"boot": {side: {metric: array(n_boot)}}, "nblocks", "totals"}."""
    out: dict = {"boot": {}, "nblocks": {}, "totals": {}}
    universe = np.unique(slots["slot"])
    nu = len(universe)
    if paired:
        w_shared = rng.multinomial(nu, np.full(nu, 1 / nu), size=n_boot).astype(np.float64)
    for side in (0, 1):
        sm = slots["side"] == side
        s_idx = np.searchsorted(universe, slots["slot"][sm])
        if paired:
            w = w_shared
        else:
            w = np.zeros((n_boot, nu))
            if len(s_idx):
                w[:, s_idx] = rng.multinomial(len(s_idx), np.full(len(s_idx), 1 / len(s_idx)), size=n_boot)
        exposure = np.bincount(s_idx, weights=slots["exposure"][sm], minlength=nu).astype(np.float64)
        bm = blocks["side"] == side
        x = np.zeros((nu, len(_BLOCK_COLS)))
        if bm.any():
            x[np.searchsorted(universe, blocks["slot"][bm])] = np.column_stack([blocks[c][bm] for c in _BLOCK_COLS])
        hm_mask = hist["side"] == side
        if hm_mask.any():
            bins, inv = np.unique(hist["bin"][hm_mask], return_inverse=True)
            flat = np.searchsorted(universe, hist["slot"][hm_mask]) * len(bins) + inv
            hm = (
                np.bincount(flat, weights=hist["n"][hm_mask].astype(np.float64), minlength=nu * len(bins))
                .reshape(nu, len(bins))
                .astype(np.float32)
            )
            quant = _quantiles(w.astype(np.float32) @ hm, bins, (0.5, 0.95, 0.99))  # float32: twice as fast
        else:
            quant = np.full((n_boot, 3), np.nan)
        out["boot"][side] = _metric_values(w @ x, w @ exposure, quant)
        out["nblocks"][side] = int((x[:, 0] > 0).sum())
        out["totals"][side] = dict(zip(_BLOCK_COLS, x.sum(axis=0).tolist()))
        out["totals"][side]["exposure"] = float(exposure.sum())
    return out


def _direction(m: Metric, before: float, after: float) -> str:
    """better / worse for a change judged real."""
    if not m.lower_is_better:
        return "worse"
    return "better" if after < before else "worse"


def holm(p_values: list[float], alpha: float = ALPHA) -> set[int]:
    """Indices of the tests that pass Holm's step-down test at `alpha` (family-wise error rate)."""
    m_total = len(p_values)
    passed: set[int] = set()
    for k, i in enumerate(sorted(range(m_total), key=lambda i: p_values[i])):
        if p_values[i] > alpha / (m_total - k):
            break
        passed.add(i)
    return passed


def _decide(rows: list[list], tests: list[tuple[int, float, Metric]]) -> None:
    """Set verdict and note of the tested rows of one family (one batch, one comparison) with Holm's method.

    A change is called when its p-value passes Holm's step-down test at ALPHA over every tested metric of every
    route of the batch (so a batch where nothing changed gets any false alarm at most 5 % of the time) and it is
    at least the metric's minimum relevant change; otherwise it is no_change, with the reason in `note`.
    """
    m_total = len(tests)
    passed = holm([p for _, p, _ in tests])
    c = {name: j for j, name in enumerate(_COLUMNS)}
    for i, (row_i, p, m) in enumerate(tests):
        row = rows[row_i]
        before, after = row[c["before"]], row[c["after"]]
        d = after - before
        minimum = max(m.abs_min, m.rel_min * abs(before))
        if i in passed and abs(d) >= minimum:
            row[c["verdict"]] = _direction(m, before, after)
        else:
            row[c["verdict"]] = "no_change"
            if i in passed:
                row[c["note"]] = (
                    f"real but smaller than the minimum relevant change "
                    f"({m.rel_min:.0%} of before{f', {m.abs_min:g} absolute' if m.abs_min else ''})"
                )
            elif p < ALPHA:
                row[c["note"]] = f"p = {p:.3f} is not significant after Holm's correction over {m_total} tests"


def _fmt_count(m: Metric) -> str:
    return {
        "n": "requests",
        "dur_n": "requests with a duration",
        "db_n": "requests with DB time",
        "dq_n": "requests with a DB query count",
        "by_n": "requests with a size",
    }[m.count]


# --- review ---------------------------------------------------------------------------------------------------


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `reviews`; a table from an older version without today's columns is derived data: rebuilt.

    Writes nothing when the table is there; on a read-only connection (a notebook) a missing or outdated table
    reads as an empty one (a temporary table), so the views say "not reviewed" instead of failing.
    """
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'reviews' AND table_schema = 'main'"
        ).fetchall()
    }
    if have and set(_COLUMNS) <= have:
        return
    if con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]:
        con.execute(REVIEWS_DDL.replace("CREATE TABLE", "CREATE TEMP TABLE"))
        return
    if have:
        con.execute("DROP TABLE reviews")
    con.execute(REVIEWS_DDL)


def review(
    con: duckdb.DuckDBPyConnection,
    batch: str | None = None,
    before_days: float = 7,
    after_days: float = 7,
    settle_hours: float = 1,
    same_hours: bool = True,
    seed: int = 0,
) -> Review:
    """Compare every batch (or one) before and after its cutover; rebuild its rows of table `reviews`."""
    names = _check_inputs(con, batch)
    _ensure_table(con)
    try:
        _prepare(con, batch, before_days, after_days, settle_hours, same_hours)
        rows = _review_rows(con, same_hours, seed)
    finally:
        _cleanup(con)
    table = pd.DataFrame(rows, columns=_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        if batch is None:
            con.execute("DELETE FROM reviews")
        else:
            con.execute("DELETE FROM reviews WHERE batch = ?", [batch])
        if len(table):
            con.register("_rv_new", table)
            con.execute(f"INSERT INTO reviews ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM _rv_new")
            con.unregister("_rv_new")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    settings = {
        "before_days": before_days,
        "after_days": after_days,
        "settle_hours": settle_hours,
        "same_hours": same_hours,
        "seed": seed,
    }
    return Review(table, names, settings)


def _review_rows(con: duckdb.DuckDBPyConnection, same_hours: bool, seed: int) -> list[list]:
    """Aggregate blocks in DuckDB, bootstrap each group in numpy; one tuple per (group, metric)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _rv_groups AS
        SELECT (row_number() OVER (ORDER BY comparison, batch, method, rule) - 1)::INTEGER AS gid, * FROM (
            SELECT 'before_after' AS comparison, b.batch, b.method, b.rule
            FROM batches b SEMI JOIN _rv_windows w ON w.batch = b.batch
            UNION SELECT 'before_after', batch, '*', '*' FROM _rv_windows
            UNION SELECT comparison, batch, method, rule FROM _rv_req WHERE comparison = 'flask_vs_fastapi'
            UNION SELECT comparison, batch, '*', '*' FROM _rv_req WHERE comparison = 'flask_vs_fastapi')
    """)
    groups = con.execute("SELECT gid, comparison, batch, method, rule FROM _rv_groups ORDER BY gid").df()
    blocks = con.execute("""
        SELECT g.gid, a.side, a.slot, a.n, a.n4, a.n5, a.dur_n, a.db_n, a.db_sum, a.dq_n, a.dq_sum, a.by_n, a.by_sum
        FROM (SELECT comparison, batch, coalesce(method, '*') AS method, coalesce(rule, '*') AS rule, side, slot,
                     sum(requests) AS n,
                     coalesce(sum(requests) FILTER (WHERE status BETWEEN 400 AND 499), 0) AS n4,
                     coalesce(sum(requests) FILTER (WHERE status BETWEEN 500 AND 599), 0) AS n5,
                     sum(duration_n) AS dur_n,
                     sum(db_ms_n) AS db_n, coalesce(sum(db_ms_sum), 0) AS db_sum,
                     sum(db_queries_n) AS dq_n, coalesce(sum(db_queries_sum), 0)::DOUBLE AS dq_sum,
                     sum(bytes_n) AS by_n, coalesce(sum(bytes_sum), 0)::DOUBLE AS by_sum
              FROM _rv_req
              GROUP BY GROUPING SETS ((comparison, batch, method, rule, side, slot), (comparison, batch, side, slot))) a
        JOIN _rv_groups g USING (comparison, batch, method, rule)
        ORDER BY g.gid, a.side, a.slot
    """).df()
    hist = con.execute("""
        SELECT g.gid, a.side, a.slot, a.bin, a.n
        FROM (SELECT comparison, batch, coalesce(method, '*') AS method, coalesce(rule, '*') AS rule, side, slot,
                     bucket AS bin, sum(n) AS n
              FROM _rv_lat
              GROUP BY GROUPING SETS ((comparison, batch, method, rule, side, slot, bucket),
                                      (comparison, batch, side, slot, bucket))) a
        JOIN _rv_groups g USING (comparison, batch, method, rule)
        ORDER BY g.gid
    """).df()
    quantiles = sketch.quantiles_sql(
        "SELECT comparison, batch, method, rule, side, bucket, n FROM _rv_lat "
        "UNION ALL SELECT comparison, batch, '*', '*', side, bucket, n FROM _rv_lat",
        ["comparison", "batch", "method", "rule", "side"],
        {"p50": 0.5, "p95": 0.95, "p99": 0.99},
    )
    quantile_rows = con.execute(f"""
        SELECT g.gid, a.side, a.p50, a.p95, a.p99
        FROM ({quantiles}) a JOIN _rv_groups g USING (comparison, batch, method, rule)
    """).df()
    slots = con.execute("""
        SELECT comparison, batch, side, slot, sum(exposure) AS exposure FROM _rv_slots
        GROUP BY ALL ORDER BY comparison, batch, side, slot
    """).df()
    windows = con.execute("""
        SELECT batch, to_timestamp(cut / 1e6) AS cut, to_timestamp(b0 / 1e6) AS b0, to_timestamp(b1 / 1e6) AS b1,
               to_timestamp(a0 / 1e6) AS a0, to_timestamp(a1 / 1e6) AS a1 FROM _rv_windows
    """).fetchall()
    win = {w[0]: w[1:] for w in windows}
    slot_groups = {
        k: {c: v[c].to_numpy() for c in ("side", "slot", "exposure")}
        for k, v in slots.groupby(["comparison", "batch"], sort=False)
    }
    point_q = {(int(r.gid), int(r.side)): (r.p50, r.p95, r.p99) for r in quantile_rows.itertuples()}
    b_bounds = np.searchsorted(blocks["gid"].to_numpy(), np.arange(len(groups) + 1))
    h_bounds = np.searchsorted(hist["gid"].to_numpy(), np.arange(len(groups) + 1))
    has_field = {c: bool((blocks[c] > 0).any()) for c in ("db_n", "dq_n", "by_n")} if len(blocks) else {}
    blocks = {c: blocks[c].to_numpy() for c in blocks.columns}
    hist = {c: hist[c].to_numpy() for c in hist.columns}
    now = dt.datetime.now(dt.UTC)
    rows: list[list] = []
    families: dict[tuple[str, str], list[tuple[int, float, Metric]]] = {}
    for g in groups.itertuples():
        gid = int(g.gid)
        s = slot_groups.get((g.comparison, g.batch))
        key = f"{g.comparison}\0{g.batch}\0{g.method}\0{g.rule}".encode()
        rng = np.random.default_rng([seed, zlib.crc32(key)])
        paired = g.comparison == "flask_vs_fastapi" or same_hours
        blk = {c: v[b_bounds[gid] : b_bounds[gid + 1]] for c, v in blocks.items()}
        hst = {c: v[h_bounds[gid] : h_bounds[gid + 1]] for c, v in hist.items()}
        if s is not None and len(s["slot"]):
            res = _bootstrap_group(blk, hst, s, paired, rng, N_BOOT)
        else:
            zero = dict.fromkeys(_BLOCK_COLS, 0.0) | {"exposure": 0.0}
            res = {"boot": None, "nblocks": {0: 0, 1: 0}, "totals": {0: zero, 1: dict(zero)}}
        cut, b0, b1, a0, a1 = win[g.batch]
        if g.comparison == "flask_vs_fastapi":
            b0, b1 = a0, a1
        t0, t1 = res["totals"][0], res["totals"][1]
        point = {
            side: _metric_values(
                np.array([[t[c] for c in _BLOCK_COLS]]),
                np.array([t["exposure"]]),
                np.array([point_q.get((gid, side), (np.nan,) * 3)], dtype=float),
            )
            for side, t in ((0, t0), (1, t1))
        }
        for m in METRICS:
            if m.name in _OPTIONAL and not has_field.get(m.count, False):
                continue
            if m.name == "requests" and g.comparison == "flask_vs_fastapi":
                continue  # the split between backends is the canary's choice, not an effect
            n0, n1 = int(t0[m.count]), int(t1[m.count])
            before: float | None
            after: float | None
            before = float(point[0][m.name][0])
            after = float(point[1][m.name][0])
            before = None if not np.isfinite(before) else before
            after = None if not np.isfinite(after) else after
            lo = hi = p = None
            nb0, nb1 = res["nblocks"][0], res["nblocks"][1]
            if min(n0, n1) < m.min_n or min(nb0, nb1) < MIN_BLOCKS or before is None or after is None:
                verdict = "insufficient_data"
                note = (
                    f"needs >= {m.min_n} {_fmt_count(m)} and >= {MIN_BLOCKS} hours with traffic on each "
                    f"side; has {n0} in {nb0} h before, {n1} in {nb1} h after"
                )
            else:
                diff = res["boot"][1][m.name] - res["boot"][0][m.name]
                diff = diff[np.isfinite(diff)]
                lo, hi = (float(v) for v in np.percentile(diff, [2.5, 97.5]))
                se = float(diff.std(ddof=1))
                d = after - before
                p = (1.0 if d == 0 else 0.0) if se == 0 else math.erfc(abs(d) / se / math.sqrt(2))
                verdict, note = "pending", None
                families.setdefault((g.comparison, g.batch), []).append((len(rows), p, m))
            rows.append(
                [
                    g.batch,
                    g.method,
                    g.rule,
                    m.name,
                    before,
                    after,
                    lo,
                    hi,
                    verdict,
                    n0,
                    n1,
                    p,
                    g.comparison,
                    cut,
                    b0,
                    b1,
                    a0,
                    a1,
                    t0["exposure"],
                    t1["exposure"],
                    bool(same_hours),
                    note,
                    now,
                ]
            )
    for tests in families.values():
        _decide(rows, tests)
    return rows


# --- reading the reviews table ------------------------------------------------------------------------------


def batch_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The manifest's batches in file order."""
    return [r[0] for r in con.execute("SELECT batch FROM batches GROUP BY batch ORDER BY min(position)").fetchall()]


def cutover(con: duckdb.DuckDBPyConnection, batch: str) -> dt.datetime:
    """The cutover time of `batch` (UTC); StranglerError if the manifest has no such batch."""
    _check_batch(con, batch)
    row = con.execute("SELECT min(cutover_at) FROM batches WHERE batch = ?", [batch]).fetchone()
    assert row is not None  # an aggregate returns one row
    return row[0]


class _Windows(TypedDict, total=False):
    """The window arguments of `review` that `ensure_reviewed` passes on."""

    before_days: float
    after_days: float
    settle_hours: float


def ensure_reviewed(con: duckdb.DuckDBPyConnection, **windows: Unpack[_Windows]) -> list[str]:
    """Review (with default or given windows) the batches that have no rows in `reviews` yet; returns them."""
    _ensure_table(con)
    reviewed = {r[0] for r in con.execute("SELECT DISTINCT batch FROM reviews").fetchall()}
    missing = [name for name in batch_names(con) if name not in reviewed]
    for name in missing:
        review(con, batch=name, **windows)
    return missing


def _route_label(method: str, rule: str) -> str:
    return "(whole batch)" if method == "*" else f"{method} {rule}"


def verdict_table(
    con: duckdb.DuckDBPyConnection, batch: str | None = None, comparison: str = "before_after"
) -> pd.DataFrame:
    """Rows of `reviews` for display: route, metric, before, after, change %, interval, verdict, counts."""
    _ensure_table(con)
    df = con.execute(
        """
        SELECT r.batch, method, rule, metric, before, after, after - before AS change,
               100 * (after - before) / nullif(before, 0) AS change_pct, ci_low, ci_high, verdict,
               n_before, n_after, note
        FROM reviews r LEFT JOIN (SELECT batch, min(position) AS position FROM batches GROUP BY batch) b
             ON b.batch = r.batch
        WHERE comparison = $comparison AND ($batch IS NULL OR r.batch = $batch)
        ORDER BY b.position, r.batch, method = '*' DESC, method, rule,
                 list_position($metrics, metric)
    """,
        {"batch": batch, "comparison": comparison, "metrics": [m.name for m in METRICS]},
    ).df()
    df.insert(1, "route", [_route_label(m, r) for m, r in zip(df["method"], df["rule"])])
    return df


def batch_verdicts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per manifest batch: cutover, routes, and an overall verdict from its before/after rows.

    worse if any metric of any route (or the whole batch) is worse; else better if any is better; else
    no_change if any has a verdict; else insufficient_data; 'not reviewed' when `reviews` has no rows for it.
    """
    _ensure_table(con)
    return con.execute("""
        WITH b AS (SELECT batch, min(position) AS position, min(cutover_at) AS cutover_at, count(*) AS routes
                   FROM batches GROUP BY batch),
        r AS (SELECT batch, count(*) FILTER (WHERE verdict = 'worse') AS worse,
                     count(*) FILTER (WHERE verdict = 'better') AS better,
                     count(*) FILTER (WHERE verdict = 'no_change') AS no_change,
                     count(*) AS reviewed,
                     string_agg(CASE WHEN verdict = 'worse' THEN
                                  CASE WHEN method = '*' THEN '(whole batch)' ELSE method || ' ' || rule END
                                  || ' ' || metric END, '; ' ORDER BY method, rule, metric) AS worse_on
              FROM reviews WHERE comparison = 'before_after' GROUP BY batch)
        SELECT b.batch, b.position, b.cutover_at, b.routes,
               CASE WHEN r.reviewed IS NULL THEN 'not reviewed' WHEN r.worse > 0 THEN 'worse'
                    WHEN r.better > 0 THEN 'better' WHEN r.no_change > 0 THEN 'no_change'
                    ELSE 'insufficient_data' END AS verdict,
               r.worse_on
        FROM b LEFT JOIN r USING (batch) ORDER BY b.position
    """).df()
