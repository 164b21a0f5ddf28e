"""Declared log layouts: a server's own format string compiled into a `formats.Format`.

`nginx:'<log_format string>'`, `apache:'<LogFormat string>'` and `gunicorn:'<access_log_format string>'` (or the
`log_format` / `LogFormat` directive of a config file, `from_config`) are cut into literal text and variables.
Every variable has a shape (the regular expression its value matches: a status is three digits, `$time_local` is
what nginx writes) and, when it has one, the `requests` column it feeds; the others are matched and left out.

The layout becomes ONE regular expression anchored at both ends, read with `regexp_extract` into a struct of
groups. Where every cell of the layout (cut at its quotes, then on one separator: space, tab, comma, `|`, `;`)
holds at most one variable, DuckDB's CSV reader cuts the lines at their quotes instead (delimiter '"', no
quoting), SQL splits the outside segments on the separator, and each cell is checked against its variable's
regex; a line whose quotes are not the layout's (an escaped quote, another layout) has a segment too many or too
few and goes through the regex, so both readers keep exactly the same rows. Python never sees a line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from strangler import formats as F
from strangler.errors import StranglerError

KINDS = ("nginx", "apache", "gunicorn")
ESCAPES = ("default", "json", "none")  # nginx's escape= values; Apache escapes with backslashes, gunicorn not at all
_SPEC = re.compile(r"^(?P<kind>nginx|apache|gunicorn)(?:,escape=(?P<escape>\w+))?:(?P<layout>.*)$", re.S)

# --- shapes: what a value looks like --------------------------------------------------------------------------

_HOST = r"[0-9A-Za-z._:%\[\]-]+"  # an IPv4/IPv6 address (with zone), a host name, unix:
_INT = r"\d+|-"
_NUM = r"\d+(?:\.\d+)?|-"
_TIME_LOCAL = r"\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
_LIST = (
    r"(?:\d+(?:\.\d+)?|-)(?:(?:, | : )(?:\d+(?:\.\d+)?|-))*"  # nginx $upstream_*_time: ', ' servers, ' : ' redirects
)


@dataclass(frozen=True)
class _Kind:
    """What a variable holds: `shape` is its value's regex (None: free text, bounded by what follows it and
    escaped the way the server escapes), `column` the requests column it feeds and `rank` its priority there."""

    shape: str | None
    column: str | None = None
    rank: int = 0
    unit: str | None = None  # durations: s, ms, us


_KINDS: dict[str, _Kind] = {
    "addr": _Kind(_HOST, "client", 3),  # the peer address (nginx $remote_addr, Apache %a, gunicorn %(h)s)
    "remote_host": _Kind(_HOST, "client", 2),  # Apache %h: the address, or its name with HostnameLookups
    "xff": _Kind(None, "client", 1),  # X-Forwarded-For: its first address, when the layout has no peer address
    "status": _Kind(r"[1-5]\d\d", "status", 2),
    "status_first": _Kind(r"[1-5]\d\d", "status", 1),  # Apache %s (before internal redirects)
    "body_bytes": _Kind(_INT, "bytes", 2),
    "all_bytes": _Kind(_INT, "bytes", 1),  # with the headers
    "int": _Kind(_INT),
    "num": _Kind(_NUM),
    "dur_us": _Kind(_INT, "duration_ms", 4, "us"),
    "dur_ms": _Kind(_INT, "duration_ms", 3, "ms"),
    "dur_s": _Kind(_NUM, "duration_ms", 2, "s"),  # seconds with a fraction (nginx $request_time, gunicorn %(L)s)
    "dur_int_s": _Kind(_INT, "duration_ms", 1, "s"),  # whole seconds (Apache %T, gunicorn %(T)s)
    "dur_list": _Kind(_LIST, "duration_ms", 0, "s"),  # $upstream_response_time: the sum, when no $request_time
    "list": _Kind(_LIST),
    "request": _Kind(None, "request", 2),  # 'GET /a?b HTTP/1.1'
    "method": _Kind(r"[A-Za-z][A-Za-z0-9_-]*|-", "method", 3),
    "target": _Kind(None, "target", 3),  # the request target as sent: path and query
    "path": _Kind(None, "path", 1),  # the path alone (nginx $uri is decoded and normalised)
    "query": _Kind(None, "query", 1),
    "query_q": _Kind(None, "query", 1),  # Apache %q: '?query' or nothing
    "is_args": _Kind(r"\?|"),
    "proto": _Kind(r"[A-Za-z]+/\d(?:\.\d)?|-"),
    "user_agent": _Kind(None, "user_agent", 1),
    "referer": _Kind(None, "referer", 1),
    "request_id": _Kind(r"[0-9a-f]{32}|-", "request_id", 2),  # nginx $request_id
    "request_id_header": _Kind(None, "request_id", 1),
    "free": _Kind(None),
    "host": _Kind(_HOST),
    "ts_local": _Kind(_TIME_LOCAL, "ts", 2),
    "ts_iso": _Kind(_ISO, "ts", 2),
    "ts_msec": _Kind(r"\d+\.\d+", "ts", 3),  # epoch seconds with a fraction (nginx $msec)
    "ts_sec": _Kind(r"\d+", "ts", 3),
    "ts_ms": _Kind(r"\d+", "ts", 3),
    "ts_us": _Kind(r"\d+", "ts", 3),
    "ts_part": _Kind(None, "ts", 1),  # a piece of an Apache %{strftime}t: shape and strptime format in Var.arg
}


@dataclass(frozen=True)
class Var:
    """One variable of a layout: as written, and what it holds."""

    text: str
    kind: str
    arg: str = ""  # ts_part: the strftime format


Token = str | Var


# --- nginx ----------------------------------------------------------------------------------------------------

_NGINX_EXACT = {
    "remote_addr": "addr",
    "realip_remote_addr": "host",
    "binary_remote_addr": "free",
    "remote_port": "int",
    "realip_remote_port": "int",
    "remote_user": "free",
    "time_local": "ts_local",
    "time_iso8601": "ts_iso",
    "msec": "ts_msec",
    "request": "request",
    "request_method": "method",
    "request_uri": "target",
    "uri": "path",
    "document_uri": "path",
    "args": "query",
    "query_string": "query",
    "is_args": "is_args",
    "server_protocol": "proto",
    "scheme": "free",
    "https": "free",
    "status": "status",
    "body_bytes_sent": "body_bytes",
    "bytes_sent": "all_bytes",
    "request_length": "int",
    "request_time": "dur_s",
    "upstream_response_time": "dur_list",
    "upstream_connect_time": "list",
    "upstream_header_time": "list",
    "upstream_queue_time": "list",
    "upstream_status": "free",
    "upstream_addr": "free",
    "upstream_bytes_received": "free",
    "upstream_bytes_sent": "free",
    "upstream_response_length": "free",
    "upstream_cache_status": "free",
    "request_id": "request_id",
    "http_x_forwarded_for": "xff",
    "http_user_agent": "user_agent",
    "http_referer": "referer",
    "http_x_request_id": "request_id_header",
    "host": "host",
    "hostname": "host",
    "server_name": "host",
    "server_addr": "host",
    "server_port": "int",
    "connection": "int",
    "connection_requests": "int",
    "pid": "int",
    "pipe": "free",
    "gzip_ratio": "free",
    "request_completion": "free",
    "content_type": "free",
    "content_length": "free",
    "ssl_protocol": "free",
    "ssl_cipher": "free",
    "ssl_server_name": "free",
    "ssl_session_reused": "free",
    "proxy_host": "free",
    "proxy_port": "free",
    "proxy_add_x_forwarded_for": "free",
    "proxy_protocol_addr": "free",
    "request_filename": "free",
    "document_root": "free",
    "nginx_version": "free",
}
_NGINX_PREFIX = {"http_": "free", "sent_http_": "free", "sent_trailer_": "free", "cookie_": "free", "arg_": "free"}
_NGINX_VAR = re.compile(r"\$(?:\{(\w*)\}|(\w*))")


def _nginx(layout: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    for m in _NGINX_VAR.finditer(layout):
        tokens.append(layout[at : m.start()])
        name = m[1] if m[1] is not None else m[2]
        if not name:
            raise StranglerError(f"nginx layout: '$' at character {m.start() + 1} is not followed by a variable name")
        kind = _NGINX_EXACT.get(name) or next((k for p, k in _NGINX_PREFIX.items() if name.startswith(p)), None)
        if kind is None:
            raise StranglerError(f"unknown nginx variable ${name} in the layout")
        tokens.append(Var(m[0], kind))
        at = m.end()
    tokens.append(layout[at:])
    return tokens


# --- Apache ---------------------------------------------------------------------------------------------------

_APACHE_PLAIN = {
    "a": "addr",
    "A": "host",
    "h": "remote_host",
    "l": "free",
    "u": "free",
    "r": "request",
    "m": "method",
    "U": "path",
    "q": "query_q",
    "H": "proto",
    "s": "status_first",
    "b": "body_bytes",
    "B": "body_bytes",
    "O": "all_bytes",
    "I": "int",
    "S": "int",
    "D": "dur_us",
    "T": "dur_int_s",
    "v": "host",
    "V": "host",
    "p": "int",
    "P": "int",
    "X": "free",
    "k": "int",
    "L": "free",
    "R": "free",
    "f": "free",
    "F": "free",
}
_APACHE_HEADER = {"user-agent": "user_agent", "referer": "referer", "x-forwarded-for": "xff"}
_REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id", "x-amzn-trace-id")
_APACHE_ITEM = re.compile(r"%([!<>,\d]*)(?:\{([^}]*)\})?([!<>,\d]*)([A-Za-z%])")


# deliberate: _apache and _gunicorn scan different directive grammars with the same loop shape; their errors differ
def _apache(layout: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    for m in _APACHE_ITEM.finditer(layout):
        if "%" in layout[at : m.start()]:
            pos = layout.index("%", at)
            raise StranglerError(f"Apache layout: '%' at character {pos + 1} does not start a directive")
        tokens.append(layout[at : m.start()])
        at = m.end()
        mods, arg, letter = (m[1] or "") + (m[3] or ""), m[2], m[4]
        if letter == "%" and not mods and arg is None:
            tokens.append("%")
            continue
        conditional = any(c.isdigit() for c in mods)  # '%400,501{Referer}i': '-' for the other statuses
        tokens += _apache_item(m[0], letter, arg, ">" in mods, conditional)
    if "%" in layout[at:]:
        raise StranglerError(f"Apache layout: '%' at character {layout.index('%', at) + 1} does not start a directive")
    tokens.append(layout[at:])
    return tokens


def _apache_item(text: str, letter: str, arg: str | None, final: bool, conditional: bool) -> list[Token]:
    """The tokens one Apache directive writes (%t writes its brackets)."""
    kind: str | None = None
    if arg is None:
        if letter == "t":
            return ["[", Var(text, "ts_local"), "]"]
        if letter == "s" and final:
            kind = "status"
        else:
            kind = _APACHE_PLAIN.get(letter)
    elif letter in "io":
        name = arg.lower()
        if letter == "i":
            kind = _APACHE_HEADER.get(name) or ("request_id_header" if name in _REQUEST_ID_HEADERS else "free")
        else:
            kind = "free"
    elif letter in "enCx":
        kind = "request_id_header" if (letter, arg) == ("e", "UNIQUE_ID") else "free"
    elif letter == "a":
        kind = "addr" if arg == "c" else None
    elif letter == "p":
        kind = "int" if arg in ("canonical", "local", "remote") else None
    elif letter == "P":
        kind = "int" if arg in ("pid", "tid", "hextid") else None
    elif letter == "T":
        kind = {"s": "dur_int_s", "ms": "dur_ms", "us": "dur_us"}.get(arg)
    elif letter == "t":
        return _strftime(text, arg)
    if kind is None:
        raise StranglerError(f"unknown Apache directive {text} in the layout")
    shape = _KINDS[kind].shape
    if conditional and shape is not None and "-" not in shape.split("|"):
        raise StranglerError(f"Apache layout: {text} is conditional, so it may write '-' where a value is expected")
    return [Var(text, kind)]


# strftime directive -> (regex of what it writes, DuckDB strptime equivalent)
_STRFTIME = {
    "Y": (r"\d{4}", "%Y"),
    "y": (r"\d\d", "%y"),
    "m": (r"\d\d", "%m"),
    "d": (r"\d\d", "%d"),
    "H": (r"\d\d", "%H"),
    "I": (r"\d\d", "%I"),
    "M": (r"\d\d", "%M"),
    "S": (r"\d\d", "%S"),
    "p": (r"AM|PM", "%p"),
    "b": (r"[A-Z][a-z]{2}", "%b"),
    "h": (r"[A-Z][a-z]{2}", "%b"),
    "B": (r"[A-Z][a-z]+", "%B"),
    "a": (r"[A-Z][a-z]{2}", "%a"),
    "A": (r"[A-Z][a-z]+", "%A"),
    "j": (r"\d{3}", "%j"),
    "z": (r"[+-]\d{4}", "%z"),
    "T": (r"\d\d:\d\d:\d\d", "%H:%M:%S"),
    "R": (r"\d\d:\d\d", "%H:%M"),
    "F": (r"\d{4}-\d\d-\d\d", "%Y-%m-%d"),
    "D": (r"\d\d/\d\d/\d\d", "%m/%d/%y"),
}


def _part(arg: str) -> tuple[str, str]:
    """(regex, DuckDB strptime format) of one piece of an Apache time: a strftime directive or a fraction."""
    if arg == "msec_frac":
        return r"\d{3}", "%g"
    if arg == "usec_frac":
        return r"\d{6}", "%f"
    return _STRFTIME[arg[1]]


def _strftime(text: str, arg: str) -> list[Token]:
    """Apache %{format}t: epoch forms, fractions, or a strftime format (each directive one ts_part)."""
    fmt = arg.removeprefix("begin:").removeprefix("end:")
    epoch = {"sec": "ts_sec", "msec": "ts_ms", "usec": "ts_us"}
    if fmt in epoch:
        return [Var(text, epoch[fmt])]
    if fmt in ("msec_frac", "usec_frac"):
        return [Var(text, "ts_part", fmt)]
    out: list[Token] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        d = fmt[i + 1 : i + 2]
        if d == "%":
            out.append("%")
        elif d in _STRFTIME:
            out.append(Var(f"{text}[%{d}]", "ts_part", f"%{d}"))
        else:
            raise StranglerError(
                f"Apache layout: {text} uses %{d}, which strangler cannot read back into a time "
                f"(it reads %{' %'.join(_STRFTIME)}, sec, msec, usec, msec_frac, usec_frac)"
            )
        i += 2
    return out


# --- gunicorn -------------------------------------------------------------------------------------------------

_GUNICORN_PLAIN = {
    "h": "addr",
    "l": "free",
    "u": "free",
    "r": "request",
    "m": "method",
    "U": "path",
    "q": "query",
    "H": "proto",
    "s": "status",
    "B": "body_bytes",
    "b": "body_bytes",
    "f": "referer",
    "a": "user_agent",
    "T": "dur_int_s",
    "D": "dur_us",
    "M": "dur_ms",
    "L": "dur_s",
}
_GUNICORN_ITEM = re.compile(r"%(?:\((?P<atom>[^)]*)\)(?P<conv>.)|(?P<pct>%))")


# deliberate: same loop shape as _apache over gunicorn's grammar, with its own error message
def _gunicorn(layout: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    for m in _GUNICORN_ITEM.finditer(layout):
        if "%" in layout[at : m.start()]:
            raise StranglerError(f"gunicorn layout: '%' at character {layout.index('%', at) + 1} is not %(name)s")
        tokens.append(layout[at : m.start()])
        at = m.end()
        if m["pct"]:
            tokens.append("%")
            continue
        atom = m["atom"]
        if m["conv"] != "s":
            raise StranglerError(f"gunicorn layout: write %({atom})s, not {m[0]}")
        if atom == "t":  # '[10/Oct/2000:13:55:36 -0700]'
            tokens += ["[", Var(m[0], "ts_local"), "]"]
        elif atom == "p":  # '<12345>'
            tokens += ["<", Var(m[0], "int"), ">"]
        elif atom in _GUNICORN_PLAIN:
            tokens.append(Var(m[0], _GUNICORN_PLAIN[atom]))
        elif hm := re.fullmatch(r"\{([^}]*)\}([ioe])", atom):
            name, where = hm[1].lower(), hm[2]
            kind = "free"
            if where == "i":
                kind = _APACHE_HEADER.get(name) or ("request_id_header" if name in _REQUEST_ID_HEADERS else "free")
            tokens.append(Var(m[0], kind))
        else:
            raise StranglerError(f"unknown gunicorn atom %({atom})s in the layout")
    if "%" in layout[at:]:
        raise StranglerError(f"gunicorn layout: '%' at character {layout.index('%', at) + 1} is not %(name)s")
    tokens.append(layout[at:])
    return tokens


# --- the regex and the columns --------------------------------------------------------------------------------


def _char_class(chars: str) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in sorted(set(chars)))


def _free(escape: str, stops: str, quoted: bool) -> str:
    """Regex of a free-text value under the server's escaping, ending before any of `stops`."""
    s = _char_class(stops.replace('"', "").replace("\\", ""))
    if escape == "apache":  # \" and \\ (and \xhh for other bytes): a raw quote never appears
        return rf'(?:[^"\\{s}]|\\.)*'
    if escape == "default":  # nginx: '"', '\' and bytes outside 32-126 as \xHH
        return rf'(?:[^"\\{s}]|\\x[0-9A-Fa-f]{{2}})*'
    if escape == "json":
        return rf'(?:[^"\\{s}]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{{4}}))*'
    # none: nothing escaped; inside quotes a value may not hold a quote (that line is ambiguous: a reject)
    stop = s + ('"' if quoted else "") + ("\\\\" if "\\" in stops else "")
    return f"[^{stop}]*" if stop else ".*"


