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
# db: the DuckDB file; apps: MODULE:ATTR (or MODULE:factory()) of the apps to import for the exact inventory;
# source: a source tree for the static inventory (nothing is run); start/end: the window, ISO dates (UTC)
from typing import Optional

db: str = "data/demo/demo.duckdb"
apps: list = []
source: Optional[str] = None
start: Optional[str] = None
end: Optional[str] = None

# %%
from strangler import charts

charts.enable()

from strangler import attribute, routes
from strangler import db as dbm

con = dbm.connect(db)
if apps:
    print(routes.inventory_apps(con, list(apps)))
if source:
    print(routes.inventory_source(con, source))
if apps or source or attribute.pending(con):
    print(attribute.attribute(con))
window = f"from {start or 'the first request'} to {end or 'the last request'}"
print("window:", window)

# %% [markdown]
# ## Every route of both apps
# One row per (framework, method, rule), busiest first; click a column header to sort by it. `peak_rps` is the
# most requests the route took in one second; the rates and latency percentiles are over the window. A Flask
# route with a FastAPI twin (same method and template) is served by both apps; its requests count here for Flask.

# %%
table = attribute.endpoints_with_twins(con, start, end)
charts.sortable_table(charts.endpoint_table(table), caption=f"Routes and their traffic ({window})")

# %% [markdown]
# ## Where the traffic goes
# Bars are requests per route, busiest first; the line is the share of all requests carried by the routes up to
# that one. A few routes usually carry most of the traffic: those are where a migration shows first.

# %%
par = attribute.pareto(con, start, end)
charts.traffic_pareto(par) if len(par) else print("no attributed requests in the window")

# %% [markdown]
# ## Dead routes
# Routes that took no request in the window: candidates for deletion rather than porting (check a longer window
# and the other apps' logs first). File and line say where the view is.

# %%
dead = attribute.dead_routes(con, start, end)
charts.sortable_table(dead, caption=f"{len(dead)} routes without a request")

# %% [markdown]
# ## Requests no route took
# Grouped by shape (numbers, uuids and hex ids collapsed). `method_not_allowed` is a path that matches a rule
# whose methods do not include the request's (a 405); `redirect` is a path the framework would redirect (a
# missing or extra trailing slash); `unmatched` matched nothing (scanners, old clients, a route missing from the
# inventory). Paths are shown escaped.

# %%
um = attribute.unmatched(con, limit=25, start=start, end=end)
charts.unmatched_chart(um) if len(um) else print("every request in the window matched a route")

# %%
charts.table(um, caption="Top unmatched shapes")

# %% [markdown]
# ## Exact against static inventory
# When both inventories were run, the routes only one of them found. The exact one is right by definition; a
# route only the static one found is usually behind a condition the imported app did not take.

# %%
diff = routes.inventory_diff(con)
unresolved = routes.unresolved(con)
charts.table(diff, caption=f"{len(diff)} routes found by one inventory only")

# %%
partly = int(unresolved["rule"].notna().sum())
charts.table(
    unresolved,
    caption=f"{len(unresolved)} route definitions the static inventory could not resolve; {partly} of them routes "
    "left out because a part of their path is not known (written {?} in rule, the expression in unknown)",
)

# %% tags=["summary"]
line = attribute.summary(con, start, end)
con.close()
print(line)
