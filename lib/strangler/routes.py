"""Route inventory: the `routes` table, taken from the app itself (exact) or from its source (static).

The exact inventory imports the app in *its own* interpreter (`--python`), by running the stdlib-only script
`_inventory.py` there, so strangler never needs the app's dependencies and the app never sees strangler's. The
static inventory (`static_inventory.py`) reads the source and runs nothing. Both replace only the rows of the app
or directory they read, so a Flask app and its FastAPI successor live side by side in one table. The exact
inventory also stores the app's own Werkzeug converters (`route_converters`, which attribution uses and, for
converters with their own `to_python`, asks the app about through `run_match_script`) and the API versions of a
Cadwyn-versioned app (`route_versions`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from strangler.errors import StranglerError

if TYPE_CHECKING:  # pandas is imported where rows are stored: the router imports this module at start-up
    import pandas as pd

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
    "app_object",
    "assumes",
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
    converters: dict[str, int] = field(default_factory=dict)  # app -> rule variables with the app's own converter
    api_versions: dict[str, int] = field(default_factory=dict)  # app -> Cadwyn API versions
    app_objects: dict[str, int] = field(default_factory=dict)  # static: rules per app object of the tree
    environment: dict[str, str] = field(default_factory=dict)  # static: variables read -> what was taken
    assumed: dict[str, int] = field(default_factory=dict)  # static: variable -> rules computed with it

    @property
    def routes(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        lines = [f"{n:>5} {framework:<8} routes from {app}" for (app, framework), n in sorted(self.counts.items())]
        if not lines:
            lines.append("    0 routes found")
        lines += [f"{n:>5} API versions of {app} (see table route_versions)" for app, n in self.api_versions.items()]
        lines += [
            f"{n:>5} rule variables with {app}'s own converters (see table route_converters)"
            for app, n in self.converters.items()
        ]
        if len(self.app_objects) > 1:
            lines += [f"{n:>5} of them belong to app {obj}" for obj, n in sorted(self.app_objects.items())]
            lines.append("      (column app_object; --entry MODULE reads only what one program imports)")
        if self.unresolved:
            lines.append(f"{self.unresolved:>5} unresolved route definitions (see table routes_unresolved)")
        shown = sorted(self.environment.items(), key=lambda kv: (-self.assumed.get(kv[0], 0), kv[0]))
        for name, taken in shown[:8]:
            used = self.assumed.get(name, 0)
            where = f"{used} rules computed with it (column assumes)" if used else "no rule's path contains its value"
            lines.append(f"environment: {name} {taken}: {where}")
        if len(shown) > 8:
            lines.append(f"environment: {len(shown) - 8} more variables read, none in a rule's path")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _run_script(
    args: list[str], spec: str, python: str, cwd: str | Path | None, out: Path, timeout: float = 300
) -> object:
    """Run `_inventory.py ARGS` in `python` and return the JSON it wrote to `out`; its exit codes as errors."""
    try:
        proc = subprocess.run(
            [python, str(INVENTORY_SCRIPT), *args],
            cwd=cwd or os.getcwd(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except FileNotFoundError:
        raise StranglerError(f"--python {python}: no such interpreter") from None
    except subprocess.TimeoutExpired:
        raise StranglerError(
            f"{spec} did not answer within {timeout:.0f} s; does importing it start a server?"
        ) from None
    if proc.returncode == 3:
        raise StranglerError(
            f"importing {spec} with {python} failed; the app's traceback:\n{proc.stderr.rstrip()}\n{IMPORT_HINT}"
        )
    if proc.returncode == 4:
        raise StranglerError(
            f"{spec}: {proc.stderr.strip()}; name the app object (module:app) or its factory call (module:create_app())"
        )
    if proc.returncode != 0 or not out.exists():
        raise StranglerError(
            f"the route inventory of {spec} failed in {python} (exit {proc.returncode}):\n{proc.stderr.rstrip()}"
        )
    return json.loads(out.read_text())


def run_inventory_script(spec: str, python: str | None = None, cwd: str | Path | None = None) -> dict:
    """Run `_inventory.py` for one app spec in the given interpreter; returns its parsed JSON."""
    with tempfile.TemporaryDirectory(prefix="strangler-inv-") as tmp:
        out = Path(tmp) / "routes.json"
        data = _run_script([spec, str(out)], spec, python or sys.executable, cwd, out)
        assert isinstance(data, dict)
        return data


def run_match_script(
    spec: str, mount: str, pairs: list[tuple[str, str]], python: str, cwd: str | Path
) -> list[tuple[str, str | None]]:
    """(outcome, rule) for each (method, path), matched by the Flask app at `mount` of `spec` itself, in its own
    interpreter: one process for the whole batch."""
    with tempfile.TemporaryDirectory(prefix="strangler-match-") as tmp:
        src, out = Path(tmp) / "pairs.json", Path(tmp) / "matched.json"
        src.write_text(json.dumps([list(p) for p in pairs]))
        # the import, then ~12 k paths/s on a loaded 2-core machine (bench/README.md): allow ten times that
        timeout = 300 + len(pairs) / 1000
        data = _run_script(["--match", spec, mount, str(src), str(out)], spec, python, cwd, out, timeout)
        assert isinstance(data, list)
        return [(outcome, rule) for outcome, rule in data]


def store(con: duckdb.DuckDBPyConnection, app: str, inventory: str, rows: list[dict]) -> dict[tuple[str, str], int]:
    """Replace the routes of `app` with `rows`; returns the number of rows per (app, framework)."""
    import pandas as pd

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
    python = python or sys.executable
    where = str(Path(cwd or os.getcwd()).resolve())
    for spec in specs:
        data = run_inventory_script(spec, python=python, cwd=where)
        result.counts.update(store(con, spec, "app", data["routes"]))
        converters = [
            [spec, c["rule"], c["variable"], c["converter"], c["args"], c["regex"], c["part_isolating"]]
            + [c["weight"], c["checked"], c["mount"], python, where]
            for c in data.get("converters", [])
        ]
        versions = [[spec, v["method"], v["rule"], v["api_version"]] for v in data.get("versions", [])]
        con.execute("DELETE FROM route_converters WHERE app = ?", [spec])
        con.execute("DELETE FROM route_versions WHERE app = ?", [spec])
        if converters:
            con.executemany("INSERT INTO route_converters VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", converters)
            result.converters[spec] = len(converters)
        if versions:
            con.executemany("INSERT INTO route_versions VALUES (?, ?, ?, ?)", versions)
            result.api_versions[spec] = len({v[3] for v in versions})
        result.warnings += [f"{spec}: {w}" for w in data.get("warnings", [])]
        theirs, ours = data.get("werkzeug"), _werkzeug_version()
        if theirs and theirs != ours:
            result.warnings.append(
                f"{spec}: the app matches with Werkzeug {theirs}, attribution with Werkzeug {ours}; where they "
                f"differ (slash redirects, empty segments) attribution follows {ours}, except on paths the app's "
                "own converters decide"
            )
    return result


def _werkzeug_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("werkzeug")
    except PackageNotFoundError:
        return None


def inventory_source(
    con: duckdb.DuckDBPyConnection, directory: str | Path, entry: list[str] | None = None, conditional: bool = False
) -> InventoryResult:
    """Static inventory: read the Python files under `directory` (running nothing) and store their routes.

    Definitions it cannot resolve (a prefix from the environment, a blueprint never registered, routes made in a
    loop over unknown values) go to `routes_unresolved` with file and line, and for a route its method, the rule
    with each unknown part written {?} and the unknown expression; they replace earlier rows for files under the
    same directory. An environment variable is read as the app reads it at start-up (its value in this process's
    environment, else the code's default): the rules computed with one name it in column `assumes`, and the
    summary lists every variable read. With `entry`, only what a program importing those modules runs is read.
    With `conditional`, routes made under a condition not known statically are listed too, `assumes` naming it.
    """
    from strangler import static_inventory

    root = Path(directory)
    if not root.is_dir():
        raise StranglerError(f"--source {directory}: not a directory")
    root = root.resolve()
    try:
        found = static_inventory.scan(root, entry, conditional)
    except ValueError as exc:
        raise StranglerError(str(exc)) from None
    result = InventoryResult(environment=found.environment)
    result.counts.update(store(con, str(root), "source", found.routes))
    for row in found.routes:
        obj = row.get("app_object") or "?"
        result.app_objects[obj] = result.app_objects.get(obj, 0) + 1
        for name in found.environment:
            if row.get("assumes") and any(a.startswith((f"{name} ", f"{name}=")) for a in row["assumes"].split("; ")):
                result.assumed[name] = result.assumed.get(name, 0) + 1
    con.execute("DELETE FROM routes_unresolved WHERE starts_with(file, ?)", [str(root) + os.sep])
    if found.unresolved:
        con.executemany(
            "INSERT INTO routes_unresolved (file, line, reason, code, method, rule, unknown) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(u.file, u.line, u.reason, u.code, u.method, u.rule, u.unknown) for u in found.unresolved],
        )
    result.unresolved = len(found.unresolved)
    return result


# --- one route across the two frameworks ------------------------------------------------------------------------
# The template key and HEAD counting are defined here once, in a Python form (the router) and an SQL form (pairs,
# endpoints), written side by side; tests/test_owners.py checks that the two forms agree.

# Parameter syntax differs (`<int:trip_id>` vs `{trip_id:int}`); a template with every parameter written `{}`
# identifies a route across the two frameworks. Nothing else changes: a trailing slash is part of the URL (Flask
# `/trips/` and FastAPI `/trips` each redirect the other's form, so they are not twins). RE2 and Python's re both
# take the leftmost alternative, so the two forms replace the same spans.
_PARAM = re.compile(r"<[^<>]*>|\{[^{}]*\}")
TEMPLATE_SQL = r"regexp_replace(rule, '<[^<>]*>|\{[^{}]*\}', '{}', 'g')"


def template_key(rule: str) -> str:
    """A path template with every parameter written `{}`: `/a/<int:x>` and `/a/{x}` give the same key."""
    return _PARAM.sub("{}", rule)


def counted_method(method: str, head_declared: bool) -> str:
    """The method a request counts for on the route it matched: HEAD counts for GET (both frameworks answer it
    with the GET view) unless the route declares HEAD itself."""
    return "GET" if method == "HEAD" and not head_declared else method


def counted_method_sql(method: str, head_declared: str) -> str:
    """`counted_method` as an SQL expression over the column `method` and the boolean SQL `head_declared`."""
    return f"CASE WHEN {method} = 'HEAD' AND NOT ({head_declared}) THEN 'GET' ELSE {method} END"


def pairs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each Flask (method, rule) with its FastAPI twin: same method, same `template_key` (parameter syntax
    ignored).

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
    """What the static inventory could not resolve: file, line, reason, code, and for a route whose path is
    partly known its method, rule (unknown parts written {?}) and the unknown expression. A file written before
    those three columns existed, opened read-only, gives them empty."""
    columns = ["file", "line", "reason", "code", "method", "rule", "unknown"]
    have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE routes_unresolved)").fetchall()}
    select = ", ".join(c if c in have else f"NULL::VARCHAR AS {c}" for c in columns)
    return con.execute(f"SELECT {select} FROM routes_unresolved ORDER BY file, line, rule, method").df()


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
