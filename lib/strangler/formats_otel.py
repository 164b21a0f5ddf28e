"""OpenTelemetry traces as the Collector's `file` exporter writes them: OTLP JSON, one export request per line
(resourceSpans -> scopeSpans -> spans), often many spans per line.

Each SERVER span (kind 2) with an HTTP method is a request: method, path, query and status from either the old
(`http.method`, `http.target`, `http.status_code`) or the stable (`http.request.method`, `url.path`, `url.query`,
`http.response.status_code`) attribute names, `http.route` as `logged_route`, the trace id as `request_id`, the
span's start and length as `ts` and `duration_ms`. The CLIENT spans with `db.system` (or `db.system.name`) whose
nearest SERVER ancestor is that span give `db_ms` (their durations added up) and `db_queries` (how many), wherever
in the file they are; NULL when the file holds none. A line may hold several requests, so for this format a
source's `lines` are the lines with requests plus the rejects.
"""

from __future__ import annotations

from strangler.formats import JSON_MAYBE, JSON_OBJECT, Format, target_path, target_query

OBJ = JSON_OBJECT
SPANS = f"json_extract(CASE WHEN {OBJ} THEN line END, '$.resourceSpans[*].scopeSpans[*].spans[*]')"  # NULL: not JSON
SERVER = "('2', 'SPAN_KIND_SERVER')"
CLIENT = "('3', 'SPAN_KIND_CLIENT')"
_VALUE = (
    "coalesce(json_extract_string(a, '$.value.stringValue'), json_extract_string(a, '$.value.intValue'), "
    "json_extract_string(a, '$.value.doubleValue'), json_extract_string(a, '$.value.boolValue'))"
)


def attrs(span: str) -> str:
    """SQL: a span's attributes as a list of {k, v} (v the value as text, whatever its type)."""
    return (
        f"list_transform(coalesce(json_extract({span}, '$.attributes[*]'), []), "
        f"lambda a: {{'k': json_extract_string(a, '$.key'), 'v': {_VALUE}}})"
    )


def attr(a: str, *keys: str) -> str:
    """SQL: the first of `keys` that the attribute list `a` holds."""
    return "coalesce(" + ", ".join(f"list_filter({a}, lambda x: x.k = '{k}')[1].v" for k in keys) + ")"


def _nanos(span: str, key: str) -> str:
    return f"try_cast(json_extract_string({span}, '$.{key}') AS HUGEINT)"


def span_columns(span: str, a: str) -> dict[str, str]:
    """The request columns of a SERVER span `span` (JSON) with attribute list `a`."""
    t0, t1 = _nanos(span, "startTimeUnixNano"), _nanos(span, "endTimeUnixNano")
    target = attr(a, "http.target")
    return {
        "ts": f"timezone('UTC', make_timestamp(({t0} // 1000)::BIGINT))",
        "method": f"upper({attr(a, 'http.request.method', 'http.method')})",
        "path": f"coalesce({attr(a, 'url.path')}, {target_path(target)})",
        "query": f"coalesce({attr(a, 'url.query')}, {target_query(target)})",
        "status": f"try_cast({attr(a, 'http.response.status_code', 'http.status_code')} AS SMALLINT)",
        "bytes": f"try_cast({attr(a, 'http.response.body.size', 'http.response_content_length')} AS BIGINT)",
        "duration_ms": f"({t1} - {t0}) / 1e6",
        "client": attr(a, "client.address", "http.client_ip", "net.sock.peer.addr", "net.peer.ip"),
        "user_agent": attr(a, "user_agent.original", "http.user_agent"),
        "request_id": f"json_extract_string({span}, '$.traceId')",
        "logged_route": attr(a, "http.route"),
    }


def _is_http_server(span: str) -> str:
    a = attrs(span)
    return (
        f"json_extract_string({span}, '$.kind') IN {SERVER} "
        f"AND {attr(a, 'http.request.method', 'http.method')} IS NOT NULL"
    )


def spans_sql(lines: str, columns: list[str]) -> str:
    """Every HTTP SERVER span of `lines` (line_no, line, flag) as (line_no, <columns>), with db_ms and db_queries
    from the database CLIENT spans below it in the whole of `lines`."""
    cols = span_columns("s", "a")
    pick = ", ".join(
        "agg.db_ms" if c == "db_ms" else "agg.db_queries" if c == "db_queries" else f"{cols.get(c, 'NULL')}"
        for c in columns
    )
    return f"""
        WITH RECURSIVE raw AS (
            SELECT line_no, unnest({SPANS}) AS s FROM ({lines})
            WHERE flag IS NULL AND {OBJ}
        ), sp AS (
            SELECT line_no, s, {attrs("s")} AS a, json_extract_string(s, '$.traceId') AS trace,
                   json_extract_string(s, '$.spanId') AS id, nullif(json_extract_string(s, '$.parentSpanId'), '') AS parent,
                   json_extract_string(s, '$.kind') AS kind
            FROM raw
        ), db AS (
            SELECT trace, id, parent, ({_nanos("s", "endTimeUnixNano")} - {_nanos("s", "startTimeUnixNano")}) / 1e6 AS ms
            FROM sp WHERE kind IN {CLIENT} AND {attr("a", "db.system", "db.system.name")} IS NOT NULL
        ), up AS (
            SELECT id AS db_id, trace, parent AS at, ms, 0 AS depth FROM db
            UNION ALL
            SELECT up.db_id, up.trace, p.parent, up.ms, up.depth + 1
            FROM up JOIN sp p ON p.trace = up.trace AND p.id = up.at
            WHERE p.kind NOT IN {SERVER} AND up.depth < 64
        ), agg AS (
            SELECT up.trace, up.at AS server, sum(up.ms) AS db_ms, count(*)::INTEGER AS db_queries
            FROM up JOIN sp s ON s.trace = up.trace AND s.id = up.at AND s.kind IN {SERVER}
            GROUP BY ALL
        )
        SELECT sp.line_no, {pick}
        FROM (SELECT * FROM sp WHERE kind IN {SERVER} AND {attr("a", "http.request.method", "http.method")} IS NOT NULL) sp
        LEFT JOIN agg ON agg.trace = sp.trace AND agg.server = sp.id
    """


def otel() -> Format:
    first = f"list_filter({SPANS}, lambda s: {_is_http_server('s')})[1]"
    obj = OBJ
    return Format(
        "otel",
        "OpenTelemetry traces from the Collector's file exporter (OTLP JSON lines): each HTTP SERVER span is a "
        "request; http.route, and db_ms/db_queries from its database CLIENT spans",
        [{"sp": f"CASE WHEN {obj} THEN {first} END"}, {"a": attrs("sp")}],
        "sp IS NOT NULL",
        span_columns("sp", "a"),
        invalid_reason="not_a_request",
        extra_invalid=[(f"NOT {obj}", "bad_json")],
        maybe=JSON_MAYBE,
        spans=spans_sql,
        aliases=("opentelemetry", "otlp_json"),
    )
