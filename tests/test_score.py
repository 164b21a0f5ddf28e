"""Complexity, coupling, effort, score and batch plan (issue 5) on tests/apps/score_app and on the demo."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from radon.complexity import cc_visit
from radon.metrics import h_visit, mi_visit
from radon.raw import analyze

from strangler import cli, effort, manifest, score
from strangler.errors import StranglerError

APP_DIR = Path(__file__).resolve().parent / "apps" / "score_app"
APP = str(APP_DIR / "app.py")
SERVICES = str(APP_DIR / "services.py")

# (method, rule, line given by the inventory, blueprint)
ROUTES = [
    ("GET", "/trips/<int:trip_id>", 27, "trips"),  # decorator line of get_trip
    ("POST", "/trips", 38, "trips"),  # def line of create_trip
    ("GET", "/trips/<int:trip_id>/export", 46, "trips"),
    ("GET", "/trips/<int:trip_id>/steps", 55, None),  # StepsView.get, registered on the app
    ("POST", "/trips/<int:trip_id>/steps", 54, None),  # the class line: its post method
    ("GET", "/admin/report", 70, "admin"),
    ("GET", "/admin/dump", 76, "admin"),
    ("GET", "/health", 96, None),  # defined inside create_app()
]

# (method, rule, requests, 5xx among them, base duration in ms) — durations are base + i % 100
TRAFFIC = [
    ("GET", "/trips/<int:trip_id>", 1000, 0, 10),
    ("POST", "/trips", 200, 20, 50),
    ("GET", "/trips/<int:trip_id>/export", 50, 0, 1000),
    ("GET", "/trips/<int:trip_id>/steps", 300, 3, 20),
    ("GET", "/admin/report", 100, 0, 200),
    ("GET", "/health", 400, 0, 1),
    ("HEAD", "/health", 100, 0, 1),
]
ATTRIBUTED = 1000 + 200 + 50 + 300 + 100 + 400 + 100 + 50  # + 50 to a FastAPI rule


def _load(con, traffic=TRAFFIC, routes=ROUTES, report_month="2026-01") -> None:
    con.executemany(
        "INSERT INTO routes (framework, method, rule, endpoint, file, line, blueprint, inventory) "
        "VALUES ('flask', ?, ?, ?, ?, ?, ?, 'source')",
        [(m, r, r.strip("/").replace("/", ".") or "root", APP, line, bp) for m, r, line, bp in routes],
    )
    for method, rule, n, n5xx, base in traffic:
        month = report_month if rule == "/admin/report" else "2026-01"
        con.execute(
            """
            INSERT INTO requests (ts, method, path, status, duration_ms, route, route_framework, source_id, line_no)
            SELECT CAST(? || '-01 00:00:00+00' AS TIMESTAMPTZ) + to_minutes(i), ?, '/x',
                   CASE WHEN i < ? THEN 500 WHEN i % 10 = 9 THEN 404 ELSE 200 END, ? + i % 100, ?, 'flask', 1, i + 1
            FROM range(?) t(i)
        """,
            [month, method, n5xx, base, rule, n],
        )
    con.execute("""
        INSERT INTO requests (ts, method, path, status, duration_ms, route, route_framework, source_id, line_no)
        SELECT TIMESTAMPTZ '2026-01-02 00:00:00+00', 'GET', '/trips/1', 200, 5, '/trips/{trip_id}', 'fastapi', 2, i + 1
        FROM range(50) t(i)
        UNION ALL
        SELECT TIMESTAMPTZ '2026-01-02 00:00:00+00', 'GET', '/wp-login.php', 404, 1, NULL, NULL, 3, i + 1
        FROM range(100) t(i)
    """)
    manifest.store(
        con,
        manifest.parse(
            '[[batch]]\nname = "steps-write"\ncutover = 2099-01-01T09:00:00Z\nroutes = ["POST /trips/<int:trip_id>/steps"]\n'
        ),
    )


# --- code analysis ------------------------------------------------------------------------------------------

EXPECTED_COUPLING = [
    # (method, rule, kind, detail, file, line, via)
    ("GET", "/admin/dump", "send_file", "send_file", APP, 78, "view"),
    ("GET", "/admin/dump", "hook", "admin.after_request", APP, 21, "blueprint"),
    ("GET", "/admin/dump", "signal", "request_started.connect", APP, 90, "app"),
    ("GET", "/admin/dump", "hook", "app.teardown_request", APP, 92, "app"),
    ("GET", "/admin/report", "current_app_config", "current_app.config", APP, 72, "view"),
    ("GET", "/admin/report", "render_template", "render_template", APP, 73, "view"),
    ("GET", "/admin/report", "session", "session", APP, 73, "view"),
    ("GET", "/admin/report", "hook", "admin.after_request", APP, 21, "blueprint"),
    ("GET", "/admin/report", "signal", "request_started.connect", APP, 90, "app"),
    ("GET", "/admin/report", "hook", "app.teardown_request", APP, 92, "app"),
    ("GET", "/health", "signal", "request_started.connect", APP, 90, "app"),
    ("GET", "/health", "hook", "app.teardown_request", APP, 92, "app"),
    ("POST", "/trips", "login_required", "login_required", APP, 37, "view"),
    ("POST", "/trips", "request_body", "request.get_json", APP, 39, "view"),
    ("POST", "/trips", "abort", "abort", APP, 41, "view"),
    ("POST", "/trips", "current_user", "current_user", APP, 42, "view"),
    ("POST", "/trips", "make_response", "make_response", APP, 43, "view"),
    ("POST", "/trips", "db_session", "db.session", SERVICES, 17, "helper save_trip"),
    ("POST", "/trips", "db_session", "db.session", SERVICES, 18, "helper save_trip"),
    ("POST", "/trips", "signal", "trip_saved.send", SERVICES, 19, "helper save_trip"),
    ("POST", "/trips", "hook", "trips.before_request", APP, 16, "blueprint"),
    ("POST", "/trips", "signal", "request_started.connect", APP, 90, "app"),
    ("POST", "/trips", "hook", "app.teardown_request", APP, 92, "app"),
    ("GET", "/trips/<int:trip_id>", "extension", "flask_caching.Cache", APP, 28, "view"),
    ("GET", "/trips/<int:trip_id>", "g", "g", APP, 31, "view"),
    ("GET", "/trips/<int:trip_id>", "abort", "abort", APP, 32, "view"),
    ("GET", "/trips/<int:trip_id>", "model_query", "Trip.query", SERVICES, 9, "helper load_trip"),
    ("GET", "/trips/<int:trip_id>", "abort", "abort", SERVICES, 11, "helper load_trip"),
    ("GET", "/trips/<int:trip_id>", "hook", "trips.before_request", APP, 16, "blueprint"),
    ("GET", "/trips/<int:trip_id>", "signal", "request_started.connect", APP, 90, "app"),
    ("GET", "/trips/<int:trip_id>", "hook", "app.teardown_request", APP, 92, "app"),
    ("GET", "/trips/<int:trip_id>/export", "streaming", "generator rows()", APP, 48, "view"),
    ("GET", "/trips/<int:trip_id>/export", "streaming", "stream_with_context", APP, 51, "view"),
    ("GET", "/trips/<int:trip_id>/export", "hook", "trips.before_request", APP, 16, "blueprint"),
    ("GET", "/trips/<int:trip_id>/export", "signal", "request_started.connect", APP, 90, "app"),
    ("GET", "/trips/<int:trip_id>/export", "hook", "app.teardown_request", APP, 92, "app"),
    ("GET", "/trips/<int:trip_id>/steps", "signal", "request_started.connect", APP, 90, "app"),
    ("GET", "/trips/<int:trip_id>/steps", "hook", "app.teardown_request", APP, 92, "app"),
    ("POST", "/trips/<int:trip_id>/steps", "extension", "flask_limiter.Limiter", APP, 58, "view"),
    ("POST", "/trips/<int:trip_id>/steps", "request_body", "request.form", APP, 60, "view"),
    ("POST", "/trips/<int:trip_id>/steps", "request_body", "request.files", APP, 61, "view"),
    ("POST", "/trips/<int:trip_id>/steps", "signal", "request_started.connect", APP, 90, "app"),
    ("POST", "/trips/<int:trip_id>/steps", "hook", "app.teardown_request", APP, 92, "app"),
]


def test_coupling_counts_and_locations(con):
    _load(con)
    score.plan(con, source=APP_DIR)
    rows = con.execute("SELECT method, rule, kind, detail, file, line, via FROM coupling").fetchall()
    assert sorted(rows) == sorted(EXPECTED_COUPLING)
    counts = {
        (m, r): {k: n for k, n in zip(effort.KINDS, vals) if n}
        for m, r, *vals in con.execute(f"SELECT method, rule, {', '.join(effort.KINDS)} FROM scores").fetchall()
    }
    assert counts[("GET", "/trips/<int:trip_id>")] == {
        "g": 1,
        "hook": 2,
        "abort": 2,
        "model_query": 1,
        "extension": 1,
        "signal": 1,
    }
    assert counts[("POST", "/trips")] == {
        "hook": 2,
        "request_body": 1,
        "current_user": 1,
        "login_required": 1,
        "abort": 1,
        "make_response": 1,
        "db_session": 2,
        "signal": 2,
    }
    assert counts[("GET", "/health")] == {"hook": 1, "signal": 1}
    # without --source, the tree is the folder that holds the routes' files: the same helpers and hooks
    score.plan(con)
    assert sorted(con.execute("SELECT method, rule, kind, detail, file, line, via FROM coupling").fetchall()) == sorted(
        EXPECTED_COUPLING
    )


def _radon_function(path: str, lineno: int):
    """radon's own record for the function defined at `lineno` (methods included)."""
    blocks = cc_visit(Path(path).read_text())
    flat = [m for b in blocks for m in ([b] + list(getattr(b, "methods", [])) + list(getattr(b, "closures", [])))]
    hits = {(b.lineno, b.name, b.complexity) for b in flat if b.lineno == lineno and not hasattr(b, "methods")}
    assert len(hits) == 1, (path, lineno, flat)  # cc_visit lists methods both alone and in their class
    return next(b for b in flat if b.lineno == lineno)


