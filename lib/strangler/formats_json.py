"""JSON access logs that a known producer writes: each field is read at its real path in the object
(`request.method`), never by a key name found somewhere in it.

Caddy's access log, Traefik's JSON access log, and Google Cloud HTTP(S) load balancer / Cloud Run request logs
exported as JSON lines (a Logging sink to Cloud Storage writes one LogEntry per line). OpenTelemetry traces live
in `strangler.formats_otel`.
"""

from __future__ import annotations

from collections.abc import Callable

from strangler.formats import JSON_MAYBE, JSON_OBJECT, Format, json_path, json_ts, target_path, target_query

_NUM = "regexp_full_match({v}, '-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?')"
_INT = "regexp_full_match({v}, '\\d{{1,3}}')"


def _paths(paths: dict[str, str]) -> tuple[dict[str, str], Callable[[str], str]]:
    """The prep layer that extracts `paths` (name -> dotted path) in one call, and `v(name)` for its SQL."""
    names = list(paths)
    jp = "[" + ", ".join("'" + json_path(p).replace("'", "''") + "'" for p in paths.values()) + "]"
    layer = {"j": f"CASE WHEN {JSON_OBJECT} THEN json_extract_string(line, {jp}) END"}
    return layer, lambda name: f"nullif(j[{names.index(name) + 1}], '')"


def _num_ok(v: str) -> str:
    return f"({v} IS NULL OR {_NUM.format(v=v)})"


def _producer(
    name: str,
    description: str,
    paths: dict[str, str],
    valid: Callable[[Callable[[str], str]], str],
    columns: Callable[[Callable[[str], str]], dict[str, str]],
    numbers: list[tuple[str, str]],
    **kw,
) -> Format:
    """A JSON producer: `valid` and `columns` are given the `v(name)` accessor; the `numbers` must be numbers
    when present (else the line is a reject `bad_<column>`, not a NULL)."""
    layer, v = _paths(paths)
    late = [(f"NOT {_num_ok(v(n))}", f"bad_{col}") for n, col in numbers]
    return Format(
        name,
        description,
        [layer],
        valid(v),
        columns(v),
        invalid_reason="not_a_request",
        maybe=JSON_MAYBE,
        extra_invalid=[("j IS NULL", "bad_json")],
        late_invalid=late,
        **kw,
    )


# deliberate: caddy and traefik_json (and the other producers here) are declarations of different fields in the
# same shape; _producer already holds the shared logic
def caddy() -> Format:
    paths = {
        "ts": "ts",
        "logger": "logger",
        "method": "request.method",
        "uri": "request.uri",
        "client_ip": "request.client_ip",
        "remote_ip": "request.remote_ip",
        "ua": "request.headers.User-Agent[0]",
        "referer": "request.headers.Referer[0]",
        "status": "status",
        "size": "size",
        "duration": "duration",
    }
    return _producer(
        "caddy",
        "Caddy's JSON access log: request.method/uri/headers, status (0 on 'NOP' lines), size, duration in s",
        paths,
        lambda v: (
            f"starts_with({v('logger')}, 'http.log.access') AND {v('method')} IS NOT NULL "
            f"AND {v('uri')} IS NOT NULL AND {_INT.format(v=v('status'))}"
        ),
        lambda v: {
            "ts": json_ts(v("ts")),
            "method": f"upper({v('method')})",
            "path": target_path(v("uri")),
            "query": target_query(v("uri")),
            "status": f"{v('status')}::SMALLINT",
            "bytes": f"try_cast({v('size')} AS DOUBLE)::BIGINT",
            "duration_ms": f"try_cast({v('duration')} AS DOUBLE) * 1000",
            "client": f"coalesce({v('client_ip')}, {v('remote_ip')})",
            "user_agent": v("ua"),
            "referer": v("referer"),
        },
        [("size", "bytes"), ("duration", "duration_ms")],
        status_zero=True,  # Caddy logs 'NOP' with status 0 when no handler wrote a response
        aliases=("caddy_json",),
    )


# deliberate: same declaration shape as caddy, other fields; see the note above caddy
def traefik_json() -> Format:
    paths = {
        "start": "StartUTC",
        "method": "RequestMethod",
        "target": "RequestPath",
        "status": "DownstreamStatus",
        "size": "DownstreamContentSize",
        "duration": "Duration",
        "client": "ClientHost",
        "ua": "request_User-Agent",
        "referer": "request_Referer",
    }
    return _producer(
        "traefik_json",
        "Traefik's JSON access log: RequestMethod, RequestPath, DownstreamStatus, Duration in ns, StartUTC",
        paths,
        lambda v: (
            f"{v('method')} IS NOT NULL AND {v('target')} IS NOT NULL AND {_INT.format(v=v('status'))} "
            f"AND {v('duration')} IS NOT NULL"
        ),
        lambda v: {
            "ts": json_ts(v("start")),
            "method": f"upper({v('method')})",
            "path": target_path(v("target")),
            "query": target_query(v("target")),
            "status": f"{v('status')}::SMALLINT",
            "bytes": f"try_cast({v('size')} AS DOUBLE)::BIGINT",
            "duration_ms": f"try_cast({v('duration')} AS DOUBLE) / 1e6",
            "client": v("client"),
            "user_agent": v("ua"),
            "referer": v("referer"),
        },
        [("size", "bytes"), ("duration", "duration_ms")],
        status_zero=True,  # websockets and aborted requests: DownstreamStatus 0
    )


def gcp() -> Format:
    paths = {
        "ts": "timestamp",
        "method": "httpRequest.requestMethod",
        "url": "httpRequest.requestUrl",
        "status": "httpRequest.status",
        "size": "httpRequest.responseSize",
        "latency": "httpRequest.latency",
        "client": "httpRequest.remoteIp",
        "ua": "httpRequest.userAgent",
        "referer": "httpRequest.referer",
    }

    def valid(v: Callable[[str], str]) -> str:
        lat = v("latency")
        return (
            f"{v('method')} IS NOT NULL AND {v('url')} IS NOT NULL AND {_INT.format(v=v('status'))} "
            f"AND ({lat} IS NULL OR regexp_full_match({lat}, '\\d+(\\.\\d+)?s'))"
        )

    return _producer(
        "gcp",
        "Google Cloud HTTP(S) load balancer / Cloud Run request logs as JSON lines: httpRequest.*, latency '0.12s'",
        paths,
        valid,
        lambda v: {
            "ts": json_ts(v("ts")),
            "method": f"upper({v('method')})",
            "path": target_path(v("url")),
            "query": target_query(v("url")),
            "status": f"{v('status')}::SMALLINT",
            "bytes": f"try_cast({v('size')} AS DOUBLE)::BIGINT",
            "duration_ms": f"rtrim({v('latency')}, 's')::DOUBLE * 1000",
            "client": v("client"),
            "user_agent": v("ua"),
            "referer": v("referer"),
        },
        [("size", "bytes")],
        aliases=("cloud_run", "gcp_lb", "google_cloud"),
    )


def build() -> list[Format]:
    """The JSON producers' formats."""
    return [caddy(), traefik_json(), gcp()]
