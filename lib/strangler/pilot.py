"""`strangler pilot`: ramps each batch that has a `ramp` in the manifest, step by step, judging every step.

Runs beside `strangler serve` (any number of router workers): it reads the router's access log, decides, and
writes its decisions to the pilot state file (`strangler.pilot_state`), which every router worker reads. The
manifest is never rewritten.

For each ramped batch:

- **waiting** until its cutover; then the first step starts at `ramp[0]`.
- **ramping**: when a step has run for `step` (plus a short grace so the step's last records reach the log),
  `strangler.judge` compares FastAPI with Flask on the batch's routes over the step and the pilot
    - *advances* to the next fraction (a batch that reaches 1.0, or passes its last step, is **complete**),
    - *holds* when there is too little data: the step is extended by another `step`, same start,
    - on a *failed* step, with `on_failure = "rollback"`, rolls back: fraction 0, **rolled_back**, with the
      reason; with `on_failure = "hold"` stays at the fraction, **held**, until a person decides.
- **paused** by `strangler pilot pause BATCH`: no decision until `resume` (which starts a fresh step; resuming
  a rolled-back or held batch restarts or continues its ramp). `rollback BATCH` is a person's rollback.

Every decision (with its numbers and evidence) is appended to the batch's `decisions` in the state and written
to the router log as an event record (`strangler.accesslog.event_line`; ingest keeps them as rejects with
reason `router_event`, see `pilot_views`).

The log is read incrementally: new complete lines since the last read go through DuckDB's `read_json` into table
`pilot_requests` (only requests on ramped batches). A pilot killed at any moment resumes from the state: each
step records the log offset where its records begin, and the state file is replaced atomically.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from strangler import accesslog, judge, manifest, pilot_state
from strangler.errors import StranglerError

log = logging.getLogger("strangler.pilot")

EVENT_EVIDENCE = 6  # evidence rows kept in a log event (whole batch first); the state keeps them all


def grace(step_seconds: float) -> float:
    """Seconds to wait after a step's end before judging it, so its slowest records are in the log."""
    return min(2.0, 0.15 * step_seconds)


class LogReader:
    """Reads the router log from a byte offset on: complete lines only, through DuckDB's read_json."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str | Path, offset: int = 0) -> None:
        self.con = con
        self.path = Path(path)
        self.offset = offset
        self._tmp = Path(tempfile.mkdtemp(prefix="strangler-pilot-")) / "chunk.jsonl"

    def read(self, batches: list[str]) -> int:
        """Load new request records of `batches` into pilot_requests; returns how many records were loaded."""
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return 0
        if size < self.offset:  # truncated or replaced: read it again from the start
            log.warning("router log %s shrank; reading it from the start", self.path)
            self.offset = 0
        if size == self.offset:
            return 0
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(size - self.offset)
        end = data.rfind(b"\n") + 1
        if end == 0:
            return 0  # no complete line yet
        self._tmp.write_bytes(data[:end])
        self.offset += end
        if not batches:
            return 0
        return _count(
            self.con,
            """
            INSERT INTO pilot_requests
            SELECT epoch_us(ts::TIMESTAMPTZ), batch, method, rule, backend, status::SMALLINT, duration_ms,
                   bytes, db_ms, db_queries
            FROM read_json($path, format = 'newline_delimited', ignore_errors = true,
                           columns = {ts: 'VARCHAR', type: 'VARCHAR', batch: 'VARCHAR', method: 'VARCHAR',
                                      rule: 'VARCHAR', backend: 'VARCHAR', status: 'INTEGER',
                                      duration_ms: 'DOUBLE', bytes: 'BIGINT', db_ms: 'DOUBLE',
                                      db_queries: 'INTEGER'})
            WHERE type IS NULL AND list_contains($batches, batch) AND status IS NOT NULL
              AND try_cast(ts AS TIMESTAMPTZ) IS NOT NULL
            """,
            {"path": str(self._tmp), "batches": batches},
        )

    def close(self) -> None:
        self._tmp.unlink(missing_ok=True)
        self._tmp.parent.rmdir()


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> int:
    """Rows inserted by an INSERT statement."""
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


# --- decisions ----------------------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return accesslog.iso(ts)


def _decision(batch: str, action: str, now: float, entry: dict, to: float, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "at": _iso(now),
        "batch": batch,
        "action": action,
        "step": entry.get("step", -1),
        "from": entry.get("fraction", 0.0),
        "to": to,
        "reason": reason,
        **extra,
    }


EVENT_KEYS = ("route", "metric", "flask", "fastapi", "ci_low", "ci_high", "p_value", "verdict")


def _compact(row: dict) -> dict:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items() if k in EVENT_KEYS}


def _record(log_path: Path | None, entry: dict, decision: dict) -> None:
    """Append the decision to the batch's history and, as an event record, to the router log.

    The event keeps the evidence rows without their text, whole batch first, at most EVENT_EVIDENCE of them, so
    a line stays under ingest's 2 KB reject size (the state keeps every row)."""
    entry.setdefault("decisions", []).append(decision)
    if log_path is not None:
        event = {"ts": decision["at"], **decision}
        if "evidence" in event:
            event["evidence"] = [_compact(e) for e in event["evidence"][:EVENT_EVIDENCE]]
        accesslog.append_lines(log_path, accesslog.event_line(event))
    log.info(
        "%s %s: %s → %s (%s)",
        decision["batch"],
        decision["action"],
        decision["from"],
        decision["to"],
        decision["reason"],
    )


