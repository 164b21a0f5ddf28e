"""Static inventory on small apps, one per pattern of real code: the whole routes table, the whole unresolved
table, and never a rule the imported app does not have (checked against the exact inventory of the same app)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler import routes, sourcetree, static_inventory
from strangler.errors import StranglerError

APPS = Path(__file__).parent / "apps" / "static_patterns"


def stored(con, directory: Path) -> tuple[list[tuple], list[tuple]]:
    """The routes and routes_unresolved rows a static inventory of `directory` stored, files relative to APPS."""
    routes.inventory_source(con, directory)

    def rel(f):
        return f and str(Path(f).relative_to(APPS))

    found = [
        (fw, m, r, e, rel(f), ln, end, bp)
        for fw, m, r, e, f, ln, end, bp in con.execute(
            "SELECT framework, method, rule, endpoint, file, line, end_line, blueprint FROM routes ORDER BY position"
        ).fetchall()
    ]
    unresolved = [
        (rel(f), *rest)
        for f, *rest in con.execute(
            "SELECT file, line, reason, code, method, rule, unknown FROM routes_unresolved ORDER BY file, line, rule"
        ).fetchall()
    ]
    assert len(routes.unresolved(con)) == len(unresolved)
    return found, unresolved


def exact(spec: str) -> set[tuple[str, str, str]]:
    """(framework, method, rule) of the app imported for real."""
    data = routes.run_inventory_script(spec, cwd=APPS)
    return {(r["framework"], r["method"], r["rule"]) for r in data["routes"]}


def assert_no_wrong_rule(found: list[tuple], unresolved: list[tuple], spec: str) -> set:
    """Every listed rule is one the imported app has; returns the app's rules the static inventory left out."""
    app = exact(spec)
    listed = {(fw, m, r) for fw, m, r, *_ in found}
    assert listed <= app, listed - app
    return {(m, r) for _, m, r in app - listed}


def test_prefix_from_config_class_pyfile_and_defaults(con, monkeypatch):
    monkeypatch.delenv("ENV_PREFIX", raising=False)
    monkeypatch.delenv("APP_SETTINGS", raising=False)  # from_envvar(..., silent=True) then loads nothing
    found, unresolved = stored(con, APPS / "config_prefix")
    assert found == [
        ("flask", "GET", "/api/users/<int:user_id>", "users.get_user", "config_prefix/views.py", 10, 12, "users"),
        ("flask", "GET", "/admin/", "admin.dashboard", "config_prefix/views.py", 15, 17, "admin"),
        ("flask", "POST", "/admin/", "admin.dashboard", "config_prefix/views.py", 15, 17, "admin"),
        ("flask", "GET", "/reports/daily", "reports.daily", "config_prefix/views.py", 20, 22, "reports"),
        # app.config.get("EXTERNAL_PREFIX"): no key loaded by default, so None (no prefix)
        ("flask", "POST", "/hook", "external.hook", "config_prefix/views.py", 25, 27, "external"),
        # os.environ.get("ENV_PREFIX", "/env"): the default, as the app starts where ENV_PREFIX is not set
        ("flask", "GET", "/env/info", "env.info", "config_prefix/views.py", 30, 32, "env"),
    ]
    assert con.execute("SELECT DISTINCT app_object FROM routes").fetchall() == [("config_prefix.app:create_app()",)]
    assert con.execute("SELECT rule, assumes FROM routes WHERE assumes IS NOT NULL").fetchall() == [
        ("/env/info", "ENV_PREFIX unset: default '/env'")
    ]
    assert unresolved == []
    assert assert_no_wrong_rule(found, unresolved, "config_prefix.app:create_app()") == set()


