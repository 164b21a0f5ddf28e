"""The one DuckDB file that holds all of strangler's state, and how it is opened.

Input tables (what was read: logs, routes, the manifest) are created here. Derived tables (`scores`,
`reviews`) are rebuilt wholesale by the module that computes them (`score`, `review`).

The rollups (`ROLLUP_SCHEMA`) are what the analyses read: one row per hour and (method, route, route_framework,
match, shape, backend, status), with a latency histogram beside it in log buckets (`strangler.sketch`) and the
busiest second per route and hour. They are built from `requests` by `strangler.rollup` (DuckDB) or straight
from the logs by the Spark job; both write exactly these columns. Every column merges across parts by addition
(counts, sums, histogram `n`), by min/max (`first_ts`, `last_ts`, `example_path`, `peak_rps`).

DuckDB lets one process write a file or many processes read it, never both at once (a file lock). So
`connect` opens a file in one of three modes: `create` (only `ingest`, `demo`, `routes` may make a new file),
`write` and `read` (the file must exist; `read` opens it read-only). A file held by another process is
retried for a bounded time (`STRANGLER_LOCK_WAIT` seconds, default 30), then refused with one line naming
the process that holds it. Readers (the notebooks) open the file per call through `Reader`, so a writer
never waits for longer than one call.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypeVar

import duckdb

from strangler.errors import StranglerError

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    source_id   INTEGER PRIMARY KEY,
    path        VARCHAR NOT NULL,    -- as given on the command line, resolved to an absolute path
    format      VARCHAR NOT NULL,    -- format name, see strangler.formats.FORMATS
    chosen      VARCHAR,             -- how: 'declared' (--format), 'detected 998/1000' (sample lines parsed), 'empty file'
    lines       BIGINT  NOT NULL,    -- every physical line read from the file
    rows        BIGINT  NOT NULL,    -- lines that became requests
    rejects     BIGINT  NOT NULL,    -- lines that became rejects; rows + rejects = lines
    fingerprint VARCHAR,             -- hash of the file's first bytes: recognises a rotated file by content
    bytes_read  BIGINT,              -- offset of the end of the last complete line read: growth is read from here
    seconds     DOUBLE,
    ingested_at TIMESTAMPTZ,
    layout      VARCHAR              -- a declared layout (KIND:LAYOUT, see strangler.layouts); NULL for a built-in format
);

CREATE TABLE IF NOT EXISTS requests (
    ts              TIMESTAMPTZ,     -- UTC; NULL when the log has no timestamps
    method          VARCHAR,
    path            VARCHAR,         -- without the query string
    query           VARCHAR,         -- the query string without '?', NULL when there is none
    status          SMALLINT,
    bytes           BIGINT,
    duration_ms     DOUBLE,          -- NULL when the log has no latency field
    client          VARCHAR,
    user_agent      VARCHAR,
    referer         VARCHAR,
    request_id      VARCHAR,
    backend         VARCHAR,         -- 'flask' / 'fastapi' when the log says (the router's log), else NULL
    logged_route    VARCHAR,         -- the route as the serving app named it in the log, if it did
    db_ms           DOUBLE,
    db_queries      INTEGER,
    route           VARCHAR,         -- routes.rule matched by the framework's own rules; NULL when unmatched
    route_framework VARCHAR,         -- framework of the matched rule
    match           VARCHAR,         -- 'matched' / 'method_not_allowed' / 'redirect' / 'unmatched'; NULL until attributed
    source_id       INTEGER NOT NULL,
    line_no         BIGINT  NOT NULL -- 1-based physical line in its file
);

CREATE TABLE IF NOT EXISTS rejects (
    source_id INTEGER NOT NULL,
    line_no   BIGINT  NOT NULL,
    reason    VARCHAR NOT NULL,
    raw       VARCHAR              -- the line, cut at 2 KB
);

CREATE TABLE IF NOT EXISTS routes (
    framework VARCHAR NOT NULL,    -- 'flask' / 'fastapi'
    method    VARCHAR NOT NULL,
    rule      VARCHAR NOT NULL,    -- as the framework writes it: /trips/<int:trip_id>, /trips/{trip_id}
    endpoint  VARCHAR,
    file      VARCHAR,
    line      INTEGER,
    end_line  INTEGER,
    blueprint VARCHAR,             -- Flask blueprint or FastAPI router tag; NULL for the app itself
    inventory VARCHAR,             -- 'app' (imported) or 'source' (static)
    app       VARCHAR,             -- the MODULE:ATTR or source directory it came from
    position  INTEGER,             -- the framework's matching order within its app (Starlette tries in this order)
    app_object VARCHAR,            -- static inventory: which app of the tree (module:app, module:factory(), module:bind(app))
    assumes   VARCHAR              -- static inventory: environment variables the rule was computed with, and the values taken
);
ALTER TABLE routes ADD COLUMN IF NOT EXISTS app_object VARCHAR;
ALTER TABLE routes ADD COLUMN IF NOT EXISTS assumes VARCHAR;

CREATE TABLE IF NOT EXISTS path_shapes (
    path  VARCHAR,                 -- a distinct requests.path
    shape VARCHAR                  -- the path collapsed to a shape (ids replaced) under the current routes; by attribute
);

CREATE TABLE IF NOT EXISTS route_converters (
    app            VARCHAR NOT NULL, -- the MODULE:ATTR the exact inventory imported
    rule           VARCHAR NOT NULL, -- routes.rule (mount prefix included)
    variable       VARCHAR NOT NULL,
    converter      VARCHAR NOT NULL, -- the name the rule uses: <uuid_str:id> -> uuid_str
    args           VARCHAR,          -- the text between its parentheses, if any
    regex          VARCHAR NOT NULL, -- what the converter's instance matches, read from the app
    part_isolating BOOLEAN NOT NULL, -- false: the match may span '/' (like path)
    weight         INTEGER NOT NULL, -- Werkzeug's ordering weight
    checked        BOOLEAN NOT NULL, -- its to_python is not the identity: attribute asks the app about matches
    mount          VARCHAR NOT NULL, -- the prefix of the Flask app the rule belongs to ('' for the app itself)
    python         VARCHAR NOT NULL, -- the interpreter and directory the app was imported with, to ask it again
    cwd            VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS route_versions (
    app         VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,
    rule        VARCHAR NOT NULL,    -- routes.rule of a Cadwyn-versioned route
    api_version VARCHAR NOT NULL     -- a Cadwyn API version that serves it
);

CREATE TABLE IF NOT EXISTS routes_unresolved (
    file    VARCHAR,     -- where the definition or the expression that could not be resolved is
    line    INTEGER,
    reason  VARCHAR,
    code    VARCHAR,     -- that line of source
    method  VARCHAR,     -- for a route whose path is partly known: its method,
    rule    VARCHAR,     -- its rule with each unknown part written {?},
    unknown VARCHAR      -- and the expression whose value is not known
);
ALTER TABLE routes_unresolved ADD COLUMN IF NOT EXISTS method VARCHAR;
ALTER TABLE routes_unresolved ADD COLUMN IF NOT EXISTS rule VARCHAR;
ALTER TABLE routes_unresolved ADD COLUMN IF NOT EXISTS unknown VARCHAR;

CREATE TABLE IF NOT EXISTS batches (
    batch      VARCHAR NOT NULL,
    method     VARCHAR NOT NULL,
    rule       VARCHAR NOT NULL,
    cutover_at TIMESTAMPTZ NOT NULL,
    canary     DOUBLE,              -- fraction sent to FastAPI; NULL means all of it after cutover
    position   INTEGER NOT NULL     -- the batch's order in the manifest, from 1
);
"""


