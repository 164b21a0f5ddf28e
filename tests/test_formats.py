"""Producers recognised by themselves: lines written the way each producer writes them (layouts from its
documentation), detected, parsed, and every field checked; the generic checks; detection's refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from strangler import detect, ingest
from strangler import formats as F
from test_ingest import base, misread, rejects, req, write

UTC = dt.UTC
TAB = "\t"


def one(con, tmp_path, name: str, text: str, fmt: str = "auto", tz: str | None = None):
    """Ingest one file; returns its summary row [format, lines, rows, rejects]."""
    result = ingest.ingest(con, [str(write(tmp_path / name, text))], fmt=fmt, tz=tz)
    assert result.errors == []
    return result.table[["format", "lines", "rows", "rejects"]].values.tolist()[0]


# --- proxies and load balancers -----------------------------------------------------------------------------------

TRAEFIK = (
    # <remote_IP> - <user> [<timestamp>] "<method> <path> <proto>" <status> <size> "<referrer>" "<UA>"
    # <requests since start> "<router>" "<server URL>" <duration>ms
    '192.0.2.10 - - [02/Mar/2026:10:00:00 +0000] "GET /trips/7?page=2 HTTP/1.1" 200 512 "-" "curl/8.1" 1 '
    '"trips@docker" "http://172.18.0.3:8000" 1408ms\n'
    '192.0.2.11 - alice [02/Mar/2026:10:00:01 +0100] "POST /trips HTTP/2.0" 201 88 "https://app.example.com/" '
    '"Mozilla/5.0 \\"Quoted\\"" 2 "trips@docker" "http://172.18.0.3:8000" 12ms\n'
    '192.0.2.12 - - [02/Mar/2026:10:00:02 +0000] "GET /live HTTP/1.1" 0 0 "-" "Mozilla/5.0" 3 "ws@docker" '
    '"http://172.18.0.4:8080" 60005ms\n'
)


def test_traefik_clf_is_not_combined_with_microseconds(con, tmp_path):
    """The issue's Traefik log: its request counter must not be read as a duration in µs."""
    assert one(con, tmp_path, "traefik.log", TRAEFIK) == ["traefik", 3, 3, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=512,
        duration_ms=1408.0,
        client="192.0.2.10",
        user_agent="curl/8.1",
    )
    assert req(con, 1, 2)["user_agent"] == 'Mozilla/5.0 "Quoted"'
    assert req(con, 1, 2)["ts"] == dt.datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)
    assert (req(con, 1, 3)["status"], req(con, 1, 3)["duration_ms"]) == (0, 60005.0)  # a websocket
    # by name as combined + µs (or ms, or s): the request time is not the last field, so nothing is kept
    for i, fmt in enumerate(["combined_us", "combined_ms", "combined_s"], 2):
        assert one(con, tmp_path, f"t{i}.log", f"# {fmt}\n" + TRAEFIK, fmt=fmt) == [fmt, 4, 0, 4]


def test_traefik_json_duration_in_nanoseconds(con, tmp_path):
    line = {
        "ClientAddr": "192.0.2.10:51234",
        "ClientHost": "192.0.2.10",
        "ClientPort": "51234",
        "ClientUsername": "-",
        "DownstreamContentSize": 512,
        "DownstreamStatus": 200,
        "Duration": 1408123456,
        "OriginContentSize": 512,
        "OriginDuration": 1400000000,
        "OriginStatus": 200,
        "Overhead": 8123456,
        "RequestAddr": "api.example.com",
        "RequestContentSize": 0,
        "RequestCount": 42,
        "RequestHost": "api.example.com",
        "RequestMethod": "GET",
        "RequestPath": "/trips/7?page=2",
        "RequestPort": "-",
        "RequestProtocol": "HTTP/1.1",
        "RequestScheme": "https",
        "RetryAttempts": 0,
        "RouterName": "trips@docker",
        "ServiceAddr": "172.18.0.3:8000",
        "ServiceName": "trips@docker",
        "ServiceURL": "http://172.18.0.3:8000",
        "StartLocal": "2026-03-02T11:00:00.123456789+01:00",
        "StartUTC": "2026-03-02T10:00:00.123456789Z",
        "entryPointName": "websecure",
        "level": "info",
        "msg": "",
        "request_User-Agent": "curl/8.1",
        "time": "2026-03-02T11:00:01+01:00",
    }
    ws = {**line, "DownstreamStatus": 0, "RequestPath": "/live", "Duration": 5000}
    text = json.dumps(line) + "\n" + json.dumps(ws) + "\n"
    assert one(con, tmp_path, "traefik.json", text) == ["traefik_json", 2, 2, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=512,
        duration_ms=pytest.approx(1408.123456),
        client="192.0.2.10",
        user_agent="curl/8.1",
    )
    assert (req(con, 1, 2)["status"], req(con, 1, 2)["duration_ms"]) == (0, 0.005)


