"""`strangler` command line: one subcommand per step of the flow in DESIGN.md.

Each subcommand has an `add_<name>` that declares its options and a `run_<name>` that calls the library and
prints. User mistakes raise StranglerError, which `main` prints as one line (exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from strangler import __version__
from strangler.errors import StranglerError

DEFAULT_DB = "data/strangler.duckdb"


def _db_arg(p: argparse.ArgumentParser, required: bool = True, note: str = "") -> None:
    p.add_argument(
        "--db",
        required=required,
        default=None if required else DEFAULT_DB,
        metavar="DB",
        help="DuckDB file that holds strangler's state"
        + (f" ({note})" if note else " (must exist)")
        + ("" if required else f"; default {DEFAULT_DB}"),
    )


# --- demo ---------------------------------------------------------------------------------------------------


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="write the demo: access logs, migration.toml, truth.json",
        description="Write a deterministic demo of a travel-journal API's traffic: nginx access "
        "logs (combined with request time, part as JSON lines), the migration.toml of its "
        "batches, and truth.json recording the effects injected into each batch.",
    )
    p.add_argument("--out", default="data/demo", type=Path, metavar="DIR", help="output folder (default data/demo)")
    p.add_argument(
        "--requests", type=int, default=2_000_000, metavar="N", help="requests to generate (default 2,000,000)"
    )
    p.add_argument("--seed", type=int, default=7, metavar="S", help="random seed; same seed, same files (default 7)")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from strangler import demo

    info = demo.generate(args.out, requests=args.requests, seed=args.seed, progress=sys.stderr.isatty())
    print(info)
    return 0


# --- ingest -------------------------------------------------------------------------------------------------


def add_ingest(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="load access logs into the requests table",
        description="Load access logs (plain or .gz; files, directories or globs) into DuckDB. "
        "Each line becomes a request or a reject with its reason; re-ingesting adds nothing.",
    )
    p.add_argument("logs", nargs="+", metavar="LOG", help="log files, directories or glob patterns")
    _db_arg(p, note="created if missing")
    p.add_argument(
        "--format",
        default="auto",
        metavar="NAME",
        help="log format or alias (`strangler formats` lists them), or auto to detect per file (default auto), "
        "or the server's own layout: "
        "nginx:'<log_format>' (nginx,escape=json:'...'), apache:'<LogFormat>', gunicorn:'<access_log_format>'",
    )
    p.add_argument(
        "--format-file",
        default=None,
        metavar="CONF[:NAME]",
        help="read the layout from an nginx or Apache config: the log_format / LogFormat named NAME, or the one "
        "its access_log / CustomLog line uses",
    )
    p.add_argument(
        "--tz", default=None, metavar="ZONE", help="time zone for timestamps that carry no offset (default UTC)"
    )
    p.add_argument(
        "--json-field",
        action="append",
        default=[],
        metavar="COLUMN=KEY[,KEY...]",
        help="JSON logs: read COLUMN (ts, method, target, status, bytes, duration_ms, ...) from these keys "
        "first; a duration key may end in :s, :ms or :us (repeatable)",
    )
    p.set_defaults(run=run_ingest)


def run_ingest(args: argparse.Namespace) -> int:
    from strangler import db, ingest

    fields: dict[str, list[str]] = {}
    for spec in args.json_field:
        col, sep, keys = spec.partition("=")
        if not sep or not col.strip() or not keys.strip():
            raise StranglerError(f"--json-field {spec!r}: write COLUMN=KEY[,KEY...], e.g. duration_ms=took:ms")
        fields[col.strip()] = [k.strip() for k in keys.split(",") if k.strip()]
    fmt = args.format
    if args.format_file:
        from strangler import layouts

        if args.format != "auto":
            raise StranglerError("--format and --format-file both say the format: give one")
        fmt = layouts.from_config(args.format_file)
    con = db.connect(args.db, "create")
    result = ingest.ingest(
        con, args.logs, fmt=fmt, tz=args.tz, progress=sys.stderr.isatty(), json_fields=fields or None
    )
    print(result)
    _refresh_rollups(con)
    return 0 if result.ok else 1


def _refresh_rollups(con) -> None:
    """Bring the rollups up to date after a command changed `requests`: the notebooks read them on a read-only
    connection, which cannot refresh them, so they stay readable while a kernel is open."""
    from strangler import rollup

    if rollup.has_raw(con):
        rollup.build(con)


# --- formats ------------------------------------------------------------------------------------------------


def add_formats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "formats",
        help="list the log formats, or show what each makes of a file",
        description="List every log format strangler reads (name, aliases, what it reads). With --guess FILE, "
        "show what each format made of the file's sample lines and which one detection chooses.",
    )
    p.add_argument("--guess", metavar="FILE", help="a log file to try every format on")
    p.add_argument("--tz", default="UTC", metavar="ZONE", help="time zone for timestamps without an offset")
    p.set_defaults(run=run_formats)


def _printable(value: object, width: int = 48) -> str:
    """A value from a log line as safe terminal text: control characters escaped, cut to `width`."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[tuple]) -> str:
    """A plain left-aligned text table."""
    cells = [headers, *([str(v) for v in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells)


def run_formats(args: argparse.Namespace) -> int:
    from strangler import formats, ingest

    if not args.guess:
        listed = [(f.name, ", ".join(f.aliases), f.description) for f in formats.FORMATS.values()]
        print(_table(["format", "aliases", "reads"], listed))
        return 0
    found, chosen, verdict = ingest.guess(args.guess, args.tz)
    show = ["method", "path", "status", "duration_ms", "ts"]
    rows = []
    for c in found:
        values = {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in c.first.items() if v is not None}
        first = " ".join(f"{k}={_printable(values[k], 40)}" for k in show if k in values)
        reason, n = max(c.reasons.items(), key=lambda kv: kv[1], default=("", 0))
        rows.append(
            (c.name, f"{c.parsed}/{c.lines}", "yes" if c.fits else "", c.fields, f"{reason} {n}" if n else "", first)
        )
    print(_table(["format", "parsed", "fits", "fields", "most rejects", "first line read"], rows))
    print(f"chosen: {chosen} ({verdict})" if chosen else verdict)
    return 0 if chosen else 1


# --- routes -------------------------------------------------------------------------------------------------


def add_routes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "routes",
        help="inventory the app's routes into the routes table",
        description="Inventory the routes of a Flask or FastAPI app: exactly, by importing it in "
        "its own interpreter (--app), or statically, by reading its source (--source).",
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--app",
        action="append",
        metavar="MODULE:ATTR",
        help="app object or factory call, e.g. myapp:app or myapp:create_app(); repeat for both apps",
    )
    g.add_argument("--source", type=Path, metavar="DIR", help="source tree to read without running anything")
    p.add_argument("--python", default=None, metavar="PY", help="the app's own interpreter (default: this one)")
    p.add_argument(
        "--entry",
        action="append",
        metavar="MODULE",
        help="with --source: read only what a program importing MODULE runs (a tree holding a demo app beside the "
        "real one); repeatable",
    )
    p.add_argument(
        "--conditional",
        action="store_true",
        help="with --source: list routes made under a condition not known statically (a feature flag), naming the "
        "condition taken as true in column assumes, instead of leaving them unresolved",
    )
    _db_arg(p, note="created if missing")
    p.set_defaults(run=run_routes)


def run_routes(args: argparse.Namespace) -> int:
    from strangler import db, routes

    if args.entry and not args.source:
        raise StranglerError("--entry goes with --source (it names the modules a static reading starts from)")
    if args.conditional and not args.source:
        raise StranglerError("--conditional goes with --source (the imported app knows its conditions)")
    con = db.connect(args.db, "create")
    if args.app:
        print(routes.inventory_apps(con, args.app, python=args.python))
    else:
        print(routes.inventory_source(con, args.source, entry=args.entry, conditional=args.conditional))
    return 0


# --- attribute ----------------------------------------------------------------------------------------------


def add_attribute(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "attribute",
        help="match every request to its route the way the framework does",
        description="Set requests.route from the routes table with Werkzeug's and Starlette's "
        "own matching rules; report unmatched paths by shape and 405s.",
    )
    _db_arg(p)
    p.set_defaults(run=run_attribute)


def run_attribute(args: argparse.Namespace) -> int:
    from strangler import attribute, db

    con = db.connect(args.db, "write")
    print(attribute.attribute(con))
    _refresh_rollups(con)
    return 0


# --- rollup -------------------------------------------------------------------------------------------------


def add_rollup(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rollup",
        help="hourly rollups of the attributed requests (what the analyses read)",
        description="Aggregate requests per hour, route, method, backend and status with a latency histogram "
        "(1 %% log buckets), incrementally: only the hours new requests touched. Run after `attribute`; or "
        "with --logs straight from the logs (DuckDB in one pass, or Apache Spark with --engine spark).",
    )
    p.add_argument(
        "--db",
        metavar="DB",
        help="DuckDB file that holds strangler's state (not with --engine spark; created if missing only with --logs)",
    )
    p.add_argument("--out", metavar="DIR", help="also write the rollups as hive-partitioned Parquet (day=YYYY-MM-DD/)")
    p.add_argument("--full", action="store_true", help="roll up every hour again")
    p.add_argument(
        "--engine",
        choices=["duckdb", "spark"],
        default="duckdb",
        help="duckdb (default): from the database's requests, or straight from --logs; spark: from --logs on "
        "Apache Spark, writing --out",
    )
    p.add_argument(
        "--logs",
        nargs="+",
        metavar="URI",
        help="read these logs (files, directories, globs; with spark also s3a:// and other Hadoop paths) and "
        "roll them up in one pass, keeping only rejects and a sample of raw rows",
    )
    p.add_argument("--routes", metavar="DB", help="spark: the DuckDB file whose routes attribute the requests")
    p.add_argument(
        "--master", metavar="URL", help="spark: the master (local[2], spark://host:7077; default: spark-submit's)"
    )
    p.add_argument("--format", default="auto", help="log format or 'auto' (see `strangler ingest --help`)")
    p.add_argument("--tz", help="zone of timestamps without an offset (default UTC)")
    p.set_defaults(run=run_rollup)


def run_rollup(args: argparse.Namespace) -> int:
    from strangler import db, rollup

    if args.engine == "spark":
        from strangler import spark_job

        if not args.logs or not args.routes or not args.out:
            raise StranglerError("--engine spark needs --logs URI..., --routes DB and --out DIR")
        print(spark_job.run(args.logs, args.routes, args.out, master=args.master, fmt=args.format, tz=args.tz))
        return 0
    if not args.db:
        raise StranglerError("--db DB is required (the Spark engine takes --routes DB instead)")
    if args.logs:
        from strangler import fastpath

        con = db.connect(args.db, "create")  # it loads logs, as ingest does
        result = fastpath.run(con, args.logs, fmt=args.format, tz=args.tz)
        print(result)
        if args.out:
            print("\n".join(f"wrote {p}" for p in rollup.export(con, args.out)))
        return 0 if result.ok else 1
    con = db.connect(args.db, "write")
    built = rollup.build(con, full=args.full)
    if args.out:
        built.written = rollup.export(con, args.out)
    print(built)
    return 0


# --- plan ---------------------------------------------------------------------------------------------------


def add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="score endpoints and propose migration batches",
        description="Score every Flask route by traffic, errors, latency (from the attributed "
        "requests) and porting effort (radon complexity and Flask coupling of its view and helpers), "
        "and propose ordered migration batches by blueprint under an effort budget; dead routes are "
        "listed as delete candidates. Rebuilds the tables scores and coupling.",
    )
    _db_arg(p)
    p.add_argument(
        "--weights",
        default=None,
        metavar="K=V,...",
        help="score weights over the defaults traffic=1,errors=0.5,latency=0.5,effort=1; 0 switches a term off",
    )
    p.add_argument("--budget", type=float, default=None, metavar="POINTS", help="effort points per batch (default 20)")
    p.add_argument(
        "--source",
        type=Path,
        default=None,
        metavar="DIR",
        help="the Flask app's source tree, for helpers and hooks (default: the folder holding the routes' files)",
    )
    p.add_argument(
        "--start", default=None, metavar="TIME", help="value window start, e.g. 2026-03-01 (default: first request)"
    )
    p.add_argument("--end", default=None, metavar="TIME", help="value window end, exclusive (default: last request)")
    p.add_argument(
        "--manifest",
        type=Path,
        default=None,
        metavar="M",
        help="migration.toml: its routes keep their "
        "batch (migrated or planned) instead of being proposed again (default: the batches table as it is)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write plan.csv, plan.md and migration.draft.toml here",
    )
    p.set_defaults(run=run_plan)


