"""The pilot's judge: at the end of a ramp step, is FastAPI worse than Flask on the batch's routes?

Both backends serve the batch's routes in the same minutes (the pilot sends a fraction of clients to FastAPI),
so the comparison is over the step, in the same time slices:

- **Intervals.** The step is cut into `SLICES_PER_STEP` slices; each backend's requests are aggregated per slice
  and the review's block bootstrap (`strangler.review`) resamples slices, the same draw for both backends
  (paired), so a slow minute weighs the same on both sides. A difference's 95 % interval is the 2.5–97.5
  percentiles of the resampled differences.
- **Tests.** A bootstrap's standard error is fine on average but noisy for a small side's tail quantile, and far
  off for a rate with a handful of events (bench/README.md, "pilot"), so each judged metric gets an exact
  one-sided test instead (`exchange_p`): FastAPI's count of events (5xx responses; durations above the p95 or
  p99 of both backends together) against its law if the backend labels were exchanged within strata of
  consecutive slices (`strata`).
- **Judged metrics.** 5xx rate, p95 and p99 (p99 only with the review's 1,000 requests a side) of the whole
  batch and (when it has several) of every route with `min_requests` on each side. A step *fails* when a metric
  is worse on FastAPI by at least the batch's threshold (`fail_5xx_points` points, `fail_p95_pct` /
  `fail_p99_pct` percent of Flask's value), its 95 % interval is clear of zero, and it passes Holm's correction
  over the step's judged tests at the ramp's `alpha` divided by its judged steps (`step_alpha`): a healthy
  batch is rolled back at most `alpha` of the time over its whole ramp.
- **Watched metrics.** 4xx rate, p50 and response size are computed the same way and shown (two-sided p-value
  from the bootstrap's standard error, as in the review), never judged.
- **Too little data.** Fewer than `min_requests` requests on either backend for the whole batch, or traffic in
  fewer than `MIN_SLICES` slices on either side: the step is held (extended), not decided, before anything is
  resampled.

DuckDB aggregates (table `pilot_requests`, filled by `strangler.pilot` from the router log); numpy only sees the
slice blocks.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from strangler import review, review_views, sketch
from strangler.manifest import Ramp

SLICES_PER_STEP = 30
MIN_SLICES = 10  # slices with traffic needed on each side
STRATUM_MIN = 20  # requests of each backend in a stratum of the exchange test (consecutive slices merged)
JUDGED = ("error_rate_5xx", "p95_ms", "p99_ms")
# p99 rests on the slowest 1 %: judged only with the review's minimum (1,000 requests a side, 10 in the tail)
_TAIL_MIN = {"p99_ms": review._BY_NAME["p99_ms"].min_n}
WATCHED = ("error_rate_4xx", "p50_ms", "bytes")
WHOLE = "(whole batch)"

REQUESTS_DDL = """
CREATE TABLE IF NOT EXISTS pilot_requests (
    us          BIGINT,     -- arrival, epoch microseconds
    batch       VARCHAR,
    method      VARCHAR,
    rule        VARCHAR,    -- the batch's Flask rule
    backend     VARCHAR,    -- flask / fastapi
    status      SMALLINT,
    duration_ms DOUBLE,
    bytes       BIGINT,
    db_ms       DOUBLE,
    db_queries  INTEGER
)
"""


@dataclass
class Evidence:
    """One metric of one route (or the whole batch) over a step: Flask against FastAPI."""

    route: str
    metric: str
    flask: float | None
    fastapi: float | None
    ci_low: float | None  # 95 % interval of fastapi - flask
    ci_high: float | None
    p_value: float | None
    n_flask: int
    n_fastapi: int
    verdict: str  # fail / pass (judged), shown (watched), insufficient
    threshold: float | None = None  # the smallest worsening that fails (absolute, in the metric's unit)

    def text(self) -> str:
        """'p95 20 ms → 41 ms (+105 %, 95 % CI +80 % to +130 %)' for reports and reasons."""
        m = review._BY_NAME[self.metric]
        head = f"{m.label} {review_views._fmt_value(m, self.flask)} → {review_views._fmt_value(m, self.fastapi)}"
        if self.flask is None or self.fastapi is None or self.ci_low is None or self.ci_high is None:
            return head
        if m.unit == "%":
            d, lo, hi = (100 * v for v in (self.fastapi - self.flask, self.ci_low, self.ci_high))
            return head + f" ({d:+.2f} points, 95 % CI {lo:+.2f} to {hi:+.2f})"
        if self.flask:
            d, lo, hi = (100 * v / self.flask for v in (self.fastapi - self.flask, self.ci_low, self.ci_high))
            return head + f" ({d:+.0f} %, 95 % CI {lo:+.0f} % to {hi:+.0f} %)"
        return head


@dataclass
class Judgement:
    """The outcome of one step: `advance`, `hold` (too little data) or `fail`, with the reason and evidence."""

    outcome: str
    reason: str
    n_flask: int
    n_fastapi: int
    evidence: list[Evidence] = field(default_factory=list)


def _threshold(metric: str, ramp: Ramp, flask: float) -> float:
    if metric == "error_rate_5xx":
        return ramp.fail_5xx_points / 100.0
    pct = ramp.fail_p95_pct if metric == "p95_ms" else ramp.fail_p99_pct
    return pct / 100.0 * flask


def judge(
    con: duckdb.DuckDBPyConnection,
    batch: str,
    ramp: Ramp,
    start: float,
    end: float,
    seed: int = 0,
    n_boot: int = review.N_BOOT,
) -> Judgement:
    """Judge FastAPI against Flask on `batch` over [start, end) (POSIX seconds) from table `pilot_requests`.

    Holm's test runs at `step_alpha(ramp)`, so that a healthy ramp is falsely failed at most `ramp.alpha` of the
    time over all its judged steps."""
    slice_us = max(1, int(ramp.step_seconds * 1e6 / SLICES_PER_STEP))
    start_us, end_us = int(start * 1e6), int(end * 1e6)
    n_slices = max(1, -(-(end_us - start_us) // slice_us))
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _pj AS
        SELECT method, rule, (backend = 'fastapi')::INTEGER AS side, ((us - $start) // $slice)::INTEGER AS slot,
               status, duration_ms, bytes, db_ms, db_queries
        FROM pilot_requests
        WHERE batch = $batch AND us >= $start AND us < $end AND backend IN ('flask', 'fastapi')
        """,
        {"batch": batch, "start": start_us, "end": end_us, "slice": slice_us},
    )
    try:
        return _judge(con, ramp, n_slices, slice_us, seed, n_boot, batch, step_alpha(ramp))
    finally:
        con.execute("DROP TABLE IF EXISTS _pj")


