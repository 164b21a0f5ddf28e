"""The one DuckDB file that holds all of strangler's state.

Input tables (what was read: logs, routes, the manifest) are created here. Derived tables (`scores`,
`reviews`) are rebuilt wholesale by the module that computes them (`score`, `compare`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

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


def connect(db: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the DuckDB file and make sure the input tables exist."""
    path = Path(db)
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    return con
