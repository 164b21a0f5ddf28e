"""Attribution: set `requests.route` to the rule the framework itself would pick for (method, path).

Matching follows Werkzeug's own `MapAdapter.match` for Flask rules and Starlette's router for FastAPI rules; a
hand-written regex would disagree with them (catch-alls, converter weights, registration order). To stay fast,
DuckDB collapses paths to *shapes* (ASCII-numeric, lowercase-uuid and lowercase-hex segments become `{n}`,
`{uuid}`, `{hex}`), Python matches one representative path per distinct (method, shape), and DuckDB joins the
answer back onto every request.

A shape is only safe if every path it stands for matches the same way. A rule can tell two members of a class
apart (`<int(min=1):id>`, `<string(length=2):cc>`, a literal segment `2024`, `any(eu, '12')`, a custom
converter): then that class is not collapsed at that segment position (or at all positions after a path
converter), and such paths are matched one by one. This keeps the result exactly equal to Werkzeug's.

`requests.route` holds the Flask rule when a Flask rule matches and the FastAPI rule only when no Flask rule does;
`route_framework` says which. `requests.match` is 'matched', 'method_not_allowed' (the path matches a rule, the
method does not: a 405), 'redirect' (the framework would answer with a slash redirect) or 'unmatched'.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

import duckdb
import pandas as pd

from strangler import routes as routes_mod

# token -> (regular expression a whole segment must match, characters its members are made of)
CLASSES: dict[str, tuple[str, str]] = {
    "n": (r"[0-9]+", "0123456789"),
    "uuid": (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "0123456789abcdef-"),
    "hex": (r"[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*|[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*", "0123456789abcdef"),
}
HEX_MIN_LEN = 8

_FLASK_PART = re.compile(
    r"<(?:(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?(?P<var>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
_STARLETTE_PART = re.compile(r"\{(?P<var>[a-zA-Z_][a-zA-Z0-9_]*)(?::(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*))?\}")
_SAFE_CONVERTERS = {
    "flask": {None, "default", "string", "int", "float", "uuid", "path", "any"},
    "fastapi": {None, "str", "int", "float", "uuid", "path"},
}


def _is_member(cls: str, text: str) -> bool:
    pattern = CLASSES[cls][0]
    if cls == "hex" and len(text) < HEX_MIN_LEN:
        return False
    return re.fullmatch(pattern, text) is not None


def _split_segments(rule: str) -> list[str]:
    """Split a rule on '/' outside its <...> or {...} parameters."""
    segments, depth, current = [], 0, []
    for ch in rule:
        if ch in "<{":
            depth += 1
        elif ch in ">}":
            depth = max(depth - 1, 0)
        if ch == "/" and depth == 0:
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    return segments


def _segment_unsafe(framework: str, segment: str, cls: str) -> bool:
    """Can this rule segment accept some members of `cls` and reject others?"""
    part_re = _FLASK_PART if framework == "flask" else _STARLETTE_PART
    params = list(part_re.finditer(segment))
    static = part_re.sub("", segment)
    if not params:
        return _is_member(cls, segment)
    alphabet = CLASSES[cls][1]
    if static and any(ch not in alphabet for ch in static):
        return False  # the literal text can never occur in a member of the class
    if len(params) > 1 or static:
        return True
    conv, args = params[0].group("conv"), params[0].groupdict().get("args")
    if conv not in _SAFE_CONVERTERS[framework]:
        return True
    if conv == "any":
        items = [i.strip().strip("'\"") for i in (args or "").split(",")]
        return any(_is_member(cls, i) or i == "" for i in items)
    if conv in ("int", "float"):  # only digits can match them; without arguments they take every digit string
        return cls == "n" and bool(args and args.strip())
    return bool(args and args.strip())  # string(length=..): any class


def _guard_regex(framework: str, segments: list[str]) -> str:
    """A regex every path the rule could match (or redirect to) matches: each parameter, and each literal segment
    that belongs to a class, becomes a wildcard; the other literal segments stay (they are never collapsed)."""
    part_re = _FLASK_PART if framework == "flask" else _STARLETTE_PART
    out = []
    for segment in segments:
        params = list(part_re.finditer(segment))
        if any(m.group("conv") == "path" for m in params):
            out.append(".*")
        elif params or any(_is_member(c, segment) for c in CLASSES):
            out.append("[^/]*")
        else:
            out.append(re.escape(segment))
    return "^" + "/".join(out).rstrip("/") + "/?$"


@dataclass(frozen=True)
class Guard:
    """Do not collapse class `cls` at segment `index` (or at every index from it on, if `onwards`) in paths
    matching `regex`: some rule there tells members of the class apart."""

    cls: str
    index: int
    onwards: bool
    regex: str


def guards(rules: list[tuple[str, str]]) -> list[Guard]:
    """The guards of a rule set, one per (class, position) with the regexes of its rules joined."""
    found: dict[tuple[str, int, bool], list[str]] = {}
    for framework, rule in rules:
        part_re = _FLASK_PART if framework == "flask" else _STARLETTE_PART
        segments = _split_segments(rule)
        regex = _guard_regex(framework, segments)
        shifted = False
        for index, segment in enumerate(segments, 1):
            for cls in CLASSES:
                if _segment_unsafe(framework, segment, cls):
                    regexes = found.setdefault((cls, index, shifted), [])
                    if regex not in regexes:
                        regexes.append(regex)
            if any(m.group("conv") == "path" for m in part_re.finditer(segment)):
                shifted = True  # a path converter spans segments: later positions are lower bounds
    return [
        Guard(cls, index, onwards, "|".join(f"(?:{r})" for r in regexes))
        for (cls, index, onwards), regexes in sorted(found.items())
    ]


def _hex_anywhere() -> str:
    """RE2 has no lookahead: a lowercase-hex segment of 8+ characters with a digit somewhere, spelled out by
    the digit's position (all-digit segments are taken by {n} before this runs)."""
    return "|".join([f"[0-9a-f]{{{k}}}[0-9][0-9a-f]{{{7 - k},}}" for k in range(7)] + ["[0-9a-f]{7,}[0-9][0-9a-f]*"])


