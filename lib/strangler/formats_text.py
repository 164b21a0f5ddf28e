"""Text access logs that a known producer writes in its own layout, each read by one whole-line pattern in SQL.

Layouts as each producer documents them: AWS classic ELB and ALB, Traefik's CLF, Envoy's default format, HAProxy's
HTTP log, LTSV (the keys nginx users and alp write), nginx combined followed by key=value timings, Werkzeug's
development server, and CloudFront standard logs. Every format here is checked line by line by the generic
checks of `strangler.parse_sql` as well.
"""

from __future__ import annotations

from strangler.formats import Format, by_regex, dash, target_path, target_query, unbackslash

Q = r'"((?:[^"\\]|\\.)*)"'  # a quoted field whose quotes and backslashes are escaped with a backslash
CLF_TIME = "try_strptime({t}, '%d/%b/%Y:%H:%M:%S %z')"


def _seconds_sum(times: list[str]) -> str:
    """Milliseconds from processing times in seconds, added up; NULL when one is -1 (the producer's 'none')."""
    return (
        f"CASE WHEN {' AND '.join(f'try_cast({t} AS DOUBLE) >= 0' for t in times)} "
        f"THEN ({' + '.join(f'try_cast({t} AS DOUBLE)' for t in times)}) * 1000 END"
    )


# --- AWS ---------------------------------------------------------------------------------------------------------

_ISO_Z = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"
_T = r"(-1|\d+(?:\.\d+)?)"


# deliberate: elb and nginx_kv (and the other formats here) declare different columns in the same shape
def elb() -> Format:
    # timestamp elb client:port backend:port request_processing_time backend_processing_time
    # response_processing_time elb_status_code backend_status_code received_bytes sent_bytes "request" "user_agent"
    # ssl_cipher ssl_protocol
    pattern = (
        rf"^{_ISO_Z} (\S+) (\S+):(\d+) (\S+) {_T} {_T} {_T} (\d{{3}}|-) (\d{{3}}|-) (\d+) (\d+) {Q} {Q} (\S+) (\S+)$"
    )
    names = ["time", "elb", "client", "port", "backend", "t1", "t2", "t3", "status", "bstatus", "recv", "sent"]
    names += ["request", "ua", "cipher", "tls"]
    return by_regex(
        "elb",
        "AWS classic Elastic Load Balancer: absolute URL in the request line, the three processing times (s) added",
        pattern,
        names,
        {
            "ts": "try_cast(x.time AS TIMESTAMPTZ)",
            "status": "try_cast(x.status AS SMALLINT)",
            "bytes": "x.sent::BIGINT",
            "duration_ms": _seconds_sum(["x.t1", "x.t2", "x.t3"]),
            "client": "x.client",
            "user_agent": dash(unbackslash("x.ua")),
        },
        unbackslash("x.request"),
        aliases=("aws_elb", "elb_classic"),
    )


def alb() -> Format:
    # type time elb client:port target:port request_processing_time target_processing_time response_processing_time
    # elb_status_code target_status_code received_bytes sent_bytes "request" "user_agent" ... (more fields follow)
    pattern = (
        rf"^(http|https|h2|grpcs|ws|wss) {_ISO_Z} (\S+) (\S+):(\d+) (\S+) {_T} {_T} {_T} (\d{{3}}|-) (\S+) "
        rf"(\d+|-) (\d+|-) {Q} {Q}(?: .*)?$"
    )
    names = ["type", "time", "elb", "client", "port", "target", "t1", "t2", "t3", "status", "tstatus", "recv"]
    names += ["sent", "request", "ua"]
    return by_regex(
        "alb",
        "AWS Application Load Balancer: absolute URL in the request line, the three processing times (s) added",
        pattern,
        names,
        {
            "ts": "try_cast(x.time AS TIMESTAMPTZ)",
            "status": "try_cast(x.status AS SMALLINT)",
            "bytes": "try_cast(x.sent AS BIGINT)",
            "duration_ms": _seconds_sum(["x.t1", "x.t2", "x.t3"]),
            "client": "x.client",
            "user_agent": dash(unbackslash("x.ua")),
        },
        unbackslash("x.request"),
        aliases=("aws_alb",),
    )


