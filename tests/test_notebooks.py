"""Smoke test of the real notebooks: `report.build` on the 50 k-request demo, as `make report` runs it, plus a log
of hostile request paths; every report exists, is linked from the index with its summary, and opens offline in
headless Chromium with every chart drawn."""

from __future__ import annotations

import html
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