def _decode(escape: str, v: str) -> str:
    """SQL undoing the server's escaping of a free-text value `v` (as the server wrote it, back to the text)."""
    if escape == "apache":  # like the built-in formats: \" and \\ only; other escapes stay as written
        return (
            f"CASE WHEN contains({v}, '\\') THEN replace(replace(replace({v}, '\\\\', '{F._BSLASH}'), "
            f"'\\\"', '\"'), '{F._BSLASH}', '\\') ELSE {v} END"
        )
    if escape == "default":  # \xHH are bytes (UTF-8 when they form it; otherwise they stay as written)
        return (
            f"CASE WHEN contains({v}, '\\x') THEN coalesce(try(url_decode(replace(replace({v}, '%', '%25'), "
            f"'\\x', '%'))), {v}) ELSE {v} END"
        )
    if escape == "json":
        return f"CASE WHEN contains({v}, '\\') THEN json_extract_string(('\"' || {v} || '\"')::JSON, '$') ELSE {v} END"
    return v


def _quote_state(tokens: list[Token]) -> list[bool]:
    """For each token: whether it sits inside a '"'-quoted stretch of the layout."""
    inside, out = False, []
    for t in tokens:
        out.append(inside)
        if isinstance(t, str):
            inside ^= t.count('"') % 2 == 1
    return out


