# %% [markdown]
# # Report probe
# A small notebook for the report machinery's tests: reads `requests` from the DuckDB file it is given and
# shows two charts with tooltips and a table, all built from paths that may hold hostile strings.

# %% tags=["parameters"]
db = None
manifest = None
batch = None
logs = []
apps = []
source = None
fail = False

# %%
from strangler import charts

charts.enable()

import duckdb

con = duckdb.connect(db, read_only=True)
by_path = con.execute(
    "SELECT path, count(*) AS requests, quantile_cont(duration_ms, 0.95) AS p95_ms "
    "FROM requests GROUP BY path ORDER BY requests DESC, path"
).df()
con.close()

# %% [markdown]
# Requests per path: the longest bar is the busiest path.

# %%
charts.bar(by_path, "path", "requests", title="Requests per path")

# %% [markdown]
# p95 latency against traffic, one point per path; hover a point for its numbers.

# %%
charts.scatter(by_path, "requests", "p95_ms", title="p95 against traffic")

# %%
charts.table(by_path, caption="Paths")

# %%
by_path

# %%
if fail:
    raise ValueError("probe failed on purpose")

# %% tags=["summary"]
print(f"{len(by_path)} paths, busiest {by_path.path.iloc[0]}, batch {batch}")