# deliberate: run_plan and run_serve (and the other run_/add_ functions here) hand parsed options on keyword by
# keyword or declare argparse options; they look alike but name different options, helps and defaults (issue 12)
def run_plan(args: argparse.Namespace) -> int:
    from strangler import db, manifest, score

    con = db.connect(args.db, "write")
    if args.manifest:
        manifest.apply(con, args.manifest)
    print(
        score.plan(
            con,
            weights=args.weights,
            budget=args.budget,
            start=args.start,
            end=args.end,
            source=args.source,
            out=args.out,
        )
    )
    return 0


# --- review -------------------------------------------------------------------------------------------------


def add_review(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="before/after of migrated batches, with confidence intervals",
        description="Compare each batch's routes before and after its cutover on comparable "
        "windows (a settling period left out, the same hours of the week on both sides); every "
        "difference carries a 95 % interval from a paired hourly block bootstrap and a verdict "
        "(better, worse, no_change, insufficient_data). Writes table reviews and prints the "
        "verdict grid.",
    )
    _db_arg(p)
    p.add_argument("--manifest", required=True, type=Path, metavar="M", help="migration.toml")
    p.add_argument("--batch", default=None, metavar="NAME", help="review this batch only (default: all)")
    p.add_argument(
        "--before-days",
        type=float,
        default=7,
        metavar="D",
        help="length of the window before the cutover, in days (default 7)",
    )
    p.add_argument(
        "--after-days",
        type=float,
        default=7,
        metavar="D",
        help="length of the window after the settling period, in days (default 7)",
    )
    p.add_argument(
        "--settle-hours",
        type=float,
        default=1,
        metavar="H",
        help="hours right after the cutover left out of the after window (default 1)",
    )
    p.add_argument(
        "--all-hours",
        action="store_true",
        help="compare all hours of both windows instead of only the hours of the week (UTC) present "
        "in both; only useful when the windows are too short to share hours",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the block bootstrap (default 0)")
    p.set_defaults(run=run_review)


def run_review(args: argparse.Namespace) -> int:
    from strangler import db, manifest, review

    con = db.connect(args.db, "write")
    manifest.apply(con, args.manifest)
    print(
        review.review(
            con,
            batch=args.batch,
            before_days=args.before_days,
            after_days=args.after_days,
            settle_hours=args.settle_hours,
            same_hours=not args.all_hours,
            seed=args.seed,
        )
    )
    return 0


# --- report -------------------------------------------------------------------------------------------------


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run every notebook headless and export offline HTML",
        description="Run the notebooks with papermill (04 once per batch), export each to one "
        "self-contained HTML file, and write an index.html that links them.",
    )
    _db_arg(p, required=False, note="must exist unless --logs, --app or --source load into it")
    p.add_argument("--manifest", type=Path, default=None, metavar="M", help="migration.toml")
    p.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR", help="output folder (default reports/)")
    p.add_argument("--logs", nargs="*", default=[], metavar="LOG", help="logs for 01_ingest to load first (optional)")
    p.add_argument(
        "--app", action="append", default=[], metavar="MODULE:ATTR", help="apps for the route inventory (repeatable)"
    )
    p.add_argument(
        "--python", default=None, metavar="PY", help="the apps' own interpreter for --app (default: this one)"
    )
    p.add_argument(
        "--source", type=Path, default=None, metavar="DIR", help="source tree for complexity and static inventory"
    )
    p.add_argument(
        "--rollups",
        type=Path,
        default=None,
        metavar="DIR",
        help="run 02-05 on a rollup directory (strangler rollup --out) instead of --db: no raw rows, no 01",
    )
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from strangler import report

    index = report.build(
        db=args.db,
        manifest=args.manifest,
        out=args.out,
        logs=args.logs,
        apps=args.app,
        source=args.source,
        progress=True,
        rollups=args.rollups,
        python=args.python,
    )  # one line per notebook on stderr
    print(f"wrote {index}")
    return 0