def shape_sql(rule_guards: list[Guard]) -> tuple[str, list]:
    """SELECT list items over `path` giving `shape`, and their parameters (the guard regexes).

    Most paths match no guard: their segments are collapsed by whole-string regex replacements, one per class. The few paths a guard matches are split into segments and each
    one collapsed unless its class is guarded at its position. Paths with an empty segment ('//') or without a
    leading '/' keep every segment. A literal '{' is written %7B so no literal segment looks like a token.
    """
    params = [g.regex for g in rule_guards]
    flags = "[" + ", ".join("regexp_matches(path, ?)" for _ in rule_guards) + "]::BOOLEAN[]"
    cases = []
    for cls, (pattern, _) in CLASSES.items():
        blocked = [
            f"(i {'>=' if g.onwards else '='} {g.index} AND g[{k}])"
            for k, g in enumerate(rule_guards, 1)
            if g.cls == cls
        ]
        length = f" AND length(s) >= {HEX_MIN_LEN}" if cls == "hex" else ""
        guard = f" AND NOT ({' OR '.join(blocked)})" if blocked else ""
        cases.append(f"WHEN regexp_full_match(s, '{pattern}'){length}{guard} THEN '{{{cls}}}'")
    by_segment = (
        "array_to_string(list_transform(string_split(path, '/'), "
        f"lambda s, i: CASE {' '.join(cases)} ELSE replace(s, '{{', '%7B') END), '/')"
    )
    # Each slash doubled, so every segment has a slash of its own on both sides and one pass per class finds
    # neighbouring segments too ('/1/2' -> '//1//2/'); paths with '//' never get here.
    fast = "replace(replace(path, '{', '%7B'), '/', '//') || '/'"
    for cls, pattern in (("n", CLASSES["n"][0]), ("uuid", CLASSES["uuid"][0]), ("hex", _hex_anywhere())):
        fast = f"regexp_replace({fast}, '/(?:{pattern})/', '/{{{cls}}}/', 'g')"
    fast = f"replace(left({fast}, -1), '//', '/')"
    guarded = " OR ".join(f"g[{k}]" for k in range(1, len(rule_guards) + 1)) or "FALSE"
    # every member of every class has a digit or a dash: paths with neither are their own shape
    shape = (
        "CASE WHEN NOT starts_with(path, '/') OR contains(path, '//') OR NOT regexp_matches(path, '[0-9-]') "
        f"THEN replace(path, '{{', '%7B') WHEN {guarded} THEN {by_segment} ELSE {fast} END"
    )
    return f"path, {shape} AS shape FROM (SELECT path, {flags} AS g FROM", params


# --- the frameworks' own matchers -------------------------------------------------------------------------------


