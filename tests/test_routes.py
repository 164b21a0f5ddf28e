"""Route inventory: exact (the app imported in its own interpreter) and static (the source read, nothing run)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from strangler import cli, routes
from strangler.errors import StranglerError

APPS = Path(__file__).parent / "apps"
FLASK_DIR, FASTAPI_DIR, MISC = APPS / "travel_flask", APPS / "travel_fastapi", APPS / "routes_misc"
FLASK_SPEC, FASTAPI_SPEC = "travel:create_app()", "travelapi.main:app"


def table(con, app: str) -> list[tuple]:
    """The routes of one app, file shown relative to the test apps (framework files as 'framework')."""
    rows = con.execute(
        """SELECT framework, method, rule, endpoint, file, line, end_line, blueprint, inventory
                          FROM routes WHERE app = ? ORDER BY position""",
        [app],
    ).fetchall()
    out = []
    for fw, method, rule, endpoint, file, line, end_line, blueprint, inventory in rows:
        inside = file is not None and str(APPS) in file
        out.append(
            (
                fw,
                method,
                rule,
                endpoint,
                Path(file).relative_to(APPS).as_posix() if inside else None,
                line if inside else None,
                end_line if inside else None,
                blueprint,
                inventory,
            )
        )
    return out


FLASK_ROUTES = [
    ("flask", "GET", "/static/<path:filename>", "static", None, None, None, None),
    ("flask", "GET", "/trips/", "trips.list_trips", "travel_flask/travel/views.py", 6, 8, "trips"),
    ("flask", "POST", "/trips/", "trips.create_trip", "travel_flask/travel/views.py", 11, 13, "trips"),
    ("flask", "GET", "/trips/<int:trip_id>", "trips.get_trip", "travel_flask/travel/views.py", 16, 18, "trips"),
    ("flask", "DELETE", "/trips/<int:trip_id>", "trips.change_trip", "travel_flask/travel/views.py", 21, 23, "trips"),
    ("flask", "PUT", "/trips/<int:trip_id>", "trips.change_trip", "travel_flask/travel/views.py", 21, 23, "trips"),
    ("flask", "GET", "/trips/me", "trips.my_trips", "travel_flask/travel/views.py", 26, 28, "trips"),
    ("flask", "GET", "/trips/<slug>", "trips.trip_by_slug", "travel_flask/travel/views.py", 31, 33, "trips"),
    (
        "flask",
        "GET",
        "/trips/<int(min=1):trip_id>/photos/<int:n>",
        "trips.trip_photo",
        "travel_flask/travel/views.py",
        36,
        38,
        "trips",
    ),
    (
        "flask",
        "GET",
        "/trips/<int:year>-<int:month>",
        "trips.trips_in_month",
        "travel_flask/travel/views.py",
        41,
        43,
        "trips",
    ),
    ("flask", "GET", "/admin/", "admin.dashboard", "travel_flask/travel/admin.py", 23, 25, "admin"),
    (
        "flask",
        "GET",
        "/admin/users/<uuid:user_id>",
        "admin.users.get_user",
        "travel_flask/travel/admin.py",
        8,
        10,
        "admin.users",
    ),
    (
        "flask",
        "GET",
        "/admin/users/<string(length=2):country>",
        "admin.users.users_in_country",
        "travel_flask/travel/admin.py",
        13,
        15,
        "admin.users",
    ),
    (
        "flask",
        "GET",
        "/admin/users/by-region/<any(eu, us, '12'):region>",
        "admin.users.users_in_region",
        "travel_flask/travel/admin.py",
        18,
        20,
        "admin.users",
    ),
    ("flask", "GET", "/api/reports/<int:year>", "reports.yearly", "travel_flask/travel/admin.py", 28, 30, "reports"),
    ("flask", "DELETE", "/places/<int:place_id>", "place", "travel_flask/travel/places.py", 13, 14, None),
    ("flask", "GET", "/places/<int:place_id>", "place", "travel_flask/travel/places.py", 5, 6, None),
    ("flask", "PATCH", "/places/<int:place_id>", "place", "travel_flask/travel/places.py", 10, 11, None),
    ("flask", "GET", "/notes/<int:note_id>", "note", "travel_flask/travel/notes.py", 5, 6, None),
    ("flask", "PUT", "/notes/<int:note_id>", "note", "travel_flask/travel/notes.py", 8, 9, None),
    ("flask", "GET", "/notes/by-hex/<note_hex>", "note", "travel_flask/travel/notes.py", 5, 6, None),
    ("flask", "PUT", "/notes/by-hex/<note_hex>", "note", "travel_flask/travel/notes.py", 8, 9, None),
    ("flask", "GET", "/notes", "notes", "travel_flask/travel/notes.py", 13, 14, None),
    ("flask", "POST", "/notes", "notes", "travel_flask/travel/notes.py", 16, 17, None),
    ("flask", "GET", "/health", "health", "travel_flask/travel/__init__.py", 24, 26, None),
    ("flask", "GET", "/2024/summary", "summary_2024", "travel_flask/travel/__init__.py", 28, 30, None),
    ("flask", "GET", "/v<int:version>/status", "versioned_status", "travel_flask/travel/__init__.py", 32, 34, None),
    ("flask", "GET", "/prices/<float:amount>", "price", "travel_flask/travel/__init__.py", 36, 38, None),
    ("flask", "OPTIONS", "/prices/<float:amount>", "price", "travel_flask/travel/__init__.py", 36, 38, None),
    ("flask", "GET", "/codes/<int(fixed_digits=4):code>", "code", "travel_flask/travel/__init__.py", 40, 42, None),
    ("flask", "GET", "/files/<path:name>/raw", "raw_file", "travel_flask/travel/__init__.py", 44, 46, None),
    ("flask", "GET", "/files/<name>", "file_info", "travel_flask/travel/__init__.py", 48, 50, None),
    ("flask", "GET", "/<path:anything>", "catch_all", "travel_flask/travel/__init__.py", 52, 54, None),
]

FASTAPI_ROUTES = [
    ("fastapi", "GET", "/openapi.json", "openapi", None, None, None, None),
    ("fastapi", "GET", "/docs", "swagger_ui_html", None, None, None, None),
    ("fastapi", "GET", "/docs/oauth2-redirect", "swagger_ui_redirect", None, None, None, None),
    ("fastapi", "GET", "/redoc", "redoc_html", None, None, None, None),
    ("fastapi", "GET", "/v2/trips", "list_trips", "travel_fastapi/travelapi/trips.py", 8, 10, "trips"),
    ("fastapi", "POST", "/v2/trips", "create_trip", "travel_fastapi/travelapi/trips.py", 13, 15, "trips"),
    ("fastapi", "GET", "/v2/trips/{trip_id:int}", "get_trip", "travel_fastapi/travelapi/trips.py", 18, 20, "trips"),
    ("fastapi", "PUT", "/v2/trips/{trip_id:int}", "put_trip", "travel_fastapi/travelapi/trips.py", 23, 25, "trips"),
    ("fastapi", "GET", "/v2/trips/{slug}", "trip_by_slug", "travel_fastapi/travelapi/trips.py", 28, 30, "trips"),
    ("fastapi", "GET", "/v2/trips/me", "my_trips", "travel_fastapi/travelapi/trips.py", 33, 35, "trips"),
    (
        "fastapi",
        "GET",
        "/v2/trips/{trip_id:int}/photos/{n:int}",
        "get_photo",
        "travel_fastapi/travelapi/photos.py",
        6,
        8,
        "trips",
    ),
    (
        "fastapi",
        "DELETE",
        "/v2/trips/{trip_id:int}/photos/{n:int}",
        "delete_photo",
        "travel_fastapi/travelapi/photos.py",
        11,
        13,
        "trips",
    ),
    ("fastapi", "GET", "/users/{user_id:uuid}", "get_user", "travel_fastapi/travelapi/users.py", 8, 10, "users"),
    ("fastapi", "PATCH", "/users/{user_id:uuid}", "patch_user", "travel_fastapi/travelapi/users.py", 13, 15, "users"),
    ("fastapi", "GET", "/ping", "ping", "travel_fastapi/travelapi/main.py", 22, 24, None),
    ("fastapi", "POST", "/ping", "ping", "travel_fastapi/travelapi/main.py", 22, 24, None),
    ("fastapi", "GET", "/health", "health", "travel_fastapi/travelapi/main.py", 27, 28, None),
    ("flask", "GET", "/legacy/static/<path:filename>", "static", None, None, None, None),
    ("flask", "GET", "/legacy/old/<int:item>", "old_item", "travel_fastapi/travelapi/main.py", 17, 19, None),
]


def test_exact_inventory_of_flask_app(con):
    result = routes.inventory_apps(con, [FLASK_SPEC], cwd=FLASK_DIR)
    assert table(con, FLASK_SPEC) == [r + ("app",) for r in FLASK_ROUTES]
    assert result.counts == {(FLASK_SPEC, "flask"): 33}


def test_exact_inventory_of_fastapi_app_with_lazy_routers_and_a_mounted_flask_app(con):
    result = routes.inventory_apps(con, [FASTAPI_SPEC], cwd=FASTAPI_DIR)
    assert table(con, FASTAPI_SPEC) == [r + ("app",) for r in FASTAPI_ROUTES]
    assert str(result).splitlines() == [
        f"   17 fastapi  routes from {FASTAPI_SPEC}",
        f"    2 flask    routes from {FASTAPI_SPEC}",
    ]


@pytest.mark.parametrize(
    "directory, spec, expected", [(FLASK_DIR, FLASK_SPEC, FLASK_ROUTES), (FASTAPI_DIR, FASTAPI_SPEC, FASTAPI_ROUTES)]
)
def test_static_inventory_agrees_with_exact(con, directory, spec, expected):
    result = routes.inventory_source(con, directory)
    static = table(con, str(directory.resolve()))
    assert sorted(static) == sorted(r + ("source",) for r in expected)
    assert result.unresolved == 0
    assert con.execute("SELECT count(*) FROM routes_unresolved").fetchone() == (0,)


def test_static_inventory_reports_what_it_cannot_resolve(con):
    directory = (MISC / "unresolved").resolve()
    result = routes.inventory_source(con, directory)
    # routes of a blueprint or router never registered, or under an unknown prefix, are not listed: unresolved
    assert table(con, str(directory)) == [
        ("flask", "GET", "/ok", "ok", "routes_misc/unresolved/app.py", 21, 23, None, "source"),
    ]
    file = str(directory / "app.py")
    assert con.execute("SELECT * FROM routes_unresolved ORDER BY line").fetchall() == [
        (
            file,
            9,
            "blueprint orphan is never registered in the tree",
            'orphan = Blueprint("orphan", __name__, url_prefix="/orphan")',
            "GET",
            "{?}/orphan/thing",
            "where blueprint orphan is registered",
        ),
        (
            file,
            10,
            "register_blueprint: the url_prefix is not known statically",
            'app.register_blueprint(admin, url_prefix=config["PREFIX"])',
            "GET",
            "{?}/users",
            'config["PREFIX"]',
        ),
        (
            file,
            13,
            "the rule is not known statically (inside a loop)",
            'app.add_url_rule("/pages/" + name, endpoint=name, view_func=lambda: "")',
            None,
            None,
            '"/pages/" + name',
        ),
        (
            file,
            16,
            "the rule is not known statically",
            'app.route(settings.get("HEALTH_PATH", "/health"))',
            None,
            None,
            'settings.get("HEALTH_PATH", "/health")',
        ),
        (
            file,
            37,
            "router is never registered in the tree",
            'router = APIRouter(prefix="/r")',
            "GET",
            "{?}/r/items",
            "where router is registered",
        ),
    ]
    assert result.unresolved == 5
    assert routes.unresolved(con)[["line", "reason"]].values.tolist()[0] == [
        9,
        "blueprint orphan is never registered in the tree",
    ]
    assert routes.unresolved(con)["line"].tolist() == [9, 10, 13, 16, 37]
    # a second run replaces the rows of that directory instead of adding to them
    routes.inventory_source(con, directory)
    assert con.execute("SELECT count(*) FROM routes_unresolved").fetchone() == (5,)
    assert con.execute("SELECT count(*) FROM routes").fetchone() == (1,)


def test_inventory_replaces_only_the_rows_of_the_apps_it_reads(con):
    routes.inventory_apps(con, [FLASK_SPEC], cwd=FLASK_DIR)
    routes.inventory_apps(con, [FASTAPI_SPEC], cwd=FASTAPI_DIR)
    routes.inventory_apps(con, [FLASK_SPEC], cwd=FLASK_DIR)
    assert con.execute("SELECT app, framework, count(*) FROM routes GROUP BY ALL ORDER BY ALL").fetchall() == [
        (FLASK_SPEC, "flask", 33),
        (FASTAPI_SPEC, "fastapi", 17),
        (FASTAPI_SPEC, "flask", 2),
    ]


def test_import_failure_shows_the_apps_traceback_and_a_hint(con):
    with pytest.raises(StranglerError) as err:
        routes.inventory_apps(con, ["brokenapp:app"], cwd=MISC)
    message = str(err.value)
    lines = message.splitlines()
    assert lines[0] == f"importing brokenapp:app with {routes.sys.executable} failed; the app's traceback:"
    assert lines[1] == "Traceback (most recent call last):"
    assert "brokenapp.py\", line 6, in <module>" in lines[2]
    assert "KeyError: 'TRAVEL_DATABASE_URL'" in lines
    assert lines[-1].startswith("hint: the app is imported as `flask run` would")
    assert "_inventory.py" not in message and "importlib" not in message


def test_spec_that_is_not_an_app(con):
    with pytest.raises(
        StranglerError,
        match=r"^fakeapp:not_an_app: <object object at .*> is neither a Flask app "
        r"nor a FastAPI/Starlette app; name the app object",
    ):
        routes.inventory_apps(con, ["fakeapp:not_an_app"], cwd=MISC)


def other_python() -> str:
    """Another interpreter than the one running the tests: Python 3.8 when pyenv has it, else the system's."""
    for candidate in ["/root/.pyenv/versions/3.8.18/bin/python", shutil.which("python3.8"), "/usr/bin/python3"]:
        if candidate and os.path.exists(candidate):
            return candidate
    raise AssertionError("no second Python interpreter on this machine")