# --- serve and load -----------------------------------------------------------------------------------------


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve Flask and FastAPI side by side behind the strangler router",
        description="Serve the strangler router with uvicorn: routes whose batch has passed its "
        "cutover go to FastAPI, everything else to Flask over WSGI; one JSON log line per request.",
    )
    p.add_argument("--manifest", required=True, type=Path, metavar="M", help="migration.toml (re-read when it changes)")
    p.add_argument("--flask", default=None, metavar="MOD:ATTR", help="the Flask app (default: the demo's)")
    p.add_argument("--fastapi", default=None, metavar="MOD:ATTR", help="the FastAPI app (default: the demo's)")
    p.add_argument("--host", default="127.0.0.1", metavar="H", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, metavar="P", help="port (default 8000)")
    p.add_argument(
        "--access-log", type=Path, default=None, metavar="FILE", help="write one JSON record per request here"
    )
    p.add_argument(
        "--fastapi-prefix",
        default="",
        metavar="PREFIX",
        help="versioned prefix the FastAPI app serves its routes under (e.g. /v2); public paths stay",
    )
    p.add_argument(
        "--client-header",
        default=None,
        metavar="NAME",
        help="request header naming the client for sticky canaries (default: client address)",
    )
    p.add_argument(
        "--flask-workers", type=int, default=10, metavar="N", help="threads running the Flask app (default 10)"
    )
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help="uvicorn worker processes (default 1); they share the log"
    )
    p.add_argument(
        "--pilot-state",
        type=Path,
        default=None,
        metavar="FILE",
        help="the pilot's state file, read for ramped batches (default: beside the manifest, M.pilot.json)",
    )
    p.add_argument(
        "--demo-fault",
        action="append",
        default=[],
        metavar="BATCH:errors=F|slow=X",
        help="demo only: a fault in BATCH's FastAPI port, e.g. trips-read:errors=0.1 or feed:slow=2 (repeatable)",
    )
    p.set_defaults(run=run_serve)