def cloudfront() -> Format:
    """CloudFront standard log: tab separated, fields in the documented order (new fields are appended)."""
    f = {
        "date": 1,
        "time": 2,
        "bytes": 4,
        "ip": 5,
        "method": 6,
        "stem": 8,
        "status": 9,
        "referer": 10,
        "ua": 11,
        "query": 12,
        "request_id": 15,
        "taken": 19,
    }
    v = {k: f"t[{i}]" for k, i in f.items()}
    valid = (
        f"len(t) >= 19 AND regexp_full_match({v['date']}, '\\d{{4}}-\\d\\d-\\d\\d') "
        f"AND regexp_full_match({v['time']}, '\\d\\d:\\d\\d:\\d\\d') AND regexp_full_match({v['status']}, '\\d{{3}}') "
        f"AND regexp_full_match({v['taken']}, '\\d+(\\.\\d+)?') AND regexp_full_match({v['bytes']}, '\\d+')"
    )
    return Format(
        "cloudfront",
        "Amazon CloudFront standard log: tab separated after '#Fields:', UTC, time-taken in s; status 000 kept as 0",
        [{"t": "string_split(line, chr(9))"}],
        valid,
        {
            "ts": f"try_cast({v['date']} || ' ' || {v['time']} || 'Z' AS TIMESTAMPTZ)",
            "method": f"upper({v['method']})",
            "path": v["stem"],
            "query": dash(v["query"]),
            "status": f"{v['status']}::SMALLINT",
            "bytes": f"{v['bytes']}::BIGINT",
            "duration_ms": f"{v['taken']}::DOUBLE * 1000",
            "client": v["ip"],
            "user_agent": dash(v["ua"]),
            "referer": dash(v["referer"]),
            "request_id": dash(v["request_id"]),
        },
        status_zero=True,  # 000: the viewer closed the connection before CloudFront answered
        maybe="contains(line, chr(9))",
        aliases=("aws_cloudfront",),
    )


# --- proxies -------------------------------------------------------------------------------------------------------


def traefik() -> Format:
    # <ip> - <user> [<time>] "<method> <path> <proto>" <status> <size> "<referer>" "<ua>" <count> "<router>"
    # "<server URL>" <duration>ms   (Go's %q quoting: \" and \\ inside the quotes)
    pattern = rf'^(\S+) (\S+) (\S+) \[([^\]]+)\] {Q} (\d{{1,3}}) (\d+|-) {Q} {Q} (\d+) {Q} {Q} (\d+)ms$'
    names = ["client", "ident", "user", "time", "request", "status", "size", "referer", "ua", "count", "router"]
    names += ["service", "ms"]
    return by_regex(
        "traefik",
        "Traefik's CLF access log: combined + request count, \"router\" \"service URL\" and the duration in ms",
        pattern,
        names,
        {
            "ts": CLF_TIME.format(t="x.time"),
            "status": "x.status::SMALLINT",
            "bytes": "try_cast(x.size AS BIGINT)",
            "duration_ms": "x.ms::DOUBLE",
            "client": "x.client",
            "user_agent": dash(unbackslash("x.ua")),
            "referer": dash(unbackslash("x.referer")),
        },
        unbackslash("x.request"),
        status_zero=True,  # a websocket that was hijacked is logged with status 0
        aliases=("traefik_clf", "traefik_common"),
    )