_GROUPED = """
SELECT coalesce(method, '*') AS method, coalesce(rule, '*') AS rule, side, {cols}
FROM {rel} GROUP BY GROUPING SETS ((method, rule, side{extra}), (side{extra}))
ORDER BY method, rule, side{extra}
"""


_OVER = """
WITH cut AS (
    SELECT coalesce(method, '*') AS method, coalesce(rule, '*') AS rule,
           quantile_cont(duration_ms, 0.95) AS c95, quantile_cont(duration_ms, 0.99) AS c99
    FROM _pj GROUP BY GROUPING SETS ((method, rule), ())
), tagged AS (
    SELECT method, rule, side, slot, duration_ms FROM _pj
    UNION ALL SELECT '*', '*', side, slot, duration_ms FROM _pj
)
SELECT method, rule, side, slot, count(duration_ms) FILTER (WHERE duration_ms > c95) AS o95,
       count(duration_ms) FILTER (WHERE duration_ms > c99) AS o99
FROM tagged JOIN cut USING (method, rule) GROUP BY ALL
"""

# the event each judged metric's test counts per slice, and the block column of the requests it is counted among
_EVENTS = {"error_rate_5xx": ("n5", "n"), "p95_ms": ("o95", "dur_n"), "p99_ms": ("o99", "dur_n")}