def _stops(tokens: list[Token], i: int) -> str:
    """The characters that end free text at token i: what follows it."""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    return "?" if isinstance(nxt, Var) else nxt[:1]  # _check_tokens let only '?...' follow free text


def _value_regex(tokens: list[Token], i: int, escape: str, quoted: bool) -> str:
    """The regex of the value of variable token i: its shape, or free text up to what follows it."""
    v = tokens[i]
    assert isinstance(v, Var)
    kind = _KINDS[v.kind]
    if v.kind == "ts_part":
        return _part(v.arg)[0]
    if v.kind == "request" and not quoted:  # an unquoted request line: three words
        return r'[^ "]+ [^ "]+(?: [A-Za-z]+/[0-9.]+)?|-'
    if kind.shape is not None:  # nginx's escape=json writes a variable it has no value for as nothing, not '-'
        return kind.shape + "|" if escape == "json" and "-" in kind.shape.split("|") else kind.shape
    free = _free(escape, _stops(tokens, i), quoted)
    if v.kind == "query_q":  # the group inside: the query without its '?'; nginx writes '-' for no arguments
        return rf"(?:\?({free}){'|-' if v.arg == 'nginx' else ''})?"
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if isinstance(nxt, Var) and nxt.kind == "query_q":  # '/a-' is /a with no arguments: the shortest path
        return free[:-1] + "*?" if free.endswith("*") else free
    return free


