"""The project's own files agree with each other: environment.yml with pyproject.toml, Makefile with README."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11"
    assert project["requires-python"] == ">=3.11"
    assert "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert len(pip) == 1, "pyproject.toml is the one dependency list; environment.yml only installs it"
    m = re.fullmatch(r"-e \.\[(?P<extras>[a-z,]+)\]", pip[0])
    assert m, pip[0]
    assert set(m["extras"].split(",")) == set(project["optional-dependencies"])


def test_makefile_targets_are_documented():
    makefile = (ROOT / "Makefile").read_text()
    targets = dict(re.findall(r"^([a-z][a-z-]*):.*## (.*)$", makefile, re.M))
    assert {"report", "test", "lab", "demo", "bench", "help"} <= set(targets)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make lint" in ci
    assert {"lint", "test-fast"} <= set(targets)


def _readme_table_rows() -> dict[str, str]:
    """README's schema table: table name -> the text of its row."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## DuckDB schema", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in re.finditer(r"^\| `(\w+)` \| (.*) \|$", section, re.M)}


def test_readme_documents_every_column_of_the_schema(con):
    rows = _readme_table_rows()
    tables = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = current_database() GROUP BY table_name"
    ).fetchall()
    assert {name for name, _ in tables} <= set(rows)
    missing = {name: [c for c in cols if f"`{c}`" not in rows[name]] for name, cols in tables}
    assert missing == {name: [] for name, _ in tables}


def test_readme_documents_every_command_and_option():
    import argparse

    from strangler import cli

    text = (ROOT / "README.md").read_text()
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, p in sub.choices.items():
        if f"`strangler {name}" not in text:
            missing.append(name)
        for action in p._actions:
            long = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
            if long and not any(o in text for o in long):
                missing.append(f"{name} {long[0]}")
    assert missing == []


def test_notebooks_are_paired_and_committed_without_outputs():
    import jupytext
    import nbformat

    stems = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert stems == sorted(p.stem for p in (ROOT / "notebooks").glob("*.py"))
    for stem in stems:
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        paired = jupytext.read(ROOT / "notebooks" / f"{stem}.py")
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in paired.cells], stem
        assert [(c.outputs, c.execution_count) for c in code] == [([], None)] * len(code), stem


def test_papermill_sees_every_parameter_of_every_notebook():
    """A parameter papermill cannot parse ('x: str | None = None') is silently not injected."""
    import ast

    import nbformat
    import papermill

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assigned = [
            n.target.id if isinstance(n, ast.AnnAssign) else n.targets[0].id
            for n in ast.parse(cell.source).body
            if isinstance(n, ast.AnnAssign | ast.Assign)
        ]
        assert sorted(papermill.inspect_notebook(str(path))) == sorted(assigned), path.name
