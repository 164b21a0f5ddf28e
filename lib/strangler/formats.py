"""Access-log formats: the `Format` every reader shares, the NCSA / uvicorn / JSON / W3C families, and the
registry (FORMATS, ALIASES) that adds the producers of `formats_text`, `formats_json` and `formats_otel`.

Every format is a set of DuckDB SQL expressions over one column `line` (one physical line, CR stripped).
`prep` computes helpers once per line, `valid` says whether the line has the format's layout, and `columns`
gives each `requests` column; `strangler.parse_sql` adds the field checks every format gets, and
`strangler.detect` picks a format by running them on a sample. Python never loops over lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from strangler.errors import StranglerError

# Placeholders for Apache's escaped quote and backslash (\" and \\), so a plain split on '"' finds the fields.
_QUOTE = "\ue000"
_BSLASH = "\ue001"


@dataclass(frozen=True)
class Format:
    """One log format: detection, layout check and column expressions (all SQL on `line`)."""

    name: str
    description: str
    prep: list[dict[str, str]]  # layers of helper columns (each may use the previous ones)
    valid: str  # SQL boolean: the line has this layout
    columns: dict[str, str]  # requests column -> SQL over `line` and the helpers
    bad_value: str = "bad_timestamp"  # reason when the layout matches but `ts` does not parse
    ts_required: bool = True  # a row needs a parsed ts (False: the format has none)
    windowed: bool = False  # prep uses a window over line_no (W3C #Fields)
    invalid_reason: str = "malformed"
    valid_line: str | None = None  # SQL on the raw `line` alone, same as `valid` (lets rows skip prep)
    csv_columns: dict[str, str] | None = None  # fastest path: columns over DuckDB's CSV split on ' ' and '"' (c1..)
    csv_valid: str | None = None  # SQL over c1.. that holds exactly for well-formed lines
    extra_invalid: list[tuple[str, str]] = field(default_factory=list)  # (SQL condition, reason) checked first
    late_invalid: list[tuple[str, str]] = field(default_factory=list)  # (SQL condition, reason) after `valid`
    status_zero: bool = False  # the producer writes status 0 (a request that got no response): keep it
    generic: bool = False  # a catch-all layout (common, combined, json): loses a detection tie to a producer's own
    detect_valid: str | None = None  # SQL over the helpers that must also hold for a sample line in detection only
    aliases: tuple[str, ...] = ()  # other names the user may give (--format)
    maybe: str | None = None  # cheap SQL on the raw `line` that every line of this format satisfies (detection)
    # several requests per line (OpenTelemetry): SQL of (line_no, <columns>) over a relation of lines, for the whole
    # file at once; the per-line fields above still classify lines and serve detection
    spans: Callable[[str, list[str]], str] | None = None
    # declared layouts (strangler.layouts): the KIND:LAYOUT it was compiled from (kept in sources.layout) ...
    layout: str | None = None
    csv_read: str | None = None  # ... read_csv options of its columns path (None: ingest's, split on ' ')
    csv_prep: list[dict[str, str]] | None = None  # ... helper layers over c1.. (None: the request line in c6)
    csv_partial: bool = False  # ... lines its columns path leaves go through the line reader before becoming rejects


# --- shared SQL pieces --------------------------------------------------------------------------------------


def _unescape(expr: str) -> str:
    """Undo the placeholders of escaped quotes and backslashes in one extracted field (lines with a backslash)."""
    return f"CASE WHEN esc THEN replace(replace({expr}, '{_QUOTE}', '\"'), '{_BSLASH}', '\\') ELSE {expr} END"


def _dash(expr: str) -> str:
    """'-' (and '') mean missing in access logs."""
    return f"CASE WHEN {expr} IN ('-', '') THEN NULL ELSE {expr} END"


_ABSOLUTE = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*"  # scheme and authority of an absolute-form request target


def target_path(target: str) -> str:
    """Path of a request target: absolute-form URLs lose scheme and host, the query string is cut off."""
    t = (
        f"CASE WHEN starts_with({target}, '/') THEN {target} WHEN regexp_matches({target}, '{_ABSOLUTE}') "
        f"THEN '/' || ltrim(regexp_replace({target}, '{_ABSOLUTE}', ''), '/') ELSE {target} END"
    )
    return f"nullif(split_part({t}, '?', 1), '')"


def target_query(target: str) -> str:
    return f"CASE WHEN contains({target}, '?') THEN substr({target}, strpos({target}, '?') + 1) END"


def request_layers(req: str) -> list[dict[str, str]]:
    """Helper layers that split a request line such as 'GET /a?b=1 HTTP/1.1' into rq_m and rq_t ('-': none).
    The target is everything between the method and the protocol, so a space inside it stays in the path."""
    return [
        {"rq": req},
        {"rq_p": "string_split(rq, ' ')"},
        {"rq_n": "array_length(rq_p)"},
        {
            "rq_m": "CASE WHEN rq NOT IN ('-', '') THEN rq_p[1] END",
            "rq_t": "CASE WHEN rq_n = 3 OR rq_n = 2 THEN rq_p[2] WHEN rq_n > 3 THEN "
            "regexp_replace(substr(rq, strlen(rq_p[1]) + 2), ' HTTP/[0-9.]+$', '') END",
        },
    ]


_REQUEST_COLUMNS = {  # method/path/query over the request layers; garbage is kept so that the checks reject it
    "method": "upper(rq_m)",
    "path": target_path("rq_t"),
    "query": target_query("rq_t"),
}


def unbackslash(expr: str) -> str:
    """SQL: a field whose producer escapes quotes and backslashes with a backslash, as the line meant it."""
    return f"CASE WHEN contains({expr}, '\\') THEN regexp_replace({expr}, '\\\\(.)', '\\1', 'g') ELSE {expr} END"


dash = _dash  # public name for the producers' modules
_target_path, _target_query = target_path, target_query  # the names strangler.layouts (issue 11) imports


def by_regex(
    name: str, description: str, pattern: str, names: list[str], columns: dict[str, str], request: str | None, **kw
) -> Format:
    """A format read by one whole-line regex (RE2) whose groups are named `names` (x.<name> in `columns`);
    `request` is the SQL of the request line ('GET /p HTTP/1.1'), split into method, path and query."""
    pat = pattern.replace("'", "''")
    x = f"regexp_extract(line, '{pat}', {names!r})"
    layers: list[dict[str, str]] = [{"x": x}, *(request_layers(request) if request else [])]
    cols = {**(_REQUEST_COLUMNS if request else {}), **columns}
    match = f"regexp_full_match(line, '{pat}')"
    return Format(name, description, layers, match, cols, valid_line=match, **kw)


# --- NCSA common / combined family (Apache, nginx, gunicorn) ------------------------------------------------

_CLF_HEAD = r'^\S+ \S+ \S+ \[[^\]]*\] "[^"]*" \d{3} (?:\d+|-)'
_QUOTED = r'"[^"]*"'
_TRAIL = r'(?: (?:"[^"]*"|[^" ]+))*'  # extra fields after the known ones (X-Forwarded-For, ...)
_TIME = r'(?:\d+(?:\.\d*)?|-)'
_UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001}


def _clf(name: str, description: str, agent: bool, unit: str | None, aliases: tuple[str, ...]) -> Format:
    layout = _CLF_HEAD
    if agent:
        layout += f" {_QUOTED} {_QUOTED}"
    # the request time must be the last field: a tail such as Traefik's 'count "router" "url" 12ms' is not one
    # milliseconds and microseconds are written as integers (Apache %{ms}T and %D, gunicorn %(D)s): a decimal there
    # is some other unit's number
    layout += (f" {_TIME}$" if unit == "s" else r" (?:\d+|-)$") if unit else _TRAIL + "$"
    prep = [
        {"esc": "contains(line, '\\')"},
        # escaped quotes and backslashes (Apache writes \" and \\) become placeholders, then split on quotes
        {"l2": f"CASE WHEN esc THEN replace(replace(line, '\\\\', '{_BSLASH}'), '\\\"', '{_QUOTE}') ELSE line END"},
        {"p": "string_split(l2, '\"')"},
        *request_layers(_unescape("p[2]")),
    ]
    p = "p"
    cols = {
        "ts": f"try_strptime(substr({p}[1], strpos({p}[1], '[') + 1, strpos({p}[1], ']') - strpos({p}[1], '[') - 1), "
        "'%d/%b/%Y:%H:%M:%S %z')",
        **_REQUEST_COLUMNS,
        "status": f"split_part(trim({p}[3]), ' ', 1)::SMALLINT",
        "bytes": f"try_cast(split_part(trim({p}[3]), ' ', 2) AS BIGINT)",
        "client": f"split_part({p}[1], ' ', 1)",
    }
    if agent:
        cols["referer"] = _dash(_unescape(f"{p}[4]"))
        cols["user_agent"] = _dash(_unescape(f"{p}[6]"))
    if unit:
        cols["duration_ms"] = f"try_cast(split_part(trim({p}[7]), ' ', 1) AS DOUBLE) * {_UNITS[unit]}"
    raw_layout = layout.replace('"[^"]*"', r'"(?:[^"\\]|\\.)*"')
    # the same fields as DuckDB's CSV reader splits them (delimiter ' ', quote '"', escape '\\'):
    # c1 host, c2 ident, c3 user, c4 '[day/mon/year:time', c5 'offset]', c6 request, c7 status, c8 bytes,
    # c9 referer, c10 user agent, c11 request time
    csv_cols = {
        "ts": "try_strptime(c4 || ' ' || c5, '[%d/%b/%Y:%H:%M:%S %z]')",
        **_REQUEST_COLUMNS,
        "status": "try_cast(c7 AS SMALLINT)",
        "bytes": "try_cast(c8 AS BIGINT)",
        "client": "c1",
    }
    valid = [
        "c1 IS NOT NULL",
        "NOT starts_with(c1, '#')",
        "c3 IS NOT NULL",
        "starts_with(c4, '[')",
        "ends_with(c5, ']')",
        "c6 IS NOT NULL",
        "try_cast(c7 AS SMALLINT)::VARCHAR = c7",  # the same text back: three digits, nothing else
        "try_cast(c7 AS SMALLINT) >= 100",
        "(c8 = '-' OR try_cast(c8 AS UBIGINT)::VARCHAR = c8)",
    ]  # a ts that does not parse, and every other field check: parse_sql (rows deleted by ingest._drop_bad)
    if agent:
        csv_cols["referer"] = "CASE WHEN c9 = '-' THEN NULL ELSE c9 END"
        csv_cols["user_agent"] = "CASE WHEN c10 = '-' THEN NULL ELSE c10 END"
        valid.append("c10 IS NOT NULL")
    detect_valid = None
    if unit:
        csv_cols["duration_ms"] = f"try_cast(c11 AS DOUBLE) * {_UNITS[unit]}"
        # (a cast alone is not a check: DuckDB reads '0.019' as the integer 0 and '1e3' as 1000)
        number = "try_cast(c11 AS DOUBLE) IS NOT NULL" if unit == "s" else "try_cast(c11 AS UBIGINT)::VARCHAR = c11"
        valid += [f"(c11 = '-' OR {number})", "c12 IS NULL"]
        if unit == "s":  # an integer does not say its unit (s, ms or µs?): only decimals are seconds when detecting
            detect_valid = f"contains(split_part(trim({p}[7]), ' ', 1), '.')"
    return Format(
        name,
        description,
        prep,
        f"regexp_full_match(l2, '{layout}')",
        cols,
        valid_line=f"regexp_full_match(line, '{raw_layout}')",
        csv_columns=csv_cols,
        csv_valid=" AND ".join(valid),
        generic=not unit,
        detect_valid=detect_valid,
        aliases=aliases,
    )


# --- uvicorn --------------------------------------------------------------------------------------------------

_UVICORN = r'^(?:[A-Z]+:\s+)?(\S+):(\d+) - "([^"]*)" (\d{3})(?: .*)?$'


def _uvicorn() -> Format:
    x = f"regexp_extract(line, '{_UVICORN}', ['client', 'port', 'request', 'status'])"
    return Format(
        "uvicorn",
        "uvicorn's default access log: 'ip:port - \"GET /path HTTP/1.1\" 200' (no time, no duration)",
        [{"x": x}, *request_layers("x.request")],
        f"regexp_full_match(line, '{_UVICORN}')",
        {**_REQUEST_COLUMNS, "status": "x.status::SMALLINT", "client": "x.client"},
        ts_required=False,
        bad_value="bad_value",
    )


# --- JSON lines (nginx escape=json, structlog, strangler's router) -------------------------------------------

# column -> candidate keys in priority order; a duration key may carry its unit as 'key:s' / 'key:ms' / 'key:us'
JSON_FIELDS: dict[str, list[str]] = {
    "ts": ["ts", "time", "timestamp", "@timestamp", "time_iso8601", "datetime", "date", "time_local"],
    "method": ["method", "request_method", "http_method", "verb"],
    "target": ["path", "uri", "request_uri", "url", "request_path", "target"],
    "request": ["request", "request_line"],
    "query": ["query", "query_string", "args"],
    "status": ["status", "status_code", "http_status", "response_status"],
    "bytes": ["bytes", "body_bytes", "body_bytes_sent", "bytes_sent", "size", "response_size"],
    "duration_ms": [
        "duration_ms:ms",
        "request_time:s",
        "elapsed_ms:ms",
        "latency_ms:ms",
        "took_ms:ms",
        "duration:s",
        "elapsed:s",
        "latency:s",
        "response_time:s",
    ],
    "client": ["client", "remote_addr", "client_ip", "ip", "remote_ip", "host"],
    "user_agent": ["user_agent", "ua", "http_user_agent", "agent", "useragent"],
    "referer": ["referer", "http_referer", "referrer"],
    "request_id": ["request_id", "req_id", "requestid", "trace_id"],
    "backend": ["backend"],
    "logged_route": ["route", "endpoint"],
    "db_ms": ["db_ms"],
    "db_queries": ["db_queries"],
}


# SQL: the line is a JSON object (a CASE: DuckDB would run json_type on invalid JSON under an AND, and fail)
JSON_OBJECT = "(CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END)"
JSON_MAYBE = "starts_with(ltrim(line), '{')"  # what detection's pre-check asks of a JSON line


def json_path(key: str) -> str:
    """'a.b' -> '$."a"."b"', 'a.b[0]' -> '$."a"."b"[0]' (keys are options or this project's own, never log content)."""
    if '"' in key or "\\" in key:
        raise StranglerError(f"JSON field name {key!r} may not contain quotes or backslashes")
    parts = []
    for part in key.split("."):
        name, _, index = part.partition("[")
        parts.append(f'"{name}"' + (f"[{index}" if index else ""))
    return "$." + ".".join(parts)


def json_fields(overrides: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """The JSON field mapping with the user's overrides put first (column -> keys)."""
    fields = {k: list(v) for k, v in JSON_FIELDS.items()}
    for col, keys in (overrides or {}).items():
        if col not in fields:
            raise StranglerError(f"unknown JSON field column {col!r}; choose from {', '.join(fields)}")
        fields[col] = list(keys) + [k for k in fields[col] if k not in keys]
    return fields


def json_ts(ts: str) -> str:
    """SQL: a JSON timestamp as UTC: epoch seconds (number or numeric string), CLF time, ISO 8601 with an offset,
    or ISO 8601 without one (in $tz); NULL when it does not parse."""
    return (
        f"CASE WHEN {ts} IS NULL THEN NULL "
        f"WHEN try_cast({ts} AS DOUBLE) IS NOT NULL THEN to_timestamp(try_cast({ts} AS DOUBLE)) "
        f"WHEN regexp_matches({ts}, '^\\d+/[A-Za-z]+/\\d+:') THEN try_strptime({ts}, '%d/%b/%Y:%H:%M:%S %z') "
        f"WHEN regexp_matches({ts}, '(Z|[+-]\\d\\d:?\\d\\d)$') THEN try_cast({ts} AS TIMESTAMPTZ) "
        f"ELSE timezone($tz, try_cast({ts} AS TIMESTAMP)) END"
    )


def _json(name: str, description: str, fields: dict[str, list[str]], require: str | None = None, **kw) -> Format:
    paths: list[str] = []
    pick: dict[str, list[tuple[int, str]]] = {}
    for col, keys in fields.items():
        for key in keys:
            key, _, unit = key.partition(":")
            if col == "duration_ms" and not unit:
                unit = "ms" if key.endswith("_ms") else "us" if key.endswith("_us") else "s"
            if unit and unit not in _UNITS:
                raise StranglerError(f"unknown duration unit {unit!r} in JSON field {key!r}; use s, ms or us")
            paths.append(json_path(key))
            pick.setdefault(col, []).append((len(paths), unit))
    jp = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"

    def raw(col: str) -> str:
        return "coalesce(" + ", ".join(f"nullif(j[{i}], '')" for i, _ in pick[col]) + ")"

    def first(col: str) -> str:
        return f"f_{col}"

    dur = "coalesce(" + ", ".join(f"try_cast(j[{i}] AS DOUBLE) * {_UNITS[u]}" for i, u in pick["duration_ms"]) + ")"
    req = first("request")
    values = {f"f_{c}": raw(c) for c in pick if c != "duration_ms"} | {"f_duration": dur}
    derived = {
        "f_ts_v": json_ts(first("ts")),
        "f_target_v": f"coalesce({first('target')}, split_part({req}, ' ', 2))",
        "f_method_v": f"upper(coalesce({first('method')}, nullif(split_part({req}, ' ', 1), '')))",
    }
    cols = {
        "ts": "f_ts_v",
        "method": "f_method_v",
        "path": target_path("f_target_v"),
        "query": f"coalesce({first('query')}, {target_query('f_target_v')})",
        "status": f"try_cast({first('status')} AS SMALLINT)",
        "bytes": f"try_cast(try_cast({first('bytes')} AS DOUBLE) AS BIGINT)",
        "duration_ms": "f_duration",
        "client": first("client"),
        "user_agent": first("user_agent"),
        "referer": first("referer"),
        "request_id": first("request_id"),
        "backend": first("backend"),
        "logged_route": first("logged_route"),
        "db_ms": f"try_cast({first('db_ms')} AS DOUBLE)",
        "db_queries": f"try_cast(try_cast({first('db_queries')} AS DOUBLE) AS INTEGER)",
    }
    is_obj = JSON_OBJECT
    return Format(
        name,
        description,
        [{"j": f"CASE WHEN {is_obj} THEN json_extract_string(line, {jp}) END"}, values, derived],
        f"regexp_full_match({first('status')}, '\\d{{1,3}}')"
        + (f" AND {require.replace('backend', first('backend'))}" if require else ""),
        cols,
        ts_required=False,
        invalid_reason="not_a_request",
        maybe=JSON_MAYBE,
        # the router log's event records (strangler.accesslog.event_line) are not requests: kept as rejects
        extra_invalid=[("j IS NULL", "bad_json")]
        + ([("starts_with(line, '{\"type\":\"pilot\",')", "router_event")] if name == "strangler" else []),
        # a timestamp that is there must parse (ts is optional in these logs, so the row check cannot say it)
        late_invalid=[("f_ts IS NOT NULL AND f_ts_v IS NULL", "bad_timestamp")],
        **kw,
    )


# --- IIS / W3C extended -------------------------------------------------------------------------------------


def _w3c() -> Format:
    # the layout comes from the latest '#Fields:' directive above the line ($w3c_fields: one from an earlier read)
    hdr = (
        "coalesce(last_value(CASE WHEN starts_with(line, '#Fields:') THEN line END IGNORE NULLS) "
        "OVER (ORDER BY line_no ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), $w3c_fields)"
    )

    def f(name: str) -> str:
        return f"CASE WHEN list_position(fl, '{name}') IS NOT NULL THEN nullif(parts[list_position(fl, '{name}')], '-') END"

    ts = (
        f"CASE WHEN {f('date')} IS NOT NULL AND {f('time')} IS NOT NULL "
        f"THEN timezone($tz, try_cast({f('date')} || ' ' || {f('time')} AS TIMESTAMP)) END"
    )
    uri = f"coalesce({f('cs-uri-stem')}, split_part({f('cs-uri')}, '?', 1))"
    return Format(
        "w3c",
        "W3C extended log (IIS): '#Fields:' header, space separated, times in UTC, time-taken in ms",
        [{"fl": f"string_split(trim(substr({hdr}, 9)), ' ')", "parts": "string_split(line, ' ')"}],
        "fl IS NOT NULL AND len(parts) = len(fl) AND list_position(fl, 'sc-status') IS NOT NULL",
        {
            "ts": ts,
            "method": f"upper({f('cs-method')})",
            "path": uri,
            "query": f"coalesce({f('cs-uri-query')}, nullif(split_part({f('cs-uri')}, '?', 2), ''))",
            "status": f"try_cast({f('sc-status')} AS SMALLINT)",
            "bytes": f"try_cast({f('sc-bytes')} AS BIGINT)",
            "duration_ms": f"try_cast({f('time-taken')} AS DOUBLE)",
            "client": f('c-ip'),
            "user_agent": f"replace({f('cs(User-Agent)')}, '+', ' ')",
            "referer": f('cs(Referer)'),
        },
        windowed=True,
        aliases=("iis",),
    )


def build(json_overrides: dict[str, list[str]] | None = None) -> dict[str, Format]:
    """All formats by name (the JSON ones use the field mapping with `json_overrides` first)."""
    from strangler import formats_json, formats_otel, formats_text  # they build on the pieces above

    fields = json_fields(json_overrides)
    fmts = [
        _clf("common", "NCSA common: host ident user [time] \"request\" status bytes", False, None, ("clf",)),
        _clf(
            "combined",
            "Apache/nginx/gunicorn combined: common + \"referer\" \"user-agent\" (+ extra fields)",
            True,
            None,
            ("apache", "nginx", "gunicorn"),
        ),
        _clf(
            "combined_s",
            "combined + request time in seconds as the last field (nginx $request_time, Apache %T, gunicorn %(L)s)",
            True,
            "s",
            ("nginx_timed", "gunicorn_L", "apache_T"),
        ),
        _clf("combined_ms", "combined + request time in milliseconds (Apache %{ms}T)", True, "ms", ("apache_ms",)),
        _clf(
            "combined_us",
            "combined + request time in microseconds (Apache %D, gunicorn %(D)s)",
            True,
            "us",
            ("gunicorn_D", "apache_D"),
        ),
        _uvicorn(),
        _json(
            "json",
            "JSON lines (nginx escape=json, structlog); field mapping in strangler.formats.JSON_FIELDS",
            fields,
            generic=True,
            aliases=("nginx_json", "structlog"),
        ),
        _json(
            "strangler",
            "strangler's router log: JSON lines with ts, route, backend, db_ms, ...",
            fields,
            require="backend IN ('flask', 'fastapi')",
            aliases=("router",),
        ),
        _w3c(),
        *formats_text.build(),
        *formats_json.build(),
        formats_otel.otel(),
    ]
    return {f.name: f for f in fmts}


_BUILT: dict[str, dict] = {}


def __getattr__(name: str) -> dict:
    """FORMATS (name -> Format) and ALIASES (alias -> name), built on first use: the producers' modules import
    the pieces above, so building them at import time would depend on which module was imported first."""
    if name not in ("FORMATS", "ALIASES"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _BUILT:
        fmts = build()
        _BUILT.update(FORMATS=fmts, ALIASES={alias: f.name for f in fmts.values() for alias in f.aliases})
    return _BUILT[name]


def resolve(name: str) -> str:
    """Canonical format name for a name or alias given by the user; 'auto' stays 'auto'."""
    fmts, aliases = __getattr__("FORMATS"), __getattr__("ALIASES")
    if name == "auto" or name in fmts:
        return name
    if name in aliases:
        return aliases[name]
    raise StranglerError(
        f"unknown log format {name!r}; choose auto or one of: "
        + ", ".join(sorted(fmts))
        + " (aliases: "
        + ", ".join(sorted(aliases))
        + ")"
    )