def _function_source(path: str, lineno: int) -> str:
    import textwrap

    text = Path(path).read_text()
    node = next(
        n
        for n in ast.walk(ast.parse(text))
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.lineno == lineno
    )
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return textwrap.dedent("\n".join(text.splitlines()[start - 1 : node.end_lineno]))


def test_complexity_equals_radon(con):
    _load(con)
    score.plan(con, source=APP_DIR)
    got = con.execute(
        "SELECT method, rule, view_line, cyclomatic, helper_cyclomatic, complexity, sloc, "
        "halstead_volume, maintainability, helpers FROM scores ORDER BY rule, method"
    ).df()
    # (view def line, helpers as (file, def line))
    helpers = {
        ("GET", "/trips/<int:trip_id>"): (29, [(SERVICES, 8)]),
        ("POST", "/trips"): (38, [(SERVICES, 15)]),
        ("GET", "/trips/<int:trip_id>/export"): (47, []),
        ("GET", "/trips/<int:trip_id>/steps"): (55, [(APP, 66)]),
        ("POST", "/trips/<int:trip_id>/steps"): (59, []),
        ("GET", "/admin/report"): (71, []),
        ("GET", "/admin/dump"): (77, []),
        ("GET", "/health"): (97, []),
    }
    for r in got.itertuples(index=False):
        view_line, hs = helpers[(r.method, r.rule)]
        assert r.view_line == view_line
        own = _radon_function(APP, view_line)
        assert r.cyclomatic == own.complexity
        assert r.helper_cyclomatic == sum(_radon_function(f, ln).complexity for f, ln in hs)
        assert r.complexity == r.cyclomatic + r.helper_cyclomatic
        sources = [_function_source(APP, view_line)] + [_function_source(f, ln) for f, ln in hs]
        assert r.sloc == sum(analyze(s).sloc for s in sources)
        assert r.halstead_volume == pytest.approx(sum(h_visit(s).total.volume for s in sources), abs=1e-3)
        assert r.maintainability == pytest.approx(mi_visit(sources[0], True), abs=1e-3)
    assert dict(((m, r), h) for m, r, h in con.execute("SELECT method, rule, helpers FROM scores").fetchall()) == {
        ("GET", "/admin/dump"): None,
        ("GET", "/admin/report"): None,
        ("GET", "/health"): None,
        ("POST", "/trips"): "services.save_trip",
        ("GET", "/trips/<int:trip_id>"): "services.load_trip",
        ("GET", "/trips/<int:trip_id>/export"): None,
        ("GET", "/trips/<int:trip_id>/steps"): "StepsView.steps",
        ("POST", "/trips/<int:trip_id>/steps"): None,
    }
    # the numbers themselves, for the reader: get_trip (if) + load_trip (if)
    assert tuple(got[got["rule"] == "/trips/<int:trip_id>"].iloc[0][["cyclomatic", "complexity", "sloc"]]) == (2, 4, 12)


