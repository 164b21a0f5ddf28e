"""Access-log formats: how to recognise each one from a file's first lines, and the SQL that parses it.

Every format is a set of DuckDB SQL expressions over one column `line` (one physical line, CR stripped).
`prep` computes helpers once per line, `valid` says whether the line has the format's layout, and `columns`
gives each `requests` column. Python never touches a line beyond the few sample lines used for detection.
"""

from __future__ import annotations

import json
import re
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


# --- shared SQL pieces --------------------------------------------------------------------------------------


def _unescape(expr: str) -> str:
    """Undo the placeholders of escaped quotes and backslashes in one extracted field (lines with a backslash)."""
    return f"CASE WHEN esc THEN replace(replace({expr}, '{_QUOTE}', '\"'), '{_BSLASH}', '\\') ELSE {expr} END"


def _dash(expr: str) -> str:
    """'-' (and '') mean missing in access logs."""
    return f"CASE WHEN {expr} IN ('-', '') THEN NULL ELSE {expr} END"


def _target_path(target: str) -> str:
    """Path of a request target: absolute-form URLs lose scheme and host, the query string is cut off."""
    t = (
        f"CASE WHEN starts_with({target}, '/') THEN {target} WHEN {target} ILIKE 'http%://%' "
        f"THEN regexp_replace({target}, '^[A-Za-z]+://[^/?]*', '') ELSE {target} END"
    )
    return f"nullif(split_part({t}, '?', 1), '')"


def _target_query(target: str) -> str:
    return f"CASE WHEN contains({target}, '?') THEN substr({target}, strpos({target}, '?') + 1) END"


_METHOD_OK = (
    "CASE {m} WHEN 'GET' THEN true WHEN 'POST' THEN true WHEN 'HEAD' THEN true "  # a CASE, not IN:
    "ELSE regexp_full_match({m}, '[A-Za-z]{{1,20}}') END"
)  # IN becomes a join


def request_layers(req: str) -> list[dict[str, str]]:
    """Helper layers that split a request line such as 'GET /a?b=1 HTTP/1.1' into rq_m and rq_t."""
    return [
        {"rq": req},
        {"rq_p": "string_split(rq, ' ')"},
        {"rq_m": "rq_p[1]", "rq_t": "rq_p[2]"},
        {"rq_ok": _METHOD_OK.format(m="rq_m") + " AND rq_t <> ''"},
    ]


_REQUEST_COLUMNS = {  # method/path/query over the request layers ('-' or garbage: all NULL)
    "method": "CASE WHEN rq_ok THEN upper(rq_m) END",
    "path": f"CASE WHEN rq_ok THEN {_target_path('rq_t')} END",
    "query": f"CASE WHEN rq_ok THEN {_target_query('rq_t')} END",
}


# --- NCSA common / combined family (Apache, nginx, gunicorn) ------------------------------------------------

_CLF_HEAD = r'^\S+ \S+ \S+ \[[^\]]*\] "[^"]*" \d{3} (?:\d+|-)'
_QUOTED = r'"[^"]*"'
_TRAIL = r'(?: (?:"[^"]*"|[^" ]+))*'  # extra fields after the known ones (X-Forwarded-For, ...)
_TIME = r'(?:\d+(?:\.\d*)?|-)'
_UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001}