def _start_step(entry: dict, step: int, fraction: float, now: float, ramp: manifest.Ramp, offset: int) -> None:
    entry.update(
        stage="ramping",
        step=step,
        fraction=fraction,
        step_started=now,
        step_ends=now + ramp.step_seconds,
        log_offset=offset,
    )


def _evidence_rows(j: judge.Judgement) -> list[dict]:
    """Evidence for the record: whole batch first, then failing rows, then the rest."""
    order = {"fail": 0, "pass": 1, "shown": 2, "insufficient": 3}
    rows = sorted(j.evidence, key=lambda e: (e.route != judge.WHOLE, e.verdict != "fail", order[e.verdict]))
    return [{**asdict(e), "text": e.text()} for e in rows]


def step_once(
    con: duckdb.DuckDBPyConnection,
    batches: list[manifest.Batch],
    state: dict,
    now: float,
    offset: int,
    log_path: Path | None,
    save: Callable[[], None] = lambda: None,
) -> bool:
    """Advance every ramped batch as far as `now` allows, calling `save` after each decision (so a router sees a
    new fraction at once); returns whether the state changed. A decision's time is when it is saved."""
    changed = False
    for b in batches:
        if b.ramp is None:
            continue
        ramp = b.ramp
        entry = state["batches"].setdefault(b.name, {"stage": "waiting", "fraction": 0.0, "step": -1})
        if entry["stage"] == "waiting" and now >= b.cutover.timestamp():
            to = ramp.fractions[0]
            d = _decision(b.name, "start", now, entry, to, "cutover reached: first step of the ramp")
            _start_step(entry, 0, to, now, ramp, offset)
            if to >= 1.0:
                entry["stage"] = "complete"
            _record(log_path, entry, d)
            save()
            changed = True
            continue
        if entry["stage"] != "ramping" or now < entry["step_ends"] + grace(ramp.step_seconds):
            continue
        step = min(entry["step"], len(ramp.fractions) - 1)
        seed = zlib.crc32(f"{b.name}\0{step}\0{len(entry.get('decisions', []))}".encode())
        j = judge.judge(con, b.name, ramp, entry["step_started"], entry["step_ends"], seed=seed)
        now = time.time()  # judging takes a while: the decision takes effect when it is saved
        numbers = {
            "window": [_iso(entry["step_started"]), _iso(entry["step_ends"])],
            "n_flask": j.n_flask,
            "n_fastapi": j.n_fastapi,
            "evidence": _evidence_rows(j),
        }
        if j.outcome == "hold":
            d = _decision(b.name, "hold", now, entry, entry["fraction"], j.reason, **numbers)
            entry["step_ends"] += ramp.step_seconds
        elif j.outcome == "fail" and ramp.on_failure == "rollback":
            d = _decision(b.name, "rollback", now, entry, 0.0, j.reason, **numbers)
            entry.update(stage="rolled_back", fraction=0.0)
        elif j.outcome == "fail":
            d = _decision(b.name, "fail_hold", now, entry, entry["fraction"], j.reason, **numbers)
            entry["stage"] = "held"
        elif step + 1 < len(ramp.fractions):
            to = ramp.fractions[step + 1]
            d = _decision(b.name, "advance", now, entry, to, j.reason, **numbers)
            _start_step(entry, step + 1, to, now, ramp, offset)
            if to >= 1.0:
                entry["stage"] = "complete"
        else:
            d = _decision(b.name, "complete", now, entry, entry["fraction"], j.reason, **numbers)
            entry["stage"] = "complete"
        _record(log_path, entry, d)
        save()
        changed = True
    return changed


