"""Altair charts for the reports, and the offline renderer that inlines Vega once per report.

Sections below are owned by one feature each; add chart builders to your own section only.
"""

from __future__ import annotations

# === core: theme, offline renderer, generic builders (report) ===
import functools as _functools
import html as _html
import json as _json
import uuid as _uuid
from collections.abc import Iterable as _Iterable
from collections.abc import Sequence as _Sequence
from typing import Any as _Any

import altair as alt
import numpy as _np
import pandas as pd

RENDERER = "strangler"
MAX_ROWS = 20_000  # rows of data one chart may inline (Altair's default is 5 000)
_state = {"bundle_sent": False}


@_functools.lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script from vl-convert: no network, no require.js.

    Building it takes vl-convert ~2 s, once per kernel; a copy is kept in ~/.cache/strangler per version.
    """
    import importlib.metadata
    import os
    from pathlib import Path

    import vl_convert as vlc

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "strangler"
    version = importlib.metadata.version("vl-convert-python")
    path = cache / f"vega-bundle-{version}-{vlc.get_vegalite_versions()[-1]}.js"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = vlc.javascript_bundle()  # type: ignore[call-arg]  # the stub marks the optional snippet required
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(bundle, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the rebuild
    return bundle


def _script_json(value: _Any) -> str:
    """JSON that is safe inside <script>: no `</script>`, `<!--` or line separators can break out."""
    text = _json.dumps(value, allow_nan=False, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def bundle_script() -> str:
    """<script> that defines window.vegaEmbed and then draws every chart that waited for it."""
    body = javascript_bundle().replace("</script", "<\\/script")
    return (
        "<script>(function(){\n" + body + "\n})();\n"
        "(window.__stranglerCharts || []).splice(0).forEach(function (draw) { draw(); });</script>"
    )


EMBED_OPTIONS = {"actions": False, "renderer": "svg", "tooltip": True, "mode": "vega-lite"}


def chart_html(spec: dict, with_bundle: bool, element_id: str | None = None) -> str:
    """HTML for one chart: a div and a script that embeds the spec once vegaEmbed exists."""
    element_id = element_id or f"strangler-chart-{_uuid.uuid4().hex}"
    draw = (
        "(function () {\n"
        f"  var id = {_script_json(element_id)};\n"
        f"  var spec = {_script_json(spec)};\n"
        f"  var opts = {_script_json(EMBED_OPTIONS)};\n"
        "  function draw() {\n"
        "    var el = document.getElementById(id);\n"
        "    window.vegaEmbed(el, spec, opts).catch(function (err) {\n"
        "      el.textContent = 'chart failed: ' + err; console.error(err); });\n"
        "  }\n"
        "  if (window.vegaEmbed) { draw(); }\n"
        "  else { (window.__stranglerCharts = window.__stranglerCharts || []).push(draw); }\n"
        "})();"
    )
    parts = [f'<div class="strangler-chart" id="{_html.escape(element_id)}"></div>']
    if with_bundle:
        parts.append(bundle_script())
    parts.append(f"<script>\n{draw}\n</script>")
    return "\n".join(parts)


def offline_renderer(spec: dict, **metadata: _Any) -> dict:
    """Altair renderer: the first chart of a kernel carries the JS bundle, later ones reuse it."""
    first = not _state["bundle_sent"]
    _state["bundle_sent"] = True
    title = spec.get("title") if isinstance(spec.get("title"), str) else "chart"
    return {"text/html": chart_html(spec, with_bundle=first), "text/plain": f"<Chart: {title}>"}


def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "view": {"continuousWidth": 640, "continuousHeight": 300},
            "axis": {"labelLimit": 320},
            "legend": {"labelLimit": 320},
            "title": {"anchor": "start", "fontSize": 14},
        }
    }


def enable() -> None:
    """Use strangler's offline renderer and theme; call at the top of every notebook.

    Resets the bundle flag, so the next chart displayed carries the Vega bundle again.
    """
    alt.renderers.register(RENDERER, offline_renderer)
    alt.renderers.enable(RENDERER)
    alt.theme.register("strangler", enable=True)(_theme)
    alt.data_transformers.enable("default", max_rows=MAX_ROWS)
    _state["bundle_sent"] = False


def _tooltip(df: pd.DataFrame, tooltip: _Sequence[str] | None) -> list:
    cols = list(tooltip) if tooltip is not None else list(df.columns)
    return [alt.Tooltip(c, format=",.4~g") if pd.api.types.is_float_dtype(df[c]) else alt.Tooltip(c) for c in cols]


def bar(
    df: pd.DataFrame,
    category: str,
    value: str,
    *,
    title: str = "",
    tooltip: _Sequence[str] | None = None,
    color: str | None = None,
    sort: bool = True,
    limit: int | None = 40,
) -> alt.Chart:
    """Horizontal bars of `value` per `category`, largest first (top `limit`)."""
    data = df.sort_values(value, ascending=False) if sort else df
    data = data.head(limit) if limit else data
    enc = dict(
        y=alt.Y(f"{category}:N", sort=None if not sort else "-x", title=category),
        x=alt.X(f"{value}:Q", title=value),
        tooltip=_tooltip(data, tooltip),
    )
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(data, title=title).mark_bar().encode(**enc)


def timeseries(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    title: str = "",
    cutovers: pd.DataFrame | _Iterable | None = None,
    tooltip: _Sequence[str] | None = None,
    mark: str = "line",
) -> alt.Chart | alt.LayerChart:
    """Line (or area) of `y` over time `x`; `cutovers` (columns `batch`, `cutover_at`, or pairs) are marked
    with a labelled vertical rule, so before/after is visible at a glance."""
    enc = dict(x=alt.X(f"{x}:T", title=x), y=alt.Y(f"{y}:Q", title=y), tooltip=_tooltip(df, tooltip))
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    base = getattr(alt.Chart(df, title=title), f"mark_{mark}")().encode(**enc)
    if cutovers is None:
        return base
    cut = (
        cutovers
        if isinstance(cutovers, pd.DataFrame)
        else pd.DataFrame(list(cutovers), columns=["batch", "cutover_at"])
    )
    if cut.empty:
        return base
    return alt.LayerChart(layer=[base, *_cutover_marks(cut)])


def _cutover_marks(cut: pd.DataFrame) -> list[alt.Chart]:
    """A dashed vertical rule per batch cutover (columns batch, cutover_at) and the batch's name beside it."""
    cut = cut[["batch", "cutover_at"]].drop_duplicates()
    rule = (
        alt.Chart(cut)
        .mark_rule(color="firebrick", strokeDash=[4, 3])
        .encode(
            x="cutover_at:T", tooltip=[alt.Tooltip("batch:N"), alt.Tooltip("cutover_at:T", format="%Y-%m-%d %H:%M")]
        )
    )
    label = (
        alt.Chart(cut)
        .mark_text(align="left", dx=3, dy=-4, color="firebrick")
        .encode(x="cutover_at:T", y=alt.value(0), text="batch:N")
    )
    return [rule, label]