@dataclass
class Matchers:
    """Match one (method, path) against Flask rules first, then FastAPI rules."""

    flask: Callable[[str, str], tuple[str, str | None]] | None
    fastapi: Callable[[str, str], tuple[str, str | None]] | None

    def match(self, method: str, path: str) -> tuple[str, str | None, str | None]:
        """(match, rule, framework) for a raw (percent-encoded) logged path."""
        decoded = unquote(path, errors="surrogateescape") if "%" in path else path
        outcomes = []
        for framework, matcher in (("flask", self.flask), ("fastapi", self.fastapi)):
            if matcher is None:
                continue
            outcome, rule = matcher(method, decoded)
            if outcome == "matched":
                return outcome, rule, framework
            outcomes.append(outcome)
        for outcome in ("method_not_allowed", "redirect"):
            if outcome in outcomes:
                return outcome, None, None
        return "unmatched", None, None


Matcher = Callable[[str, str], tuple[str, "str | None"]]


def build_flask(rows: pd.DataFrame, warnings: list[str]) -> Matcher:
    """A Werkzeug Map of the Flask rules, configured as Flask configures its url_map."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import BaseConverter, Map, RequestRedirect, Rule

    grouped = rows.groupby("rule", sort=False)["method"].agg(lambda m: sorted(set(m)))
    url_map = Map(strict_slashes=True, merge_slashes=True)
    known = set(url_map.converters)
    for rule, methods in grouped.items():
        for m in _FLASK_PART.finditer(rule):
            conv = m.group("conv")
            if conv and conv not in known:
                # An app's own converter: its regex is unknown here; match it like a plain string segment.
                url_map.converters[conv] = type(f"Unknown_{conv}", (BaseConverter,), {})
                known.add(conv)
                warnings.append(f"custom converter {conv!r} matched as a plain segment")
        url_map.add(Rule(rule, endpoint=rule, methods=sorted(set(methods) | {"OPTIONS"})))
    adapter = url_map.bind("localhost")

    def match(method: str, path: str) -> tuple[str, str | None]:
        try:
            endpoint, _ = adapter.match(path, method=method)
            return "matched", endpoint
        except RequestRedirect:
            return "redirect", None
        except MethodNotAllowed:
            return "method_not_allowed", None
        except NotFound:
            return "unmatched", None

    return match


FASTAPI_DOCS = {"openapi", "swagger_ui_html", "swagger_ui_redirect", "redoc_html"}


async def _endpoint() -> None:  # the Starlette routes below are never called, only matched
    return None


def build_fastapi(rows: pd.DataFrame, warnings: list[str]) -> Matcher:
    """Starlette routes in the app's order, matched the way starlette.routing.Router does."""
    from starlette.routing import Match, Route

    routes = []
    for rule, method, endpoint in rows[["rule", "method", "endpoint"]].itertuples(index=False):
        try:
            route = Route(rule, endpoint=_endpoint, methods=[method])
        except (AssertionError, KeyError, ValueError):
            plain = _STARLETTE_PART.sub(lambda m: "{" + m.group("var") + "}", rule)
            warnings.append(f"FastAPI rule {rule!r} has an unknown convertor; matched as {plain!r}")
            route = Route(plain, endpoint=_endpoint, methods=[method])
        # Exactly the declared method: APIRoute adds no HEAD; FastAPI's own docs pages are plain Routes that do.
        route.methods = {method, "HEAD"} if method == "GET" and endpoint in FASTAPI_DOCS else {method}
        routes.append((rule, route))

    def scope(method: str, path: str) -> dict:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    def match(method: str, path: str) -> tuple[str, str | None]:
        partial = None
        s = scope(method, path)
        for rule, route in routes:
            m, _ = route.matches(s)
            if m == Match.FULL:
                return "matched", rule
            if m == Match.PARTIAL and partial is None:
                partial = rule
        if partial is not None:
            return "method_not_allowed", None
        if path != "/":
            other = scope(method, path.rstrip("/") if path.endswith("/") else path + "/")
            if any(route.matches(other)[0] != Match.NONE for _, route in routes):
                return "redirect", None
        return "unmatched", None

    return match


# One row per (framework, method, rule) when several inventories or apps hold it: the exact inventory ('app')
# wins over the static one, then the first app by name, then the framework's matching order. Every query that
# reads one route's endpoint, file or line takes it from this row.
ROUTE_PER_RULE = """
    SELECT DISTINCT ON (framework, method, rule) * FROM routes
    ORDER BY framework, method, rule, inventory = 'app' DESC, app, position"""


