"""Before/after review (issue 6): windows, verdicts on injected effects, false positives, too little data,
Flask against FastAPI, the views the notebooks use, the CLI, and the demo's truth.json."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from strangler import cli, db, manifest, progress, review, review_views, simulate
from strangler.errors import StranglerError

UTC = dt.UTC
START = dt.datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
CUT = dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
ALL_METRICS = [
    "requests",
    "error_rate_4xx",
    "error_rate_5xx",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "db_ms",
    "db_queries",
    "bytes",
]


def store(
    con, name: str, cut: dt.datetime, routes: list[tuple[str, str]], position: int = 1, canary: float | None = None
) -> None:
    """Add one batch to the batches table (manifest.store replaces the table, so insert directly)."""
    b = manifest.Batch(name, cut, tuple(routes), canary, position)
    con.executemany(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)",
        [(b.name, m, r, b.cutover, b.canary, b.position) for m, r in b.routes],
    )


def grid(con, comparison: str = "before_after") -> dict:
    rows = con.execute(
        "SELECT batch, method, rule, metric, verdict FROM reviews WHERE comparison = ?", [comparison]
    ).fetchall()
    return {(b, m, r, k): v for b, m, r, k, v in rows}


# --- windows and the shape of the table ---------------------------------------------------------------------


def test_windows_hours_and_rows(con):
    routes = simulate.simulate(con, 30_000, seed=3, start=START, days=20, cutover=CUT, routes=4, batch_routes=2)
    store(con, "b1", CUT, routes)
    result = review.review(con, before_days=7, after_days=2, settle_hours=1)
    t = result.table
    # one row per (route or whole batch, metric), all with the same windows
    assert sorted(set(zip(t["method"], t["rule"]))) == [
        ("*", "*"),
        ("GET", "/api/r0/<int:item_id>"),
        ("GET", "/api/r1/<int:item_id>"),
    ]
    assert sorted(t["metric"].unique()) == sorted(ALL_METRICS)
    assert len(t) == 3 * len(ALL_METRICS)
    assert set(t["comparison"]) == {"before_after"}
    w = t.iloc[0]
    assert (w["cutover_at"], w["before_start"], w["before_end"], w["after_start"], w["after_end"]) == (
        CUT,
        CUT - dt.timedelta(days=7),
        CUT,
        CUT + dt.timedelta(hours=1),
        CUT + dt.timedelta(days=2, hours=1),
    )
    # the after window covers 48 hours of the week; same hours keep exactly those 48 of the 168 before
    assert set(t["hours_after"]) == {48.0} and set(t["hours_before"]) == {48.0}
    assert set(t["same_hours"]) == {True}
    # stored: the table equals what review returned, and the requests counted are the ones in the windows
    stored = con.execute("SELECT count(*), count(DISTINCT metric) FROM reviews").fetchone()
    assert stored == (27, 9)
    # CUT is Thursday 09:00: the after window covers Thursday 10:00 to Saturday 10:00, so before keeps the
    # same 48 hours one week earlier
    n_before = con.execute(
        "SELECT count(*) FROM requests WHERE route = '/api/r0/<int:item_id>' AND ts >= ? AND ts < ?",
        [CUT - dt.timedelta(days=7, hours=-1), CUT - dt.timedelta(days=5, hours=-1)],
    ).fetchone()[0]
    row = t[(t["rule"] == "/api/r0/<int:item_id>") & (t["metric"] == "requests")].iloc[0]
    assert row["n_before"] == n_before
    # without same hours, all 168 hours before are compared
    t2 = review.review(con, before_days=7, after_days=2, same_hours=False).table
    assert set(t2["hours_before"]) == {168.0} and set(t2["hours_after"]) == {48.0}


def test_verdicts_on_injected_effects(con):
    """Latency x 0.7 on r0 and 5xx 0.4 % -> 6 % on r1 are found, exactly, and nothing else on any route."""
    routes = simulate.simulate(
        con,
        100_000,
        seed=2,
        start=START,
        days=28,
        cutover=dt.datetime(2026, 1, 19, 9, tzinfo=UTC),
        effects={0: {"latency": 0.7}, 1: {"error_5xx": 0.06}},
    )
    store(con, "b1", dt.datetime(2026, 1, 19, 9, tzinfo=UTC), routes)
    review.review(con)
    expected = {}
    for rule in ("/api/r0/<int:item_id>", "/api/r1/<int:item_id>", "/api/r2/<int:item_id>"):
        for metric in ALL_METRICS:
            expected[("b1", "GET", rule, metric)] = "no_change"
    for metric in ("p50_ms", "p95_ms", "p99_ms"):
        expected[("b1", "GET", "/api/r0/<int:item_id>", metric)] = "better"
    expected[("b1", "GET", "/api/r1/<int:item_id>", "error_rate_5xx")] = "worse"
    got = {k: v for k, v in grid(con).items() if k[1] != "*"}
    assert got == expected
    # the whole batch: its 5xx rate went up, its median went down (r0 carries most of its traffic)
    whole = {k[3]: v for k, v in grid(con).items() if k[1] == "*"}
    assert whole == {m: "no_change" for m in ALL_METRICS} | {"error_rate_5xx": "worse", "p50_ms": "better"}
    # intervals bracket the injected effect: p95 of r0 falls by 30 %
    p95 = con.execute("""SELECT before, after, ci_low, ci_high FROM reviews
                         WHERE rule = '/api/r0/<int:item_id>' AND metric = 'p95_ms'""").fetchone()
    assert p95[2] < p95[1] - p95[0] < p95[3]
    assert p95[2] / p95[0] < -0.3 < p95[3] / p95[0]


def test_false_positive_rate_twenty_seeds(con):
    """A batch whose routes did not change, 20 seeds: no_change in at least 18 for every metric and route."""
    for seed in range(20):
        cut = CUT + dt.timedelta(hours=seed)
        routes = simulate.simulate(
            con,
            30_000,
            seed=seed,
            start=START,
            days=20,
            cutover=cut,
            routes=4,
            batch_routes=2,
            prefix=f"/s{seed}",
            source_id=seed,
        )
        store(con, f"seed{seed}", cut, routes, position=seed + 1)
    review.review(con)
    calls = Counter()
    for (_batch, method, rule, metric), verdict in grid(con).items():
        route = "*" if method == "*" else rule.split("/", 2)[2]  # r0 / r1 of every seed
        calls[(route, metric, verdict)] += 1
    for route in ("*", "r0/<int:item_id>", "r1/<int:item_id>"):
        for metric in ALL_METRICS:
            assert calls[(route, metric, "no_change")] >= 18, (route, metric, calls)
            assert calls[(route, metric, "insufficient_data")] == 0


def _insert(con, rule: str, per_hour: int, hours: range, cut: dt.datetime, duration_ms: float = 50.0) -> None:
    """`per_hour` requests at minute 30 of each hour offset in `hours` from the cutover, status 200."""
    con.execute(
        """
        INSERT INTO requests (ts, method, path, status, bytes, duration_ms, route, source_id, line_no)
        SELECT ?::TIMESTAMPTZ + to_hours(h::BIGINT) + INTERVAL 30 MINUTE + to_microseconds(k::BIGINT), 'GET', ?,
               200, 100, ? * (1 + k % 10), ?, 0, h * 1000 + k
        FROM range(?, ?) a(h), range(?) b(k)
    """,
        [cut, rule, duration_ms, rule, hours.start, hours.stop, per_hour],
    )


def test_insufficient_data(con):
    """Too few hours or too few requests give insufficient_data with the minimum stated, never a verdict."""
    cut = dt.datetime(2026, 2, 2, 9, tzinfo=UTC)
    _insert(con, "/few", 1, range(-20, 20), cut)  # 20 requests in 20 hours on each side
    _insert(con, "/some", 3, range(-168, 168), cut)  # 504 before, 501 after, every hour
    store(con, "small", cut, [("GET", "/few"), ("GET", "/some"), ("GET", "/none")])
    review.review(con)
    got = grid(con)
    assert {k[3]: v for k, v in got.items() if k[2] == "/few"} == {
        m: "insufficient_data"
        for m in ("requests", "error_rate_4xx", "error_rate_5xx", "p50_ms", "p95_ms", "p99_ms", "bytes")
    }
    assert {k[3]: v for k, v in got.items() if k[2] == "/none"} == {
        m: "insufficient_data"
        for m in ("requests", "error_rate_4xx", "error_rate_5xx", "p50_ms", "p95_ms", "p99_ms", "bytes")
    }
    # enough for rates, p50 and p95, not for p99 (needs 1,000 requests with a duration on each side)
    assert {k[3]: v for k, v in got.items() if k[2] == "/some"} == {
        "requests": "no_change",
        "error_rate_4xx": "no_change",
        "error_rate_5xx": "no_change",
        "p50_ms": "no_change",
        "p95_ms": "no_change",
        "p99_ms": "insufficient_data",
        "bytes": "no_change",
    }
    notes = dict(
        con.execute(
            "SELECT rule || ' ' || metric, note FROM reviews WHERE metric IN ('p99_ms', 'p50_ms') AND method <> '*'"
        ).fetchall()
    )
    assert notes == {
        "/few p50_ms": "needs >= 50 requests with a duration and >= 24 hours with traffic on each side; "
        "has 20 in 20 h before, 19 in 19 h after",
        "/few p99_ms": "needs >= 1000 requests with a duration and >= 24 hours with traffic on each side; "
        "has 20 in 20 h before, 19 in 19 h after",
        "/none p50_ms": "needs >= 50 requests with a duration and >= 24 hours with traffic on each side; "
        "has 0 in 0 h before, 0 in 0 h after",
        "/none p99_ms": "needs >= 1000 requests with a duration and >= 24 hours with traffic on each side; "
        "has 0 in 0 h before, 0 in 0 h after",
        "/some p50_ms": None,
        "/some p99_ms": "needs >= 1000 requests with a duration and >= 24 hours with traffic on each side; "
        "has 504 in 168 h before, 501 in 167 h after",
    }
    ci = con.execute("SELECT ci_low, ci_high FROM reviews WHERE verdict = 'insufficient_data'").fetchall()
    assert set(ci) == {(None, None)}


def test_flask_against_fastapi_in_the_same_window(con):
    """With the router's backend column and a 50 % canary, FastAPI's faster r0 is compared with Flask's."""
    cut = dt.datetime(2026, 1, 19, 9, tzinfo=UTC)
    routes = simulate.simulate(
        con, 100_000, seed=2, start=START, days=28, cutover=cut, backend=True, canary=0.5, effects={0: {"latency": 0.7}}
    )
    store(con, "canary", cut, routes, canary=0.5)
    review.review(con)
    got = grid(con, "flask_vs_fastapi")
    metrics = [m for m in ALL_METRICS if m != "requests"]
    expected = {
        ("canary", "GET", r, m): "no_change"
        for r in ("*", "/api/r0/<int:item_id>", "/api/r1/<int:item_id>", "/api/r2/<int:item_id>")
        for m in metrics
    }
    for m in ("p50_ms", "p95_ms", "p99_ms"):
        expected[("canary", "GET", "/api/r0/<int:item_id>", m)] = "better"
    expected = {(b, "*" if r == "*" else meth, r, m): v for (b, meth, r, m), v in expected.items()}
    expected[("canary", "*", "*", "p50_ms")] = "better"
    assert got == expected
    n = con.execute("""SELECT n_before, n_after, before_start = after_start, hours_before FROM reviews
                       WHERE comparison = 'flask_vs_fastapi' AND rule = '/api/r0/<int:item_id>' AND metric = 'p50_ms'
                    """).fetchone()
    flask, fastapi = con.execute(
        """
        SELECT count(*) FILTER (WHERE backend = 'flask'), count(*) FILTER (WHERE backend = 'fastapi') FROM requests
        WHERE route = '/api/r0/<int:item_id>' AND ts >= ? AND ts < ?""",
        [cut + dt.timedelta(hours=1), cut + dt.timedelta(days=7, hours=1)],
    ).fetchone()
    assert n == (flask, fastapi, True, 168.0)


