"""migration.toml: which routes moved to FastAPI in which batch, and when.

```toml
[[batch]]
name = "trips-read"
cutover = 2026-03-02T09:00:00Z
routes = ["GET /trips/<int:trip_id>", "GET /trips"]
canary = 0.1        # optional: this fraction of the batch's requests goes to FastAPI
```

A batch with `ramp` is moved by `strangler pilot` instead of all at once (see `Ramp`; not with `canary`):

```toml
ramp = [0.01, 0.05, 0.25, 0.5, 1.0]   # fractions of clients on FastAPI, step by step, from the cutover on
step = "30m"                          # how long each step lasts before it is judged (90s, 30m, 2h)
min_requests = 1000                   # per backend per step; fewer: the step is extended (hold)
fail_5xx_points = 0.5                 # FastAPI's 5xx rate worse by this many percentage points fails a step
fail_p95_pct = 10                     # p95 worse by this many percent fails a step
fail_p99_pct = 10                     # p99 likewise
alpha = 0.005                         # at most this share of healthy batches is rolled back (over the whole ramp)
on_failure = "rollback"               # or "hold": stay at the current fraction until a person decides
```

Every error names the file and line, so a user can fix the manifest without reading code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from strangler.errors import StranglerError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ROUTE = re.compile(r"^(?P<method>[A-Z]+)\s+(?P<rule>/\S*)$")


RAMP_KEYS = (
    "ramp", "step", "min_requests", "fail_5xx_points", "fail_p95_pct", "fail_p99_pct", "alpha", "on_failure"
)  # fmt: skip
ON_FAILURE = ("rollback", "hold")
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Ramp:
    """How the pilot moves a batch: the fractions of clients sent to FastAPI step by step, and the judge's rules.

    A step fails when FastAPI is worse than Flask on the batch's routes over the step by at least `fail_*`, with
    the 95 % interval of the difference clear of zero and the change significant after Holm's correction at
    `alpha` over the whole ramp (the judge's family-wise level: the chance that a healthy batch is rolled back)."""

    fractions: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 1.0)
    step_seconds: float = 1800.0
    min_requests: int = 1000  # per backend per step
    fail_5xx_points: float = 0.5  # percentage points of 5xx rate
    fail_p95_pct: float = 10.0
    fail_p99_pct: float = 10.0
    alpha: float = 0.005  # false rollbacks of healthy batches, at most, over the whole ramp
    on_failure: str = "rollback"


@dataclass(frozen=True)
class Batch:
    name: str
    cutover: dt.datetime  # timezone-aware, UTC
    routes: tuple[tuple[str, str], ...]  # (method, rule)
    canary: float | None = None
    position: int = 1
    line: int = 0  # line of its [[batch]] header in the file
    ramp: Ramp | None = None  # set: strangler pilot moves the batch (manifest keys in RAMP_KEYS)


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h' (or '500ms') as seconds; ValueError for anything else or a zero length."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m or float(m["n"]) <= 0:
        raise ValueError(text)
    return float(m["n"]) * _UNIT_SECONDS[m["unit"]]


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_ramp(item: dict, text: str, filename: str, line: int, name: str) -> Ramp | None:
    """The batch's Ramp from its ramp keys, or None without `ramp`; StranglerError naming the line of a bad key."""
    given = [k for k in RAMP_KEYS if k in item]
    if not given:
        return None

    def fail(key: str, must: str) -> StranglerError:
        return StranglerError(f"{filename}:{_key_line(text, key, line) or line}: {key} of batch {name!r} {must}")

    if "ramp" not in item:
        raise fail(given[0], "needs ramp = [0.01, 0.05, 0.25, 0.5, 1.0] beside it")
    if "canary" in item:
        raise fail("canary", "cannot be set with ramp: the pilot sets the fraction")
    fr = item["ramp"]
    if (
        not isinstance(fr, list)
        or not fr
        or not all(_number(f) and 0 < f <= 1 for f in fr)
        or any(b <= a for a, b in zip(fr, fr[1:]))
    ):
        raise fail("ramp", "must be increasing fractions above 0 and at most 1, e.g. [0.01, 0.05, 0.25, 0.5, 1.0]")
    kw: dict = {"fractions": tuple(float(f) for f in fr)}
    if "step" in item:
        try:
            kw["step_seconds"] = parse_duration(item["step"])
        except ValueError:
            raise fail("step", 'must be a duration such as "90s", "30m" or "2h"') from None
    if "min_requests" in item:
        v = item["min_requests"]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise fail("min_requests", "must be a whole number of at least 1 (requests per backend per step)")
        kw["min_requests"] = v
    for key, top in (("fail_5xx_points", 100.0), ("fail_p95_pct", None), ("fail_p99_pct", None)):
        if key in item:
            v = item[key]
            if not _number(v) or v <= 0 or (top is not None and v > top):
                raise fail(key, "must be a number above 0" + (f" and at most {top:g}" if top else ""))
            kw[key] = float(v)
    if "alpha" in item:
        v = item["alpha"]
        if not _number(v) or not 0 < v <= 0.2:
            raise fail("alpha", "must be a number above 0 and at most 0.2 (the chance of rolling back a healthy batch)")
        kw["alpha"] = float(v)
    if "on_failure" in item:
        if item["on_failure"] not in ON_FAILURE:
            raise fail("on_failure", 'must be "rollback" or "hold"')
        kw["on_failure"] = item["on_failure"]
    return dataclasses.replace(Ramp(), **kw)