CADDY = {
    "level": "info",
    "ts": 1772445600.5,
    "logger": "http.log.access.log0",
    "msg": "handled request",
    "request": {
        "remote_ip": "10.0.0.9",
        "remote_port": "41342",
        "client_ip": "203.0.113.7",
        "proto": "HTTP/2.0",
        "method": "GET",
        "host": "api.example.com",
        "uri": "/trips/7?page=2",
        "headers": {"User-Agent": ["curl/8.1"], "Accept": ["*/*"], "Referer": ["https://app.example.com/"]},
        "tls": {"resumed": False, "version": 772, "cipher_suite": 4865, "proto": "h2", "server_name": "example.com"},
    },
    "bytes_read": 0,
    "user_id": "",
    "duration": 0.000929675,
    "size": 10900,
    "status": 200,
    "resp_headers": {"Server": ["Caddy"], "Content-Type": ["application/json"]},
}


def test_caddy_fields_by_their_real_paths(con, tmp_path):
    nop = {**CADDY, "msg": "NOP", "status": 0, "size": 0, "ts": "2026-03-02T10:00:01.250Z"}
    other = {"level": "info", "ts": 1772445602.0, "logger": "tls.obtain", "msg": "certificate obtained", "status": 1}
    text = "".join(json.dumps(o) + "\n" for o in (CADDY, nop, other))
    assert one(con, tmp_path, "caddy.log", text) == ["caddy", 3, 2, 1]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 0, 500000, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=10900,
        duration_ms=pytest.approx(0.929675),
        client="203.0.113.7",
        user_agent="curl/8.1",
        referer="https://app.example.com/",
    )
    assert (req(con, 1, 2)["status"], req(con, 1, 2)["ts"]) == (
        0,
        dt.datetime(2026, 3, 2, 10, 0, 1, 250000, tzinfo=UTC),
    )
    assert [(n, r) for n, r, _ in rejects(con)] == [(3, "not_a_request")]


def test_caddy_read_as_generic_json_keeps_nothing_wrong(con, tmp_path):
    """Today's bug: the generic JSON reader took the whole `request` object as the method."""
    assert one(con, tmp_path, "caddy.log", json.dumps(CADDY) + "\n", fmt="json") == ["json", 1, 0, 1]
    assert [(n, r) for n, r, _ in rejects(con)] == [(1, "bad_method")]


def gcp_text() -> str:
    """A Cloud Run request log line and an HTTP(S) load balancer's."""
    run = {
        "httpRequest": {
            "requestMethod": "GET",
            "requestUrl": "https://trips-abc123-ew.a.run.app/trips/7?page=2",
            "requestSize": "312",
            "status": 200,
            "responseSize": "1024",
            "userAgent": "curl/8.1",
            "remoteIp": "203.0.113.7",
            "serverIp": "216.239.38.53",
            "latency": "0.123456789s",
            "protocol": "HTTP/1.1",
        },
        "insertId": "65e2f0a1000c1f2e3d4c5b6a",
        "labels": {"instanceId": "00f46b9285"},
        "logName": "projects/demo/logs/run.googleapis.com%2Frequests",
        "receiveTimestamp": "2026-03-02T10:00:00.250Z",
        "resource": {"labels": {"service_name": "trips", "project_id": "demo"}, "type": "cloud_run_revision"},
        "severity": "INFO",
        "timestamp": "2026-03-02T10:00:00.123456Z",
        "trace": "projects/demo/traces/4bf92f3577b34da6a3ce929d0e0e4736",
    }
    lb = {
        "httpRequest": {
            "requestMethod": "POST",
            "requestUrl": "http://api.example.com/trips",
            "status": 503,
            "responseSize": "224",
            "userAgent": "okhttp/4.12",
            "remoteIp": "198.51.100.4",
            "referer": "https://app.example.com/",
            "latency": "2s",
        },
        "jsonPayload": {
            "@type": "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry",
            "statusDetails": "failed_to_connect_to_backend",
        },
        "resource": {"type": "http_load_balancer"},
        "severity": "WARNING",
        "timestamp": "2026-03-02T10:00:01Z",
    }
    text = json.dumps(run) + "\n" + json.dumps(lb) + "\n"
    return text


