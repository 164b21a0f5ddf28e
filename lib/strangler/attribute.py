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

An app's own converters (table `route_converters`, read by `routes --app`) enter the local Map with the app's
regex, part_isolating and weight. Where a converter's `to_python` can still refuse a value, the app decides: the
distinct (method, path) values its rules could take go to the app's own interpreter in one batch
(`routes.run_match_script`), and its `MapAdapter.match` answer is the Flask answer for them.

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

from strangler import rollup, sketch
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
    segments: list[str] = []
    current: list[str] = []
    depth = 0
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


def _spans(conv: str | None, spanning: frozenset[str]) -> bool:
    """Does this converter's match span '/' (Werkzeug's and Starlette's `path`, or an app's own converter that is
    not part-isolating)?"""
    return conv == "path" or conv in spanning


def _guard_regex(framework: str, segments: list[str], spanning: frozenset[str] = frozenset()) -> str:
    """A regex every path the rule could match (or redirect to) matches: each parameter, and each literal segment
    that belongs to a class, becomes a wildcard; the other literal segments stay (they are never collapsed)."""
    part_re = _FLASK_PART if framework == "flask" else _STARLETTE_PART
    out = []
    for segment in segments:
        params = list(part_re.finditer(segment))
        if any(_spans(m.group("conv"), spanning) for m in params):
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


def guards(rules: list[tuple[str, str]], spanning: frozenset[str] = frozenset()) -> list[Guard]:
    """The guards of a rule set, one per (class, position) with the regexes of its rules joined. `spanning` names
    the app's own converters whose match may span '/'."""
    found: dict[tuple[str, int, bool], list[str]] = {}
    for framework, rule in rules:
        part_re = _FLASK_PART if framework == "flask" else _STARLETTE_PART
        segments = _split_segments(rule)
        regex = _guard_regex(framework, segments, spanning)
        shifted = False
        for index, segment in enumerate(segments, 1):
            for cls in CLASSES:
                if _segment_unsafe(framework, segment, cls):
                    regexes = found.setdefault((cls, index, shifted), [])
                    if regex not in regexes:
                        regexes.append(regex)
            if any(_spans(m.group("conv"), spanning) for m in part_re.finditer(segment)):
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


@dataclass(frozen=True)
class AppCheck:
    """Where to ask an app about matches its own converters decide: the spec, the Flask app's mount prefix, and
    the interpreter and directory the inventory imported it with."""

    app: str
    mount: str
    python: str
    cwd: str


Matcher = Callable[[str, str], tuple[str, "str | None"]]


