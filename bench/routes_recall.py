"""Recall of the static route inventory on real open-source apps, against the exact inventory of the same app.

Each app is installed from PyPI into its own virtualenv (nothing is committed):

    python3.11 -m venv /tmp/rv_PKG && /tmp/rv_PKG/bin/pip install PKG

then this script runs the exact inventory (`_inventory.py` in that venv's interpreter: the app imported for real)
and the static inventory of the package's source folder, and compares the (method, rule) pairs. Recall counts
the exact pairs whose view is defined inside the source folder (routes that extensions such as Flask-Admin add
from their own packages cannot be in the tree); `all` counts every exact pair. Precision counts the static pairs
that the imported app has: a static pair it lacks is a wrong rule. `blind` apps were chosen, and first measured,
before the inventory was worked on for them (bench/README.md keeps both runs). An app may name the modules the
static reading starts from (`entry`, as `routes --source --entry`) and the app object of the tree its exact import
corresponds to (`app_object`; by default every static row counts). Usage:

    .venv/bin/python bench/routes_recall.py [--conditional] [--any-object] [NAME ...]   # default: every venv's app

`--any-object` counts every static row, whatever app object it belongs to (as before `app_object` existed).
`--conditional` scans as `routes --source --conditional` does: routes whose only unknown is a condition are listed.
Each missed pair is reported with the reason of the unresolved route that matches it (same method, its rule
with each {?} read as any text), or "no unresolved route matches" (an unresolved item whose whole rule is
unknown may still hold it).
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from strangler import routes, static_inventory


@dataclass
class App:
    name: str  # the PyPI package, also the venv name /tmp/rv_NAME
    spec: str  # what the exact inventory imports (from `shim` when the app needs setting up first)
    source: str  # the folder inside site-packages that the static inventory reads
    shim: str = ""  # a module written to a temporary folder: builds the app the way its own main() does
    blind: bool = False  # chosen before the static inventory was worked on for it (issue 13)
    entry: tuple[str, ...] = ()  # static inventory from these modules only (`routes --source DIR --entry M`)
    app_object: str = ""  # the tree's app the exact inventory imports (static column app_object), "" for any


CALIBRE_SHIM = """
import os, sys
import calibreweb
sys.path.insert(0, os.path.dirname(calibreweb.__file__))
sys.argv = [sys.argv[0]]
from cps import create_app
app = create_app()
# what cps.main.main() registers before it starts its server
from cps.web import web
from cps.basic import basic
from cps.opds import opds
from cps.admin import admi
from cps.gdrive import gdrive
from cps.editbooks import editbook
from cps.about import about
from cps.search import search
from cps.search_metadata import meta
from cps.shelf import shelf
from cps.tasks_status import tasks
from cps.remotelogin import remotelogin
from cps.jinjia import jinjia
for bp in (search, tasks, web, basic, opds, jinjia, about, shelf, admi, remotelogin, meta, gdrive, editbook):
    app.register_blueprint(bp)
try:
    from cps.kobo import kobo
    from cps.kobo_auth import kobo_auth
    app.register_blueprint(kobo)
    app.register_blueprint(kobo_auth)
except ImportError:
    pass
try:
    from cps.oauth_bb import oauth
    app.register_blueprint(oauth)
except ImportError:  # flask_dance is optional
    pass