def test_a_prefix_from_the_environment_is_the_value_set_there(con, monkeypatch):
    """Set in strangler's environment, the variable's value is what the app reads at start-up, and the rule says
    so; the imported app (same environment) has exactly that rule."""
    monkeypatch.setenv("ENV_PREFIX", "/ops")
    monkeypatch.setenv("APP_SETTINGS", "settings_prod.py")  # from_envvar: a file of the tree, read
    found, _ = stored(con, APPS / "config_prefix")
    assert [r[2] for r in found if r[3] in ("env.info", "external.hook")] == ["/partners/hook", "/ops/info"]
    assert con.execute("SELECT assumes FROM routes WHERE rule = '/ops/info'").fetchall() == [
        ("ENV_PREFIX='/ops' (set in strangler's environment)",)
    ]
    assert assert_no_wrong_rule(found, [], "config_prefix.app:create_app()") == set()


def test_subclasses_of_flask_blueprint_api_resource_fastapi_and_apirouter(con):
    found, unresolved = stored(con, APPS / "subclasses")
    assert found == [
        ("flask", "GET", "/v2/trips/", "trips.trips_crud", "subclasses/app.py", 34, 35, "trips"),
        ("flask", "POST", "/v2/trips/", "trips.trips_crud", "subclasses/app.py", 37, 38, "trips"),
        ("flask", "GET", "/rest/widgets/<int:widget_id>", "widget", "subclasses/app.py", 24, 25, None),
        ("flask", "DELETE", "/rest/widgets/<int:widget_id>", "widget", "subclasses/app.py", 29, 30, None),
        ("fastapi", "GET", "/api/items/{item_id}", "get_item", "subclasses/app.py", 62, 64, None),
    ]
    assert unresolved == []
    assert assert_no_wrong_rule([r for r in found if r[0] == "flask"], [], "subclasses.app:app") == set()
    assert assert_no_wrong_rule([r for r in found if r[0] == "fastapi"], [], "subclasses.app:service") == set()


def test_route_tables_lists_dicts_and_built_by_a_function(con):
    found, unresolved = stored(con, APPS / "tables")
    assert found == [
        ("flask", "GET", "/", "home", "tables/views.py", 1, 2, None),
        ("flask", "GET", "/about", "about", "tables/views.py", 5, 6, None),
        ("flask", "GET", "/contact", "contact", "tables/views.py", 9, 10, None),
        ("flask", "GET", "/v2/export", "export", "tables/views.py", 21, 22, None),
        ("flask", "GET", "/v2/status", "status", "tables/views.py", 25, 26, None),
        ("flask", "GET", "/v1/trips", "trips.list_trips", "tables/views.py", 17, 18, "trips"),
        ("flask", "POST", "/v1/trips", "trips.create_trip", "tables/views.py", 13, 14, "trips"),
    ]
    assert unresolved == []
    assert assert_no_wrong_rule(found, unresolved, "tables.app:app") == set()


def test_add_resource_and_add_url_rule_in_helper_functions_and_decorators(con):
    found, unresolved = stored(con, APPS / "helpers")
    assert found == [
        ("flask", "GET", "/data/v1/projects", "projects.projects", "helpers/resources.py", 13, 14, "projects"),
        (
            "flask",
            "GET",
            "/data/v1/projects/<int:project_id>",
            "projects.project",
            "helpers/resources.py",
            5,
            6,
            "projects",
        ),
        (
            "flask",
            "PUT",
            "/data/v1/projects/<int:project_id>",
            "projects.project",
            "helpers/resources.py",
            8,
            9,
            "projects",
        ),
        ("flask", "GET", "/ping", "ping", "helpers/resources.py", 17, 18, None),
        ("flask", "POST", "/ping", "ping", "helpers/resources.py", 17, 18, None),
        # a decorator of the project registers the function, method and path taken from its name
        ("flask", "GET", "/api/report", "get_report", "helpers/app.py", 36, 38, None),
        ("flask", "PUT", "/api/report", "put_report", "helpers/app.py", 41, 43, None),
        # decorators applied by hand keep the view (functools.wraps): a project one and functools.cache
        ("flask", "GET", "/health", "health", "helpers/app.py", 54, 55, None),
        ("flask", "GET", "/cached", "cached_view", "helpers/app.py", 58, 59, None),
    ]
    assert unresolved == []
    assert assert_no_wrong_rule(found, unresolved, "helpers.app:app") == set()


