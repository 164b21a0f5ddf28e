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
# # 02 · Endpoints: every route, its traffic, and the requests no route took
# Routes come from the apps themselves (imported in their own interpreter) or from reading their source. Every
# request is attributed to the rule the framework would pick (Werkzeug's matching for Flask, Starlette's order
# for FastAPI); a request that matches a Flask rule counts for the Flask rule. Details: `strangler.routes`,
# `strangler.attribute` and the README.

# %% tags=["parameters"]
# db: the DuckDB file (None: $STRANGLER_DB, else the demo's data/demo/demo.duckdb in the project folder; a
# relative path is taken from the project folder); start/end: the window, ISO dates (UTC). This notebook only
# reads: `strangler routes` and `strangler attribute` (or `strangler report --app/--source`) fill the database.
from typing import Optional

db: Optional[str] = None
start: Optional[str] = None
end: Optional[str] = None

# %%
from strangler import attribute, charts, paths, routes

charts.enable()
data = paths.notebook_db(db)  # read-only, opened per call: the CLI may write between two cells
window = f"from {start or 'the first request'} to {end or 'the last request'}"
print(data(attribute.state, start, end))

# %% [markdown]
# ## Every route of both apps
# One row per (framework, method, rule), busiest first; click a column header to sort by it. `peak_rps` is the
# most requests the route took in one second; the rates and latency percentiles are over the window. A Flask
# route with a FastAPI twin (same method and template) is served by both apps; its requests count here for Flask.

# %%
table = data(attribute.endpoints_with_twins, start, end)
charts.sortable_table(charts.endpoint_table(table), caption=f"Routes and their traffic ({window})")

# %% [markdown]
# ## Where the traffic goes
# Bars are requests per route, busiest first; the line is the share of all requests carried by the routes up to
# that one. A few routes usually carry most of the traffic: those are where a migration shows first.

# %%
par = data(attribute.pareto, start, end)
charts.traffic_pareto(par) if len(par) else print("no attributed requests in the window")

# %% [markdown]
# ## Dead routes
# Routes that took no request in the window: candidates for deletion rather than porting (check a longer window
# and the other apps' logs first). File and line say where the view is.

# %%
dead = data(attribute.dead_routes, start, end)
any_request = data(attribute.coverage, start, end)["requests"] > 0
charts.sortable_table(dead, caption=f"{len(dead)} routes without a request") if any_request else print(
    "no requests in the window: no route can be called dead"
)

# %% [markdown]
# ## Requests no route took
# Grouped by shape (numbers, uuids and hex ids collapsed). `method_not_allowed` is a path that matches a rule
# whose methods do not include the request's (a 405); `redirect` is a path the framework would redirect (a
# missing or extra trailing slash); `unmatched` matched nothing (scanners, old clients, a route missing from the
# inventory). Paths are shown escaped.

# %%
um = data(attribute.unmatched, limit=25, start=start, end=end)
charts.unmatched_chart(um) if len(um) else print(data(attribute.unmatched_note, start, end))

# %%
charts.table(um, caption="Top unmatched shapes")

# %% [markdown]
# ## Exact against static inventory
# When both inventories were run, the routes only one of them found. The exact one is right by definition; a
# route only the static one found is usually behind a condition the imported app did not take.

# %%
diff = data(routes.inventory_diff)
unresolved = data(routes.unresolved)
charts.table(diff, caption=f"{len(diff)} routes found by one inventory only")

# %%
partly = int(unresolved["rule"].notna().sum())
charts.table(
    unresolved,
    caption=f"{len(unresolved)} route definitions the static inventory could not resolve; {partly} of them routes "
    "left out because a part of their path is not known (written {?} in rule, the expression in unknown)",
)

# %% tags=["summary"]
print(data(attribute.summary, start, end))
