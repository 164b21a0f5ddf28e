"""Declared layouts (nginx log_format, Apache LogFormat, gunicorn access_log_format, config files): every column of
every row and every reject checked line by line, through both readers (DuckDB's CSV reader and the one regex)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
from pathlib import Path

import pytest

from strangler import cli, db, ingest, layouts
from strangler.errors import StranglerError

UTC = dt.UTC
COLS = ingest.REQUEST_COLUMNS


def row(line_no: int, **values) -> tuple:
    """An expected request: its line number, then every column (NULL unless given)."""
    unknown = set(values) - set(COLS)
    assert not unknown, unknown
    return (line_no, *(values.get(c) for c in COLS))


def ts(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def regex_only(fmt):
    """The same format without its CSV reader path: every line goes through the one regex."""
    return dataclasses.replace(fmt, csv_read=None, csv_valid=None, csv_prep=None, csv_columns=None)


@pytest.fixture
def modes(monkeypatch) -> list:
    """The reader each file was finally read with ('columns', 'lines' or False for the robust one)."""
    done: list = []
    load = ingest._load

    def spy(*args):
        load(*args)
        done.append(args[10])

    monkeypatch.setattr(ingest, "_load", spy)
    return done


def read(tmp_path: Path, fmt, text: str, tz: str | None = None) -> tuple[list[tuple], list[tuple]]:
    """Ingest `text` with `fmt` into a fresh DuckDB file: (every request row, every reject as (line, reason))."""
    log = tmp_path / "access.log"
    log.write_bytes(text.encode())
    path = tmp_path / f"t{len(list(tmp_path.glob('*.duckdb')))}.duckdb"
    con = db.connect(path)
    try:
        result = ingest.ingest(con, [str(log)], fmt=fmt, tz=tz)
        assert result.ok, result.errors
        rows = con.execute(f"SELECT line_no, {', '.join(COLS)} FROM requests ORDER BY line_no").fetchall()
        rej = con.execute("SELECT line_no, reason FROM rejects ORDER BY line_no").fetchall()
        return rows, rej
    finally:
        con.close()


def check_both(tmp_path, modes, fmt, text, expected_rows, expected_rejects, tz=None, csv=True) -> None:
    """Both readers give exactly the expected table; the CSV reader really ran when `csv`."""
    assert (fmt.csv_columns is not None) == csv
    for f in (fmt, regex_only(fmt)) if csv else (fmt,):
        modes.clear()
        rows, rej = read(tmp_path, f, text, tz)
        assert rows == expected_rows
        assert rej == expected_rejects
        assert modes == (["columns"] if f.csv_columns else ["lines"])


# --- nginx ----------------------------------------------------------------------------------------------------

NGINX_PIPE = (
    'nginx:$remote_addr|$time_iso8601|"$request"|$status|$body_bytes_sent|$request_time|$upstream_response_time|'
    '"$http_user_agent"|$request_id'
)
NGINX_PIPE_LINES = [
    '10.0.0.1|2024-03-01T10:00:00+01:00|"GET /trips/42?page=2 HTTP/1.1"|200|512|0.012|0.010|"curl/8.1"|'
    "0123456789abcdef0123456789abcdef",
    '10.0.0.2|2024-03-01T10:00:01+01:00|"POST /trips HTTP/1.1"|201|0|0.250|0.100, 0.140 : 0.005|'
    '"Mozilla/5.0 \\x22quoted\\x22 caf\\xC3\\xA9"|-',
    '10.0.0.9 - - [01/Mar/2024:10:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "curl/8.1"',  # another layout
    '10.0.0.3|2024-03-01T10:00:02+01:00|"GET /a HTTP/1.1"|99|0|0.001|-|"x"|-',  # status 99
    '10.0.0.4|2024-02-30T10:00:02+01:00|"GET /b HTTP/1.1"|404|0|0.001|-|"x"|-',  # 30 February
    '10.0.0.5|2024-03-01T10:00:03+01:00|"GET /x\\x22y HTTP/1.1"|200|10|0.000|-|"-"|-',
    '10.0.0.6|2024-03-01T10:00:04+01:00|"GET /c HTTP/1.1"|200|1|1.5|0.5|"a|b"|-',
    '10.0.0.7|2024-03-01T10:00:05+01:00|"GET /d HTTP/1.1"|200|7|0.003|2.0|"ok"|1.5',  # request_id not 32 hex
    '10.0.0.8|2024-03-01T10:00:06+01:00|"GET /e HTTP/1.1"|500|7|0.003|0.002|"ok"|-',
]


def test_nginx_pipes_default_escape(tmp_path, modes):
    fmt = layouts.declared(NGINX_PIPE)
    assert fmt.name.startswith("nginx:") and fmt.layout == NGINX_PIPE
    rows = [
        row(1, ts=ts(2024, 3, 1, 9, 0, 0), method="GET", path="/trips/42", query="page=2", status=200, bytes=512,
            duration_ms=12.0, client="10.0.0.1", user_agent="curl/8.1",
            request_id="0123456789abcdef0123456789abcdef"),
        row(2, ts=ts(2024, 3, 1, 9, 0, 1), method="POST", path="/trips", status=201, bytes=0, duration_ms=250.0,
            client="10.0.0.2", user_agent='Mozilla/5.0 "quoted" café'),
        row(6, ts=ts(2024, 3, 1, 9, 0, 3), method="GET", path='/x"y', status=200, bytes=10, duration_ms=0.0,
            client="10.0.0.5"),
        row(7, ts=ts(2024, 3, 1, 9, 0, 4), method="GET", path="/c", status=200, bytes=1, duration_ms=1500.0,
            client="10.0.0.6", user_agent="a|b"),
        row(9, ts=ts(2024, 3, 1, 9, 0, 6), method="GET", path="/e", status=500, bytes=7, duration_ms=3.0,
            client="10.0.0.8", user_agent="ok"),
    ]  # fmt: skip
    rejects = [(3, "malformed"), (4, "malformed"), (5, "bad_timestamp"), (8, "malformed")]
    check_both(tmp_path, modes, fmt, "\n".join(NGINX_PIPE_LINES) + "\n", rows, rejects)


def test_nginx_tabs_upstream_times_summed(tmp_path, modes):
    fmt = layouts.declared(
        "nginx:$remote_addr\\t[$time_local]\\t$request_method\\t$request_uri\\t$status\\t$upstream_response_time"
    )
    text = (
        "192.168.1.1\t[01/Mar/2024:10:00:00 +0000]\tGET\t/trips/7?x=1\t200\t0.500, 0.250 : 0.125\n"
        "192.168.1.1\t[01/Mar/2024:10:00:01 +0000]\tPOST\t/trips\t502\t-\n"
        '192.168.1.1 - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5\n'
        "192.168.1.2\t[01/Mar/2024:10:00:02 +0000]\tGET\t/a b\t200\t0.100, -\n"
        "192.168.1.3\t[01/Mar/2024:10:00:03 +0000]\tGET\t/z\t404\t0.25\n"
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0), method="GET", path="/trips/7", query="x=1", status=200, duration_ms=875.0,
            client="192.168.1.1"),
        row(2, ts=ts(2024, 3, 1, 10, 0, 1), method="POST", path="/trips", status=502, client="192.168.1.1"),
        row(4, ts=ts(2024, 3, 1, 10, 0, 2), method="GET", path="/a b", status=200, client="192.168.1.2"),
        row(5, ts=ts(2024, 3, 1, 10, 0, 3), method="GET", path="/z", status=404, duration_ms=250.0,
            client="192.168.1.3"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed")])


def test_nginx_uri_is_args_args_and_msec(tmp_path, modes):
    # nginx writes '-' for $args when there are none: '/a-' is /a without arguments, '/b--' is /b- without
    fmt = layouts.declared("nginx:$msec $remote_addr $request_method $uri$is_args$args $status")
    text = (
        "1709287200.123 10.0.0.1 GET /a- 200\n"
        "1709287200.500 10.0.0.1 GET /b-- 200\n"
        "1709287201.000 10.0.0.1 GET /c?x=1&y=- 200\n"
        "1709287201.000 10.0.0.1 GET /d 200\n"
        "17092872 10.0.0.1 GET /e 200\n"
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0, 123000), method="GET", path="/a", status=200, client="10.0.0.1"),
        row(2, ts=ts(2024, 3, 1, 10, 0, 0, 500000), method="GET", path="/b-", status=200, client="10.0.0.1"),
        row(3, ts=ts(2024, 3, 1, 10, 0, 1), method="GET", path="/c", query="x=1&y=-", status=200, client="10.0.0.1"),
        row(4, ts=ts(2024, 3, 1, 10, 0, 1), method="GET", path="/d", status=200, client="10.0.0.1"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(5, "malformed")], csv=False)


def test_nginx_escape_json(tmp_path, modes):
    fmt = layouts.declared(
        'nginx,escape=json:{"time":"$time_iso8601","remote_addr":"$remote_addr","request":"$request",'
        '"status":$status,"bytes":$body_bytes_sent,"request_time":$request_time,"ua":"$http_user_agent",'
        '"xff":"$http_x_forwarded_for"}'
    )
    assert fmt.layout.startswith("nginx,escape=json:{")
    text = (
        '{"time":"2024-03-01T10:00:00+00:00","remote_addr":"10.1.1.1","request":"GET /x?y=1 HTTP/1.1",'
        '"status":200,"bytes":5,"request_time":0.004,"ua":"Mozilla \\"X\\" \\u00e9\\\\","xff":""}\n'
        '{"time":"2024-03-01T10:00:01+00:00","remote_addr":"10.1.1.2","request":"DELETE /t/1 HTTP/1.1",'
        '"status":404,"bytes":0,"request_time":0.250,"ua":"","xff":"1.2.3.4, 10.0.0.1"}\n'
        '{"time":"2024-03-01T10:00:02+00:00","remote_addr":"10.1.1.3","request":"GET / HTTP/1.1",'
        '"status":200,"bytes":0,"request_time":0.001,"ua":"a\\x22b","xff":""}\n'
        '10.0.0.9 - - [01/Mar/2024:10:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "curl/8.1"\n'
        '{"time":"2024-03-01T10:00:03+00:00","remote_addr":"10.1.1.4","request":"GET /z HTTP/1.1",'
        '"status":301,"bytes":0,"request_time":0.000,"ua":"caf\\u00e9 \\/ x","xff":"-"}\n'
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0), method="GET", path="/x", query="y=1", status=200, bytes=5,
            duration_ms=4.0, client="10.1.1.1", user_agent='Mozilla "X" é\\'),
        row(2, ts=ts(2024, 3, 1, 10, 0, 1), method="DELETE", path="/t/1", status=404, bytes=0, duration_ms=250.0,
            client="10.1.1.2"),
        row(5, ts=ts(2024, 3, 1, 10, 0, 3), method="GET", path="/z", status=301, bytes=0, duration_ms=0.0,
            client="10.1.1.4", user_agent="café / x"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed"), (4, "malformed")])


# --- Apache ---------------------------------------------------------------------------------------------------

APACHE_COMMA = 'apache:%a,%{%Y-%m-%d %H:%M:%S}t.%{msec_frac}t,"%r",%>s,%B,%D,"%{User-Agent}i",%{X-Request-ID}i'


def test_apache_commas_strftime_local_time(tmp_path, modes):
    fmt = layouts.declared(APACHE_COMMA)
    text = (
        '10.2.0.1,2024-03-01 10:00:00.123,"GET /trips/1 HTTP/1.1",200,100,1500,"Mozilla \\"Q\\" 5.0",abc-1\n'
        '10.2.0.2,2024-03-01 10:00:01.000,"GET /p?q=\\\\x HTTP/1.1",404,0,20,"-",-\n'
        '10.2.0.3,2024-03-01 10:00:02.5,"GET / HTTP/1.1",200,0,1,"x",-\n'
        '10.2.0.4,2024-07-01 10:00:03.000,"GET / HTTP/1.1",200,0,1,"x",-\n'
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 9, 0, 0, 123000), method="GET", path="/trips/1", status=200, bytes=100,
            duration_ms=1.5, client="10.2.0.1", user_agent='Mozilla "Q" 5.0', request_id="abc-1"),
        row(2, ts=ts(2024, 3, 1, 9, 0, 1), method="GET", path="/p", query="q=\\x", status=404, bytes=0,
            duration_ms=0.02, client="10.2.0.2"),
        row(4, ts=ts(2024, 7, 1, 8, 0, 3), method="GET", path="/", status=200, bytes=0, duration_ms=0.001,
            client="10.2.0.4", user_agent="x"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed")], tz="Europe/Paris", csv=False)


def test_apache_tabs_escaped_quotes(tmp_path, modes):
    fmt = layouts.declared('apache:%h\\t%l\\t%u\\t%t\\t"%r"\\t%>s\\t%b\\t%{ms}T\\t"%{Referer}i"')
    text = (
        '1.1.1.1\t-\tbob\t[01/Mar/2024:10:00:00 +0100]\t"GET /a HTTP/1.1"\t200\t-\t12\t"http://r/"\n'
        '1.1.1.2\t-\t-\t[01/Mar/2024:10:00:01 +0100]\t"GET /q?x=\\"y\\" HTTP/1.1"\t200\t5\t3\t"http://r/\\"x"\n'
        '1.1.1.3 - - [01/Mar/2024:10:00:02 +0100] "GET / HTTP/1.1" 200 5 "-" "curl/8.1"\n'
        '1.1.1.4\t-\t-\t[01/Mar/2024:10:00:03 +0100]\t"GET / HTTP/1.1"\t200\t5\t0.5\t"-"\n'
        '1.1.1.5\t-\t-\t[01/Mar/2024:10:00:04 +0100]\t"PUT /z HTTP/1.0"\t301\t0\t0\t"-"\n'
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 9, 0, 0), method="GET", path="/a", status=200, duration_ms=12.0, client="1.1.1.1",
            referer="http://r/"),
        row(2, ts=ts(2024, 3, 1, 9, 0, 1), method="GET", path="/q", query='x="y"', status=200, bytes=5,
            duration_ms=3.0, client="1.1.1.2", referer='http://r/"x'),
        row(5, ts=ts(2024, 3, 1, 9, 0, 4), method="PUT", path="/z", status=301, bytes=0, duration_ms=0.0,
            client="1.1.1.5"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed"), (4, "malformed")])


# --- gunicorn -------------------------------------------------------------------------------------------------


def test_gunicorn_pipes_unescaped_quote_is_a_reject(tmp_path, modes):
    fmt = layouts.declared('gunicorn:%(h)s|%(t)s|"%(r)s"|%(s)s|%(B)s|%(M)s|"%(a)s"|%({x-request-id}i)s|%(p)s')
    text = (
        '127.0.0.1|[01/Mar/2024:10:00:00 +0000]|"GET /api/trips?limit=5 HTTP/1.1"|200|42|7|"python-requests/2.31"|'
        "req-1|<4242>\n"
        '127.0.0.1|[01/Mar/2024:10:00:01 +0000]|"GET / HTTP/1.1"|200|42|7|"Mozilla "X""|-|<4242>\n'
        '127.0.0.1|[01/Mar/2024:10:00:02 +0000]|"DELETE /api/trips/3 HTTP/1.1"|204|0|15|"-"|-|<4243>\n'
        '127.0.0.1|[01/Mar/2024:10:00:03 +0000]|"GET / HTTP/1.1"|200|42|7.5|"x"|-|<4242>\n'
        '127.0.0.2|[01/Mar/2024:10:00:04 +0000]|"GET /b HTTP/1.1"|200|1|0|"a \\ b"|-|<4242>\n'
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0), method="GET", path="/api/trips", query="limit=5", status=200, bytes=42,
            duration_ms=7.0, client="127.0.0.1", user_agent="python-requests/2.31", request_id="req-1"),
        row(3, ts=ts(2024, 3, 1, 10, 0, 2), method="DELETE", path="/api/trips/3", status=204, bytes=0,
            duration_ms=15.0, client="127.0.0.1"),
        row(5, ts=ts(2024, 3, 1, 10, 0, 4), method="GET", path="/b", status=200, bytes=1, duration_ms=0.0,
            client="127.0.0.2", user_agent="a \\ b"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(2, "malformed"), (4, "malformed")])


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nginx:$remote_addr $bogus $status $request", r"unknown nginx variable \$bogus in the layout"),
        ("nginx:$remote_addr ${upstream_magic} $status", r"unknown nginx variable \$upstream_magic"),
        ("apache:%h %Z %>s %r", "unknown Apache directive %Z in the layout"),
        ("apache:%h %{X}z %>s %r", r"unknown Apache directive %\{X\}z in the layout"),
        ("apache:%{%c}t %>s %r", r"%\{%c\}t uses %c, which strangler cannot read back into a time"),
        ("apache:%{%H:%M}t %>s %r", "has no full date and time"),
        ("gunicorn:%(h)s %(zz)s %(s)s %(r)s", r"unknown gunicorn atom %\(zz\)s in the layout"),
        ("gunicorn:%(h)s %(s)d %(r)s", r"write %\(s\)s, not %\(s\)d"),
        ("nginx:$remote_addr $request", "the layout has no status"),
        ("nginx:$remote_addr $status $http_user_agent", "the layout has no request line or path"),
        ('nginx:$status "$http_user_agent$http_referer" $request', "written with nothing between them"),
        ("nginx,escape=xml:$status $request", "unknown nginx escape=xml"),
        ("apache,escape=json:%>s %r", "escape= is an nginx option"),
        ("nginx:$status $ $request", "'\\$' at character 9 is not followed by a variable name"),
    ],
)
def test_layout_errors_name_the_variable(spec, message):
    with pytest.raises(StranglerError, match=message):
        layouts.declared(spec)


def test_cli_declared_format_and_unknown_variable(tmp_path, capsys, real_logs):
    dbfile = str(tmp_path / "cli.duckdb")
    log = str(real_logs / "nginx-combined-reqtime-isucon9" / "access.log")
    assert cli.main(["ingest", log, "--db", dbfile, "--format", "nginx:$remote_addr $bogus_thing $status"]) == 2
    err = capsys.readouterr().err
    assert err == "strangler: error: unknown nginx variable $bogus_thing in the layout\n"
    assert cli.main(["ingest", log, "--db", dbfile, "--format", f"nginx:{ISUCON9}"]) == 0
    out = capsys.readouterr().out
    assert "1,876 lines, 1,876 rows, 0 rejects" in out
    con = db.connect(dbfile)
    digest = layouts.declared(f"nginx:{ISUCON9}").name
    assert con.execute("SELECT format, layout FROM sources").fetchall() == [(digest, f"nginx:{ISUCON9}")]
    con.close()


# --- config files ---------------------------------------------------------------------------------------------

NGINX_CONF = """
user nginx;
http {
    # the default, and one for the API
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" $request_time';
    log_format api escape=json
        '{"t":"$time_iso8601","r":"$request","s":$status,'
        '"rt":$request_time}';
    include sites/*.conf;
}
"""


def nginx_conf(tmp_path: Path, site: str) -> Path:
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "app.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF)
    return conf


def test_config_nginx_access_log_picks_the_format(tmp_path, real_logs):
    conf = nginx_conf(tmp_path, "server {\n  listen 80;\n  access_log /var/log/nginx/app.log main buffer=32k;\n}\n")
    fmt = layouts.from_config(str(conf))
    assert fmt.layout == f"nginx:{ISUCON9}"
    assert fmt.name == layouts.declared(f"nginx:{ISUCON9}").name
    api = layouts.from_config(f"{conf}:api")
    assert api.layout == 'nginx,escape=json:{"t":"$time_iso8601","r":"$request","s":$status,"rt":$request_time}'
    combined = layouts.from_config(f"{conf}:combined")
    assert combined.layout == f"nginx:{layouts.NGINX_COMBINED}"
    with pytest.raises(StranglerError, match="no format named 'nope' \\(defined: api, combined, main\\)"):
        layouts.from_config(f"{conf}:nope")
    # the format read from the config reads the real log as the built-in combined_s does
    assert_same_as_builtin(tmp_path, real_logs / "nginx-combined-reqtime-isucon9" / "access.log", fmt, "combined_s")


def test_config_nginx_two_access_logs(tmp_path):
    conf = nginx_conf(
        tmp_path,
        "server {\n  access_log /var/log/a.log main;\n}\nserver {\n  access_log /var/log/b.log api if=$loggable;\n"
        "  access_log off;\n}\n",
    )
    with pytest.raises(StranglerError) as err:
        layouts.from_config(str(conf))
    site = tmp_path / "sites" / "app.conf"
    assert str(err.value) == (
        f"{conf}: several access_log lines use different formats ({site}:2 uses main; {site}:5 uses api); "
        f"name one: {conf}:NAME"
    )
    assert layouts.from_config(f"{conf}:api").layout.startswith("nginx,escape=json:")
    (tmp_path / "sites" / "app.conf").write_text("server { listen 80; }\n")
    with pytest.raises(StranglerError, match="no access_log line says which format it writes; name one"):
        layouts.from_config(str(conf))
    (tmp_path / "sites" / "app.conf").write_text("server { access_log /var/log/x.log; }\n")  # no name: combined
    assert layouts.from_config(str(conf)).layout == f"nginx:{layouts.NGINX_COMBINED}"


def test_config_apache(tmp_path, modes):
    # httpd.conf in conf/, the log lines in conf.d/ included relative to ServerRoot (as Apache reads it)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf.d").mkdir()
    conf = tmp_path / "conf" / "httpd.conf"
    conf.write_text(f"ServerRoot {tmp_path}\n# a comment\nInclude conf.d/*.conf\n")
    (tmp_path / "conf.d" / "log.conf").write_text(
        '<IfModule log_config_module>\n'
        '    LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined\n'
        '    LogFormat "%a|%t|\\"%r\\"|%>s|%O|%{us}T|%{UNIQUE_ID}e" \\\n'
        "        timed\n"
        "    CustomLog logs/access_log timed\n"
        "</IfModule>\n"
    )
    fmt = layouts.from_config(str(conf))
    assert fmt.layout == 'apache:%a|%t|"%r"|%>s|%O|%{us}T|%{UNIQUE_ID}e'
    text = (
        '10.3.0.1|[01/Mar/2024:10:00:00 +0000]|"GET /x HTTP/1.1"|200|1024|2500|ZeH3a0C0\n'
        '10.3.0.2|[01/Mar/2024:10:00:01 +0000]|"GET /y\\" HTTP/1.1"|404|0|100|-\n'
        '10.3.0.3|[01/Mar/2024:10:00:02 +0000]|"GET /z HTTP/1.1"|200|10|12.5|-\n'
        '10.3.0.4|[01/Mar/2024:10:00:03 +0000]|"GET /w HTTP/1.1"|200|10|4|-\n'
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0), method="GET", path="/x", status=200, bytes=1024, duration_ms=2.5,
            client="10.3.0.1", request_id="ZeH3a0C0"),
        row(2, ts=ts(2024, 3, 1, 10, 0, 1), method="GET", path='/y"', status=404, bytes=0, duration_ms=0.1,
            client="10.3.0.2"),
        row(4, ts=ts(2024, 3, 1, 10, 0, 3), method="GET", path="/w", status=200, bytes=10, duration_ms=0.004,
            client="10.3.0.4"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed")])
    assert layouts.from_config(f"{conf}:combined").layout == (
        'apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
    )


def test_cli_format_file(tmp_path, capsys, real_logs):
    conf = nginx_conf(tmp_path, "server { access_log /var/log/app.log main; }\n")
    dbfile = str(tmp_path / "cli.duckdb")
    log = str(real_logs / "nginx-combined-reqtime-isucon9" / "access.log")
    assert cli.main(["ingest", log, "--db", dbfile, "--format-file", str(conf)]) == 0
    assert "1,876 lines, 1,876 rows, 0 rejects" in capsys.readouterr().out
    assert cli.main(["ingest", log, "--db", dbfile, "--format-file", str(tmp_path / "missing.conf")]) == 2
    assert capsys.readouterr().err == f"strangler: error: {tmp_path / 'missing.conf'}: no such config file\n"
    assert cli.main(["ingest", log, "--db", dbfile, "--format", "combined", "--format-file", str(conf)]) == 2
    assert "--format and --format-file both say the format" in capsys.readouterr().err


# --- real logs: a declared layout reads them exactly as the built-in format does --------------------------------

ISUCON9 = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
    '"$http_user_agent" $request_time'
)


NGINX_JSON_TIMED = (  # the log_format that writes nginx-json-timed/access.log, as its keys and values show
    'nginx,escape=json:{"time":"$time_iso8601","host":"$remote_addr","port":$remote_port,"method":"$request_method",'
    '"uri":"$request_uri","status":"$status","body_bytes":$body_bytes_sent,"referer":"$http_referer",'
    '"ua":"$http_user_agent","request_time":"$request_time","response_time":"$upstream_response_time"}'
)


def table(con) -> tuple[list[tuple], list[tuple]]:
    rows = con.execute(f"SELECT line_no, {', '.join(COLS)} FROM requests ORDER BY line_no").fetchall()
    return rows, con.execute("SELECT line_no, reason, raw FROM rejects ORDER BY line_no").fetchall()


def assert_same_as_builtin(tmp_path: Path, log: Path, fmt, builtin: str, count: int | None = None) -> None:
    tables = []
    for i, f in enumerate([builtin, fmt, regex_only(fmt) if not isinstance(fmt, str) else fmt]):
        con = db.connect(tmp_path / f"same{i}.duckdb")
        result = ingest.ingest(con, [str(log)], fmt=f)
        assert result.ok
        tables.append(table(con))
        con.close()
    assert tables[1] == tables[0]
    assert tables[2] == tables[0]
    if count is not None:
        assert len(tables[0][0]) == count


@pytest.mark.parametrize(
    ("folder", "spec", "builtin", "rows"),
    [
        ("nginx-combined-reqtime-isucon9", f"nginx:{ISUCON9}", "combined_s", 1_876),
        ("apache-combined-blog", 'apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"', "combined", 9_999),
        ("apache-combined-homeserver", 'apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"', "combined",
         3_456),
        ("nginx-combined-xff-shop", f"nginx:{layouts.NGINX_COMBINED} \"$http_x_forwarded_for\"", "combined", 1_000),
        ("flask-api-gunicorn", 'gunicorn:%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"', "combined",
         2_265),
        ("nginx-json-timed", NGINX_JSON_TIMED, "json", 4_122),
    ],
)  # fmt: skip
def test_real_logs_same_rows_as_builtin(tmp_path, real_logs, folder, spec, builtin, rows):
    assert_same_as_builtin(tmp_path, real_logs / folder / "access.log", layouts.declared(spec), builtin, rows)


def test_grown_file_is_read_again_with_its_stored_layout(tmp_path):
    fmt = layouts.declared(NGINX_PIPE)
    log = tmp_path / "access.log"
    log.write_text("\n".join(NGINX_PIPE_LINES[:2]) + "\n")
    con = db.connect(tmp_path / "grow.duckdb")
    first = ingest.ingest(con, [str(log)], fmt=fmt)
    assert first.table[["format", "lines", "rows", "rejects", "note"]].values.tolist() == [[fmt.name, 2, 2, 0, "new"]]
    with log.open("a") as f:
        f.write("\n".join(NGINX_PIPE_LINES[2:]) + "\n")
    again = ingest.ingest(con, [str(log)])  # auto: the source's own layout, from sources.layout
    assert again.table[["format", "lines", "rows", "rejects", "note"]].values.tolist() == [[fmt.name, 7, 3, 4, "grew"]]
    assert con.execute("SELECT format, layout, lines, rows, rejects FROM sources").fetchall() == [
        (fmt.name, NGINX_PIPE, 9, 5, 4)
    ]
    assert ingest.sources(con)[["format", "layout"]].values.tolist() == [[fmt.name, NGINX_PIPE]]
    con.close()


def test_apache_query_cell_conditions_and_forwarded_client(tmp_path, modes):
    # %q alone in its cell ('?query' or nothing), a status-conditional header ('-' for other statuses), and the
    # client from X-Forwarded-For when the layout has no peer address
    fmt = layouts.declared('apache:%{X-Forwarded-For}i;%t;%m;%U;%q;%>s;%400,404{Referer}i;%{ms}T')
    text = (
        "203.0.113.7, 10.0.0.1;[01/Mar/2024:10:00:00 +0000];GET;/trips;?page=2&x=;200;-;4\n"
        "-;[01/Mar/2024:10:00:01 +0000];POST;/trips;;404;http://r/;9\n"
        "203.0.113.8;[01/Mar/2024:10:00:02 +0000];GET;/a;page=1;200;-;1\n"
        "203.0.113.9;[01/Mar/2024:10:00:03 +0000];GET;/b;?;200;-;2\n"
    )
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0), method="GET", path="/trips", query="page=2&x=", status=200,
            duration_ms=4.0, client="203.0.113.7"),
        row(2, ts=ts(2024, 3, 1, 10, 0, 1), method="POST", path="/trips", status=404, duration_ms=9.0,
            referer="http://r/"),
        row(4, ts=ts(2024, 3, 1, 10, 0, 3), method="GET", path="/b", status=200, duration_ms=2.0,
            client="203.0.113.9"),
    ]  # fmt: skip
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed")])
    with pytest.raises(StranglerError, match="%400,501>s is conditional, so it may write '-'"):
        layouts.declared("apache:%h %400,501>s %r")


def test_peer_address_before_forwarded_and_finest_duration():
    fmt = layouts.declared('apache:%{X-Forwarded-For}i %h %a %T %D %{ms}T "%r" %>s %s')
    # %a (the peer) before %h before X-Forwarded-For; %D (µs) before %{ms}T before %T; %>s before %s
    assert fmt.columns["client"] == "CASE WHEN x.v2 IN ('-', '') THEN NULL ELSE x.v2 END"
    assert fmt.columns["duration_ms"] == "try_cast(x.v4 AS DOUBLE) * 0.001"
    assert fmt.columns["status"] == "try_cast(x.v7 AS SMALLINT)"


def test_nginx_spaces_time_over_two_cells(tmp_path, modes):
    # the CSV reader splits '[01/Mar/2024:10:00:00 +0100]' into two cells: checked by their lengths and the
    # parse; a time of the right shape that is no date is bad_timestamp, one of another shape malformed
    fmt = layouts.declared(f"nginx:{ISUCON9}")
    ok = '"GET /a HTTP/1.1" 200 5 "-" "curl/8" 0.010'
    text = (
        f"10.9.0.1 - - [01/Mar/2024:10:00:00 +0100] {ok}\n"
        f"10.9.0.2 - - [30/Feb/2024:10:00:00 +0100] {ok}\n"
        f"10.9.0.3 - - [1/Mar/2024:10:00:00  +0100] {ok}\n"
        f"10.9.0.4 - - [01/MAR/2024:10:00:00 +0100] {ok}\n"
        f"10.9.0.5 - - [01/Mar/2024:10:00:00 +01:00] {ok}\n"
        f"10.9.0.6 - - [01/Mar/24:10:00:00 +0100] {ok}\n"
        f'10.9.0.7 - - [01/Mar/2024:10:00:01 +0100] "GET /b HTTP/1.1" 200 5 "-" "curl/8" 0.020\n'
    )
    common = {"method": "GET", "path": "/a", "status": 200, "bytes": 5, "duration_ms": 10.0, "user_agent": "curl/8"}
    rows = [
        row(1, ts=ts(2024, 3, 1, 9, 0, 0), client="10.9.0.1", **common),
        row(4, ts=ts(2024, 3, 1, 9, 0, 0), client="10.9.0.4", **common),
        row(7, ts=ts(2024, 3, 1, 9, 0, 1), client="10.9.0.7", **{**common, "path": "/b", "duration_ms": 20.0}),
    ]
    rejects = [(2, "bad_timestamp"), (3, "malformed"), (5, "malformed"), (6, "malformed")]
    check_both(tmp_path, modes, fmt, text, rows, rejects)


def test_epoch_times_and_duration_units(tmp_path, modes):
    # Apache %{msec}t (epoch ms) with %T (s), %{usec}t with %{us}T; gunicorn %(L)s (decimal s) and %(T)s (whole s)
    apache_ms = layouts.declared('apache:%{msec}t %a "%r" %>s %T')
    apache_us = layouts.declared('apache:%{end:usec}t %a "%r" %>s %{us}T')
    gunicorn = layouts.declared('gunicorn:%(h)s %(t)s "%(r)s" %(s)s %(T)s %(L)s')
    cases = [
        (apache_ms, '1709287200123 10.0.0.1 "GET /a HTTP/1.1" 200 2\n', ts(2024, 3, 1, 10, 0, 0, 123000), 2000.0),
        (apache_us, '1709287200123456 10.0.0.1 "GET /a HTTP/1.1" 200 1500\n', ts(2024, 3, 1, 10, 0, 0, 123456), 1.5),
        (gunicorn, '10.0.0.1 [01/Mar/2024:10:00:00 +0000] "GET /a HTTP/1.1" 200 0 0.042000\n',
         ts(2024, 3, 1, 10, 0, 0), 42.0),
    ]  # fmt: skip
    for fmt, text, when, ms in cases:
        expected = [row(1, ts=when, method="GET", path="/a", status=200, duration_ms=ms, client="10.0.0.1")]
        check_both(tmp_path, modes, fmt, text, expected, [], csv=fmt.csv_columns is not None)
    assert apache_ms.csv_columns is not None and gunicorn.csv_columns is not None


def test_stored_layout_is_read_back_exactly_and_gzip(tmp_path, modes):
    # a layout that starts and ends with a quote, and holds a backslash once its config escape is read: what
    # sources.layout keeps compiles to the same format; a gzip file goes through the CSV reader too
    fmt = layouts.declared('nginx:"$request" $status "$http_user_agent\\\\"')
    assert fmt.layout == 'nginx:"$request" $status "$http_user_agent\\"'
    log = tmp_path / "access.log.gz"
    text = '"GET /a HTTP/1.1" 200 "curl\\"\n"GET /b HTTP/1.1" 404 "x\\"\n'
    log.write_bytes(gzip.compress(text.encode()))
    con = db.connect(tmp_path / "gz.duckdb")
    assert ingest.ingest(con, [str(log)], fmt=fmt).ok
    assert modes == ["columns"]
    again = layouts.stored(con, 1)
    assert (again.name, again.layout, again.csv_valid, again.columns) == (
        fmt.name,
        fmt.layout,
        fmt.csv_valid,
        fmt.columns,
    )
    assert con.execute("SELECT line_no, method, path, status, user_agent FROM requests ORDER BY 1").fetchall() == [
        (1, "GET", "/a", 200, "curl"),
        (2, "GET", "/b", 404, "x"),
    ]
    con.close()


@pytest.mark.parametrize(
    ("folder", "spec", "lines"),
    [
        ("nginx-combined-reqtime-isucon9", f"nginx:{layouts.NGINX_COMBINED}", 1_876),  # one field short
        ("apache-combined-blog", f"nginx:{ISUCON9}", 10_000),  # one field too many
        ("nginx-combined-xff-shop", 'apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D', 1_000),
        ("flask-api-gunicorn", NGINX_PIPE, 2_265),
    ],
)
def test_real_log_with_another_layout_is_all_rejects(tmp_path, real_logs, folder, spec, lines):
    # a declared layout that is not the file's keeps nothing: every line is a reject, none a row with a wrong value
    rows, rej = read(tmp_path, layouts.declared(spec), (real_logs / folder / "access.log").read_text())
    assert rows == []
    assert len(rej) == lines and {reason for _, reason in rej} == {"malformed"}


def test_quotes_around_the_whole_layout_come_off():
    assert layouts.declared(f"nginx:'{ISUCON9}'").layout == f"nginx:{ISUCON9}"
    assert layouts.declared("apache:\"%h \\\"%r\\\" %>s\"").layout == 'apache:%h "%r" %>s'
    assert layouts.declared('nginx:"$request" $status "$http_user_agent"').layout == (
        'nginx:"$request" $status "$http_user_agent"'  # quotes inside: the layout's own
    )


def test_config_apache_inline_customlog_and_two_logs(tmp_path):
    conf = tmp_path / "httpd.conf"
    conf.write_text('CustomLog "logs/access_log" "%a %t \\"%r\\" %>s %D"\n')
    assert layouts.from_config(str(conf)).layout == 'apache:%a %t "%r" %>s %D'
    conf.write_text(
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common\nCustomLog logs/a.log common\n'
        "<VirtualHost *:80>\n  CustomLog logs/b.log combined env=!dontlog\n</VirtualHost>\n"
    )
    with pytest.raises(StranglerError) as err:
        layouts.from_config(str(conf))
    assert str(err.value) == (
        f"{conf}: several CustomLog lines use different formats ({conf}:2 uses common; {conf}:4 uses combined); "
        f"name one: {conf}:NAME"
    )
    assert layouts.from_config(f"{conf}:combined").layout == f"apache:{layouts.APACHE_STOCK['combined']}"
    (tmp_path / "other.txt").write_text("nothing here\n")
    with pytest.raises(StranglerError, match="no log_format / access_log \\(nginx\\) or LogFormat / CustomLog"):
        layouts.from_config(str(tmp_path / "other.txt"))


def test_braced_nginx_variables(tmp_path, modes):
    fmt = layouts.declared('nginx:${remote_addr}:${remote_port} ${status} "${request}" ${request_time}s')
    text = '10.0.0.1:5555 200 "GET /a?b=c HTTP/1.1" 0.250s\n10.0.0.2:5556 404 "GET /z HTTP/1.1" 0.001s\n'
    rows = [
        row(1, method="GET", path="/a", query="b=c", status=200, duration_ms=250.0, client="10.0.0.1"),
        row(2, method="GET", path="/z", status=404, duration_ms=1.0, client="10.0.0.2"),
    ]
    check_both(tmp_path, modes, fmt, text, rows, [], csv=False)  # address and port in one cell: the regex


def test_nginx_timing_pairs_layout(tmp_path, modes):
    # the popular "main + rt= uct= uht= urt=" layout: key=value cells, quoted lists
    fmt = layouts.declared(
        f'nginx:{layouts.NGINX_COMBINED} rt=$request_time uct="$upstream_connect_time" '
        'uht="$upstream_header_time" urt="$upstream_response_time"'
    )
    text = (
        '10.0.0.1 - - [01/Mar/2024:10:00:00 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8" rt=0.123 uct="0.001" '
        'uht="0.100, 0.020" urt="0.110, 0.012"\n'
        '10.0.0.1 - - [01/Mar/2024:10:00:01 +0000] "GET /b HTTP/1.1" 504 0 "-" "curl/8" rt=60.001 uct="-" '
        'uht="-" urt="-"\n'
        '10.0.0.1 - - [01/Mar/2024:10:00:02 +0000] "GET /c HTTP/1.1" 200 12 "-" "curl/8" 0.123\n'
        '10.0.0.1 - - [01/Mar/2024:10:00:03 +0000] "GET /d HTTP/1.1" 200 1 "-" "curl/8" rt=0.002 uct="0.000" '
        'uht="0.001" urt="0.001"\n'
    )
    common = {"method": "GET", "status": 200, "client": "10.0.0.1", "user_agent": "curl/8"}
    rows = [
        row(1, ts=ts(2024, 3, 1, 10, 0, 0), path="/a", bytes=12, duration_ms=123.0, **common),
        row(2, ts=ts(2024, 3, 1, 10, 0, 1), path="/b", bytes=0, duration_ms=60001.0, **{**common, "status": 504}),
        row(4, ts=ts(2024, 3, 1, 10, 0, 3), path="/d", bytes=1, duration_ms=2.0, **common),
    ]
    check_both(tmp_path, modes, fmt, text, rows, [(3, "malformed")])
