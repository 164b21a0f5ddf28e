"""One owner per routing concept: where two modules decide the same thing, they must decide it the same way.

Each test here compares two readers of one concept (a route's file and line, the template key, an app spec,
HEAD counting for GET) on inputs where they disagreed before the concept had a single owner.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from strangler import _inventory, attribute, manifest, router, routes, score
from strangler.errors import StranglerError

APPS = Path(__file__).resolve().parent / "apps"
SCORE_APP = APPS / "score_app" / "app.py"
SCORE_SERVICES = APPS / "score_app" / "services.py"


def _requests(con, rows: list[tuple[str, str, str, int]]) -> None:
    """(method, path, route, count) attributed to Flask rules."""
    for method, path, route, n in rows:
        con.execute(
            "INSERT INTO requests (ts, method, path, status, duration_ms, route, route_framework, match, source_id, "
            "line_no) SELECT TIMESTAMPTZ '2026-01-02 00:00:00+00' + to_seconds(i), ?, ?, 200, 5, ?, 'flask', "
            "'matched', 1, i + 1 FROM range(?) t(i)",
            [method, path, route, n],
        )


def test_priorities_and_endpoints_name_the_same_file_for_a_rule_two_apps_hold(con):
    """`GET /health` in two apps: the priorities report takes file and line from the same row as the endpoints
    and dead-routes reports (exact inventory, then app name, then position), not the alphabetically first file."""
    con.execute(
        "INSERT INTO routes (framework, method, rule, endpoint, file, line, end_line, blueprint, inventory, app, position) VALUES ('flask', 'GET', '/health', 'health_z', ?, 96, 97, NULL, 'app', 'z:app', 1), "
        "('flask', 'GET', '/health', 'health', ?, 9, 12, NULL, 'app', 'a:app', 1), "
        "('flask', 'GET', '/other', 'other', ?, 96, 97, NULL, 'app', 'a:app', 2)",
        [str(SCORE_APP), str(SCORE_SERVICES), str(SCORE_APP)],
    )
    _requests(con, [("GET", "/health", "/health", 3)])
    chosen = con.execute(f"SELECT endpoint, file, line FROM ({attribute.ROUTE_PER_RULE}) WHERE rule = '/health'")
    assert chosen.fetchall() == [("health", str(SCORE_SERVICES), 9)]
    score.plan(con, source=SCORE_APP.parent)
    assert con.execute("SELECT endpoint, file, line FROM scores WHERE rule = '/health'").fetchall() == [
        ("health", str(SCORE_SERVICES), 9)
    ]
    assert attribute.dead_routes(con)[["rule", "endpoint", "file", "line"]].values.tolist() == [
        ["/other", "other", str(SCORE_APP), 96]
    ]


def _random_rules(n: int, seed: int) -> list[str]:
    """Rules in both syntaxes, with and without trailing slashes, parameters inside segments and converters."""
    rng = random.Random(seed)
    params = [
        "<x>",
        "<int:id>",
        "<string(length=2):cc>",
        "<path:rest>",
        "{x}",
        "{id:int}",
        "{p:path}",
        "a<x>b",
        "{x}.json",
    ]
    literals = ["trips", "v1", "a.b", "2024", "x-y", "", "_"]
    rules = ["/", "//", "/trips/", "/trips", "/<int:a>/", "/{a}/"]
    for _ in range(n):
        parts = [rng.choice(params) if rng.random() < 0.4 else rng.choice(literals) for _ in range(rng.randint(1, 4))]
        rules.append("/" + "/".join(parts) + ("/" if rng.random() < 0.3 else ""))
    return rules


def test_template_key_sql_and_python_agree(con):
    """routes.TEMPLATE_SQL (pairs) and the router's template key give the same key for every rule."""
    rules = _random_rules(2000, seed=12)
    got = con.execute(f"SELECT {routes.TEMPLATE_SQL} FROM unnest(?::VARCHAR[]) t(rule)", [rules]).fetchall()
    assert [key for (key,) in got] == [router.template_key(r) for r in rules]
    assert router.template_key("/trips/") == "/trips/"  # a trailing slash is part of the URL


