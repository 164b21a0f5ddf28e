"""The command line contract: help for every option, one-line errors, `python -m strangler`."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from strangler import cli, db


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_design_command_exists():
    assert {"demo", "ingest", "routes", "attribute", "plan", "review", "report", "serve"} <= set(_subcommands())


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_option_has_help(name):
    p = _subcommands()[name]
    assert p.description, f"strangler {name} has no description"
    undocumented = [a.dest for a in p._actions if not a.help and a.dest != "help"]
    assert undocumented == []


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "strangler", "--version"], capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "strangler 0.1.0")


def test_user_error_is_one_line_without_traceback(tmp_path):
    db.connect(tmp_path / "x.duckdb").close()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "strangler",
            "review",
            "--db",
            str(tmp_path / "x.duckdb"),
            "--manifest",
            str(tmp_path / "missing.toml"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr == f"strangler: error: manifest {tmp_path / 'missing.toml'} does not exist\n"


def test_manifest_of_non_tables_is_one_line_without_traceback(tmp_path):
    db.connect(tmp_path / "x.duckdb").close()
    bad = tmp_path / "bad.toml"
    bad.write_text("batch = [1]\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "strangler", "review", "--db", str(tmp_path / "x.duckdb"), "--manifest", str(bad)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr == f"strangler: error: {bad}:1: 'batch' must be an array of tables: write [[batch]]\n"


def test_serve_defaults_to_the_routers_demo_apps(monkeypatch):
    from strangler import router

    calls = []
    monkeypatch.setattr(router, "serve", lambda **kw: calls.append(kw))
    for argv in (
        ["serve", "--manifest", "m.toml"],
        ["serve", "--manifest", "m.toml", "--flask", "a:app", "--fastapi", "b:app"],
    ):
        args = cli.parser().parse_args(argv)
        assert args.run(args) == 0
    assert [(c["flask"], c["fastapi"]) for c in calls] == [
        (router.DEFAULT_FLASK, router.DEFAULT_FASTAPI),
        ("a:app", "b:app"),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["attribute"],
        ["plan"],
        ["review", "--manifest", "m.toml"],
        ["report", "--out", "reports"],
    ],
)
def test_readers_refuse_a_missing_database_and_create_nothing(tmp_path, argv):
    missing = tmp_path / "data" / "none.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", "strangler", argv[0], "--db", str(missing), *argv[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert out.stderr == (
        f"strangler: error: database {missing} does not exist: `strangler ingest LOG --db {missing}` "
        "(or `strangler demo` + `make report` for the demo) creates it\n"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == []  # no file, no folder, no report


def test_writers_create_a_missing_database(tmp_path):
    log = tmp_path / "a.log"
    log.write_text('1.2.3.4 - - [05/Jan/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua"\n')
    dbf = tmp_path / "new" / "s.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", "strangler", "ingest", str(log), "--db", str(dbf)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    con = db.connect(dbf, "read")
    assert con.execute("SELECT method, path, status FROM requests").fetchall() == [("GET", "/x", 200)]
    con.close()


def test_report_passes_python_to_the_route_inventory(tmp_path, capsys):
    """`report --app` imports the app in the interpreter `--python` names, as `routes` does."""
    code = cli.main(
        ["report", "--db", str(tmp_path / "r.duckdb"), "--app", "strangler.demo.flask_app:app"]
        + ["--python", str(tmp_path / "no-python"), "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (code, err[-1:]) == (2, [f"strangler: error: --python {tmp_path / 'no-python'}: no such interpreter"])


def test_routes_entry_goes_with_source_and_names_a_module_of_the_tree(tmp_path, capsys):
    """`routes --source DIR --entry MODULE`: an unknown module, or --entry with --app, is a one-line error."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.py").write_text(
        'from flask import Flask\napp = Flask(__name__)\n\n@app.get("/x")\ndef x():\n    return ""\n'
    )
    dbfile = str(tmp_path / "r.duckdb")
    code = cli.main(["routes", "--db", dbfile, "--app", "m:app", "--entry", "m"])
    err = capsys.readouterr().err.strip().splitlines()
    assert (code, err) == (
        2,
        ["strangler: error: --entry goes with --source (it names the modules a static reading starts from)"],
    )
    code = cli.main(["routes", "--db", dbfile, "--source", str(tree), "--entry", "nothere"])
    err = capsys.readouterr().err.strip().splitlines()
    assert (code, err) == (2, [f"strangler: error: --entry nothere: no such module under {tree.resolve()}"])
    assert cli.main(["routes", "--db", dbfile, "--source", str(tree), "--entry", "app"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"    2 flask    routes from {tree.resolve()}"]