def test_routers_included_through_several_modules(con):
    found, unresolved = stored(con, APPS / "routers")
    assert found == [
        ("fastapi", "GET", "/openapi.json", "openapi", None, None, None, None),
        ("fastapi", "GET", "/api/v1/items/", "list_items", "routers/api/v1/items.py", 6, 8, "items"),
        ("fastapi", "GET", "/api/v1/items/{item_id}", "get_item", "routers/api/v1/items.py", 11, 13, "items"),
        ("fastapi", "POST", "/api/v1/users/", "create_user", "routers/api/v1/users.py", 6, 8, "users"),
    ]
    assert unresolved == [
        (
            "routers/api/v1/__init__.py",
            6,
            "a route added to the router after it was included: older FastAPI versions copy a router's routes at "
            "include_router, newer ones include the router as it is when serving",
            "router.include_router(items.router)",
            "GET",
            "/api/v1/items/late",
            "the FastAPI version",
        ),
        (
            "routers/main.py",
            9,
            "router is never registered in the tree",
            'drafts = APIRouter(prefix="/drafts")',
            "GET",
            "{?}/drafts/{draft_id}",
            "where router is registered",
        ),
    ]
    # the FastAPI installed here includes routers live, so the late route is in the app: listed as unresolved
    assert assert_no_wrong_rule(found, unresolved, "routers.main:app") == {("GET", "/api/v1/items/late")}


def test_metaclasses_and_routes_from_database_content_are_listed_unresolved(con):
    found, unresolved = stored(con, APPS / "out_of_reach")
    assert found == [("flask", "GET", "/health", "health", "out_of_reach/app.py", 26, 28, None)]
    assert unresolved == [
        (
            "out_of_reach/app.py",
            16,
            "class Reports is made by metaclass Registered: routes it may register are not evaluated",
            "class Reports(metaclass=Registered):",
            None,
            None,
            None,
        ),
        (
            "out_of_reach/app.py",
            21,
            "a route made in a loop over values not known statically",
            "for page in Page.query.all():",
            "GET",
            "/pages/index",
            "Page.query.all()",
        ),
        (
            "out_of_reach/app.py",
            22,
            "the rule is not known statically (inside a loop)",
            'app.add_url_rule(page.url, endpoint=page.slug, view_func=lambda: "")',
            None,
            None,
            "page.url",
        ),
    ]
    assert assert_no_wrong_rule(found, unresolved, "out_of_reach.app:app") == {("GET", "/reports")}


def test_an_outside_import_never_resolves_to_a_tree_module_of_the_same_name(con):
    """`from dynaconf import settings` is not the project's settings.py (the static inventory took its
    API_PREFIX and listed GET /local/things before sourcetree owned module resolution)."""
    found, unresolved = stored(con, APPS / "resolution")
    assert found == []
    assert unresolved == [
        (
            "resolution/app.py",
            13,
            "register_blueprint: the url_prefix is not known statically",
            "app.register_blueprint(bp, url_prefix=settings.API_PREFIX)",
            "GET",
            "{?}/things",
            "settings.API_PREFIX",
        )
    ]


@pytest.mark.parametrize(
    "dotted, expected",
    [
        ("settings", "settings"),
        ("resolution.settings", "settings"),  # the root folder's own name may lead
        ("dynaconf.settings", None),
        ("werkzeug.exceptions", None),
        ("app", "app"),
    ],
)
def test_one_module_resolution_for_static_inventory_and_effort(dotted, expected):
    from strangler import effort

    root = APPS / "resolution"
    names = {sourcetree.module_name(root, p): p for p in sourcetree.python_files(root)}
    hit = sourcetree.find_module(names, root, dotted)
    assert (sourcetree.module_name(root, hit) if hit else None) == expected
    src = effort.Source(root)
    found = src.find_module(dotted)
    assert (found.name if found else None) == expected
    scanner = static_inventory.Scanner(root)
    module = scanner.find_module(dotted)
    assert (module.name if module else None) == expected


