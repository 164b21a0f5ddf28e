"""Ingest access logs into DuckDB: every physical line becomes a request or a reject with its reason.

Per file: expand (dirs, globs, rotated sets oldest first), recognise it by content (fingerprint of its first
bytes), detect the format on a sample of its lines (`strangler.detect`), then parse it in SQL
(`strangler.formats`, every field checked by `strangler.parse_sql`) inside one transaction. Three readers, fastest first; each gives way to the next when its result does not add up:

* columns (common/combined family): DuckDB's CSV reader splits each line into its fields (delimiter ' ',
  quote '"'); checked by each piece's last request, which must sit on the piece's last line;
* lines: the CSV reader reads each line as one column and SQL (`strangler.formats`) parses it;
  both need a clean file, which a vectorised byte count checks first (LF-only or CRLF-only, no NUL, complete
  gzip), and both are checked afterwards (rows + rejects must equal the newlines counted).
  Both number lines with a streaming row_number, which DuckDB runs on one thread. So a plain file is cut at line
  starts into pieces, each handed to DuckDB through a pipe and numbered from the newlines before it; the pieces
  of one UNION ALL run side by side, one per core (a gzip stream cannot be cut: it is one piece);
* robust: Python streams the bytes (gzip, truncated gzip, invalid UTF-8 replaced, lines over 1 MB, reading from
  an offset for growth) in 16 MB blocks handed to DuckDB as Arrow arrays; Python never loops over lines.

A last line without a newline (still being written, or a truncated gzip) is a reject (`unterminated`,
`truncated_gzip`) and `bytes_read` stops before it; when the file grows that reject is replaced by the line.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from strangler import detect, layouts
from strangler import formats as F
from strangler import parse_sql as P
from strangler.errors import StranglerError

MAX_LINE = P.MAX_LINE  # a longer line is a reject (too_long)
RAW_MAX = 2048  # rejects keep the raw line cut at 2 KB
BLOCK = 16 << 20  # bytes per block on the robust path
PIECES: int | None = None  # a plain file is read in up to this many pieces side by side (None: 2 per thread) ...
PIECE_BYTES = 32 << 20  # ... of at least this many bytes
FP_BYTES = 4096  # bytes hashed into the fingerprint
HEAD = 64 << 10  # bytes sampled for format detection
REOPEN = ("unterminated", "truncated_gzip")
PROGRESS_DELAY = 1.0  # seconds before the progress bar shows: short runs print only the summary
MEMORY_LIMIT = "1GB"  # DuckDB's memory while ingesting (it spills beyond); the user's setting comes back after

REQUEST_COLUMNS = P.COLUMNS
SUMMARY_COLUMNS = ["file", "format", "lines", "rows", "rejects", "seconds", "lines/s", "note"]


class _Fallback(Exception):
    """The fast reader cannot be trusted with this file: use the robust one."""


@dataclass
class IngestResult:
    """What one `ingest` call did: one summary row per file; `ok` is False when a file could not be read."""

    table: pd.DataFrame
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        t = self.table.copy()
        if t.empty:
            return "\n".join(["no files read", *(f"could not read {e}" for e in self.errors)])
        t["seconds"] = t["seconds"].map(lambda s: f"{s:.2f}")
        t["lines/s"] = t["lines/s"].map(lambda v: f"{v:,.0f}")
        for c in ("lines", "rows", "rejects"):
            t[c] = t[c].map(lambda v: f"{v:,}")
        total = self.table[["lines", "rows", "rejects", "seconds"]].sum()
        secs = float(total["seconds"])
        footer = (
            f"total: {len(self.table)} files, {int(total['lines']):,} lines, {int(total['rows']):,} rows, "
            f"{int(total['rejects']):,} rejects in {secs:.2f} s"
            + (f" ({total['lines'] / secs:,.0f} lines/s)" if secs > 0 else "")
        )
        out = t.to_string(index=False) + "\n" + footer
        if self.errors:
            out += "\n" + "\n".join(f"could not read {e}" for e in self.errors)
        return out


# --- finding the files --------------------------------------------------------------------------------------

_ROTATED = re.compile(r"^(?P<base>.*?)(?:\.(?P<n>\d+))?(?:\.gz)?$")


def _rotation_key(p: Path) -> tuple:
    """Sort rotated sets oldest first: access.log.2.gz, access.log.1, access.log."""
    m = _ROTATED.match(p.name)  # matches every name
    assert m is not None
    return (str(p.parent), m["base"], -int(m["n"] or 0), p.name)


def expand(paths: list[str]) -> tuple[list[tuple[Path, bool]], list[str]]:
    """Files named by `paths` (files, directories, globs) as (path, named_explicitly), plus errors."""
    found: list[tuple[Path, bool]] = []
    errors: list[str] = []
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            files = [Path(root) / f for root, dirs, names in os.walk(p) for f in names if not f.startswith(".")]
            found += [(f, False) for f in sorted(files, key=_rotation_key)]
        elif p.exists():
            found.append((p, True))
        elif glob.has_magic(arg):
            files = [Path(f) for f in glob.glob(arg, recursive=True) if Path(f).is_file()]
            if not files:
                errors.append(f"{arg}: no file matches this pattern")
            found += [(f, True) for f in sorted(files, key=_rotation_key)]
        else:
            errors.append(f"{arg}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for f, explicit in found:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append((r, explicit))
    return unique, errors


# --- reading bytes ------------------------------------------------------------------------------------------


class _Content:
    """The decompressed bytes of a file, as blocks; `truncated` says why a gzip stream ended early."""

    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            self.gz = f.read(2) == b"\x1f\x8b"
        self.truncated: str | None = None
        self.size = 0  # bytes yielded by the last pass of blocks() that reached the end

    def blocks(self, start: int = 0) -> Iterator[bytes]:
        """Content from byte `start` (of the decompressed stream) to the end."""
        self.truncated = None
        self.size = start
        if not self.gz:
            with open(self.path, "rb") as f:
                f.seek(start)
                while block := f.read(BLOCK):
                    self.size += len(block)
                    yield block
            return
        skip = start
        with open(self.path, "rb") as f:
            for out in self._inflate(f):
                if skip:
                    cut = min(skip, len(out))
                    out, skip = out[cut:], skip - cut
                if out:
                    self.size += len(out)
                    yield out

    def _inflate(self, f) -> Iterator[bytes]:
        """The decompressed gzip stream in pieces of at most BLOCK bytes (a highly compressed file must not
        expand in memory at once), across concatenated members; sets `truncated` when the stream breaks off."""
        d, fed, raw, at_end = zlib.decompressobj(wbits=31), False, b"", False
        while True:
            if not raw and not at_end:
                raw = f.read(BLOCK // 4)
                at_end = not raw
            try:
                out = d.decompress(raw, BLOCK)  # with no input left this drains what zlib still holds
            except zlib.error as exc:
                self.truncated = f"corrupt gzip data ({exc})"
                return
            fed = fed or bool(raw)
            raw = d.unconsumed_tail
            if d.eof:  # another gzip member may follow (concatenated .gz)
                raw = d.unused_data
                d, fed = zlib.decompressobj(wbits=31), False
            if out:
                yield out
            elif at_end and not raw:
                break
        if fed and not d.eof:
            self.truncated = "gzip stream ends early (truncated file)"

    def head(self, n: int) -> bytes:
        """The first `n` bytes of content (fewer if the file is shorter)."""
        buf = bytearray()
        for block in self.blocks():
            buf += block
            if len(buf) >= n:
                break
        return bytes(buf[:n])


class _Lines:
    """Cuts content blocks into Arrow tables of (line_no, line, flag); counts the bytes of complete lines."""

    LONG = 8 << 20  # an unfinished line longer than this is kept as a 2 KB prefix until its newline

    def __init__(self, content: _Content, start: int, first_line: int):
        self.content, self.start, self.next_line = content, start, first_line
        self.complete_bytes = 0  # bytes of newline-terminated lines consumed

    def _table(self, lines: pa.Array, flag: str | None = None) -> pa.Table:
        n = len(lines)
        first = self.next_line
        self.next_line += n
        return pa.table(
            {
                "line_no": pa.array(np.arange(first, first + n, dtype=np.int64)),
                "line": lines.cast(pa.large_string()),
                "flag": pa.nulls(n, pa.string()) if flag is None else pa.array([flag] * n, pa.string()),
            }
        )

    @staticmethod
    def _one(raw: bytes) -> pa.Array:
        return pa.array([raw[: RAW_MAX * 4].decode("utf-8", "replace")], pa.large_string())

    def __iter__(self) -> Iterator[pa.Table]:
        rem = b""
        long_prefix: bytes | None = None  # a line longer than LONG in progress
        long_bytes = 0
        for block in self.content.blocks(self.start):
            if long_prefix is not None:
                i = block.find(b"\n")
                if i < 0:
                    long_bytes += len(block)
                    continue
                yield self._table(self._one(long_prefix), "too_long")
                self.complete_bytes += long_bytes + i + 1
                long_prefix, block = None, block[i + 1 :]
            buf = rem + block if rem else block
            cut = buf.rfind(b"\n") + 1
            if cut:
                text = buf[: cut - 1].decode("utf-8", "replace")
                lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
                yield self._table(lines)
                self.complete_bytes += cut
            rem = buf[cut:]
            if len(rem) > self.LONG:
                long_prefix, long_bytes, rem = rem[: RAW_MAX * 4], len(rem), b""
        if long_prefix is not None:
            rem = long_prefix
        if self.content.truncated:
            yield self._table(self._one(rem), "truncated_gzip")
        elif rem or long_prefix is not None:
            yield self._table(self._one(rem), "unterminated")


# --- SQL ------------------------------------------------------------------------------------------------------


def _rows_sql(fmt: F.Format, src: str) -> str:
    """Requests from the lines of `src` that have the format's layout. Rows that fail a field check are deleted
    afterwards (`_drop_bad`) rather than filtered here: a filter on a derived column would make DuckDB compute
    the whole parse twice."""
    if fmt.spans:  # several requests per line, read from the whole file at once
        return (
            f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}, source_id, line_no) "
            f"SELECT * EXCLUDE (line_no), $sid, line_no FROM ({fmt.spans(P.cleaned(src), REQUEST_COLUMNS)})"
        )
    cols = ", ".join(f"{fmt.columns.get(c, 'NULL')} AS {c}" for c in REQUEST_COLUMNS)
    if fmt.valid_line and not fmt.extra_invalid and not fmt.late_invalid:
        base = (
            f"SELECT * FROM ({P.cleaned(src)}) WHERE flag IS NULL AND strlen(line) <= {MAX_LINE} AND {fmt.valid_line}"
        )
        rel = P.layered(fmt.prep, base)
    else:
        rel = f"SELECT * FROM ({P.classified(fmt, src)}) WHERE reason IS NULL"
    return (
        f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}, source_id, line_no) "
        f"SELECT {cols}, $sid AS source_id, line_no FROM ({rel})"
    )


def _drop_bad(con: duckdb.DuckDBPyConnection, fmt: F.Format, params: dict) -> int:
    """Delete the rows just inserted that fail a field check (`parse_sql.checks`): they become rejects."""
    return _run(
        con,
        f"DELETE FROM requests WHERE source_id = $sid AND line_no BETWEEN $lo AND $hi AND {P.bad_row(fmt)}",
        params,
    )


def _rejects_sql(fmt: F.Format, src: str) -> str:
    """Rejects are the lines of `src` that did not become requests: accounted for by construction; the reason is
    the layout's, else the first field check that fails."""
    return (
        f"INSERT INTO rejects SELECT $sid, line_no, coalesce(reason, '{fmt.bad_value}'), left(line, {RAW_MAX}) "
        f"FROM ({P.verdict(fmt, _missing(src))})"
    )