def scatter(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    tooltip: _Sequence[str] | None = None,
    color: str | None = None,
    size: str | None = None,
    title: str = "",
    log_x: bool = False,
    log_y: bool = False,
) -> alt.Chart:
    """Points of `y` against `x` with a tooltip per point; log scales for heavy-tailed axes."""
    enc = dict(
        x=alt.X(f"{x}:Q", title=x, scale=alt.Scale(type="symlog" if log_x else "linear")),
        y=alt.Y(f"{y}:Q", title=y, scale=alt.Scale(type="symlog" if log_y else "linear")),
        tooltip=_tooltip(df, tooltip),
    )
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    if size:
        enc["size"] = alt.Size(f"{size}:Q")
    return alt.Chart(df, title=title).mark_circle(opacity=0.7).encode(**enc)


def log_bins(values: _Sequence[float] | pd.Series, bins: int = 40) -> pd.DataFrame:
    """Counts of positive `values` in `bins` log-spaced bins: columns `start`, `end`, `count`."""
    v = _np.asarray(pd.Series(values).dropna(), dtype=float)
    v = v[v > 0]
    if v.size == 0:
        return pd.DataFrame({"start": [], "end": [], "count": []})
    lo, hi = _np.log10(v.min()), _np.log10(v.max())
    edges = _np.logspace(lo, hi if hi > lo else lo + 1, bins + 1)
    counts, edges = _np.histogram(v, bins=edges)
    return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts})


