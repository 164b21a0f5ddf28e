"""Attribution: requests.route equals what Werkzeug's MapAdapter.match and Starlette's router pick."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from strangler import attribute, cli, routes
from strangler.errors import StranglerError

APPS = Path(__file__).parent / "apps"
FLASK_DIR, FASTAPI_DIR = APPS / "travel_flask", APPS / "travel_fastapi"
sys.path[:0] = [str(APPS / "routes_common"), str(FLASK_DIR), str(FASTAPI_DIR)]

from pathgen import paths  # noqa: E402


def load_requests(con, pairs: list[tuple[str, str]], **columns) -> None:
    frame = pd.DataFrame(pairs, columns=["method", "path"])
    frame["source_id"] = 1
    frame["line_no"] = range(1, len(frame) + 1)
    for name, values in columns.items():
        frame[name] = values
    con.execute("INSERT INTO requests BY NAME SELECT * FROM frame")


def werkzeug_answer(adapter, method: str, path: str, prefix: str = "") -> str:
    """The rule Werkzeug picks, or what it raises instead, as attribution reports it."""
    try:
        return prefix + adapter.match(unquote(path), method=method, return_rule=True)[0].rule
    except RequestRedirect:
        return "redirect"
    except MethodNotAllowed:
        return "method_not_allowed"
    except NotFound:
        return "unmatched"


def attributed(con) -> list[str]:
    return [r for (r,) in con.execute("SELECT coalesce(route, match) FROM requests ORDER BY line_no").fetchall()]


@pytest.fixture(scope="module")
def flask_app():
    from travel import create_app

    return create_app()


def test_flask_attribution_equals_werkzeug_on_100k_random_paths(con, flask_app):
    routes.inventory_apps(con, ["travel:create_app()"], cwd=FLASK_DIR)
    templates = [r.rule for r in flask_app.url_map.iter_rules()]
    sample = paths(100_000, seed=11, templates=templates)
    load_requests(con, sample)
    result = attribute.attribute(con)
    adapter = flask_app.url_map.bind("localhost")
    expected = [werkzeug_answer(adapter, m, p) for m, p in sample]
    got = attributed(con)
    mismatches = [(m, p, g, e) for (m, p), g, e in zip(sample, got, expected) if g != e][:10]
    assert mismatches == []
    # the sample exercises every outcome and most rules, and shapes really collapse
    assert {k: v > 0 for k, v in result.by_match.items()} == {
        "matched": True,
        "method_not_allowed": True,
        "redirect": True,
        "unmatched": True,
    }
    assert {e for e in expected if e.startswith("/")} == set(templates)
    assert result.requests == 100_000 and result.shapes < 90_000


def test_fastapi_attribution_equals_starlette_router(con):
    from travelapi.main import app, legacy

    routes.inventory_apps(con, ["travelapi.main:app"], cwd=FASTAPI_DIR)
    full_path = {}
    from fastapi.routing import iter_route_contexts

    for ctx in iter_route_contexts(app.routes):
        full_path[id(ctx.original_route)] = ctx.path
    templates = [p for p in full_path.values() if p] + ["/legacy/old/<int:item>"]
    sample = [
        (m, p) for m, p in paths(2_500, seed=5, templates=templates) if p.rstrip("/") != "/legacy"
    ]  # a mount's bare prefix: Starlette redirects, strangler says unmatched
    load_requests(con, sample)
    attribute.attribute(con)
    legacy_adapter = legacy.url_map.bind("localhost")

    async def starlette_answer(method: str, path: str) -> str:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"localhost")],
            "server": ("localhost", 80),
            "client": ("127.0.0.1", 1),
        }
        status = {}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]

        await app(scope, receive, send)
        if scope.get("root_path") == "/legacy":
            return werkzeug_answer(legacy_adapter, method, path[len("/legacy") :], prefix="/legacy")
        code, route = status["code"], scope.get("route")
        if code == 405:
            return "method_not_allowed"
        if route is not None:
            return full_path[id(route)]
        return {404: "unmatched", 307: "redirect"}.get(code, unquote(path))  # FastAPI's docs pages

    async def answers() -> list[str]:
        return [await starlette_answer(m, p) for m, p in sample]

    expected = asyncio.run(answers())
    got = attributed(con)
    mismatches = [(m, p, g, e) for (m, p), g, e in zip(sample, got, expected) if g != e][:10]
    assert mismatches == []
    assert "/v2/trips/{slug}" in expected and "/v2/trips/me" not in expected  # registration order decides


def test_flask_rule_wins_over_fastapi_twin(con):
    routes.inventory_apps(con, ["travel:create_app()"], cwd=FLASK_DIR)
    routes.inventory_apps(con, ["travelapi.main:app"], cwd=FASTAPI_DIR)
    load_requests(
        con,
        [
            ("GET", "/health"),
            ("POST", "/ping"),
            ("GET", "/v2/trips/7"),
            ("POST", "/health"),
            ("GET", "/trips"),
            ("DELETE", "/v2/trips"),
            (None, "/health"),
            ("GET", None),
        ],
    )
    attribute.attribute(con)
    rows = con.execute(
        "SELECT method, r.path, s.shape, route, route_framework, match FROM requests r "
        "LEFT JOIN path_shapes s ON s.path = r.path AND r.method IS NOT NULL ORDER BY line_no"
    ).fetchall()
    assert rows == [
        ("GET", "/health", "/health", "/health", "flask", "matched"),
        ("POST", "/ping", "/ping", "/ping", "fastapi", "matched"),
        # no specific Flask rule, but the Flask catch-all matches, and a Flask rule wins over a FastAPI one
        ("GET", "/v2/trips/7", "/v2/trips/{n}", "/<path:anything>", "flask", "matched"),
        ("POST", "/health", "/health", None, None, "method_not_allowed"),
        ("GET", "/trips", "/trips", None, None, "redirect"),
        ("DELETE", "/v2/trips", "/v2/trips", None, None, "method_not_allowed"),
        (None, "/health", None, None, None, "unmatched"),
        ("GET", None, None, None, None, "unmatched"),
    ]


def test_shapes_collapse_only_where_no_rule_tells_members_apart(con):
    routes.inventory_apps(con, ["travel:create_app()"], cwd=FLASK_DIR)
    uid = "0b4e7a0e-5bb3-4c7c-8f5a-2d9e6c1f3a11"
    load_requests(
        con,
        [
            ("GET", "/trips/12"),
            ("GET", "/trips/12/photos/3"),
            ("GET", f"/admin/users/{uid}"),
            ("GET", "/codes/1234"),
            ("GET", "/2024/summary"),
            ("GET", "/notes/by-hex/deadbeef42"),
            ("GET", "/admin/users/by-region/12"),
            ("GET", "/x/{n}"),
            ("GET", "/x/7"),
            ("GET", "/files/9/raw"),
            ("GET", "relative/5"),
        ],
    )
    attribute.attribute(con)
    rows = con.execute(
        "SELECT r.path, s.shape, route FROM requests r LEFT JOIN path_shapes s USING (path) ORDER BY line_no"
    ).fetchall()
    assert rows == [
        ("/trips/12", "/trips/{n}", "/trips/<int:trip_id>"),  # int(min=1) guards /trips/*/photos/* only
        ("/trips/12/photos/3", "/trips/12/photos/{n}", "/trips/<int(min=1):trip_id>/photos/<int:n>"),
        (f"/admin/users/{uid}", "/admin/users/" + uid, "/admin/users/<uuid:user_id>"),  # string(length=2) here
        ("/codes/1234", "/codes/1234", "/codes/<int(fixed_digits=4):code>"),
        ("/2024/summary", "/2024/summary", "/2024/summary"),
        ("/notes/by-hex/deadbeef42", "/notes/by-hex/{hex}", "/notes/by-hex/<note_hex>"),
        ("/admin/users/by-region/12", "/admin/users/by-region/12", "/admin/users/by-region/<any(eu, us, '12'):region>"),
        ("/x/{n}", "/x/%7Bn}", "/<path:anything>"),
        ("/x/7", "/x/{n}", "/<path:anything>"),
        ("/files/9/raw", "/files/{n}/raw", "/files/<path:name>/raw"),
        ("relative/5", "relative/5", "/<path:anything>"),  # Werkzeug reads it as /relative/5
    ]


def test_guards_keep_classes_whole_where_a_rule_tells_members_apart():
    rules = [
        ("flask", "/codes/<int(fixed_digits=4):code>"),
        ("flask", "/<path:p>/x/<int(min=1):n>"),
        ("fastapi", "/v2/{a}/2024"),
        ("flask", "/u/<any(eu, '0a1b2c3d4e'):r>"),
        ("flask", "/d/<int:a>-<b>"),
        ("flask", "/plain/<int:id>/<uuid:u>/<float:f>/<path:rest>"),
    ]
    G = attribute.Guard
    assert attribute.guards(rules) == [
        G("hex", 3, False, r"(?:^/u/[^/]*/?$)"),
        G("n", 3, False, r"(?:^/codes/[^/]*/?$)"),
        G("n", 4, False, r"(?:^/v2/[^/]*/[^/]*/?$)"),
        G("n", 4, True, r"(?:^/.*/x/[^/]*/?$)"),
        G("uuid", 3, False, r"(?:^/d/[^/]*/?$)"),
    ]


def test_endpoint_views(con):
    routes.inventory_apps(con, ["travel:create_app()"], cwd=FLASK_DIR)
    t0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    reqs = [
        ("GET", "/trips/1", 0, 200, 10.0),
        ("GET", "/trips/2", 0, 200, 20.0),
        ("HEAD", "/trips/3", 0, 200, 30.0),
        ("GET", "/trips/4", 2, 500, 40.0),
        ("POST", "/trips/", 3, 404, 5.0),
        ("POST", "/health", 4, 405, 1.0),
        ("POST", "/health", 5, 405, 1.0),
        ("GET", "/trips", 6, 308, 1.0),
        ("GET", "/trips/5", 3600, 200, 1.0),
    ]
    load_requests(
        con,
        [(m, p) for m, p, *_ in reqs],
        ts=[t0 + dt.timedelta(seconds=r[2]) for r in reqs],
        status=[r[3] for r in reqs],
        duration_ms=[r[4] for r in reqs],
    )
    attribute.attribute(con)
    end = "2026-03-01T13:00:00Z"  # the rollups count whole hours: the request at 13:00 is outside
    with pytest.raises(StranglerError, match="not on a whole hour"):
        attribute.endpoints(con, end="2026-03-01T12:30:00Z")
    table = attribute.endpoints(con, end=end)
    top = table.head(2).drop(columns=["first_seen", "last_seen"]).to_dict("records")
    assert top == [
        {
            "framework": "flask",
            "method": "GET",
            "rule": "/trips/<int:trip_id>",
            "endpoint": "trips.get_trip",
            "requests": 4,
            "share": 0.5,
            "peak_rps": 3,
            "rate_4xx": 0.0,
            "rate_5xx": 0.25,
            # quantiles from the 1 % latency histogram: within 1 % of quantile_cont (25, 38.5, 39.7)
            "p50_ms": pytest.approx(25.0, rel=0.01),
            "p95_ms": pytest.approx(38.5, rel=0.01),
            "p99_ms": pytest.approx(39.7, rel=0.01),
        },
        {
            "framework": "flask",
            "method": "POST",
            "rule": "/trips/",
            "endpoint": "trips.create_trip",
            "requests": 1,
            "share": 0.125,
            "peak_rps": 1,
            "rate_4xx": 1.0,
            "rate_5xx": 0.0,
            "p50_ms": pytest.approx(5.0, rel=0.01),
            "p95_ms": pytest.approx(5.0, rel=0.01),
            "p99_ms": pytest.approx(5.0, rel=0.01),
        },
    ]
    assert len(table) == 33 and table["requests"].iloc[2:].sum() == 0
    dead = attribute.dead_routes(con, end=end)
    # Flask's own /static/<path:filename> has no request either, but is never a delete candidate
    assert len(dead) == 30 and ("GET", "/health") in set(zip(dead.method, dead.rule))
    assert "/static/<path:filename>" not in set(dead.rule)
    assert attribute.unmatched(con, limit=5, end=end).to_dict("records") == [
        {
            "shape": "/health",
            "match": "method_not_allowed",
            "requests": 2,
            "methods": "POST",
            "statuses": "405",
            "example": "/health",
        },
        {
            "shape": "/trips",
            "match": "redirect",
            "requests": 1,
            "methods": "GET",
            "statuses": "308",
            "example": "/trips",
        },
    ]
    assert attribute.pareto(con, end=end).to_dict("records") == [
        {
            "rank": 1,
            "label": "GET /trips/<int:trip_id>",
            "framework": "flask",
            "requests": 4,
            "share": 0.5,
            "cumulative_share": 0.5,
        },
        {
            "rank": 2,
            "label": "POST /trips/",
            "framework": "flask",
            "requests": 1,
            "share": 0.125,
            "cumulative_share": 0.625,
        },
    ]


def test_cli_attribute_prints_summary(db_path, capsys):
    from strangler import db

    con = db.connect(db_path)
    routes.inventory_apps(con, ["travel:create_app()"], cwd=FLASK_DIR)
    load_requests(con, [("GET", "/health"), ("POST", "/health"), ("GET", "/trips")])
    con.close()
    assert cli.main(["attribute", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("attributed 3 requests (3 distinct method+shape) against 33 rules in ")
    assert out[1:] == [
        "  matched                        1   33.3 %",
        "  method_not_allowed             1   33.3 %",
        "  redirect                       1   33.3 %",
        "  unmatched                      0    0.0 %",
        "  matched a flask     rule        1",
    ]


DEMO_APPS = ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"]


@pytest.fixture
def demo_db(small_demo, db_path):
    """The 50 k-request demo ingested, both demo apps inventoried and every request attributed."""
    from strangler import db, ingest

    con = db.connect(db_path)
    ingest.ingest(con, [str(small_demo / "logs")])
    routes.inventory_apps(con, DEMO_APPS)
    attribute.attribute(con)
    con.close()
    return db_path


def test_demo_attribution_finds_the_generated_routes_and_the_dead_ones(demo_db, truth):
    from strangler import db

    con = db.connect(demo_db)
    dead = attribute.dead_routes(con)
    assert sorted(zip(dead.method, dead.rule)) == sorted((d["method"], d["rule"]) for d in truth["dead_routes"])
    assert set(dead.framework) == {"flask"}
    # every generated route's share of traffic is measured within sampling error (50 k requests); the catch-all
    # /<path:anything> also takes the bots' GETs of paths the app does not have, as Werkzeug would
    routes = [r for r in truth["routes"] if r["rule"] != "/<path:anything>"]
    table = attribute.endpoints(con).set_index(["method", "rule"])
    flask = table[table["framework"] == "flask"]
    cov = attribute.coverage(con)
    far = [
        (r["method"], r["rule"], r["share"], flask.loc[(r["method"], r["rule"]), "requests"] / cov["requests"])
        for r in routes
        if abs(flask.loc[(r["method"], r["rule"]), "requests"] / cov["requests"] - r["share"]) > 0.006
    ]
    assert far == []
    assert cov["pending"] == 0 and cov["matched"] / cov["requests"] > 0.98


def test_dashboard_pairs_batch_routes_with_their_fastapi_twins(demo_db, truth):
    from strangler import db

    con = db.connect(demo_db)
    table = attribute.endpoints_with_twins(con)
    twins = sorted(
        table.dropna(subset=["fastapi_twin"])[["method", "rule", "fastapi_twin"]].itertuples(index=False, name=None)
    )
    assert twins == [
        ("GET", "/feed", "/feed"),
        ("GET", "/feed/popular", "/feed/popular"),
        ("GET", "/search", "/search"),
        ("GET", "/trips", "/trips"),
        ("GET", "/trips/<int:trip_id>", "/trips/{trip_id}"),
        ("GET", "/trips/<int:trip_id>/steps", "/trips/{trip_id}/steps"),
        ("GET", "/users/<int:user_id>", "/users/{user_id}"),
    ]
    assert sorted((m, r) for m, r, _ in twins) == sorted(
        (x["method"], x["rule"]) for b in truth["batches"] for x in b["routes"]
    )
    assert attribute.summary(con) == (
        "55 routes (44 Flask, 11 FastAPI), 41 with traffic and 3 dead; 99.8% of 50,000 requests matched a route, "
        "108 were 405s; the 10 busiest routes carry 80%"
    )
    con.close()


def test_notebook_02_endpoints(demo_db, tmp_path):
    import nbformat
    import papermill as pm

    from strangler import db, report, rollup

    con = db.connect(demo_db, "write")  # the notebook only reads: the other app's static inventory goes in first
    routes.inventory_source(con, FLASK_DIR)
    attribute.attribute(con)
    rollup.build(con)  # as `strangler attribute` does: a read-only notebook cannot refresh the rollups
    con.close()
    root = Path(__file__).resolve().parent.parent / "notebooks"
    out = tmp_path / "02.ipynb"
    pm.execute_notebook(
        str(root / "02_endpoints.ipynb"),
        str(out),
        kernel_name=report.kernel_name(),
        parameters={"db": str(demo_db)},
        progress_bar=False,
        cwd=str(root),
    )
    nb = nbformat.read(out, as_version=4)
    assert "summary" in nb.cells[-1].metadata.get("tags", [])
    summary = "".join(o["text"] for o in nb.cells[-1].outputs if o["output_type"] == "stream")
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # the static inventory of another app was added: its 27 routes the demo lacks are dead (its static route is
    # not), and the demo's 3
    assert summary == (
        "83 routes (72 Flask, 11 FastAPI), 41 with traffic and 30 dead; 99.8% of 50,000 requests "
        "matched a route, 108 were 405s; the 10 busiest routes carry 80%\n"
    )
    assert html.count('class="strangler-chart"') == 2 and html.count("strangler-table-") >= 4
    assert "/wp-login.php" in html and "<script>alert" not in html


def test_without_routes_every_request_is_unmatched_and_the_views_are_empty(con):
    load_requests(con, [("GET", "/x"), ("POST", "/x/1")])
    result = attribute.attribute(con)
    assert (result.rules, result.by_match) == (0, {"unmatched": 2})
    assert str(result).splitlines()[-1] == "  no routes: run `strangler routes` first"
    assert attribute.endpoints(con).empty and attribute.dead_routes(con).empty and attribute.pareto(con).empty
    assert attribute.unmatched(con).to_dict("records") == [
        {"shape": "/x", "match": "unmatched", "requests": 1, "methods": "GET", "statuses": None, "example": "/x"},
        {
            "shape": "/x/{n}",
            "match": "unmatched",
            "requests": 1,
            "methods": "POST",
            "statuses": None,
            "example": "/x/1",
        },
    ]
    assert attribute.coverage(con) == {
        "requests": 2,
        "matched": 0,
        "method_not_allowed": 0,
        "redirect": 0,
        "unmatched": 2,
        "pending": 0,
    }


def test_dead_route_takes_endpoint_file_and_line_from_one_app(con):
    """A rule that two apps hold: its endpoint, file and line all come from the same row (the first app)."""
    con.execute(
        "INSERT INTO routes (framework, method, rule, endpoint, file, line, end_line, blueprint, inventory, app, position) VALUES ('flask', 'GET', '/x', 'z_x', '/z.py', 1, 2, NULL, 'app', 'z:app', 1), "
        "('flask', 'GET', '/x', 'a_x', '/a.py', 7, 8, NULL, 'app', 'a:app', 1)"
    )
    assert attribute.dead_routes(con).values.tolist() == [["flask", "GET", "/x", "a_x", "/a.py", 7]]
