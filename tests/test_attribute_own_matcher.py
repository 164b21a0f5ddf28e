"""Attribution with the app's own matcher: custom Werkzeug converters (regex, part_isolating, weight, to_python),
Cadwyn-versioned FastAPI apps and mounts at any depth, each checked against the frameworks themselves."""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

import pytest

from strangler import attribute, routes

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
    routes.inventory_apps(con, ["convapp:app"], cwd=CONV_DIR)
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
    # only distinct paths that matched a rule with its own to_python went to the app, each once
    assert 0 < checked <= len({p for _, p in sample if p.startswith(("/items/", "/numbers/"))})


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