def _exchange_test(metric: str, blk: dict[str, np.ndarray], over: pd.DataFrame) -> float:
    """exchange_p of one judged metric of one group, from its per-slice blocks and exceedance counts."""
    event, among = _EVENTS[metric]
    src = blk if event == "n5" else {c: over[c].to_numpy() for c in over.columns}
    slots = np.unique(blk["slot"])
    per = np.zeros((2, len(slots)), dtype=np.int64)  # events per side and slot
    cnt = np.zeros((2, len(slots)), dtype=np.int64)  # requests counted per side and slot
    for side in (0, 1):
        m = blk["side"] == side
        np.add.at(cnt[side], np.searchsorted(slots, blk["slot"][m]), blk[among][m].astype(np.int64))
        e = src["side"] == side
        np.add.at(per[side], np.searchsorted(slots, src["slot"][e]), src[event][e].astype(np.int64))
    ids = strata(cnt[0], cnt[1])
    cnt, per = (
        np.stack([np.bincount(ids, weights=a[side], minlength=ids[-1] + 1) for side in (0, 1)]) for a in (cnt, per)
    )
    return exchange_p(cnt.sum(axis=0), cnt[1], per.sum(axis=0), int(per[1].sum()))


def strata(flask: np.ndarray, fastapi: np.ndarray, least: int = STRATUM_MIN) -> np.ndarray:
    """The stratum of each time slice (in time order) for the exchange test: consecutive slices merged until both
    backends have at least `least` requests in it (the last, short one joins the one before). A slice with a
    request or two (short steps, a small fraction) would carry no information on its own: both of its labels
    are fixed by its counts."""
    ids = np.zeros(len(flask), dtype=np.int64)
    k, a, b = 0, 0, 0
    for i, (x, y) in enumerate(zip(flask.tolist(), fastapi.tolist())):
        ids[i] = k
        a, b = a + x, b + y
        if a >= least and b >= least:
            k, a, b = k + 1, 0, 0
    if k and (a or b or ids[-1] == k):
        ids[ids == k] = k - 1
    return ids


def _totals(blk: dict[str, np.ndarray], side: int, exposure: float) -> dict[str, float]:
    """One side's sums of the block columns over the step, and its exposure in hours."""
    m = blk["side"] == side
    return {c: float(blk[c][m].sum()) for c in review._BLOCK_COLS} | {"exposure": exposure}


def step_alpha(ramp: Ramp) -> float:
    """Holm's level for one step: the ramp's `alpha` shared out over its judged steps (fractions below 1; at 1.0
    no Flask is left to compare), so that a healthy batch is rolled back at most `alpha` of the time over its
    whole ramp (Bonferroni across steps, Holm within one; the tests are one-sided and exact)."""
    return ramp.alpha / max(1, sum(f < 1.0 for f in ramp.fractions))