def test_one_batch_replaces_only_its_rows(con):
    r1 = simulate.simulate(
        con, 20_000, seed=2, start=START, days=20, cutover=CUT, routes=3, batch_routes=1, prefix="/a"
    )
    r2 = simulate.simulate(
        con, 20_000, seed=3, start=START, days=20, cutover=CUT, routes=3, batch_routes=1, prefix="/b", source_id=1
    )
    store(con, "one", CUT, r1, 1)
    store(con, "two", CUT, r2, 2)
    review.review(con)
    before = con.execute("SELECT * FROM reviews WHERE batch = 'one' ORDER BY ALL").fetchall()
    # the same numbers whether a batch is reviewed alone or with the others (each route has its own seed)
    numbers = "SELECT method, rule, metric, before, after, ci_low, ci_high, p_value FROM reviews WHERE batch = 'two' ORDER BY ALL"
    two_with_all = con.execute(numbers).fetchall()
    review.review(con, batch="two")
    alone = con.execute(numbers).fetchall()
    assert [r[:3] for r in alone] == [r[:3] for r in two_with_all]
    assert [r[3:] for r in alone] == [pytest.approx(r[3:], rel=1e-9) for r in two_with_all]  # sums: last bits
    result = review.review(con, batch="two", after_days=3)
    assert result.batches == ["two"] and set(result.table["batch"]) == {"two"}
    assert con.execute("SELECT * FROM reviews WHERE batch = 'one' ORDER BY ALL").fetchall() == before
    ends = con.execute("SELECT batch, after_end - cutover_at, count(*) FROM reviews GROUP BY ALL ORDER BY 1").fetchall()
    assert ends == [("one", dt.timedelta(days=7, hours=1), 18), ("two", dt.timedelta(days=3, hours=1), 18)]


