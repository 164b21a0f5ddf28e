"""Smoke test of the real notebooks: `report.build` on the 50 k-request demo, as `make report` runs it, plus a log
of hostile request paths; every report exists, is linked from the index with its summary, and opens offline in
headless Chromium with every chart drawn."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from strangler import charts, manifest, report
from test_report import browser, open_offline  # noqa: F401  (the module-scoped Chromium fixture)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
APPS = ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"]
HOSTILE_PATHS = ["/<script>alert(1)</script>", "/x'><img/src=x/onerror=alert(2)>", "/a&b/<b>bold</b>"]


def _hostile_log(demo: Path, out: Path) -> Path:
    """An nginx log that copies the demo's first line with hostile paths: 200 GETs (the demo's catch-all takes
    them) and 200 POSTs (405s, listed by 02 among the requests no route took) per path, and hostile lines that
    are no log line at all (rejects, whose raw text 01 shows)."""
    first = (demo / "logs" / "access.log").read_text().splitlines()[0]
    m = re.match(r'^(.*?")GET (\S+)( HTTP/1\.1".*)$', first)
    assert m, first
    lines = [f"{m[1]}{method} {p}{m[3]}\n" for p in HOSTILE_PATHS for method in ("GET", "POST") for _ in range(200)]
    lines += [f"{p} is not a log line\n" for p in HOSTILE_PATHS]
    out.write_text("".join(lines))
    return out


@pytest.fixture(scope="module")
def demo_report(small_demo: Path, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("reports")
    logs = [small_demo / "logs", _hostile_log(small_demo, tmp / "hostile.log")]
    index = report.build(
        tmp / "demo.duckdb",
        small_demo / "migration.toml",
        tmp / "reports",
        logs=logs,
        apps=APPS,
        source=ROOT / "lib" / "strangler" / "demo",
    )
    batches = [b.name for b in manifest.load(small_demo / "migration.toml")]
    return {
        "index": index,
        "out": tmp / "reports",
        "batches": batches,
        "db": tmp / "demo.duckdb",
        "manifest": small_demo / "migration.toml",
    }


def _expected(batches: list[str]) -> list[str]:
    return ["01_ingest", "02_endpoints", "03_priorities", *[f"04_batch_review-{b}" for b in batches], "05_progress"]


def test_every_report_is_written_and_linked_with_its_summary(demo_report):
    out, names = demo_report["out"], _expected(demo_report["batches"])
    assert demo_report["batches"] == ["trips-read", "feed", "users-search"]
    assert sorted(p.name for p in out.glob("*.html")) == sorted([f"{n}.html" for n in names] + ["index.html"])
    page = demo_report["index"].read_text()
    links = re.findall(r'<li><a href="([^"]+)">[^<]*</a><p class="summary">([^<]*)</p>', page)
    assert [href for href, _ in links] == [f"{n}.html" for n in names]
    for name in names:  # the summary cell printed exactly one non-empty line
        nb = nbformat.read(out / "notebooks" / f"{name}.ipynb", as_version=4)
        cell = [c for c in nb.cells if "summary" in c.metadata.get("tags", [])][-1]
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        assert len(text.strip().splitlines()) == 1, (name, text)
        assert dict(links)[f"{name}.html"] == html.escape(text.strip()), name


def test_hostile_paths_are_shown_escaped_and_never_raw(demo_report):
    shown = set()
    for page in sorted(demo_report["out"].glob("*.html")):
        text = page.read_text()
        assert [p for p in HOSTILE_PATHS if p in text] == [], page.name
        shown |= {
            p
            for p in HOSTILE_PATHS
            if html.escape(p, quote=False) in text or html.escape(p) in text or charts._script_json(p)[1:-1] in text
        }  # table, text, chart
    assert shown == set(HOSTILE_PATHS)  # the reports do show them (as text), so the check above means something


def test_every_report_renders_offline_in_chromium(demo_report, browser):  # noqa: F811
    for page in sorted(demo_report["out"].glob("*.html")):
        got = open_offline(browser, page, hover=page.name != "index.html")
        assert (got["requests"], got["errors"], got["dialogs"]) == ([], [], []), page.name
        assert got["rendered"] == got["charts"], page.name
        if page.name != "index.html":
            assert got["charts"] >= 1, page.name
            assert got["tooltip"] is not None, f"{page.name}: no tooltip on hovering its first ten marks"
            assert got["tooltip"]["text"] and got["tooltip"]["elements"] == 0, (page.name, got["tooltip"])


def test_priorities_keep_the_manifest_batches(demo_report):
    """03 runs before any review: it loads the manifest itself, so batch routes are not proposed again."""
    import duckdb

    expected = sorted((b.name, m, r, "migrated") for b in manifest.load(demo_report["manifest"]) for m, r in b.routes)
    con = duckdb.connect(str(demo_report["db"]), read_only=True)
    got = con.execute(
        "SELECT proposed_batch, method, rule, status FROM scores WHERE status <> 'proposed' AND NOT dead ORDER BY ALL"
    ).fetchall()
    con.close()
    assert got == expected


# --- empty and partial databases: what is missing is said, never shown as success ---------------------------


def _summaries(index: Path) -> dict[str, str]:
    page = index.read_text()
    return {
        href: html.unescape(text)
        for href, text in re.findall(r'<li><a href="([^"]+)">[^<]*</a><p class="summary">([^<]*)</p>', page)
    }


def _outputs(executed: Path) -> str:
    nb = nbformat.read(executed, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_report_on_an_empty_database_says_it_is_empty(tmp_path):
    from strangler import db

    dbf = tmp_path / "empty.duckdb"
    db.connect(dbf).close()
    index = report.build(dbf, None, tmp_path / "out")
    assert _summaries(index) == {
        "01_ingest.html": "no log file ingested yet: the database holds no requests (strangler ingest LOG --db DB "
        "loads some)",
        "02_endpoints.html": "no routes in the database and no requests",
        "03_priorities.html": "no plan: the database holds no Flask routes (strangler routes --app MODULE:ATTR or "
        "--source DIR)",
        "05_progress.html": "no batches in the database: nothing migrated yet (strangler review --manifest M stores "
        "them).",
    }
    shown = _outputs(tmp_path / "out" / "notebooks" / "02_endpoints.ipynb")
    assert "no requests in the window: nothing to match" in shown
    assert "no requests in the window: no route can be called dead" in shown
    assert "matched a route" not in shown  # no "every request matched" over zero requests
    shown = _outputs(tmp_path / "out" / "notebooks" / "05_progress.ipynb")
    assert "no batches in the database: strangler review --manifest M stores them" in shown


def test_report_on_requests_and_a_manifest_without_routes(small_demo, tmp_path):
    """Partial: logs and batches, no routes: nothing is attributed, so no plan, no review and no progress."""
    index = report.build(
        tmp_path / "p.duckdb", small_demo / "migration.toml", tmp_path / "out", logs=[small_demo / "logs"]
    )
    got = _summaries(index)
    truth = json.loads((small_demo / "truth.json").read_text())
    n = sum(f["requests"] for f in truth["files"].values())
    assert got["02_endpoints.html"] == f"no routes in the database; {n:,} requests not attributed"
    assert got["03_priorities.html"] == (
        "no plan: the database holds no Flask routes (strangler routes --app MODULE:ATTR or --source DIR)"
    )
    for b, routes in (("trips-read", 3), ("feed", 2), ("users-search", 2)):
        assert got[f"04_batch_review-{b}.html"].endswith(
            f": not reviewed ({routes} routes): no review stored for this batch."
        )
    assert got["05_progress.html"] == "3 batches, but no request is attributed to a route yet: no progress to show."
    shown = _outputs(tmp_path / "out" / "notebooks" / "04_batch_review-feed.ipynb")
    assert "batch feed is not reviewed: strangler review needs attributed requests with timestamps" in shown


def test_report_on_routes_and_a_manifest_without_requests(small_demo, tmp_path):
    index = report.build(tmp_path / "r.duckdb", small_demo / "migration.toml", tmp_path / "out", apps=APPS[:1])
    got = _summaries(index)
    assert got["01_ingest.html"].startswith("no log file ingested yet")
    assert (
        got["02_endpoints.html"]
        == "44 routes (44 Flask, 0 FastAPI): no requests in the window, so none is live or dead yet"
    )
    assert got["03_priorities.html"] == (
        "no plan: the database holds no requests to value the routes by (strangler ingest LOG)"
    )
    assert got["04_batch_review-trips-read.html"] == (
        "trips-read (cutover 2026-01-26 09:00 UTC): insufficient_data: no request of its 3 routes in the compared "
        "windows."
    )
    assert got["05_progress.html"] == "3 batches, but no timestamped requests: no progress to show."