def test_gcp_cloud_run_and_load_balancer(con, tmp_path):
    text = gcp_text()
    assert one(con, tmp_path, "requests.json", text) == ["gcp", 2, 2, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=1024,
        duration_ms=pytest.approx(123.456789),
        client="203.0.113.7",
        user_agent="curl/8.1",
    )
    assert req(con, 1, 2) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC),
        method="POST",
        path="/trips",
        status=503,
        bytes=224,
        duration_ms=2000.0,
        client="198.51.100.4",
        user_agent="okhttp/4.12",
        referer="https://app.example.com/",
    )


ENVOY = (
    '[2026-03-02T10:00:00.310Z] "POST /api/v1/trips?draft=1 HTTP/2" 201 - 154 52 226 100 "10.0.35.28" '
    '"okhttp/4.12" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "trips.internal" "10.0.2.1:8080"\n'
    '[2026-03-02T10:00:01.000Z] "GET /slow HTTP/1.1" 0 DC 0 0 30001 - "-" "curl/8.1" '
    '"0d6ef2e4-2b43-4c5e-9f0a-6a1d2c3b4e5f" "trips.internal" "10.0.2.1:8080"\n'
    '[2026-03-02T10:00:02.000Z] "GET /none HTTP/1.1" 404 NR 0 0 0 - "-" "curl/8.1" "-" "trips.internal" "-"\n'
)


def test_envoy_default_format(con, tmp_path):
    # [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
    # %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
    # "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
    text = ENVOY
    assert one(con, tmp_path, "envoy.log", text) == ["envoy", 3, 3, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 0, 310000, tzinfo=UTC),
        method="POST",
        path="/api/v1/trips",
        query="draft=1",
        status=201,
        bytes=52,
        duration_ms=226.0,
        user_agent="okhttp/4.12",
        request_id="cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
    )
    assert (req(con, 1, 2)["status"], req(con, 1, 2)["duration_ms"]) == (0, 30001.0)  # downstream disconnected
    assert req(con, 1, 3)["request_id"] is None


HAPROXY = (
    "Mar  2 10:00:00 lb1 haproxy[14389]: 10.0.1.2:33317 [02/Mar/2026:10:00:00.655] http-in static/srv1 "
    '10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {api.example.com} {} "GET /trips/7?page=2 HTTP/1.1"\n'
    "2026-03-02T10:00:01+00:00 lb1 haproxy[14389]: 10.0.1.3:33318 [02/Mar/2026:10:00:01.001] http-in "
    'api/srv2 0/0/1/-1/5001 504 194 - - sH-- 2/2/1/1/0 0/0 "POST /trips HTTP/1.1"\n'
    '10.0.1.4:33319 [02/Mar/2026:10:00:02.000] http-in http-in/<NOSRV> -1/-1/-1/-1/0 400 187 - - CR-- '
    '1/1/0/0/0 0/0 "<BADREQ>"\n'
)


def test_haproxy_http_log_with_and_without_syslog_prefix(con, tmp_path):
    # process[pid]: client:port [accept_date] frontend backend/server Tq/Tw/Tc/Tr/Ta status bytes cookies
    # termination actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue {captured headers} "request"
    text = HAPROXY
    assert one(con, tmp_path, "haproxy.log", text, tz="Europe/Paris") == ["haproxy", 3, 2, 1]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 9, 0, 0, 655000, tzinfo=UTC),  # local time of the HAProxy host (--tz)
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=2750,
        duration_ms=109.0,
        client="10.0.1.2",
    )
    assert (req(con, 1, 2)["status"], req(con, 1, 2)["duration_ms"]) == (504, 5001.0)
    assert [(n, r) for n, r, _ in rejects(con)] == [(3, "bad_method")]


CLOUDFRONT_FIELDS = (
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
    "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes "
    "time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end\n"
)