def test_unresolved_count_and_environment_are_in_the_summary(con, monkeypatch):
    monkeypatch.delenv("ENV_PREFIX", raising=False)
    monkeypatch.delenv("APP_SETTINGS", raising=False)
    result = routes.inventory_source(con, APPS / "routes_unresolved_and_env")
    assert str(result).splitlines() == [
        f"    1 flask    routes from {(APPS / 'routes_unresolved_and_env').resolve()}",
        "    1 unresolved route definitions (see table routes_unresolved)",
        "environment: ENV_PREFIX unset: default '/env': 1 rules computed with it (column assumes)",
        "environment: APP_SETTINGS unset: no rule's path contains its value",
    ]


def test_a_return_under_an_unknown_condition_and_a_registration_in_an_unknown_loop_are_not_guessed(con):
    """normalize(x) of a value not known returns "" only on one branch, and a loop over values not known may
    register a blueprint any number of times: neither gives a rule (the old inventory listed GET /jobs and GET
    /extra/info)."""
    found, unresolved = stored(con, APPS / "conditions")
    assert found == [
        ("flask", "GET", "/ok", "ok", "conditions/app.py", 33, 35, None),
        # create_api() returns a cached app on a branch not known to run: the app it makes is the one mounted
        ("fastapi", "GET", "/api/items", "items", "conditions/app.py", 46, 48, None),
    ]
    assert unresolved == [
        (
            "conditions/app.py",
            28,
            "register_blueprint: the url_prefix is not known statically",
            'app.register_blueprint(jobs, url_prefix=normalize(json.loads(os.environ.get("JOBS_JSON") or "null")))',
            "GET",
            "{?}/jobs",
            'normalize(json.loads(os.environ.get("JOBS_JSON") or "null"))',
        ),
        (
            "conditions/app.py",
            29,
            "registered in a loop over values not known statically",
            'for plugin in json.loads(os.environ.get("PLUGINS_JSON") or "[\\"\\"]"):',
            "GET",
            "{?}/info",
            'json.loads(os.environ.get("PLUGINS_JSON") or "[\\"\\"]")',
        ),
    ]
    flask = [r for r in found if r[0] == "flask"]
    assert assert_no_wrong_rule(flask, unresolved, "conditions.app:app") == {("GET", "/jobs"), ("GET", "/extra/info")}
    assert assert_no_wrong_rule([r for r in found if r[0] == "fastapi"], [], "conditions.app:root") == set()


def test_a_factory_called_by_another_factory_is_not_listed_on_its_own(con):
    """create_api() is called by create_app(), which mounts it under /api: run on its own first (as factories
    nobody calls are), its app was listed as a second root without the prefix (GET /items)."""
    found, unresolved = stored(con, APPS / "factories")
    assert found == [("fastapi", "GET", "/api/items", "items", "factories/app.py", 7, 9, None)]
    assert unresolved == []
    assert assert_no_wrong_rule(found, unresolved, "factories.app:create_app()") == set()


def test_relative_imports_in_modules_at_the_root():
    """`from . import create_app` in <root>/main.py names the root's own package (calibre-web's main.py; read as an
    outside name, the app it returns was unknown and its 16 blueprints were lost)."""
    import ast

    scanner = static_inventory.Scanner(APPS / "tables")

    def source(module: str, code: str) -> str:
        node = ast.parse(code).body[0]
        assert isinstance(node, ast.ImportFrom)
        return scanner.import_from(scanner.modules[module], node)

    assert source("app", "from . import views") == "tables"
    assert source("app", "from .views import home") == "views"
    assert source("tables", "from .views import home") == "views"
    assert scanner.find_module(source("app", "from . import views")) is scanner.modules["tables"]


