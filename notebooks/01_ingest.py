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
# db: the DuckDB file (None: $STRANGLER_DB, else the demo's data/demo/demo.duckdb in the project folder; a
# relative path is taken from the project folder). This notebook only reads: `strangler ingest LOG --db DB` loads
# logs (or `strangler report --logs ...`), then run it again.
from typing import Optional

db: Optional[str] = None

# %%
from strangler import charts, ingest, paths

charts.enable()
data = paths.notebook_db(db)  # read-only, opened per call: `strangler ingest` may write between two cells
print(data(ingest.summary))

# %% [markdown]
# ## Sources and throughput
# One row per file ever read, with its format and how that was chosen: `declared` (`--format`), or
# `detected 998/1000` (the sample lines that format parsed, field checks included; see `strangler formats --guess`).
# A declared layout (`--format nginx:'…'`, `--format-file`) is named `KIND:<hash>` and shown whole in `layout`.
# `lines` counts every physical line; `rows` became requests, `rejects` did not. `lines_per_s` is the speed of the
# reads so far (all of them for a file read in several goes).

# %%
src = data(ingest.sources)
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
) if len(src) else print("no log file read yet")

# %% [markdown]
# ## Rejects by reason
# `blank` and `header` lines are expected, and so is `not_a_request` (a producer's banners, JSON lines that are not
# requests); `malformed`, `bad_json`, `bad_<column>` (a field that failed its check: `bad_method`, `bad_path`,
# `bad_status`, `bad_timestamp`, `bad_duration_ms`, ...), `too_long`, `truncated_gzip` and `unterminated` are
# worth a look. The examples are the raw lines (shown escaped), as
# `file:line: text`, so each can be found in its file.

# %%
charts.table(data(ingest.rejects_by_reason, examples=3), caption="Rejects by reason, with examples")

# %% [markdown]
# ## Time covered
# Each bar runs from a file's first to its last request. Gaps between the bars of a rotated set are missing logs;
# a file without timestamps (uvicorn's log) has none to show and appears only in the table.

# %%
cov = data(ingest.coverage)
charts.coverage_chart(cov) if cov["first_ts"].notna().any() else print(
    "no timestamps in these logs" if len(cov) else "no log file read yet"
)

# %%
charts.table(cov, caption="Time coverage per source (UTC)")

# %% [markdown]
# ## Status mix
# The share of each status class per file. A file with far more 4xx or 5xx than its neighbours is worth opening.

# %%
mix = data(ingest.status_mix)
charts.status_mix_chart(mix) if len(mix) else print("no requests yet")

# %% tags=["summary"]
print(data(ingest.summary))