def _literal(text: str) -> str:
    return re.escape(text).replace("\\ ", " ")


def _regex(tokens: list[Token], escape: str) -> tuple[str, list[int], list[str]]:
    """The layout as one anchored regex with one group per variable (in order), the token index of each, and
    each variable's own regex."""
    quoted = _quote_state(tokens)
    parts, groups, values = [], [], []
    for i, t in enumerate(tokens):
        if isinstance(t, str):
            parts.append(_literal(t))
            continue
        rx = _value_regex(tokens, i, escape, quoted[i])
        groups.append(i)
        values.append(rx)
        parts.append(rx if t.kind == "query_q" else f"({rx})")
    return "^" + "".join(parts) + "$", groups, values


def _check_tokens(tokens: list[Token]) -> None:
    """Two variables with nothing between them only where the first cannot run into the second (a path before
    '?query', an address before a path, the pieces of one strftime time)."""
    for i, t in enumerate(tokens):
        if isinstance(t, Var) and i + 1 < len(tokens) and isinstance(tokens[i + 1], Var):
            nxt = tokens[i + 1]
            assert isinstance(nxt, Var)
            if nxt.kind in ("is_args", "query_q") or (
                t.kind in ("host", "addr", "remote_host") and nxt.kind in ("target", "path", "request")
            ):
                continue
            if t.kind == "ts_part" and nxt.kind == "ts_part":
                continue
            raise StranglerError(
                f"{t.text} and {nxt.text} are written with nothing between them: strangler cannot tell where one "
                "ends; put a separator between them"
            )


