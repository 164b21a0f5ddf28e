"""Attribution with the app's own matcher: custom Werkzeug converters (regex, part_isolating, weight, to_python),
Cadwyn-versioned FastAPI apps and mounts at any depth, each checked against the frameworks themselves."""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

import pytest

from strangler import attribute, routes
from strangler.errors import StranglerError

APPS = Path(__file__).parent / "apps"
CONV_DIR, VERSIONED_DIR = APPS / "converters", APPS / "versioned"
sys.path[:0] = [str(CONV_DIR), str(VERSIONED_DIR)]

from test_attribute import attributed, load_requests, werkzeug_answer  # noqa: E402


def converter_paths(n: int, seed: int) -> list[tuple[str, str]]:
    """(method, path) that hit every converter of convapp from both sides: accepted, rejected by the regex,
    rejected by to_python, other methods (405s), trailing slashes (redirects), percent-encoding and ids that
    shapes would collapse."""
    rng = random.Random(seed)
    ids = [
        lambda: str(uuid.UUID(int=rng.getrandbits(128))),
        lambda: str(uuid.UUID(int=rng.getrandbits(128))).upper(),
        lambda: str(uuid.UUID(int=rng.getrandbits(128))).replace("-", ""),
        lambda: str(uuid.UUID(int=rng.getrandbits(128)))[:-1] + "g",
        lambda: "me",
        lambda: "you",
        lambda: str(rng.randint(0, 10**6)),
        lambda: format(rng.getrandbits(40), "x"),
        lambda: "new",
        lambda: "%6De",  # 'me', percent-encoded
    ]
    words = ["intro", "a", "b-2", "Intro", "x_y", "deep", "7", ""]
    langs = ["en", "fr", "de", "es", "EN", "e"]

    def doc() -> str:
        return "/".join(rng.choice(words) for _ in range(rng.randint(1, 4)))

    shapes = [
        lambda: f"/items/{rng.choice(ids)()}",
        lambda: f"/items/{rng.choice(ids)()}/parts/{rng.choice(['1', '22', 'x', '-3'])}",
        lambda: f"/docs/{doc()}",
        lambda: f"/docs/{doc()}/edit",
        lambda: f"/{rng.choice(langs)}/about",
        lambda: f"/codes/{rng.choice(['abc', 'ab', 'abcd', 'ABC', '123', 'a1c', 'xyz'])}",
        lambda: f"/numbers/{rng.randint(0, 400)}",
        lambda: f"/numbers/{rng.randint(0, 400)}/next",
        lambda: f"/numbers/{rng.choice(['x', '-2', '08', '1.5'])}",
        lambda: "/nowhere/" + str(rng.randint(0, 9)),
    ]
    out = []
    for _ in range(n):
        path = rng.choice(shapes)()
        if rng.random() < 0.1:
            path += "/"
        out.append((rng.choice(["GET"] * 6 + ["POST", "DELETE", "PUT", "HEAD"]), path))
    return out


@pytest.fixture(scope="module")
def conv_app():
    from convapp import app

    return app


def test_route_converters_read_from_the_app(con):
    result = routes.inventory_apps(con, ["convapp:app"], cwd=CONV_DIR)
    assert str(result).splitlines() == [
        "   16 flask    routes from convapp:app",
        "    7 rule variables with convapp:app's own converters (see table route_converters)",
    ]
    got = con.execute(
        "SELECT rule, variable, converter, args, regex, part_isolating, weight, checked, mount, python, cwd "
        "FROM route_converters ORDER BY rule, variable"
    ).fetchall()
    here = (sys.executable, str(CONV_DIR.resolve()))
    assert got == [
        ("/<lang:lang>/about", "lang", "lang", None, "(?:en|fr|de)", True, 100, False, "", *here),
        ("/codes/<regex('[a-z]{3}'):code>", "code", "regex", "'[a-z]{3}'", "[a-z]{3}", True, 100, False, "", *here),
        (
            "/docs/<slugpath:page>",
            "page",
            "slugpath",
            None,
            r"[a-z0-9-]+(?:/[a-z0-9-]+)*",
            False,
            200,
            False,
            "",
            *here,
        ),
        (
            "/docs/<slugpath:page>/edit",
            "page",
            "slugpath",
            None,
            r"[a-z0-9-]+(?:/[a-z0-9-]+)*",
            False,
            200,
            False,
            "",
            *here,
        ),
        ("/items/<uuid_str:item_id>", "item_id", "uuid_str", None, "[^/]+", True, 100, True, "", *here),
        (
            "/items/<uuid_str:item_id>/parts/<int:part>",
            "item_id",
            "uuid_str",
            None,
            "[^/]+",
            True,
            100,
            True,
            "",
            *here,
        ),
        ("/numbers/<even:n>", "n", "even", None, r"\d+", True, 40, True, "", *here),
    ]
    # a second run replaces the app's rows instead of adding to them
    routes.inventory_apps(con, ["convapp:app"], cwd=CONV_DIR)
    assert con.execute("SELECT count(*) FROM route_converters").fetchone() == (7,)