def route_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Distinct (framework, method, rule) in matching order; exact inventory rows win over static ones."""
    return con.execute(f"""
        SELECT framework, method, rule, endpoint FROM ({ROUTE_PER_RULE})
        ORDER BY inventory = 'app' DESC, app, position NULLS LAST, rule, method
    """).df()


def matchers(rows: pd.DataFrame, warnings: list[str] | None = None) -> Matchers:
    """The Flask and FastAPI matchers for `route_rows` (the rules in the `routes` table)."""
    warnings = [] if warnings is None else warnings
    flask_rows, fastapi_rows = rows[rows.framework == "flask"], rows[rows.framework == "fastapi"]
    return Matchers(
        build_flask(flask_rows, warnings) if len(flask_rows) else None,
        build_fastapi(fastapi_rows, warnings) if len(fastapi_rows) else None,
    )


# --- attribution ------------------------------------------------------------------------------------------------


@dataclass
class AttributionResult:
    """Counts of one attribution run."""

    requests: int = 0
    shapes: int = 0
    rules: int = 0
    by_match: dict[str, int] = field(default_factory=dict)
    by_framework: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        total = max(self.requests, 1)
        lines = [
            f"attributed {self.requests:,} requests ({self.shapes:,} distinct method+shape) "
            f"against {self.rules} rules in {self.seconds:.1f} s"
        ]
        for key in ("matched", "method_not_allowed", "redirect", "unmatched"):
            n = self.by_match.get(key, 0)
            lines.append(f"  {key:<19} {n:>12,}  {100 * n / total:5.1f} %")
        for fw, n in sorted(self.by_framework.items()):
            lines.append(f"  matched a {fw:<9} rule {n:>8,}")
        if not self.rules:
            lines.append("  no routes: run `strangler routes` first")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def attribute(con: duckdb.DuckDBPyConnection) -> AttributionResult:
    """Set `route`, `route_framework` and `match` on every request from the current `routes` table, and
    rebuild `path_shapes` (a shape belongs to a path, so it is stored once per distinct path, not per request)."""
    started = time.perf_counter()
    result = AttributionResult()
    rows = route_rows(con)
    result.rules = len(rows)
    match_one = matchers(rows, result.warnings)
    rule_guards = guards(list(rows[["framework", "rule"]].drop_duplicates().itertuples(index=False, name=None)))
    select, params = shape_sql(rule_guards)
    # one pass over requests for the distinct (method, path) pairs; shapes for their distinct paths
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _pairs AS SELECT DISTINCT method, path FROM requests "
        "WHERE method IS NOT NULL AND path IS NOT NULL"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _shapes AS SELECT {select} (SELECT DISTINCT path FROM _pairs))", params)
    keys = con.execute("""SELECT q.method, s.shape, min(q.path) AS example
                          FROM _pairs q JOIN _shapes s USING (path) GROUP BY ALL""").df()
    result.shapes = len(keys)
    outcomes = [match_one.match(str(m).upper(), p) for m, p in zip(keys["method"], keys["example"])]
    keys["match"] = [o[0] for o in outcomes]
    keys["route"] = [o[1] for o in outcomes]
    keys["route_framework"] = [o[2] for o in outcomes]
    keys = keys.astype({"route": "string", "route_framework": "string", "match": "string"})
    con.register("_matched", keys[["method", "shape", "match", "route", "route_framework"]])
    try:
        con.execute("""CREATE OR REPLACE TEMP TABLE _attr AS
                       SELECT q.method, q.path, m.route, m.route_framework, m.match
                       FROM _pairs q JOIN _shapes s USING (path) JOIN _matched m USING (method, shape)""")
        # An UPDATE joined to this small table beats rewriting the table (measured: 14 s against 25 s for a
        # plain copy of 10 M rows on the loaded CI machine), and keeps the table, its order and its constraints.
        # Writing a fourth column (the shape) into every row cost 1.5 s of 10 s at 10 M requests.
        con.execute("""UPDATE requests SET route = a.route, route_framework = a.route_framework, match = a.match
                       FROM _attr a WHERE requests.method = a.method AND requests.path = a.path""")
        con.execute("""UPDATE requests SET route = NULL, route_framework = NULL, match = 'unmatched'
                       WHERE path IS NULL OR method IS NULL""")
        con.execute("DELETE FROM path_shapes")
        con.execute("INSERT INTO path_shapes SELECT path, shape FROM _shapes")
    finally:
        con.unregister("_matched")
        for table in ("_shapes", "_pairs", "_attr"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    counts = con.execute("SELECT match, route_framework, count(*) FROM requests GROUP BY ALL").fetchall()
    for match, framework, n in counts:
        result.by_match[match] = result.by_match.get(match, 0) + n
        result.requests += n
        if framework:
            result.by_framework[framework] = result.by_framework.get(framework, 0) + n
    result.seconds = time.perf_counter() - started
    return result


def pending(con: duckdb.DuckDBPyConnection) -> int:
    """Requests not attributed yet (ingested after the last `attribute` run)."""
    return con.execute("SELECT count(*) FROM requests WHERE match IS NULL").fetchone()[0]


# --- views for notebook 02 ----------------------------------------------------------------------------------------


def _window(start: object, end: object) -> tuple[str, list]:
    """SQL condition on requests.ts for [start, end), with its parameters; no condition when both are None."""
    cond, params = [], []
    if start is not None:
        cond.append("ts >= CAST(? AS TIMESTAMPTZ)")
        params.append(str(start))
    if end is not None:
        cond.append("ts < CAST(? AS TIMESTAMPTZ)")
        params.append(str(end))
    return (" AND ".join(cond) or "TRUE"), params


def endpoints(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Every route of both apps with its traffic in [start, end): one row per (framework, method, rule).

    Columns: framework, method, rule, endpoint, requests, share (of all requests in the window), peak_rps (most
    requests in one second), rate_4xx, rate_5xx, p50_ms, p95_ms, p99_ms, first_seen, last_seen. A HEAD request
    counts for the GET route it matched (unless the route declares HEAD itself). Sorted by requests, busiest first.
    """
    where, params = _window(start, end)
    return con.execute(
        f"""
        WITH r AS (SELECT framework, method, rule, endpoint FROM ({ROUTE_PER_RULE})),
        q AS (
            SELECT q.*, CASE WHEN q.method = 'HEAD' AND NOT EXISTS (
                        SELECT 1 FROM r WHERE r.framework = q.route_framework AND r.rule = q.route
                        AND r.method = 'HEAD') THEN 'GET' ELSE q.method END AS route_method
            FROM requests q WHERE {where}),
        total AS (SELECT count(*) AS n FROM q),
        per AS (
            SELECT route_framework, route, route_method, count(*) AS requests,
                   avg(CASE WHEN status BETWEEN 400 AND 499 THEN 1 ELSE 0 END) AS rate_4xx,
                   avg(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS rate_5xx,
                   quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
                   quantile_cont(duration_ms, 0.99) AS p99_ms, min(ts) AS first_seen, max(ts) AS last_seen
            FROM q WHERE route IS NOT NULL GROUP BY ALL),
        peak AS (
            SELECT route_framework, route, route_method, max(n) AS peak_rps FROM (
                SELECT route_framework, route, route_method, date_trunc('second', ts) AS sec, count(*) AS n
                FROM q WHERE route IS NOT NULL AND ts IS NOT NULL GROUP BY ALL) GROUP BY ALL)
        SELECT r.framework, r.method, r.rule, r.endpoint, coalesce(per.requests, 0) AS requests,
               coalesce(per.requests, 0) / nullif(total.n, 0) AS share, coalesce(peak.peak_rps, 0) AS peak_rps,
               per.rate_4xx, per.rate_5xx, per.p50_ms, per.p95_ms, per.p99_ms, per.first_seen, per.last_seen
        FROM r CROSS JOIN total
        LEFT JOIN per ON per.route_framework = r.framework AND per.route = r.rule AND per.route_method = r.method
        LEFT JOIN peak ON peak.route_framework = r.framework AND peak.route = r.rule AND peak.route_method = r.method
        ORDER BY requests DESC, r.rule, r.method, r.framework
    """,
        params,
    ).df()