@dataclass
class Matchers:
    """Match (method, path) against Flask rules first, then FastAPI rules.

    `checked` maps the Flask rules whose converters have their own `to_python` to the app that decides them: a
    local match on such a rule only says the regexes agree, so the app's own `MapAdapter.match` (in its own
    interpreter, one batch per app) gives the answer for those paths. When that app holds every Flask rule,
    `candidates` (a regex every path its checked rules could match or redirect matches) sends such paths to the
    app without matching them here first: its answer is the whole Flask answer, and each path is matched once."""

    flask: Matcher | None
    fastapi: Matcher | None
    checked: dict[str, AppCheck] = field(default_factory=dict)
    candidates: dict[AppCheck, re.Pattern] = field(default_factory=dict)
    app_calls: list[tuple[AppCheck, int, float]] = field(default_factory=list)  # (app, paths, seconds) per call

    def match(self, method: str, path: str) -> tuple[str, str | None, str | None]:
        """(match, rule, framework) for a raw (percent-encoded) logged path."""
        return self.match_many([(method, path)])[0]

    def match_many(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str | None, str | None]]:
        """`match` for many (method, raw path) pairs, asking each app once about its checked rules."""
        decoded = [(m, unquote(p, errors="surrogateescape") if "%" in p else p) for m, p in pairs]
        flask: list[tuple[str, str | None] | None] = [None] * len(decoded)
        asks: dict[AppCheck, list[int]] = {}
        for i, (m, p) in enumerate(decoded):
            check = next((c for c, regex in self.candidates.items() if regex.match(p)), None)
            if check is not None:
                asks.setdefault(check, []).append(i)
            elif self.flask is None:
                flask[i] = ("unmatched", None)
            else:
                outcome, rule = flask[i] = self.flask(m, p)
                if outcome == "matched" and rule in self.checked:
                    asks.setdefault(self.checked[rule], []).append(i)
        for check, indexes in asks.items():
            started = time.perf_counter()
            answers = routes_mod.run_match_script(
                check.app, check.mount, [decoded[i] for i in indexes], check.python, check.cwd
            )
            self.app_calls.append((check, len(indexes), time.perf_counter() - started))
            for i, answer in zip(indexes, answers):
                flask[i] = answer
        out: list[tuple[str, str | None, str | None]] = []
        for (method, path), flask_outcome in zip(decoded, flask):
            assert flask_outcome is not None
            outcomes = []
            if self.flask is not None:
                if flask_outcome[0] == "matched":
                    out.append((flask_outcome[0], flask_outcome[1], "flask"))
                    continue
                if flask_outcome[0].startswith("error: "):  # the app's converter raised: Flask answers 500
                    out.append((flask_outcome[0], None, None))
                    continue
                outcomes.append(flask_outcome[0])
            if self.fastapi is not None:
                outcome, rule = self.fastapi(method, path)
                if outcome == "matched":
                    out.append((outcome, rule, "fastapi"))
                    continue
                outcomes.append(outcome)
            out.append(
                (next((o for o in ("method_not_allowed", "redirect") if o in outcomes), "unmatched"), None, None)
            )
        return out


@dataclass(frozen=True)
class OwnConverters:
    """The app's own converters as read by the exact inventory, ready for a local Werkzeug Map: each rule that uses
    one is rewritten to a local converter name (`<_own1:id>`) whose class has the app's regex, part_isolating and
    weight; `checked` are the rules the app itself must confirm."""

    local_rule: dict[str, str] = field(default_factory=dict)  # rule -> the rule as the local Map reads it
    classes: dict[str, tuple[str, bool, int]] = field(default_factory=dict)  # local name -> regex, isolating, weight
    checked: dict[str, AppCheck] = field(default_factory=dict)

    @property
    def spanning(self) -> frozenset[str]:
        return frozenset(name for name, (_, isolating, _) in self.classes.items() if not isolating)


def own_converters(rows: pd.DataFrame, converters: pd.DataFrame) -> OwnConverters:
    """Plan the local converters for the Flask rules in `rows` (route_rows) from `route_converters` rows, taking
    each rule's converters from the app that `rows` names for it."""
    found = OwnConverters()
    if converters.empty:
        return found
    app_of = dict(zip(rows.loc[rows.framework == "flask", "rule"], rows.loc[rows.framework == "flask", "app"]))
    names: dict[tuple[str, bool, int], str] = {}
    for (app, rule), group in converters.groupby(["app", "rule"], sort=True):
        if app_of.get(rule) != app:
            continue
        by_var = {r.variable: r for r in group.itertuples(index=False)}

        def local(m: re.Match, by_var: dict = by_var) -> str:
            r = by_var.get(m.group("var"))
            if r is None:
                return m.group(0)
            key = (str(r.regex), bool(r.part_isolating), int(r.weight))
            name = names.setdefault(key, f"_own{len(names) + 1}")
            found.classes[name] = key
            return f"<{name}:{m.group('var')}>"

        found.local_rule[rule] = _FLASK_PART.sub(local, rule)
        checked = group[group.checked]
        if len(checked):
            r = checked.iloc[0]
            found.checked[rule] = AppCheck(str(app), str(r.mount), str(r.python), str(r.cwd))
    return found