def _columns(tokens: list[Token], groups: list[int], val: Callable[[int], str], escape: str):
    """(prep layers, columns) over the variables' raw values: val(k) is the SQL of the k-th variable's text."""
    best: dict[str, tuple[int, int]] = {}  # column -> (rank, variable number)
    ts_parts: list[int] = []
    for k, i in enumerate(groups):
        v = tokens[i]
        assert isinstance(v, Var)
        kind = _KINDS[v.kind]
        if v.kind == "ts_part":
            ts_parts.append(k)
        if kind.column and (kind.column not in best or kind.rank > best[kind.column][0]):
            best[kind.column] = (kind.rank, k)
    if "status" not in best:
        raise StranglerError("the layout has no status (nginx $status, Apache %>s, gunicorn %(s)s): nothing to count")
    if not {"request", "target", "path"} & set(best):
        raise StranglerError(
            "the layout has no request line or path ($request, $request_uri, $uri, %r, %U, %(r)s, %(U)s): "
            "nothing to attribute"
        )

    def var(col: str) -> tuple[Var, str]:
        k = best[col][1]
        v = tokens[groups[k]]
        assert isinstance(v, Var)
        return v, val(k)

    def text(col: str) -> str:
        return _decode(escape, var(col)[1])

    layers: list[dict[str, str]] = []
    cols: dict[str, str] = {}
    if "request" in best:
        layers += F.request_layers(text("request"))
        cols.update(F._REQUEST_COLUMNS)
    if "method" in best:
        cols["method"] = f"CASE WHEN {var('method')[1]} <> '-' THEN upper({var('method')[1]}) END"
    if "target" in best:
        t = F._dash(text("target"))
        cols["path"], cols["query"] = F._target_path(t), F._target_query(t)
    elif "path" in best and "request" not in best:
        cols["path"] = F._dash(text("path"))
    if "query" in best and "target" not in best and "request" not in best:
        q = var("query")
        cols["query"] = f"nullif({_decode(escape, q[1])}, '')" if q[0].kind == "query_q" else F._dash(text("query"))
    cols["status"] = f"try_cast({var('status')[1]} AS SMALLINT)"
    if "bytes" in best:
        cols["bytes"] = f"try_cast({var('bytes')[1]} AS BIGINT)"
    if "duration_ms" in best:
        d, x = var("duration_ms")
        factor = F._UNITS[_KINDS[d.kind].unit or "s"]
        if d.kind == "dur_list":
            cols["duration_ms"] = (
                f"CASE WHEN contains({x}, '-') THEN NULL "
                f"ELSE list_sum(try_cast(regexp_split_to_array({x}, ', | : ') AS DOUBLE[])) * {factor} END"
            )
        else:
            cols["duration_ms"] = f"try_cast({x} AS DOUBLE) * {factor}"
    if "client" in best:
        c, x = var("client")
        cols["client"] = F._dash(f"trim(split_part({_decode(escape, x)}, ',', 1))") if c.kind == "xff" else F._dash(x)
    for col in ("user_agent", "referer"):
        if col in best:
            cols[col] = F._dash(text(col))
    if "request_id" in best:
        cols["request_id"] = F._dash(text("request_id"))
    if "ts" in best:
        cols["ts"] = _ts(tokens, groups, var("ts"), ts_parts, val)
    return layers, cols


def _ts(tokens, groups, chosen: tuple[Var, str], parts: list[int], val: Callable[[int], str]) -> str:
    v, x = chosen
    utc = "try(timezone('UTC', make_timestamp({})))"  # try: a number too large for a time is no time, not an error
    if v.kind == "ts_local":
        return f"try_strptime({x}, '%d/%b/%Y:%H:%M:%S %z')"
    if v.kind == "ts_iso":
        return f"try_strptime({x}, '%Y-%m-%dT%H:%M:%S%z')"
    if v.kind == "ts_msec":
        return utc.format(f"CAST(CAST({x} AS DECIMAL(38, 6)) * 1000000 AS BIGINT)")
    if v.kind in ("ts_sec", "ts_ms", "ts_us"):
        factor = {"ts_sec": 1000000, "ts_ms": 1000, "ts_us": 1}[v.kind]
        return utc.format(f"CAST({x} AS BIGINT) * {factor}")
    # the pieces of Apache %{...}t, joined with '|' into one strptime
    fmts = []
    for k in parts:
        p = tokens[groups[k]]
        assert isinstance(p, Var)
        fmts.append(_part(p.arg)[1])
    have = "".join(fmts)
    date_ok = any(d in have for d in ("%Y", "%y")) and (
        ("%d" in have and any(m in have for m in ("%m", "%b", "%B"))) or "%j" in have
    )
    if not (date_ok and "%H" in have.replace("%I", "%H") and "%M" in have):
        texts = sorted({t.text.split("[")[0] for t in (tokens[groups[k]] for k in parts) if isinstance(t, Var)})
        raise StranglerError(
            f"the time in the layout ({', '.join(texts)}) has no full date and time: strangler cannot make a timestamp"
        )
    joined = " || '|' || ".join(val(k) for k in parts)
    fmt = "|".join(fmts)
    if "%z" in have:
        return f"try_strptime({joined}, '{fmt}')"
    return f"timezone($tz, try_strptime({joined}, '{fmt}')::TIMESTAMP)"


# --- compiling ------------------------------------------------------------------------------------------------


def _tokens(kind: str, layout: str) -> list[Token]:
    raw = {"nginx": _nginx, "apache": _apache, "gunicorn": _gunicorn}[kind](layout)
    tokens: list[Token] = []
    for t in raw:  # merge neighbouring literals, drop empty ones
        if isinstance(t, str):
            if not t:
                continue
            if tokens and isinstance(tokens[-1], str):
                tokens[-1] += t
                continue
        prev = tokens[-1] if tokens else None
        if isinstance(t, Var) and t.kind == "query" and isinstance(prev, Var) and prev.kind == "is_args":
            tokens[-1] = Var(prev.text + t.text, "query_q", "nginx")  # '$is_args$args': '?args', or '-' for none
            continue
        tokens.append(t)
    return tokens


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def spec(kind: str, layout: str, escape: str | None = None) -> str:
    """The canonical KIND[,escape=E]:LAYOUT string of a declared layout (what sources.layout keeps)."""
    return f"{kind}{f',escape={escape}' if escape and escape != 'default' else ''}:{layout}"