# deliberate: keyword-by-keyword hand-off like run_plan's, different options; see the note above run_plan
def run_serve(args: argparse.Namespace) -> int:
    from strangler import router

    flask = router.DEFAULT_FLASK if args.flask is None else args.flask
    fastapi = router.DEFAULT_FASTAPI if args.fastapi is None else args.fastapi
    router.serve(
        manifest=args.manifest,
        flask=flask,
        fastapi=fastapi,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        prefix=args.fastapi_prefix,
        client_header=args.client_header,
        flask_workers=args.flask_workers,
        workers=args.workers,
        pilot_state=args.pilot_state,
        faults=args.demo_fault,
    )
    return 0


def add_load(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load",
        help="drive a local router with the demo's traffic mix, then stop",
        description="Send the demo's realistic request mix (routes, ids, bots, clients) to a "
        "server on this machine; stops after --requests requests or --duration seconds.",
    )
    p.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        metavar="URL",
        help="loopback URL of the router (default http://127.0.0.1:8000)",
    )
    p.add_argument("--requests", type=int, default=10_000, metavar="N", help="stop after N requests (default 10,000)")
    p.add_argument("--duration", type=float, default=60.0, metavar="S", help="stop after S seconds (default 60)")
    p.add_argument("--concurrency", type=int, default=8, metavar="C", help="requests in flight (default 8)")
    p.add_argument("--seed", type=int, default=7, metavar="S", help="random seed of the request mix (default 7)")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for the server to answer first (default 0)",
    )
    p.set_defaults(run=run_load)