def test_user_mistakes(con):
    with pytest.raises(StranglerError, match="table batches is empty"):
        review.review(con)
    store(con, "b", CUT, [("GET", "/x")])
    with pytest.raises(StranglerError, match=r"batch 'nope' is not in the manifest; its batches are: b"):
        review.review(con, batch="nope")
    with pytest.raises(StranglerError, match="before_days and after_days must be > 0"):
        review.review(con, before_days=0)
    con.execute(
        "INSERT INTO requests (ts, method, path, status, source_id, line_no) "
        "VALUES ('2026-01-15 08:00:00+00', 'GET', '/x', 200, 0, 1)"
    )
    with pytest.raises(StranglerError, match="run strangler attribute"):
        review.review(con)
    con.execute("UPDATE requests SET ts = NULL, route = '/x'")
    with pytest.raises(StranglerError, match="no timestamps"):
        review.review(con)


# --- views for the notebooks -----------------------------------------------------------------------------------


def test_views_on_a_handmade_log(con):
    cut = dt.datetime(2026, 2, 2, 9, tzinfo=UTC)
    con.execute(
        "INSERT INTO routes (framework, method, rule) VALUES "
        "('flask', 'GET', '/a'), ('flask', 'GET', '/b'), ('flask', 'GET', '/c'), ('fastapi', 'GET', '/a')"
    )
    con.executemany(
        "INSERT INTO requests (ts, method, path, status, duration_ms, route, backend, source_id, line_no) "
        "VALUES (?, 'GET', ?, ?, ?, ?, ?, 0, ?)",
        [
            (cut - dt.timedelta(hours=2), "/a", 200, 10.0, "/a", None, 1),
            (cut - dt.timedelta(hours=2), "/a", 500, 30.0, "/a", None, 2),
            (cut - dt.timedelta(hours=1), "/b", 200, 5.0, "/b", None, 3),
            (cut + dt.timedelta(hours=2), "/a", 200, 100.0, "/a", None, 4),
            (cut + dt.timedelta(hours=2), "/a", 404, 1000.0, "/a", "fastapi", 5),
            (cut + dt.timedelta(hours=2), "/b", 200, 5.0, "/b", "flask", 6),
        ],
    )
    store(con, "b1", cut, [("GET", "/a")], canary=0.5)
    assert review.cutover(con, "b1") == cut
    ts = review_views.timeseries(con, "b1", bucket_hours=1)
    # p50 and p95 come from the 1 % latency histogram of the rollups: within 1 % of quantile_cont
    assert ts.drop(columns=["bucket"]).to_dict("records") == [
        {
            "method": "*",
            "rule": "*",
            "route": "(whole batch)",
            "requests": 2,
            "p50_ms": pytest.approx(20.0, rel=0.01),
            "p95_ms": pytest.approx(29.0, rel=0.01),
            "error_rate_4xx": 0.0,
            "error_rate_5xx": 0.5,
            "after_cutover": False,
        },
        {
            "method": "*",
            "rule": "*",
            "route": "(whole batch)",
            "requests": 2,
            "p50_ms": pytest.approx(550.0, rel=0.01),
            "p95_ms": pytest.approx(955.0, rel=0.01),
            "error_rate_4xx": 0.5,
            "error_rate_5xx": 0.0,
            "after_cutover": True,
        },
        {
            "method": "GET",
            "rule": "/a",
            "route": "GET /a",
            "requests": 2,
            "p50_ms": pytest.approx(20.0, rel=0.01),
            "p95_ms": pytest.approx(29.0, rel=0.01),
            "error_rate_4xx": 0.0,
            "error_rate_5xx": 0.5,
            "after_cutover": False,
        },
        {
            "method": "GET",
            "rule": "/a",
            "route": "GET /a",
            "requests": 2,
            "p50_ms": pytest.approx(550.0, rel=0.01),
            "p95_ms": pytest.approx(955.0, rel=0.01),
            "error_rate_4xx": 0.5,
            "error_rate_5xx": 0.0,
            "after_cutover": True,
        },
    ]
    assert [b.isoformat() for b in ts["bucket"]] == ["2026-02-02T07:00:00+00:00", "2026-02-02T11:00:00+00:00"] * 2
    hist = review_views.latency_histogram(con, "b1", bins_per_decade=1)
    assert hist[hist["method"] == "GET"][["side", "bin_low_ms", "bin_high_ms", "requests", "share"]].to_dict(
        "records"
    ) == [
        {"side": "before", "bin_low_ms": 10.0, "bin_high_ms": 100.0, "requests": 2, "share": 1.0},
        {"side": "after", "bin_low_ms": 100.0, "bin_high_ms": 1000.0, "requests": 1, "share": 0.5},
        {"side": "after", "bin_low_ms": 1000.0, "bin_high_ms": 10000.0, "requests": 1, "share": 0.5},
    ]
    # progress: 3 Flask routes, one migrated from the cutover; FastAPI traffic measured where logged, else
    # what the manifest implies (the 50 % canary of /a after cutover)
    prog = progress.progress(con, bucket_hours=1)
    assert [b.hour for b in prog["bucket"]] == [7, 8, 11]
    assert prog.drop(columns=["bucket"]).to_dict("records") == [
        {
            "requests": 2,
            "fastapi_requests": 0.0,
            "share_traffic_fastapi": 0.0,
            "routes_total": 3,
            "routes_migrated": 0,
            "share_routes_migrated": 0.0,
            "fastapi_measured": 0.0,
        },
        {
            "requests": 1,
            "fastapi_requests": 0.0,
            "share_traffic_fastapi": 0.0,
            "routes_total": 3,
            "routes_migrated": 0,
            "share_routes_migrated": 0.0,
            "fastapi_measured": 0.0,
        },
        {
            "requests": 3,
            "fastapi_requests": 1.5,
            "share_traffic_fastapi": 0.5,
            "routes_total": 3,
            "routes_migrated": 1,
            "share_routes_migrated": 1 / 3,
            "fastapi_measured": 2 / 3,
        },
    ]
    by_batch = progress.progress_by_batch(con, bucket_hours=1)
    assert by_batch.drop(columns=["bucket"]).to_dict("records") == [
        {
            "batch": "b1",
            "position": 1,
            "requests": 2,
            "share_traffic": 1.0,
            "share_traffic_fastapi": 0.0,
            "migrated": False,
            "verdict": "not reviewed",
        },
        {
            "batch": "b1",
            "position": 1,
            "requests": 0,
            "share_traffic": 0.0,
            "share_traffic_fastapi": 0.0,
            "migrated": False,
            "verdict": "not reviewed",
        },
        {
            "batch": "b1",
            "position": 1,
            "requests": 2,
            "share_traffic": 2 / 3,
            "share_traffic_fastapi": 0.5,
            "migrated": True,
            "verdict": "not reviewed",
        },
    ]
    assert review.ensure_reviewed(con) == ["b1"]
    assert review.ensure_reviewed(con) == []
    assert review.batch_verdicts(con).drop(columns=["cutover_at"]).to_dict("records") == [
        {"batch": "b1", "position": 1, "routes": 1, "verdict": "insufficient_data", "worse_on": None}
    ]