def test_unresolved_reads_a_file_from_before_the_route_columns(tmp_path):
    """A DuckDB file written before routes_unresolved had method, rule and unknown, opened read-only (as the
    notebooks open it), still shows its rows."""
    import duckdb

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute("CREATE TABLE routes_unresolved (file VARCHAR, line INTEGER, reason VARCHAR, code VARCHAR)")
        old.execute("INSERT INTO routes_unresolved VALUES ('/a.py', 3, 'the rule is not known statically', 'x')")
    with duckdb.connect(str(path), read_only=True) as con:
        assert routes.unresolved(con).astype(object).where(lambda f: f.notna(), None).values.tolist() == [
            ["/a.py", 3, "the rule is not known statically", "x", None, None, None]
        ]


def labelled(con) -> list[tuple]:
    """(method, rule, app_object, assumes) of the stored static rows, in order."""
    return con.execute("SELECT method, rule, app_object, assumes FROM routes ORDER BY position").fetchall()


ENV_VARIABLES = ("SHOP_PREFIX", "ADMIN_PREFIX", "HOOKS_PREFIX", "API_ROOT")


def test_environment_variables_unset_take_the_code_defaults_and_say_so(con, monkeypatch):
    """`os.environ.get(NAME, default)`, `getenv(NAME) or default`, `NAME in os.environ`, `os.environ[NAME]` and an
    f-string over `os.getenv`: with nothing set, each rule is the one the app has at start-up, naming the variable
    it assumed unset; the blueprint registered only when a variable is set is not registered."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    found, unresolved = stored(con, APPS / "environment")
    assert labelled(con) == [
        ("GET", "/shop/cart", "environment.app:app", "SHOP_PREFIX unset: default '/shop'"),
        ("GET", "/admin/users", "environment.app:app", "ADMIN_PREFIX unset"),
        ("GET", "/v1/items", "environment.app:api", "API_ROOT unset: default ''"),
    ]
    assert unresolved == [
        (
            "environment/app.py",
            10,
            "blueprint hooks is never registered in the tree",
            'hooks = Blueprint("hooks", __name__)',
            "POST",
            "{?}/hook",
            "where blueprint hooks is registered",
        )
    ]
    assert assert_no_wrong_rule([r for r in found if r[0] == "flask"], [], "environment.app:app") == set()
    assert assert_no_wrong_rule([r for r in found if r[0] == "fastapi"], [], "environment.app:api") == set()
    result = routes.inventory_source(con, APPS / "environment")
    assert [line for line in str(result).splitlines() if line.startswith("environment:")] == [
        "environment: ADMIN_PREFIX unset: 1 rules computed with it (column assumes)",
        "environment: API_ROOT unset: default '': 1 rules computed with it (column assumes)",
        "environment: SHOP_PREFIX unset: default '/shop': 1 rules computed with it (column assumes)",
        "environment: HOOKS_PREFIX unset: no rule's path contains its value",
    ]


def test_environment_variables_set_in_strangler_s_environment_are_read_as_the_app_reads_them(con, monkeypatch):
    monkeypatch.setenv("SHOP_PREFIX", "/store")
    monkeypatch.setenv("ADMIN_PREFIX", "/staff")
    monkeypatch.setenv("HOOKS_PREFIX", "/in")
    monkeypatch.setenv("API_ROOT", "/root")
    found, unresolved = stored(con, APPS / "environment")
    assert labelled(con) == [
        ("GET", "/store/cart", "environment.app:app", "SHOP_PREFIX='/store' (set in strangler's environment)"),
        ("GET", "/staff/users", "environment.app:app", "ADMIN_PREFIX='/staff' (set in strangler's environment)"),
        ("POST", "/in/hook", "environment.app:app", "HOOKS_PREFIX='/in' (set in strangler's environment)"),
        ("GET", "/root/v1/items", "environment.app:api", "API_ROOT='/root' (set in strangler's environment)"),
    ]
    assert unresolved == []
    # the imported app, started in the same environment, has exactly these rules
    assert assert_no_wrong_rule([r for r in found if r[0] == "flask"], [], "environment.app:app") == set()
    assert assert_no_wrong_rule([r for r in found if r[0] == "fastapi"], [], "environment.app:api") == set()


def test_config_instance_pydantic_fields_and_dataclass_defaults_give_the_prefix(con):
    """`config.run.root_path` where `run = Field(default_factory=RunSettings)` and the model is built from a dict
    whose values are not known; a dataclass's `field(default=...)` and a keyword argument."""
    found, unresolved = stored(con, APPS / "settings_model")
    assert found == [
        ("fastapi", "GET", "/health", "health", "settings_model/app.py", 11, 13, None),
        ("fastapi", "GET", "/api/v2/items", "items", "settings_model/app.py", 16, 18, None),
        ("fastapi", "POST", "/admin/reload", "reload", "settings_model/app.py", 21, 23, None),
    ]
    assert unresolved == []
    assert assert_no_wrong_rule(found, [], "settings_model.app:app") == set()


