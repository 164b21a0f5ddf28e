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
# # 01 · Ingest: what was read from the logs
# Every physical line of every log file becomes a request or a reject with its reason, so for each file
# `rows + rejects = lines`. Timestamps are stored in UTC. Re-running adds nothing; a file that grew adds only its
# new lines; a rotated file is recognised by its content. Details: `strangler.ingest` and the README.

# %% tags=["parameters"]
# db: the DuckDB file; logs: files, directories or globs to load first (none: show what the database holds);
# format: auto (detected per file) or a format name; tz: zone of timestamps that carry no offset (default UTC)
from typing import Optional

db: str = "data/demo/demo.duckdb"
logs: list = []
format: str = "auto"
tz: Optional[str] = None

# %%
from strangler import charts

charts.enable()

from strangler import db as dbm
from strangler import ingest

con = dbm.connect(db)
result = ingest.ingest(con, list(logs), fmt=format, tz=tz) if logs else None
print(result if result is not None else "no logs given: showing the database as it is")

# %% [markdown]
# ## Sources and throughput
# One row per file ever read, with its format and how that was chosen: `declared` (`--format`), or
# `detected 998/1000` (the sample lines that format parsed, field checks included; see `strangler formats --guess`).
# A declared layout (`--format nginx:'…'`, `--format-file`) is named `KIND:<hash>` and shown whole in `layout`.
# `lines` counts every physical line; `rows` became requests, `rejects` did not. `lines_per_s` is the speed of the
# reads so far (all of them for a file read in several goes).

# %%
src = ingest.sources(con)
charts.table(
    src[
        [
            "source_id",
            "file",
            "format",
            "chosen",
            "layout",
            "lines",
            "rows",
            "rejects",
            "seconds",
            "lines_per_s",
            "ingested_at",
            "path",
        ]
    ],
    caption="Sources",
)

# %%
charts.bar(
    src.assign(lines_per_s=src["lines_per_s"].fillna(0)),
    "file",
    "lines_per_s",
    title="Lines per second, per file",
    tooltip=["file", "format", "lines", "seconds", "lines_per_s"],
)

# %% [markdown]
# ## Rejects by reason
# `blank` and `header` lines are expected, and so is `not_a_request` (a producer's banners, JSON lines that are not
# requests); `malformed`, `bad_json`, `bad_<column>` (a field that failed its check: `bad_method`, `bad_path`,
# `bad_status`, `bad_timestamp`, `bad_duration_ms`, ...), `too_long`, `truncated_gzip` and `unterminated` are
# worth a look. The examples are the raw lines (shown escaped), as
# `file:line: text`, so each can be found in its file.

# %%
charts.table(ingest.rejects_by_reason(con, examples=3), caption="Rejects by reason, with examples")

# %% [markdown]
# ## Time covered
# Each bar runs from a file's first to its last request. Gaps between the bars of a rotated set are missing logs;
# a file without timestamps (uvicorn's log) has none to show and appears only in the table.

# %%
cov = ingest.coverage(con)
charts.coverage_chart(cov) if cov["first_ts"].notna().any() else print("no timestamps in these logs")

# %%
charts.table(cov, caption="Time coverage per source (UTC)")

# %% [markdown]
# ## Status mix
# The share of each status class per file. A file with far more 4xx or 5xx than its neighbours is worth opening.

# %%
mix = ingest.status_mix(con)
charts.status_mix_chart(mix) if len(mix) else print("no requests yet")

# %% tags=["summary"]
total = src[["lines", "rows", "rejects"]].sum()
con.close()
print(
    f"{len(src)} log files, {int(total['lines']):,} lines: {int(total['rows']):,} requests and "
    f"{int(total['rejects']):,} rejects"
    + (f"; {len(result.errors)} files could not be read" if result is not None and not result.ok else "")
)