def envoy() -> Format:
    # [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
    # %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
    # "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
    pattern = (
        r'^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\] "([^"]*)" (\d{1,3}) (\S+) (\d+) (\d+) '
        r'(\d+) (\d+|-) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"(?: .*)?$'
    )
    names = ["time", "request", "status", "flags", "received", "sent", "ms", "upstream_ms", "xff", "ua", "rid"]
    names += ["authority", "upstream"]
    return by_regex(
        "envoy",
        "Envoy's default access log format: [start] \"request\" code flags bytes in/out duration (ms) ...",
        pattern,
        names,
        {
            "ts": "try_cast(x.time AS TIMESTAMPTZ)",
            "status": "x.status::SMALLINT",
            "bytes": "x.sent::BIGINT",
            "duration_ms": "x.ms::DOUBLE",
            "user_agent": dash("x.ua"),
            "request_id": dash("x.rid"),
        },
        "x.request",
        status_zero=True,  # Envoy: 0 means the upstream never sent the start of a response
    )


def haproxy() -> Format:
    # [syslog prefix] haproxy[pid]: client:port [accept_date] frontend backend/server Tq/Tw/Tc/Tr/Ta status bytes
    # cookie cookie termination actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue [{hdrs}] "request"
    pattern = (
        r"^(?:[^\[]*\[\d+\]: )?(\S+):(\d+) \[(\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)?)\] (\S+) (\S+)/(\S+) "
        r"(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (-?\d+) (\d+) (\S+) (\S+) (\S+) (\d+/\d+/\d+/\d+/\d+) (\d+/\d+)"
        r'(?: \{[^}]*\}){0,2} "([^"]*)"$'
    )
    names = ["client", "port", "time", "frontend", "backend", "server", "tq", "tw", "tc", "tr", "ta", "status"]
    names += ["bytes", "cookie_req", "cookie_resp", "term", "conns", "queues", "request"]
    ts = (
        "timezone($tz, coalesce(try_strptime(x.time, '%d/%b/%Y:%H:%M:%S.%g'), "
        "try_strptime(x.time, '%d/%b/%Y:%H:%M:%S')))"
    )
    return by_regex(
        "haproxy",
        "HAProxy's HTTP log (option httplog), with or without a syslog prefix; duration = Ta (Tt), local time",
        pattern,
        names,
        {
            "ts": ts,
            "status": "x.status::SMALLINT",
            "bytes": "x.bytes::BIGINT",
            "duration_ms": "x.ta::DOUBLE",
            "client": "x.client",
        },
        "x.request",
        aliases=("haproxy_http",),
    )


# --- nginx layouts that are not NCSA ----------------------------------------------------------------------------------


def ltsv() -> Format:
    """Labeled tab-separated values with the keys nginx users and alp write."""

    keys = ["time", "host", "req", "method", "uri", "status", "size", "reqtime", "ua", "referer"]
    layers = [{f"k_{key}": f"nullif(regexp_extract(line, '(?:^|\\t){key}:([^\\t]*)', 1), '')" for key in keys}]

    def k(key: str) -> str:
        return f"k_{key}"

    req = k("req")
    target = f"coalesce(nullif({k('uri')}, '-'), split_part({req}, ' ', 2))"
    time = k("time")
    ts = (
        f"CASE WHEN regexp_matches({time}, '^\\d+/[A-Za-z]+/\\d+:') THEN try_strptime({time}, '%d/%b/%Y:%H:%M:%S %z') "
        f"ELSE try_cast({time} AS TIMESTAMPTZ) END"
    )
    num = "regexp_full_match({v}, '\\d+(\\.\\d+)?')"
    valid = (
        "regexp_full_match(line, '[A-Za-z0-9_.-]+:[^\\t]*(\\t[A-Za-z0-9_.-]+:[^\\t]*)*') "
        f"AND regexp_full_match({k('status')}, '\\d{{3}}') AND {time} IS NOT NULL "
        f"AND coalesce(nullif({k('method')}, '-'), nullif({req}, '-')) IS NOT NULL "
        f"AND ({k('reqtime')} IS NULL OR {k('reqtime')} = '-' OR {num.format(v=k('reqtime'))}) "
        f"AND ({k('size')} IS NULL OR {k('size')} = '-' OR {num.format(v=k('size'))})"
    )
    return Format(
        "ltsv",
        "LTSV (tab-separated key:value): time host req method uri status size reqtime (s) apptime ua referer",
        layers,
        valid,
        {
            "ts": ts,
            "method": f"upper(coalesce(nullif({k('method')}, '-'), split_part({req}, ' ', 1)))",
            "path": target_path(target),
            "query": target_query(target),
            "status": f"{k('status')}::SMALLINT",
            "bytes": f"try_cast({k('size')} AS BIGINT)",
            "duration_ms": f"try_cast({k('reqtime')} AS DOUBLE) * 1000",
            "client": dash(k("host")),
            "user_agent": dash(k("ua")),
            "referer": dash(k("referer")),
        },
        aliases=("alp",),
        maybe="contains(line, chr(9))",
    )


