"""Where strangler's files are when nobody says: the project folder, and the demo's database in it.

A default path resolves against the project, never against the current folder by accident: JupyterLab starts a
notebook's kernel in the notebook's folder, papermill in the folder `strangler report` ran from. The project is
`$STRANGLER_HOME` when set; else the checkout strangler runs from (the folder holding its `pyproject.toml`, as
after `pip install -e .` or `make venv`); else, for an installed wheel, the current folder. `$STRANGLER_DB`
replaces the demo's database as the notebooks' default; a relative path, given or from the environment, is
taken from the project too.

`notebook_db` is what every notebook calls first: the database resolved, checked and opened for reading.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from strangler.db import Reader
from strangler.errors import StranglerError

HOME_ENV = "STRANGLER_HOME"
DB_ENV = "STRANGLER_DB"
DEMO = Path("data") / "demo"
DEMO_DB = DEMO / "demo.duckdb"
DEMO_MANIFEST = DEMO / "migration.toml"
DEMO_APPS = ("strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app")


def checkout() -> Path | None:
    """The source checkout this strangler is imported from (lib/strangler/ under it), or None for a wheel."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "lib" / "strangler" / "paths.py").is_file():
        return root
    return None


def home() -> Path:
    """The project folder: $STRANGLER_HOME, else the checkout, else the current folder."""
    env = os.environ.get(HOME_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return checkout() or Path.cwd()


def resolve(path: str | Path | None, env: str, default: Path) -> Path:
    """`path`, else $`env`, else the project's `default`; a relative one is taken from the project folder."""
    chosen = path if path not in (None, "") else os.environ.get(env, "").strip() or default
    p = Path(chosen).expanduser()
    return p if p.is_absolute() else home() / p


def database(db: str | Path | None = None) -> Path:
    """The database a notebook reads: `db`, else $STRANGLER_DB, else the project's data/demo/demo.duckdb."""
    return resolve(db, DB_ENV, DEMO_DB)


def demo_commands(folder: Path | None = None) -> list[str]:
    """The commands that build the demo database in the project folder (what `make report` runs)."""
    where = folder or home()
    if (where / "Makefile").is_file() and (where / "lib" / "strangler").is_dir():
        return [f"cd {shlex.quote(str(where))}", "make report"]
    demo_src = Path(__file__).resolve().parent / "demo"
    apps = " ".join(f"--app {a}" for a in DEMO_APPS)
    return [
        f"cd {shlex.quote(str(where))}",
        f"strangler demo --out {DEMO}",
        f"strangler report --db {DEMO_DB} --manifest {DEMO_MANIFEST} --logs {DEMO / 'logs'} {apps} "
        f"--source {shlex.quote(str(demo_src))} --out reports",
    ]


def notebook_db(db: str | Path | None = None) -> Reader:
    """The database a notebook reads, resolved (see `database`), checked, and opened once per call.

    A missing file stops the notebook with one line that says how to make it (`make report` for the demo).
    """
    path = database(db)
    if not path.is_file():
        if path == home() / DEMO_DB:
            how = " && ".join(demo_commands())
            raise StranglerError(f"the demo database {path} does not exist yet; make it with: {how}")
        raise StranglerError(
            f"database {path} does not exist; create it with `strangler ingest LOG --db {path}` "
            f"(or set {DB_ENV}, or `db` in the parameters cell)"
        )
    return Reader(path)


def first_batch(data: Reader) -> str:
    """The first batch of the manifest stored in the database; stops the notebook with one line when none is."""
    from strangler import review

    names = data(review.batch_names)
    if not names:
        raise StranglerError(
            f"{data.path} holds no batches: `strangler review --db {data.path} --manifest migration.toml` "
            "stores the manifest and reviews it"
        )
    return names[0]
