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
# Batches not reviewed yet are reviewed here with the default windows (7 days each side, 1 h settling).

# %% tags=["parameters"]
# db: the DuckDB file; manifest: migration.toml (None: use the batches already in the database)
from typing import Optional

db: str = "data/demo/demo.duckdb"
manifest: Optional[str] = "data/demo/migration.toml"

# %%
from strangler import charts

charts.enable()

from strangler import db as dbm
from strangler import manifest as manifest_mod
from strangler import progress as progress_views
from strangler import review

con = dbm.connect(db)
if manifest:
    manifest_mod.apply(con, manifest)
reviewed_now = review.ensure_reviewed(con)
verdicts = review.batch_verdicts(con)
progress = progress_views.progress(con, bucket_hours=24)
by_batch = progress_views.progress_by_batch(con, bucket_hours=24)
print(f"reviewed here: {', '.join(reviewed_now) or 'none (all batches had reviews)'}")

# %% [markdown]
# ## Routes migrated and traffic on FastAPI
# The blue step is the share of the Flask app's routes that have moved; the orange line is the share of all
# requests FastAPI served each day. Traffic moves faster than routes when the hot routes go first.

# %%
charts.migration_progress(progress, verdicts)

# %% [markdown]
# ## Batch by batch
# Each band is one batch's share of all traffic served by FastAPI; the legend gives each batch's verdict from its
# before/after review (`worse` if any metric of any of its routes got worse).

# %%
charts.fastapi_share_by_batch(by_batch)

# %% [markdown]
# ## Batches and their verdicts
# `worse_on` lists what got worse; open the batch's 04 report for the intervals and the charts.

# %%
charts.table(verdicts)

# %% tags=["summary"]
print(progress_views.progress_summary(con))

# %% [markdown]
# ## The pilot's ramps
# For batches moved by `strangler pilot` (a `ramp` in the manifest): each batch's share of clients on FastAPI
# over time, one point per decision (start, advance, hold, rollback, ...). The table lists every decision with its
# reason and the requests it judged on each backend; the evidence of each step is in the batch's 04 report. Empty
# when the ingested logs hold no pilot decision (the router log carries them as event records).

# %%
from IPython.display import display

from strangler import pilot_views

pilot_decisions = pilot_views.decisions(con)
if pilot_decisions.empty:
    print("no pilot decisions in the ingested logs")
else:
    display(charts.pilot_timeline(pilot_decisions))
    display(charts.table(pilot_decisions, max_rows=500))