def test_inventory_runs_in_the_given_interpreter(con):
    python = other_python()
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    data = routes.run_inventory_script("fakeapp:app", python=python, cwd=MISC)
    assert data == {
        "python": version,
        "warnings": [],
        "converters": [],  # a stand-in without Werkzeug: no converters to read
        "versions": [],
        "routes": [
            {
                "framework": "flask",
                "method": "GET",
                "rule": "/a/<int:x>",
                "endpoint": "a",
                "file": str(MISC / "fakeapp.py"),
                "line": 15,
                "end_line": 16,
                "blueprint": None,
                "position": 1,
            },
            {
                "framework": "flask",
                "method": "POST",
                "rule": "/b",
                "endpoint": "bp.b",
                "file": str(MISC / "fakeapp.py"),
                "line": 19,
                "end_line": 20,
                "blueprint": "bp",
                "position": 2,
            },
        ],
    }


def test_inventory_script_is_python38_syntax():
    source = Path(routes.INVENTORY_SCRIPT).read_text()
    ast.parse(source, feature_version=(3, 8))
    assert "from strangler" not in source and "import strangler" not in source


def test_pairs_flask_rules_with_fastapi_twins(con):
    flask = [
        {"framework": "flask", "method": m, "rule": r, "endpoint": e, "position": i}
        for i, (m, r, e) in enumerate(
            [
                ("GET", "/trips/<int:trip_id>", "get"),
                ("GET", "/trips/", "list"),
                ("DELETE", "/trips/<int:trip_id>", "delete"),
                ("GET", "/old", "old"),
            ]
        )
    ]
    fastapi = [
        {"framework": "fastapi", "method": m, "rule": r, "endpoint": e, "position": i}
        for i, (m, r, e) in enumerate(
            [("GET", "/trips/{id}", "get"), ("GET", "/trips", "list"), ("POST", "/new", "new")]
        )
    ]
    routes.store(con, "legacy:app", "app", flask)
    routes.store(con, "new:app", "app", fastapi)
    assert routes.pairs(con).fillna("-").values.tolist() == [
        ["POST", "/new", "-", "/new"],
        ["GET", "/old", "/old", "-"],
        ["GET", "/trips", "-", "/trips"],
        ["GET", "/trips/", "/trips/", "-"],
        ["DELETE", "/trips/{}", "/trips/<int:trip_id>", "-"],
        ["GET", "/trips/{}", "/trips/<int:trip_id>", "/trips/{id}"],
    ]


