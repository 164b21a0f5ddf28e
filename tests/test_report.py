"""The report machinery: offline renderer, chart builders, papermill + nbconvert build, and the exported HTML
opened in headless Chromium with every network request blocked."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from strangler import charts, cli, db, report
from strangler.errors import StranglerError

PROBE = Path(__file__).resolve().parent / "notebooks" / "report_probe.py"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "/trips/1"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# --- helpers shared with test_notebooks.py ------------------------------------------------------------------


def html_of(chart) -> str:
    bundle = chart._repr_mimebundle_()
    if isinstance(bundle, tuple):
        bundle = bundle[0]
    return bundle["text/html"]


MARK_POINT = """([sel, i]) => {
    const el = document.querySelectorAll(sel)[i];
    el.scrollIntoView({block: 'center'});
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return null;
    if (['transparent', 'none', null].includes(el.getAttribute('fill'))) {   // a line: a point on its stroke
        const p = el.getPointAtLength(el.getTotalLength() / 2).matrixTransform(el.getScreenCTM());
        return [p.x, p.y];
    }
    return [box.x + box.width / 2, box.y + box.height / 2];
}"""


def open_offline(browser, page_path: Path, hover: bool = True) -> dict:
    """Open a file in Chromium with every non-file request aborted; report what happened.

    Returns charts (div count), rendered (charts holding a Vega SVG or canvas), requests (non-file URLs that
    were attempted), errors (console errors and page exceptions), dialogs (alert/confirm opened) and tooltip
    (text of Vega's tooltip after hovering the first mark, or None when `hover` is False).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(page_path.resolve().as_uri())
    page.wait_for_load_state("load")
    n_charts = page.locator(".strangler-chart").count()
    if n_charts:
        page.wait_for_function(
            "n => document.querySelectorAll('.strangler-chart svg.marks, .strangler-chart canvas.marks').length >= n",
            arg=n_charts,
            timeout=20_000,
        )
    rendered = page.locator(".strangler-chart:has(svg.marks), .strangler-chart:has(canvas.marks)").count()
    tooltip = None
    if hover and n_charts:
        # data marks only (not legend symbols): bars and points first, then lines and areas; the mouse goes to
        # the middle of a bar or point, or to the middle of a line's stroke, until a tooltip shows (ten at most)
        for sel in (
            ".strangler-chart svg.marks g.role-mark:is(.mark-rect, .mark-symbol) > path",
            ".strangler-chart svg.marks g.role-mark > path",
        ):
            shown = False
            for i in range(min(page.locator(sel).count(), 10)):
                xy = page.evaluate(MARK_POINT, [sel, i])
                if xy is None:
                    continue
                page.mouse.move(0, 0)
                page.mouse.move(*xy)
                try:
                    page.wait_for_selector("#vg-tooltip-element.visible", timeout=1_500)
                    shown = True
                    break
                except PlaywrightTimeout:
                    continue
            if shown:
                break
        tooltip = page.evaluate("""() => {
            const tip = document.querySelector('#vg-tooltip-element.visible');
            if (!tip) return null;
            const rows = Array.from(tip.querySelectorAll('tr')).map(tr => [tr.cells[0].textContent,
                                                                             tr.cells[1].textContent]);
            return {rows: Object.fromEntries(rows), text: tip.textContent,
                    elements: tip.querySelectorAll('img, script').length};
        }""")
    page.close()
    return {
        "charts": n_charts,
        "rendered": rendered,
        "requests": requests,
        "errors": errors,
        "dialogs": dialogs,
        "tooltip": tooltip,
    }


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


# --- renderer and builders ----------------------------------------------------------------------------------


@pytest.fixture
def paths() -> pd.DataFrame:
    return pd.DataFrame({"path": HOSTILE, "requests": [30, 20, 10], "p95_ms": [12.5, 250.0, 3.0]})


def test_enable_registers_renderer_and_theme():
    import altair as alt

    charts.enable()
    assert (alt.renderers.active, alt.theme.active, alt.data_transformers.active) == (
        "strangler",
        "strangler",
        "default",
    )


def test_bundle_inlined_once_per_kernel_and_again_after_enable(paths):
    bundle = charts.javascript_bundle()
    charts.enable()
    first, second, third = (html_of(charts.bar(paths, "path", "requests")) for _ in range(3))
    assert [bundle in h for h in (first, second, third)] == [True, False, False]
    assert [h.count("<script") for h in (first, second, third)] == [2, 1, 1]
    charts.enable()
    assert bundle in html_of(charts.scatter(paths, "requests", "p95_ms"))


def test_bundle_is_offline_and_has_no_require():
    bundle = charts.javascript_bundle()
    assert len(bundle) > 500_000
    assert "window.vegaEmbed=" in bundle
    assert "</script" not in charts.bundle_script()[len("<script>") : -len("</script>")]
    assert re.search(r"\brequire\(|define\.amd|cdn\.jsdelivr|unpkg\.com", bundle) is None


def test_builders_carry_tooltips(paths):
    ts = pd.DataFrame({"day": pd.date_range("2026-03-01", periods=4, tz="UTC"), "requests": [1, 2, 3, 4]})
    cut = pd.DataFrame({"batch": ["trips-read"], "cutover_at": [pd.Timestamp("2026-03-02 09:00", tz="UTC")]})

    def tooltips(spec: dict) -> list:
        layers = spec.get("layer", [spec])
        return [
            [t["field"] for t in layer["encoding"]["tooltip"]]
            for layer in layers
            if "tooltip" in layer.get("encoding", {})
        ]

    assert tooltips(charts.bar(paths, "path", "requests").to_dict()) == [["path", "requests", "p95_ms"]]
    assert tooltips(charts.scatter(paths, "requests", "p95_ms", tooltip=["path", "p95_ms"]).to_dict()) == [
        ["path", "p95_ms"]
    ]
    assert tooltips(charts.timeseries(ts, "day", "requests", cutovers=cut).to_dict()) == [
        ["day", "requests"],
        ["batch", "cutover_at"],
    ]
    assert tooltips(charts.pareto(paths, "path", "requests").to_dict()) == [
        ["path", "requests", "cumulative_share"],
        ["path", "cumulative_share"],
    ]
    assert tooltips(charts.histogram_log([1, 10, 100]).to_dict()) == [["start", "end", "count"]]


def test_timeseries_marks_cutover_with_a_rule():
    ts = pd.DataFrame({"day": pd.date_range("2026-03-01", periods=4, tz="UTC"), "requests": [1, 2, 3, 4]})
    spec = charts.timeseries(ts, "day", "requests", cutovers=[("b1", pd.Timestamp("2026-03-02", tz="UTC"))]).to_dict()
    assert [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]] == [
        "line",
        "rule",
        "text",
    ]
    assert charts.timeseries(ts, "day", "requests").to_dict()["mark"] == {"type": "line"}


