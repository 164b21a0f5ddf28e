"""strangler stands alone: the wheel, installed into a fresh virtualenv outside the checkout, writes the reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def test_wheel_in_a_fresh_venv_writes_every_report_from_any_folder(tmp_path: Path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)], cwd=tmp_path)
    (wheel,) = dist.glob("strangler-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)

    work = tmp_path / "elsewhere"  # no checkout here: notebooks and templates must come from the wheel
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    location = _run([str(py), "-c", "import strangler, sys; print(strangler.__file__)"], cwd=work, env=env)
    assert location.strip().startswith(str(env_dir)), location

    strangler = str(env_dir / "bin" / "strangler")
    _run([strangler, "demo", "--out", "demo", "--requests", "20000"], cwd=work, env=env)
    out = _run(
        [strangler, "report", "--db", "demo/demo.duckdb", "--manifest", "demo/migration.toml", "--logs", "demo/logs"]
        + ["--app", "strangler.demo.flask_app:app", "--app", "strangler.demo.fastapi_app:app", "--out", "reports"],
        cwd=work,
        env=env,
    )
    batches = re.findall(r'^name = "(.+)"$', (work / "demo" / "migration.toml").read_text(), re.M)
    expected = {"index.html", "01_ingest.html", "02_endpoints.html", "03_priorities.html", "05_progress.html"}
    expected |= {f"04_batch_review-{b}.html" for b in batches}
    assert {p.name for p in (work / "reports").glob("*.html")} == expected
    index = (work / "reports" / "index.html").read_text()
    assert all(f'href="{name}"' in index for name in expected - {"index.html"})
    # a quiet success: no ERROR line from a kernel and no warning
    assert [ln for ln in out.splitlines() if "ERROR" in ln or "Warning" in ln] == []
