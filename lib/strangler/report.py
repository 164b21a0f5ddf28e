"""Offline HTML reports: compute what the notebooks show, run them with papermill, export each, write an index.

`build` first computes and stores everything the notebooks show (`prepare`: load the logs and routes it is given,
attribute the requests, store the manifest, score the plan, review every batch), then runs 01_ingest,
02_endpoints, 03_priorities, 04_batch_review (once per batch) and 05_progress in a real Jupyter kernel, in that
order. The notebooks only read the database, so what one shows never depends on how another last ran. Every
executed notebook is exported to one self-contained HTML file with the code cells hidden (template
`templates/strangler`: nothing loaded from a CDN; the charts carry their own Vega bundle, see `charts.enable`).
`index.html` links the reports, each with the one line printed by the notebook's last cell tagged `summary`. A
failing notebook stops the build with a StranglerError naming the notebook and the cell; the partly executed
notebook is kept in `out/notebooks/` for inspection.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from strangler.errors import StranglerError

NOTEBOOKS_DIR = Path(__file__).resolve().parent / "notebooks"  # the top-level notebooks/ (a link in a checkout)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "strangler"
ORDER = ("01_ingest", "02_endpoints", "03_priorities", "04_batch_review", "05_progress")
PER_BATCH = "04_batch_review"
EXECUTED = "notebooks"  # sub-folder of `out` that keeps the executed .ipynb files
TIMEOUT_S = 900  # per cell


@dataclass(frozen=True)
class Job:
    """One notebook run: which notebook, with which parameters, exported under which name."""

    notebook: Path
    name: str  # output stem: `<name>.html`, `notebooks/<name>.ipynb`
    title: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """One exported report, as listed in index.html."""

    name: str
    title: str
    html: Path
    notebook: Path
    summary: str
    seconds: float


def _slug(text: str) -> str:
    """File-name-safe form of a batch name (the name itself is shown escaped in the index)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "batch"


def _abs(p: str | Path | None) -> str | None:
    return None if p is None else str(Path(p).expanduser().resolve())


def _notebook_path(notebooks_dir: Path, stem: str) -> Path:
    ipynb = notebooks_dir / f"{stem}.ipynb"
    if ipynb.is_file() or (notebooks_dir / f"{stem}.py").is_file():
        return ipynb
    raise StranglerError(f"notebook {ipynb} does not exist (nor its paired {stem}.py)")


def notebooks(notebooks_dir: str | Path | None = None) -> dict[str, Path]:
    """The report's notebooks by stem, in order; StranglerError when one is missing."""
    nbdir = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    return {stem: _notebook_path(nbdir, stem) for stem in ORDER}


def jobs(
    db: str | Path, batches: Sequence[str] = (), notebooks_dir: str | Path | None = None, rollups: bool = False
) -> list[Job]:
    """The notebook runs of a report, in order; 04_batch_review once per batch; without 01 (the raw rows) on a
    rollup directory's database (`rollups`). Each gets only the database (and 04 its batch): what they show was
    computed by `prepare`."""
    db_s = _abs(db)
    out: list[Job] = []
    for stem, path in notebooks(notebooks_dir).items():
        if rollups and stem == "01_ingest":
            continue
        if stem == PER_BATCH:
            used: set[str] = set()
            for name in batches:
                slug = _slug(name)
                while slug in used:
                    slug += "_"
                used.add(slug)
                out.append(Job(path, f"{stem}-{slug}", f"{stem} — {name}", {"db": db_s, "batch": name}))
        else:
            out.append(Job(path, stem, stem, {"db": db_s}))
    return out


@dataclass
class Prepared:
    """What `prepare` did: the batches to review (04 once each), one line per step, and facts for the index."""

    batches: list[str]
    steps: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)


def _drop(con: Any, *tables: str) -> None:
    for t in tables:
        con.execute(f"DROP TABLE IF EXISTS {t}")