def histogram_log(
    values: _Sequence[float] | pd.Series, *, title: str = "", field: str = "value", bins: int = 40
) -> alt.Chart:
    """Histogram of a heavy-tailed quantity (latency, bytes) with a log x axis."""
    data = log_bins(values, bins)
    return (
        alt.Chart(data, title=title)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("start:Q", scale=alt.Scale(type="log"), title=field),
            x2="end:Q",
            y=alt.Y("count:Q", title="count"),
            y2=alt.datum(0),
            tooltip=[alt.Tooltip("start:Q", format=",.4~g"), alt.Tooltip("end:Q", format=",.4~g"), "count:Q"],
        )
    )


def pareto(df: pd.DataFrame, category: str, value: str, *, title: str = "", limit: int = 40) -> alt.LayerChart:
    """Bars of `value` per `category`, largest first, with the cumulative share as a line (right axis)."""
    data = df[[category, value]].sort_values(value, ascending=False).reset_index(drop=True)
    total = data[value].sum()
    data["cumulative_share"] = data[value].cumsum() / total if total else 0.0
    data = data.head(limit)
    x = alt.X(f"{category}:N", sort=[str(v) for v in data[category]], title=category, axis=alt.Axis(labelAngle=-45))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(f"{value}:Q", title=value),
            tooltip=[
                alt.Tooltip(f"{category}:N"),
                alt.Tooltip(f"{value}:Q", format=","),
                alt.Tooltip("cumulative_share:Q", format=".1%"),
            ],
        )
    )
    line = (
        alt.Chart(data)
        .mark_line(point=True, color="darkorange")
        .encode(
            x=x,
            y=alt.Y(
                "cumulative_share:Q",
                title="cumulative share",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip("cumulative_share:Q", format=".1%")],
        )
    )
    return alt.layer(bars, line, title=title).resolve_scale(y="independent")


def _number(x: float) -> str:
    """A float as a reader wants it: 12.5, 0.07201, 3,636, 1,234.5."""
    if x != x:
        return ""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:,.1f}" if abs(x) >= 1000 else f"{x:.4g}"


class Table:
    """A DataFrame shown as an escaped HTML table (strings from logs never become markup)."""

    def __init__(self, df: pd.DataFrame, max_rows: int = 50, caption: str | None = None) -> None:
        self.df, self.max_rows, self.caption = df, max_rows, caption

    def _repr_html_(self) -> str:
        data = self.df.head(self.max_rows)
        numeric = [
            i
            for i, c in enumerate(data.columns)
            if pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(data[c])
        ]
        floats = [c for c in data.columns if pd.api.types.is_float_dtype(data[c])]
        styles = [{"selector": f"td.col{i}, th.col_heading.col{i}", "props": "text-align: right"} for i in numeric]
        styles += [{"selector": "td, th", "props": "text-align: left; padding: 2px 8px"}]
        body = (
            data.style.hide(axis="index")
            .format(escape="html", na_rep="")  # every cell's text escaped, numbers too
            .format(_number, subset=floats, na_rep="")
            .format_index(escape="html", axis=1)  # column names
            .set_table_styles(styles, overwrite=True)
            .to_html(table_attributes='class="strangler-table"')
        )
        more = len(self.df) - self.max_rows
        note = f"<p><em>… {more:,} more rows</em></p>" if more > 0 else ""
        cap = f"<p><strong>{_html.escape(self.caption)}</strong></p>" if self.caption else ""
        # a table wider than the page scrolls inside its own box instead of losing its last columns
        return f'{cap}<div class="strangler-table-box" style="overflow-x: auto; max-width: 100%">{body}</div>{note}'

    def __repr__(self) -> str:
        return self.df.head(self.max_rows).to_string(index=False)


def table(df: pd.DataFrame, max_rows: int = 50, caption: str | None = None) -> Table:
    """Show `df` (first `max_rows` rows) as an escaped HTML table."""
    return Table(df, max_rows=max_rows, caption=caption)


# === ingest (01_ingest) ===