def _batch_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[batch]]")]


def _find_line(text: str, start: int, needle: str) -> int:
    """First line at or after `start` that contains `needle` (for error messages)."""
    lines = text.splitlines()
    for i in range(max(start, 1), len(lines) + 1):
        if needle in lines[i - 1]:
            return i
    return start


def _key_line(text: str, key: str, start: int = 1) -> int:
    """Line of the first `key = ...`, `[key]` or `[[key]]` at or after line `start`; 0 if none is found."""
    k = re.escape(key)
    pattern = re.compile(rf"^\s*(\[\[?\s*{k}\s*\]|{k}\s*=)")
    lines = text.splitlines()
    return next((i for i in range(max(start, 1), len(lines) + 1) if pattern.match(lines[i - 1])), 0)


def parse(text: str, filename: str = "migration.toml") -> list[Batch]:
    """Parse manifest text into batches, in file order; raises StranglerError naming the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StranglerError(f"{filename}: not valid TOML: {exc}") from None
    unknown = set(data) - {"batch"}
    if unknown:
        key = sorted(unknown)[0]
        raise StranglerError(
            f"{filename}:{_find_line(text, 1, key)}: unknown top-level key {key!r}; "
            "a manifest holds only [[batch]] tables"
        )
    raw_batches = data.get("batch", [])
    if not isinstance(raw_batches, list) or not all(isinstance(item, dict) for item in raw_batches):
        bline = _key_line(text, "batch")
        where = f"{filename}:{bline}" if bline else filename
        raise StranglerError(f"{where}: 'batch' must be an array of tables: write [[batch]]")
    headers = _batch_lines(text)
    batches: list[Batch] = []
    seen_names: dict[str, int] = {}
    seen_routes: dict[tuple[str, str], str] = {}
    for position, item in enumerate(raw_batches, 1):
        line = headers[position - 1] if position - 1 < len(headers) else 0
        where = f"{filename}:{line}"
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise StranglerError(f"{where}: batch #{position} needs a name = \"...\"")
        if name in seen_names:
            raise StranglerError(f"{where}: batch name {name!r} is used twice (first at line {seen_names[name]})")
        seen_names[name] = line
        cutover = item.get("cutover")
        cline = _find_line(text, line, "cutover")
        if isinstance(cutover, str):
            try:
                cutover = dt.datetime.fromisoformat(cutover.replace("Z", "+00:00"))
            except ValueError:
                raise StranglerError(
                    f"{filename}:{cline}: cutover {cutover!r} is not a date-time; "
                    "write e.g. cutover = 2026-03-02T09:00:00Z"
                ) from None
        if isinstance(cutover, dt.date) and not isinstance(cutover, dt.datetime):
            cutover = dt.datetime.combine(cutover, dt.time(), dt.UTC)
        if not isinstance(cutover, dt.datetime):
            raise StranglerError(f"{where}: batch {name!r} needs cutover = 2026-03-02T09:00:00Z")
        if cutover.tzinfo is None:
            raise StranglerError(
                f"{filename}:{cline}: cutover of batch {name!r} has no time zone; "
                "add Z for UTC or an offset such as +01:00"
            )
        cutover = cutover.astimezone(dt.UTC)
        routes = item.get("routes")
        if not isinstance(routes, list) or not routes:
            raise StranglerError(f"{where}: batch {name!r} needs routes = [\"GET /path\", ...]")
        parsed: list[tuple[str, str]] = []
        for r in routes:
            rline = _find_line(text, line, str(r)) if isinstance(r, str) else line
            m = _ROUTE.match(r.strip()) if isinstance(r, str) else None
            if not m or m["method"] not in METHODS:
                raise StranglerError(
                    f"{filename}:{rline}: route {r!r} in batch {name!r} must read "
                    f"\"METHOD /rule\" with METHOD one of {', '.join(METHODS)}"
                )
            route_key = (m["method"], m["rule"])
            if route_key in seen_routes:
                raise StranglerError(f"{filename}:{rline}: route {r!r} is in batch {seen_routes[route_key]!r} already")
            seen_routes[route_key] = name
            parsed.append(route_key)
        canary = item.get("canary")
        if canary is not None and (
            isinstance(canary, bool) or not isinstance(canary, (int, float)) or not 0 <= canary <= 1
        ):
            raise StranglerError(
                f"{filename}:{_find_line(text, line, 'canary')}: canary of batch {name!r} must be a number from 0 to 1"
            )
        ramp = _parse_ramp(item, text, filename, line, name)
        batches.append(
            Batch(name, cutover, tuple(parsed), None if canary is None else float(canary), position, line, ramp)
        )
    return batches


def load(path: str | Path) -> list[Batch]:
    """Read and parse a manifest file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StranglerError(f"manifest {p} does not exist") from None
    except UnicodeDecodeError as exc:
        raise StranglerError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse(text, str(p))