def prepare(
    db: str | Path,
    manifest: str | Path | None = None,
    logs: Sequence[str | Path] = (),
    apps: Sequence[str] = (),
    source: str | Path | None = None,
    say: Callable[[str], None] | None = None,
    con: Any = None,
    python: str | None = None,
) -> Prepared:
    """Compute and store what the notebooks show, before they run: ingest `logs`, inventory `apps` and `source`,
    attribute the requests, store `manifest`, score the plan, review every batch (default windows).

    Only loading creates a database: without logs, apps or source, `db` must exist. A step the data cannot
    support yet (no routes to plan, no batches to review) is skipped with its reason in `steps`, and the derived
    table it would have rebuilt is dropped, so no notebook shows a result computed from older data. With `con` (a
    rollup directory's database from `rollup.open_dir`), that connection is used and left open.
    """
    from strangler import attribute, ingest, review, rollup, routes, score
    from strangler import db as db_mod
    from strangler import manifest as manifest_mod

    done = Prepared([])

    def step(text: str) -> None:
        done.steps.append(text)
        if say is not None:
            say(text)

    loading = bool(logs or apps or source)
    own = con is None
    if own:
        con = db_mod.connect(db, "create" if loading else "write")
    try:
        if logs:
            result = ingest.ingest(con, [str(p) for p in logs])
            step(str(result))
            if not result.ok:
                done.facts.append(("ingest", f"{len(result.errors)} of the given logs could not be read"))
        if apps:
            step(str(routes.inventory_apps(con, list(apps), python=python)))
        if source:
            step(str(routes.inventory_source(con, source)))
        n_routes = con.execute("SELECT count(*) FROM routes").fetchall()[0][0]
        if not rollup.has_raw(con):
            step("attribute: skipped, a rollup directory holds no raw requests")
        elif n_routes and (apps or source or attribute.pending(con)):
            step(str(attribute.attribute(con)))
        elif not n_routes:
            step("attribute: skipped, the database holds no routes (`strangler routes`, or report --app/--source)")
        if rollup.has_raw(con):
            rollup.build(con)  # the notebooks read the rollups on a read-only connection: they must be current
        if manifest is not None:
            manifest_mod.apply(con, manifest)
            step(f"manifest {manifest}: stored")
        try:
            step(str(score.plan(con, source=source)))
        except StranglerError as exc:
            _drop(con, "scores", "coupling", "plan_settings")
            step(f"plan: skipped, {exc}")
        done.batches = review.batch_names(con)
        if done.batches:
            try:
                step(str(review.review(con)))
            except StranglerError as exc:
                _drop(con, "reviews")
                step(f"review: skipped, {exc}")
        else:
            _drop(con, "reviews")
            step("review: skipped, the database holds no batches (give --manifest)")
    finally:
        if own:
            con.close()
    return done