# The rollups. Key columns (in this order) are shared by `rollups` and `rollup_latency`; NULL is a value of a key
# (e.g. `route` of unmatched traffic, `hour` of a log without timestamps) and groups like any other.
ROLLUP_KEY = ("hour", "method", "route", "route_framework", "match", "shape", "backend", "status")

ROLLUP_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollups (
    hour            TIMESTAMPTZ,     -- start of the UTC hour of requests.ts; NULL for requests without a timestamp
    method          VARCHAR,         -- as logged (HEAD is not folded into GET here)
    route           VARCHAR,         -- requests.route: the matched rule, NULL when nothing matched
    route_framework VARCHAR,
    match           VARCHAR,         -- 'matched' / 'method_not_allowed' / 'redirect' / 'unmatched'
    shape           VARCHAR,         -- path_shapes.shape of the path when match <> 'matched' (ids collapsed); else NULL
    backend         VARCHAR,         -- 'flask' / 'fastapi' when the log says, else NULL
    status          SMALLINT,
    requests        BIGINT NOT NULL, -- rows of requests in this group
    bytes_n         BIGINT NOT NULL, -- requests with a size (bytes not NULL)
    bytes_sum       BIGINT,          -- their sum (NULL when bytes_n = 0)
    duration_n      BIGINT NOT NULL, -- requests with a duration; their histogram is in rollup_latency
    db_ms_n         BIGINT NOT NULL,
    db_ms_sum       DOUBLE,
    db_queries_n    BIGINT NOT NULL,
    db_queries_sum  BIGINT,
    first_ts        TIMESTAMPTZ,     -- min(ts), max(ts) of the group: merge by min / max
    last_ts         TIMESTAMPTZ,
    example_path    VARCHAR          -- min(path) when match <> 'matched' (a drill-down example per shape); else NULL
);