def cloudfront_text() -> str:
    """A CloudFront standard log: its headers and two requests (one that got no response)."""
    rows = [
        "2026-03-02 10:00:00 FRA56-C1 2039 203.0.113.7 GET d111111abcdef8.cloudfront.net /trips/7 200 - "
        "Mozilla/5.0%20(X11;%20Linux%20x86_64) page=2 - Miss RrA0bv3pZQ== api.example.com https 123 0.338 - TLSv1.3 "
        "TLS_AES_128_GCM_SHA256 Miss HTTP/2.0 - - 61052 0.300 Miss application/json 2039 - -",
        "2026-03-02 10:00:01 FRA56-C1 0 203.0.113.8 GET d111111abcdef8.cloudfront.net /big.zip 000 "
        "https://app.example.com/ curl/8.1 - - Error Xk9Q2w== api.example.com https 98 1.204 - TLSv1.3 "
        "TLS_AES_128_GCM_SHA256 Error HTTP/1.1 - - 61053 - Error - - - -",
    ]
    text = "#Version: 1.0\n" + CLOUDFRONT_FIELDS + "".join(r.replace(" ", TAB) + "\n" for r in rows)
    return text


def test_cloudfront_standard_log(con, tmp_path):
    text = cloudfront_text()
    assert one(con, tmp_path, "E2ABCDEF.2026-03-02-10.log", text) == ["cloudfront", 4, 2, 2]
    assert req(con, 1, 3) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=2039,
        duration_ms=pytest.approx(338.0),
        client="203.0.113.7",
        user_agent="Mozilla/5.0%20(X11;%20Linux%20x86_64)",
        request_id="RrA0bv3pZQ==",
    )
    assert (req(con, 1, 4)["status"], req(con, 1, 4)["referer"]) == (0, "https://app.example.com/")


# --- nginx layouts ------------------------------------------------------------------------------------------------


def ltsv_text() -> str:
    """Two LTSV lines as nginx users and alp write them."""
    keys = "time host forwardedfor req status method uri size referer ua reqtime cache runtime apptime vhost"
    values = [
        ["02/Mar/2026:10:00:00 +0900", "203.0.113.7", "-", "GET /trips/7?page=2 HTTP/1.1", "200", "GET",
         "/trips/7?page=2", "512", "-", "curl/8.1", "0.250", "-", "-", "0.248", "api.example.com"],
        ["2026-03-02T10:00:01+09:00", "203.0.113.8", "-", "POST /trips HTTP/1.1", "201", "POST", "/trips", "88",
         "https://app.example.com/", "Mozilla/5.0 (X11)", "0.012", "-", "-", "0.010", "api.example.com"],
    ]  # fmt: skip
    text = "".join(TAB.join(f"{k}:{v}" for k, v in zip(keys.split(), row)) + "\n" for row in values)
    return text


def test_ltsv_as_nginx_users_and_alp_write_it(con, tmp_path):
    text = ltsv_text()
    assert one(con, tmp_path, "access.ltsv", text) == ["ltsv", 2, 2, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=512,
        duration_ms=250.0,
        client="203.0.113.7",
        user_agent="curl/8.1",
    )
    assert req(con, 1, 2)["ts"] == dt.datetime(2026, 3, 2, 1, 0, 1, tzinfo=UTC)
    assert req(con, 1, 2)["referer"] == "https://app.example.com/"


NGINX_KV = (
    '203.0.113.7 - - [02/Mar/2026:10:00:00 +0100] "GET /trips/7 HTTP/1.1" 200 512 "-" "curl/8.1"rt=0.250 '
    'uct="0.001" uht="0.200" urt="0.201"\n'
    '203.0.113.8 - - [02/Mar/2026:10:00:01 +0100] "GET /static/a.css HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11)" '
    'rt=0.000 uct="-" uht="-" urt="-"\n'
)


def test_nginx_combined_with_key_value_timings(con, tmp_path):
    # log_format upstream_time '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    #   "$http_referer" "$http_user_agent"' 'rt=$request_time uct="$upstream_connect_time"
    #   uht="$upstream_header_time" urt="$upstream_response_time"';   (no space: as the blog post writes it)
    text = NGINX_KV
    assert one(con, tmp_path, "access.log", text) == ["nginx_kv", 2, 2, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        status=200,
        bytes=512,
        duration_ms=250.0,
        client="203.0.113.7",
        user_agent="curl/8.1",
    )
    assert req(con, 1, 2)["duration_ms"] == 0.0


# --- Werkzeug -----------------------------------------------------------------------------------------------------