def _missing(src: str) -> str:
    """The lines of `src` that are not requests yet."""
    return (
        f"SELECT s.* FROM ({src}) s ANTI JOIN (SELECT line_no FROM requests WHERE source_id = $sid "
        f"AND line_no BETWEEN $lo AND $hi) r USING (line_no)"
    )


def _fetch1(cur: duckdb.DuckDBPyConnection) -> tuple | None:
    """First row of a result, reading it to the end (DuckDB refuses other work while a result is open)."""
    rows = cur.fetchall()
    return rows[0] if rows else None


def _fetch_row(cur: duckdb.DuckDBPyConnection) -> tuple:
    """`_fetch1` of a query that always returns a row (an aggregate, a setting)."""
    row = _fetch1(cur)
    assert row is not None
    return row


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> int:
    """Execute with only the named parameters the statement uses; returns the affected row count."""
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    rows = con.execute(sql, used).fetchall()
    return int(rows[0][0]) if rows else 0


CSV_FIELDS = 16
_CSV_FIELDS = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, CSV_FIELDS + 1)) + "}"
_READ_FIELDS = (
    f"columns = {_CSV_FIELDS}, delim = ' ', quote = '\"', escape = '\\', header = false, "
    f"auto_detect = false, null_padding = true, strict_mode = false, max_line_size = {MAX_LINE + 2}"
)
_READ_LINES = (
    "columns = {'line': 'VARCHAR'}, delim = '\\0', quote = '', escape = '', header = false, "
    f"auto_detect = false, strict_mode = false, max_line_size = {MAX_LINE + 2}"
)