def test_ensure_reviewed_reviews_the_missing_batches_in_manifest_order(con):
    routes = simulate.simulate(con, 20_000, seed=3, start=START, days=28, cutover=CUT)
    store(con, "late", CUT + dt.timedelta(days=3), routes[2:3], position=3)
    store(con, "first", CUT, routes[:1], position=1)
    store(con, "middle", CUT + dt.timedelta(days=1), routes[1:2], position=2)
    assert review.batch_names(con) == ["first", "middle", "late"]
    review.review(con, batch="middle")
    assert review.ensure_reviewed(con) == ["first", "late"]
    assert review.ensure_reviewed(con) == []
    assert con.execute("SELECT DISTINCT batch FROM reviews ORDER BY 1").fetchall() == [
        ("first",),
        ("late",),
        ("middle",),
    ]


def test_summary_sentences(con):
    cut = dt.datetime(2026, 1, 19, 9, tzinfo=UTC)
    routes = simulate.simulate(
        con, 100_000, seed=2, start=START, days=28, cutover=cut, effects={0: {"latency": 0.7}, 1: {"error_5xx": 0.06}}
    )
    store(con, "b1", cut, routes)
    review.review(con)
    s = review_views.summaries(con, "b1")
    assert list(s["route"]) == [
        "(whole batch)",
        "GET /api/r0/<int:item_id>",
        "GET /api/r1/<int:item_id>",
        "GET /api/r2/<int:item_id>",
    ]
    assert list(s["sentence"]) == [
        # quantiles from the 1 % histogram of the rollups: each within 1 % of the raw rows' (which read -22 %,
        # -31 %/48 ms, 71 ms; the intervals move by a point where the bootstrap reads 1 % buckets)
        "(whole batch): worse: 5xx rate 0.40 % → 1.71 % (+1.30 points, 95 % CI +1.07 to +1.55); better: p50 28 ms "
        "→ 22 ms (-21 %, 95 % CI -26 % to -17 %) — 17,646 requests before, 17,419 after.",
        "GET /api/r0/<int:item_id>: better: p50 20 ms → 14 ms (-32 %, 95 % CI -36 % to -28 %); p95 49 ms → 33 ms "
        "(-32 %, 95 % CI -36 % to -27 %); p99 70 ms → 47 ms (-33 %, 95 % CI -39 % to -26 %) — 10,255 requests "
        "before, 10,028 after.",
        "GET /api/r1/<int:item_id>: worse: 5xx rate 0.50 % → 5.83 % (+5.33 points, 95 % CI +4.47 to +6.19) — 4,173 "
        "requests before, 4,183 after.",
        "GET /api/r2/<int:item_id>: no detectable change (p95 144 ms → 144 ms, 5xx rate 0.28 % → 0.28 %) — 3,218 "
        "requests before, 3,208 after.",
    ]
    assert review.batch_verdicts(con)[["batch", "verdict", "worse_on"]].to_dict("records") == [
        {
            "batch": "b1",
            "verdict": "worse",
            "worse_on": "(whole batch) error_rate_5xx; GET /api/r1/<int:item_id> error_rate_5xx",
        }
    ]


