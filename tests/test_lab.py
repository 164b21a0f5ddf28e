"""The notebooks in a real JupyterLab, started as `make lab` starts it: the server's own kernels (running in
notebooks/, whatever the folder the server was started from) execute every notebook top to bottom on the demo
database found through the project folder; headless Chromium shows a chart drawn in the page; `strangler ingest`
writes to the database while a kernel that has read it stays connected; the jupytext pairs show as one notebook."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from strangler import report

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
TOKEN = uuid.uuid4().hex
APPS = ["--app", "strangler.demo.flask_app:app", "--app", "strangler.demo.fastapi_app:app"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*argv: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    out = subprocess.run([str(BIN / "strangler"), *argv], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A project folder ($STRANGLER_HOME) with the demo database made as `make report` makes it, 20 k requests."""
    home = tmp_path_factory.mktemp("home")
    demo = "data/demo"
    _run("demo", "--out", demo, "--requests", "20000", cwd=home)
    _run(
        "report", "--db", f"{demo}/demo.duckdb", "--manifest", f"{demo}/migration.toml", "--logs", f"{demo}/logs",
        *APPS, "--source", str(ROOT / "lib" / "strangler" / "demo"), "--out", "reports",
        cwd=home,
    )  # fmt: skip
    return home


def _api(base: str, path: str, method: str = "GET", body: dict | None = None) -> dict | list:
    req = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


