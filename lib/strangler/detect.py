"""Which format a file is in, from a sample of its lines, decided by parsing them in DuckDB with every candidate.

A candidate *fits* when at least half of the sample's lines (blank and '#' lines aside) are requests by its whole
parse, field checks included, and at most 1 % of them (at least one line) fail its layout or a check; lines the
producer writes that are not requests (a JSON line without a status, Werkzeug's banners) are neither. Of the
formats that fit, the one that reads the most fields (non-NULL columns over the sample) is chosen; when several
read as many, a catch-all layout (`common`, `combined`, `json`) gives way to a producer's own, and a tie that
remains is refused as ambiguous. Nothing fits: refused, naming the nearest candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from strangler import parse_sql as P
from strangler.errors import StranglerError
from strangler.formats import Format

SAMPLE_LINES = 1000  # lines from the start, and as many from the middle of the file


@dataclass
class Candidate:
    """What one format made of the sample."""

    name: str
    lines: int  # sample lines that say something (not blank, not '#', not cut)
    parsed: int  # ... that became requests
    noise: int  # ... that the producer writes but are not requests ('not_a_request', the router's 'router_event')
    fields: int  # non-NULL columns over the parsed lines
    first: dict = field(default_factory=dict)  # the columns of the first parsed line
    reasons: dict = field(default_factory=dict)  # reject reason -> count
    error: str | None = None

    @property
    def bad(self) -> int:
        return self.lines - self.parsed - self.noise

    @property
    def fits(self) -> bool:
        return (
            self.error is None
            and self.parsed > 0
            and 2 * self.parsed >= self.lines - self.noise
            and 10 * self.parsed >= self.lines
            and self.bad <= max(1, (self.lines - self.noise) // 100)
        )


class NoFormat(StranglerError):
    """No format fits the sample, or several fit equally well."""


def _sample_sql(fmt: Format, src: str) -> str:
    nonnull = " + ".join(f"({c} IS NOT NULL)::INTEGER" for c in P.COLUMNS)
    first = "{" + ", ".join(f"'{c}': {c}" for c in P.COLUMNS) + "}"
    not_log = ", ".join(f"'{r}'" for r in P.NOT_LOG)
    return f"""
        SELECT count(*) FILTER (WHERE reason IS NULL OR reason NOT IN ({not_log})),
               count(*) FILTER (WHERE reason IS NULL),
               count(*) FILTER (WHERE reason IN ('not_a_request', 'router_event')),  -- the pilot's events too
               coalesce(sum({nonnull}) FILTER (WHERE reason IS NULL), 0),
               arg_min({first}, line_no) FILTER (WHERE reason IS NULL),
               histogram(reason) FILTER (WHERE reason IS NOT NULL)
        FROM ({P.verdict(fmt, src, detecting=True)})"""


def candidates(con: duckdb.DuckDBPyConnection, lines: list[str], fmts: dict[str, Format], tz: str) -> list[Candidate]:
    """Each format's reading of the sample `lines`, best first (fitting, then most fields, then most parsed)."""
    table = pa.table(
        {
            "line_no": pa.array(range(1, len(lines) + 1), pa.int64()),
            "line": pa.array(lines, pa.large_string()),
            "flag": pa.nulls(len(lines), pa.string()),
        }
    )
    name = "_strangler_sample"
    con.register(name, table)
    out = []
    try:
        # one cheap pass first: formats read by one whole-line pattern that no sample line has are out at once
        quick = [f for f in fmts.values() if f.maybe or f.valid_line]
        said = f"flag IS NULL AND trim(line) <> '' AND NOT starts_with(line, '#') AND strlen(line) <= {P.MAX_LINE}"
        counts = con.execute(
            f"SELECT count(*) FILTER (WHERE {said})"
            + "".join(f", count(*) FILTER (WHERE {said} AND {f.maybe or f.valid_line})" for f in quick)
            + f" FROM ({P.cleaned(f'SELECT line_no, line, flag FROM {name}')})"
        ).fetchall()[0]
        none = {f.name for f, n in zip(quick, counts[1:]) if n == 0}
        for fmt in fmts.values():
            if fmt.name in none:
                reason = fmt.extra_invalid[0][1] if fmt.extra_invalid else fmt.invalid_reason  # bad_json first
                out.append(Candidate(fmt.name, counts[0], 0, 0, 0, reasons={reason: counts[0]}))
                continue
            sql = _sample_sql(fmt, f"SELECT line_no, line, flag FROM {name}")
            params = {"tz": tz, "w3c_fields": None}
            try:
                row = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()[0]
            except duckdb.Error as exc:  # a format whose SQL cannot read these lines does not fit them
                out.append(Candidate(fmt.name, len(lines), 0, 0, 0, error=str(exc).splitlines()[0]))
                continue
            n, parsed, noise, nfields, first, reasons = row
            out.append(Candidate(fmt.name, n, parsed, noise, int(nfields), first or {}, dict(reasons or {})))
    finally:
        con.unregister(name)
    out.sort(key=lambda c: (not c.fits, -c.fields, -c.parsed, c.name))
    return out


def choose(found: list[Candidate], fmts: dict[str, Format]) -> tuple[str, str]:
    """(format name, how it was chosen) from `candidates`; raises NoFormat when none fits or a tie remains."""
    fit = [c for c in found if c.fits]
    if not fit:
        near = ", ".join(f"{c.name} {c.parsed}/{c.lines}" for c in found[:3] if c.parsed)
        n = max((c.lines for c in found), default=0)
        raise NoFormat(
            "format not recognised: no format reads the sample"
            + (f" (nearest: {near} lines parsed)" if near else f" (none parsed any of its {n} lines)")
            + "; pass --format NAME"
        )
    best = [c for c in fit if c.fields == fit[0].fields]
    if len(best) > 1:
        best = [c for c in best if not fmts[c.name].generic] or best
    if len(best) > 1:
        names = " and ".join(c.name for c in best)
        raise NoFormat(
            f"format ambiguous: {names} read the sample equally well ({best[0].parsed}/{best[0].lines} lines, "
            "same fields); pass --format NAME"
        )
    c = best[0]
    return c.name, f"detected {c.parsed}/{c.lines}"