def build_flask(rows: pd.DataFrame, warnings: list[str], own: OwnConverters | None = None) -> Matcher:
    """A Werkzeug Map of the Flask rules, configured as Flask configures its url_map, with the app's own
    converters where the exact inventory read them (`own`)."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import BaseConverter, Map, RequestRedirect, Rule

    own = own or OwnConverters()
    grouped = rows.groupby("rule", sort=False)["method"].agg(lambda m: sorted(set(m)))
    url_map = Map(strict_slashes=True, merge_slashes=True)
    for name, (regex, isolating, weight) in own.classes.items():
        url_map.converters[name] = type(
            name, (BaseConverter,), {"regex": regex, "part_isolating": isolating, "weight": weight}
        )
    known = set(url_map.converters)
    for rule, methods in grouped.items():
        local_rule = own.local_rule.get(rule, rule)
        for m in _FLASK_PART.finditer(local_rule):
            conv = m.group("conv")
            if conv and conv not in known:
                # An app's own converter that no exact inventory read: match it like a plain string segment.
                url_map.converters[conv] = type(f"Unknown_{conv}", (BaseConverter,), {})
                known.add(conv)
                warnings.append(
                    f"custom converter {conv!r} matched as a plain segment (run `strangler routes --app` to read it)"
                )
        url_map.add(Rule(local_rule, endpoint=rule, methods=sorted(set(methods) | {"OPTIONS"})))
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


def framework_added(framework: pd.Series, endpoint: pd.Series, rule: pd.Series) -> pd.Series:
    """Routes the framework adds by itself, never delete candidates however little traffic they have: FastAPI's
    documentation pages, Flask's `static` route and a blueprint's static folder (`<bp>.static`)."""
    docs = (framework == "fastapi") & endpoint.isin(FASTAPI_DOCS)
    static = (
        (framework == "flask")
        & ((endpoint == "static") | endpoint.fillna("").str.endswith(".static"))
        & rule.fillna("").str.endswith("/<path:filename>")
    )
    return docs | static


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
    """Distinct (framework, method, rule) in matching order, with the app each comes from; exact inventory rows
    win over static ones."""
    return con.execute(f"""
        SELECT framework, method, rule, endpoint, app FROM ({ROUTE_PER_RULE})
        ORDER BY inventory = 'app' DESC, app, position NULLS LAST, rule, method
    """).df()


def converter_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The app's own converters the exact inventory read (table `route_converters`)."""
    return con.execute("SELECT * FROM route_converters ORDER BY app, rule, variable").df()