def kernel_name() -> str:
    """Name of a kernelspec that runs this very interpreter (so the kernel imports this strangler).

    The venv's own `python3` spec does (jupyter_client maps argv `python` to sys.executable); otherwise a
    `strangler` spec pointing at sys.executable is installed into sys.prefix once.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    for name in ("python3", "strangler"):
        try:
            argv0 = ksm.get_kernel_spec(name).argv[0]
        except NoSuchKernel:
            continue
        if (
            argv0 in ("python", "python3", f"python3.{sys.version_info[1]}")
            or Path(argv0).resolve() == Path(sys.executable).resolve()
        ):
            return name
    from ipykernel.kernelspec import install

    try:
        install(kernel_name="strangler", display_name="strangler (Python)", prefix=sys.prefix)
    except PermissionError:  # a system interpreter: install for this user instead
        install(kernel_name="strangler", display_name="strangler (Python)", user=True)
    return "strangler"


def _load(job: Job) -> nbformat.NotebookNode:
    """The notebook to run: the .ipynb, or the paired py:percent file when the .ipynb is missing."""
    if job.notebook.is_file():
        return nbformat.read(job.notebook, as_version=4)
    import jupytext

    return jupytext.read(job.notebook.with_suffix(".py"))


def _failure(job: Job, executed: Path, exc: Exception) -> StranglerError:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first = next((ln for ln in (exc.source or "").splitlines() if ln.strip()), "")
        return StranglerError(
            f"notebook {job.notebook.name} ({job.title}) failed in cell In[{exc.exec_count}] "
            f"(cell {exc.cell_index} of {executed}, starting {first.strip()[:80]!r}): "
            f"{exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}; "
            f"the partly executed notebook is kept at {executed}"
        )
    kept = f"; partial output kept at {executed}" if executed.exists() else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return StranglerError(
        f"notebook {job.notebook.name} ({job.title}) could not run: {type(exc).__name__}: {first}{kept}"
    )


def execute(job: Job, executed: Path, kernel: str | None = None) -> nbformat.NotebookNode:
    """Run one notebook with papermill in a real kernel; the executed copy is written to `executed`."""
    import papermill as pm

    executed.parent.mkdir(parents=True, exist_ok=True)
    nb = _load(job)
    try:
        return pm.execute_notebook(
            nb,
            str(executed),
            parameters=job.parameters,
            kernel_name=kernel or kernel_name(),
            language="python",
            progress_bar=False,
            log_output=False,
            # jupyter_client sends SIGINT before every shutdown and an idle kernel logs that as "ERROR |
            # KeyboardInterrupt caught in kernel"; a failing cell reaches us as PapermillExecutionError, not as a log.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            cwd=os.getcwd(),
            execution_timeout=TIMEOUT_S,
        )  # where --app modules live
    except Exception as exc:  # papermill raises its own error for a failing cell, others for a dead kernel
        raise _failure(job, executed, exc) from None


def heading(nb: nbformat.NotebookNode, default: str) -> str:
    """The notebook's first level-1 Markdown heading (its title in the index), else `default`."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def summary(nb: nbformat.NotebookNode) -> str:
    """The one line printed by the notebook's last cell tagged `summary` ("" when there is none)."""
    for cell in reversed(nb.cells):
        if cell.cell_type == "code" and "summary" in cell.get("metadata", {}).get("tags", []):
            text = "".join(
                o.get("text", "")
                for o in cell.get("outputs", [])
                if o.get("output_type") == "stream" and o.get("name") == "stdout"
            )
            return " ".join(text.split())
    return ""


@functools.lru_cache(maxsize=1)
def _exporter():
    """The HTML exporter (built once: loading the template and its CSS costs a second)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


def _for_export(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without what a reader should not see: stderr chatter, papermill's parameter cells."""
    nb = nbformat.from_dict(nb)
    keep = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags or "remove_cell" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
        keep.append(cell)
    nb.cells = keep
    return nb


def export(nb: nbformat.NotebookNode, out_html: Path, title: str) -> Path:
    """Write one executed notebook as a self-contained HTML file without code cells."""
    body, _ = _exporter().from_notebook_node(_for_export(nb), resources={"metadata": {"name": title}})
    out_html.write_text(body, encoding="utf-8")
    return out_html