def werkzeug_text() -> str:
    """Werkzeug's development server: banner, plain, prefixed and coloured lines, a traceback."""
    esc = "\x1b"
    text = (
        f" * Serving Flask app 'trips'\n * Debug mode: on\n{esc}[31m{esc}[1mWARNING: This is a development server. "
        f"Do not use it in a production deployment.{esc}[0m\n"
        '127.0.0.1 - - [02/Mar/2026 10:00:00] "GET /trips/7?page=2 HTTP/1.1" 200 -\n'
        f'INFO:werkzeug:192.168.1.5 - - [02/Mar/2026 10:00:01] "{esc}[33mGET /missing HTTP/1.1{esc}[0m" 404 -\n'
        f'2026-03-02 10:00:02,120 - INFO - 127.0.0.1 - - [02/Mar/2026 10:00:02] "{esc}[35m{esc}[1mPOST /trips '
        f'HTTP/1.1{esc}[0m" 500 1234\n'
        "Traceback (most recent call last):\n"
    )
    return text


def test_werkzeug_dev_server_plain_prefixed_and_coloured(con, tmp_path):
    text = werkzeug_text()
    assert one(con, tmp_path, "flask.log", text, tz="Europe/Paris") == ["werkzeug", 7, 3, 4]
    assert req(con, 1, 4) == base(
        ts=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), method="GET", path="/trips/7", query="page=2", status=200,
        client="127.0.0.1",
    )  # fmt: skip
    assert req(con, 1, 5) == base(
        ts=dt.datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC), method="GET", path="/missing", status=404,
        client="192.168.1.5",
    )  # fmt: skip
    assert req(con, 1, 6) == base(
        ts=dt.datetime(2026, 3, 2, 9, 0, 2, tzinfo=UTC), method="POST", path="/trips", status=500, bytes=1234,
        client="127.0.0.1",
    )  # fmt: skip
    assert [(n, r) for n, r, _ in rejects(con)] == [(n, "not_a_request") for n in (1, 2, 3, 7)]


# --- generic checks -----------------------------------------------------------------------------------------------


def test_every_field_is_checked_on_every_line(con, tmp_path):
    good = '1.2.3.4 - - [02/Mar/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua" 0.5\n'
    lines = [
        good,
        good.replace("GET /a", "G(E)T /a"),  # not an HTTP token
        good.replace("GET /a", "GET a"),  # a path that does not start with /
        good.replace(" 200 ", " 999 "),  # no such status
        good.replace(" 200 ", " 000 "),  # 0 is not a status nginx writes
        good.replace(" 0.5\n", " nan\n"),  # not a number
        good.replace("02/Mar/2026", "31/Feb/2026"),  # no such day
        good.replace("GET /a", "OPTIONS *"),  # the asterisk form is kept
        good.replace("GET /a", "GET http://example.com:8080/b?c=1"),  # absolute form: the path and query kept
        good.replace("GET /a", "GET http://example.com"),  # ... with no path: '/'
        good.replace('"GET /a HTTP/1.1"', '"-"'),  # no request line at all: a row without method and path
        good.replace("GET /a HTTP/1.1", "GET /a b HTTP/1.1"),  # a raw space stays in the path
    ]
    assert one(con, tmp_path, "checks.log", "".join(lines), fmt="combined_s") == ["combined_s", 12, 6, 6]
    assert [(n, r) for n, r, _ in rejects(con)] == [
        (2, "bad_method"),
        (3, "bad_path"),
        (4, "bad_status"),
        (5, "bad_status"),
        (6, "malformed"),  # the layout itself wants a number there
        (7, "bad_timestamp"),
    ]
    got = {n: (r["method"], r["path"], r["query"]) for n in (1, 8, 9, 10, 11, 12) for r in [req(con, 1, n)]}
    assert got == {
        1: ("GET", "/a", None),
        8: ("OPTIONS", "*", None),
        9: ("GET", "/b", "c=1"),
        10: ("GET", "/", None),
        11: (None, None, None),
        12: ("GET", "/a b", None),
    }