def store(con: duckdb.DuckDBPyConnection, batches: list[Batch]) -> int:
    """Replace the `batches` table with these batches; returns the number of (batch, route) rows."""
    rows = [(b.name, m, r, b.cutover, b.canary, b.position) for b in batches for m, r in b.routes]
    con.execute("DELETE FROM batches")
    if rows:
        con.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def apply(con: duckdb.DuckDBPyConnection, path: str | Path) -> list[Batch]:
    """Load the manifest at `path` and store it in the `batches` table (see `load`, `store`); returns its batches."""
    batches = load(path)
    store(con, batches)
    return batches


# --- writing ------------------------------------------------------------------------------------------------

_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_str(text: str) -> str:
    """`text` as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _cutover_text(cutover: dt.datetime) -> str:
    if cutover.tzinfo is None:
        cutover = cutover.replace(tzinfo=dt.UTC)
    return cutover.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def batch_toml(
    name: str,
    cutover: dt.datetime,
    routes: Iterable[str | tuple[str, str]],
    canary: float | None = None,
    comments: Iterable[str] = (),
    note: str | None = None,
    ramp: Ramp | None = None,
) -> list[str]:
    """The lines of one `[[batch]]` table, ending with a blank line; join them with newlines.

    `cutover` is written in UTC (a naive one is taken as UTC); `routes` are "METHOD /rule"
    strings or (method, rule) pairs; `comments` become `# ...` lines before `routes`; `note` is a comment at the
    end of the cutover line; `ramp` writes the pilot's keys.
    """
    lines = [
        "[[batch]]",
        f"name = {toml_str(name)}",
        f"cutover = {_cutover_text(cutover)}" + (f"  # {note}" if note else ""),
    ]
    if canary is not None:
        lines.append(f"canary = {canary:g}")
    if ramp is not None:
        lines += [
            "ramp = [" + ", ".join(f"{f:g}" for f in ramp.fractions) + "]",
            f'step = "{ramp.step_seconds:g}s"',
            f"min_requests = {ramp.min_requests}",
            f"fail_5xx_points = {ramp.fail_5xx_points:g}",
            f"fail_p95_pct = {ramp.fail_p95_pct:g}",
            f"fail_p99_pct = {ramp.fail_p99_pct:g}",
            f"alpha = {ramp.alpha:g}",
            f"on_failure = {toml_str(ramp.on_failure)}",
        ]
    lines += [f"# {c}" for c in comments]
    quoted = (toml_str(r if isinstance(r, str) else f"{r[0]} {r[1]}") for r in routes)
    lines += ["routes = [" + ", ".join(quoted) + "]", ""]
    return lines
