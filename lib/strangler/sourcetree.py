"""The Python files of a source tree, the module name each one has, and which of them an import names.

One owner for module resolution, used by the static inventory (`static_inventory`, through `pyeval`) and by the
effort model (`effort`). Module names are relative to the tree root: `<root>/app/views.py` is `app.views`. An
import path names a tree module when it equals that module's name, or when it is that name with a leading part
that names the root's own folders (`calibreweb.cps.web` is `web` when the root is `.../calibreweb/cps`). Any
other import is outside the tree: `werkzeug.exceptions` never matches a project's own `exceptions.py`, and
`from dynaconf import settings` never the project's `settings.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# folders that hold no code of the project itself (virtualenvs, installed packages, build output)
SKIP_DIRS = frozenset(
    {
        "venv",
        "env",
        "node_modules",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "build",
        "dist",
    }
)


def python_files(root: Path) -> Iterator[Path]:
    """Every .py file under `root`, in sorted order, skipping hidden folders, virtualenvs and installed packages."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".") and not d.endswith("venv")
        )
        for f in sorted(filenames):
            if f.endswith(".py"):
                yield Path(dirpath) / f


def module_name(root: Path | None, path: Path) -> str:
    """The dotted name of `path` relative to `root` (a package's `__init__.py` is the package)."""
    base = root if root is not None and path.is_relative_to(root) else path.parent
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or (root.name if root is not None and base == root else path.stem)


def find_module(modules: Mapping[str, T], root: Path | None, dotted: str) -> T | None:
    """The tree module an import path names (see the module docstring), or None when it is outside the tree."""
    parts = dotted.split(".")
    root_parts = root.parts if root is not None else ()
    for i in range(len(parts)):
        if i and tuple(root_parts[-i:]) != tuple(parts[:i]):
            continue
        found = modules.get(".".join(parts[i:]))
        if found is not None:
            return found
    return None