def _judge(
    con: duckdb.DuckDBPyConnection,
    ramp: Ramp,
    n_slices: int,
    slice_us: int,
    seed: int,
    n_boot: int,
    batch: str,
    alpha: float,
) -> Judgement:
    blocks = con.execute(
        _GROUPED.format(
            rel="_pj",
            extra=", slot",
            cols="""slot, count(*) AS n, count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS n4,
                    count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS n5, count(duration_ms) AS dur_n,
                    count(db_ms) AS db_n, coalesce(sum(db_ms), 0) AS db_sum, count(db_queries) AS dq_n,
                    coalesce(sum(db_queries), 0)::DOUBLE AS dq_sum, count(bytes) AS by_n,
                    coalesce(sum(bytes), 0)::DOUBLE AS by_sum""",
        )
    ).df()
    slots = {
        "side": np.repeat([0, 1], n_slices),
        "slot": np.tile(np.arange(n_slices), 2),
        "exposure": np.full(2 * n_slices, slice_us / review.HOUR_US),
    }
    groups: list[tuple[str, str, dict[str, np.ndarray], dict[int, dict[str, float]], dict[int, int]]] = []
    for (method, rule), g in blocks.groupby(["method", "rule"], sort=False):
        blk = {c: g[c].to_numpy() for c in g.columns}
        totals = {side: _totals(blk, side, n_slices * slice_us / review.HOUR_US) for side in (0, 1)}
        nblocks = {side: int(((blk["side"] == side) & (blk["n"] > 0)).sum()) for side in (0, 1)}
        groups.append((method, rule, blk, totals, nblocks))
    whole = next((g for g in groups if g[0] == "*"), None)
    if whole is None:
        return Judgement("hold", "no request of the batch in the step", 0, 0)
    n0, n1 = (int(whole[3][side]["n"]) for side in (0, 1))
    s0, s1 = whole[4][0], whole[4][1]
    if min(n0, n1) < ramp.min_requests:
        return Judgement(
            "hold",
            f"too little data: {n0:,} Flask and {n1:,} FastAPI requests; needs {ramp.min_requests:,} on each",
            n0,
            n1,
        )
    if min(s0, s1) < MIN_SLICES:
        return Judgement(
            "hold",
            f"too little data: traffic in {s0} (Flask) and {s1} (FastAPI) of {n_slices} time slices; "
            f"needs {MIN_SLICES} on each",
            n0,
            n1,
        )
    if len(groups) == 2:  # one route: the whole batch is that route, judged once
        groups = [whole]
    hist = con.execute(
        _GROUPED.format(
            rel=f"(SELECT *, {sketch.bucket_sql('duration_ms')} AS bin FROM _pj WHERE duration_ms IS NOT NULL)",
            extra=", slot, bin",
            cols="slot, bin, count(*) AS n",
        )
    ).df()
    exact = con.execute(
        _GROUPED.format(rel="_pj", extra="", cols="quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS q")
    ).fetchall()
    quantiles = {(m, r, side): q for m, r, side, q in exact}
    over = con.execute(_OVER).df()  # per group, side and slot: durations above the group's pooled p95 / p99
    evidence: list[Evidence] = []
    tests: list[tuple[int, float]] = []
    for method, rule, blk, totals, nblocks in groups:
        route = WHOLE if method == "*" else f"{method} {rule}"
        point = {
            side: review._metric_values(
                np.array([[totals[side][c] for c in review._BLOCK_COLS]]),
                np.array([totals[side]["exposure"]]),
                np.array([quantiles.get((method, rule, side)) or [np.nan] * 3], dtype=float),
            )
            for side in (0, 1)
        }
        r0, r1 = (int(totals[side]["n"]) for side in (0, 1))
        enough = min(r0, r1) >= ramp.min_requests and min(nblocks.values()) >= MIN_SLICES
        boot: dict = {}
        if enough:  # only groups that are judged are resampled
            h = hist[(hist["method"] == method) & (hist["rule"] == rule)]
            hst = {c: h[c].to_numpy() for c in ("side", "slot", "bin", "n")}
            rng = np.random.default_rng([seed, zlib.crc32(f"{batch}\0{method}\0{rule}".encode())])
            boot = review._bootstrap_group(blk, hst, slots, True, rng, n_boot)["boot"]
        for metric in JUDGED + WATCHED:
            m = review._BY_NAME[metric]
            a, b = float(point[0][metric][0]), float(point[1][metric][0])
            c0, c1 = (int(totals[side][m.count]) for side in (0, 1))
            if metric == "bytes" and not (c0 and c1):
                continue
            ev = Evidence(route, metric, _finite(a), _finite(b), None, None, None, c0, c1, "insufficient")
            tail_ok = min(c0, c1) >= _TAIL_MIN.get(metric, 0)
            if enough and tail_ok and ev.flask is not None and ev.fastapi is not None:
                diff = boot[1][metric] - boot[0][metric]
                diff = diff[np.isfinite(diff)]
                if len(diff) > 1:
                    ev.ci_low, ev.ci_high = (float(v) for v in np.percentile(diff, [2.5, 97.5]))
                    ev.verdict = "shown"
                    if metric in JUDGED:  # one-sided: is FastAPI worse? (exact, labels exchanged within slices)
                        ev.p_value = _exchange_test(
                            metric, blk, over[(over["method"] == method) & (over["rule"] == rule)]
                        )
                        ev.threshold = _threshold(metric, ramp, a)
                        ev.verdict = "pass"
                        tests.append((len(evidence), ev.p_value))
                    else:  # shown only: two-sided, from the bootstrap's standard error, as in the review
                        se, d = float(diff.std(ddof=1)), b - a
                        ev.p_value = (1.0 if d == 0 else 0.0) if se == 0 else math.erfc(abs(d) / se / math.sqrt(2))
            evidence.append(ev)
    passed = review.holm([p for _, p in tests], alpha)
    failed: list[Evidence] = []
    for k, (i, _) in enumerate(tests):
        ev = evidence[i]
        assert ev.fastapi is not None and ev.flask is not None and ev.threshold is not None
        if k in passed and ev.fastapi - ev.flask >= ev.threshold and (ev.ci_low or 0.0) > 0:
            ev.verdict = "fail"
            failed.append(ev)
    if failed:
        reason = "FastAPI worse: " + "; ".join(f"{ev.route} {ev.text()}" for ev in failed[:3])
        return Judgement("fail", reason, n0, n1, evidence)
    checks = len(tests)
    return Judgement(
        "advance",
        f"no judged metric worse by its threshold ({checks} tests, Holm at {100 * alpha:g}%)",
        n0,
        n1,
        evidence,
    )