def run_load(args: argparse.Namespace) -> int:
    from strangler import loadgen

    result = loadgen.run(
        args.url,
        requests=args.requests,
        duration=args.duration,
        concurrency=args.concurrency,
        seed=args.seed,
        wait=args.wait,
    )
    print(result)
    return 0 if result.failures == 0 else 1


# --- pilot --------------------------------------------------------------------------------------------------


def add_pilot(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pilot",
        help="ramp batches step by step beside strangler serve, judging each step; status, pause, resume, rollback",
        description="Without an action (or with run): ramp every batch that has a ramp in the manifest, from its "
        "cutover, judging FastAPI against Flask at the end of each step from the router's log; decisions go to "
        "the pilot state file (read by every router worker) and to the log. status prints each batch's stage, "
        "fraction and last decision; pause, resume and rollback act on one batch.",
    )
    p.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=["run", "status", "pause", "resume", "rollback"],
        help="run (default), status, pause, resume or rollback",
    )
    p.add_argument("batch", nargs="?", default=None, metavar="BATCH", help="the batch to pause, resume or roll back")
    p.add_argument("--manifest", required=True, type=Path, metavar="M", help="migration.toml (never rewritten)")
    p.add_argument(
        "--access-log", type=Path, default=None, metavar="FILE", help="the router's access log (strangler serve's)"
    )
    p.add_argument(
        "--state", type=Path, default=None, metavar="FILE", help="pilot state file (default: beside the manifest)"
    )
    p.add_argument("--poll", type=float, default=0.5, metavar="S", help="seconds between log reads (default 0.5)")
    p.add_argument(
        "--until-settled",
        action="store_true",
        help="stop once every ramped batch is complete, rolled back or held (for demos and scripts)",
    )
    p.set_defaults(run=run_pilot)