def test_a_tree_with_an_extension_and_its_demo_app(con):
    """The whole tree: the demo app's own rule; the extension's routes, registered by `bind(app)` on whatever app
    is passed, are unresolved, since the demo changes the shared config instance from a file outside the tree
    (`init_from`). `dashext.main`'s `if __name__ == "__main__":` block does not run on import."""
    root = APPS / "extension" / "dashext"
    found, unresolved = stored(con, root)
    assert labelled(con) == [("GET", "/demo", "dashext.main:app", None)]
    reason = "register_blueprint: the url_prefix is not known statically"
    code = 'app.register_blueprint(blueprint, url_prefix="/" + config.link)'
    assert unresolved == [
        ("extension/dashext/__init__.py", 12, reason, code, "GET", "{?}/", '"/" + config.link'),
        ("extension/dashext/__init__.py", 12, reason, code, "GET", "{?}/api/stats", '"/" + config.link'),
    ]
    assert assert_no_wrong_rule(found, unresolved, "extension.demo_app:app") == set()


def test_entry_reads_one_program_of_the_tree_the_extension_as_a_user_app_imports_it(con):
    """--entry dashext: what `import dashext; dashext.bind(app)` runs. The config keeps its `__init__` defaults,
    and the routes belong to the app passed to bind (app_object `dashext:bind(app)`), as in a user's app."""
    root = APPS / "extension" / "dashext"
    result = routes.inventory_source(con, root, entry=["dashext"])
    assert labelled(con) == [
        ("GET", "/dash/", "dashext:bind(app)", None),
        ("GET", "/dash/api/stats", "dashext:bind(app)", None),
    ]
    assert routes.unresolved(con).empty and result.unresolved == 0
    found = [("flask", m, r) for m, r, *_ in labelled(con)]
    assert assert_no_wrong_rule(found, [], "extension.user_app:app") == set()
    with pytest.raises(StranglerError, match="--entry nowhere: no such module under"):
        routes.inventory_source(con, root, entry=["nowhere"])


def test_a_tree_with_two_apps_says_which_app_each_rule_belongs_to(con, monkeypatch):
    """rq-dashboard's shape: one factory used by an app factory that reads its prefix from the environment and by
    a CLI whose prefix is an option (not known): each rule names its app; the summary counts them."""
    monkeypatch.delenv("JOBS_URL_PREFIX", raising=False)
    result = routes.inventory_source(con, APPS / "two_apps")
    assert labelled(con) == [
        ("GET", "/jobs-ui/jobs", "two_apps.app:create_app()", "JOBS_URL_PREFIX unset: default '/jobs-ui'"),
        ("GET", "/version", "two_apps.app:create_app()", None),
        ("GET", "/version", "two_apps.cli:main()", None),
    ]
    assert routes.unresolved(con)[["method", "rule", "unknown"]].values.tolist() == [["GET", "{?}/jobs", "url_prefix"]]
    assert str(result).splitlines()[1:] == [
        "    2 of them belong to app two_apps.app:create_app()",
        "    1 of them belong to app two_apps.cli:main()",
        "      (column app_object; --entry MODULE reads only what one program imports)",
        "    1 unresolved route definitions (see table routes_unresolved)",
        "environment: JOBS_URL_PREFIX unset: default '/jobs-ui': 1 rules computed with it (column assumes)",
    ]
    flask = [("flask", m, r) for m, r, obj, _ in labelled(con) if obj == "two_apps.app:create_app()"]
    assert assert_no_wrong_rule(flask, [], "two_apps.app:create_app()") == set()