@pytest.mark.slow
def test_custom_converters_attribute_as_werkzeug_matches(con, conv_app):
    """Every sampled path gets what the app's own MapAdapter.match answers: rules, 404s, 405s and redirects."""
    routes.inventory_apps(con, ["convapp:app"], cwd=CONV_DIR)
    sample = converter_paths(20_000, seed=13)
    load_requests(con, sample)
    result = attribute.attribute(con)
    adapter = conv_app.url_map.bind("localhost")
    expected = [werkzeug_answer(adapter, m, p) for m, p in sample]
    assert attributed(con) == expected
    outcomes = set(expected)
    # the sample reaches every rule and every kind of miss, so the comparison above means something
    assert {"unmatched", "method_not_allowed", "redirect"} <= outcomes
    assert {r.rule for r in conv_app.url_map.iter_rules() if r.endpoint != "static"} <= outcomes
    # to_python rejected some paths that its regex let through: they are not given the rule
    rejected = [
        (m, p)
        for (m, p), e in zip(sample, expected)
        if m == "GET" and p.startswith("/numbers/") and p.count("/") == 2 and p[9:].isdigit() and int(p[9:]) % 2
    ]
    assert rejected and {werkzeug_answer(adapter, m, p) for m, p in rejected} == {"unmatched"}
    assert result.warnings == []
    [(app, checked, _)] = result.app_checks
    assert app == "convapp:app"
    # the app saw each distinct (method, path) that its checked rules took, once; nothing outside their prefixes
    checked_rules = {"/items/<uuid_str:item_id>", "/items/<uuid_str:item_id>/parts/<int:part>", "/numbers/<even:n>"}
    took = {(m, p) for (m, p), e in zip(sample, expected) if e in checked_rules}
    assert len(took) <= checked <= len({(m, p) for m, p in sample if p.startswith(("/items/", "/numbers/"))})


def test_custom_converters_beside_another_flask_app(con, conv_app):
    """With a second Flask app in the table, paths are matched here first and only those that matched a checked
    rule go to its app; the result is still Werkzeug's."""
    from otherapp import app as other_app

    routes.inventory_apps(con, ["convapp:app", "otherapp:app"], cwd=CONV_DIR)
    sample = converter_paths(3_000, seed=15) + [("GET", "/other/12"), ("POST", "/other/12"), ("GET", "/other/x")]
    load_requests(con, sample)
    result = attribute.attribute(con)
    conv, other = conv_app.url_map.bind("localhost"), other_app.url_map.bind("localhost")
    expected = [werkzeug_answer(other if p.startswith("/other/") else conv, m, p) for m, p in sample]
    assert attributed(con) == expected
    assert expected[-3:] == ["/other/<int:x>", "method_not_allowed", "unmatched"]
    checked_rules = {"/items/<uuid_str:item_id>", "/items/<uuid_str:item_id>/parts/<int:part>", "/numbers/<even:n>"}
    [(app, checked, _)] = result.app_checks
    assert app == "convapp:app"
    assert checked >= len({(m, p) for (m, p), e in zip(sample, expected) if e in checked_rules})


@pytest.mark.slow
def test_custom_converters_of_a_flask_app_mounted_in_fastapi(con, conv_app):
    """The app check finds the Flask app under its mount and matches the path without the prefix."""
    routes.inventory_apps(con, ["mounted:app"], cwd=CONV_DIR)
    assert con.execute("SELECT DISTINCT mount FROM route_converters").fetchall() == [("/legacy",)]
    sample = converter_paths(3_000, seed=14)
    load_requests(con, [(m, "/legacy" + p) for m, p in sample])
    result = attribute.attribute(con)
    adapter = conv_app.url_map.bind("localhost")
    assert attributed(con) == [werkzeug_answer(adapter, m, p, prefix="/legacy") for m, p in sample]
    assert [app for app, _, _ in result.app_checks] == ["mounted:app"]


def test_another_werkzeug_in_the_app_is_a_warning(con, monkeypatch):
    """Local matching uses strangler's Werkzeug: when the app's differs, routes --app says so."""
    from importlib.metadata import version

    monkeypatch.setattr(routes, "_werkzeug_version", lambda: "2.3.0")
    result = routes.inventory_apps(con, ["convapp:app"], cwd=CONV_DIR)
    assert result.warnings == [
        f"convapp:app: the app matches with Werkzeug {version('werkzeug')}, attribution with Werkzeug 2.3.0; where "
        "they differ (slash redirects, empty segments) attribution follows 2.3.0, except on paths the app's own "
        "converters decide"
    ]