def coverage_chart(cov: pd.DataFrame, title: str = "Time covered by each log file (UTC)") -> alt.Chart:
    """One bar per source from its first to its last timestamp; files without timestamps are left out."""
    data = cov[cov["first_ts"].notna()].copy()
    data["label"] = data["source_id"].astype(str) + " · " + data["file"].astype(str)
    return (
        alt.Chart(data, title=title)
        .mark_bar(height=14)
        .encode(
            y=alt.Y("label:N", title=None, sort=None),
            x=alt.X("first_ts:T", title="UTC"),
            x2="last_ts:T",
            tooltip=_tooltip(data, ["file", "format", "rows", "with_ts", "first_ts", "last_ts", "hours"]),
        )
    )


def status_mix_chart(mix: pd.DataFrame, title: str = "Status classes per log file") -> alt.Chart:
    """Stacked share of 2xx/3xx/4xx/5xx per source."""
    data = mix.copy()
    data["label"] = data["source_id"].astype(str) + " · " + data["file"].astype(str)
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=None),
            x=alt.X("share:Q", title="share of requests", stack="normalize"),
            color=alt.Color(
                "status_class:N",
                title="status",
                scale=alt.Scale(
                    domain=["1xx", "2xx", "3xx", "4xx", "5xx"],
                    range=["#9e9e9e", "#4c9a2a", "#4a7bb7", "#e0a030", "#c0392b"],
                ),
            ),
            tooltip=_tooltip(data, ["file", "status_class", "requests", "share"]),
        )
    )


# === endpoints (02_endpoints) ===

_SORT_JS = """
(function () {
  var table = document.getElementById(%s);
  if (!table) { return; }
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.style.cursor = "pointer";
    th.title = "click to sort";
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute("data-sort") !== "asc";
      heads.forEach(function (h) { h.removeAttribute("data-sort"); });
      th.setAttribute("data-sort", asc ? "asc" : "desc");
      function key(row) {
        var text = row.cells[col].textContent.trim(), num = parseFloat(text.replace(/,/g, ""));
        return text === "" ? null : (isNaN(num) || !/^[-+0-9.,eE%%]+$/.test(text) ? text : num);
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) { return 0; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        var c = (typeof x === typeof y) ? (x < y ? -1 : 1) : (typeof x === "number" ? -1 : 1);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
"""


class SortableTable(Table):
    """An escaped HTML table whose columns sort on a click on their header (a few lines of inline JS; the
    cells are text, never markup, so nothing from the logs runs)."""

    def _repr_html_(self) -> str:
        element_id = f"strangler-table-{_uuid.uuid4().hex}"
        body = self.df.head(self.max_rows).to_html(
            index=False, escape=True, border=0, na_rep="", classes="strangler-table", table_id=element_id
        )
        more = len(self.df) - self.max_rows
        note = f"<p><em>… {more:,} more rows</em></p>" if more > 0 else ""
        cap = f"<p><strong>{_html.escape(self.caption)}</strong></p>" if self.caption else ""
        return cap + body + note + "<script>" + _SORT_JS % _script_json(element_id) + "</script>"


def sortable_table(df: pd.DataFrame, max_rows: int = 500, caption: str | None = None) -> SortableTable:
    """Show `df` as an escaped HTML table that sorts by any column on a click."""
    return SortableTable(df, max_rows=max_rows, caption=caption)


def endpoint_table(table: pd.DataFrame) -> pd.DataFrame:
    """attribute.endpoints() rounded for reading: shares and rates in %, latencies in ms with one decimal."""
    out = table.copy()
    for col in ("share", "rate_4xx", "rate_5xx"):
        out[col] = (out[col] * 100).round(2)
    for col in ("p50_ms", "p95_ms", "p99_ms"):
        out[col] = out[col].round(1)
    return out.rename(columns={"share": "share_%", "rate_4xx": "4xx_%", "rate_5xx": "5xx_%"})


def traffic_pareto(
    pareto_df: pd.DataFrame,
    limit: int = 40,
    title: str = "Requests per route, busiest first, with the cumulative share",
) -> alt.LayerChart:
    """Pareto chart of attribute.pareto(): bars per route, cumulative share as a line."""
    return pareto(pareto_df, "label", "requests", title=title, limit=limit)