def _numbered(pieces: list[tuple[str, int]], options: str) -> str:
    """The rows of DuckDB's CSV reader over each piece (a file name in SQL, and the number of lines before it),
    each numbered with its physical line. A streaming row_number keeps one piece on one thread; the pieces of a
    UNION ALL run side by side, one per core."""
    return " UNION ALL ".join(
        f"SELECT row_number() OVER () + {before} AS line_no, * FROM read_csv({name}, {options})"
        for name, before in pieces
    )


def _columns_rows_sql(fmt: F.Format, pieces: list[tuple[str, int]]) -> str:
    """Requests straight from DuckDB's CSV reader splitting each line into fields (the fastest path, for the
    common/combined family: no regex, no string splitting in SQL; a declared layout brings its own read_csv
    options, helper layers and checks, `strangler.layouts`). Lines that are not well formed are left out and become
    rejects through the line reader's anti-join (a declared layout's are read by the line reader first)."""
    lines = f"SELECT * FROM ({_numbered(pieces, fmt.csv_read or _READ_FIELDS)}) WHERE line_no <= $last"
    if fmt.csv_prep is None:  # the combined family: checks on the fields, the request line in c6
        rel, where = P.layered(F.request_layers("c6"), f"{lines} AND {fmt.csv_valid}"), ""
    else:  # a declared layout (strangler.layouts): its checks use its helper columns
        rel, where = P.layered(fmt.csv_prep, lines), f" WHERE {fmt.csv_valid}"
    assert fmt.csv_columns is not None  # only formats with columns take this path
    names = ", ".join(f"{fmt.csv_columns.get(c, 'NULL')} AS {c}" for c in REQUEST_COLUMNS)
    return (
        f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}, source_id, line_no) "
        f"SELECT {names}, $sid AS source_id, line_no FROM ({rel}){where}"
    )


def _csv_source(pieces: list[tuple[str, int]]) -> str:
    """Every line of the pieces as (line_no, line, flag): the line reader of the fast path."""
    return (
        "SELECT line_no, line, CASE WHEN line_no > $last THEN 'unterminated' END AS flag FROM ("
        f"{_numbered(pieces, _READ_LINES)})"
    )