def matchers(rows: pd.DataFrame, warnings: list[str] | None = None, own: OwnConverters | None = None) -> Matchers:
    """The Flask and FastAPI matchers for `route_rows` (the rules in the `routes` table)."""
    warnings = [] if warnings is None else warnings
    own = own or OwnConverters()
    flask_rows, fastapi_rows = rows[rows.framework == "flask"], rows[rows.framework == "fastapi"]
    candidates: dict[AppCheck, re.Pattern] = {}
    checks = set(own.checked.values())
    if len(checks) == 1 and set(flask_rows["app"]) == {next(iter(checks)).app}:
        spanning = own.spanning
        regexes = [
            _guard_regex("flask", _split_segments(own.local_rule.get(rule, rule)), spanning) for rule in own.checked
        ]
        candidates[next(iter(checks))] = re.compile("|".join(f"(?:{r})" for r in regexes))
    return Matchers(
        build_flask(flask_rows, warnings, own) if len(flask_rows) else None,
        build_fastapi(fastapi_rows, warnings) if len(fastapi_rows) else None,
        checked=dict(own.checked),
        candidates=candidates,
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
    app_checks: list[tuple[str, int, float]] = field(default_factory=list)  # (app, distinct paths, seconds)

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
        for app, n, seconds in self.app_checks:
            lines.append(
                f"  {n:,} distinct (method, path) checked by {app} itself (its own converters) in {seconds:.1f} s"
            )
        if not self.rules:
            lines.append("  no routes: run `strangler routes` first")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class Plan:
    """How to attribute under the current routes: the matchers, and the SQL (DuckDB) that gives a path its shape
    (`shape_select` + `shape_params`, see `shape_sql`). `attribute`, the one-pass rollup (`fastpath`) and the
    Spark job all work from it."""

    rules: int
    match_one: Matchers
    shape_select: str
    shape_params: list

    def outcomes(self, keys: list[tuple[str, str]], warnings: list[str]) -> list[tuple[str, str | None, str | None]]:
        """(match, route, framework) of each distinct (method, example path); a converter that raised counts as
        unmatched, with a warning."""
        outcomes = self.match_one.match_many([(str(m).upper(), p) for m, p in keys])
        errors = [o[0] for o in outcomes if o[0].startswith("error: ")]
        if errors:
            warnings.append(
                f"{len(errors)} distinct paths made a converter raise ({', '.join(sorted(set(errors)))}): Flask "
                "answers them with a 500 and no rule; counted as unmatched"
            )
            outcomes = [("unmatched", None, None) if o[0].startswith("error: ") else o for o in outcomes]
        return outcomes


def plan(con: duckdb.DuckDBPyConnection, warnings: list[str]) -> Plan:
    """The attribution plan for the routes in `con` (with the apps' own converters where they were read)."""
    rows = route_rows(con)
    own = own_converters(rows, converter_rows(con))
    match_one = matchers(rows, warnings, own)
    local = [
        (fw, own.local_rule.get(rule, rule) if fw == "flask" else rule)
        for fw, rule in rows[["framework", "rule"]].drop_duplicates().itertuples(index=False, name=None)
    ]
    select, params = shape_sql(guards(local, own.spanning))
    return Plan(len(rows), match_one, select, params)


def attribute(con: duckdb.DuckDBPyConnection) -> AttributionResult:
    """Set `route`, `route_framework` and `match` on every request from the current `routes` table, and
    rebuild `path_shapes` (a shape belongs to a path, so it is stored once per distinct path, not per request)."""
    started = time.perf_counter()
    result = AttributionResult()
    how = plan(con, result.warnings)
    result.rules = how.rules
    select, params = how.shape_select, how.shape_params
    # one pass over requests for the distinct (method, path) pairs; shapes for their distinct paths
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _pairs AS SELECT DISTINCT method, path FROM requests "
        "WHERE method IS NOT NULL AND path IS NOT NULL"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _shapes AS SELECT {select} (SELECT DISTINCT path FROM _pairs))", params)
    keys = con.execute("""SELECT q.method, s.shape, min(q.path) AS example
                          FROM _pairs q JOIN _shapes s USING (path) GROUP BY ALL""").df()
    result.shapes = len(keys)
    outcomes = how.outcomes(list(zip(keys["method"], keys["example"])), result.warnings)
    for check, n, seconds in how.match_one.app_calls:
        result.app_checks.append((check.app, n, seconds))
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
    """Requests not attributed yet (ingested after the last `attribute` run); 0 on a rollup directory."""
    if not rollup.has_raw(con):
        return 0
    (n,) = con.execute("SELECT count(*) FROM requests WHERE match IS NULL").fetchall()[0]
    return int(n)


# --- views for notebook 02 (from the rollups) ---------------------------------------------------------------------

# a rollup row's method as its route counts it (`routes.counted_method`: HEAD for the GET route it matched, unless
# the rule declares HEAD)
_ROUTE_METHOD = routes_mod.counted_method_sql(
    "q.method",
    f"EXISTS (SELECT 1 FROM ({ROUTE_PER_RULE}) r WHERE r.framework = q.route_framework AND r.rule = q.route "
    "AND r.method = 'HEAD')",
)