# --- CLI ------------------------------------------------------------------------------------------------------


def test_cli_review(db_path, tmp_path, capsys):
    con = db.connect(db_path)
    cut = dt.datetime(2026, 1, 19, 9, tzinfo=UTC)
    simulate.simulate(con, 40_000, seed=4, start=START, days=28, cutover=cut, routes=3, batch_routes=2)
    con.close()
    m = tmp_path / "migration.toml"
    m.write_text(
        '[[batch]]\nname = "first"\ncutover = 2026-01-19T09:00:00Z\n'
        'routes = ["GET /api/r0/<int:item_id>", "GET /api/r1/<int:item_id>"]\n'
    )
    assert (
        cli.main(["review", "--db", str(db_path), "--manifest", str(m), "--after-days", "3", "--settle-hours", "2"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "reviewed 1 batch(es): before 7 d, after 3 d after 2 h settling, "
        "same hours of the week; 27 rows in table reviews"
    )
    assert out.splitlines()[2].split() == ["first", "(whole", "batch)", ".", ".", ".", ".", ".", ".", ".", ".", "."]
    assert cli.main(["review", "--db", str(db_path), "--manifest", str(m), "--batch", "second"]) == 2
    assert capsys.readouterr().err == (
        "strangler: error: batch 'second' is not in the manifest; its batches are: first\n"
    )
    con = db.connect(db_path, read_only=True)
    assert con.execute("SELECT DISTINCT after_end - after_start FROM reviews").fetchall() == [(dt.timedelta(days=3),)]
    con.close()


# --- the demo: verdicts equal what was injected ----------------------------------------------------------------


@pytest.mark.slow
def test_demo_verdicts_equal_truth(tmp_path):
    from strangler import attribute, demo, ingest, routes

    out = tmp_path / "demo"
    demo.generate(out, requests=300_000, seed=7)
    con = db.connect(tmp_path / "demo.duckdb")
    ingest.ingest(con, [str(out / "logs")])
    routes.inventory_apps(con, ["strangler.demo.flask_app:app"])
    attribute.attribute(con)
    manifest.store(con, manifest.load(out / "migration.toml"))
    review.review(con)
    truth = json.loads((out / "truth.json").read_text())
    expected, got = {}, {}
    verdicts = grid(con)
    for b in truth["batches"]:
        for e in b["expected"]:
            key = (b["name"], e["method"], e["rule"], e["metric"])
            expected[key] = e["verdict"]
            got[key] = verdicts.get(key)
    assert len(expected) >= 3 * 5
    assert got == expected
    con.close()


# --- the notebooks, run by papermill in a real kernel -----------------------------------------------------------


@pytest.mark.slow
def test_notebooks_04_and_05(db_path, tmp_path):
    import nbformat
    import papermill as pm

    from strangler import report

    con = db.connect(db_path)
    cut = dt.datetime(2026, 1, 19, 9, tzinfo=UTC)
    simulate.simulate(
        con, 40_000, seed=2, start=START, days=28, cutover=cut, routes=4, batch_routes=2, effects={0: {"latency": 0.7}}
    )
    con.close()
    m = tmp_path / "migration.toml"
    m.write_text(
        '[[batch]]\nname = "<b>first</b>"\ncutover = 2026-01-19T09:00:00Z\n'
        'routes = ["GET /api/r0/<int:item_id>", "GET /api/r1/<int:item_id>"]\n'
        '[[batch]]\nname = "later"\ncutover = 2026-03-01T09:00:00Z\nroutes = ["GET /api/r2/<int:item_id>"]\n'
    )
    root = Path(__file__).resolve().parent.parent / "notebooks"
    outputs = {}
    for stem, params in (("04_batch_review", {"batch": "<b>first</b>", "after_days": 5}), ("05_progress", {})):
        out = tmp_path / f"{stem}.ipynb"
        pm.execute_notebook(
            str(root / f"{stem}.ipynb"),
            str(out),
            kernel_name=report.kernel_name(),
            parameters={"db": str(db_path), "manifest": str(m), **params},
            progress_bar=False,
        )
        outputs[stem] = nbformat.read(out, as_version=4)

    def summary(nb) -> str:
        cell = [c for c in nb.cells if "summary" in c.metadata.get("tags", [])]
        assert len(cell) == 1 and cell[0] is nb.cells[-1]
        return "".join(o["text"] for o in cell[0].outputs if o["output_type"] == "stream")

    def charts_shown(nb) -> int:
        return sum(
            o.get("data", {}).get("text/html", "").count('class="strangler-chart"')
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
        )

    assert summary(outputs["04_batch_review"]) == (
        "<b>first</b> (cutover 2026-01-19 09:00 UTC): better — whole batch p50 -26 %; 2 routes: 0 worse, 1 better.\n"
    )
    assert summary(outputs["05_progress"]) == (
        "2 of 4 routes migrated; 72% of traffic on FastAPI on 2026-02-01; verdicts: <b>first</b> better, "
        "later insufficient_data.\n"
    )
    assert charts_shown(outputs["04_batch_review"]) == 4
    assert charts_shown(outputs["05_progress"]) == 2
    # names from the manifest are shown escaped in the tables
    html = "".join(
        o.get("data", {}).get("text/html", "")
        for c in outputs["05_progress"].cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "&lt;b&gt;first&lt;/b&gt;" in html and "<b>first</b>" not in html.replace("\\u003cb\\u003e", "")
    con = db.connect(db_path, read_only=True)
    assert con.execute("SELECT batch, min(after_end - after_start) FROM reviews GROUP BY 1 ORDER BY 1").fetchall() == [
        ("<b>first</b>", dt.timedelta(days=5)),
        ("later", dt.timedelta(days=7)),
    ]
    con.close()