def test_json_durations_and_counts_must_be_finite_and_not_negative(con, tmp_path):
    ok = {"ts": "2026-03-02T10:00:00Z", "method": "GET", "path": "/a", "status": 200}
    lines = [
        ok | {"duration_ms": 3},
        ok | {"duration_ms": -3},
        ok | {"db_ms": -1},
        ok | {"db_queries": -2},
        ok | {"bytes": -5},
        ok | {"ts": "yesterday"},
        ok | {"status": "20x"},
    ]
    text = "".join(json.dumps(o) + "\n" for o in lines)
    assert one(con, tmp_path, "app.log", text, fmt="json") == ["json", 7, 1, 6]
    assert [(n, r) for n, r, _ in rejects(con)] == [
        (2, "bad_duration_ms"),
        (3, "bad_db_ms"),
        (4, "bad_db_queries"),
        (5, "bad_bytes"),
        (6, "bad_timestamp"),
        (7, "not_a_request"),
    ]


# --- detection ----------------------------------------------------------------------------------------------------


def test_detection_refuses_with_the_nearest_candidates(con, tmp_path):
    text = "".join(f'10.0.0.{i} - - [02/Mar/2026:10:00:0{i} +0000] "GET /x HTTP/1.1" 200 -\n' for i in range(3))
    text += "".join(f"garbage line {i}\n" for i in range(4))
    found = detect.candidates(con, text.splitlines(), F.FORMATS, "UTC")
    assert [(c.name, c.parsed, c.lines, c.fits) for c in found if c.parsed] == [("common", 3, 7, False)]
    with pytest.raises(detect.NoFormat, match=r"nearest: common 3/7 lines parsed"):
        detect.choose(found, F.FORMATS)
    # the one line that fails is tolerated (a reject), and the file is read
    text = text.split("garbage")[0] + "garbage\n"
    assert detect.choose(detect.candidates(con, text.splitlines(), F.FORMATS, "UTC"), F.FORMATS) == (
        "common",
        "detected 3/4",
    )


