"""Opening the DuckDB file: create / write / read modes, a bounded wait for a file another process holds (with
the holder named), per-call readers that let a writer in, and the notebooks' default paths."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from strangler import db, ingest, paths
from strangler.errors import StranglerError

LINE = '1.2.3.4 - - [05/Jan/2026:10:00:{s:02d} +0000] "GET /p{i} HTTP/1.1" 200 5 "-" "ua"\n'


def _log(path: Path, n: int, first: int = 0) -> Path:
    path.write_text("".join(LINE.format(s=i % 60, i=i) for i in range(first, first + n)))
    return path


def _holder(dbf: Path, read_only: bool) -> subprocess.Popen:
    """Another process that holds `dbf` open (read-only or for writing) until its stdin closes."""
    code = (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'r'); "
        "print('holding', flush=True); sys.stdin.read()"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(dbf), "r" if read_only else "w"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdout.readline() == "holding\n"
    return p


def _release(p: subprocess.Popen) -> None:
    assert p.stdin is not None
    p.stdin.close()
    p.wait(timeout=30)


def test_modes(tmp_path):
    dbf = tmp_path / "sub" / "s.duckdb"
    for mode in ("write", "read"):
        with pytest.raises(StranglerError, match=r"^database .*s\.duckdb does not exist: `strangler ingest LOG"):
            db.connect(dbf, mode)
        assert not dbf.parent.exists()  # nothing made, not even the folder
    db.connect(dbf, "create").close()
    assert dbf.is_file()
    con = db.connect(dbf, "read")
    assert con.execute("SELECT count(*) FROM requests").fetchall() == [(0,)]
    with pytest.raises(Exception, match="read-only"):
        con.execute("INSERT INTO rejects VALUES (1, 1, 'blank', '')")
    con.close()
    db.connect(dbf, "write").close()
    with pytest.raises(ValueError, match="mode must be one of create, write, read"):
        db.connect(dbf, "append")  # type: ignore[arg-type]
    with pytest.raises(StranglerError, match=r"is a folder, not a database file"):
        db.connect(tmp_path, "read")
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database\n" * 1000)
    with pytest.raises(StranglerError, match=r"^database .*junk\.duckdb could not be opened: "):
        db.connect(junk, "read")


@pytest.mark.parametrize("held_read_only", [True, False])
def test_writer_waits_then_names_the_holder(tmp_path, held_read_only):
    dbf = tmp_path / "s.duckdb"
    db.connect(dbf).close()
    p = _holder(dbf, read_only=held_read_only)
    try:
        t0 = time.monotonic()
        with pytest.raises(StranglerError) as err:
            db.connect(dbf, "write", wait=1.0)
        waited = time.monotonic() - t0
        cmd = f"-c import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'r'); print('holding', flush=True); sys.stdin.read() {dbf} {'r' if held_read_only else 'w'}"
        command = f"{Path(sys.executable).name} {cmd}"
        assert str(err.value) == (
            f"database {dbf} is in use by PID {p.pid} ({command[:120]} …); waited 1 s "
            "(STRANGLER_LOCK_WAIT to change): wait for it to finish (or stop it: close the notebook's kernel, end "
            "the command), then run this again"
        )
        assert 1.0 <= waited < 5
        if not held_read_only:  # a reader cannot get past a writer either
            with pytest.raises(StranglerError, match=rf"^database .* is being written by PID {p.pid} "):
                db.connect(dbf, "read", wait=0.2)
    finally:
        _release(p)


def test_writer_gets_in_once_the_holder_lets_go(tmp_path):
    dbf = tmp_path / "s.duckdb"
    db.connect(dbf).close()
    p = _holder(dbf, read_only=True)
    timer = threading.Timer(1.5, _release, [p])
    t0 = time.monotonic()
    timer.start()
    con = db.connect(dbf, "write", wait=30)  # retried until the holder lets go after ~1.5 s
    waited = time.monotonic() - t0
    con.close()
    timer.join()
    assert p.returncode == 0
    assert 1.4 <= waited < 30


def test_lock_wait_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(db.LOCK_WAIT_ENV, raising=False)
    assert db.lock_wait() == 30.0
    monkeypatch.setenv(db.LOCK_WAIT_ENV, "2.5")
    assert db.lock_wait() == 2.5
    monkeypatch.setenv(db.LOCK_WAIT_ENV, "soon")
    with pytest.raises(StranglerError, match=r"^STRANGLER_LOCK_WAIT='soon': write a number of seconds"):
        db.lock_wait()


def test_cli_ingest_waits_for_a_reader_and_then_fails_in_one_line(tmp_path):
    dbf = tmp_path / "s.duckdb"
    db.connect(dbf).close()
    log = _log(tmp_path / "a.log", 3)
    p = _holder(dbf, read_only=True)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "strangler", "ingest", str(log), "--db", str(dbf)],
            capture_output=True,
            text=True,
            env={**os.environ, db.LOCK_WAIT_ENV: "0.5"},
        )
    finally:
        _release(p)
    assert out.returncode == 2
    assert out.stderr.startswith(f"strangler: error: database {dbf} is in use by PID {p.pid} (")
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1


def test_reader_holds_the_file_only_during_a_call(tmp_path):
    """A notebook's Reader between two calls leaves the file free: ingest from another process writes at once,
    and the next call sees the new rows."""
    dbf = tmp_path / "s.duckdb"
    con = db.connect(dbf)
    ingest.ingest(con, [str(_log(tmp_path / "a.log", 3))])
    con.close()
    data = db.Reader(dbf)
    assert data(ingest.summary) == "1 log file, 3 lines: 3 requests and 0 rejects"
    out = subprocess.run(
        [sys.executable, "-m", "strangler", "ingest", str(_log(tmp_path / "b.log", 4, 100)), "--db", str(dbf)],
        capture_output=True,
        text=True,
        env={**os.environ, db.LOCK_WAIT_ENV: "0"},  # no waiting: the reader must not be holding it
    )
    assert out.returncode == 0, out.stderr
    assert data(ingest.summary) == "2 log files, 7 lines: 7 requests and 0 rejects"
    with pytest.raises(StranglerError, match="does not exist"):
        db.Reader(tmp_path / "none.duckdb")


def test_paths_resolve_against_the_project_not_the_cwd(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parent.parent
    for env in (paths.HOME_ENV, paths.DB_ENV):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.checkout() == root
    assert paths.home() == root
    assert paths.database() == root / "data" / "demo" / "demo.duckdb"
    assert paths.database("x/my.duckdb") == root / "x" / "my.duckdb"
    assert paths.database(tmp_path / "abs.duckdb") == tmp_path / "abs.duckdb"
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "proj"))
    assert paths.database() == tmp_path / "proj" / "data" / "demo" / "demo.duckdb"
    monkeypatch.setenv(paths.DB_ENV, "data/api.duckdb")
    assert paths.database() == tmp_path / "proj" / "data" / "api.duckdb"
    assert paths.database("given.duckdb") == tmp_path / "proj" / "given.duckdb"  # a given path wins


def test_notebook_db_says_how_to_make_the_missing_demo(tmp_path, monkeypatch):
    for env in (paths.HOME_ENV, paths.DB_ENV):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    with pytest.raises(StranglerError) as err:
        paths.notebook_db()
    demo_src = Path(paths.__file__).resolve().parent / "demo"
    assert str(err.value) == (
        f"the demo database {tmp_path}/data/demo/demo.duckdb does not exist yet; make it with: cd {tmp_path} && "
        "strangler demo --out data/demo && strangler report --db data/demo/demo.duckdb --manifest "
        "data/demo/migration.toml --logs data/demo/logs --app strangler.demo.flask_app:app --app "
        f"strangler.demo.fastapi_app:app --source {demo_src} --out reports"
    )
    assert err.value._render_traceback_() == [f"strangler: {err.value}"]  # IPython shows one line
    root = Path(__file__).resolve().parent.parent
    assert paths.demo_commands(root) == [f"cd {root}", "make report"]
    with pytest.raises(StranglerError, match=r"^database .*other\.duckdb does not exist; create it with"):
        paths.notebook_db("other.duckdb")
    assert not (tmp_path / "data").exists() and not (tmp_path / "other.duckdb").exists()