INDEX_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 960px; margin: 2em auto;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } ul { list-style: none; padding: 0; }
li { margin: 0 0 1em 0; } li > a { font-weight: 600; font-size: 1.05em; }
.summary { margin: .2em 0 0 0; } .meta { color: #777; font-size: .85em; }
"""


def write_index(reports: Sequence[Report], out: Path, meta: Iterable[tuple[str, str]] = ()) -> Path:
    """out/index.html: one link per report with its summary; everything shown is escaped."""
    e = html.escape
    items = "\n".join(
        f'<li><a href="{e(r.html.name)}">{e(r.title)}</a>'
        f'<p class="summary">{e(r.summary) or "<em>(no summary)</em>"}</p>'
        f'<p class="meta">{r.seconds:.1f} s · executed notebook: '
        f'<a href="{e(EXECUTED)}/{e(r.notebook.name)}">{e(r.notebook.name)}</a></p></li>'
        for r in reports
    )
    facts = "".join(f"<li><strong>{e(k)}</strong>: {e(v)}</li>" for k, v in meta)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        f"<title>strangler reports</title><style>{INDEX_CSS}</style></head>\n<body>\n"
        "<h1>strangler reports</h1>\n"
        f"<ul class=\"meta\">{facts}</ul>\n<ul class=\"reports\">\n{items}\n</ul>\n</body></html>\n"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def run(
    job_list: Sequence[Job],
    out: str | Path,
    progress: bool = False,
    kernel: str | None = None,
    meta: Iterable[tuple[str, str]] = (),
) -> Path:
    """Execute and export each job in order, then write out/index.html; returns its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kernel = kernel or kernel_name()
    reports: list[Report] = []
    for i, job in enumerate(job_list, 1):
        if progress:
            print(f"[{i}/{len(job_list)}] {job.title} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        executed = out / EXECUTED / f"{job.name}.ipynb"
        nb = execute(job, executed, kernel)
        batch = job.parameters.get("batch")
        title = heading(nb, job.name) + (f" — {batch}" if batch is not None else "")
        page = export(nb, out / f"{job.name}.html", title)
        seconds = time.perf_counter() - t0
        reports.append(Report(job.name, title, page, executed, summary(nb), seconds))
        if progress:
            print(f"[{i}/{len(job_list)}] {job.title}: {seconds:.1f} s → {page}", file=sys.stderr, flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return write_index(reports, out, [("generated", stamp), *meta])


_SPEC = re.compile(r"^  var spec = (.*);$", re.M)


def chart_specs(nb: nbformat.NotebookNode) -> list[dict]:
    """The Vega-Lite specs that `charts.enable`'s renderer put into an executed notebook, in output order."""
    import json

    found: list[dict] = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            page = o.get("data", {}).get("text/html", "")
            page = "".join(page) if isinstance(page, list) else page
            found += [json.loads(m) for m in _SPEC.findall(page)]
    return found


def chart_pngs(
    executed: str | Path, images: str | Path, which: dict[str, int] | None = None, scale: float = 2.0
) -> list[Path]:
    """PNG files (vl-convert) of charts from executed notebooks, for the README.

    `which` maps a notebook name (stem in `executed`) to the index of its chart; default: chart 0 of each.
    """
    import vl_convert as vlc

    executed, images = Path(executed), Path(images)
    images.mkdir(parents=True, exist_ok=True)
    picks = which or {p.stem: 0 for p in sorted(executed.glob("*.ipynb"))}
    written = []
    for name, i in picks.items():
        specs = chart_specs(nbformat.read(executed / f"{name}.ipynb", as_version=4))
        if i >= len(specs):
            raise StranglerError(f"{executed / name}.ipynb has {len(specs)} charts, no chart #{i}")
        path = images / f"{name}.png"
        path.write_bytes(vlc.vegalite_to_png(specs[i], scale=scale))
        written.append(path)
    return written


def build(
    db: str | Path,
    manifest: str | Path | None,
    out: str | Path,
    logs: Sequence[str | Path] = (),
    apps: Sequence[str] = (),
    source: str | Path | None = None,
    progress: bool = False,
    notebooks_dir: str | Path | None = None,
    rollups: str | Path | None = None,
    python: str | None = None,
) -> Path:
    """Compute what the notebooks show (`prepare`), run every notebook headless (04 once per batch) and export
    offline HTML; returns out/index.html.

    With `rollups` (a directory written by `strangler rollup --out`), 02–05 run on out/rollups.duckdb, a database
    of views over its Parquet files with no raw rows; `db` is not read.
    """
    notebooks(notebooks_dir)  # a missing notebook is an error before minutes of computing
    if manifest is not None:
        from strangler import manifest as manifest_mod

        manifest_mod.load(manifest)  # so is a manifest with a mistake
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else None
    if rollups is not None:
        from strangler import rollup

        db = Path(out) / "rollups.duckdb"
        con = rollup.open_dir(rollups, db)
        try:
            prepared = prepare(db, manifest, source=source, say=say, con=con)
        finally:
            con.close()
    else:
        prepared = prepare(db, manifest, logs=logs, apps=apps, source=source, say=say, python=python)
    job_list = jobs(db, prepared.batches, notebooks_dir=notebooks_dir, rollups=rollups is not None)
    meta = [("rollups", str(rollups))] if rollups is not None else [("database", str(db))]
    meta += [("manifest", str(manifest))] if manifest is not None else []
    return run(job_list, out, progress=progress, meta=meta + prepared.facts)
