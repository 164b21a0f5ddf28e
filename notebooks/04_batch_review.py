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
# db: the DuckDB file (None: $STRANGLER_DB, else the demo's data/demo/demo.duckdb in the project folder; a
# relative path is taken from the project folder); batch: the batch to show (None: the first of the manifest).
# This notebook shows the review stored by `strangler review` (or `strangler report`): the windows
# (--before-days, --after-days, --settle-hours) are that command's options, and the charts use the same ones.
from typing import Optional

db: Optional[str] = None
batch: Optional[str] = None

# %%
from strangler import charts, paths, review, review_views

charts.enable()
data = paths.notebook_db(db)  # read-only, opened per call: the CLI may write between two cells
batch = batch or paths.first_batch(data)
windows = data(review_views.review_windows, batch)
cut = data(review.cutover, batch)
verdicts = data(review.verdict_table, batch)
reviewed = not verdicts.empty  # False: `strangler review` could not review it (no attributed, timestamped requests)
print(data(review_views.batch_summary, batch))

# %% [markdown]
# ## Verdicts
# One cell per route and metric; green is better, red is worse, grey is no detectable change, light grey is too
# little data. Hover a cell for the values before and after and the 95 % interval of the difference.

# %%
not_reviewed = f"batch {batch} is not reviewed: strangler review needs attributed requests with timestamps"
charts.verdict_grid(verdicts) if reviewed else print(not_reviewed)

# %% [markdown]
# ## In one sentence per route
# Worse changes come first. A route with `no detectable change` may still have changed by less than the interval
# can resolve: read its interval in the table below before calling it safe.

# %%
charts.table(data(review_views.summaries, batch)[["route", "sentence"]], caption=f"batch {batch}")

# %% [markdown]
# ## Latency distributions before and after
# Each panel is a route (and the whole batch); the x axis is logarithmic, so a shift to the left is a uniform
# speed-up and a fatter right tail is a new slow path. Only the compared windows are counted.

# %%
hist = data(review_views.latency_histogram, batch, **windows) if reviewed else []
charts.latency_before_after(hist) if len(hist) else print("no request with a duration in the compared windows")

# %% [markdown]
# ## p95 latency over time
# Six-hour buckets across both windows, the cutover marked. A step at the cutover is the migration; a drift
# that starts earlier or later is something else.

# %%
series = data(review_views.timeseries, batch, bucket_hours=6, **windows) if reviewed else []
p95 = "p95 latency (ms, log scale)"
charts.metric_over_time(series, "p95_ms", cut, title=p95, log=True) if len(series) else print(
    "no request of this batch in its windows"
)

# %% [markdown]
# ## Error rates over time
# A 5xx rate that jumps at the cutover and stays up is a porting bug; a single spike is an incident.

# %%
charts.error_rates_over_time(series, cut) if len(series) else print("no request of this batch in its windows")

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
    data(review.verdict_table, batch, comparison="flask_vs_fastapi").drop(columns=["batch", "method", "rule"]).round(4),
    max_rows=200,
)

# %% [markdown]
# ## The pilot's steps
# When `strangler pilot` ramped this batch: at the end of each step, FastAPI against Flask on the batch's routes
# over that step (whole batch; `flask`, `fastapi`, the 95 % interval of the difference from the paired
# time-slice bootstrap, and the p-value: for judged metrics (5xx rate, p95, p99) the exact one-sided test that
# FastAPI is worse, for watched ones the bootstrap's). Judged metrics `pass` or `fail`; watched ones are `shown`.
# Empty when the ingested logs hold no pilot decision for the batch.

# %%
from IPython.display import display

from strangler import pilot_views

pilot_steps = data(pilot_views.step_evidence, batch)
if pilot_steps.empty:
    print(f"no pilot steps for batch {batch!r} in the ingested logs")
else:
    display(charts.table(pilot_steps.drop(columns=["batch", "route"]).round(4), max_rows=500))

# %% tags=["summary"]
print(data(review_views.batch_summary, batch))