def test_effort_model(con):
    _load(con)
    s = score.plan(con, source=APP_DIR).scores.set_index(["method", "rule"])
    # /admin/dump: cc 1, 3 SLOC, send_file 1, hooks 2 (after_request, teardown), signal 1
    assert s.loc[("GET", "/admin/dump"), "effort"] == round(1 + 1 / 5 + 3 / 50 + 1 + 1 * 1.25 + 1.5, 1) == 5.0
    # /trips/<id>: complexity 4, 12 SLOC; extension 2, g 1, abort 2 uses (0.5 + 0.125), Model.query 1.5,
    # hooks 2 uses (1.25), signal 1.5
    assert (
        s.loc[("GET", "/trips/<int:trip_id>"), "effort"]
        == round(1 + 4 / 5 + 12 / 50 + 2 + 1 + 0.625 + 1.5 + 1.25 + 1.5, 1)
        == 9.9
    )


# --- value, score, plan -------------------------------------------------------------------------------------


def test_scores_table(con):
    _load(con)
    result = score.plan(con, source=APP_DIR)
    cols = [c[0] for c in con.execute("DESCRIBE scores").fetchall()]
    assert "NULL" not in [c[1] for c in con.execute("DESCRIBE scores").fetchall()]
    assert cols[:10] == [
        "method",
        "rule",
        "requests",
        "error_rate",
        "p95_ms",
        "complexity",
        "effort",
        "score",
        "proposed_batch",
        "dead",
    ]
    s = con.execute("SELECT * FROM scores").df().set_index(["method", "rule"])
    for method, rule, n, n5xx, base in TRAFFIC:
        if method == "HEAD":
            continue
        row = s.loc[(method, rule)]
        durations = base + np.arange(n) % 100
        statuses = np.where(np.arange(n) < n5xx, 500, np.where(np.arange(n) % 10 == 9, 404, 200))
        if rule == "/health":  # the HEAD requests count for the GET rule
            durations = np.concatenate([durations, 1 + np.arange(100) % 100])
            statuses = np.concatenate([statuses, np.where(np.arange(100) % 10 == 9, 404, 200)])
            n += 100
        assert row["requests"] == n
        assert row["share"] == pytest.approx(n / ATTRIBUTED)
        assert row["rate_5xx"] == pytest.approx(n5xx / n)
        assert row["error_rate"] == pytest.approx((statuses >= 400).mean())
        assert row["p95_ms"] == pytest.approx(np.percentile(durations, 95), rel=0.01)  # from the 1 % histogram
        assert not row["dead"]
    dump = s.loc[("GET", "/admin/dump")]
    assert (dump["requests"], dump["dead"], dump["status"]) == (0, True, "dead")
    assert pd.isna(dump["proposed_batch"])
    assert pd.isna(dump["rank"])
    planned = s.loc[("POST", "/trips/<int:trip_id>/steps")]
    assert (planned["requests"], planned["dead"], planned["status"], planned["proposed_batch"]) == (
        0,
        False,
        "planned",
        "steps-write",
    )
    # the documented formula, recomputed from the inputs shown beside the score
    live = s[~s["dead"]]
    t = np.log1p(s["requests"]) / np.log1p(s["requests"].max())
    overall = (20 + 3) / ATTRIBUTED  # every 5xx of the window over every attributed request
    adj = (s["rate_5xx"] * s["requests"] + 100 * overall) / (s["requests"] + 100)
    assert s["rate_5xx_adj"].tolist() == pytest.approx(adj.where(s["requests"] > 0).tolist(), nan_ok=True)
    e = adj.where(s["requests"] > 0).fillna(0) / adj.max()
    lat = s["p95_ms"].fillna(0) / s["p95_ms"].max()
    f = s["effort"] / s["effort"].max()
    expected = (100 * (1 * t + 0.5 * e + 0.5 * lat - 1 * f) / 3).round(2)
    assert s["score"].tolist() == pytest.approx(expected.tolist(), abs=0.006)
    assert sorted(live["rank"].astype(int)) == list(range(1, len(live) + 1))
    assert list(live.sort_values("rank")["score"]) == sorted(live["score"], reverse=True)
    assert result.dead[["method", "rule"]].values.tolist() == [["GET", "/admin/dump"]]


