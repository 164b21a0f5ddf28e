"""The demo: its Flask app, its FastAPI port, and the logs, manifest and truth it writes (a 50 k-request demo)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from werkzeug.exceptions import MethodNotAllowed, NotFound

from strangler import cli, dbtime, demo, manifest
from strangler.demo import fastapi_app, flask_app, logs, store, traffic

FILES = ("access.log.1.gz", "access.log", "access.json.log")
COMBINED = re.compile(
    r'^(?P<ip>\S+) - - \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>[^ ?"]+)(?P<query>\?[^ "]*)? '
    r'HTTP/(?:1\.0|1\.1|2\.0)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" '
    r'"(?P<ua>(?:[^"\\]|\\x22)*)" (?P<rt>\d+\.\d{3})$'
)
JSON_KEYS = [
    "time",
    "host",
    "port",
    "method",
    "uri",
    "status",
    "body_bytes",
    "referer",
    "ua",
    "request_time",
    "response_time",
]


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        return f.read().split("\n")[:-1]


def _parse(line: str, name: str) -> dict | None:
    """One log line as (ts, method, path, status, ms), or None when it is malformed."""
    if name == "access.json.log":
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        ts = dt.datetime.fromisoformat(obj["time"])
        return {
            "ts": ts,
            "method": obj["method"],
            "path": obj["uri"].split("?")[0],
            "status": int(obj["status"]),
            "ms": round(float(obj["request_time"]) * 1000),
            "obj": obj,
        }
    m = COMBINED.match(line)
    if not m:
        return None
    ts = dt.datetime.strptime(m["ts"], "%d/%b/%Y:%H:%M:%S %z")
    return {
        "ts": ts,
        "method": m["method"],
        "path": m["path"],
        "status": int(m["status"]),
        "ms": round(float(m["rt"]) * 1000),
    }


@pytest.fixture(scope="session")
def parsed(small_demo: Path) -> dict[str, dict]:
    """Per file: its lines, the parsed requests, and the counts of blank and unparseable lines."""
    out = {}
    for name in FILES:
        lines = _lines(small_demo / "logs" / name)
        rows = [_parse(line, name) for line in lines]
        out[name] = {
            "lines": lines,
            "rows": [r for r in rows if r is not None],
            "blank": sum(1 for line in lines if line == ""),
            "bad": sum(1 for line, r in zip(lines, rows) if r is None and line != ""),
        }
    return out


@pytest.fixture(scope="session")
def requests_by_rule(parsed: dict) -> dict:
    """Every parsed request with the Flask rule that Werkzeug matches it to ('405' / '404' when none)."""
    adapter = flask_app.app.url_map.bind("journal.example")
    rules: dict[tuple[str, str], str] = {}
    rows = [r for f in parsed.values() for r in f["rows"]]
    for key in {(r["method"], r["path"]) for r in rows}:
        try:
            rule, _ = adapter.match(key[1], key[0], return_rule=True)
            rules[key] = rule.rule
        except MethodNotAllowed:
            rules[key] = "405"
        except NotFound:
            rules[key] = "404"
    return {"rows": rows, "rule": [rules[(r["method"], r["path"])] for r in rows]}


def _app_routes() -> set[tuple[str, str]]:
    return {(m, r.rule) for r in flask_app.app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}


# --- the Flask app ----------------------------------------------------------------------------------------------


def test_flask_routes_per_blueprint():
    counts = Counter()
    for rule in flask_app.app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0] or "(app)"
        counts[blueprint] += len(rule.methods - {"HEAD", "OPTIONS"})
    assert dict(counts) == {
        "(app)": 3,
        "auth": 5,
        "users": 6,
        "trips": 9,
        "trips.steps": 5,
        "photos": 6,
        "feed": 3,
        "search": 2,
        "admin": 5,
    }
    rules = {r.rule for r in flask_app.app.url_map.iter_rules()}
    assert {
        "/<path:anything>",
        "/trips/by-country/<string(length=2):cc>",
        "/trips/top/<int(min=1):n>",
        "/photos/<uuid:photo_id>",
        "/photos/raw/<path:key>",
        "/users/<string:username>/profile",
        "/trips/<int:trip_id>/steps/<int:step_id>",
    } <= rules
    assert flask_app.app.view_functions["admin.users"].view_class is flask_app.UserAdminAPI
    assert flask_app.create_app().url_map.bind("x").match("/trips/3/steps/12") == (
        "trips.steps.get_step",
        {"trip_id": 3, "step_id": 12},
    )


def test_traffic_model_covers_exactly_the_flask_routes():
    assert {(r.method, r.rule) for r in traffic.ROUTES} == _app_routes()
    assert traffic.dead_routes() == [
        ("GET", "/users/<int:user_id>/badges"),
        ("POST", "/photos/<uuid:photo_id>/rotate"),
        ("GET", "/admin/legacy/export"),
    ]


def test_flask_views_use_auth_session_and_files():
    store.reset()  # a freshly seeded database, whatever other tests wrote
    client = flask_app.create_app().test_client()
    assert client.get("/auth/me").get_json() == {"error": "Unauthorized", "status": 401, "detail": "login required"}
    name = store.username(3)
    login = client.post("/auth/login", json={"username": name, "password": f"pw-{name}"})
    assert login.status_code == 200 and login.get_json() == {"user_id": 3, "token": store.token(3)}
    assert client.get("/auth/me").get_json() == {"id": 3, "username": name, "is_admin": False}  # via the session
    assert client.get("/admin/stats").status_code == 403
    admin = {"Authorization": f"Bearer {store.token(store.ADMIN_USER_ID)}"}
    assert client.get("/admin/stats", headers=admin).get_json() == {
        "users": 120,
        "trips": 600,
        "photos": 1500,
        "started": "2026-01-05T00:00:00Z",
    }
    gpx = client.get("/trips/7/export.gpx")
    assert (gpx.status_code, gpx.mimetype) == (200, "application/gpx+xml")
    assert gpx.data.count(b"<trkpt") == store.STEPS_PER_TRIP
    stream = client.get("/feed/stream")
    assert stream.status_code == 200 and stream.data.startswith(b"event: hello\ndata: {\"user\": 3}")
    assert client.get(f"/photos/{store.photo_id(1)}/thumb?size=s").data.startswith(b"P2\n64 1\n255\n")
    assert client.get("/trips/by-country/PRT").get_json()["detail"] == "no such page: /trips/by-country/PRT"
    assert client.get("/wp-login.php").status_code == 404
    assert client.post("/xmlrpc.php").status_code == 405


# --- the FastAPI port -------------------------------------------------------------------------------------------


def _fastapi_rule(rule: str) -> str:
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule)


def test_fastapi_routes_are_the_batch_routes(small_demo: Path):
    # FastAPI 0.165 wraps included routers (app.routes holds _IncludedRouter objects): read its OpenAPI paths.
    routes = {(m.upper(), path) for path, ops in fastapi_app.create_app().openapi()["paths"].items() for m in ops}
    batches = manifest.load(small_demo / "migration.toml")
    assert routes == {(m, _fastapi_rule(r)) for b in batches for m, r in b.routes}
    assert routes == {
        ("GET", "/trips"),
        ("GET", "/trips/{trip_id}"),
        ("GET", "/trips/{trip_id}/steps"),
        ("GET", "/feed"),
        ("GET", "/feed/popular"),
        ("GET", "/users/{user_id}"),
        ("GET", "/search"),
    }


SAMPLE = [
    "/trips",
    "/trips?page=2&sort=distance",
    "/trips?country=pt",
    "/trips/1",
    "/trips/42",
    "/trips/42/steps",
    "/trips/599/steps",
    "/feed",
    "/feed?before=300",
    "/feed/popular",
    "/feed/popular?limit=5",
    "/users/7",
    "/users/120",
    "/search?q=lisbon",
    "/search?q=ka&type=users",
    "/search?q=road%20trip&type=trips",
]


def test_flask_and_fastapi_answer_alike():
    store.reset()
    flask_client = flask_app.create_app().test_client()
    with TestClient(fastapi_app.app) as api:
        for headers in ({}, {"Authorization": f"Bearer {store.token(5)}"}):
            for path in SAMPLE:
                a, b = flask_client.get(path, headers=headers), api.get(path, headers=headers)
                assert (path, a.status_code, a.get_json()) == (path, 200, b.json())
                assert b.status_code == 200
        for path in ("/trips/999999", "/users/0", "/search?q=x", "/trips?sort=name", "/trips/abc"):
            a, b = flask_client.get(path), api.get(path)
            assert (path, a.status_code, a.get_json()) == (path, b.status_code, b.json())
    first = flask_client.get("/trips?per_page=2").get_json()
    assert first == {
        "items": [
            {
                k: first["items"][i][k]
                for k in ("id", "title", "country", "start_date", "end_date", "distance_km", "user_id")
            }
            for i in range(2)
        ],
        "page": 1,
        "per_page": 2,
        "total": first["total"],
    }


def test_flask_and_fastapi_agree_on_paths_from_the_logs(requests_by_rule: dict):
    batch_rules = {r for b in traffic.BATCHES for m, r in b.routes}
    paths = sorted(
        {
            r["path"]
            for r, rule in zip(requests_by_rule["rows"], requests_by_rule["rule"])
            if rule in batch_rules and r["method"] == "GET"
        }
    )[:60]
    assert len(paths) == 60
    flask_client = flask_app.create_app().test_client()
    with TestClient(fastapi_app.app) as api:
        for path in paths:
            a, b = flask_client.get(path), api.get(path)
            assert (path, a.status_code, a.get_json()) == (path, b.status_code, b.json())


def test_queries_are_timed_into_dbtime():
    client = flask_app.create_app().test_client()
    with dbtime.measure() as acc:
        assert client.get("/trips/5").status_code == 200
    assert acc.queries == 3 and acc.ms > 0
    with dbtime.measure() as acc:
        assert fastapi_app.get_trip(5, None).id == 5
        assert fastapi_app.get_user(5).id == 5
    assert acc.queries == 3 + 2 and acc.ms > 0
    with dbtime.measure() as acc:
        client.get("/health", headers={"Authorization": f"Bearer {store.token(2)}"})
    assert acc.queries == 2  # the token lookup, then the health check's own query


# --- the generated files ----------------------------------------------------------------------------------------


def test_line_counts_match_truth(small_demo: Path, truth: dict, parsed: dict):
    assert sorted(p.name for p in (small_demo / "logs").iterdir()) == sorted(FILES)
    counts = {
        name: {"lines": len(p["lines"]), "requests": len(p["rows"]), "blank": p["blank"], "malformed": p["bad"]}
        for name, p in parsed.items()
    }
    assert counts == {
        name: {k: f[k] for k in ("lines", "requests", "blank", "malformed")} for name, f in truth["files"].items()
    }
    assert sum(f["requests"] for f in truth["files"].values()) == truth["requests"] == 50_000
    assert all(f["malformed"] >= 2 and f["blank"] >= 2 for f in truth["files"].values())


def test_log_formats(parsed: dict, real_logs: Path):
    with open(real_logs / "nginx-json-timed" / "access.log") as f:
        real = json.loads(f.readline())
    objs = [r["obj"] for r in parsed["access.json.log"]["rows"]]
    assert {tuple(o) for o in objs} == {tuple(real)} == {tuple(JSON_KEYS)}
    assert {tuple(type(v).__name__ for v in o.values()) for o in objs} == {
        tuple(type(v).__name__ for v in real.values())
    }
    assert {o["time"][-6:] for o in objs} == {"+09:00", "-05:00", "-04:00"}
    assert all(re.fullmatch(r"\d+\.\d{3}", o["request_time"]) for o in objs)
    combined = [r for name in FILES[:2] for r in parsed[name]["rows"]]
    assert {r["ts"].utcoffset() for r in combined} == {dt.timedelta(0)}
    assert all(a["ts"] <= b["ts"] for a, b in zip(combined, combined[1:]))  # .1.gz is the older file
    text = "\n".join(parsed["access.log"]["lines"] + parsed["access.log.1.gz"]["lines"])
    assert '\\x22Scanner\\x22' in text and "?q=" in text and "?utm_source=" in text


def test_time_span_and_cycles(requests_by_rule: dict, truth: dict):
    ts = np.array([r["ts"].timestamp() for r in requests_by_rule["rows"]])
    start, end = (dt.datetime.fromisoformat(truth[k].replace("Z", "+00:00")).timestamp() for k in ("start", "end"))
    assert start <= ts.min() < start + 3600 and end - 3600 < ts.max() < end
    assert (end - start) / 86400 >= 56
    hour = (ts // 3600 % 24).astype(int)
    by_hour = np.bincount(hour, minlength=24)
    assert by_hour[2:5].sum() * 3 < by_hour[11:14].sum()
    weekday = ((ts - start) // 86400 % 7).astype(int)  # START is a Monday
    by_day = np.bincount(weekday, minlength=7)
    assert by_day[5:].mean() < 0.85 * by_day[:5].mean()


def test_manifest_parses_and_matches_truth(small_demo: Path, truth: dict):
    batches = manifest.load(small_demo / "migration.toml")
    assert [(b.name, b.cutover.strftime("%Y-%m-%dT%H:%M:%SZ"), [f"{m} {r}" for m, r in b.routes]) for b in batches] == [
        (b["name"], b["cutover"], [f"{r['method']} {r['rule']}" for r in b["routes"]]) for b in truth["batches"]
    ]
    assert len(batches) >= 3 and len({b.cutover for b in batches}) == len(batches)
    assert {r for b in batches for r in b.routes} <= _app_routes()


def test_truth_states_expected_verdicts(truth: dict):
    def verdicts(batch: dict) -> dict:
        return {(e["method"], e["rule"], e["metric"]): e["verdict"] for e in batch["expected"]}

    better = {
        "p50_ms": "better",
        "p95_ms": "better",
        "p99_ms": "better",
        "error_rate_5xx": "no_change",
        "error_rate_4xx": "no_change",
    }
    same = dict.fromkeys(better, "no_change")
    routes = {b["name"]: [(r["method"], r["rule"]) for r in b["routes"]] for b in truth["batches"]}
    assert routes == {
        "trips-read": [("GET", "/trips/<int:trip_id>"), ("GET", "/trips"), ("GET", "/trips/<int:trip_id>/steps")],
        "feed": [("GET", "/feed"), ("GET", "/feed/popular")],
        "users-search": [("GET", "/users/<int:user_id>"), ("GET", "/search")],
    }
    want = {
        "trips-read": {(m, r, k): v for m, r in routes["trips-read"] for k, v in better.items()},
        "feed": {(m, r, k): v for m, r in routes["feed"] for k, v in same.items()},
        "users-search": {
            **{(m, r, k): v for m, r in routes["users-search"] for k, v in same.items()},
            ("GET", "/users/<int:user_id>", "error_rate_5xx"): "worse",
        },
    }
    assert {b["name"]: verdicts(b) for b in truth["batches"]} == want
    assert truth["dead_routes"] == [
        {"method": "GET", "rule": "/users/<int:user_id>/badges"},
        {"method": "POST", "rule": "/photos/<uuid:photo_id>/rotate"},
        {"method": "GET", "rule": "/admin/legacy/export"},
    ]
    inc = [dt.datetime.fromisoformat(truth["incident"][k].replace("Z", "+00:00")) for k in ("start", "end")]
    assert inc[1] - inc[0] == dt.timedelta(hours=1)
    for b in truth["batches"]:
        cut = dt.datetime.fromisoformat(b["cutover"].replace("Z", "+00:00"))
        assert inc[1] < cut - dt.timedelta(days=8) or inc[0] > cut + dt.timedelta(days=8)


def test_dead_routes_never_called_and_traffic_is_skewed(requests_by_rule: dict, truth: dict):
    methods_rules = Counter(zip((r["method"] for r in requests_by_rule["rows"]), requests_by_rule["rule"]))
    dead = {(d["method"], d["rule"]) for d in truth["dead_routes"]}
    assert dead.isdisjoint(methods_rules)
    live = {(r.method, r.rule) for r in traffic.ROUTES if r.weight > 0}
    assert live <= set(methods_rules)
    assert set(methods_rules) - live == {("POST", "405")}  # bots POSTing to paths that only the catch-all has
    total = sum(methods_rules.values())
    top5 = methods_rules.most_common(5)
    assert sum(n for _, n in top5) / total > 0.5
    assert [k for k, _ in top5][:2] == [("GET", "/feed"), ("GET", "/trips/<int:trip_id>")]
    bots = Counter(
        r["path"] for r, rule in zip(requests_by_rule["rows"], requests_by_rule["rule"]) if rule == "/<path:anything>"
    )
    assert {"/wp-login.php", "/.env", "/favicon.ico"} <= set(bots)


def _window(rows, rules, method, rule, cut, after):
    lo, hi = (cut + dt.timedelta(hours=1), cut + dt.timedelta(days=7)) if after else (cut - dt.timedelta(days=7), cut)
    return [r for r, ru in zip(rows, rules) if ru == rule and r["method"] == method and lo <= r["ts"] < hi]


def test_injected_effects_are_in_the_logs(requests_by_rule: dict, truth: dict):
    rows, rules = requests_by_rule["rows"], requests_by_rule["rule"]
    seen = {}
    for b in truth["batches"]:
        cut = dt.datetime.fromisoformat(b["cutover"].replace("Z", "+00:00"))
        for r in b["routes"]:
            before, after = (_window(rows, rules, r["method"], r["rule"], cut, a) for a in (False, True))
            p50 = [np.median([x["ms"] for x in w]) for w in (before, after)]
            e5 = [np.mean([x["status"] >= 500 for x in w]) for w in (before, after)]
            ratio = p50[1] / p50[0]
            label = "x0.7" if 0.6 <= ratio <= 0.8 else "x1" if 0.85 <= ratio <= 1.18 else f"x{ratio:.2f}"
            seen[(b["name"], r["rule"])] = (label, bool(e5[0] < 0.015), bool(e5[1] < 0.015))
    assert seen == {
        ("trips-read", "/trips/<int:trip_id>"): ("x0.7", True, True),
        ("trips-read", "/trips"): ("x0.7", True, True),
        ("trips-read", "/trips/<int:trip_id>/steps"): ("x0.7", True, True),
        ("feed", "/feed"): ("x1", True, True),
        ("feed", "/feed/popular"): ("x1", True, True),
        ("users-search", "/users/<int:user_id>"): ("x1", True, False),
        ("users-search", "/search"): ("x1", True, True),
    }
    inc = dt.datetime.fromisoformat(truth["incident"]["start"].replace("Z", "+00:00"))
    during = [
        r["status"] >= 500 for r, ru in zip(rows, rules) if inc <= r["ts"] < inc + dt.timedelta(hours=1) and ru != "405"
    ]
    outside = [r["status"] >= 500 for r in rows if not inc <= r["ts"] < inc + dt.timedelta(hours=1)]
    assert np.mean(during) > 0.2 and np.mean(outside) < 0.01


def test_same_seed_same_bytes(tmp_path: Path, small_demo: Path):
    a = demo.generate(tmp_path / "a", requests=20_000, seed=3)
    b = demo.generate(tmp_path / "b", requests=20_000, seed=3)
    demo.generate(tmp_path / "c", requests=20_000, seed=4)
    files = ["truth.json", "migration.toml"] + [f"logs/{f}" for f in FILES]
    assert [(tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files] == [True] * 5
    assert (tmp_path / "c" / "logs" / FILES[0]).read_bytes() != (tmp_path / "a" / "logs" / FILES[0]).read_bytes()
    assert (tmp_path / "a" / "logs/access.log").read_bytes() != (tmp_path / "c" / "logs/access.log").read_bytes()
    assert a.files == b.files and a.requests == 20_000 and a.lines == sum(f["lines"] for f in a.files.values())
    assert str(a).startswith(f"demo (seed 3): 20,000 requests in {a.lines:,} lines over 70 days")


def test_cli_demo(tmp_path: Path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "d"), "--requests", "3000", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo (seed 1): 3,000 requests in ") and "3 batches (trips-read, feed, users-search)" in out
    assert json.loads((tmp_path / "d" / "truth.json").read_text())["requests"] == 3000
    assert cli.main(["demo", "--out", str(tmp_path / "e"), "--requests", "0"]) == 2
    assert capsys.readouterr().err == "strangler: error: --requests must be at least 1, not 0\n"


def test_more_flask_views():
    store.reset()
    client = flask_app.create_app().test_client()
    stats = client.get("/trips/5/stats?unit=mi").get_json()
    assert {k: stats[k] for k in ("trip_id", "unit", "steps", "days", "declared_km")} == {
        "trip_id": 5,
        "unit": "mi",
        "steps": 5,
        "days": 5,
        "declared_km": 1624.9,
    }
    assert client.get("/trips/5/stats?unit=ft").status_code == 400
    owner = store.one("SELECT user_id FROM trips WHERE id = 5")["user_id"]
    auth = {"Authorization": f"Bearer {store.token(owner)}"}
    form = {"trip_id": "5", "step_id": "21", "caption": "sunset", "file": (io.BytesIO(b"jpeg"), "a.jpg", "image/jpeg")}
    up = client.post("/photos", headers=auth, data=form)
    assert up.status_code == 201 and up.headers["Location"] == f"/photos/{up.get_json()['id']}"
    assert client.get(up.headers["Location"]).get_json()["caption"] == "sunset"

    def gif() -> dict:
        return {"trip_id": "5", "file": (io.BytesIO(b"gif"), "a.gif", "image/gif")}

    assert client.post("/photos", headers=auth, data=gif()).status_code == 415
    assert client.post("/photos", data=gif()).status_code == 401
    store.reset()


def test_inverse_normal_and_even_spread():
    u = np.array([1e-9, 1e-4, 0.02, 0.3, 0.5, 0.8, 0.99, 1 - 1e-7])
    assert np.allclose(logs.inverse_normal(u), [statistics.NormalDist().inv_cdf(x) for x in u], atol=1e-7)
    group = np.repeat([0, 1], [10_000, 500])
    spread, other = logs.kronecker(np.random.default_rng(0), group, (logs._STATUS, logs._LATENCY), 2)
    # every run of 1,000 consecutive draws of a group has 3 +- 1 values below 0.003 (iid draws: 3 +- 1.7)
    counts = [(spread[i : i + 1000] < 0.003).sum() for i in range(0, 10_000, 1000)]
    assert min(counts) >= 2 and max(counts) <= 4
    assert (spread[10_000:] < 0.1).sum() == 50
    assert abs(np.corrcoef(spread, other)[0, 1]) < 0.05