def unmatched_chart(unmatched_df: pd.DataFrame, title: str = "Requests no route took, by shape") -> alt.Chart:
    """Bars per unmatched shape, coloured by why: no rule, a 405 (method not allowed) or a slash redirect."""
    data = unmatched_df.copy()
    data["shape"] = data["shape"].fillna("(no path)")
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("shape:N", sort="-x", title=None),
            x=alt.X("requests:Q", title="requests"),
            color=alt.Color(
                "match:N",
                title="why",
                scale=alt.Scale(
                    domain=["unmatched", "method_not_allowed", "redirect"], range=["#9e9e9e", "#c0392b", "#4a7bb7"]
                ),
            ),
            tooltip=_tooltip(data, ["shape", "match", "requests", "methods", "statuses", "example"]),
        )
    )


# === priorities (03_priorities) ===

_PRIORITY_TOOLTIP = [
    "route",
    "status",
    "proposed_batch",
    "rank",
    "score",
    "value",
    "effort",
    "requests",
    "share",
    "rate_5xx",
    "p95_ms",
    "complexity",
    "coupling",
]


def priority_scatter(scores: pd.DataFrame, title: str = "Value against effort") -> alt.Chart:
    """One point per Flask route: value (0–1) up, effort points right; top-left is worth moving first.

    Colour is the route's status (proposed / planned / migrated / dead), size its requests.
    """
    data = scores.assign(route=scores["method"] + " " + scores["rule"])
    cols = [c for c in _PRIORITY_TOOLTIP if c in data.columns]
    data = data[cols]
    return (
        alt.Chart(data, title=title)
        .mark_circle(opacity=0.75)
        .encode(
            x=alt.X("effort:Q", title="effort (points)"),
            y=alt.Y("value:Q", title="value (traffic, 5xx, p95; 0–1)"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=["proposed", "planned", "migrated", "dead"],
                    range=["#4c78a8", "#f58518", "#54a24b", "#9d9d9d"],
                ),
            ),
            size=alt.Size("requests:Q", scale=alt.Scale(type="sqrt", range=[20, 600])),
            tooltip=_tooltip(data, cols),
        )
    )


def batch_plan(batches: pd.DataFrame, title: str = "Batches in order: effort and traffic share") -> alt.Chart:
    """One bar per batch in plan order: length is its effort points, colour its status, tooltip its numbers."""
    data = batches.assign(label=batches["position"].astype(str) + ". " + batches["batch"])
    data = data[["label", "batch", "position", "status", "routes", "effort", "requests", "share", "mean_score"]]
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=list(data["label"]), title="batch"),
            x=alt.X("effort:Q", title="effort (points)"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=["proposed", "planned", "migrated"], range=["#4c78a8", "#f58518", "#54a24b"]),
            ),
            tooltip=_tooltip(data, ["batch", "status", "routes", "effort", "requests", "share", "mean_score"]),
        )
    )


def rank_moves(changes: pd.DataFrame, top: int = 8, title: str = "Rank under other weights") -> alt.Chart:
    """Rank of the routes that move most, under the current weights and each variant (1 is first)."""
    moved = (
        changes.assign(size=changes["move"].abs())
        .groupby("route")["size"]
        .max()
        .sort_values(ascending=False)
        .head(top)
        .index
    )
    sub = changes[changes["route"].isin(moved)]
    base = sub.drop_duplicates("route").assign(variant="current weights", rank=lambda d: d["base_rank"], move=0)
    data = pd.concat([base, sub])[["route", "variant", "weights", "base_rank", "rank", "move"]]
    order = ["current weights"] + [v for v in changes["variant"].drop_duplicates()]
    return (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("variant:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("rank:Q", scale=alt.Scale(reverse=True, zero=False), title="rank"),
            color=alt.Color("route:N", legend=alt.Legend(title="route", labelLimit=360)),
            tooltip=_tooltip(data, ["route", "variant", "weights", "base_rank", "rank", "move"]),
        )
        .properties(width=max(420, 120 * len(order)), height=320)
    )


# === review and progress (04_batch_review, 05_progress) ===
VERDICT_COLORS = {
    "better": "#2e7d32",
    "worse": "#c62828",
    "no_change": "#9e9e9e",
    "insufficient_data": "#e0e0e0",
    "not reviewed": "#ffffff",
}