def coverage(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> dict[str, int]:
    """Requests in [start, end) by outcome: requests, matched, method_not_allowed, redirect, unmatched, pending."""
    where, params = _window(start, end)
    row = con.execute(
        f"""
        SELECT count(*), count(*) FILTER (match = 'matched'), count(*) FILTER (match = 'method_not_allowed'),
               count(*) FILTER (match = 'redirect'), count(*) FILTER (match = 'unmatched'),
               count(*) FILTER (match IS NULL)
        FROM requests WHERE {where}""",
        params,
    ).fetchone()
    return dict(zip(["requests", "matched", "method_not_allowed", "redirect", "unmatched", "pending"], row))


def dead_routes(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Routes with no request in [start, end): framework, method, rule, endpoint, file, line.

    Left out: a FastAPI route with a Flask twin (its requests count for the Flask rule, by design) and
    FastAPI's own documentation pages.
    """
    table = endpoints(con, start, end)
    dead = table[(table["requests"] == 0) & ~((table["framework"] == "fastapi") & table["endpoint"].isin(FASTAPI_DOCS))]
    twins = routes_mod.pairs(con).dropna(subset=["flask_rule", "fastapi_rule"])
    twins = (
        twins[["method", "fastapi_rule"]]
        .drop_duplicates()
        .rename(columns={"fastapi_rule": "rule"})
        .assign(framework="fastapi")
    )
    dead = dead[["framework", "method", "rule", "endpoint"]].merge(twins, how="left", indicator=True)
    dead = dead[dead["_merge"] == "left_only"].drop(columns="_merge")
    where = con.execute(f"SELECT framework, method, rule, file, line FROM ({ROUTE_PER_RULE})").df()
    return (
        dead.merge(where, on=["framework", "method", "rule"], how="left")
        .sort_values(["framework", "rule", "method"])
        .reset_index(drop=True)
    )


def unmatched(
    con: duckdb.DuckDBPyConnection, limit: int = 20, start: object = None, end: object = None
) -> pd.DataFrame:
    """Requests no route took, by shape: shape, match ('method_not_allowed' for 405s, 'redirect', 'unmatched'),
    requests, methods, statuses, example path. Busiest first, at most `limit` rows."""
    where, params = _window(start, end)
    return con.execute(
        f"""
        SELECT s.shape, match, count(*) AS requests,
               string_agg(DISTINCT method, ' ' ORDER BY method) AS methods,
               string_agg(DISTINCT CAST(status AS VARCHAR), ' ' ORDER BY CAST(status AS VARCHAR)) AS statuses,
               min(r.path) AS example
        FROM (SELECT * FROM requests WHERE {where} AND match IS NOT NULL AND match <> 'matched') r
        LEFT JOIN path_shapes s ON s.path = r.path AND r.method IS NOT NULL
        GROUP BY s.shape, match ORDER BY requests DESC, s.shape, match LIMIT ?
    """,
        params + [limit],
    ).df()


def endpoints_with_twins(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """`endpoints` plus `fastapi_twin`: for a Flask route, the FastAPI rule that serves the same method and
    template once it is migrated (NULL when it has none, and on FastAPI rows)."""
    table = endpoints(con, start, end)
    twins = (
        routes_mod.pairs(con).dropna(subset=["flask_rule", "fastapi_rule"]).drop_duplicates(["method", "flask_rule"])
    )
    table = table.merge(
        twins[["method", "flask_rule", "fastapi_rule"]].rename(
            columns={"flask_rule": "rule", "fastapi_rule": "fastapi_twin"}
        ),
        on=["method", "rule"],
        how="left",
    )
    table.loc[table["framework"] != "flask", "fastapi_twin"] = None
    return table


def summary(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> str:
    """One line for the report index: routes per framework, live and dead, how much traffic matched."""
    table = endpoints(con, start, end)
    dead = dead_routes(con, start, end)
    cov = coverage(con, start, end)
    n_flask = int((table["framework"] == "flask").sum())
    used = int((table["requests"] > 0).sum())
    line = (
        f"{len(table)} routes ({n_flask} Flask, {len(table) - n_flask} FastAPI), {used} with traffic and "
        f"{len(dead)} dead; {cov['matched'] / max(cov['requests'], 1):.1%} of {cov['requests']:,} requests "
        f"matched a route, {cov['method_not_allowed']:,} were 405s"
    )
    if used:  # endpoints is sorted busiest first, like the Pareto chart
        line += f"; the 10 busiest routes carry {float(table['share'].head(10).sum()):.0%}"
    return line


def pareto(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Routes with traffic, busiest first, with the cumulative share of all requests they carry."""
    table = endpoints(con, start, end)
    table = table[table["requests"] > 0].reset_index(drop=True)
    table["label"] = table["method"] + " " + table["rule"]
    table["cumulative_share"] = table["share"].cumsum()
    table["rank"] = range(1, len(table) + 1)
    return table[["rank", "label", "framework", "requests", "share", "cumulative_share"]]
