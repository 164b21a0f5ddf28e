"""The one DuckDB file that holds all of strangler's state, and how it is opened.

Input tables (what was read: logs, routes, the manifest) are created here. Derived tables (`scores`,
`reviews`) are rebuilt wholesale by the module that computes them (`score`, `compare`).

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
    lines       BIGINT  NOT NULL,    -- every physical line read from the file
    rows        BIGINT  NOT NULL,    -- lines that became requests
    rejects     BIGINT  NOT NULL,    -- lines that became rejects; rows + rejects = lines
    fingerprint VARCHAR,             -- hash of the file's first bytes: recognises a rotated file by content
    bytes_read  BIGINT,              -- offset of the end of the last complete line read: growth is read from here
    seconds     DOUBLE,
    ingested_at TIMESTAMPTZ
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
    position  INTEGER              -- the framework's matching order within its app (Starlette tries in this order)
);

CREATE TABLE IF NOT EXISTS path_shapes (
    path  VARCHAR,                 -- a distinct requests.path
    shape VARCHAR                  -- the path collapsed to a shape (ids replaced) under the current routes; by attribute
);

CREATE TABLE IF NOT EXISTS routes_unresolved (
    file   VARCHAR,
    line   INTEGER,
    reason VARCHAR,
    code   VARCHAR
);

CREATE TABLE IF NOT EXISTS batches (
    batch      VARCHAR NOT NULL,
    method     VARCHAR NOT NULL,
    rule       VARCHAR NOT NULL,
    cutover_at TIMESTAMPTZ NOT NULL,
    canary     DOUBLE,              -- fraction sent to FastAPI; NULL means all of it after cutover
    position   INTEGER NOT NULL     -- the batch's order in the manifest, from 1
);
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