# --- the test: backend labels exchanged within slices ------------------------------------------------------------

_NORMAL_VAR = 400.0  # above this variance of FastAPI's event count the normal approximation is used (sd >= 20)


def _log_factorials(n: int) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])


def exchange_p(total: np.ndarray, fastapi: np.ndarray, events: np.ndarray, observed: int) -> float:
    """One-sided p-value of `observed` events (5xx, or durations above the pooled p95/p99) on FastAPI, if the
    backend labels were exchangeable within each stratum of time (FastAPI no worse than Flask).

    Per stratum (`strata`): `total` requests of both backends, `fastapi` of them on FastAPI, `events` among them.
    With every stratum's counts fixed, FastAPI's events in it are hypergeometric; their sum's upper tail is exact
    (convolution), or normal with a continuity correction once its variance exceeds `_NORMAL_VAR`. A conditional
    test: its level holds however few requests a side has or how rare the event is, unlike a bootstrap's
    standard error of a small side's tail quantile."""
    total, fastapi, events = (np.asarray(a, dtype=np.int64) for a in (total, fastapi, events))
    live = (events > 0) & (events < total) & (fastapi > 0) & (fastapi < total)
    # FastAPI's events where they cannot vary: every request an event, or every request on FastAPI
    fixed = int(np.where(live, 0, np.where(events == total, fastapi, np.where(fastapi == total, events, 0))).sum())
    big, small, k = total[live], fastapi[live], events[live]
    mean = float((small * k / big).sum())
    var = float((small * (big - small) * k * (big - k) / (big.astype(np.float64) ** 2 * (big - 1))).sum())
    x = observed - fixed
    if var == 0:
        return 1.0 if x <= mean + 1e-9 else 0.0
    if var > _NORMAL_VAR:
        return 0.5 * math.erfc((x - 0.5 - mean) / math.sqrt(2 * var))
    lf = _log_factorials(int(big.max()))
    pmf, offset = np.ones(1), 0
    for n_s, m_s, k_s in zip(big.tolist(), small.tolist(), k.tolist()):
        lo, hi = max(0, m_s - (n_s - k_s)), min(m_s, k_s)
        j = np.arange(lo, hi + 1)
        logp = lf[k_s] - lf[j] - lf[k_s - j] + lf[n_s - k_s] - lf[m_s - j] - lf[n_s - k_s - m_s + j]
        p = np.exp(logp - logp.max())
        pmf, offset = np.convolve(pmf, p / p.sum()), offset + lo
    return float(min(1.0, pmf[max(0, x - offset) :].sum())) if x - offset < len(pmf) else 0.0


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