def test_every_format_has_a_name_description_and_unique_aliases():
    assert all(f.description and f.name == n for n, f in F.FORMATS.items())
    aliases = [a for f in F.FORMATS.values() for a in f.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(F.FORMATS)
    assert F.resolve("alp") == "ltsv" and F.resolve("apache_D") == "combined_us"


# --- command line -------------------------------------------------------------------------------------------------


def test_cli_formats_lists_every_format_with_its_aliases(capsys):
    from strangler import cli

    assert cli.main(["formats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["format", "aliases", "reads"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == list(F.FORMATS)
    traefik = next(line for line in lines if line.startswith("traefik "))
    assert "traefik_clf, traefik_common" in traefik and "duration in ms" in traefik


def test_cli_formats_guess_shows_each_candidate(tmp_path, capsys):
    from strangler import cli

    log = write(tmp_path / "t.log", TRAEFIK)
    assert cli.main(["formats", "--guess", str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["format", "parsed", "fits", "fields", "most", "rejects", "first", "line", "read"]
    rows = {line.split()[0]: line for line in out[1:-1]}
    assert set(rows) == set(F.FORMATS)
    assert rows["traefik"].split()[:4] == ["traefik", "3/3", "yes", "26"]  # 9 + 9 + 8 non-NULL columns
    assert rows["traefik"].split()[4:8] == ["method=GET", "path=/trips/7", "status=200", "duration_ms=1408"]
    # fits (its status 0 line is the one tolerated bad line), but reads fewer fields
    assert rows["combined"].split()[:3] == ["combined", "2/3", "yes"]
    assert rows["combined_us"].split()[:4] == ["combined_us", "0/3", "0", "malformed"]
    assert out[-1] == "chosen: traefik (detected 3/3)"
    # a file nothing reads: the table, then the refusal; exit 1
    write(tmp_path / "n.txt", "hello\x1b[31m\nworld\n")
    assert cli.main(["formats", "--guess", str(tmp_path / "n.txt")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "format not recognised: no format reads the sample (none parsed any of its 2 lines); pass --format NAME"
    )


def test_cli_ingest_names_missing_paths_and_empty_globs(tmp_path, capsys):
    from strangler import cli

    dbfile = str(tmp_path / "x.duckdb")
    assert cli.main(["ingest", str(tmp_path / "missing.log"), "--db", dbfile]) == 1
    assert (
        capsys.readouterr().out
        == f"no files read\ncould not read {tmp_path / 'missing.log'}: no such file or directory\n"
    )
    log = write(tmp_path / "a.log", TRAEFIK)
    pattern = str(tmp_path / "nothing" / "*.log")
    assert cli.main(["ingest", pattern, str(log), str(tmp_path / "gone.log"), "--db", dbfile]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:5] == [str(log), "traefik", "3", "3", "0"]  # the file that exists is read
    assert out[-2:] == [
        f"could not read {pattern}: no file matches this pattern",
        f"could not read {tmp_path / 'gone.log'}: no such file or directory",
    ]


# --- OpenTelemetry ------------------------------------------------------------------------------------------------

T0 = 1772445600_000_000_000  # 2026-03-02T10:00:00Z in ns


def _kv(key: str, value) -> dict:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def _span(trace, sid, parent, name, kind, start_ms, end_ms, **attributes) -> dict:
    return {
        "traceId": trace,
        "spanId": sid,
        "parentSpanId": parent,
        "flags": 256,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(T0 + start_ms * 1_000_000),
        "endTimeUnixNano": str(T0 + end_ms * 1_000_000),
        "attributes": [_kv(k, v) for k, v in attributes.items()],
        "status": {},
    }


def _export(*spans, scope="opentelemetry.instrumentation.flask") -> str:
    """One line as the Collector's file exporter writes it: an ExportTraceServiceRequest in OTLP JSON."""
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": [_kv("service.name", "trips-api")]},
                    "scopeSpans": [{"scope": {"name": scope, "version": "0.48b0"}, "spans": list(spans)}],
                    "schemaUrl": "https://opentelemetry.io/schemas/1.11.0",
                }
            ]
        },
        separators=(",", ":"),
    )


OTEL_TRACES = (
    "5b8efff798038103d269b633813fc60c",
    "0af7651916cd43dd8448eb211c80319c",
    "4bf92f3577b34da6a3ce929d0e0e4736",
)


def otel_text() -> str:
    """Three OTLP export lines (a request's database spans on a later line) and a line that is not JSON."""
    a, b, c = OTEL_TRACES
    old = {"http.method": "GET", "http.target": "/trips/7?page=2", "http.status_code": 200}
    route = {"http.route": "/trips/<int:trip_id>"}
    pg, pg_stable = {"db.system": "postgresql"}, {"db.system.name": "postgresql"}
    line1 = _export(
        _span(a, "a1", "", "GET /trips/<int:trip_id>", 2, 0, 250, **old, **route),
        _span(a, "a2", "a1", "SELECT trips", 3, 10, 22, **pg),
        _span(a, "a3", "a1", "render", 1, 30, 200),
        _span(a, "a4", "a3", "SELECT users", 3, 40, 45, **pg),  # below an INTERNAL span: still this request's
        _span(a, "a5", "a1", "GET", 3, 100, 150, **{"http.method": "GET"}),  # an HTTP client call, not a database
    )
    stable = {"http.request.method": "POST", "url.path": "/trips", "http.response.status_code": 201}
    health = {"http.request.method": "GET", "url.path": "/health", "http.response.status_code": 200}
    line2 = _export(
        _span(b, "b1", "", "POST /trips", 2, 1000, 1100, **stable, **{"http.route": "/trips"},
              **{"user_agent.original": "curl/8.1"}),
        _span(c, "c1", "", "GET /health", 2, 2000, 2001, **health),
    )  # fmt: skip
    line3 = _export(  # a later batch: the database span of line 2's request, with the stable attribute name
        _span(b, "b2", "b1", "INSERT trips", 3, 1010, 1040, **pg_stable),
        scope="opentelemetry.instrumentation.sqlalchemy",
    )
    text = "\n".join([line1, line2, line3, "not json"]) + "\n"
    return text


def test_opentelemetry_server_spans_with_their_database_spans(con, tmp_path):
    a, b, c = OTEL_TRACES
    text = otel_text()
    assert one(con, tmp_path, "traces.jsonl", text) == ["otel", 4, 3, 2]
    got = con.execute(
        "SELECT line_no, ts, method, path, query, status, duration_ms, logged_route, request_id, db_ms, db_queries, "
        "user_agent FROM requests ORDER BY line_no, ts"
    ).fetchall()
    ts = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    second = dt.timedelta(seconds=1)
    assert got == [
        (1, ts, "GET", "/trips/7", "page=2", 200, 250.0, "/trips/<int:trip_id>", a, 17.0, 2, None),
        (2, ts + second, "POST", "/trips", None, 201, 100.0, "/trips", b, 30.0, 1, "curl/8.1"),
        (2, ts + 2 * second, "GET", "/health", None, 200, 1.0, None, c, None, None, None),
    ]
    assert [(n, r) for n, r, _ in rejects(con)] == [(3, "not_a_request"), (4, "bad_json")]
    assert con.execute("SELECT lines, rows, rejects, chosen FROM sources").fetchall() == [(4, 3, 2, "detected 2/4")]


ELB = (
    '2026-03-02T10:00:00.123456Z my-elb 192.0.2.7:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 '
    '"GET http://www.example.com:80/trips/7?page=2 HTTP/1.1" "curl/8.1" - -\n'
    '2026-03-02T10:00:01.000000Z my-elb 192.0.2.8:2818 - -1 -1 -1 504 - 0 0 '
    '"POST https://www.example.com:443/trips HTTP/1.1" "okhttp/4.12" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2\n'
)


def test_classic_elb_without_a_backend_answer(con, tmp_path):
    # timestamp elb client:port backend:port request_processing_time backend_processing_time
    # response_processing_time elb_status_code backend_status_code received_bytes sent_bytes "request" "user_agent"
    # ssl_cipher ssl_protocol   (-1 times and a '-' backend when no backend answered)
    text = ELB
    assert one(con, tmp_path, "elb.log", text) == ["elb", 2, 2, 0]
    assert req(con, 1, 1) == base(
        ts=dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC),
        method="GET",
        path="/trips/7",
        query="page=2",
        status=200,
        bytes=29,
        duration_ms=pytest.approx(1.178),
        client="192.0.2.7",
        user_agent="curl/8.1",
    )
    # no backend answered: the line gives no duration, so none is kept
    assert (req(con, 1, 2)["status"], req(con, 1, 2)["path"], req(con, 1, 2)["duration_ms"]) == (504, "/trips", None)


def test_sample_is_the_first_lines_and_a_stretch_from_the_middle(tmp_path):
    lines = [f"line {i}" for i in range(5000)]
    log = write(tmp_path / "a.log", "\n".join(lines) + "\n")
    assert ingest.sample(ingest._Content(log)) == lines[:1000] + lines[2500:3500]
    # a file larger than what is read at its start: the middle stretch is read from its middle byte
    got = ingest.sample(ingest._Content(log), lines=10, cap=1000)
    middle = len(log.read_bytes()) // 2
    after = log.read_bytes()[middle:].split(b"\n", 1)[1].decode().splitlines()
    assert got == lines[:10] + after[:10]
    assert ingest.sample(ingest._Content(write(tmp_path / "b.log", "only line, unterminated"))) == [
        "only line, unterminated"
    ]


# --- confusion: every producer's lines read with every other format ------------------------------------------------

PRODUCERS = {  # format -> (the test that writes its lines and reads them as source 1, the file it writes)
    "traefik": (test_traefik_clf_is_not_combined_with_microseconds, "traefik.log"),
    "traefik_json": (test_traefik_json_duration_in_nanoseconds, "traefik.json"),
    "caddy": (test_caddy_fields_by_their_real_paths, "caddy.log"),
    "gcp": (test_gcp_cloud_run_and_load_balancer, "requests.json"),
    "envoy": (test_envoy_default_format, "envoy.log"),
    "haproxy": (test_haproxy_http_log_with_and_without_syslog_prefix, "haproxy.log"),
    "cloudfront": (test_cloudfront_standard_log, "E2ABCDEF.2026-03-02-10.log"),
    "ltsv": (test_ltsv_as_nginx_users_and_alp_write_it, "access.ltsv"),
    "nginx_kv": (test_nginx_combined_with_key_value_timings, "access.log"),
    "werkzeug": (test_werkzeug_dev_server_plain_prefixed_and_coloured, "flask.log"),
    "otel": (test_opentelemetry_server_spans_with_their_database_spans, "traces.jsonl"),
    "elb": (test_classic_elb_without_a_backend_answer, "elb.log"),
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(PRODUCERS))
def test_producer_lines_read_as_another_format_never_keep_a_wrong_value(con, tmp_path, fmt):
    """The lines each producer test writes (and checks), read by name with every other format: rejects or
    refusals, never a method, path, status or duration that differs from the producer's own reading."""
    write_and_check, name = PRODUCERS[fmt]
    write_and_check(con, tmp_path)
    work = tmp_path / "others"
    work.mkdir()
    assert misread(con, 1, tmp_path / name, fmt, work) == {}
