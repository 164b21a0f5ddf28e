"""Route inventory: the `routes` table, taken from the app itself (exact) or from its source (static).

The exact inventory imports the app in *its own* interpreter (`--python`), by running the stdlib-only script
`_inventory.py` there, so strangler never needs the app's dependencies and the app never sees strangler's. The
static inventory (`static_inventory.py`) reads the source and runs nothing. Both replace only the rows of the app
or directory they read, so a Flask app and its FastAPI successor live side by side in one table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from strangler.errors import StranglerError

INVENTORY_SCRIPT = Path(__file__).with_name("_inventory.py")
COLUMNS = [
    "framework",
    "method",
    "rule",
    "endpoint",
    "file",
    "line",
    "end_line",
    "blueprint",
    "inventory",
    "app",
    "position",
]
IMPORT_HINT = (
    "hint: the app is imported as `flask run` would, from the current directory; set the environment "
    "variables and config files it needs, or pass --python with the interpreter of its virtualenv"
)


@dataclass
class InventoryResult:
    """What an inventory run stored: routes per app and framework, plus what it could not resolve."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (app, framework) -> rows
    unresolved: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def routes(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        lines = [f"{n:>5} {framework:<8} routes from {app}" for (app, framework), n in sorted(self.counts.items())]
        if not lines:
            lines.append("    0 routes found")
        if self.unresolved:
            lines.append(f"{self.unresolved:>5} unresolved route definitions (see table routes_unresolved)")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def run_inventory_script(spec: str, python: str | None = None, cwd: str | Path | None = None) -> dict:
    """Run `_inventory.py` for one app spec in the given interpreter; returns its parsed JSON."""
    python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="strangler-inv-") as tmp:
        out = Path(tmp) / "routes.json"
        try:
            proc = subprocess.run(
                [python, str(INVENTORY_SCRIPT), spec, str(out)],
                cwd=cwd or os.getcwd(),
                capture_output=True,
                text=True,
                timeout=300,
            )
        except FileNotFoundError:
            raise StranglerError(f"--python {python}: no such interpreter") from None
        except subprocess.TimeoutExpired:
            raise StranglerError(f"importing {spec} took more than 300 s; does importing it start a server?") from None
        if proc.returncode == 3:
            raise StranglerError(
                f"importing {spec} with {python} failed; the app's traceback:\n{proc.stderr.rstrip()}\n{IMPORT_HINT}"
            )
        if proc.returncode == 4:
            raise StranglerError(
                f"{spec}: {proc.stderr.strip()}; name the app object (module:app) or its "
                "factory call (module:create_app())"
            )
        if proc.returncode != 0 or not out.exists():
            raise StranglerError(
                f"the route inventory of {spec} failed in {python} (exit {proc.returncode}):\n{proc.stderr.rstrip()}"
            )
        return json.loads(out.read_text())


def store(con: duckdb.DuckDBPyConnection, app: str, inventory: str, rows: list[dict]) -> dict[tuple[str, str], int]:
    """Replace the routes of `app` with `rows`; returns the number of rows per (app, framework)."""
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("inventory", "app")])
    frame["inventory"] = inventory
    frame["app"] = app
    frame = frame.astype({"line": "Int64", "end_line": "Int64", "position": "Int64"})
    con.execute("DELETE FROM routes WHERE app = ?", [app])
    if len(frame):
        con.register("_new_routes", frame)
        try:
            con.execute("INSERT INTO routes BY NAME SELECT * FROM _new_routes")
        finally:
            con.unregister("_new_routes")
    counts = frame.groupby("framework").size().to_dict() if len(frame) else {}
    return {(app, fw): int(n) for fw, n in counts.items()}


def inventory_apps(
    con: duckdb.DuckDBPyConnection, specs: list[str], python: str | None = None, cwd: str | Path | None = None
) -> InventoryResult:
    """Exact inventory: import each app (MODULE:ATTR or MODULE:factory()) in `python` and store its routes."""
    result = InventoryResult()
    for spec in specs:
        data = run_inventory_script(spec, python=python, cwd=cwd)
        result.counts.update(store(con, spec, "app", data["routes"]))
        result.warnings += [f"{spec}: {w}" for w in data.get("warnings", [])]
    return result


def inventory_source(con: duckdb.DuckDBPyConnection, directory: str | Path) -> InventoryResult:
    """Static inventory: read the Python files under `directory` (running nothing) and store their routes.

    Definitions it cannot resolve (a prefix read from config, routes made in a loop) go to `routes_unresolved`
    with file and line, replacing earlier rows for files under the same directory.
    """
    from strangler import static_inventory

    root = Path(directory)
    if not root.is_dir():
        raise StranglerError(f"--source {directory}: not a directory")
    root = root.resolve()
    found = static_inventory.scan(root)
    result = InventoryResult()
    result.counts.update(store(con, str(root), "source", found.routes))
    con.execute("DELETE FROM routes_unresolved WHERE starts_with(file, ?)", [str(root) + os.sep])
    if found.unresolved:
        con.executemany(
            "INSERT INTO routes_unresolved VALUES (?, ?, ?, ?)",
            [(u.file, u.line, u.reason, u.code) for u in found.unresolved],
        )
    result.unresolved = len(found.unresolved)
    return result


# Parameter syntax differs (`<int:trip_id>` vs `{trip_id:int}`); a template with every parameter written `{}`
# identifies a route across the two frameworks.
TEMPLATE_SQL = r"""regexp_replace(regexp_replace(regexp_replace(rule, '<[^<>]*>', '{}', 'g'),
                  '\{[^{}]*\}', '{}', 'g'), '(.)/$', '\1')"""


def pairs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each Flask (method, rule) with its FastAPI twin: same method, same template modulo parameter syntax
    and a trailing slash.

    Columns: method, template, flask_rule, fastapi_rule (NULL when the route has not been ported, and a row with
    a NULL flask_rule for FastAPI routes that have no Flask original).
    """
    return con.execute(f"""
        WITH r AS (SELECT DISTINCT framework, method, rule, {TEMPLATE_SQL} AS template FROM routes),
        f AS (SELECT * FROM r WHERE framework = 'flask'),
        a AS (SELECT * FROM r WHERE framework = 'fastapi')
        SELECT coalesce(f.method, a.method) AS method, coalesce(f.template, a.template) AS template,
               f.rule AS flask_rule, a.rule AS fastapi_rule
        FROM f FULL OUTER JOIN a ON f.method = a.method AND f.template = a.template
        ORDER BY template, method, flask_rule, fastapi_rule
    """).df()


def unresolved(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Route definitions the static inventory could not resolve: file, line, reason, code."""
    return con.execute("SELECT file, line, reason, code FROM routes_unresolved ORDER BY file, line").df()


def inventory_diff(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Where the exact and the static inventory disagree: (framework, method, rule) found by only one of them.

    Columns: framework, method, rule, in_app (the imported app has it), in_source (the source reading found it).
    Empty when they agree, or when only one kind of inventory was run.
    """
    return con.execute("""
        WITH k AS (SELECT framework, method, rule, bool_or(inventory = 'app') AS in_app,
                          bool_or(inventory = 'source') AS in_source FROM routes GROUP BY ALL)
        SELECT * FROM k
        WHERE in_app <> in_source AND (SELECT count(DISTINCT inventory) FROM routes) = 2
        ORDER BY framework, rule, method
    """).df()
