"""The router's access log: one JSON line per HTTP request, written by a thread so the event loop never waits.

Keys in `LOG_KEYS` (the DESIGN.md contract): `ts` is the arrival (ISO 8601, UTC, `Z`), `path` the raw public
path without its query string, `route` the rule as the serving app names it (Flask `/trips/<int:trip_id>`,
FastAPI `/v2/trips/{trip_id}`; null when Flask matched nothing), `duration_ms` runs to the last body byte,
`bytes` counts body bytes sent, `request_id` is the client's `x-request-id` or a new one, `batch` and `rule`
name the manifest batch and Flask rule of a request on a batch's route (null otherwise), whichever backend
served it: the pilot compares the two backends on them.

The pilot adds event records (`event_line`): one per decision, starting with `{"type":"pilot",` so that readers
tell them from requests without parsing (ingest files them as rejects with reason `router_event`).

Several processes (uvicorn workers, the pilot) may append to one file: it is opened with O_APPEND and every batch
of lines goes out in one `write`, so lines never interleave.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path

LOG_KEYS = (
    "ts",
    "method",
    "path",
    "route",
    "backend",
    "status",
    "duration_ms",
    "bytes",
    "db_ms",
    "db_queries",
    "request_id",
    "batch",
    "rule",
)
EVENT_TYPE = "pilot"  # event records start with {"type":"pilot", ...}: not requests (see `event_line`)


def iso(ts: float) -> str:
    """POSIX seconds as ISO 8601 UTC with microseconds and `Z`."""
    whole = int(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((ts - whole) * 1e6):06d}Z"


def format_record(values: tuple) -> str:
    """One log line (with its newline) from the tuple the event loop queued."""
    ts, method, path, route, backend, status, duration, size, db_ms, db_queries, rid, batch, rule = values
    record = {
        "ts": iso(ts),
        "method": method,
        "path": path,
        "route": route,
        "backend": backend,
        "status": status,
        "duration_ms": round(duration * 1000.0, 3),
        "bytes": size,
        "db_ms": round(db_ms, 3),
        "db_queries": db_queries,
        "request_id": rid,
        "batch": batch,
        "rule": rule,
    }
    return json.dumps(record, separators=(",", ":")) + "\n"


def event_line(event: dict) -> str:
    """An event record (with its newline): `{"type":"pilot",` first, then the event's keys."""
    return json.dumps({"type": EVENT_TYPE, **event}, separators=(",", ":")) + "\n"


def append_lines(path: str | Path, text: str) -> None:
    """Append complete lines to `path` in one O_APPEND write (safe beside other writers of the same file)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


class AccessLog:
    """Appends JSON lines from a writer thread; `put` only enqueues, so the event loop never waits on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="strangler-access-log", daemon=True)
        self._thread.start()

    def put(self, values: tuple) -> None:
        if not self._closed:
            self._queue.put(values)

    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            try:
                while len(items) < 4096:
                    items.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            lines = []
            for item in items:
                if item is None:
                    stop = True
                else:
                    lines.append(format_record(item))
            if lines:
                data = "".join(lines).encode("utf-8")
                while data:  # a regular file takes it whole; loop only for the rare short write
                    data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        """Write what is queued, then close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=30)
        os.close(self._fd)