def compile(kind: str, layout: str, escape: str | None = None) -> F.Format:
    """The Format that reads lines written with `layout` by a server of `kind` (nginx, apache, gunicorn).

    `escape` is nginx's escape= (default, json, none); Apache always escapes with backslashes, gunicorn never."""
    if kind not in KINDS:
        raise StranglerError(f"unknown server kind {kind!r} for a declared layout; use one of {', '.join(KINDS)}")
    if escape and kind != "nginx":
        raise StranglerError(f"escape= is an nginx option; {kind} escapes its own way")
    if escape and escape not in ESCAPES:
        raise StranglerError(f"unknown nginx escape={escape}; use one of {', '.join(ESCAPES)}")
    style = {"nginx": escape or "default", "apache": "apache", "gunicorn": "none"}[kind]
    if "\n" in layout or "\r" in layout:
        raise StranglerError("the layout writes a line break: one request would span several lines")
    tokens = _tokens(kind, layout)
    if not any(isinstance(t, Var) for t in tokens):
        raise StranglerError(f"the {kind} layout has no variables")
    _check_tokens(tokens)
    rx, groups, values = _regex(tokens, style)
    names = ["m_"] + [f"v{k}" for k in range(len(groups))]
    extract = f"regexp_extract(line, '{_sql_str('^(' + rx[1:-1] + ')$')}', {names!r})"
    layers, cols = _columns(tokens, groups, lambda k: f"x.v{k}", style)
    canonical = spec(kind, layout, escape)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    csv = _csv(tokens, groups, values, style)
    return F.Format(
        f"{kind}:{digest}",
        f"declared {kind} layout: {layout}",
        [{"x": extract}, *layers],
        "x.m_ <> ''",
        cols,
        ts_required="ts" in cols,
        layout=canonical,
        csv_read=csv[0] if csv else None,
        csv_valid=csv[1] if csv else None,
        csv_prep=csv[2] if csv else None,
        csv_columns=csv[3] if csv else None,
        csv_partial=True,
    )


# --- the CSV reader's path ------------------------------------------------------------------------------------

_DELIMITERS = " \t,|;"
_NULL = "\x01"  # read_csv's nullstr: no field is this, so an empty field is '' and only a missing one NULL


def _csv(tokens: list[Token], groups: list[int], values: list[str], escape: str):
    """(read_csv options, validity, helper layers, columns) of the CSV reader's path, or None where the regex
    reads every line.

    DuckDB's CSV reader cuts each line at its quotes (delimiter '"', no quoting): the segments alternate between
    outside and inside the layout's quotes, so a line with a quote more or less than the layout (an escaped or
    unescaped quote inside a value, another layout) has a segment too many or too few and goes to the regex. An
    outside segment is split on the layout's separator into cells; an inside one is one cell. A cell holds at
    most one variable (else None), checked with that variable's regex ($time_local spans two cells of a space)."""
    quoted = _quote_state(tokens)
    counts = {d: sum(t.count(d) for t, q in zip(tokens, quoted) if isinstance(t, str) and not q) for d in _DELIMITERS}
    delim = max(_DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else None
    var_no = {i: k for k, i in enumerate(groups)}
    items: list[str | tuple[int, int]] = []  # characters, and (variable, part)
    spanned: set[int] = set()
    for i, t in enumerate(tokens):
        if isinstance(t, str):
            items += list(t)
            continue
        k = var_no[i]
        if not quoted[i] and delim == " " and t.kind == "ts_local":  # '10/Oct/2000:13:55:36 -0700': two cells
            items += [(k, 0), delim, (k, 1)]
            spanned.add(k)
            continue
        shaped = _KINDS[t.kind].shape is not None or t.kind == "request"
        if not quoted[i] and delim and shaped and (("\\" + delim) if delim == "|" else delim) in values[k]:
            return None  # a value that holds the separator (a list of times, an unquoted request line)
        items.append((k, 0))
    segments: list[list[str | tuple[int, int]]] = [[]]
    for it in items:
        if it == '"':
            segments.append([])
        else:
            segments[-1].append(it)
    from strangler.ingest import MAX_LINE

    n = len(segments)
    names = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(1, n + 2)) + "}"
    options = (
        f"columns = {names}, delim = '\"', quote = '', escape = '', nullstr = '{_NULL}', header = false, "
        f"auto_detect = false, null_padding = true, strict_mode = false, max_line_size = {MAX_LINE + 2}"
    )
    checks = [f"c{n + 1} IS NULL", f"c{n} IS NOT NULL", "NOT starts_with(c1, '#')"]  # '#': a header line
    split: dict[str, str] = {}
    parts: dict[int, list[str]] = {}
    wrap: dict[int, tuple[str, str]] = {}  # a spanned $time_local: the literal text before and after it
    for si, seg in enumerate(segments):
        col = f"c{si + 1}"
        cells: list[list[str | tuple[int, int]]] = [[]]
        for it in seg:
            if si % 2 == 0 and it == delim:
                cells.append([])
            else:
                cells[-1].append(it)
        if len(cells) > 1 and sum(isinstance(p, tuple) for p in seg) > 1:
            split[f"s{si + 1}"] = f"string_split({col}, '{delim}')"
            checks.append(f"len(s{si + 1}) = {len(cells)}")
            exprs = [f"s{si + 1}[{j}]" for j in range(1, len(cells) + 1)]
        else:  # one cell, one variable or only literal text: the segment as a whole
            cells = [seg]
            exprs = [col]
        last = len(cells) - 1
        for j, (c, cell) in enumerate(zip(exprs, cells)):
            where = [x for x, p in enumerate(cell) if isinstance(p, tuple)]
            if len(where) > 1:
                return None  # two variables in one cell: the regex reads those
            if not where:
                text = _sql_str("".join(str(p) for p in cell))
                if c == col:
                    checks.append(f"{c} = '{text}'")
                elif j == 0:  # the first and last cells of a split segment, seen on the segment itself
                    checks.append(f"starts_with({col}, '{text}{delim}')")
                elif j == last:
                    checks.append(f"ends_with({col}, '{delim}{text}')")
                else:
                    checks.append(f"{c} = '{text}'")
                continue
            pre = "".join(str(p) for p in cell[: where[0]])
            post = "".join(str(p) for p in cell[where[0] + 1 :])
            item = cell[where[0]]
            assert isinstance(item, tuple)
            k, part = item
            v = tokens[groups[k]]
            assert isinstance(v, Var)
            rx = values[k].split(delim or " ")[part] if k in spanned else values[k]
            inner = f"substr({c}, {len(pre) + 1}, strlen({c}) - {len(pre) + len(post)})" if pre or post else c
            # the regex's group of %q / $is_args$args holds the query without its '?' (nothing for nginx's '-')
            qv = f"CASE WHEN starts_with({inner}, '?') THEN substr({inner}, 2) ELSE '' END"
            if k in spanned:  # the cells whole: their brackets go into the strptime format instead
                parts.setdefault(k, []).append(c)
                wrap[k] = (wrap.get(k, ("", ""))[0] + pre, post) if part else (pre, "")
            else:
                parts.setdefault(k, []).append(qv if v.kind == "query_q" else inner)
            if k in spanned:
                # '[10/Oct/2000:13:55:36' and '-0700]': with these lengths, a time that parses (a row whose time
                # does not is taken out again and judged by the regex) has exactly the regex's shape
                size = len(pre) + len(post) + (20 if part == 0 else 5)
                checks.append(f"strlen({c}) = {size}")
                checks += [f"starts_with({c}, '{_sql_str(pre)}')"] if pre else []
                checks += [f"ends_with({c}, '{_sql_str(post)}')"] if post else []
            elif _KINDS[v.kind].shape is None and v.kind != "query_q" and not post:
                # free text ending its cell (no quote, no separator outside quotes: the cuts saw to that, and it
                # ends where the regex's would); Apache's escapes and nginx's
                # \xHH are checked by the value's regex, and a line with an Apache escape goes to the regex
                backslash = "false" if escape == "apache" else f"regexp_full_match({inner}, '{_sql_str(rx)}')"
                checks.append(f"(NOT contains({inner}, '\\') OR {backslash})")
                if pre:
                    checks.append(f"starts_with({c}, '{_sql_str(pre)}')")
            else:
                checks.append(
                    f"regexp_full_match({c}, '{_sql_str(_literal(pre) + '(?:' + rx + ')' + _literal(post))}')"
                )
    values_sql = {f"v{k}": f" || '{delim}' || ".join(ps) for k, ps in parts.items()}
    layers, columns = _columns(tokens, groups, lambda k: f"v{k}", escape)
    for k, (pre, post) in wrap.items():
        plain = f"try_strptime(v{k}, '%d/%b/%Y:%H:%M:%S %z')"
        if columns.get("ts") == plain:
            esc = [_sql_str(x.replace("%", "%%")) for x in (pre, post)]
            columns["ts"] = f"try_strptime(v{k}, '{esc[0]}%d/%b/%Y:%H:%M:%S %z{esc[1]}')"
    # a window between the cut and the checks: DuckDB would otherwise push the checks down through the layer and
    # cut the segment again for every cell they read (twice the time); it cannot push a filter through a window
    prep = [split, {"cut_": "row_number() OVER ()"}, values_sql, *layers] if split else [values_sql, *layers]
    return options, " AND ".join(checks), prep, columns