# deliberate: same declaration shape as elb, other columns; see the note above elb
def nginx_kv() -> Format:
    # nginx combined followed by key=value pairs, as in nginx's APM blog post:
    # ... "$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time"
    # uht="$upstream_header_time" urt="$upstream_response_time"   (some configs leave out the space before rt=)
    pattern = (
        rf'^(\S+) (\S+) (\S+) \[([^\]]+)\] {Q} (\d{{3}}) (\d+|-) {Q} {Q}((?: ?.*[ "])?)'
        r'(?:rt|request_time)="?(\d+(?:\.\d+)?)"?((?: .*)?)$'
    )
    names = ["client", "ident", "user", "time", "request", "status", "size", "referer", "ua", "before", "rt", "after"]
    return by_regex(
        "nginx_kv",
        "nginx combined followed by key=value timings: rt=$request_time (s) uct= uht= urt=",
        pattern,
        names,
        {
            "ts": CLF_TIME.format(t="x.time"),
            "status": "x.status::SMALLINT",
            "bytes": "try_cast(x.size AS BIGINT)",
            "duration_ms": "x.rt::DOUBLE * 1000",
            "client": "x.client",
            "user_agent": dash(unbackslash("x.ua")),
            "referer": dash(unbackslash("x.referer")),
        },
        unbackslash("x.request"),
        aliases=("nginx_upstream_time", "nginx_apm"),
    )


# --- Python development servers -------------------------------------------------------------------------------------


def werkzeug() -> Format:
    # Werkzeug's request log: '<ip> - - [08/Feb/2024 17:47:38] "GET / HTTP/1.1" 200 -', the request line coloured
    # with ANSI codes on a terminal, often behind a Python logging prefix ('%(asctime)s - %(levelname)s - ' or
    # 'INFO:werkzeug:'). Banners, tracebacks and 'code 400, message ...' lines are not requests.
    pattern = (
        r"^(?:.*\s|[A-Z]+:[A-Za-z0-9_.]+:)?(\S+) - - \[(\d\d/[A-Za-z]{3}/\d{4} \d\d:\d\d:\d\d)\] "
        r'"(.*)" (\d{3}) (\d+|-)$'
    )
    names = ["client", "time", "request", "status", "size"]
    return by_regex(
        "werkzeug",
        "Werkzeug / Flask development server, with or without a logging prefix; ANSI colours dropped; local time",
        pattern,
        names,
        {
            "ts": "timezone($tz, try_strptime(x.time, '%d/%b/%Y %H:%M:%S'))",
            "status": "x.status::SMALLINT",
            "bytes": "try_cast(x.size AS BIGINT)",
            "client": "x.client",
        },
        "regexp_replace(x.request, '\\x1b\\[[0-9;]*m', '', 'g')",
        invalid_reason="not_a_request",
        aliases=("flask_dev", "werkzeug_dev"),
    )


def build() -> list[Format]:
    """The text producers' formats."""
    return [elb(), alb(), cloudfront(), traefik(), envoy(), haproxy(), ltsv(), nginx_kv(), werkzeug()]