CREATE TABLE IF NOT EXISTS rollup_latency (
    hour            TIMESTAMPTZ,     -- the key of rollups, column for column
    method          VARCHAR,
    route           VARCHAR,
    route_framework VARCHAR,
    match           VARCHAR,
    shape           VARCHAR,
    backend         VARCHAR,
    status          SMALLINT,
    bucket          SMALLINT NOT NULL, -- strangler.sketch.bucket_of(duration_ms): ceil(ln(ms) / ln(gamma)), or ZERO
    n               BIGINT NOT NULL    -- requests of the group in that bucket; sum(n) = rollups.duration_n
);

CREATE TABLE IF NOT EXISTS rollup_peaks (
    hour            TIMESTAMPTZ NOT NULL, -- timestamped requests with a route only
    route_framework VARCHAR,
    route           VARCHAR NOT NULL,
    route_method    VARCHAR,  -- the method the route is counted under: HEAD -> GET unless the rule declares HEAD
    peak_rps        BIGINT NOT NULL    -- the most requests in one second of this hour (merge by max)
);

CREATE TABLE IF NOT EXISTS rollup_state (
    source_id     INTEGER,            -- a source (requests.source_id) whose requests the rollups hold
    origin        VARCHAR,            -- 'requests': rolled up from its raw rows by strangler.rollup, which keeps the
                                      -- figures below to see what changed; 'ingest': aggregated while reading the
                                      -- log (its raw rows, if any, are a sample and are never rolled up)
    rows          BIGINT,             -- count(*), count(route), count(ts), max(line_no) and a checksum of the
    routed        BIGINT,             -- attribution (sum of hash(route, match, ts)) of that source's rows when
    timed         BIGINT,             -- they were rolled up: a source whose old lines differ now is rolled up again
    max_line      BIGINT,
    checksum      HUGEINT,
    rolled_at     TIMESTAMPTZ
);
"""

# Rollup rows are additive: several rows may share a key (readers sum them; `rollup.build` compacts the hours it
# touches). Parquet layout of a rollup directory (`strangler rollup --out DIR`, and the Spark job's output): each
# table of ROLLUP_TABLES under DIR/<table>/day=YYYY-MM-DD/*.parquet (hive partitions of hour's UTC day;
# `day=__HIVE_DEFAULT_PARTITION__` holds requests without a timestamp), and the tables of ROLLUP_SIDE_TABLES the
# analyses join with as DIR/<table>.parquet.
ROLLUP_TABLES = ("rollups", "rollup_latency", "rollup_peaks")
ROLLUP_SIDE_TABLES = ("routes", "routes_unresolved")

UPGRADE = """
ALTER TABLE sources ADD COLUMN IF NOT EXISTS chosen VARCHAR;  -- a file made before sources.chosen existed
ALTER TABLE sources ADD COLUMN IF NOT EXISTS layout VARCHAR;  -- ... or before sources.layout
"""


Mode = Literal["create", "write", "read"]
MODES: tuple[str, ...] = ("create", "write", "read")
LOCK_WAIT_ENV = "STRANGLER_LOCK_WAIT"
DEFAULT_LOCK_WAIT_S = 30.0
_RETRY_S = 0.1
_LOCKED = re.compile(r"Could not set lock on file|Conflicting lock is held", re.I)
_PID = re.compile(r"\(PID (\d+)\)")
T = TypeVar("T")


def lock_wait() -> float:
    """Seconds to wait for a database another process holds: $STRANGLER_LOCK_WAIT, else 30."""
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        raise StranglerError(f"{LOCK_WAIT_ENV}={raw!r}: write a number of seconds, e.g. 30") from None
    if value < 0:
        raise StranglerError(f"{LOCK_WAIT_ENV}={raw!r}: seconds cannot be negative")
    return value


def holder(message: str) -> str:
    """The process named in DuckDB's lock error, as 'PID 123 (strangler ingest ...)', from /proc when readable."""
    m = _PID.search(message)
    if not m:
        return "another process"
    pid = m.group(1)
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"PID {pid}"
    words = [a.decode(errors="replace") for a in argv if a]
    if len(words) > 1 and Path(words[0]).name.startswith("python") and words[1] != "-c":
        words = words[1:]  # `python .../strangler ingest` reads better as `strangler ingest`
    if words:
        words[0] = Path(words[0]).name
    command = " ".join(words)
    return f"PID {pid} ({command[:120] + ' …' if len(command) > 120 else command})"