def test_an_app_that_no_longer_imports_stops_attribution_with_its_traceback(con, tmp_path):
    """The converters were read, but the app cannot be imported again to check matches: a refusal, not a guess."""
    routes.inventory_apps(con, ["convapp:app"], cwd=CONV_DIR)
    con.execute("UPDATE route_converters SET cwd = ?", [str(tmp_path)])
    load_requests(con, [("GET", "/items/me"), ("GET", "/codes/abc")])
    with pytest.raises(StranglerError) as err:
        attribute.attribute(con)
    lines = str(err.value).splitlines()
    assert lines[0] == f"importing convapp:app with {sys.executable} failed; the app's traceback:"
    assert lines[-2] == "ModuleNotFoundError: No module named 'convapp'"
    assert con.execute("SELECT count(*) FROM requests WHERE match IS NOT NULL").fetchone() == (0,)


def test_custom_converter_without_the_app_matches_as_a_plain_segment_with_a_warning(con):
    """The static inventory cannot read a converter: the rule matches like <string>, and attribute says so."""
    routes.store(
        con,
        "src",
        "source",
        [{"framework": "flask", "method": "GET", "rule": "/numbers/<even:n>", "endpoint": "even", "position": 1}],
    )
    load_requests(con, [("GET", "/numbers/3"), ("GET", "/numbers/x"), ("GET", "/numbers/3/4")])
    result = attribute.attribute(con)
    assert attributed(con) == ["/numbers/<even:n>", "/numbers/<even:n>", "unmatched"]
    assert result.warnings == [
        "custom converter 'even' matched as a plain segment (run `strangler routes --app` to read it)"
    ]


# --- Cadwyn and mounts --------------------------------------------------------------------------------------


def walk(routes: list, prefix: str = "") -> list[tuple[str, str]]:
    """The app's own route walk: (method, full path) of every HTTP route, through mounts and included routers;
    HEAD only where declared (Starlette adds it to GET routes, FastAPI's APIRoute does not)."""
    found = []
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's lazily included router
            found += walk(route.original_router.routes, prefix + route.include_context.prefix)
        elif type(route).__name__ == "Mount":
            found += walk(route.app.routes, prefix + route.path)
        elif getattr(route, "methods", None):
            methods = set(route.methods) - ({"HEAD"} if type(route).__name__ != "APIRoute" else set())
            found += [(m, prefix + route.path) for m in sorted(methods)]
    return found


def versions_walk(cadwyn_app, prefix: str) -> set[tuple[str, str, str]]:
    """(method, rule, version) for every route a Cadwyn version serves that is not served unversioned."""
    unversioned = set(walk(cadwyn_app.router.unversioned_routes, prefix))
    return {
        (m, r, version)
        for version, router in cadwyn_app.router.versioned_routers.items()
        for m, r in walk(router.routes, prefix)
        if (m, r) not in unversioned
    }


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["cadwyn_app:app", "mounts:app"])
def test_routes_app_lists_cadwyn_versions_and_mounts_as_the_apps_own_walk(db_path, capsys, monkeypatch, spec):
    import asyncio

    import httpx

    from strangler import cli, db

    module = __import__(spec.split(":")[0])
    app = module.app
    cadwyn_prefix = {"cadwyn_app:app": "/execution", "mounts:app": "/api/v1/exec"}[spec]

    async def first_request() -> object:  # Cadwyn builds its versioned routers on the first request
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return (await client.get(cadwyn_prefix + "/users/7", headers={"x-api-version": "2023-01-01"})).json()

    assert asyncio.run(first_request()) == {"id": 7}
    expected = walk(app.routes)
    monkeypatch.chdir(VERSIONED_DIR)
    assert cli.main(["routes", "--app", spec, "--db", str(db_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{len(set(expected)):>5} fastapi  routes from {spec}",
        f"    3 API versions of {spec} (see table route_versions)",
    ]
    con = db.connect(db_path)
    got = con.execute("SELECT method, rule FROM routes ORDER BY position").fetchall()
    assert len(got) == len(set(got))  # every (method, rule) once, though several versions serve it
    assert set(got) == set(expected)
    assert set(con.execute("SELECT method, rule, api_version FROM route_versions").fetchall()) == versions_walk(
        module.execution, cadwyn_prefix
    )
    # each version's changes against the head (the newest version), read off the table
    served: dict[str, set] = {}
    for method, rule, version in con.execute("SELECT method, rule, api_version FROM route_versions").fetchall():
        served.setdefault(version, set()).add((method, rule))
    head = served[max(served)]
    changes = sorted(
        [(v, m, r, "missing") for v, s in served.items() for m, r in head - s]
        + [(v, m, r, "extra") for v, s in served.items() for m, r in s - head]
    )
    p = cadwyn_prefix
    assert changes == [
        ("2023-01-01", "GET", f"{p}/users/{{user_id}}/addresses", "missing"),
        ("2023-01-01", "GET", f"{p}/users/{{user_id}}/legacy-profile", "extra"),
        ("2024-02-01", "GET", f"{p}/users/{{user_id}}/legacy-profile", "extra"),
    ]
    con.close()