def is_declared(fmt: str) -> bool:
    """Whether a --format value declares a layout (KIND:LAYOUT) rather than naming a format."""
    return bool(_SPEC.match(fmt))


def _strip_quotes(layout: str) -> str:
    """'...' or "..." around the whole layout (as a config writes it) come off."""
    if len(layout) >= 2 and layout[0] == layout[-1] and layout[0] in "'\"":
        inner = layout[1:-1]
        if not re.search(r"(?<!\\)" + layout[0], inner):
            return inner
    return layout


def _conf_unescape(s: str) -> str:
    r"""The escapes of a quoted config string: \" \' \\ \t (a layout copied out of a config reads the same)."""
    return re.sub(r"\\([\"'\\t])", lambda m: "\t" if m[1] == "t" else m[1], s)


def declared(fmt: str, exact: bool = False) -> F.Format:
    """The Format of a --format KIND[,escape=E]:LAYOUT value (`exact`: the layout as kept in sources.layout, with
    no quotes to take off and no config escapes to read)."""
    m = _SPEC.match(fmt)
    if not m:
        raise StranglerError(f"{fmt!r} is not KIND:LAYOUT (KIND: {', '.join(KINDS)})")
    layout = m["layout"]
    if not exact:
        layout = _strip_quotes(layout)
        if "\\" in layout:
            layout = _conf_unescape(layout)
    return compile(m["kind"], layout, m["escape"])


def stored(con: duckdb.DuckDBPyConnection, source_id: int) -> F.Format:
    """The Format a source was read with, compiled again from the layout `sources.layout` kept."""
    row = con.execute("SELECT format, layout FROM sources WHERE source_id = ?", [source_id]).fetchall()
    if not row or not row[0][1]:
        raise StranglerError(f"source {source_id} was read as {row[0][0] if row else '?'}, which is not a format")
    return declared(row[0][1], exact=True)


# --- config files ---------------------------------------------------------------------------------------------

NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
APACHE_STOCK = {  # what the stock httpd.conf defines
    "common": '%h %l %u %t "%r" %>s %b',
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
}
_NGINX_TOKEN = re.compile(
    r"""\s+|#[^\n]*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([;{}])|((?:[^\s;{}'"\\]|\\.)+)""", re.S
)


@dataclass
class _Directive:
    name: str
    args: list[str]
    where: str  # file:line


def _included(pattern: str, bases: list[Path]) -> list[Path]:
    """The files an include names (a glob), relative to the first base folder where it matches anything."""
    for base in bases:
        target = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        found = sorted(target.parent.glob(target.name)) if target.parent.is_dir() else []
        if found:
            return [f.resolve() for f in found if f.is_file()]
    return []