@contextlib.contextmanager
def _jupyter_lab(root_dir: Path, work: Path, home: Path) -> Iterator[dict]:
    """`jupyter lab` as `make lab` starts it (the project's server config), headless on a free port with a token,
    from `work` (not the notebooks' folder), STRANGLER_HOME = `home`, autosave off."""
    port = _free_port()
    settings = work / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    argv = [
        str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root_dir}",
        f"--config={ROOT / 'notebooks' / 'jupyter_server_config.json'}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={work / 'settings'}",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])  # fmt: skip
    env = {**os.environ, "STRANGLER_HOME": str(home), "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    env.pop("STRANGLER_DB", None)
    with (work / "lab.log").open("w") as log:
        server = subprocess.Popen(argv, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        try:
            while True:
                try:
                    _api(base, "/api/status")
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError((work / "lab.log").read_text()) from None
                    time.sleep(0.5)
            yield {"base": base, "port": port, "home": home}
            for s in _api(base, "/api/sessions"):
                _api(base, f"/api/sessions/{s['id']}", "DELETE")
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def lab(home, tmp_path_factory):
    """The server on the real notebooks/ folder; the committed notebooks are unchanged afterwards."""
    committed = {f.name: f.read_bytes() for f in NOTEBOOKS.iterdir() if f.is_file()}
    with _jupyter_lab(NOTEBOOKS, tmp_path_factory.mktemp("elsewhere"), home) as server:
        yield server
    assert {f.name: f.read_bytes() for f in NOTEBOOKS.iterdir() if f.is_file()} == committed  # nothing written


class Kernel:
    """A notebook session of the server and its kernel's websocket: run a cell, get its outputs."""

    def __init__(self, lab: dict, path: str) -> None:
        import websocket

        session = _api(
            lab["base"], "/api/sessions", "POST", {"path": path, "type": "notebook", "kernel": {"name": "python3"}}
        )
        assert isinstance(session, dict)
        self.session = session["id"]
        self.lab = lab
        url = f"ws://127.0.0.1:{lab['port']}/api/kernels/{session['kernel']['id']}/channels?token={TOKEN}"
        self.ws = websocket.create_connection(url, timeout=300)

    def run(self, code: str) -> list[dict]:
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "t",
                        "session": "t",
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        outputs: list[dict] = []
        while True:
            m = json.loads(self.ws.recv())
            if m.get("parent_header", {}).get("msg_id") != msg_id or m.get("channel") != "iopub":
                continue
            kind, content = m["msg_type"], m["content"]
            if kind == "status" and content["execution_state"] == "idle":
                return outputs
            if kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append({"type": kind, **content})

    def close(self) -> None:
        self.ws.close()
        _api(self.lab["base"], f"/api/sessions/{self.session}", "DELETE")


def _code_cells(stem: str) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _text(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o["type"] == "stream")


def _summaries(home: Path) -> dict[str, str]:
    page = (home / "reports" / "index.html").read_text()
    found = re.findall(r'<li><a href="([^"]+)\.html">[^<]*</a><p class="summary">([^<]*)</p>', page)
    return {name: html.unescape(text) for name, text in found}


def test_every_notebook_runs_in_the_servers_kernel_with_the_defaults(lab):
    """Top to bottom as a user runs them after `make report`: no error, charts drawn, and each summary equals the
    one `strangler report` printed for the same database."""
    expected = _summaries(lab["home"])
    assert sorted(expected) == [
        "01_ingest", "02_endpoints", "03_priorities", "04_batch_review-feed", "04_batch_review-trips-read",
        "04_batch_review-users-search", "05_progress",
    ]  # fmt: skip
    for stem in report.ORDER:
        k = Kernel(lab, f"{stem}.ipynb")
        try:
            assert _text(k.run("import os; print(os.getcwd())")) == f"{NOTEBOOKS}\n"  # the server's kernel cwd
            outputs: list[dict] = []
            for cell in _code_cells(stem):
                got = k.run(cell.source)
                errors = [o for o in got if o["type"] == "error"]
                assert errors == [], (stem, cell.source[:80], errors)
                outputs += got
            charts = sum('class="strangler-chart"' in o.get("data", {}).get("text/html", "") for o in outputs)
            assert charts >= 1, stem
            summary = " ".join(_text(k.run(_code_cells(stem)[-1].source)).split())
        finally:
            k.close()
        name = "04_batch_review-trips-read" if stem == "04_batch_review" else stem
        assert summary == expected[name], stem
    assert expected["01_ingest"] == "3 log files, 20,018 lines: 20,000 requests and 18 rejects"
    assert expected["04_batch_review-trips-read"].startswith("trips-read (cutover 2026-01-26 09:00 UTC): better")


def test_a_missing_database_stops_the_first_cell_with_one_line(lab):
    k = Kernel(lab, "02_endpoints.ipynb")
    try:
        got = k.run("db = 'data/none.duckdb'\n" + _code_cells("02_endpoints")[1].source)
    finally:
        k.close()
    none = lab["home"] / "data" / "none.duckdb"
    assert [(o["type"], o["ename"], o["traceback"]) for o in got] == [
        (
            "error",
            "StranglerError",
            [
                f"strangler: database {none} does not exist; create it with `strangler ingest LOG --db {none}` "
                "(or set STRANGLER_DB, or `db` in the parameters cell)"
            ],
        )
    ]
    assert not none.exists()


def test_ingest_writes_while_a_notebook_kernel_stays_connected(lab, tmp_path):
    """01 has read the database and its kernel stays up; `strangler ingest` (told not to wait at all) adds a file;
    the notebook's summary cell, run again, counts it."""
    home = lab["home"]
    k = Kernel(lab, "01_ingest.ipynb")
    try:
        cells = _code_cells("01_ingest")
        for cell in cells:
            assert [o for o in k.run(cell.source) if o["type"] == "error"] == []
        before = _text(k.run(cells[-1].source)).strip()
        first = (home / "data" / "demo" / "logs" / "access.log").read_text().splitlines()[:5]
        extra = tmp_path / "extra.log"
        extra.write_text("\n".join(first).replace("/trips", "/trips-extra") + "\n")
        out = subprocess.run(
            [str(BIN / "strangler"), "ingest", str(extra), "--db", str(home / "data" / "demo" / "demo.duckdb")],
            capture_output=True,
            text=True,
            env={**os.environ, "STRANGLER_LOCK_WAIT": "0"},
        )
        assert out.returncode == 0, out.stderr
        after = _text(k.run(cells[-1].source)).strip()
    finally:
        k.close()
    assert before == "3 log files, 20,018 lines: 20,000 requests and 18 rejects"
    assert after == "4 log files, 20,023 lines: 20,005 requests and 18 rejects"


def test_pairs_show_once_and_open_as_notebooks(lab):
    listing = _api(lab["base"], "/api/contents/")
    assert isinstance(listing, dict)
    names = sorted(c["name"] for c in listing["content"])
    assert names == [f"{stem}.ipynb" for stem in report.ORDER] + ["images"]  # no .py twins to choose between
    nb = _api(lab["base"], "/api/contents/02_endpoints.ipynb")
    assert isinstance(nb, dict) and nb["type"] == "notebook"
    cells = nb["content"]["cells"]
    assert next(c["metadata"].get("tags") for c in cells if c["cell_type"] == "code") == ["parameters"]
    assert nb["content"]["metadata"]["jupytext"]["formats"] == "ipynb,py:percent"


def test_a_chart_is_drawn_in_jupyterlab_in_chromium(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(f"{lab['base']}/lab/tree/05_progress.ipynb?token={TOKEN}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_function(  # the notebook is the current widget and its kernel is up
                """() => {
                    const w = window.jupyterapp.shell.currentWidget;
                    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                    return k && k.status === 'idle';
                }""",
                timeout=120_000,
            )
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_selector(  # a chart drawn, or an error shown instead
                ".jp-OutputArea .strangler-chart svg.marks, .jp-OutputArea .strangler-chart canvas.marks, "
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                timeout=300_000,
            )
            page.wait_for_timeout(1_000)
            shown_errors = page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            ).all_inner_texts()
            drawn = page.locator(".jp-OutputArea .strangler-chart:has(svg.marks, canvas.marks)").count()
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
            page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
        finally:
            browser.close()
    assert shown_errors == []
    assert drawn >= 1
    assert errors == 0


def test_saving_a_notebook_updates_its_paired_py(tmp_path):
    """Through the contents API on a copy of one pair: the .py is hidden, saving the .ipynb rewrites the .py,
    and the .py itself opens as a notebook."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for f in NOTEBOOKS.glob("02_endpoints.*"):
        shutil.copy(f, folder / f.name)
    with _jupyter_lab(folder, tmp_path / "work", tmp_path) as server:
        base = server["base"]
        listing = _api(base, "/api/contents/")
        assert isinstance(listing, dict) and [c["name"] for c in listing["content"]] == ["02_endpoints.ipynb"]
        nb = _api(base, "/api/contents/02_endpoints.ipynb")
        assert isinstance(nb, dict)
        nb["content"]["cells"][0]["source"] = "# 02 · Endpoints, edited in JupyterLab\n"
        _api(
            base,
            "/api/contents/02_endpoints.ipynb",
            "PUT",
            {"type": "notebook", "format": "json", "content": nb["content"]},
        )
        as_notebook = _api(base, "/api/contents/02_endpoints.py?type=notebook")
    assert "# # 02 · Endpoints, edited in JupyterLab\n" in (folder / "02_endpoints.py").read_text()
    assert isinstance(as_notebook, dict) and as_notebook["type"] == "notebook"
    assert as_notebook["content"]["cells"][0]["source"] == "# 02 · Endpoints, edited in JupyterLab\n"
    assert [c["source"] for c in as_notebook["content"]["cells"][1:]] == [
        c["source"] for c in nb["content"]["cells"][1:]
    ]
