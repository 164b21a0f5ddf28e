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
    assert "make test" in ci
