# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Batch review: did the moved endpoints get faster, or break?
# One batch of the manifest, before its cutover against after it. The windows leave out a settling period right
# after the cutover and, by default, keep only the hours of the week present on both sides, so the daily and weekly
# cycles weigh the same. Every change comes with a 95 % interval from a paired hourly block bootstrap, and a verdict
# (`better`, `worse`, `no_change`, `insufficient_data`) that is corrected for the many metrics tested at once.
# Method and thresholds: `strangler.review` (also in the README).

# %% tags=["parameters"]
# db: the DuckDB file; manifest: migration.toml (None: use the batches already in the database);
# batch: the batch to review (None: the first of the manifest); before_days, after_days: window lengths;
# settle_hours: hours after the cutover left out
from typing import Optional

db: str = "data/demo/demo.duckdb"
manifest: Optional[str] = "data/demo/migration.toml"
batch: Optional[str] = None
before_days: float = 7
after_days: float = 7
settle_hours: float = 1

# %%
from strangler import charts

charts.enable()

from strangler import db as dbm
from strangler import manifest as manifest_mod
from strangler import review, review_views

con = dbm.connect(db)
if manifest:
    manifest_mod.apply(con, manifest)
batch = batch or review.batch_names(con)[0]
windows = dict(before_days=before_days, after_days=after_days, settle_hours=settle_hours)
result = review.review(con, batch=batch, **windows)
cut = review.cutover(con, batch)
print(result)

# %% [markdown]
# ## Verdicts
# One cell per route and metric; green is better, red is worse, grey is no detectable change, light grey is too
# little data. Hover a cell for the values before and after and the 95 % interval of the difference.

# %%
verdicts = review.verdict_table(con, batch)
charts.verdict_grid(verdicts)

# %% [markdown]
# ## In one sentence per route
# Worse changes come first. A route with `no detectable change` may still have changed by less than the interval
# can resolve: read its interval in the table below before calling it safe.

# %%
charts.table(review_views.summaries(con, batch)[["route", "sentence"]], caption=f"batch {batch}")

# %% [markdown]
# ## Latency distributions before and after
# Each panel is a route (and the whole batch); the x axis is logarithmic, so a shift to the left is a uniform
# speed-up and a fatter right tail is a new slow path. Only the compared windows are counted.

# %%
charts.latency_before_after(review_views.latency_histogram(con, batch, **windows))

# %% [markdown]
# ## p95 latency over time
# Six-hour buckets across both windows, the cutover marked. A step at the cutover is the migration; a drift
# that starts earlier or later is something else.

# %%
series = review_views.timeseries(con, batch, bucket_hours=6, **windows)
charts.metric_over_time(series, "p95_ms", cut, title="p95 latency (ms, log scale)", log=True)

# %% [markdown]
# ## Error rates over time
# A 5xx rate that jumps at the cutover and stays up is a porting bug; a single spike is an incident.

# %%
charts.error_rates_over_time(series, cut)

# %% [markdown]
# ## The numbers
# `before`/`after` per route and metric, the change, its 95 % interval (`ci_low`, `ci_high`, of after − before),
# the requests behind each side, and a note where the verdict needs explaining (too little data, or a change
# that is real but smaller than the minimum relevant change).

# %%
charts.table(verdicts.drop(columns=["batch", "method", "rule"]).round(4), max_rows=200)

# %% [markdown]
# ## Flask against FastAPI in the same hours
# Only when the log names the backend of each request (the router's log) and both served a route after its
# cutover (a canary): `before` is Flask, `after` is FastAPI, paired hour by hour. Empty otherwise.

# %%
charts.table(
    review.verdict_table(con, batch, comparison="flask_vs_fastapi").drop(columns=["batch", "method", "rule"]).round(4),
    max_rows=200,
)

# %% tags=["summary"]
print(review_views.batch_summary(con, batch))

# %% [markdown]
# ## The pilot's steps
# When `strangler pilot` ramped this batch: at the end of each step, FastAPI against Flask on the batch's routes
# over that step (whole batch; `flask`, `fastapi`, the 95 % interval of the difference and the p-value from the
# paired time-slice bootstrap). Judged metrics (5xx rate, p95, p99) `pass` or `fail`; watched ones are `shown`.
# Empty when the ingested logs hold no pilot decision for the batch.

# %%
from IPython.display import display

from strangler import pilot_views

pilot_steps = pilot_views.step_evidence(con, batch)
if pilot_steps.empty:
    print(f"no pilot steps for batch {batch!r} in the ingested logs")
else:
    display(charts.table(pilot_steps.drop(columns=["batch", "route"]).round(4), max_rows=500))