def endpoints(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Every route of both apps with its traffic in [start, end): one row per (framework, method, rule).

    Columns: framework, method, rule, endpoint, requests, share (of all requests in the window), peak_rps (most
    requests in one second), rate_4xx, rate_5xx, p50_ms, p95_ms, p99_ms (from the latency histogram: within 1 %),
    first_seen, last_seen. A HEAD request counts for the GET route it matched (unless the route declares HEAD
    itself). Sorted by requests, busiest first. Read from the rollups; `start`/`end` must fall on whole hours.
    """
    rollup.ensure(con)
    where, params = rollup.window(start, end)
    lat = sketch.quantiles_sql(
        f"SELECT route_framework, route, {_ROUTE_METHOD} AS route_method, bucket, n FROM rollup_latency q "
        f"WHERE route IS NOT NULL AND {where}",
        ["route_framework", "route", "route_method"],
        {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99},
    )
    return con.execute(
        f"""
        WITH r AS (SELECT framework, method, rule, endpoint FROM ({ROUTE_PER_RULE})),
        lat AS ({lat}),
        q AS (SELECT q.*, {_ROUTE_METHOD} AS route_method FROM rollups q WHERE {where}),
        total AS (SELECT sum(requests) AS n FROM q),
        per AS (
            SELECT route_framework, route, route_method, sum(requests)::BIGINT AS requests,
                   coalesce(sum(requests) FILTER (WHERE status BETWEEN 400 AND 499), 0) / sum(requests) AS rate_4xx,
                   coalesce(sum(requests) FILTER (WHERE status >= 500), 0) / sum(requests) AS rate_5xx,
                   min(first_ts) AS first_seen, max(last_ts) AS last_seen
            FROM q WHERE route IS NOT NULL GROUP BY ALL),
        peak AS (SELECT route_framework, route, route_method, max(peak_rps) AS peak_rps FROM rollup_peaks q
                 WHERE {where} GROUP BY ALL)
        SELECT r.framework, r.method, r.rule, r.endpoint, coalesce(per.requests, 0) AS requests,
               coalesce(per.requests, 0) / nullif(total.n, 0) AS share, coalesce(peak.peak_rps, 0) AS peak_rps,
               per.rate_4xx, per.rate_5xx, lat.p50_ms, lat.p95_ms, lat.p99_ms, per.first_seen, per.last_seen
        FROM r CROSS JOIN total
        LEFT JOIN per ON per.route_framework = r.framework AND per.route = r.rule AND per.route_method = r.method
        LEFT JOIN lat ON lat.route_framework = r.framework AND lat.route = r.rule AND lat.route_method = r.method
        LEFT JOIN peak ON peak.route_framework = r.framework AND peak.route = r.rule AND peak.route_method = r.method
        ORDER BY requests DESC, r.rule, r.method, r.framework
    """,
        params,
    ).df()


def coverage(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> dict[str, int]:
    """Requests in [start, end) by outcome: requests, matched, method_not_allowed, redirect, unmatched, pending."""
    rollup.ensure(con)
    where, params = rollup.window(start, end)
    row = con.execute(
        f"""
        SELECT coalesce(sum(requests), 0), coalesce(sum(requests) FILTER (match = 'matched'), 0),
               coalesce(sum(requests) FILTER (match = 'method_not_allowed'), 0),
               coalesce(sum(requests) FILTER (match = 'redirect'), 0),
               coalesce(sum(requests) FILTER (match = 'unmatched'), 0),
               coalesce(sum(requests) FILTER (match IS NULL), 0)
        FROM rollups q WHERE {where}""",
        params,
    ).fetchall()[0]
    return dict(zip(["requests", "matched", "method_not_allowed", "redirect", "unmatched", "pending"], map(int, row)))


def dead_routes(con: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Routes with no request in [start, end): framework, method, rule, endpoint, file, line.

    Left out: a FastAPI route with a Flask twin (its requests count for the Flask rule, by design) and routes the
    framework adds by itself (`framework_added`: FastAPI's documentation pages, Flask's static routes).
    """
    table = endpoints(con, start, end)
    dead = table[(table["requests"] == 0) & ~framework_added(table["framework"], table["endpoint"], table["rule"])]
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
    requests, methods, statuses, example path (the smallest). Busiest first, at most `limit` rows."""
    rollup.ensure(con)
    where, params = rollup.window(start, end)
    return con.execute(
        f"""
        SELECT shape, match, sum(requests)::BIGINT AS requests,
               string_agg(DISTINCT method, ' ' ORDER BY method) AS methods,
               string_agg(DISTINCT CAST(status AS VARCHAR), ' ' ORDER BY CAST(status AS VARCHAR)) AS statuses,
               min(example_path) AS example
        FROM rollups q WHERE {where} AND match IS NOT NULL AND match <> 'matched'
        GROUP BY shape, match ORDER BY requests DESC, shape, match LIMIT $limit
    """,
        {**params, "limit": limit},
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