def test_batches_by_affinity_under_budget(con):
    _load(con)
    wide = score.plan(con, source=APP_DIR, budget=100)
    groups = wide.scores.dropna(subset=["proposed_batch"]).groupby("proposed_batch")["rule"].apply(sorted).to_dict()
    assert groups == {
        "trips-1": ["/trips", "/trips/<int:trip_id>", "/trips/<int:trip_id>/export", "/trips/<int:trip_id>/steps"],
        "admin-1": ["/admin/report"],
        "health-1": ["/health"],
        "steps-write": ["/trips/<int:trip_id>/steps"],
    }
    assert wide.batches["position"].tolist() == [1, 2, 3, 4]
    assert wide.batches.iloc[0]["batch"] == "steps-write"  # the manifest's batch stays first
    proposed = wide.batches[wide.batches["status"] == "proposed"]
    assert proposed["mean_score"].tolist() == sorted(proposed["mean_score"], reverse=True)

    tight = score.plan(con, source=APP_DIR, budget=12)
    s = tight.scores
    live = s[~s["dead"]]
    assert live["proposed_batch"].notna().all() and s[s["dead"]]["proposed_batch"].isna().all()
    for name, members in live[live["status"] == "proposed"].groupby("proposed_batch"):
        assert members["affinity"].nunique() == 1
        assert members["effort"].sum() <= 12 or len(members) == 1, name
    assert sorted(
        tight.scores.dropna(subset=["proposed_batch"])
        .query("affinity == 'trips' and status == 'proposed'")["proposed_batch"]
        .unique()
    ) == ["trips-1", "trips-2", "trips-3"]