def _active_offset(state: dict, batches: list[manifest.Batch]) -> tuple[int | None, float | None]:
    """Smallest log offset and step start among ramping batches (where a restarted pilot must read from)."""
    names = {b.name for b in batches if b.ramp is not None}
    active = [e for n, e in state["batches"].items() if n in names and e["stage"] == "ramping"]
    if not active:
        return None, None
    return min(int(e.get("log_offset", 0)) for e in active), min(float(e["step_started"]) for e in active)


def run(
    manifest_path: str | Path,
    log_path: str | Path,
    state_path: str | Path | None = None,
    poll: float = 0.5,
    stop: threading.Event | None = None,
    until_settled: bool = False,
) -> dict:
    """The pilot loop, until `stop` is set, SIGTERM/SIGINT, or (`until_settled`) every ramped batch is settled
    (complete, rolled back or held). Returns the last state."""
    manifest_path = Path(manifest_path)
    log_file = Path(log_path)
    spath = pilot_state.default_path(manifest_path) if state_path is None else Path(state_path)
    batches = manifest.load(manifest_path)
    if not any(b.ramp is not None for b in batches):
        raise StranglerError(f"{manifest_path}: no batch has a ramp; add ramp = [0.01, 0.05, 0.25, 0.5, 1.0]")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    con = duckdb.connect()
    con.execute(judge.REQUESTS_DDL)
    state = pilot_state.read(spath)
    offset, _ = _active_offset(state, batches)
    start_offset = offset if offset is not None else (os.path.getsize(log_file) if log_file.exists() else 0)
    reader = LogReader(con, log_file, start_offset)
    m_sig = None
    try:
        while not stop.is_set():
            try:
                st = manifest_path.stat()
                if (st.st_mtime_ns, st.st_size) != m_sig:
                    m_sig = (st.st_mtime_ns, st.st_size)  # a broken edit is reported once, not at every poll
                    batches = manifest.load(manifest_path)
            except (OSError, StranglerError) as exc:
                log.warning("keeping the previous manifest: %s", exc)
            ramped = [b.name for b in batches if b.ramp is not None]
            reader.read(ramped)
            with pilot_state.locked(spath):
                state = pilot_state.read(spath)
                step_once(
                    con,
                    batches,
                    state,
                    time.time(),
                    reader.offset,
                    log_file,
                    functools.partial(pilot_state.write, spath, state),
                )
            _, oldest = _active_offset(state, batches)
            if oldest is None:
                con.execute("DELETE FROM pilot_requests")
            else:
                con.execute("DELETE FROM pilot_requests WHERE us < $u", {"u": int(oldest * 1e6)})
            if until_settled and all(
                state["batches"].get(n, {}).get("stage") in ("complete", "rolled_back", "held") for n in ramped
            ):
                break
            stop.wait(poll)
    finally:
        reader.close()
        con.close()
    return state


# --- people: status, pause, resume, rollback ---------------------------------------------------------------