def _clf(name: str, description: str, agent: bool, unit: str | None) -> Format:
    layout = _CLF_HEAD
    if agent:
        layout += f" {_QUOTED} {_QUOTED}"
        if unit:
            layout += f" {_TIME}"
    layout += _TRAIL + "$"
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
        "strlen(c7) = 3",
        "try_cast(c7 AS SMALLINT) >= 100",
        "(c8 = '-' OR try_cast(c8 AS BIGINT) IS NOT NULL)",
    ]  # a ts that does not parse: _drop_bad_ts
    if agent:
        csv_cols["referer"] = "CASE WHEN c9 = '-' THEN NULL ELSE c9 END"
        csv_cols["user_agent"] = "CASE WHEN c10 = '-' THEN NULL ELSE c10 END"
        valid.append("c10 IS NOT NULL")
    if unit:
        csv_cols["duration_ms"] = f"try_cast(c11 AS DOUBLE) * {_UNITS[unit]}"
        valid.append("(c11 = '-' OR try_cast(c11 AS DOUBLE) IS NOT NULL)")
    return Format(
        name,
        description,
        prep,
        f"regexp_full_match(l2, '{layout}')",
        cols,
        valid_line=f"regexp_full_match(line, '{raw_layout}')",
        csv_columns=csv_cols,
        csv_valid=" AND ".join(valid),
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


def _json_path(key: str) -> str:
    """'a.b' -> '$."a"."b"' (keys are options the user wrote, never log content)."""
    if '"' in key or "\\" in key:
        raise StranglerError(f"JSON field name {key!r} may not contain quotes or backslashes")
    return "$." + ".".join(f'"{part}"' for part in key.split("."))


def json_fields(overrides: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """The JSON field mapping with the user's overrides put first (column -> keys)."""
    fields = {k: list(v) for k, v in JSON_FIELDS.items()}
    for col, keys in (overrides or {}).items():
        if col not in fields:
            raise StranglerError(f"unknown JSON field column {col!r}; choose from {', '.join(fields)}")
        fields[col] = list(keys) + [k for k in fields[col] if k not in keys]
    return fields


def _json(name: str, description: str, fields: dict[str, list[str]]) -> Format:
    paths: list[str] = []
    pick: dict[str, list[tuple[int, str]]] = {}
    for col, keys in fields.items():
        for key in keys:
            key, _, unit = key.partition(":")
            if col == "duration_ms" and not unit:
                unit = "ms" if key.endswith("_ms") else "us" if key.endswith("_us") else "s"
            if unit and unit not in _UNITS:
                raise StranglerError(f"unknown duration unit {unit!r} in JSON field {key!r}; use s, ms or us")
            paths.append(_json_path(key))
            pick.setdefault(col, []).append((len(paths), unit))
    jp = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"

    def first(col: str) -> str:
        return "coalesce(" + ", ".join(f"nullif(j[{i}], '')" for i, _ in pick[col]) + ")"

    dur = "coalesce(" + ", ".join(f"try_cast(j[{i}] AS DOUBLE) * {_UNITS[u]}" for i, u in pick["duration_ms"]) + ")"
    ts = first("ts")
    ts_sql = (
        f"CASE WHEN {ts} IS NULL THEN NULL "
        f"WHEN try_cast({ts} AS DOUBLE) IS NOT NULL THEN to_timestamp(try_cast({ts} AS DOUBLE)) "
        f"WHEN regexp_matches({ts}, '^\\d+/[A-Za-z]+/\\d+:') THEN try_strptime({ts}, '%d/%b/%Y:%H:%M:%S %z') "
        f"WHEN regexp_matches({ts}, '(Z|[+-]\\d\\d:?\\d\\d)$') THEN try_cast({ts} AS TIMESTAMPTZ) "
        f"ELSE timezone($tz, try_cast({ts} AS TIMESTAMP)) END"
    )
    req = first("request")
    target = f"coalesce({first('target')}, split_part({req}, ' ', 2))"
    cols = {
        "ts": ts_sql,
        "method": f"upper(coalesce({first('method')}, nullif(split_part({req}, ' ', 1), '')))",
        "path": _target_path(target),
        "query": f"coalesce({first('query')}, {_target_query(target)})",
        "status": f"try_cast(try_cast({first('status')} AS DOUBLE) AS SMALLINT)",
        "bytes": f"try_cast(try_cast({first('bytes')} AS DOUBLE) AS BIGINT)",
        "duration_ms": dur,
        "client": first("client"),
        "user_agent": first("user_agent"),
        "referer": first("referer"),
        "request_id": first("request_id"),
        "backend": first("backend"),
        "logged_route": first("logged_route"),
        "db_ms": f"try_cast({first('db_ms')} AS DOUBLE)",
        "db_queries": f"try_cast(try_cast({first('db_queries')} AS DOUBLE) AS INTEGER)",
    }
    is_obj = "(json_valid(line) AND json_type(line) = 'OBJECT')"
    return Format(
        name,
        description,
        [{"j": f"CASE WHEN {is_obj} THEN json_extract_string(line, {jp}) END"}],
        f"try_cast(try_cast({first('status')} AS DOUBLE) AS SMALLINT) IS NOT NULL",
        cols,
        ts_required=False,
        invalid_reason="not_a_request",
        # the router log's event records (strangler.accesslog.event_line) are not requests: kept as rejects
        extra_invalid=[("j IS NULL", "bad_json")]
        + ([("starts_with(line, '{\"type\":\"pilot\",')", "router_event")] if name == "strangler" else []),
    )


# --- AWS ALB ---------------------------------------------------------------------------------------------------

_ALB = r'^(\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\d+|-) (\d+|-) "([^"]*)" "([^"]*)"(?: .*)?$'
_ALB_NAMES = [
    "type",
    "time",
    "elb",
    "client",
    "target",
    "t_req",
    "t_target",
    "t_resp",
    "status",
    "target_status",
    "received",
    "sent",
    "request",
    "ua",
]


def _alb() -> Format:
    x = f"regexp_extract(line, '{_ALB}', {_ALB_NAMES!r})"
    times = ["x.t_req", "x.t_target", "x.t_resp"]
    dur = (
        f"CASE WHEN {' AND '.join(f'try_cast({t} AS DOUBLE) >= 0' for t in times)} "
        f"THEN ({' + '.join(f'try_cast({t} AS DOUBLE)' for t in times)}) * 1000 END"
    )
    return Format(
        "alb",
        "AWS Application Load Balancer access log (space separated, request_processing_time etc. in s)",
        [{"x": x}, *request_layers("x.request")],
        f"regexp_full_match(line, '{_ALB}')",
        {
            "ts": "try_cast(x.time AS TIMESTAMPTZ)",
            **_REQUEST_COLUMNS,
            "status": "try_cast(x.status AS SMALLINT)",
            "bytes": "try_cast(x.sent AS BIGINT)",
            "duration_ms": dur,
            "client": "regexp_replace(x.client, ':\\d+$', '')",
            "user_agent": _dash("x.ua"),
        },
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
    )


def build(json_overrides: dict[str, list[str]] | None = None) -> dict[str, Format]:
    """All formats by name (the JSON ones use the field mapping with `json_overrides` first)."""
    fields = json_fields(json_overrides)
    fmts = [
        _clf("common", "NCSA common: host ident user [time] \"request\" status bytes", False, None),
        _clf(
            "combined",
            "Apache/nginx/gunicorn combined: common + \"referer\" \"user-agent\" (+ extra fields)",
            True,
            None,
        ),
        _clf(
            "combined_s",
            "combined + request time in seconds (nginx $request_time, Apache %T, gunicorn %(L)s)",
            True,
            "s",
        ),
        _clf("combined_ms", "combined + request time in milliseconds", True, "ms"),
        _clf("combined_us", "combined + request time in microseconds (Apache %D, gunicorn %(D)s)", True, "us"),
        _uvicorn(),
        _json(
            "json", "JSON lines (nginx escape=json, structlog); field mapping in strangler.formats.JSON_FIELDS", fields
        ),
        _json("strangler", "strangler's router log: JSON lines with ts, route, backend, db_ms, ...", fields),
        _alb(),
        _w3c(),
    ]
    return {f.name: f for f in fmts}


FORMATS = build()

ALIASES = {
    "apache": "combined",
    "nginx": "combined",
    "gunicorn": "combined",
    "clf": "common",
    "nginx_timed": "combined_s",
    "gunicorn_L": "combined_s",
    "gunicorn_D": "combined_us",
    "apache_D": "combined_us",
    "apache_T": "combined_s",
    "nginx_json": "json",
    "structlog": "json",
    "router": "strangler",
    "iis": "w3c",
    "aws_alb": "alb",
}


def resolve(name: str) -> str:
    """Canonical format name for a name or alias given by the user; 'auto' stays 'auto'."""
    if name == "auto" or name in FORMATS:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise StranglerError(
        f"unknown log format {name!r}; choose auto or one of: "
        + ", ".join(sorted(FORMATS))
        + " (aliases: "
        + ", ".join(sorted(ALIASES))
        + ")"
    )


# --- detection from the first lines ---------------------------------------------------------------------------

_RE_CLF = re.compile(r'^\S+ \S+ \S+ \[[^\]]*\] "(?:[^"\\]|\\.)*" \d{3} (?:\d+|-)(?P<rest>.*)$')
_RE_AGENT = re.compile(r'^ "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*"(?: (?P<time>\S+))?')
_RE_UVICORN = re.compile(_UVICORN)
_RE_ALB = re.compile(r"^(?:http|https|h2|grpcs|ws|wss) \d{4}-\d\d-\d\dT\S+Z \S+ \S+:\d+ ")


def _time_unit(values: list[str]) -> str | None:
    """Unit of a trailing request-time field from sample values: decimals are seconds, large integers µs."""
    nums = [v for v in values if re.fullmatch(r"\d+(?:\.\d*)?", v)]
    if not nums or len(nums) < len(values) * 0.8:
        return None
    if any("." in v for v in nums):
        return "s"
    return "us" if max(int(v) for v in nums) >= 10 else "s"


def detect(sample: list[str]) -> str | None:
    """The format of a file from its first lines (blank and '#' lines aside), or None if nothing fits."""
    if any(s.startswith(("#Fields:", "#Software: Microsoft")) for s in sample):
        return "w3c"
    lines = [s for s in sample if s.strip() and not s.startswith("#")][:50]
    if not lines:
        return None
    need = max(1, (len(lines) + 1) // 2)
    objs = []
    for s in lines:
        if s.lstrip().startswith("{"):
            try:
                obj = json.loads(s)
            except ValueError:
                continue
            if isinstance(obj, dict):
                objs.append(obj)
    if len(objs) >= need:
        keys = set().union(*objs)
        return "strangler" if {"route", "backend", "ts"} <= keys else "json"
    if sum(bool(_RE_ALB.match(s)) for s in lines) >= need:
        return "alb"
    clf = [m for m in map(_RE_CLF.match, lines) if m]
    if len(clf) >= need:
        agents = [a for a in (_RE_AGENT.match(m["rest"]) for m in clf) if a]
        if len(agents) < len(clf) * 0.8:
            return "common"
        unit = _time_unit([a["time"] for a in agents if a["time"]]) if all(a["time"] for a in agents) else None
        return f"combined_{unit}" if unit else "combined"
    if sum(bool(_RE_UVICORN.match(s)) for s in lines) >= need:
        return "uvicorn"
    return None
