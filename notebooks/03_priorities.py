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
# # 03 · Priorities: what to move next, what to delete
# Every Flask route gets a **value** from the logs (share of traffic, 5xx rate, p95 latency over the window) and an
# **effort** from its code (radon complexity of the view and the helpers it calls, and how deeply it leans on
# Flask). The score weighs one against the other; the plan packs routes into batches by blueprint under an effort
# budget, best first. Formulas: `strangler.score` and `strangler.effort` (also in the README).

# %% tags=["parameters"]
# db: the DuckDB file; source: the Flask app's source tree (default: the folder of the routes' files);
# weights: e.g. traffic=1,errors=0.5,latency=0.5,effort=1 (the defaults); budget: effort points per batch
# (default 20); start, end: the value window, e.g. 2026-03-01 (default: every request); manifest: migration.toml,
# whose routes keep their batch instead of being proposed again (default: the batches table as it is)
from typing import Optional

db: str = "data/demo/demo.duckdb"
manifest: Optional[str] = None
source: Optional[str] = None
weights: Optional[str] = None
budget: Optional[float] = None
start: Optional[str] = None
end: Optional[str] = None

# %%
from strangler import charts

charts.enable()

from strangler import db as dbm
from strangler import manifest as manifest_mod
from strangler import score

con = dbm.connect(db)
if manifest:
    manifest_mod.apply(con, manifest)
plan = score.plan(con, weights=weights, budget=budget, start=start, end=end, source=source)
scores = plan.scores
print(plan)

# %% [markdown]
# ## Value against effort
# Each point is a route; hover it for its numbers. The top-left corner — much traffic, errors or latency for little
# effort — is what to move first; bottom-right routes are expensive and little used. Grey points are dead.

# %%
charts.priority_scatter(scores)

# %% [markdown]
# ## Ranked routes, with every input beside the score
# `traffic_n`, `errors_n`, `latency_n` and `effort_n` are the normalised inputs of the score; the raw numbers
# (requests, 5xx rate, p95, cyclomatic complexity with helpers, SLOC, coupling count) explain them.

# %%
ranked = scores[~scores["dead"]].sort_values("rank")
charts.table(
    ranked[
        [
            "rank",
            "method",
            "rule",
            "status",
            "proposed_batch",
            "score",
            "value",
            "effort",
            "requests",
            "share",
            "rate_5xx",
            "p95_ms",
            "complexity",
            "sloc",
            "maintainability",
            "coupling",
            "traffic_n",
            "errors_n",
            "latency_n",
            "effort_n",
            "helpers",
        ]
    ],
    max_rows=60,
    caption="Live routes by score",
)

# %% [markdown]
# What makes the effort: one row per Flask construct a route uses, with the file and line to look at when porting.

# %%
coupling_by_kind = score.coupling_by_kind(con)
charts.bar(
    coupling_by_kind,
    "kind",
    "uses",
    title="Flask constructs across the routes to port",
    tooltip=["kind", "uses", "routes"],
)

# %% [markdown]
# ## The batch plan
# Batches already in the manifest come first (planned or migrated), then the proposed ones, best mean score first.
# A bar's length is its effort; no proposed batch exceeds the budget unless one route alone does.

# %%
charts.batch_plan(plan.batches)

# %%
charts.table(
    scores[scores["proposed_batch"].notna()].sort_values(["batch_position", "rank"])[
        ["batch_position", "proposed_batch", "status", "method", "rule", "effort", "requests", "share", "score"]
    ],
    max_rows=100,
    caption="Routes per batch, in plan order",
)

# %% [markdown]
# ## Delete candidates
# Routes with no request in the window and in no batch: remove them instead of porting them.

# %%
charts.table(plan.dead[["method", "rule", "endpoint", "file", "line", "effort"]], caption="Dead routes")

# %% [markdown]
# ## How the ranking moves when the weights change
# Each line is one of the routes whose rank moves most when one weight changes (traffic only, errors or latency
# four times heavier, effort three times heavier). Flat lines are robust choices; steep ones depend on the weights.

# %%
changes = score.rank_changes(con)
charts.rank_moves(changes)

# %%
charts.table(score.largest_moves(changes, top=10), caption="Largest rank moves")

# %% tags=["summary"]
con.close()
print(plan.summary())