def run_pilot(args: argparse.Namespace) -> int:
    import logging

    from strangler import pilot

    if args.action in ("pause", "resume", "rollback"):
        if args.batch is None:
            raise StranglerError(f"strangler pilot {args.action} needs a BATCH")
        d = pilot.act(args.manifest, args.action, args.batch, args.state, args.access_log)
        print(f"{d['batch']}: {d['action']} ({d['from']:g} → {d['to']:g}): {d['reason']}")
        return 0
    if args.batch is not None:
        raise StranglerError(f"strangler pilot {args.action} takes no BATCH")
    if args.action == "status":
        print(pilot.status(args.manifest, args.state))
        return 0
    if args.access_log is None:
        raise StranglerError("strangler pilot needs --access-log FILE: the log strangler serve writes")
    if args.poll <= 0:
        raise StranglerError(f"--poll must be positive, got {args.poll}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    state = pilot.run(args.manifest, args.access_log, args.state, poll=args.poll, until_settled=args.until_settled)
    if args.until_settled:
        print(pilot.status(args.manifest, args.state))
        return 0 if all(b.get("stage") != "held" for b in state["batches"].values()) else 1
    return 0


# ------------------------------------------------------------------------------------------------------------

COMMANDS = [
    add_demo,
    add_ingest,
    add_formats,
    add_routes,
    add_attribute,
    add_rollup,
    add_plan,
    add_review,
    add_report,
    add_serve,
    add_load,
    add_pilot,
]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="strangler",
        description="Plan and check a Flask → FastAPI migration "
        "from the app's routes and its access logs. See DESIGN in the README.",
    )
    p.add_argument("--version", action="version", version=f"strangler {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except StranglerError as exc:
        print(f"strangler: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("strangler: interrupted", file=sys.stderr)
        return 130
