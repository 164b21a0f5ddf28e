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
# db: the DuckDB file (None: $STRANGLER_DB, else the demo's data/demo/demo.duckdb in the project folder; a
# relative path is taken from the project folder). This notebook shows the plan stored by `strangler plan`
# (or `strangler report`); weights, budget, window and manifest are that command's options.
from typing import Optional

db: Optional[str] = None

# %%
from strangler import charts, paths, score

charts.enable()
data = paths.notebook_db(db)  # read-only, opened per call: the CLI may write between two cells
plan = data(score.stored)  # None when the database holds no plan; `missing` says why
missing = data(score.why_no_plan) if plan is None else None
print(plan if plan is not None else f"no plan: {missing}")

# %% [markdown]
# ## Value against effort
# Each point is a route; hover it for its numbers. The top-left corner — much traffic, errors or latency for little
# effort — is what to move first; bottom-right routes are expensive and little used. Grey points are dead.

# %%
charts.priority_scatter(plan.scores) if plan is not None else print(missing)

# %% [markdown]
# ## Ranked routes, with every input beside the score
# `traffic_n`, `errors_n`, `latency_n` and `effort_n` are the normalised inputs of the score; the raw numbers
# (requests, 5xx rate, p95, cyclomatic complexity with helpers, SLOC, coupling count) explain them.

# %%
ranked = plan.scores[~plan.scores["dead"]].sort_values("rank") if plan is not None else None
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
) if plan is not None else print(missing)

# %% [markdown]
# What makes the effort: one row per Flask construct a route uses, with the file and line to look at when porting.

# %%
coupling_by_kind = data(score.coupling_by_kind) if plan is not None else None
charts.bar(
    coupling_by_kind,
    "kind",
    "uses",
    title="Flask constructs across the routes to port",
    tooltip=["kind", "uses", "routes"],
) if plan is not None else print(missing)

# %% [markdown]
# ## The batch plan
# Batches already in the manifest come first (planned or migrated), then the proposed ones, best mean score first.
# A bar's length is its effort; no proposed batch exceeds the budget unless one route alone does.

# %%
charts.batch_plan(plan.batches) if plan is not None else print(missing)

# %%
charts.table(
    plan.scores[plan.scores["proposed_batch"].notna()].sort_values(["batch_position", "rank"])[
        ["batch_position", "proposed_batch", "status", "method", "rule", "effort", "requests", "share", "score"]
    ],
    max_rows=100,
    caption="Routes per batch, in plan order",
) if plan is not None else print(missing)

# %% [markdown]
# ## Delete candidates
# Routes with no request in the window and in no batch: remove them instead of porting them.

# %%
charts.table(
    plan.dead[["method", "rule", "endpoint", "file", "line", "effort"]], caption="Dead routes"
) if plan is not None else print(missing)

# %% [markdown]
# ## How the ranking moves when the weights change
# Each line is one of the routes whose rank moves most when one weight changes (traffic only, errors or latency
# four times heavier, effort three times heavier). Flat lines are robust choices; steep ones depend on the weights.

# %%
changes = data(score.rank_changes) if plan is not None else None
charts.rank_moves(changes) if plan is not None else print(missing)

# %%
charts.table(score.largest_moves(changes, top=10), caption="Largest rank moves") if plan is not None else print(missing)

# %% tags=["summary"]
print(plan.summary() if plan is not None else f"no plan: {missing}")