def test_log_bins_counts_every_positive_value():
    got = charts.log_bins([1, 10, 100, 1000, 0, -5, None], bins=3)
    assert got.to_dict("list") == {"start": [1.0, 10.0, 100.0], "end": [10.0, 100.0, 1000.0], "count": [1, 1, 2]}
    assert charts.log_bins([]).to_dict("list") == {"start": [], "end": [], "count": []}


def test_pareto_cumulative_share(paths):
    spec = charts.pareto(paths, "path", "requests").to_dict()
    values = spec["datasets"][next(iter(spec["datasets"]))]
    assert [(v["path"], v["requests"], round(v["cumulative_share"], 4)) for v in values] == [
        (HOSTILE[0], 30, 0.5),
        (HOSTILE[1], 20, 0.8333),
        (HOSTILE[2], 10, 1.0),
    ]


def test_hostile_strings_cannot_break_out_of_the_chart_script(paths):
    charts.enable()
    page = html_of(charts.bar(paths, "path", "requests", title="</script><script>alert(3)</script>"))
    assert page.count("<script") == page.count("</script>") == 2  # the bundle's and the chart's, nothing else
    assert "alert(1)</script>" not in page and "<img src=x" not in page
    spec_json = re.search(r"var spec = (.*);\n", page).group(1)
    spec = json.loads(spec_json)
    assert spec["title"] == "</script><script>alert(3)</script>"
    assert [row["path"] for row in next(iter(spec["datasets"].values()))] == HOSTILE