class _Feed:
    """Hands DuckDB the pieces of a plain file through pipes, one writer thread per piece, so that the pieces
    are read (and numbered) in parallel. `os.splice` moves the bytes inside the kernel; they never enter Python.
    A gzip file is one piece read by DuckDB itself (a gzip stream cannot be cut)."""

    def __init__(self, content: _Content, scan: _Scan, bar=None, complete: bool = False):
        self.content, self.scan, self.bar = content, scan, bar
        # complete: only the lines that end with a newline. A reader that skips blank lines (the CSV reader) must
        # not see an unfinished last line: it would take the number of the last complete line and hide the skip
        self.end = content.size - scan.tail if complete else content.size
        self.fed = 0  # bytes handed over (the progress bar moved by as much)
        self._read_fds: list[int] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> list[tuple[str, int]]:
        if self.content.gz:
            return [("$path, compression = 'gzip'", 0)]
        pieces = []
        for lo, hi, before in self.scan.pieces:
            hi = min(hi, self.end)
            r, w = os.pipe()
            self._read_fds.append(r)
            t = threading.Thread(target=self._write, args=(w, lo, hi), daemon=True)
            self._threads.append(t)
            pieces.append((f"'/dev/fd/{r}', compression = 'none'", before))
        for t in self._threads:
            t.start()
        return pieces

    def _write(self, w: int, lo: int, hi: int) -> None:
        try:
            with open(self.content.path, "rb") as f:
                fd, off = f.fileno(), lo
                while off < hi:
                    if hasattr(os, "splice"):
                        n = os.splice(fd, w, min(hi - off, 1 << 20), offset_src=off)
                    else:  # not Linux: copy through a buffer
                        n = os.write(w, os.pread(fd, min(hi - off, 1 << 20), off))
                    if n <= 0:
                        break
                    off += n
                    if self.bar is not None:
                        with self._lock:
                            self.fed += n
                            self.bar.update(n)
        except OSError:  # the reader went away (a failed statement): stop
            pass
        finally:
            os.close(w)

    def __exit__(self, *exc) -> None:
        for r in self._read_fds:  # a writer still blocked on a full pipe gets EPIPE
            os.close(r)
        for t in self._threads:
            t.join(timeout=10)  # a daemon: never hang the ingest on a stuck pipe
        self._read_fds, self._threads = [], []