def act(
    manifest_path: str | Path,
    action: str,
    batch: str,
    state_path: str | Path | None = None,
    log_path: str | Path | None = None,
) -> dict:
    """A person's `pause`, `resume` or `rollback` of one batch; returns the decision recorded."""
    batches = {b.name: b for b in manifest.load(manifest_path)}
    spath = pilot_state.default_path(manifest_path) if state_path is None else Path(state_path)
    b = batches.get(batch)
    if b is None or b.ramp is None:
        ramped = ", ".join(n for n, x in batches.items() if x.ramp is not None) or "none"
        raise StranglerError(f"batch {batch!r} has no ramp in {manifest_path}; ramped batches: {ramped}")
    now = time.time()
    lp = Path(log_path) if log_path is not None else None
    offset = os.path.getsize(lp) if lp is not None and lp.exists() else 0
    with pilot_state.locked(spath):
        state = pilot_state.read(spath)
        entry = state["batches"].setdefault(batch, {"stage": "waiting", "fraction": 0.0, "step": -1})
        stage = entry["stage"]
        if action == "pause":
            if stage not in ("waiting", "ramping"):
                raise StranglerError(f"batch {batch!r} is {stage}: only a waiting or ramping batch can be paused")
            d = _decision(batch, "pause", now, entry, entry["fraction"], "paused by hand")
            entry["stage"] = "paused"
        elif action == "resume":
            if stage not in ("paused", "held", "rolled_back"):
                raise StranglerError(f"batch {batch!r} is {stage}: only a paused, held or rolled-back batch resumes")
            if entry.get("step", -1) < 0 or stage == "rolled_back":
                step = 0
            else:
                step = min(entry["step"], len(b.ramp.fractions) - 1)
            if entry.get("step", -1) < 0 and now < b.cutover.timestamp():
                d = _decision(batch, "resume", now, entry, 0.0, "resumed by hand; waiting for the cutover")
                entry.update(stage="waiting", fraction=0.0)
            else:
                to = b.ramp.fractions[step]
                d = _decision(batch, "resume", now, entry, to, f"resumed by hand at step {step + 1}")
                _start_step(entry, step, to, now, b.ramp, offset)
                if to >= 1.0:
                    entry["stage"] = "complete"
        elif action == "rollback":
            if stage == "rolled_back":
                raise StranglerError(f"batch {batch!r} is rolled back already")
            d = _decision(batch, "rollback", now, entry, 0.0, "rolled back by hand")
            entry.update(stage="rolled_back", fraction=0.0)
        else:
            raise StranglerError(f"unknown pilot action {action!r}; use status, pause, resume or rollback")
        _record(lp, entry, d)
        pilot_state.write(spath, state)
    return d


def _numbers(d: dict) -> str:
    """The figures of a decision in one phrase: requests per backend and the whole batch's judged metrics."""
    parts = []
    if "n_flask" in d:
        parts.append(f"{d['n_flask']:,} Flask / {d['n_fastapi']:,} FastAPI requests")
    for e in d.get("evidence", []):
        if e["route"] == judge.WHOLE and e["metric"] in judge.JUDGED and e["verdict"] in ("pass", "fail"):
            parts.append(e["text"])
    return "; ".join(parts)


def status(manifest_path: str | Path, state_path: str | Path | None = None) -> str:
    """One block per ramped batch: stage, fraction, step, and the last decision with its numbers."""
    batches = manifest.load(manifest_path)
    spath = pilot_state.default_path(manifest_path) if state_path is None else Path(state_path)
    state = pilot_state.read(spath)
    lines = [f"pilot state {spath}" + ("" if spath.exists() else " (not written yet: no batch started)")]
    for b in batches:
        if b.ramp is None:
            continue
        e = state["batches"].get(b.name, {"stage": "waiting", "fraction": 0.0, "step": -1})
        steps = len(b.ramp.fractions)
        where = f"step {e['step'] + 1} of {steps}" if e.get("step", -1) >= 0 else f"{steps} steps"
        lines.append(f"{b.name}: {e['stage']}, fraction {e['fraction']:g} ({where})")
        if e.get("decisions"):
            d = e["decisions"][-1]
            lines.append(f"  last: {d['action']} at {d['at']} ({d['from']:g} → {d['to']:g}): {d['reason']}")
            if _numbers(d):
                lines.append(f"  numbers: {_numbers(d)}")
    if len(lines) == 1:
        lines.append("no batch has a ramp")
    return "\n".join(lines)
