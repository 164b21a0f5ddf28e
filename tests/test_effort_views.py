"""Effort on real code (issue 13): view classes guard their methods with `decorators = [...]`, and routes Flask
adds by itself are never delete candidates. The app is tests/apps/effort_views, read statically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from strangler import attribute, effort, routes, score

APP_DIR = Path(__file__).resolve().parent / "apps" / "effort_views"
APP = str(APP_DIR / "app.py")


def test_view_class_decorators_apply_to_every_method():
    from strangler import static_inventory

    found = pd.DataFrame(static_inventory.scan(APP_DIR).routes)
    metrics, coupling = effort.analyze_routes(found, APP_DIR)
    assert coupling.values.tolist() == [
        # flask-restful's method_decorators as a dict: only for DELETE
        ["DELETE", "/posts", "login_required", "login_required", APP, 34, "class Posts.method_decorators"],
        # MethodView's decorators, inherited from SecureView, for each method of Topics
        ["GET", "/topics", "login_required", "login_required", APP, 15, "class SecureView.decorators"],
        ["GET", "/topics", "extension", "flask_caching.Cache", APP, 15, "class SecureView.decorators"],
        ["POST", "/topics", "login_required", "login_required", APP, 15, "class SecureView.decorators"],
        ["POST", "/topics", "extension", "flask_caching.Cache", APP, 15, "class SecureView.decorators"],
    ]
    # Settings sets its own decorators (admin_required, a project function): the base's are not inherited
    counts = metrics.set_index(["method", "rule"])[["login_required", "extension", "effort"]]
    assert counts.loc[("GET", "/settings")].tolist() == [0, 0, 1.2]
    assert counts.loc[("GET", "/topics")].tolist() == [1, 1, 4.2]
    assert counts.loc[("DELETE", "/posts")].tolist() == [1, 0, 2.2]


def test_static_routes_of_flask_and_of_a_blueprint_are_never_delete_candidates(con):
    routes.inventory_source(con, APP_DIR)
    assert con.execute("SELECT rule, endpoint FROM routes WHERE endpoint LIKE '%static' ORDER BY rule").fetchall() == [
        ("/forum/assets/<path:filename>", "forum.static"),
        ("/static/<path:filename>", "static"),
    ]
    con.execute("""
        INSERT INTO requests (ts, method, path, status, duration_ms, source_id, line_no)
        SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_minutes(i), 'GET', '/topics', 200, 10, 1, i + 1
        FROM range(20) t(i)
    """)
    attribute.attribute(con)
    dead = attribute.dead_routes(con)
    assert sorted(zip(dead["method"], dead["rule"])) == [
        ("DELETE", "/posts"),
        ("GET", "/forum/"),
        ("GET", "/posts"),
        ("GET", "/settings"),
        ("POST", "/topics"),
    ]
    result = score.plan(con, source=APP_DIR)
    assert sorted(zip(result.dead["method"], result.dead["rule"])) == sorted(zip(dead["method"], dead["rule"]))
    kept = result.scores.set_index("rule").loc[["/static/<path:filename>", "/forum/assets/<path:filename>"]]
    assert kept["dead"].tolist() == [False, False] and kept["status"].tolist() == ["proposed", "proposed"]