def test_window_and_weights(con):
    _load(con, report_month="2025-12")
    s = score.plan(con, source=APP_DIR, start="2026-01-01", end="2026-02-01").scores.set_index(["method", "rule"])
    assert s.loc[("GET", "/admin/report"), ["requests", "dead", "status"]].tolist() == [0, True, "dead"]
    assert s.loc[("GET", "/admin/report"), "window_start"] == pd.Timestamp("2026-01-01", tz="UTC")
    everything = score.plan(con, source=APP_DIR).scores.set_index(["method", "rule"])
    assert everything.loc[("GET", "/admin/report"), "requests"] == 100

    base = everything[~everything["dead"]]["rank"]
    errors = score.plan(con, source=APP_DIR, weights="errors=20").scores.set_index(["method", "rule"])["rank"]
    # POST /trips has the highest 5xx rate (10 %): errors first puts it on top
    assert base[("POST", "/trips")] > 1 and errors[("POST", "/trips")] == 1
    moves = score.rank_changes(con, {"traffic only": "traffic=1,errors=0,latency=0,effort=0"})
    top = moves.sort_values("rank").iloc[0]
    assert (top["route"], top["rank"]) == ("GET /trips/<int:trip_id>", 1)
    assert set(moves.columns) == {"method", "rule", "route", "variant", "weights", "base_rank", "rank", "move"}
    assert (moves["move"] == moves["base_rank"] - moves["rank"]).all()


@pytest.mark.parametrize(
    "weights, message",
    [
        ("traffic=x", "weights: traffic='x' is not a number"),
        ("speed=1", "weights: unknown key 'speed'; use traffic, errors, latency, effort"),
        ("traffic", "weights: 'traffic' must read KEY=NUMBER"),
        ("traffic=-1", "must be a finite number ≥ 0"),
        ("traffic=0,errors=0,latency=0,effort=0", "at least one weight must be above 0"),
    ],
)
def test_bad_weights(weights, message):
    with pytest.raises(StranglerError, match=message.replace("(", r"\(").replace("?", r"\?")):
        score.parse_weights(weights)


def test_parse_weights_defaults_and_dict():
    assert score.parse_weights(None) == {"traffic": 1.0, "errors": 0.5, "latency": 0.5, "effort": 1.0}
    assert score.parse_weights("effort=2, traffic=0.5") == {
        "traffic": 0.5,
        "errors": 0.5,
        "latency": 0.5,
        "effort": 2.0,
    }
    assert score.parse_weights({"errors": 1}) == {"traffic": 1.0, "errors": 1.0, "latency": 0.5, "effort": 1.0}


def test_outputs(con, tmp_path):
    _load(con)
    result = score.plan(con, source=APP_DIR, budget=100, out=tmp_path)
    assert [p.name for p in result.written] == ["plan.csv", "plan.md", "migration.draft.toml"]
    csv = pd.read_csv(tmp_path / "plan.csv")
    assert len(csv) == 8 and list(csv.columns) == score.SCORE_COLUMNS
    draft = manifest.load(tmp_path / "migration.draft.toml")
    proposed = result.batches[result.batches["status"] == "proposed"]["batch"].tolist()
    members = {b: sorted(zip(g["method"], g["rule"])) for b, g in result.scores.groupby("proposed_batch")}
    assert [(b.name, sorted(b.routes)) for b in draft] == [
        ("steps-write", [("POST", "/trips/<int:trip_id>/steps")]),
        *[(b, members[b]) for b in proposed],
    ]
    assert draft[0].cutover == pd.Timestamp("2099-01-01T09:00:00Z")
    # drafts: weekly, from the week after the last cutover or request
    assert [b.cutover for b in draft[1:]] == [
        pd.Timestamp("2099-01-08T09:00:00Z") + pd.Timedelta(days=7 * i) for i in range(len(proposed))
    ]
    md = (tmp_path / "plan.md").read_text().splitlines()
    header = md.index("| # | batch | status | route | effort | requests | share | 5xx rate | p95 ms | score |")
    table = [line for line in md[header + 2 :] if line.startswith("| ")]
    assert table[0].startswith("| 1 | steps-write | planned | `POST /trips/<int:trip_id>/steps` |")
    trips = result.scores.set_index(["method", "rule"]).loc[("GET", "/trips/<int:trip_id>")]
    assert trips["p95_ms"] == pytest.approx(np.percentile(10 + np.arange(1000) % 100, 95), rel=0.01)
    row = (
        f"| {trips['batch_position']} | trips-1 | proposed | `GET /trips/<int:trip_id>` | {trips['effort']:.1f} "
        f"| 1,000 | {1000 / ATTRIBUTED:.2%} | 0.00% | {trips['p95_ms']:.0f} "
        f"| {trips['score']:.1f} |"
    )
    assert row in table
    assert "## Delete candidates: 1 route with no request in the window" in md
    assert f"| `GET /admin/dump` | admin.dump | {APP}:76 |" in md


def test_markdown_escapes_pipes(con, tmp_path):
    _load(con, routes=ROUTES + [("GET", "/odd|rule", 78, "admin")], traffic=TRAFFIC + [("GET", "/odd|rule", 5, 0, 1)])
    score.plan(con, source=APP_DIR, out=tmp_path)
    md = (tmp_path / "plan.md").read_text()
    assert "`GET /odd\\|rule`" in md and "/odd|rule" not in md