def _nginx_directives(path: Path, seen: set[Path], bases: list[Path] | None = None) -> list[_Directive]:
    """The directives of an nginx config (block structure flattened), `include` of existing files followed
    (relative to the main config's folder, as nginx reads them)."""
    bases = bases or [path.parent]
    if path in seen:
        return []
    seen.add(path)
    text = path.read_text(errors="replace")
    out: list[_Directive] = []
    words: list[str] = []
    line = 1
    start = 1
    pos = 0
    while pos < len(text):
        m = _NGINX_TOKEN.match(text, pos)
        if m is None:
            raise StranglerError(f"{path}:{line}: cannot read this nginx config (unbalanced quote?)")
        if not words:
            start = line
        line += m[0].count("\n")
        pos = m.end()
        if m[1] is None and m[2] is None and m[3] is None and m[4] is None:
            continue  # space or comment
        if m[3]:
            if m[3] == ";" and words:
                out.append(_Directive(words[0], words[1:], f"{path}:{start}"))
                if words[0] == "include":
                    for inc in words[1:]:
                        for f in _included(inc, bases):
                            out += _nginx_directives(f, seen, bases)
            words = []
            continue
        quoted = m[1] if m[1] is not None else m[2]
        words.append(_conf_unescape(quoted) if quoted is not None else m[4])
    return out


def _apache_directives(path: Path, seen: set[Path], bases: list[Path] | None = None) -> list[_Directive]:
    """The directives of an Apache config (continuation lines joined), Include of existing files followed
    (relative to ServerRoot, else to the main config's folder)."""
    bases = bases or [path.parent]
    if path in seen:
        return []
    seen.add(path)
    out: list[_Directive] = []
    lines = path.read_text(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        start = i + 1
        text = lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + lines[i]
        i += 1
        text = text.strip()
        if not text or text.startswith("#") or text.startswith("<"):
            continue
        words = [a if b is None else _conf_unescape(b) for a, b in _apache_words(text, f"{path}:{start}")]
        out.append(_Directive(words[0], words[1:], f"{path}:{start}"))
        if words[0].lower() == "serverroot" and len(words) > 1:
            bases.insert(0, Path(words[1]))
        if words[0].lower() in ("include", "includeoptional"):
            for inc in words[1:]:
                for f in _included(inc, bases):
                    out += _apache_directives(f, seen, bases)
    return out


def _apache_words(text: str, where: str) -> list[tuple[str, str | None]]:
    """An Apache directive's words: (bare word, None) or ('', the text inside double quotes)."""
    words: list[tuple[str, str | None]] = []
    for m in re.finditer(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))', text):
        if m[1] is None and m[2] is None:
            continue
        if m[2] is not None and m[2].startswith('"'):
            raise StranglerError(f"{where}: unbalanced quote")
        words.append((m[2] or "", m[1]))
    return words


def from_config(arg: str) -> F.Format:
    """The Format of `--format-file CONF[:NAME]`: the `log_format` (nginx) or `LogFormat` (Apache) named NAME in
    CONF, or without NAME the one its `access_log` / `CustomLog` line writes with."""
    conf, name = Path(arg), None
    if not conf.exists() and ":" in arg:
        head, _, tail = arg.rpartition(":")
        conf, name = Path(head), tail
    if not conf.is_file():
        raise StranglerError(f"{conf}: no such config file")
    try:
        nginx = _nginx_directives(conf.resolve(), set())
    except StranglerError:  # not nginx's syntax: perhaps Apache's
        nginx = []
    if any(d.name in ("log_format", "access_log") for d in nginx):
        return _from_nginx(conf, nginx, name)
    apache = _apache_directives(conf.resolve(), set())
    if any(d.name.lower() in ("logformat", "customlog") for d in apache):
        return _from_apache(conf, apache, name)
    raise StranglerError(f"{conf}: no log_format / access_log (nginx) or LogFormat / CustomLog (Apache) in it")


def _pick(conf: Path, formats: dict[str, str], used: list[tuple[str, str]], name: str | None, what: str) -> str:
    """The name of the format to use: `name`, or the one the log lines use."""
    if name is None:
        names = sorted({n for n, _ in used})
        if not names:
            raise StranglerError(
                f"{conf}: no {what} line says which format it writes; name one: {conf}:NAME "
                f"(defined: {', '.join(sorted(formats)) or 'none'})"
            )
        if len(names) > 1:
            lines = "; ".join(f"{where} uses {n}" for n, where in used)
            raise StranglerError(f"{conf}: several {what} lines use different formats ({lines}); name one: {conf}:NAME")
        name = names[0]
    if name not in formats:
        raise StranglerError(f"{conf}: no format named {name!r} (defined: {', '.join(sorted(formats)) or 'none'})")
    return name


def _from_nginx(conf: Path, directives: list[_Directive], name: str | None) -> F.Format:
    formats: dict[str, str] = {"combined": NGINX_COMBINED}
    escapes: dict[str, str | None] = {"combined": None}
    used: list[tuple[str, str]] = []
    for d in directives:
        if d.name == "log_format":
            if len(d.args) < 2:
                raise StranglerError(f"{d.where}: log_format needs a name and a layout")
            fname, rest = d.args[0], d.args[1:]
            esc = None
            if rest[0].startswith("escape="):
                esc, rest = rest[0].removeprefix("escape="), rest[1:]
            formats[fname], escapes[fname] = "".join(rest), esc
        elif d.name == "access_log" and d.args and d.args[0] != "off":
            fmt = d.args[1] if len(d.args) > 1 and "=" not in d.args[1] else "combined"
            used.append((fmt, d.where))
    chosen = _pick(conf, formats, used, name, "access_log")
    return compile("nginx", formats[chosen], escapes[chosen])


def _from_apache(conf: Path, directives: list[_Directive], name: str | None) -> F.Format:
    formats = dict(APACHE_STOCK)
    used: list[tuple[str, str]] = []
    for d in directives:
        low = d.name.lower()
        if low == "logformat" and len(d.args) >= 2:
            formats[d.args[1]] = d.args[0]
        elif low == "customlog" and len(d.args) >= 2:
            fmt = d.args[1]
            if "%" in fmt:  # a layout written on the CustomLog line itself
                formats[f"{d.where}"] = fmt
                fmt = d.where
            used.append((fmt, d.where))
    chosen = _pick(conf, formats, used, name, "CustomLog")
    return compile("apache", formats[chosen])
