"""Latency histograms in log buckets whose quantiles are within 1 % and that merge by addition (DDSketch's idea).

A duration d (ms) falls in bucket i = ceil(ln(d) / ln(gamma)) with gamma = (1 + ALPHA) / (1 - ALPHA), i.e. in
(gamma^(i-1), gamma^i]. Reading a bucket as its centre 2 gamma^i / (gamma + 1) is within ALPHA (1 %) of every
value in it, so a quantile read from the histogram is within 1 % of the true one. Durations below MIN_MS (zero,
and the negative ones a log may carry) go to bucket ZERO, read as 0. Histograms of two parts of the data add up to
the histogram of the whole, bucket by bucket.

Quantile q of n durations is read as DuckDB's `quantile_cont` (and numpy's default) reads sorted values: at
0-based rank h = q (n - 1), between the values of ranks floor(h) and ceil(h), linearly; each of the two is the
value of the bucket holding it, so the result is within 1 % of `quantile_cont` of the durations themselves. The bucket is computed the same way in DuckDB
(`bucket_sql`), in Python (`bucket_of`) and by the Spark job: ceil(ln(d) / LN_GAMMA) with LN_GAMMA as below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ALPHA = 0.01  # relative error of every quantile
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LN_GAMMA = math.log(GAMMA)
MIN_MS = 1e-3  # below this a duration counts as zero
ZERO = -32768  # the bucket of zero and tiny durations (SMALLINT's minimum: below every other bucket)


def bucket_sql(expr: str) -> str:
    """SQL (DuckDB) for the bucket of duration `expr` (ms); NULL for NULL."""
    return (
        f"CASE WHEN ({expr}) IS NULL THEN NULL WHEN ({expr}) < {MIN_MS!r} THEN {ZERO}"
        f" ELSE CAST(ceil(ln({expr}) / {LN_GAMMA!r}) AS SMALLINT) END"
    )


def value_sql(bucket: str) -> str:
    """SQL for the value a bucket reads as: its centre, 0 for ZERO."""
    return f"CASE WHEN ({bucket}) = {ZERO} THEN 0.0 ELSE 2 * pow({GAMMA!r}, {bucket}) / {GAMMA + 1!r} END"


def bucket_of(ms: float | None) -> int | None:
    """The bucket of one duration (ms); None for None or NaN."""
    if ms is None or ms != ms:
        return None
    if ms < MIN_MS:
        return ZERO
    return math.ceil(math.log(ms) / LN_GAMMA)


def value_of(bucket: int | np.ndarray) -> float | np.ndarray:
    """The value a bucket reads as (its centre; 0 for ZERO); works on arrays too."""
    b = np.asarray(bucket, dtype=np.float64)
    out = np.where(b == ZERO, 0.0, 2 * np.power(GAMMA, b) / (GAMMA + 1))
    return float(out) if out.ndim == 0 else out


def quantile(buckets: Sequence[int] | np.ndarray, counts: Sequence[float] | np.ndarray, q: float) -> float:
    """Quantile q of a histogram (buckets in any order, with their counts); NaN when it is empty."""
    b = np.asarray(buckets, dtype=np.int64)
    c = np.asarray(counts, dtype=np.float64)
    order = np.argsort(b, kind="stable")
    b, c = b[order], c[order]
    total = c.sum()
    if total <= 0:
        return math.nan
    h = q * (total - 1)
    cum = np.cumsum(c)
    lo, hi = (float(value_of(b[int(np.searchsorted(cum, r, side="right"))])) for r in (math.floor(h), math.ceil(h)))
    return lo + (h - math.floor(h)) * (hi - lo)


def quantiles_sql(source: str, keys: Sequence[str], qs: dict[str, float]) -> str:
    """A query giving, per group of `keys`, the quantiles `qs` (column name -> q) of a histogram, as `quantile`.

    `source` is a query or table with the key columns, `bucket` and `n` (several rows per bucket are summed).
    """
    k = ", ".join(keys)
    part = f"PARTITION BY {k}" if keys else ""
    cols = []
    for name, q in qs.items():
        h = f"({q!r} * (total - 1))"
        lo = value_sql(f"min(bucket) FILTER (WHERE cum > floor({h}))")
        hi = value_sql(f"min(bucket) FILTER (WHERE cum > ceil({h}))")
        cols.append(f"{lo} + (any_value({h}) - floor(any_value({h}))) * ({hi} - {lo}) AS {name}")
    lead = k + ", " if keys else ""
    return f"""
        SELECT {lead}{", ".join(cols)}
        FROM (SELECT {lead}bucket, sum(n) OVER ({part} ORDER BY bucket) AS cum, sum(n) OVER ({part}) AS total
              FROM (SELECT {lead}bucket, sum(n) AS n FROM ({source}) GROUP BY ALL))
        {"GROUP BY ALL" if keys else ""}"""