def sample(content: _Content, lines: int = detect.SAMPLE_LINES, cap: int = 8 << 20) -> list[str]:
    """Detection's sample: the first `lines` complete lines and `lines` more from the middle of the file (read
    from the first `cap` bytes when the file fits in them, else from the middle byte of a plain file; a gzip
    stream is sampled from its first `cap` bytes only)."""

    def complete(raw: bytes) -> list[str]:
        return raw[: raw.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines()

    buf = bytearray()
    for block in content.blocks():
        buf += block
        if len(buf) >= cap:
            break
    head = bytes(buf[:cap])
    if b"\n" not in head:
        return [head.decode("utf-8", "replace")] if head else []
    got = complete(head)
    whole = len(buf) < cap  # the file ended inside the buffer
    if whole or content.gz:
        mid = max(lines, len(got) // 2)
        return got[:lines] + got[mid : mid + lines]
    with open(content.path, "rb") as f:
        f.seek(content.path.stat().st_size // 2)
        f.readline()  # to the next line start
        return got[:lines] + complete(f.read(cap))[:lines]


# --- one file ---------------------------------------------------------------------------------------------------


def _fingerprint(head: bytes) -> str | None:
    """'length:sha256' of the first FP_BYTES bytes (None for an empty file)."""
    n = min(len(head), FP_BYTES)
    return f"{n}:{hashlib.sha256(head[:n]).hexdigest()}" if n else None


def _find_source(con: duckdb.DuckDBPyConnection, head: bytes, path: Path) -> tuple | None:
    """The source this content was read as before (by fingerprint of its first bytes, else an empty file's path)."""
    cols = "source_id, format, lines, bytes_read, rows, rejects"
    lengths = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT CAST(split_part(fingerprint, ':', 1) AS BIGINT) AS n FROM sources "
            "WHERE fingerprint IS NOT NULL ORDER BY n DESC"
        ).fetchall()
    ]
    for n in lengths:
        if n <= len(head):
            fp = _fingerprint(head[:n])
            row = _fetch1(
                con.execute(f"SELECT {cols} FROM sources WHERE fingerprint = ? ORDER BY source_id LIMIT 1", [fp])
            )
            if row:
                return row
    return _fetch1(
        con.execute(
            f"SELECT {cols} FROM sources WHERE path = ? AND fingerprint IS NULL ORDER BY source_id LIMIT 1", [str(path)]
        )
    )


@dataclass
class _Scan:
    """What one pass over a file's bytes found (see `_prescan`)."""

    newlines: int
    clean: bool
    tail: int  # bytes after the last newline
    pieces: list[tuple[int, int, int]]  # (first byte, end byte, lines before it) of each piece

    @property
    def ends_with_newline(self) -> bool:
        return self.tail == 0


def _cuts(path: Path, size: int, pieces: int, min_bytes: int | None = None) -> list[int]:
    """Byte offsets that cut a plain file into up to `pieces` pieces of at least `min_bytes` (PIECE_BYTES),
    each starting at a line start."""
    n = max(1, min(pieces, size // (min_bytes or PIECE_BYTES)))
    cuts = [0]
    with open(path, "rb") as f:
        for k in range(1, n):
            f.seek(size * k // n)
            f.readline()
            if cuts[-1] < f.tell() < size:
                cuts.append(f.tell())
    return [*cuts, size]


@dataclass
class _Bytes:
    """Counts over a run of bytes: newlines, CRs, CRLFs, NULs, and the bytes after the last newline."""

    nl: int = 0
    cr: int = 0
    crlf: int = 0
    nul: int = 0
    tail: int = 0
    _cr_end: bool = False  # the last block ended in CR (a CRLF may straddle blocks)

    def add(self, block: bytes | bytearray, k: int | None = None) -> None:
        """Count the first `k` bytes of `block` (all of it by default)."""
        k = len(block) if k is None else k
        n = int(np.count_nonzero(np.frombuffer(block, np.uint8, k) == 10))  # numpy: no GIL, vectorised
        self.nl += n
        if block.find(b"\r", 0, k) >= 0:  # memchr-fast tests first: most logs have no CR and no NUL
            self.cr += block.count(b"\r", 0, k)
            self.crlf += block.count(b"\r\n", 0, k)
        if self._cr_end and k and block[0] == 10:
            self.crlf += 1
        self._cr_end = bool(k) and block[k - 1] == 13
        if block.find(b"\0", 0, k) >= 0:
            self.nul += 1
        self.tail = k - block.rfind(b"\n", 0, k) - 1 if n else self.tail + k


def _count_piece(path: Path, lo: int, hi: int) -> _Bytes:
    """`_Bytes` of bytes [lo, hi) of a plain file (run in a thread per piece)."""
    counts, buf = _Bytes(), bytearray(1 << 20)
    with open(path, "rb", buffering=0) as f:
        f.seek(lo)
        left = hi - lo
        while left > 0:
            k = f.readinto(memoryview(buf)[: min(left, len(buf))])
            if not k:
                break
            counts.add(buf, k)
            left -= k
    return counts


def _prescan(content: _Content, pieces: int = 1) -> _Scan:
    """Newlines (in total and per piece), whether the content ends with one, and whether it is clean, from one
    pass of vectorised byte counts (decompressing a gzip; a plain file's pieces counted side by side). Clean means
    LF-only or CRLF-only line ends, no NUL byte and, for a gzip, a complete stream: the files DuckDB's CSV reader
    splits into lines exactly like we do."""
    if content.gz:
        whole = _Bytes()
        for block in content.blocks():
            whole.add(block)
        parts, cuts = [whole], [0, content.size]
    else:
        cuts = _cuts(content.path, content.path.stat().st_size, pieces)
        with ThreadPoolExecutor(len(cuts) - 1) as pool:
            parts = list(pool.map(lambda lo_hi: _count_piece(content.path, *lo_hi), zip(cuts, cuts[1:])))
        content.size = cuts[-1]
    nl = sum(p.nl for p in parts)
    cr = sum(p.cr for p in parts)
    crlf = sum(p.crlf for p in parts)
    tail = parts[-1].tail  # every other piece ends at a line start
    clean = sum(p.nul for p in parts) == 0 and (cr == 0 or cr == crlf == nl) and not content.truncated
    before = [sum(p.nl for p in parts[:i]) for i in range(len(parts))]
    return _Scan(nl, clean, tail, list(zip(cuts, cuts[1:], before)))


def _w3c_fields(con: duckdb.DuckDBPyConnection, sid: int) -> str | None:
    row = _fetch1(
        con.execute(
            "SELECT raw FROM rejects WHERE source_id = ? AND reason = 'header' AND raw LIKE '#Fields:%' "
            "ORDER BY line_no DESC LIMIT 1",
            [sid],
        )
    )
    return row[0] if row else None


def _load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    content: _Content,
    fmt: F.Format,
    sid: int,
    new: bool,
    fp: str | None,
    start: int,
    prev_lines: int,
    tz: str,
    fast: str | bool,
    bar,
    chosen: str | None = None,
) -> None:
    """Read `path` from byte `start` into requests/rejects as source `sid`, in one transaction.

    Records in `sources` what was read (lines, rows, rejects, bytes of complete lines). Raises _Fallback (after
    rolling back) when the fast reader's result does not add up."""
    con.execute("BEGIN TRANSACTION")
    try:
        if new:
            con.execute(
                "INSERT INTO sources (source_id, path, format, chosen, lines, rows, rejects, fingerprint, bytes_read, "
                "seconds, ingested_at, layout) VALUES (?, ?, ?, ?, 0, 0, 0, ?, 0, 0, now(), ?)",
                [sid, str(path), fmt.name, chosen, fp, fmt.layout],
            )
        first = prev_lines + 1
        if prev_lines:
            last = _fetch1(
                con.execute("SELECT reason FROM rejects WHERE source_id = ? AND line_no = ?", [sid, prev_lines])
            )
            if last and last[0] in REOPEN:  # the unfinished last line is read again, now longer
                con.execute("DELETE FROM rejects WHERE source_id = ? AND line_no = ?", [sid, prev_lines])
                first = prev_lines
        params = {"sid": sid, "tz": tz, "w3c_fields": _w3c_fields(con, sid) if fmt.windowed and not new else None}
        if fast:
            threads = int(_fetch_row(con.execute("SELECT current_setting('threads')"))[0])
            scan = _prescan(content, PIECES or 2 * threads)
            if not scan.clean:
                raise _Fallback
            nl = scan.newlines
            total = nl + (0 if scan.ends_with_newline else 1)
            params.update(path=str(path), last=nl, lo=1, hi=total)
            if fast == "columns" and content.gz and scan.tail:  # a gzip cannot be fed without its last line
                raise _Fallback
            feed = _Feed(content, scan, bar, complete=fast == "columns")
            try:
                if fast == "columns":
                    with feed as pieces:
                        rows = _run(con, _columns_rows_sql(fmt, pieces), params)
                    # the CSV reader skips empty lines and joins lines across an unbalanced quote; either shifts
                    # the later line numbers of its piece, which shows as a piece's last request numbered below
                    # the piece's last line
                    ranges = [
                        (lo, hi)
                        for (_, _, lo), (_, _, hi) in zip(scan.pieces, [*scan.pieces[1:], (0, 0, nl)])
                        if lo < hi
                    ]  # (a last piece may hold only an unterminated line)
                    ends = [hi for _, hi in ranges]
                    tops = _fetch_row(
                        con.execute(
                            "SELECT "
                            + ", ".join(
                                f"max(line_no) FILTER (WHERE line_no > {lo} AND line_no <= {hi})" for lo, hi in ranges
                            )
                            + " FROM requests WHERE source_id = ? AND line_no >= 1",
                            [sid],
                        )
                    )
                    if list(tops) != ends:
                        raise _Fallback
                    if fmt.csv_partial and rows < total:  # a declared layout: what the columns left, the lines read
                        with _Feed(content, scan) as pieces:
                            rows += _run(con, _rows_sql(fmt, _missing(_csv_source(pieces))), params)
                    rows -= _drop_bad(con, fmt, params)
                else:
                    with feed as pieces:
                        rows = _run(con, _rows_sql(fmt, _csv_source(pieces)), params)
                    rows -= _drop_bad(con, fmt, params)
                if rows < total:
                    with _Feed(content, scan) as pieces:
                        rejects = _run(con, _rejects_sql(fmt, _csv_source(pieces)), params)
                else:
                    rejects = 0
            except duckdb.Error as exc:
                raise _Fallback from exc
            finally:
                if bar is not None:  # the fed bytes moved the bar; the whole file moves it
                    bar.update(-feed.fed)
            if rows + rejects != total:
                raise _Fallback
            if bar is not None:
                bar.update(path.stat().st_size)
            tail = scan.tail
            complete = content.size - tail
        elif fmt.spans:  # the spans of a request may be on other lines: the whole file is read first
            reader = _Lines(content, start, first)
            con.execute("CREATE OR REPLACE TEMP TABLE _strangler_all (line_no BIGINT, line VARCHAR, flag VARCHAR)")
            for table in reader:
                con.register("_strangler_chunk", table)
                try:
                    con.execute("INSERT INTO _strangler_all SELECT line_no, line, flag FROM _strangler_chunk")
                finally:
                    con.unregister("_strangler_chunk")
            src = "SELECT line_no, line, flag FROM _strangler_all"
            params.update(lo=first, hi=max(first, reader.next_line - 1))
            _run(con, _rows_sql(fmt, src), params)
            _drop_bad(con, fmt, params)
            _run(con, _rejects_sql(fmt, src), params)
            con.execute("DROP TABLE _strangler_all")
            complete = start + reader.complete_bytes
            if bar is not None:
                bar.update(path.stat().st_size)
        else:
            reader = _Lines(content, start, first)
            done = 0
            src = "SELECT line_no, line, flag FROM _strangler_chunk"
            for table in reader:
                con.register("_strangler_chunk", table)
                try:
                    lo, hi = table["line_no"][0].as_py(), table["line_no"][-1].as_py()
                    params.update(lo=lo, hi=hi)
                    rows = _run(con, _rows_sql(fmt, src), params)
                    rows -= _drop_bad(con, fmt, params)
                    if rows < len(table):
                        _run(con, _rejects_sql(fmt, src), params)
                    if fmt.windowed:
                        row = _fetch1(
                            con.execute(
                                "SELECT line FROM _strangler_chunk WHERE starts_with(line, '#Fields:') "
                                "ORDER BY line_no DESC LIMIT 1"
                            )
                        )
                        if row:
                            params["w3c_fields"] = row[0].rstrip("\r")
                finally:
                    con.unregister("_strangler_chunk")
                if bar is not None and not content.gz:
                    bar.update(reader.complete_bytes - done)
                    done = reader.complete_bytes
            complete = start + reader.complete_bytes
            if bar is not None and content.gz:
                bar.update(path.stat().st_size)
        # lines with requests: one per request, except where a line holds several (fmt.spans)
        with_rows = "count(DISTINCT line_no)" if fmt.spans else "count(*)"
        counts = _fetch_row(
            con.execute(
                "SELECT (SELECT count(*) FROM requests WHERE source_id = $sid), "
                "(SELECT count(*) FROM rejects WHERE source_id = $sid), "
                "(SELECT max(line_no) FROM (SELECT line_no FROM requests WHERE source_id = $sid UNION ALL "
                f"SELECT line_no FROM rejects WHERE source_id = $sid)), "
                f"(SELECT {with_rows} FROM requests WHERE source_id = $sid)",
                {"sid": sid},
            )
        )
        rows_total, rejects_total, max_line, row_lines = counts
        con.execute(
            "UPDATE sources SET path = ?, lines = ?, rows = ?, rejects = ?, fingerprint = coalesce(?, fingerprint), "
            "bytes_read = ?, ingested_at = now() WHERE source_id = ?",
            [str(path), row_lines + rejects_total, rows_total, rejects_total, fp, complete, sid],
        )
        if (max_line or 0) != row_lines + rejects_total:
            raise RuntimeError(
                f"{path}: line accounting broke (max line {max_line}, {rows_total} rows + {rejects_total} rejects)"
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _choose_format(
    con: duckdb.DuckDBPyConnection,
    content: _Content,
    head: bytes,
    fmt_name: str,
    fmts: dict[str, F.Format],
    tz: str,
    explicit: bool,
) -> tuple[str, str]:
    """A new file's format and how it was chosen: declared, the empty file's default, or detected from a sample."""
    if fmt_name != "auto":
        return fmt_name, "declared"
    if not head:
        return "combined", "empty file"  # nothing to detect, nothing to parse
    try:
        return detect.choose(detect.candidates(con, sample(content), fmts, tz), fmts)
    except detect.NoFormat as exc:
        raise _Unreadable(str(exc), explicit) from None


def _ingest_file(
    con: duckdb.DuckDBPyConnection, path: Path, explicit: bool, fmt_name: str, fmts: dict[str, F.Format], tz: str, bar
) -> dict:
    """Ingest one file; returns its summary row (note says new / grew / unchanged / skipped)."""
    t0 = time.perf_counter()
    row = _summary_row(path)
    content = _Content(path)
    size = path.stat().st_size
    head = content.head(HEAD)
    fp = _fingerprint(head)
    known = _find_source(con, head, path)
    if known is not None and not content.gz and size < known[3]:
        known = None  # same first bytes but shorter: a different file
    before: Sequence[int]
    if known is None:
        name, chosen = _choose_format(con, content, head, fmt_name, fmts, tz, explicit)
        sid = int(_fetch_row(con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources"))[0])
        new, start, prev_lines, note, before = True, 0, 0, "new", (0, 0)
    else:
        sid, name, prev_lines, start, *before = known
        chosen = None
        new, note = False, "grew"
        if not content.gz and size == start:
            last = _fetch1(
                con.execute("SELECT reason FROM rejects WHERE source_id = ? AND line_no = ?", [sid, prev_lines])
            )
            if not (last and last[0] in REOPEN):
                row.update(format=name, note="unchanged", seconds=time.perf_counter() - t0)
                if bar is not None:
                    bar.update(size)
                return row
    fmt = fmts[name] if name in fmts else layouts.stored(con, sid)
    # readers from fastest to most general; each gives way to the next when its counts do not add up
    modes: list[str | bool] = ["columns", "lines"] if fmt.csv_columns else [] if fmt.spans else ["lines"]
    modes = [*modes, False] if start == 0 and size > 0 else [False]
    for mode in modes:
        try:
            _load(con, path, content, fmt, sid, new, fp, start, prev_lines, tz, mode, bar, chosen)
            break
        except _Fallback:
            continue
    rows_now, rejects_now, lines_now = _fetch1(
        con.execute("SELECT rows, rejects, lines FROM sources WHERE source_id = ?", [sid])
    ) or (0, 0, 0)
    secs = time.perf_counter() - t0
    con.execute("UPDATE sources SET seconds = coalesce(seconds, 0) + ? WHERE source_id = ?", [secs, sid])
    added_rows, added_rejects = rows_now - before[0], rejects_now - before[1]
    if not new and added_rows == 0 and added_rejects == 0:
        note = "unchanged"
    row.update(
        format=name,
        lines=lines_now - prev_lines,
        rows=added_rows,
        rejects=added_rejects,
        seconds=secs,
        note=note if not content.truncated else f"{note}; {content.truncated}",
    )
    row["lines/s"] = row["lines"] / secs if secs > 0 else 0.0
    return row


def _summary_row(path: Path, **values) -> dict:
    """One row of the summary table: zeros for what was not read."""
    return {
        "file": str(path),
        "format": "",
        "lines": 0,
        "rows": 0,
        "rejects": 0,
        "seconds": 0.0,
        "lines/s": 0.0,
        "note": "",
        **values,
    }


class _Unreadable(Exception):
    def __init__(self, message: str, explicit: bool):
        super().__init__(message)
        self.explicit = explicit


def _progress_bar(con: duckdb.DuckDBPyConnection, on: bool) -> bool:
    """Switch DuckDB's own progress bar; returns whether it was on (False where it cannot be switched)."""
    try:
        was = bool(_fetch_row(con.execute("SELECT current_setting('enable_progress_bar')"))[0])
        if was != on:
            con.execute(f"SET enable_progress_bar = {'true' if on else 'false'}")
        return was
    except duckdb.Error:
        return False


# --- public API -------------------------------------------------------------------------------------------------


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: list[str],
    fmt: str | F.Format = "auto",
    tz: str | None = None,
    progress: bool = False,
    json_fields: dict[str, list[str]] | None = None,
) -> IngestResult:
    """Load log files (files, directories, globs; plain or gzip) into `requests` and `rejects`.

    `fmt` names the format or 'auto' (detected per file), or declares the server's layout ('nginx:$remote_addr
    ...', 'apache:...', 'gunicorn:...', or a Format from `strangler.layouts`); `tz` is the zone of timestamps that
    carry no offset (W3C, JSON without offset; default UTC); `json_fields` puts extra keys first in the JSON field mapping,
    e.g. {"duration_ms": ["took:ms"]}. Re-ingesting a file adds nothing; a grown file adds its new lines.
    """
    if isinstance(paths, (str, Path)):
        paths = [str(paths)]
    declared = layouts.declared(fmt) if isinstance(fmt, str) and layouts.is_declared(fmt) else fmt
    name = declared.name if isinstance(declared, F.Format) else F.resolve(str(fmt))
    zone = tz or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise StranglerError(f"unknown time zone {tz!r}; use an IANA name such as Europe/Paris or UTC") from None
    fmts = F.build(json_fields) if json_fields else F.FORMATS
    if isinstance(declared, F.Format):
        fmts = {**fmts, name: declared}
    files, errors = expand(paths)
    rows: list[dict] = []
    bar = None
    shown = _progress_bar(con, False)  # ours (tqdm) or none: never DuckDB's on stdout
    limit = _fetch_row(con.execute("SELECT current_setting('memory_limit')"))[0]
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # a 10 GB log must not take the machine's memory
    ordered = _fetch_row(con.execute("SELECT current_setting('preserve_insertion_order')"))[0]
    con.execute("SET preserve_insertion_order = false")  # rows carry their line_no: a quarter faster inserts
    if progress:
        from tqdm import tqdm

        total = sum(f.stat().st_size for f, _ in files if f.exists())
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="ingest", delay=PROGRESS_DELAY, leave=False)
    try:
        for path, explicit in files:
            try:
                rows.append(_ingest_file(con, path, explicit, name, fmts, zone, bar))
                if bar is not None:
                    bar.refresh()
            except _Unreadable as exc:
                if exc.explicit:
                    errors.append(f"{path}: {exc}")
                rows.append(_summary_row(path, note=f"{'error' if exc.explicit else 'skipped'}: {exc}"))
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror or exc}")
                rows.append(_summary_row(path, note=f"error: {exc.strerror or exc}"))
    finally:
        if bar is not None:
            bar.close()
        if shown:
            _progress_bar(con, True)
        con.execute(f"SET memory_limit = '{limit}'")
        con.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
    return IngestResult(pd.DataFrame(rows, columns=SUMMARY_COLUMNS), errors)


def guess(path: str | Path, tz: str = "UTC") -> tuple[list[detect.Candidate], str | None, str]:
    """What each built-in format makes of a file's sample (best first), the format detection would choose (None
    when it refuses) and how, or why it refuses (`strangler formats --guess`)."""
    p = Path(path)
    if not p.is_file():
        raise StranglerError(f"{path}: no such file")
    con = duckdb.connect()
    try:
        found = detect.candidates(con, sample(_Content(p)), F.FORMATS, tz)
    finally:
        con.close()
    try:
        name, how = detect.choose(found, F.FORMATS)
        return found, name, how
    except detect.NoFormat as exc:
        return found, None, str(exc)


# --- views for notebook 01 ----------------------------------------------------------------------------------------

_FILE = "regexp_replace(s.path, '^.*/', '')"


def sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per source file: format and how it was chosen (`declared`, `detected 998/1000`: sample lines
    parsed), the layout when declared, accounting (rows + rejects = lines) and throughput."""
    return con.execute(f"""
        SELECT s.source_id, {_FILE} AS file, s.path, s.format, s.chosen, s.layout, s.lines, s.rows, s.rejects,
               round(s.seconds, 3) AS seconds,
               CASE WHEN s.seconds > 0 THEN round(s.lines / s.seconds) END AS lines_per_s, s.ingested_at
        FROM sources s ORDER BY s.source_id""").df()


def rejects_by_reason(con: duckdb.DuckDBPyConnection, examples: int = 3) -> pd.DataFrame:
    """Rejects counted by reason, with the first `examples` raw lines of each as 'file:line: raw' (unescaped
    text: display it with pandas, which escapes it)."""
    return con.execute(
        f"""
        SELECT r.reason, count(*) AS rejects,
               array_to_string(list({_FILE} || ':' || r.line_no || ': ' || left(r.raw, 200)
                                    ORDER BY r.source_id, r.line_no)[1:$n], chr(10)) AS examples
        FROM rejects r JOIN sources s USING (source_id)
        GROUP BY r.reason ORDER BY rejects DESC, r.reason""",
        {"n": int(examples)},
    ).df()


def coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Time covered by each source: first and last timestamp (UTC), rows with a timestamp, span in hours."""
    return con.execute(f"""
        SELECT s.source_id, {_FILE} AS file, s.format, count(q.line_no) AS rows, count(q.ts) AS with_ts,
               min(q.ts) AS first_ts, max(q.ts) AS last_ts,
               round(epoch(max(q.ts)) / 3600 - epoch(min(q.ts)) / 3600, 2) AS hours
        FROM sources s LEFT JOIN requests q USING (source_id)
        GROUP BY s.source_id, file, s.format ORDER BY s.source_id""").df()


def status_mix(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Requests per source and status class (2xx, 3xx, 4xx, 5xx), with the class's share of the source."""
    return con.execute(f"""
        SELECT s.source_id, {_FILE} AS file, (q.status // 100) || 'xx' AS status_class, count(*) AS requests,
               round(count(*) / sum(count(*)) OVER (PARTITION BY s.source_id), 4) AS share
        FROM requests q JOIN sources s USING (source_id)
        GROUP BY s.source_id, file, status_class ORDER BY s.source_id, status_class""").df()


def summary(con: duckdb.DuckDBPyConnection) -> str:
    """One line for the report index: files, lines, requests and rejects, or that nothing was ingested yet."""
    files, lines, rows, rejects = con.execute(
        "SELECT count(*), coalesce(sum(lines), 0), coalesce(sum(rows), 0), coalesce(sum(rejects), 0) FROM sources"
    ).fetchall()[0]
    if not files:
        return "no log file ingested yet: the database holds no requests (strangler ingest LOG --db DB loads some)"
    text = f"{files} log file{'s' * (files != 1)}, {lines:,} lines: {rows:,} requests and {rejects:,} rejects"
    return text + ("; no line became a request" if not rows else "")