def _cutover_layer(cut: _Any, label: str = "cutover") -> alt.LayerChart:
    """A dashed vertical rule at the cutover with its label."""
    df = pd.DataFrame({"cutover_at": [pd.Timestamp(cut)], "label": [label]})
    rule = (
        alt.Chart(df)
        .mark_rule(color="firebrick", strokeDash=[4, 3], size=2)
        .encode(
            x="cutover_at:T", tooltip=[alt.Tooltip("label:N"), alt.Tooltip("cutover_at:T", format="%Y-%m-%d %H:%M")]
        )
    )
    text = (
        alt.Chart(df)
        .mark_text(align="left", dx=4, dy=8, color="firebrick")
        .encode(x="cutover_at:T", y=alt.value(0), text="label:N")
    )
    return rule + text


def latency_before_after(
    hist: pd.DataFrame, *, title: str = "Latency before and after the cutover", columns: int = 2
) -> alt.FacetChart:
    """Share of requests per log-spaced latency bin, before against after, one panel per route
    (`review_views.latency_histogram`)."""
    data = hist[["route", "side", "bin_low_ms", "bin_high_ms", "requests", "share"]]
    base = (
        alt.Chart(data)
        .mark_line(interpolate="step-after", point=False)
        .encode(
            x=alt.X("bin_low_ms:Q", scale=alt.Scale(type="log"), title="latency (ms, log scale)"),
            y=alt.Y("share:Q", title="share of requests", axis=alt.Axis(format="%")),
            color=alt.Color("side:N", sort=["before", "after"], scale=alt.Scale(range=["#757575", "#1565c0"])),
            tooltip=[
                "route:N",
                "side:N",
                alt.Tooltip("bin_low_ms:Q", format=",.4~g", title="from ms"),
                alt.Tooltip("bin_high_ms:Q", format=",.4~g", title="to ms"),
                alt.Tooltip("requests:Q", format=","),
                alt.Tooltip("share:Q", format=".2%"),
            ],
        )
        .properties(width=300, height=160)
    )
    return base.facet(
        facet=alt.Facet("route:N", title=None, sort=list(dict.fromkeys(data["route"]))), columns=columns, title=title
    ).resolve_scale(y="independent")


def metric_over_time(
    ts: pd.DataFrame, metric: str, cutover: _Any, *, title: str = "", log: bool = False, percent: bool = False
) -> alt.LayerChart:
    """`metric` of `review_views.timeseries` per bucket and route, with the cutover marked."""
    data = ts[["bucket", "route", "requests", metric]].dropna(subset=[metric])
    axis = alt.Axis(format="%") if percent else alt.Axis()
    line = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y(f"{metric}:Q", title=metric, axis=axis, scale=alt.Scale(type="log" if log else "linear")),
            color=alt.Color("route:N", sort=list(dict.fromkeys(data["route"]))),
            tooltip=[
                "route:N",
                alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
                alt.Tooltip(f"{metric}:Q", format=".2%" if percent else ",.4~g"),
                alt.Tooltip("requests:Q", format=","),
            ],
        )
    )
    return alt.LayerChart(layer=[line, _cutover_layer(cutover)], title=title)


def error_rates_over_time(ts: pd.DataFrame, cutover: _Any, *, title: str = "Error rates over time") -> alt.VConcatChart:
    """4xx and 5xx rates per bucket and route, one panel each, with the cutover marked."""
    return alt.vconcat(
        metric_over_time(ts, "error_rate_5xx", cutover, title="5xx rate", percent=True).properties(height=180),
        metric_over_time(ts, "error_rate_4xx", cutover, title="4xx rate", percent=True).properties(height=180),
        title=title,
    )


def verdict_grid(verdicts: pd.DataFrame, *, title: str = "Verdict per route and metric") -> alt.Chart:
    """Route × metric cells coloured by verdict, with before, after and the interval in the tooltip
    (`review.verdict_table`)."""
    data = verdicts[["route", "metric", "verdict", "before", "after", "ci_low", "ci_high", "n_before", "n_after"]]
    return (
        alt.Chart(data, title=title)
        .mark_rect(stroke="white")
        .encode(
            x=alt.X("metric:N", sort=list(dict.fromkeys(data["metric"])), title=None, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("route:N", sort=list(dict.fromkeys(data["route"])), title=None),
            color=alt.Color(
                "verdict:N", scale=alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values()))
            ),
            tooltip=[
                "route:N",
                "metric:N",
                "verdict:N",
                alt.Tooltip("before:Q", format=",.4~g"),
                alt.Tooltip("after:Q", format=",.4~g"),
                alt.Tooltip("ci_low:Q", format=",.4~g"),
                alt.Tooltip("ci_high:Q", format=",.4~g"),
                alt.Tooltip("n_before:Q", format=","),
                alt.Tooltip("n_after:Q", format=","),
            ],
        )
        .properties(height=alt.Step(22), width=alt.Step(70))
    )