def test_draft_keeps_an_existing_batch_with_its_canary_and_quotes_its_name(con, tmp_path):
    _load(con)
    manifest.store(
        con,
        manifest.parse(
            '[[batch]]\nname = "steps \\"write\\""\ncutover = 2099-01-01T10:00:00+01:00\n'
            'canary = 0.25\nroutes = ["POST /trips/<int:trip_id>/steps"]\n'
        ),
    )
    result = score.plan(con, source=APP_DIR, budget=100, out=tmp_path)
    text = (tmp_path / "migration.draft.toml").read_text(encoding="utf-8")
    assert text.splitlines()[:7] == [
        "# Draft written by `strangler plan`: check the routes and set real cutover dates.",
        "",
        "[[batch]]",
        'name = "steps \\"write\\""',
        "cutover = 2099-01-01T09:00:00Z",
        "canary = 0.25",
        'routes = ["POST /trips/<int:trip_id>/steps"]',
    ]
    first = result.batches[result.batches["status"] == "proposed"].iloc[0]
    assert text.splitlines()[8:12] == [
        "[[batch]]",
        f'name = "{first.batch}"',
        "cutover = 2099-01-08T09:00:00Z  # draft: weekly from the end of the data",
        f"# effort {first.effort:.1f} points, {first.share:.2%} of traffic, mean score {first.mean_score:.1f}",
    ]
    draft = manifest.parse(text)
    assert (draft[0].name, draft[0].canary) == ('steps "write"', 0.25)


