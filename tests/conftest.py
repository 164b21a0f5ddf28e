"""Shared fixtures: a fresh DuckDB file per test, the real logs beside the checkout, a small demo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from strangler import db

ROOT = Path(__file__).resolve().parent.parent

# tests/apps holds the sample applications the inventories read (one of them ships its own test_*.py, as real
# apps do): they are data, not tests
collect_ignore_glob = ["apps/*"]
REAL_LOGS = ROOT.parent / "shared" / "real-logs"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a DuckDB file that does not exist yet."""
    return tmp_path / "test.duckdb"


@pytest.fixture
def con(db_path: Path):
    """A connection to a fresh DuckDB file on disk, with the schema created."""
    connection = db.connect(db_path)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def real_logs() -> Path:
    """../shared/real-logs beside the checkout: required in CI (CI=true), else its tests skip with one line."""
    if not REAL_LOGS.is_dir():
        where = f"the real access logs are expected at {REAL_LOGS} (a folder 'shared/real-logs' beside the checkout)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(where, pytrace=False)
        pytest.skip(where)
    return REAL_LOGS


@pytest.fixture(scope="session")
def truth(small_demo: Path) -> dict:
    """The small demo's truth.json: what the generator put into the logs (read only: it is shared)."""
    return json.loads((small_demo / "truth.json").read_text())


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A 50 k-request demo (logs, migration.toml, truth.json), generated once per test session."""
    from strangler import demo

    out = tmp_path_factory.mktemp("demo")
    demo.generate(out, requests=50_000, seed=7)
    return out
