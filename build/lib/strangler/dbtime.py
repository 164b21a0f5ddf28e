"""Per-request database time: the hook both apps report their queries to, and the router reads.

An app (or its SQLAlchemy engine, or the demo's sqlite store) calls `record(ms)` after each query, or wraps the
query in `with timed():`. The router opens a `measure()` around each request, in the thread or task that runs
the app, and logs the totals. The accumulator is a contextvar holding a mutable DbTime: FastAPI's thread pool
and a2wsgi copy the context into their worker threads, so queries run there still add to the right request.
With SQLAlchemy, time `before_cursor_execute`/`after_cursor_execute` events and call `record` from the latter.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class DbTime:
    ms: float = 0.0
    queries: int = 0


_current: contextvars.ContextVar[DbTime | None] = contextvars.ContextVar("strangler_dbtime", default=None)


def record(ms: float) -> None:
    """Add one query of `ms` milliseconds to the request being measured (no-op outside one)."""
    acc = _current.get()
    if acc is not None:
        acc.ms += ms
        acc.queries += 1


@contextlib.contextmanager
def timed() -> Iterator[None]:
    """Record the wall time of the block as one query: `with dbtime.timed(): cursor.execute(sql)`."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        record((time.perf_counter() - t0) * 1000.0)


def current() -> DbTime | None:
    """The accumulator of the request being measured, or None outside one."""
    return _current.get()


@contextlib.contextmanager
def measure(acc: DbTime | None = None) -> Iterator[DbTime]:
    """Collect the queries recorded inside this block into `acc` (a new DbTime if not given)."""
    acc = acc if acc is not None else DbTime()
    token = _current.set(acc)
    try:
        yield acc
    finally:
        _current.reset(token)