def test_cli_plan(db_path, tmp_path, capsys):
    from strangler import db

    con = db.connect(db_path)
    _load(con)
    con.close()
    code = cli.main(
        [
            "plan",
            "--db",
            str(db_path),
            "--source",
            str(APP_DIR),
            "--budget",
            "100",
            "--weights",
            "traffic=1,effort=0.5",
            "--out",
            str(tmp_path / "plan"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == (
        "scored 8 Flask routes over all requests (weights traffic=1,errors=0.5,latency=0.5,effort=0.5, budget 100)"
    )
    assert "dead routes (delete candidates): 1: GET /admin/dump" in out
    assert (tmp_path / "plan" / "migration.draft.toml").exists()
    code = cli.main(
        [
            "plan",
            "--db",
            str(db_path),
            "--source",
            str(APP_DIR),
            "--start",
            "2026-01-01T01:00:00Z",
            "--end",
            "2026-02-01",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[0] == (
        "scored 8 Flask routes over requests from 2026-01-01 01:00 UTC to 2026-02-01 00:00 UTC "
        "(weights traffic=1,errors=0.5,latency=0.5,effort=1, budget 20)"
    )
    con = db.connect(db_path, "read")
    # minute i of January is request i of each route: the first 60 of each are outside the window
    assert con.execute("SELECT requests FROM scores WHERE rule = '/trips/<int:trip_id>'").fetchone()[0] == 1000 - 60
    con.close()
    # the rollups count whole hours: a window bound inside an hour is refused, not rounded
    code = cli.main(["plan", "--db", str(db_path), "--start", "2026-01-01T00:30:00Z"])
    assert code == 2 and capsys.readouterr().err == (
        "strangler: error: start 2026-01-01 00:30:00+00:00 is not on a whole hour (UTC): the rollups count whole "
        "hours; use e.g. 2026-01-01T00:00Z\n"
    )
    code = cli.main(["plan", "--db", str(db_path), "--weights", "speed=2"])
    assert code == 2
    assert capsys.readouterr().err == (
        "strangler: error: weights: unknown key 'speed'; use traffic, errors, latency, effort\n"
    )


def test_errors_name_the_problem(con):
    with pytest.raises(StranglerError, match="no Flask routes in the routes table"):
        score.plan(con)
    _load(con, traffic=[])
    con.execute("DELETE FROM requests")
    with pytest.raises(StranglerError, match="^no attributed request: every route would look dead"):
        score.plan(con, source=APP_DIR)
    con.execute("DELETE FROM routes; DELETE FROM batches")
    _load(con)
    with pytest.raises(StranglerError, match="^no attributed request between 2030-01-01 00:00:00"):
        score.plan(con, source=APP_DIR, start="2030-01-01")
    with pytest.raises(StranglerError, match="window start 2026-02-01 00:00 is not before its end"):
        score.plan(con, source=APP_DIR, start="2026-02-01", end="2026-01-01")
    with pytest.raises(StranglerError, match="start 'soon' is not a date"):
        score.plan(con, source=APP_DIR, start="soon")
    with pytest.raises(StranglerError, match="budget must be a number of effort points above 0"):
        score.plan(con, source=APP_DIR, budget=0)
    con.execute("UPDATE requests SET route = NULL")
    with pytest.raises(StranglerError, match="run `strangler attribute` first"):
        score.plan(con, source=APP_DIR)


def test_notebook_03_priorities(db_path, tmp_path):
    import nbformat
    import papermill as pm

    from strangler import db

    con = db.connect(db_path)
    _load(con)
    score.plan(con, weights="errors=20", budget=100.0, source=APP_DIR)  # the notebook shows the stored plan
    con.close()
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "03.ipynb"
    pm.execute_notebook(
        str(root / "notebooks" / "03_priorities.ipynb"),
        str(out),
        cwd=str(root / "notebooks"),
        parameters={"db": str(db_path)},
        progress_bar=False,
        kernel_name="python3",
    )
    nb = nbformat.read(out, as_version=4)
    summary = next(c for c in nb.cells if "summary" in c.metadata.get("tags", []))
    assert [o["text"] for o in summary.outputs] == [
        "8 Flask routes scored: 3 batches proposed under 100 effort points; first: trips-1 (4 routes); "
        "1 dead route to delete; top route POST /trips\n"
    ]
    charts = [
        o for c in nb.cells for o in c.get("outputs", []) if "<Chart:" in str(o.get("data", {}).get("text/plain"))
    ]
    assert len(charts) == 4 and all("strangler-chart" in o["data"]["text/html"] for o in charts)
    con = db.connect(db_path, "read")
    assert con.execute("SELECT count(*), count(proposed_batch) FROM scores").fetchone() == (8, 7)
    con.close()


# --- on the demo --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(small_demo, tmp_path_factory):
    """The small demo ingested, inventoried (both apps), attributed, with its manifest stored."""
    from strangler import attribute, db, ingest, routes

    path = tmp_path_factory.mktemp("score_demo") / "demo.duckdb"
    con = db.connect(path)
    ingest.ingest(con, [str(small_demo / "logs")])
    routes.inventory_apps(con, ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"])
    manifest.store(con, manifest.load(small_demo / "migration.toml"))
    attribute.attribute(con)
    con.close()
    return path


DEMO_SOURCE = Path(__file__).resolve().parent.parent / "lib" / "strangler" / "demo"


def test_demo_plan_covers_every_live_route_once(demo_db, small_demo, tmp_path):
    from strangler import db
    from strangler.demo import traffic

    con = db.connect(demo_db)
    result = score.plan(con, source=DEMO_SOURCE, out=tmp_path)
    s = result.scores
    flask_routes = set(con.execute("SELECT method, rule FROM routes WHERE framework = 'flask'").fetchall())
    assert set(zip(s["method"], s["rule"])) == flask_routes and len(s) == len(flask_routes)
    assert s["note"].isna().all()  # every view was found in the source
    unused = set(
        con.execute("""
        SELECT method, rule FROM routes r WHERE framework = 'flask'
          AND NOT EXISTS (SELECT 1 FROM requests q WHERE q.route = r.rule AND q.route_framework = 'flask'
                          AND (q.method = r.method OR (q.method = 'HEAD' AND r.method = 'GET')))
          AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.method = r.method AND b.rule = r.rule)
    """).fetchall()
    )
    dead = set(zip(result.dead["method"], result.dead["rule"]))
    assert dead == unused and set(traffic.dead_routes()) <= dead
    # the draft manifest: the demo's batches unchanged, then every other live route exactly once, no dead one
    draft = manifest.load(tmp_path / "migration.draft.toml")
    listed = [r for b in draft for r in b.routes]
    assert len(listed) == len(set(listed)) and set(listed) == flask_routes - dead
    demo_batches = manifest.load(small_demo / "migration.toml")
    assert [(b.name, b.cutover, b.routes) for b in draft[: len(demo_batches)]] == [
        (b.name, b.cutover, tuple(sorted(b.routes, key=lambda r: (r[1], r[0])))) for b in demo_batches
    ]
    live = s[~s["dead"]]
    assert live["proposed_batch"].notna().all() and result.dead["proposed_batch"].isna().all()
    for b in traffic.BATCHES:
        rows = live.set_index(["method", "rule"]).loc[list(b.routes)]
        assert set(rows["proposed_batch"]) == {b.name} and set(rows["status"]) == {"migrated"}
    for name, members in live[live["status"] == "proposed"].groupby("proposed_batch"):
        assert members["affinity"].nunique() == 1 and (members["effort"].sum() <= 20 or len(members) == 1), name
    con.close()


def test_demo_weight_changes_move_the_expected_routes(demo_db):
    from strangler import db
    from strangler.demo import traffic

    con = db.connect(demo_db)
    incident = next(iter(next(b for b in traffic.BATCHES if b.p5xx_after).p5xx_after))  # 5xx injected here
    busiest = max(traffic.ROUTES, key=lambda r: r.weight)
    s = score.plan(con, source=DEMO_SOURCE, weights="errors=4").scores.set_index(["method", "rule"])
    ranks = {"errors": s["rank"]}
    for name, weights in {
        "traffic": "traffic=1,errors=0,latency=0,effort=0",
        "traffic+errors": "traffic=1,errors=1,latency=0,effort=0",
        "effort": "effort=100",
    }.items():
        ranks[name] = score.rerank(con, weights).set_index(["method", "rule"])["rank"]
    # traffic alone: the busiest route first, the incident route where its traffic puts it (5th of the catalogue)
    by_weight = sorted((r for r in traffic.ROUTES if r.weight), key=lambda r: -r.weight)
    assert [(r.method, r.rule) for r in by_weight].index(incident) + 1 == ranks["traffic"][incident] == 5
    assert ranks["traffic"][(busiest.method, busiest.rule)] == 1
    # errors weighed in: the route with the injected 5xx jumps to the top
    assert ranks["traffic+errors"][incident] == 1 and ranks["errors"][incident] == 1
    # effort dominating: the cheapest live route first
    live = s[~s["dead"]]
    assert ranks["effort"][live["effort"].idxmin()] == 1
    moves = score.rank_changes(con, {"traffic only": "traffic=1,errors=0,latency=0,effort=0"})
    assert moves.set_index("route").loc[f"{busiest.method} {busiest.rule}", "rank"] == 1
    con.close()


def test_largest_moves_keeps_each_routes_biggest_move():
    changes = pd.DataFrame(
        {
            "route": ["GET /a", "GET /a", "GET /b", "GET /c", "GET /c"],
            "variant": ["v1", "v2", "v1", "v1", "v2"],
            "base_rank": [1, 1, 2, 3, 3],
            "rank": [3, 2, 1, 3, 1],
            "move": [-2, -1, 1, 0, 2],
        }
    )
    assert score.largest_moves(changes, top=2).to_dict("records") == [
        {"route": "GET /a", "variant": "v1", "base_rank": 1, "rank": 3, "move": -2},
        {"route": "GET /c", "variant": "v2", "base_rank": 3, "rank": 1, "move": 2},
    ]


def test_coupling_by_kind_counts_uses_and_routes(con):
    con.execute(
        "CREATE TABLE coupling (method VARCHAR, rule VARCHAR, kind VARCHAR, detail VARCHAR, file VARCHAR, "
        "line INTEGER, via VARCHAR)"
    )
    con.executemany(
        "INSERT INTO coupling VALUES (?, ?, ?, '', 'app.py', ?, NULL)",
        [("GET", "/a", "g", 1), ("GET", "/a", "g", 2), ("POST", "/a", "g", 3), ("GET", "/b", "abort", 4)],
    )
    assert score.coupling_by_kind(con).to_dict("records") == [
        {"kind": "g", "uses": 3, "routes": 2},
        {"kind": "abort", "uses": 1, "routes": 1},
    ]


def test_rerank_needs_a_plan(con):
    with pytest.raises(StranglerError, match=r"^no scores table yet: run `strangler plan`"):
        score.rank_changes(con)


def test_stale_inventory_line_is_found_by_endpoint_name(con):
    stale = [r if r[1] != "/admin/dump" else ("GET", "/admin/dump", 3, "admin") for r in ROUTES]
    _load(con, routes=stale)
    score.plan(con, source=APP_DIR)
    assert con.execute("SELECT view_line, note, send_file FROM scores WHERE rule = '/admin/dump'").fetchone() == (
        77,
        f"{APP}:3 holds no view named dump(); used the def at line 77 (is the routes table older than the source?)",
        1,
    )
    assert con.execute("SELECT count(*) FROM scores WHERE note IS NOT NULL").fetchone()[0] == 1


def test_helpers_are_project_functions_only(con):
    """werkzeug.exceptions.abort is Flask coupling, not the project's exceptions.abort; helpers.check is a helper."""
    shadow = Path(__file__).resolve().parent / "apps" / "score_shadow"
    con.execute(
        "INSERT INTO routes (framework, method, rule, endpoint, file, line) VALUES "
        "('flask', 'GET', '/items/<int:item_id>', 'item', ?, 9)",
        [str(shadow / "views.py")],
    )
    con.execute(
        "INSERT INTO requests (method, path, status, route, source_id, line_no) "
        "VALUES ('GET', '/items/1', 200, '/items/<int:item_id>', 1, 1)"
    )
    score.plan(con, source=shadow)
    assert con.execute("SELECT helpers, cyclomatic, helper_cyclomatic FROM scores").fetchall() == [
        ("helpers.check", 2, 1)
    ]
    assert con.execute("SELECT kind, detail, file, line, via FROM coupling").fetchall() == [
        ("abort", "abort", str(shadow / "views.py"), 12, "view")
    ]
    con.execute(
        "UPDATE routes SET line = 1, endpoint = NULL"
    )  # no view found: no coupling rows, the table keeps its types
    score.plan(con, source=shadow)
    assert con.execute("SELECT column_name, column_type FROM (DESCRIBE coupling)").fetchall() == [
        ("method", "VARCHAR"),
        ("rule", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("detail", "VARCHAR"),
        ("file", "VARCHAR"),
        ("line", "INTEGER"),
        ("via", "VARCHAR"),
    ]
    assert con.execute("SELECT count(*) FROM coupling").fetchone()[0] == 0