def test_cli_routes(db_path, capsys, monkeypatch):
    monkeypatch.chdir(FLASK_DIR)
    assert cli.main(["routes", "--app", FLASK_SPEC, "--db", str(db_path)]) == 0
    assert capsys.readouterr().out == f"   33 flask    routes from {FLASK_SPEC}\n"
    directory = (MISC / "unresolved").resolve()
    assert cli.main(["routes", "--source", str(directory), "--db", str(db_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"    1 flask    routes from {directory}",
        "    5 unresolved route definitions (see table routes_unresolved)",
    ]
    monkeypatch.chdir(MISC)
    assert cli.main(["routes", "--app", "brokenapp:app", "--db", str(db_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("strangler: error: importing brokenapp:app with ")
    assert "KeyError: 'TRAVEL_DATABASE_URL'" in err


DEMO_APPS = ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"]


def test_exact_and_static_inventories_agree_on_the_demo_apps(con):
    import strangler.demo

    routes.inventory_apps(con, DEMO_APPS)
    result = routes.inventory_source(con, Path(strangler.demo.__file__).parent)
    assert result.unresolved == 0
    assert routes.inventory_diff(con).empty
    exact = con.execute("""SELECT framework, method, rule, endpoint, file, line, end_line, blueprint FROM routes
                           WHERE inventory = 'app' AND file LIKE '%/strangler/demo/%' ORDER BY ALL""").fetchall()
    static = con.execute("""SELECT framework, method, rule, endpoint, file, line, end_line, blueprint FROM routes
                            WHERE inventory = 'source' AND file IS NOT NULL ORDER BY ALL""").fetchall()
    assert static == exact and len(exact) > 40
    counts = con.execute("SELECT framework, inventory, count(*) FROM routes GROUP BY ALL ORDER BY ALL").fetchall()
    assert [(fw, n) for fw, inv, n in counts if inv == "app"] == [(fw, n) for fw, inv, n in counts if inv == "source"]


def test_static_inventory_of_flask_restx_namespaces(con):
    directory = (MISC / "restx_static").resolve()
    routes.inventory_source(con, directory)
    assert table(con, str(directory)) == [
        ("flask", "GET", "/api/cats/", "catlist", "routes_misc/restx_static/app.py", 24, 25, None, "source"),
        ("flask", "GET", "/api/cats/all", "catlist", "routes_misc/restx_static/app.py", 24, 25, None, "source"),
        ("flask", "GET", "/api/todos/<int:todo_id>", "todo", "routes_misc/restx_static/app.py", 15, 16, None, "source"),
        ("flask", "PUT", "/api/todos/<int:todo_id>", "todo", "routes_misc/restx_static/app.py", 18, 19, None, "source"),
        (
            "flask",
            "DELETE",
            "/api/v2/dogs/<name>",
            "dog",
            "routes_misc/restx_static/resources.py",
            7,
            8,
            None,
            "source",
        ),
    ]
    assert con.execute("SELECT count(*) FROM routes_unresolved").fetchone() == (0,)
