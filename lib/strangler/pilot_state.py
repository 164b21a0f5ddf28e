"""The pilot's state file: where each ramped batch stands, written by the pilot, read by every router worker.

The user's manifest is never rewritten: the pilot's decisions live here (JSON, next to the manifest by default:
`migration.toml` → `migration.pilot.json`). Writers replace the file atomically (a temp file in the same folder,
fsync, `os.replace`) under an advisory lock (`<state>.lock`), so a reader sees the old file or the new one, and
the pilot and a person's `strangler pilot pause` never overwrite each other's change.

```json
{"version": 1, "updated_at": "2026-03-02T09:30:00.000000Z",
 "batches": {"trips-read": {"stage": "ramping", "fraction": 0.05, "step": 1, "step_started": 1772443800.0,
                            "step_ends": 1772445600.0, "log_offset": 81234, "decisions": [{...}, ...]}}}
```

`stage` is one of STAGES; `fraction` is the share of clients (by stable hash bucket) that FastAPI serves;
`step` indexes the batch's ramp (-1 before the ramp starts); times are POSIX seconds; `log_offset` is a byte
offset of the router log before the step's first record (where a restarted pilot reads from); `decisions` is
every decision with its evidence (see `strangler.pilot`).

A router worker holds a `Watcher`: it re-reads the file when its mtime, size or inode changes (checked at most
every `interval` seconds) and keeps the last good fractions when the file is missing, half-written or invalid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from strangler.errors import StranglerError

log = logging.getLogger("strangler.pilot_state")

VERSION = 1
STAGES = ("waiting", "ramping", "paused", "held", "complete", "rolled_back")


def default_path(manifest: str | Path) -> Path:
    """The state file beside a manifest: `migration.toml` → `migration.pilot.json`."""
    p = Path(manifest)
    return p.with_name(p.stem + ".pilot.json")


def empty() -> dict[str, Any]:
    return {"version": VERSION, "updated_at": None, "batches": {}}


def validate(state: Any) -> dict[str, Any]:
    """The state if it has the shape readers rely on; ValueError naming what is wrong otherwise."""
    if not isinstance(state, dict) or state.get("version") != VERSION or not isinstance(state.get("batches"), dict):
        raise ValueError(f"not a version-{VERSION} pilot state")
    for name, b in state["batches"].items():
        if not isinstance(b, dict) or b.get("stage") not in STAGES:
            raise ValueError(f"batch {name!r} has no valid stage")
        f = b.get("fraction")
        if not isinstance(f, (int, float)) or isinstance(f, bool) or not math.isfinite(f) or not 0 <= f <= 1:
            raise ValueError(f"batch {name!r} has no fraction between 0 and 1")
    return state


def read(path: str | Path) -> dict[str, Any]:
    """The state at `path` (an empty state if the file does not exist); StranglerError if it is not valid."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    try:
        return validate(json.loads(text))
    except ValueError as exc:
        raise StranglerError(f"pilot state {p} is not valid ({exc}); move it away to start afresh") from None


def write(path: str | Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically: temp file in the same folder, fsync, os.replace."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = json.dumps(validate(state), indent=1, sort_keys=True).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold the state's advisory lock (`<state>.lock`) for a read-modify-write."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p.with_name(p.name + ".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def fractions(state: dict[str, Any]) -> dict[str, float]:
    """Batch → fraction of clients on FastAPI."""
    return {name: float(b["fraction"]) for name, b in state["batches"].items()}


class Watcher:
    """A router worker's view of the state: fractions by batch, the last good ones when the file cannot be read."""

    def __init__(self, path: str | Path, interval: float = 0.5) -> None:
        self.path = Path(path)
        self.interval = interval
        self.fractions: dict[str, float] = {}
        self._signature: tuple | None = None
        self._next_check = 0.0
        self.refresh(force=True)

    def fraction(self, batch: str) -> float:
        """The batch's current fraction (0 for a batch the pilot has not started)."""
        return self.fractions.get(batch, 0.0)

    def refresh(self, now: float | None = None, force: bool = False) -> None:
        """Re-read the file if it changed, at most every `interval` seconds (perf_counter clock)."""
        now = time.perf_counter() if now is None else now
        if not force and now < self._next_check:
            return
        self._next_check = now + self.interval
        try:
            st = os.stat(self.path)
        except OSError:
            if self._signature != "missing":
                if self._signature is not None:
                    log.warning("pilot state %s is missing; keeping the last good fractions", self.path)
                self._signature = "missing"  # type: ignore[assignment]
            return
        # deliberate twin of router.Router._reload's change check: each file keeps its own signature and its own
        # failure policy (missing state file: keep the last fractions; missing manifest: error at start)
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self._signature:
            return
        self._signature = signature
        try:
            state = validate(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # half-written by hand, truncated, not JSON: keep the last good plan
            log.warning("pilot state %s unreadable (%s); keeping the last good fractions", self.path, exc)
            return
        self.fractions = fractions(state)