def test_pairs_and_router_agree_on_a_trailing_slash_twin(con):
    """Flask `/trips/` and FastAPI `/trips` answer different URLs: neither pairs() nor the router calls them twins."""
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/trips")
    def trips() -> list:
        return []

    @api.get("/users/{user_id}")
    def user(user_id: int) -> int:
        return user_id

    routes.store(
        con,
        "legacy:app",
        "app",
        [
            {"framework": "flask", "method": "GET", "rule": "/trips/", "endpoint": "list", "position": 1},
            {"framework": "flask", "method": "GET", "rule": "/users/<int:uid>", "endpoint": "user", "position": 2},
        ],
    )
    routes.store(
        con,
        "new:app",
        "app",
        [
            {"framework": "fastapi", "method": "GET", "rule": "/trips", "endpoint": "trips", "position": 1},
            {"framework": "fastapi", "method": "GET", "rule": "/users/{user_id}", "endpoint": "user", "position": 2},
        ],
    )
    paired = routes.pairs(con).dropna(subset=["flask_rule", "fastapi_rule"])
    assert paired[["flask_rule", "fastapi_rule"]].values.tolist() == [["/users/<int:uid>", "/users/{user_id}"]]
    batches = manifest.parse(
        '[[batch]]\nname = "b"\ncutover = 2026-01-05T09:00:00Z\nroutes = ["GET /trips/", "GET /users/<int:uid>"]\n'
    )
    _, missing = router.dispatch_table(api, batches)
    assert missing == [("b", "GET", "/trips/")]


def test_app_specs_are_parsed_once(monkeypatch):
    """The router loads every spec the inventory script accepts, the same way."""
    monkeypatch.syspath_prepend(str(APPS / "specs"))
    specs = {
        "specapp:app": "app",
        "specapp:holder.inner": "inner",
        "specapp:create_app()": "factory",
        "specapp:create_app('named')": "named",
        "specapp": "app",
        "factoryonly": "create_app",
    }
    assert {spec: _inventory.load(spec).name for spec in specs} == specs
    assert {spec: router.load_app(spec).name for spec in specs} == specs
    with pytest.raises(StranglerError, match=r"^app 'specapp:nothing': module 'specapp' has no attribute 'nothing'$"):
        router.load_app("specapp:nothing")
    with pytest.raises(StranglerError, match=r"^cannot import 'no_such_module' for app 'no_such_module:app': "):
        router.load_app("no_such_module:app")


def test_head_counts_for_get_the_same_in_endpoints_and_priorities(con):
    """A HEAD request counts for the GET rule unless the rule declares HEAD: endpoints and scores agree."""
    con.execute(
        "INSERT INTO routes (framework, method, rule, endpoint, file, line, end_line, blueprint, inventory, app, position) VALUES ('flask', 'GET', '/health', 'health', ?, 96, 97, NULL, 'app', 'a:app', 1), "
        "('flask', 'GET', '/h2', 'health', ?, 96, 97, NULL, 'app', 'a:app', 2), "
        "('flask', 'HEAD', '/h2', 'health', ?, 96, 97, NULL, 'app', 'a:app', 3)",
        [str(SCORE_APP)] * 3,
    )
    _requests(con, [("HEAD", "/health", "/health", 3), ("GET", "/health", "/health", 2)])
    _requests(con, [("HEAD", "/h2", "/h2", 4), ("GET", "/h2", "/h2", 1)])
    table = attribute.endpoints(con)
    assert sorted(table[["method", "rule", "requests"]].values.tolist()) == [
        ["GET", "/h2", 1],
        ["GET", "/health", 5],
        ["HEAD", "/h2", 4],
    ]
    score.plan(con, source=SCORE_APP.parent)
    assert con.execute("SELECT method, rule, requests FROM scores ORDER BY ALL").fetchall() == [
        ("GET", "/h2", 1),
        ("GET", "/health", 5),
        ("HEAD", "/h2", 4),
    ]
