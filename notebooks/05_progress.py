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
# # 05 · Progress: how much has moved to FastAPI, and how did each batch go
# A route counts as migrated from its batch's cutover. Traffic on FastAPI is measured where the log names the
# backend (the router's log) and otherwise follows the manifest (batch routes after cutover, times the canary).
# A batch that `strangler review` has not reviewed yet is shown as `not reviewed`.

# %% tags=["parameters"]
# db: the DuckDB file (None: $STRANGLER_DB, else the demo's data/demo/demo.duckdb in the project folder; a
# relative path is taken from the project folder). This notebook shows the batches and reviews stored by
# `strangler review --manifest M` (or `strangler report --manifest M`).
from typing import Optional

db: Optional[str] = None

# %%
from strangler import charts, paths, review
from strangler import progress as progress_views

charts.enable()
data = paths.notebook_db(db)  # read-only, opened per call: the CLI may write between two cells
verdicts = data(review.batch_verdicts)
progress = data(progress_views.progress, bucket_hours=24)
by_batch = data(progress_views.progress_by_batch, bucket_hours=24)
print(data(progress_views.progress_summary))

# %% [markdown]
# ## Routes migrated and traffic on FastAPI
# The blue step is the share of the Flask app's routes that have moved; the orange line is the share of all
# requests FastAPI served each day. Traffic moves faster than routes when the hot routes go first.

# %%
charts.migration_progress(progress, verdicts) if len(progress) else print(
    "no timestamped requests: no progress to show"
)

# %% [markdown]
# ## Batch by batch
# Each band is one batch's share of all traffic served by FastAPI; the legend gives each batch's verdict from its
# before/after review (`worse` if any metric of any of its routes got worse).

# %%
charts.fastapi_share_by_batch(by_batch) if len(by_batch) else print(
    "no batches, or no timestamped requests: nothing to show per batch"
)

# %% [markdown]
# ## Batches and their verdicts
# `worse_on` lists what got worse; open the batch's 04 report for the intervals and the charts.

# %%
charts.table(verdicts) if len(verdicts) else print(
    "no batches in the database: strangler review --manifest M stores them"
)

# %% [markdown]
# ## The pilot's ramps
# For batches moved by `strangler pilot` (a `ramp` in the manifest): each batch's share of clients on FastAPI
# over time, one point per decision (start, advance, hold, rollback, ...). The table lists every decision with its
# reason and the requests it judged on each backend; the evidence of each step is in the batch's 04 report. Empty
# when the ingested logs hold no pilot decision (the router log carries them as event records).

# %%
from IPython.display import display

from strangler import pilot_views

pilot_decisions = data(pilot_views.decisions)
if pilot_decisions.empty:
    print("no pilot decisions in the ingested logs")
else:
    display(charts.pilot_timeline(pilot_decisions))
    display(charts.table(pilot_decisions, max_rows=500))

# %% tags=["summary"]
print(data(progress_views.progress_summary))
