"""The SQL that turns lines into request columns or a reject reason, for any `formats.Format`.

Shared by the ingest (every line of a file) and by detection (a sample of lines, one query per candidate).
A line is a request only when the format's layout holds and every field passes the generic checks below, which
apply to every format, built-in or declared: the method is an HTTP token, the path starts with '/' (or is '*'),
the status is 100-599 (0 only where the producer writes it), durations are finite and >= 0, sizes and counts
are >= 0, and a timestamp the line carries parses. A line that fails a check is a reject `bad_<column>`
(`bad_timestamp` for ts).
"""

from __future__ import annotations

from collections.abc import Callable

from strangler.formats import Format

MAX_LINE = 1 << 20  # a longer line is a reject (too_long)
TOKEN = "[A-Za-z][!#$%&''*+.^_`|~0-9A-Za-z-]{0,31}"  # an HTTP method is a token (RFC 9110); here a letter first
COLUMNS = [
    "ts",
    "method",
    "path",
    "query",
    "status",
    "bytes",
    "duration_ms",
    "client",
    "user_agent",
    "referer",
    "request_id",
    "backend",
    "logged_route",
    "db_ms",
    "db_queries",
]
NOT_LOG = ("blank", "header", "too_long", "unterminated", "truncated_gzip")  # reasons that say nothing of the format


def cleaned(src: str) -> str:
    """`src` (line_no, line, flag) with a trailing CR cut off each line."""
    return (
        f"SELECT line_no, flag, CASE WHEN suffix(line, chr(13)) THEN left(line, -1) ELSE coalesce(line, '') END "
        f"AS line FROM ({src})"
    )


def layered(layers: list[dict[str, str]], rel: str) -> str:
    """`rel` with each layer's helper columns added on top (a layer may use the columns of the ones before)."""
    for layer in layers:
        rel = "SELECT *" + "".join(f", {expr} AS {name}" for name, expr in layer.items()) + f" FROM ({rel})"
    return rel


def classified(fmt: Format, src: str) -> str:
    """Lines of `src` with the format's helpers and a layout `reason` (NULL: the line has the format's layout)."""
    checks = [
        ("flag IS NOT NULL", "flag"),
        ("line IS NULL OR trim(line) = ''", "'blank'"),
        (f"strlen(line) > {MAX_LINE}", "'too_long'"),
        ("starts_with(line, '#')", "'header'"),
    ]
    checks += [(cond, f"'{reason}'") for cond, reason in fmt.extra_invalid]
    checks.append((f"NOT coalesce({fmt.valid}, false)", f"'{fmt.invalid_reason}'"))
    checks += [(cond, f"'{reason}'") for cond, reason in fmt.late_invalid]
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in checks) + " END"
    return f"SELECT *, {reason} AS reason FROM ({layered(fmt.prep, cleaned(src))})"


def method_ok(m: str) -> str:
    """SQL: `m` is an HTTP token (NULL stays NULL). A CASE, not IN, which DuckDB would turn into a join."""
    return (
        f"CASE {m} WHEN 'GET' THEN true WHEN 'POST' THEN true WHEN 'HEAD' THEN true "
        f"ELSE regexp_full_match({m}, '{TOKEN}') END"
    )


def checks(fmt: Format, col: Callable[[str], str]) -> list[tuple[str, str]]:
    """(SQL true when the value is wrong, reject reason) per checked column; `col(name)` is the column's SQL."""
    status_ok = f"{col('status')} BETWEEN 100 AND 599" + (f" OR {col('status')} = 0" if fmt.status_zero else "")
    out = [(f"{col('ts')} IS NULL", "bad_timestamp")] if fmt.ts_required else []
    out += [
        (f"NOT {method_ok(col('method'))}", "bad_method"),
        (f"NOT (starts_with({col('path')}, '/') OR {col('path')} = '*')", "bad_path"),
        (f"NOT ({status_ok})", "bad_status"),
        (f"{col('bytes')} < 0", "bad_bytes"),
    ]
    for c in ("duration_ms", "db_ms"):
        out.append((f"NOT (isfinite({col(c)}) AND {col(c)} >= 0)", f"bad_{c}"))
    out.append((f"{col('db_queries')} < 0", "bad_db_queries"))
    return [(f"coalesce({cond}, false)", reason) for cond, reason in out]


def bad_row(fmt: Format) -> str:
    """SQL over the `requests` columns: the stored row fails a check (it is deleted and becomes a reject)."""
    return "(" + " OR ".join(cond for cond, _ in checks(fmt, lambda c: c)) + ")"


def verdict(fmt: Format, src: str, detecting: bool = False) -> str:
    """Every line of `src` as (line_no, line, reason, <columns>): reason NULL and the columns set for a request,
    else the reason (layout first, then the first failing check) and NULL columns. `detecting` adds the format's
    `detect_valid` (reason 'not_this_format'). Each column is computed once, for the lines with the layout."""
    cols = ", ".join(f"CASE WHEN reason IS NULL THEN {fmt.columns.get(c, 'NULL')} END AS v_{c}" for c in COLUMNS)
    bad = checks(fmt, lambda c: f"v_{c}")
    if detecting and fmt.detect_valid:
        bad.append((f"NOT coalesce({fmt.detect_valid}, false)", "not_this_format"))
    check = "CASE " + " ".join(f"WHEN {cond} THEN '{reason}'" for cond, reason in bad) + " END"
    inner = f"SELECT *, {cols} FROM ({classified(fmt, src)})"
    judged = f"SELECT *, coalesce(reason, {check}) AS why FROM ({inner})"  # (no * REPLACE: Spark runs this too)
    out = ", ".join(f"CASE WHEN why IS NULL THEN v_{c} END AS {c}" for c in COLUMNS)
    return f"SELECT line_no, line, why AS reason, {out} FROM ({judged})"