"""

CHANGEDETECTION_SHIM = """
import tempfile
from changedetectionio import store, __version__
from changedetectionio.flask_app import changedetection_app
path = tempfile.mkdtemp()
ds = store.ChangeDetectionStore(datastore_path=path, version_tag=__version__, include_default_watches=False)
app = changedetection_app({"datastore_path": path}, ds)
"""

MONITORINGDASHBOARD_SHIM = """
from flask import Flask
import flask_monitoringdashboard as dashboard
app = Flask(__name__)
dashboard.bind(app, schedule=False)
"""

FAVA_SHIM = """
import tempfile, pathlib
from fava.application import create_app
ledger = pathlib.Path(tempfile.mkdtemp()) / "main.beancount"
ledger.write_text('option "title" "bench"\\n')
app = create_app([str(ledger)])
"""

ZOU_SHIM = """
import os
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
from zou.app import app
"""

PUPPETBOARD_SHIM = """
import os, sys
sys.argv = ["pytest"]  # its module checks the PuppetDB version at import unless it runs under pytest
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
from puppetboard.app import app
"""

OTTERWIKI_SHIM = """
import os, subprocess, tempfile
repo = tempfile.mkdtemp()
subprocess.run(["git", "init", "-q", repo], check=True)
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
os.environ.setdefault("REPOSITORY", repo)
from otterwiki.server import app
import otterwiki.views
"""

GUARDRAILS_SHIM = """
import pathlib
pathlib.Path("config.py").write_text("# no guards: the server's own routes only\\n")  # the guards file it imports
from guardrails_api.app import create_app
app = create_app()
"""

APPS = [
    App("calibreweb", "shim:app", "calibreweb/cps", CALIBRE_SHIM),
    App(
        "changedetection.io",
        "shim:app",
        "changedetectionio",
        CHANGEDETECTION_SHIM,
        app_object="changedetectionio.flask_app:app",  # its tests folder holds two more apps
    ),
    App("chainlit", "chainlit.server:app", "chainlit"),
    # chosen blind for issue 13, before the inventory changed
    App("rq-dashboard", "rq_dashboard.app:create_app()", "rq_dashboard", blind=True),
    App(
        "flask-monitoringdashboard",
        "shim:app",
        "flask_monitoringdashboard",
        MONITORINGDASHBOARD_SHIM,
        blind=True,
        entry=("flask_monitoringdashboard",),  # what the shim imports; the whole tree also holds a demo app
        app_object="flask_monitoringdashboard:bind(app)",
    ),
    App("ihatemoney", "ihatemoney.run:create_app()", "ihatemoney", blind=True),
    App(
        "prefect",
        "prefect.server.api.server:create_app()",
        "prefect/server",
        blind=True,
        app_object="server.api.server:create_app()",  # not create_api_app(), which create_app() mounts under /api
    ),
    App("zou", "shim:app", "zou", ZOU_SHIM, blind=True),
    App("fava", "shim:app", "fava", FAVA_SHIM, blind=True),
    # chosen blind for issue 13's second round (config and environment), before the inventory changed again
    App("puppetboard", "shim:app", "puppetboard", PUPPETBOARD_SHIM, blind=True),
    App("otterwiki", "shim:app", "otterwiki", OTTERWIKI_SHIM, blind=True),
    App("privacyidea", "privacyidea.app:create_app(silent=True)", "privacyidea", blind=True),
    App("asreview", "asreview.webapp.app:create_app()", "asreview", blind=True),
    App("guardrails-api", "shim:app", "guardrails_api", GUARDRAILS_SHIM, blind=True),
    App("opal-server", "opal_server.main:app", "opal_server", blind=True),  # also needs aiofiles (undeclared)
]


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def missed_reasons(missed: set[tuple[str, str]], unresolved: list) -> dict[str, int]:
    """How many missed pairs each unresolved reason explains: why a route the app has is not in the static list."""
    patterns = [
        (u.method, re.compile("^" + ".*".join(re.escape(p) for p in u.rule.split("{?}")) + "$"), u.reason)
        for u in unresolved
        if u.rule is not None
    ]
    reasons: Counter[str] = Counter()
    for method, rule in missed:
        reason = next(
            (r for m, pat, r in patterns if m in (method, None) and pat.match(rule)), "no unresolved route matches"
        )
        reasons[reason] += 1
    return dict(reasons.most_common())


def measure(app: App, root: Path = Path("/tmp"), conditional: bool = False, any_object: bool = False) -> dict:
    venv = root / f"rv_{app.name}"
    python = venv / "bin" / "python"
    source = site_packages(venv) / app.source
    with tempfile.TemporaryDirectory() as tmp:
        if app.shim:
            (Path(tmp) / "shim.py").write_text(app.shim)
        t0 = time.perf_counter()
        exact = routes.run_inventory_script(app.spec, python=str(python), cwd=tmp)
        t_exact = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = static_inventory.scan(source, list(app.entry) or None, conditional)
        t_static = time.perf_counter() - t0
    inside = {(r["method"], r["rule"]) for r in exact["routes"] if r["file"] and r["file"].startswith(str(source))}
    every = {(r["method"], r["rule"]) for r in exact["routes"]}
    static = {(r["method"], r["rule"]) for r in found.routes}
    objects = sorted({str(r.get("app_object")) for r in found.routes})
    if app.app_object and not any_object:  # against the tree's app that the exact inventory imports
        static = {(r["method"], r["rule"]) for r in found.routes if r.get("app_object") == app.app_object}
    assumed = sorted({r["assumes"] for r in found.routes if r.get("assumes")})
    return {
        "blind": app.blind,
        "app": app.name,
        "python": exact["python"],
        "exact": len(every),
        "in_tree": len(inside),
        "static": len(static),
        "hit": len(inside & static),
        "recall": len(inside & static) / max(len(inside), 1),
        "recall_all": len(every & static) / max(len(every), 1),
        "extra": len(static - every),
        "precision": len(static & every) / max(len(static), 1),
        "unresolved": len(found.unresolved),
        "app_objects": objects,
        "assumes": assumed,
        "environment": found.environment,
        "missed": sorted(inside - static)[:15],
        "missed_reasons": missed_reasons(inside - static, found.unresolved),
        "extra_examples": sorted(static - every)[:10],
        "unresolved_examples": [f"{Path(u.file).name}:{u.line} {u.reason}" for u in found.unresolved[:8]],
        "seconds_exact": t_exact,
        "seconds_static": t_static,
    }


def main(args: list[str]) -> None:
    conditional, any_object = "--conditional" in args, "--any-object" in args
    names = [a for a in args if a not in ("--conditional", "--any-object")]
    chosen = [a for a in APPS if (not names or a.name in names) and (Path("/tmp") / f"rv_{a.name}").exists()]
    for app in chosen:
        try:
            m = measure(app, conditional=conditional, any_object=any_object)
        except Exception as exc:  # an app that does not import here is reported, not fatal
            print(f"{app.name}: failed: {str(exc)[-600:]}")
            continue
        flags = (" --conditional" if conditional else "") + (" --any-object" if any_object else "")
        print(
            f"{m['app']}{flags} (Python {m['python']}): exact {m['exact']} (method, rule) pairs, {m['in_tree']} with "
            f"their view in the tree; static found {m['static']}; recall {m['recall']:.1%} in tree "
            f"({m['recall_all']:.1%} of all); precision {m['precision']:.1%} ({m['extra']} static-only); "
            f"{m['unresolved']} unresolved; "
            f"static scan {m['seconds_static']:.2f} s, import {m['seconds_exact']:.1f} s"
        )
        print(
            f"  app objects: {m['app_objects']}"
            + (f" (compared: {app.app_object})" if app.app_object and not any_object else "")
        )
        if m["assumes"]:
            print(f"  rules computed with: {m['assumes']}")
        for label in ("missed", "missed_reasons", "extra_examples", "unresolved_examples"):
            if m[label]:
                print(f"  {label}: {m[label]}")


if __name__ == "__main__":
    main(sys.argv[1:])