def test_routes_under_a_condition_not_known_are_unresolved_unless_both_branches_make_them(con):
    """opal-server's shapes: a router included only `if settings.SCOPES:`, a route registered after `if not
    enabled: return`, both read from settings outside the tree, are unresolved with the condition; a route made
    alike on both sides of an unknown `if` exists either way and is listed once."""
    found, unresolved = stored(con, APPS / "guarded")
    assert found == [
        ("fastapi", "GET", "/loadlimit", "loadlimit", "guarded/app.py", 17, 19, None),
        ("fastapi", "GET", "/health", "health", "guarded/app.py", 45, 47, None),
    ]
    reason = "made under a condition not known statically"
    assert unresolved == [
        ("guarded/app.py", 31, reason, "if not enabled:", "GET", "/internal/stats", "enabled"),
        ("guarded/app.py", 40, reason, "if settings.SCOPES:", "GET", "/scopes/list", "settings.SCOPES"),
    ]
    # the imported app (deployment.settings: SCOPES and STATS off) has exactly the listed rules
    assert assert_no_wrong_rule(found, unresolved, "guarded.app:app") == set()


def test_a_factory_called_only_with_arguments_is_also_run_as_a_server_calls_it(con):
    """asreview's shape: the tree calls `create_app(...)` only from a test, with a config file (keys not known);
    `create_app()` as `gunicorn 'pkg.app:create_app()'` calls it reads its defaults (AUTHENTICATION true), so its
    app has the auth blueprint. In the test's app that registration depends on the unknown config: unresolved. The
    auth module, first imported inside that `if`, still defines its routes unconditionally (`if x := ...` too)."""
    _, unresolved = stored(con, APPS / "factory_defaults")
    assert labelled(con) == [
        ("GET", "/api/items", "factory_defaults.test_app:test_without_authentication()", None),
        ("GET", "/api/items", "factory_defaults.app:create_app()", None),
        ("POST", "/auth/login", "factory_defaults.app:create_app()", None),
    ]
    condition = 'if app.config.get("AUTHENTICATION", True):'
    assert unresolved == [
        (
            "factory_defaults/app.py",
            17,
            "made under a condition not known statically",
            condition,
            "POST",
            "/auth/login",
            'app.config.get("AUTHENTICATION", True)',
        )
    ]
    default = [("flask", m, r) for m, r, obj, _ in labelled(con) if obj == "factory_defaults.app:create_app()"]
    assert assert_no_wrong_rule(default, [], "factory_defaults.app:create_app()") == set()


def test_conditional_lists_routes_under_an_unknown_condition_naming_it(con):
    """`routes --source --conditional`: for a deployment where the feature is on, the routes made under an unknown
    condition are listed, each naming the condition it takes as true; nothing is left unresolved here."""
    routes.inventory_source(con, APPS / "guarded", conditional=True)
    assert labelled(con) == [
        ("GET", "/loadlimit", "guarded.app:app", None),
        ("GET", "/scopes/list", "guarded.app:app", "condition true: settings.SCOPES (app.py:40)"),
        ("GET", "/internal/stats", "guarded.app:app", "condition true: enabled (app.py:31)"),
        ("GET", "/health", "guarded.app:app", None),
    ]
    assert routes.unresolved(con).empty