def migration_progress(
    prog: pd.DataFrame, cutovers: pd.DataFrame | None = None, *, title: str = "Routes migrated and traffic on FastAPI"
) -> alt.LayerChart:
    """Share of routes migrated and share of traffic served by FastAPI over time (`progress.progress`),
    with each batch's cutover marked (columns batch, cutover_at)."""
    data = prog[["bucket", "share_routes_migrated", "share_traffic_fastapi", "requests"]].rename(
        columns={"share_routes_migrated": "routes migrated", "share_traffic_fastapi": "traffic on FastAPI"}
    )
    lines = (
        alt.Chart(data)
        .transform_fold(["routes migrated", "traffic on FastAPI"], as_=["measure", "share"])
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("share:Q", title="share", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("measure:N", title=None),
            tooltip=[
                alt.Tooltip("bucket:T", format="%Y-%m-%d"),
                "measure:N",
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("requests:Q", format=","),
            ],
        )
    )
    layers = [lines]
    if cutovers is not None and len(cutovers):
        layers += _cutover_marks(cutovers)
    return alt.LayerChart(layer=layers, title=title)


def fastapi_share_by_batch(
    by_batch: pd.DataFrame, *, title: str = "Share of all traffic served by FastAPI, per batch"
) -> alt.Chart:
    """Stacked areas: each batch's share of all traffic that FastAPI served (`progress.progress_by_batch`);
    the legend names each batch with its verdict."""
    data = by_batch[["bucket", "batch", "position", "share_traffic_fastapi", "share_traffic", "verdict"]].copy()
    data["batch (verdict)"] = data["batch"] + " (" + data["verdict"].fillna("not reviewed") + ")"
    order = list(dict.fromkeys(data.sort_values("position")["batch (verdict)"]))
    return (
        alt.Chart(data, title=title)
        .mark_area(interpolate="step-after")
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("share_traffic_fastapi:Q", stack="zero", title="share of all requests", axis=alt.Axis(format="%")),
            color=alt.Color("batch (verdict):N", sort=order),
            order=alt.Order("position:Q"),
            tooltip=[
                "batch:N",
                "verdict:N",
                alt.Tooltip("bucket:T", format="%Y-%m-%d"),
                alt.Tooltip("share_traffic_fastapi:Q", format=".1%", title="on FastAPI"),
                alt.Tooltip("share_traffic:Q", format=".1%", title="batch's share of traffic"),
            ],
        )
    )


def pilot_timeline(decisions: pd.DataFrame, *, title: str = "The pilot's ramp, batch by batch") -> alt.LayerChart:
    """Each piloted batch's fraction on FastAPI over time (a step line), with every decision as a point whose
    tooltip carries its reason and the requests judged (`pilot_views.decisions`)."""
    data = decisions[
        ["decided_at", "batch", "action", "step", "fraction_from", "fraction_to", "reason", "n_flask", "n_fastapi"]
    ].copy()
    base = alt.Chart(data).encode(
        x=alt.X("decided_at:T", title=None),
        y=alt.Y("fraction_to:Q", title="share of clients on FastAPI", axis=alt.Axis(format="%")),
        color=alt.Color("batch:N"),
    )
    line = base.mark_line(interpolate="step-after")
    points = base.mark_point(filled=True, size=70).encode(
        shape=alt.Shape("action:N", title="decision"),
        tooltip=[
            "batch:N",
            "action:N",
            alt.Tooltip("decided_at:T", format="%Y-%m-%d %H:%M:%S"),
            "step:Q",
            alt.Tooltip("fraction_from:Q", format=".0%", title="from"),
            alt.Tooltip("fraction_to:Q", format=".0%", title="to"),
            alt.Tooltip("n_flask:Q", format=",", title="Flask requests"),
            alt.Tooltip("n_fastapi:Q", format=",", title="FastAPI requests"),
            "reason:N",
        ],
    )
    return alt.LayerChart(layer=[line, points]).properties(title=title)