def test_table_escapes(paths):
    got = charts.table(paths, max_rows=2, caption="<b>paths</b>")._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in got and "<script" not in got and "<img" not in got
    assert "&lt;b&gt;paths&lt;/b&gt;" in got
    assert "… 1 more rows" in got
    cells = [html.unescape(c) for c in re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", got, re.S)]
    assert cells == ["path", "requests", "p95_ms", HOSTILE[0], "30", "12.5", HOSTILE[1], "20", "250"]
    hostile_columns = pd.DataFrame({"<b>x</b>": ["a&b"], "n": [1234567.891], "f": [0.0720133], "z": [None]})
    got = charts.table(hostile_columns)._repr_html_()
    assert [html.unescape(c) for c in re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", got, re.S)] == [
        "<b>x</b>",
        "n",
        "f",
        "z",
        "a&b",
        "1,234,567.9",
        "0.07201",
        "",
    ]
    assert "<b>" not in got and "&lt;b&gt;x&lt;/b&gt;" in got


# --- papermill + nbconvert ----------------------------------------------------------------------------------


def _probe_db(path: Path) -> Path:
    """A DuckDB file whose request paths are hostile strings: 300 requests over three paths."""
    con = db.connect(path)
    con.execute(
        """
        INSERT INTO requests (ts, method, path, status, duration_ms, source_id, line_no)
        SELECT TIMESTAMPTZ '2026-03-01 00:00:00+00' + i * INTERVAL 1 MINUTE, 'GET', $paths[1 + i % 3], 200,
               10 + i % 50, 1, i
        FROM range(0, 300) t(i)""",
        {"paths": HOSTILE},
    )
    con.close()
    return path


def _probe_notebooks(folder: Path, failing: str | None = None) -> Path:
    """The probe notebook under each of the five report names (py:percent only: tests the jupytext fallback)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in report.ORDER:
        text = PROBE.read_text()
        if stem == failing:
            text = text.replace("fail = False", "fail = True")
        (folder / f"{stem}.py").write_text(text)
    return folder


MANIFEST = """
[[batch]]
name = "trips <read>"
cutover = 2026-03-01T02:00:00Z
routes = ["GET /trips/<int:trip_id>"]
"""

MANIFEST_2 = (
    MANIFEST
    + """
[[batch]]
name = "trips/read"
cutover = 2026-03-01T04:00:00Z
routes = ["POST /login"]
"""
)


def test_jobs_run_the_batch_review_once_per_batch(tmp_path):
    nbdir = _probe_notebooks(tmp_path / "nb")
    (tmp_path / "m.toml").write_text(MANIFEST_2)
    got = report.jobs(
        "x.duckdb", tmp_path / "m.toml", logs=["a.log"], apps=["m:app", "n:app"], source="src", notebooks_dir=nbdir
    )
    dbs, man, src = str(Path("x.duckdb").resolve()), str(tmp_path / "m.toml"), str(Path("src").resolve())
    nb = lambda stem: nbdir / f"{stem}.ipynb"
    assert got == [
        report.Job(nb("01_ingest"), "01_ingest", "01_ingest", {"db": dbs, "logs": [str(Path("a.log").resolve())]}),
        report.Job(
            nb("02_endpoints"), "02_endpoints", "02_endpoints", {"db": dbs, "apps": ["m:app", "n:app"], "source": src}
        ),
        report.Job(nb("03_priorities"), "03_priorities", "03_priorities", {"db": dbs, "source": src, "manifest": man}),
        report.Job(
            nb("04_batch_review"),
            "04_batch_review-trips-read",
            "04_batch_review — trips <read>",
            {"db": dbs, "manifest": man, "batch": "trips <read>"},
        ),
        report.Job(
            nb("04_batch_review"),
            "04_batch_review-trips-read_",
            "04_batch_review — trips/read",
            {"db": dbs, "manifest": man, "batch": "trips/read"},
        ),
        report.Job(nb("05_progress"), "05_progress", "05_progress", {"db": dbs, "manifest": man}),
    ]
    assert [j.name for j in report.jobs("x.duckdb", None, notebooks_dir=nbdir)] == [
        "01_ingest",
        "02_endpoints",
        "03_priorities",
        "05_progress",
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """report.build over the probe notebook standing in for all five (04 once for the one batch)."""
    tmp = tmp_path_factory.mktemp("report")
    dbf = _probe_db(tmp / "probe.duckdb")
    (tmp / "migration.toml").write_text(MANIFEST)
    (tmp / "a.log").write_text("")
    index = report.build(
        dbf,
        tmp / "migration.toml",
        tmp / "out",
        logs=[tmp / "a.log", "logs/*.gz"],
        apps=["demo:app"],
        source=tmp,
        notebooks_dir=_probe_notebooks(tmp / "nb"),
    )
    return {"tmp": tmp, "db": dbf, "index": index, "out": tmp / "out"}


def test_build_runs_every_notebook_in_order_with_its_parameters(built):
    tmp, out = built["tmp"], built["out"]
    names = ["01_ingest", "02_endpoints", "03_priorities", "04_batch_review-trips-read", "05_progress"]
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{n}.html" for n in names] + ["index.html", "notebooks"])
    params = {
        n: nbformat.read(out / "notebooks" / f"{n}.ipynb", as_version=4).metadata.papermill.parameters for n in names
    }
    dbs, man = str(built["db"]), str(tmp / "migration.toml")
    assert params == {
        "01_ingest": {"db": dbs, "logs": [str(tmp / "a.log"), str(Path("logs/*.gz").resolve())]},
        "02_endpoints": {"db": dbs, "apps": ["demo:app"], "source": str(tmp)},
        "03_priorities": {"db": dbs, "source": str(tmp), "manifest": man},
        "04_batch_review-trips-read": {"db": dbs, "manifest": man, "batch": "trips <read>"},
        "05_progress": {"db": dbs, "manifest": man},
    }


def test_index_links_every_report_with_its_summary(built):
    page = built["index"].read_text()
    links = re.findall(r'<li><a href="([^"]+)">([^<]*)</a><p class="summary">([^<]*)</p>', page)
    busiest = html.escape(HOSTILE[1])  # 100 requests each; ties sort by path
    assert links == [
        ("01_ingest.html", "Report probe", f"3 paths, busiest {busiest}, batch None"),
        ("02_endpoints.html", "Report probe", f"3 paths, busiest {busiest}, batch None"),
        ("03_priorities.html", "Report probe", f"3 paths, busiest {busiest}, batch None"),
        (
            "04_batch_review-trips-read.html",
            "Report probe — trips &lt;read&gt;",
            f"3 paths, busiest {busiest}, batch trips &lt;read&gt;",
        ),
        ("05_progress.html", "Report probe", f"3 paths, busiest {busiest}, batch None"),
    ]
    assert (
        "<title>Report probe — trips &lt;read&gt;</title>"
        in (built["out"] / "04_batch_review-trips-read.html").read_text()
    )
    assert "<script" not in page


def test_exported_html_hides_code_and_loads_nothing_from_a_cdn(built):
    page = (built["out"] / "02_endpoints.html").read_text()
    assert "charts.enable()" not in page and "quantile_cont" not in page  # no code cells
    assert "Requests per path: the longest bar" in page  # markdown kept
    assert re.findall(r"<script[^>]*\bsrc=", page) == []  # no external script
    assert "require.js" not in page and "mathjax" not in page.lower()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count(charts.javascript_bundle()) == 1
    assert page.count('class="strangler-chart"') == 2


def test_every_report_renders_offline_in_chromium(built, browser):
    """Every chart draws, nothing is requested, nothing logs an error, and the hostile path in the tooltip of
    the first bar is text (no <img>/<script> element made from it)."""
    pages = sorted(built["out"].glob("*.html"))
    assert [p.name for p in pages] == [
        "01_ingest.html",
        "02_endpoints.html",
        "03_priorities.html",
        "04_batch_review-trips-read.html",
        "05_progress.html",
        "index.html",
    ]
    tip = {
        "rows": {"path": HOSTILE[1], "requests": "100", "p95_ms": "57"},
        "text": f"path{HOSTILE[1]}requests100p95_ms57",
        "elements": 0,
    }
    for page in pages:
        got = open_offline(browser, page, hover=page.name != "index.html")
        n = 0 if page.name == "index.html" else 2
        assert got == {
            "charts": n,
            "rendered": n,
            "requests": [],
            "errors": [],
            "dialogs": [],
            "tooltip": tip if n else None,
        }, page.name


def test_failing_notebook_names_notebook_and_cell_and_keeps_it(tmp_path, monkeypatch, capsys):
    dbf = _probe_db(tmp_path / "probe.duckdb")
    monkeypatch.setattr(report, "NOTEBOOKS_DIR", _probe_notebooks(tmp_path / "nb", failing="01_ingest"))
    code = cli.main(["report", "--db", str(dbf), "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().err.splitlines()
    assert lines[:-1] == ["[1/4] 01_ingest …"]  # progress, then the one-line error
    err = lines[-1]
    kept = tmp_path / "out" / "notebooks" / "01_ingest.ipynb"
    assert code == 2
    assert err.startswith("strangler: error: notebook 01_ingest.ipynb (01_ingest) failed in cell In[")
    assert "starting 'if fail:'" in err and "ValueError: probe failed on purpose" in err
    assert f"kept at {kept}" in err and "Traceback" not in err
    nb = nbformat.read(kept, as_version=4)
    failed = [c for c in nb.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
    assert [(c.source.splitlines()[0], c.outputs[-1].ename) for c in failed] == [("if fail:", "ValueError")]
    assert not (tmp_path / "out" / "index.html").exists()


def test_missing_notebook_is_a_user_error(tmp_path):
    with pytest.raises(StranglerError, match=r"notebook .*01_ingest.ipynb does not exist"):
        report.jobs(tmp_path / "x.duckdb", notebooks_dir=tmp_path)


def test_chart_specs_and_pngs_from_an_executed_notebook(built, tmp_path):
    nb = nbformat.read(built["out"] / "notebooks" / "02_endpoints.ipynb", as_version=4)
    specs = report.chart_specs(nb)
    assert [(s["title"], s["mark"]["type"]) for s in specs] == [
        ("Requests per path", "bar"),
        ("p95 against traffic", "circle"),
    ]
    assert sorted(r["path"] for r in next(iter(specs[0]["datasets"].values()))) == sorted(HOSTILE)
    pngs = report.chart_pngs(built["out"] / "notebooks", tmp_path, {"02_endpoints": 1, "05_progress": 0})
    assert [(p.name, p.read_bytes()[:8]) for p in pngs] == [
        ("02_endpoints.png", b"\x89PNG\r\n\x1a\n"),
        ("05_progress.png", b"\x89PNG\r\n\x1a\n"),
    ]
    with pytest.raises(StranglerError, match="has 2 charts, no chart #5"):
        report.chart_pngs(built["out"] / "notebooks", tmp_path, {"01_ingest": 5})


def test_dead_kernel_names_the_notebook(tmp_path):
    dbf = _probe_db(tmp_path / "probe.duckdb")
    nb = tmp_path / "dies.py"
    nb.write_text(
        PROBE.read_text().replace('    raise ValueError("probe failed on purpose")', "    import os\n    os._exit(1)")
    )
    job = report.Job(tmp_path / "dies.ipynb", "dies", "dies", {"db": str(dbf), "fail": True})
    with pytest.raises(StranglerError) as err:
        report.run([job], tmp_path / "out")
    assert str(err.value).startswith("notebook dies.ipynb (dies) could not run: DeadKernelError: ")
    assert str(err.value).endswith(f"; partial output kept at {tmp_path / 'out' / 'notebooks' / 'dies.ipynb'}")
    assert "\n" not in str(err.value)


def test_a_table_wider_than_the_page_scrolls_inside_its_box(tmp_path, browser):
    wide = pd.DataFrame([{f"column_{i:02d}_with_a_long_name": f"value {i} <b>" for i in range(40)}])
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "t",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", data={"text/html": charts.table(wide)._repr_html_(), "text/plain": "t"}
                )
            ],
        )
    ]
    page = report.export(nb, tmp_path / "wide.html", "wide")
    ctx = browser.new_context(viewport={"width": 900, "height": 600}, java_script_enabled=True)
    tab = ctx.new_page()
    tab.goto(page.as_uri())
    got = tab.evaluate(
        """() => {
        const box = document.querySelector('.strangler-table-box');
        const last = box.querySelector('thead th:last-child');
        const before = last.getBoundingClientRect().right <= window.innerWidth;
        box.scrollLeft = box.scrollWidth;
        return {overflow: getComputedStyle(box).overflowX, scrolls: box.scrollWidth > box.clientWidth,
                box_inside: box.getBoundingClientRect().right <= window.innerWidth,
                last_visible_before: before, last_visible_after: last.getBoundingClientRect().right <= window.innerWidth,
                last: last.textContent, bold: box.querySelectorAll('b').length};
        }"""
    )
    ctx.close()
    assert got == {
        "overflow": "auto",
        "scrolls": True,
        "box_inside": True,
        "last_visible_before": False,
        "last_visible_after": True,
        "last": "column_39_with_a_long_name",
        "bold": 0,
    }