def _busy(path: Path, mode: str, message: str, waited: float) -> StranglerError:
    who = holder(message)
    if mode == "read":
        todo = "wait for it to finish, then run this again"
    else:
        todo = "wait for it to finish (or stop it: close the notebook's kernel, end the command), then run this again"
    return StranglerError(
        f"database {path} is {'being written' if mode == 'read' else 'in use'} by {who}; "
        f"waited {waited:g} s ({LOCK_WAIT_ENV} to change): {todo}"
    )


def connect(db: str | Path, mode: Mode = "create", wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file `db` in `mode` and, unless read-only, make sure the input tables exist.

    create: make the file (and its folder) when missing; write: the file must exist; read: the file must
    exist and is opened read-only. A file another process holds is retried for `wait` seconds (default
    `lock_wait()`), then refused with one line naming that process.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    path = Path(db).expanduser()
    if mode != "create" and not path.is_file():
        what = "is a folder, not a database file" if path.is_dir() else "does not exist"
        raise StranglerError(
            f"database {path} {what}: `strangler ingest LOG --db {path}` (or `strangler demo` + `make report` "
            "for the demo) creates it"
        )
    if mode == "create":
        path.parent.mkdir(parents=True, exist_ok=True)
    budget = lock_wait() if wait is None else wait
    deadline = time.monotonic() + budget
    while True:
        try:
            con = duckdb.connect(str(path), read_only=mode == "read")
            break
        except duckdb.IOException as exc:
            if not _LOCKED.search(str(exc)):
                raise StranglerError(f"database {path} could not be opened: {str(exc).splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                raise _busy(path, mode, str(exc), budget) from None
            time.sleep(_RETRY_S)
        except duckdb.Error as exc:  # not a DuckDB file, a newer format, a broken file
            raise StranglerError(f"database {path} could not be opened: {str(exc).splitlines()[0]}") from None
    if mode != "read":
        con.execute(SCHEMA)
        con.execute(ROLLUP_SCHEMA)
        con.execute(UPGRADE)
    return con


@contextmanager
def reading(db: str | Path, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for the length of a `with` block; the file must exist."""
    con = connect(db, "read", wait)
    try:
        yield con
    finally:
        con.close()


class Reader:
    """A database that notebooks read: each call opens it read-only, runs one function on it, and closes it.

    `data = Reader(path)`; `data(attribute.endpoints, start, end)` is `attribute.endpoints(con, start, end)`
    on a connection held only for that call, so `strangler ingest` can write between two cells.
    """

    def __init__(self, db: str | Path, wait: float | None = None) -> None:
        self.path = Path(db)
        self.wait = wait
        connect(self.path, "read", wait).close()  # refuses a missing file or a broken one now, not at first use

    def __call__(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        with reading(self.path, self.wait) as con:
            return fn(con, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Reader({str(self.path)!r})"
