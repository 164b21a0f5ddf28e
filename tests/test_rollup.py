"""Rollups (issue 15): the latency sketch, rollups against the raw rows they summarise, merging, incrementality,
Parquet, and the reports from a rollup directory alone."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strangler import attribute, cli, db, ingest, manifest, progress, review, rollup, routes, score, sketch
from strangler.errors import StranglerError

APPS = ["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"]
DEMO_SOURCE = Path(__file__).resolve().parent.parent / "lib" / "strangler" / "demo"
KEY = list(db.ROLLUP_KEY)

# --- the sketch -------------------------------------------------------------------------------------------------


def _heavy_tailed() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "lognormal": rng.lognormal(3.0, 1.5, 200_000),
        "pareto": (rng.pareto(1.1, 200_000) + 1) * 4.0,
        "with zeros": np.concatenate([rng.lognormal(0.0, 2.0, 50_000), np.zeros(500), np.full(100, 1e-4)]),
    }


@pytest.mark.parametrize("name", ["lognormal", "pareto", "with zeros"])
def test_quantiles_from_the_histogram_are_within_one_percent(con, name):
    x = _heavy_tailed()[name]
    con.execute("CREATE TABLE d AS SELECT unnest($x) AS ms", {"x": x.tolist()})
    in_sql = [r[0] for r in con.execute(f"SELECT {sketch.bucket_sql('ms')} FROM d").fetchall()]
    assert in_sql == [sketch.bucket_of(float(v)) for v in x]  # DuckDB and Python put every value in the same bucket
    con.execute(f"CREATE TABLE h AS SELECT {sketch.bucket_sql('ms')} AS bucket, count(*) AS n FROM d GROUP BY 1")
    qs = {"p01": 0.01, "p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999, "top": 1.0}
    from_sql = con.execute(sketch.quantiles_sql("SELECT * FROM h", [], qs)).fetchone()
    buckets, counts = zip(*con.execute("SELECT bucket, n FROM h").fetchall())
    exact = np.quantile(x, list(qs.values()))  # linear, as DuckDB's quantile_cont
    for got_sql, q, want in zip(from_sql, qs.values(), exact):
        got = sketch.quantile(buckets, counts, q)
        assert got == pytest.approx(got_sql, rel=1e-12)
        assert got == pytest.approx(want, rel=sketch.ALPHA, abs=sketch.MIN_MS)  # below MIN_MS reads 0
    assert sketch.quantile([], [], 0.5) != sketch.quantile([], [], 0.5)  # NaN for an empty histogram


def test_bucket_bounds_and_zero():
    g = sketch.GAMMA
    assert g == pytest.approx(1.01 / 0.99)
    for i in (-300, -1, 0, 1, 57, 700):
        upper = g**i
        assert sketch.bucket_of(upper * (1 - 1e-9)) == i and sketch.bucket_of(upper * (1 + 1e-9)) == i + 1
        centre = sketch.value_of(i)
        assert abs(centre - upper) / upper <= sketch.ALPHA + 1e-12
        assert abs(centre - upper / g) / (upper / g) <= sketch.ALPHA + 1e-12
    assert [sketch.bucket_of(v) for v in (0.0, -3.0, 0.0009)] == [sketch.ZERO] * 3
    assert sketch.bucket_of(None) is None and sketch.value_of(sketch.ZERO) == 0.0


# --- the demo: rollups against raw rows ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(small_demo, tmp_path_factory) -> Path:
    """The small demo ingested, inventoried (both apps), attributed, manifest stored, rolled up."""
    path = tmp_path_factory.mktemp("rollup_demo") / "demo.duckdb"
    con = db.connect(path)
    ingest.ingest(con, [str(small_demo / "logs")])
    routes.inventory_apps(con, APPS)
    manifest.store(con, manifest.load(small_demo / "migration.toml"))
    attribute.attribute(con)
    result = rollup.build(con)
    assert result.requests == con.execute("SELECT count(*) FROM requests").fetchone()[0] == 50_000
    con.close()
    return path


# the rollups recomputed from the raw rows, independently of rollup.py
RAW_ROLLUPS = """
SELECT to_timestamp(epoch_us(q.ts) // 3600000000 * 3600) AS hour, q.method, q.route, q.route_framework, q.match,
       CASE WHEN q.match <> 'matched' THEN s.shape END AS shape, q.backend, q.status,
       count(*) AS requests, count(q.bytes) AS bytes_n, sum(q.bytes) AS bytes_sum, count(q.duration_ms) AS duration_n,
       count(q.db_ms) AS db_ms_n, sum(q.db_ms) AS db_ms_sum, count(q.db_queries) AS db_queries_n,
       sum(q.db_queries) AS db_queries_sum, min(q.ts) AS first_ts, max(q.ts) AS last_ts,
       CASE WHEN q.match <> 'matched' THEN min(q.path) END AS example_path
FROM requests q LEFT JOIN path_shapes s USING (path) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def _sorted(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return df.sort_values(key, na_position="first").reset_index(drop=True)


def _frame(con, sql: str, key: list[str]) -> pd.DataFrame:
    df = con.execute(sql).df()
    for c in df.columns:
        if c not in ("hour", "first_ts", "last_ts") and df[c].dtype.kind in "iuf":
            df[c] = df[c].astype("float64")
    return _sorted(df, key)


def test_rollups_equal_the_raw_rows_group_for_group(demo_db):
    con = db.connect(demo_db, "read")
    want = _frame(con, RAW_ROLLUPS, KEY)
    got = _frame(con, "SELECT * FROM rollups", KEY)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
    latency = _frame(
        con,
        f"SELECT to_timestamp(epoch_us(q.ts) // 3600000000 * 3600) AS hour, q.method, q.route, q.route_framework, "
        f"q.match, CASE WHEN q.match <> 'matched' THEN s.shape END AS shape, q.backend, q.status, "
        f"{sketch.bucket_sql('q.duration_ms')} AS bucket, count(*) AS n "
        "FROM requests q LEFT JOIN path_shapes s USING (path) WHERE q.duration_ms IS NOT NULL GROUP BY ALL",
        KEY + ["bucket"],
    )
    pd.testing.assert_frame_equal(_frame(con, "SELECT * FROM rollup_latency", KEY + ["bucket"]), latency)
    peaks = _frame(
        con,
        """SELECT hour, route_framework, route, route_method, max(n) AS peak_rps FROM (
               SELECT to_timestamp(epoch_us(ts) // 3600000000 * 3600) AS hour, route_framework, route,
                      CASE WHEN method = 'HEAD' THEN 'GET' ELSE method END AS route_method,
                      date_trunc('second', ts), count(*) AS n
               FROM requests WHERE route IS NOT NULL AND ts IS NOT NULL GROUP BY ALL) GROUP BY ALL""",
        ["hour", "route_framework", "route", "route_method"],
    )
    pd.testing.assert_frame_equal(_frame(con, "SELECT * FROM rollup_peaks", list(peaks.columns[:4])), peaks)
    con.close()


def test_endpoints_unmatched_and_coverage_equal_the_raw_rows(demo_db):
    con = db.connect(demo_db, "read")
    got = attribute.endpoints(con).set_index(["framework", "method", "rule"])
    raw = con.execute("""
        SELECT route_framework AS framework, CASE WHEN method = 'HEAD' THEN 'GET' ELSE method END AS method,
               route AS rule, count(*) AS requests, count(*) / (SELECT count(*) FROM requests) AS share,
               avg((status BETWEEN 400 AND 499)::INTEGER) AS rate_4xx, avg((status >= 500)::INTEGER) AS rate_5xx,
               quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
               quantile_cont(duration_ms, 0.99) AS p99_ms, min(ts) AS first_seen, max(ts) AS last_seen
        FROM requests WHERE route IS NOT NULL GROUP BY ALL
    """).df()
    peak = con.execute("""
        SELECT route_framework AS framework, CASE WHEN method = 'HEAD' THEN 'GET' ELSE method END AS method,
               route AS rule, max(n) AS peak_rps
        FROM (SELECT route_framework, method, route, date_trunc('second', ts), count(*) AS n FROM requests
              WHERE route IS NOT NULL GROUP BY ALL) GROUP BY ALL
    """).df()
    raw = raw.merge(peak, on=["framework", "method", "rule"]).set_index(["framework", "method", "rule"])
    assert len(raw) == 41 and (got.loc[raw.index, "requests"] == raw["requests"]).all()
    assert int(got["requests"].sum()) == int(raw["requests"].sum()) and (got.drop(raw.index)["requests"] == 0).all()
    for col in ("share", "rate_4xx", "rate_5xx"):
        np.testing.assert_allclose(got.loc[raw.index, col], raw[col], rtol=1e-12)
    assert (got.loc[raw.index, "peak_rps"] == raw["peak_rps"]).all()
    for col in ("first_seen", "last_seen"):
        assert (got.loc[raw.index, col] == raw[col]).all()
    for col in ("p50_ms", "p95_ms", "p99_ms"):
        np.testing.assert_allclose(got.loc[raw.index, col], raw[col], rtol=sketch.ALPHA)
    unmatched = attribute.unmatched(con, limit=50)
    want = con.execute("""
        SELECT s.shape, match, count(*) AS requests, string_agg(DISTINCT method, ' ' ORDER BY method) AS methods,
               string_agg(DISTINCT CAST(status AS VARCHAR), ' ' ORDER BY CAST(status AS VARCHAR)) AS statuses,
               min(r.path) AS example
        FROM requests r LEFT JOIN path_shapes s USING (path) WHERE match <> 'matched'
        GROUP BY s.shape, match ORDER BY requests DESC, s.shape, match LIMIT 50
    """).df()
    assert len(want) and unmatched.to_dict("records") == want.to_dict("records")
    counts = dict(con.execute("SELECT match, count(*) FROM requests GROUP BY match").fetchall())
    assert attribute.coverage(con) == {
        "requests": 50_000,
        "matched": counts.get("matched", 0),
        "method_not_allowed": counts.get("method_not_allowed", 0),
        "redirect": counts.get("redirect", 0),
        "unmatched": counts.get("unmatched", 0),
        "pending": 0,
    }
    con.close()


def test_plan_values_equal_the_raw_rows(demo_db):
    con = db.connect(demo_db)
    s = score.plan(con, source=DEMO_SOURCE).scores.set_index(["method", "rule"])
    raw = (
        con.execute("""
        SELECT CASE WHEN method = 'HEAD' THEN 'GET' ELSE method END AS method, route AS rule, count(*) AS requests,
               avg((status >= 500)::INTEGER) AS rate_5xx, avg((status BETWEEN 400 AND 499)::INTEGER) AS rate_4xx,
               avg((status >= 400)::INTEGER) AS error_rate, quantile_cont(duration_ms, 0.95) AS p95_ms
        FROM requests WHERE route_framework = 'flask' GROUP BY ALL
    """)
        .df()
        .set_index(["method", "rule"])
    )
    total = con.execute("SELECT count(*) FROM requests WHERE route IS NOT NULL").fetchone()[0]
    assert (s.loc[raw.index, "requests"] == raw["requests"]).all()
    np.testing.assert_allclose(s.loc[raw.index, "share"], raw["requests"] / total, rtol=1e-12)
    for col in ("rate_5xx", "rate_4xx", "error_rate"):
        np.testing.assert_allclose(s.loc[raw.index, col], raw[col], rtol=1e-12)
    np.testing.assert_allclose(s.loc[raw.index, "p95_ms"], raw["p95_ms"], rtol=sketch.ALPHA)
    con.close()


def test_review_and_progress_equal_the_raw_rows_and_the_truth(demo_db, truth):
    con = db.connect(demo_db)
    review.review(con)
    t = con.execute("SELECT * FROM reviews WHERE comparison = 'before_after'").df()
    expected = {
        (b["name"], e["method"], e["rule"], e["metric"]): e["verdict"] for b in truth["batches"] for e in b["expected"]
    }
    # the 50 k demo is too small for some verdicts (p99 needs 1,000 requests a side): those must say so; every
    # other verdict is the injected one (tests/test_compare.py checks them all on a 300 k demo)
    min_n = {m.name: m.min_n for m in review.METRICS}
    rows = {(r.batch, r.method, r.rule, r.metric): r for r in t.itertuples()}
    got = {k: rows[k].verdict for k in expected}
    small = {k for k in expected if min(rows[k].n_before, rows[k].n_after) < min_n[k[3]]}
    # too few requests for the injected 30 % to clear Holm's test at p95 of this route in the 50 k demo: the raw-row
    # engine before the rollups said no_change here too (all 70 before/after verdicts of the 50 k demo were equal)
    small.add(("trips-read", "GET", "/trips/<int:trip_id>/steps", "p95_ms"))
    assert {k: v for k, v in got.items() if k not in small} == {k: v for k, v in expected.items() if k not in small}
    assert {got[k] for k in small} <= {"insufficient_data", "no_change"} and len(expected) - len(small) >= 15
    # before and after of every route and metric against the raw rows of the same windows (7 days, 1 h settling:
    # every hour of the week on both sides)
    for r in t[t["method"] != "*"].itertuples():
        if r.metric in ("db_ms", "db_queries"):
            continue
        for side, lo, hi, value, n in (
            ("before", r.before_start, r.before_end, r.before, r.n_before),
            ("after", r.after_start, r.after_end, r.after, r.n_after),
        ):
            raw = con.execute(
                """SELECT count(*), count(duration_ms), avg((status BETWEEN 400 AND 499)::INTEGER),
                          avg((status BETWEEN 500 AND 599)::INTEGER), avg(bytes), count(bytes),
                          quantile_cont(duration_ms, [0.5, 0.95, 0.99])
                   FROM requests WHERE method = ? AND route = ? AND ts >= ? AND ts < ?""",
                [r.method, r.rule, lo, hi],
            ).fetchone()
            hours = (hi - lo) / pd.Timedelta(hours=1)
            want = {
                "requests": (raw[0] / hours, raw[0]),
                "error_rate_4xx": (raw[2], raw[0]),
                "error_rate_5xx": (raw[3], raw[0]),
                "bytes": (raw[4], raw[5]),
                "p50_ms": (raw[6][0] if raw[6] else None, raw[1]),
                "p95_ms": (raw[6][1] if raw[6] else None, raw[1]),
                "p99_ms": (raw[6][2] if raw[6] else None, raw[1]),
            }[r.metric]
            assert n == want[1], (r.batch, r.rule, r.metric, side)
            if want[0] is None:
                assert value is None or math.isnan(value)
            else:
                rel = sketch.ALPHA if r.metric.startswith("p") else 1e-12
                assert value == pytest.approx(want[0], rel=rel), (r.batch, r.rule, r.metric, side)
    # progress: requests per day exact, FastAPI's share as the manifest implies
    prog = progress.progress(con, bucket_hours=24)
    raw = con.execute("""
        SELECT to_timestamp(epoch_us(r.ts) // 86400000000 * 86400) AS bucket, count(*) AS requests,
               sum(CASE WHEN b.batch IS NOT NULL AND r.ts >= b.cutover_at THEN 1.0 ELSE 0.0 END) AS fastapi_requests
        FROM requests r LEFT JOIN batches b ON r.method = b.method AND r.route = b.rule
        WHERE r.ts IS NOT NULL GROUP BY ALL ORDER BY bucket
    """).df()
    assert prog["requests"].tolist() == raw["requests"].tolist() and len(prog) == 70
    np.testing.assert_allclose(prog["fastapi_requests"], raw["fastapi_requests"])
    con.close()


# --- merging, incrementality, Parquet -----------------------------------------------------------------------------


def _rollups_of(tmp_path: Path, name: str, demo_db: Path, where: str) -> Path:
    """A copy of the demo database holding only the requests `where` selects, rolled up."""
    path = tmp_path / f"{name}.duckdb"
    con = db.connect(path)
    con.execute(f"ATTACH '{demo_db}' AS src (READ_ONLY)")
    for table in ("routes", "path_shapes", "batches"):
        con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    con.execute(f"INSERT INTO requests SELECT * FROM src.requests WHERE {where}")
    con.execute("DETACH src")
    rollup.build(con)
    con.close()
    return path


def _tables(con) -> dict[str, pd.DataFrame]:
    keys = {"rollups": KEY, "rollup_latency": KEY + ["bucket"], "rollup_peaks": ["hour", "route", "route_method"]}
    return {t: _frame(con, f"SELECT * FROM {t}", k) for t, k in keys.items()}


@pytest.mark.parametrize(
    "split",
    [
        "ts < TIMESTAMPTZ '2026-02-09 00:00:00+00'",  # two halves in time: every column merges exactly
        "line_no % 2 = 0",  # interleaved halves: all but the busiest second, which merges by max (below the truth)
    ],
)
def test_rollups_of_two_halves_merged_equal_the_rollups_of_the_whole(demo_db, tmp_path, split):
    a = _rollups_of(tmp_path, "a", demo_db, f"({split})")
    b = _rollups_of(tmp_path, "b", demo_db, f"NOT ({split}) OR ({split}) IS NULL")
    con = db.connect(tmp_path / "merged.duckdb")
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    for table, merge in rollup.MERGE.items():
        con.execute(
            f"INSERT INTO {table} {merge.format(rows=f'SELECT * FROM a.{table} UNION ALL SELECT * FROM b.{table}')}"
        )
    whole = db.connect(demo_db, "read")
    want, got = _tables(whole), _tables(con)
    pd.testing.assert_frame_equal(got["rollups"], want["rollups"])
    pd.testing.assert_frame_equal(got["rollup_latency"], want["rollup_latency"])
    if split.startswith("ts"):
        pd.testing.assert_frame_equal(got["rollup_peaks"], want["rollup_peaks"])
    else:
        merged = got["rollup_peaks"].set_index(["hour", "route", "route_method"])["peak_rps"]
        truth = want["rollup_peaks"].set_index(["hour", "route", "route_method"])["peak_rps"]
        assert (merged <= truth.loc[merged.index]).all() and len(merged) == len(truth)
    whole.close()
    con.close()


LINE = '10.0.0.1 - - [{ts:%d/%b/%Y:%H:%M:%S} +0000] "GET {path} HTTP/1.1" {status} 120 "-" "curl/8" {s:.3f}\n'


def _log(rows: list[tuple[dt.datetime, str, int, float]]) -> str:
    return "".join(LINE.format(ts=ts, path=p, status=st, s=s) for ts, p, st, s in rows)


def test_incremental_rollup_after_a_grown_file(con, tmp_path):
    t0 = dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=dt.UTC)
    first = [
        (t0 + dt.timedelta(minutes=10 * i), f"/trips/{i}", 200 if i % 4 else 500, 0.01 * (1 + i)) for i in range(12)
    ]
    log = tmp_path / "access.log"
    log.write_text(_log(first))
    routes.inventory_apps(con, APPS)
    ingest.ingest(con, [str(log)])
    attribute.attribute(con)
    assert rollup.build(con).mode == "incremental"  # a new source: its hours (10:00 and 11:00)
    before = _tables(con)
    assert sorted(before["rollups"]["hour"].dt.hour.unique()) == [10, 11]
    # the file grows: one line in 11:00, three in 13:00; nothing lands in 10:00
    grown = [
        (t0 + dt.timedelta(hours=1, minutes=59), "/trips/99", 404, 0.5),
        *[(t0 + dt.timedelta(hours=3, minutes=i), "/trips", 200, 0.002) for i in range(3)],
    ]
    with log.open("a") as f:
        f.write(_log(grown))
    assert "grew" in str(ingest.ingest(con, [str(log)]))
    attribute.attribute(con)
    result = rollup.build(con)
    assert (result.mode, result.hours, result.requests) == ("incremental", 2, 16)
    after = _tables(con)
    ten = after["rollups"]["hour"].dt.hour == 10
    pd.testing.assert_frame_equal(
        after["rollups"][ten].reset_index(drop=True),
        before["rollups"][before["rollups"]["hour"].dt.hour == 10].reset_index(drop=True),
    )
    per_hour = after["rollups"].groupby(after["rollups"]["hour"].dt.hour)["requests"].sum().to_dict()
    assert per_hour == {10: 6.0, 11: 7.0, 13: 3.0}
    assert str(rollup.build(con)).startswith("rollups up to date: nothing to add")
    # the same as rolling up everything again
    rollup.build(con, full=True)
    for name, frame in _tables(con).items():
        pd.testing.assert_frame_equal(frame, after[name])
    # attributing again under other routes changes old rows: everything is rolled up again
    con.execute("DELETE FROM routes WHERE rule = '/trips'")
    attribute.attribute(con)
    assert rollup.build(con).mode == "full"
    thirteen = con.execute(
        "SELECT DISTINCT route, match FROM rollups WHERE hour = ?", [t0 + dt.timedelta(hours=3)]
    ).fetchall()
    assert thirteen == con.execute("SELECT DISTINCT route, match FROM requests WHERE path = '/trips'").fetchall()
    assert ("/trips", "matched") not in thirteen


def test_windows_and_buckets_on_rollups_are_whole_hours():
    assert rollup.window("2026-03-02", "2026-03-03T10:00:00+02:00")[1] == {
        "start": dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        "end": dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC),
    }
    with pytest.raises(StranglerError, match="not on a whole hour"):
        rollup.window(None, "2026-03-02T10:15:00Z")
    with pytest.raises(StranglerError, match="whole number of hours"):
        rollup.step_us(0.5)


def test_parquet_directory_reads_like_the_database(demo_db, tmp_path, capsys):
    out = tmp_path / "rollups"
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    assert cli.main(["rollup", "--db", str(copy), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("rollups up to date: nothing to add; 50,000 requests in ")
    assert printed[1:] == [f"wrote {out / t}" for t in db.ROLLUP_TABLES] + [
        f"wrote {out / t}.parquet" for t in db.ROLLUP_SIDE_TABLES
    ]
    days = sorted(p.name for p in (out / "rollups").iterdir())
    assert len(days) == 70 and days[0] == "day=2026-01-05" and days[-1] == "day=2026-03-15"
    pq = rollup.open_dir(out)
    raw = db.connect(demo_db, "read")
    assert not rollup.has_raw(pq) and attribute.pending(pq) == 0
    for name, frame in _tables(raw).items():
        pd.testing.assert_frame_equal(_tables(pq)[name], frame)
    pd.testing.assert_frame_equal(attribute.endpoints(pq), attribute.endpoints(raw))
    assert attribute.summary(pq) == attribute.summary(raw)
    raw.close()
    with pytest.raises(StranglerError, match="is not a rollup directory"):
        rollup.open_dir(copy.parent / "rollups" / "rollups")


@pytest.mark.slow
def test_report_from_parquet_alone(demo_db, small_demo, tmp_path, monkeypatch):
    """`strangler report --rollups DIR` renders 02-05 from the Parquet files, with no database of raw rows."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    con = db.connect(copy)
    rollup.export(con, tmp_path / "rollups")
    con.close()
    copy.unlink()  # no raw rows anywhere
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "reports"
    code = cli.main(
        [
            "report",
            "--rollups",
            str(tmp_path / "rollups"),
            "--manifest",
            str(small_demo / "migration.toml"),
            "--source",
            str(DEMO_SOURCE),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    names = ["02_endpoints", "03_priorities", *[f"04_batch_review-{b}" for b in ("trips-read", "feed", "users-search")]]
    assert sorted(p.stem for p in out.glob("*.html")) == sorted([*names, "05_progress", "index"])
    con = db.connect(out / "rollups.duckdb", "read")
    tables = {
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    assert not tables & {"requests", "rejects", "path_shapes"}  # no raw rows: not even the tables
    truth = json.loads((small_demo / "truth.json").read_text())
    want = {b["name"]: b for b in truth["batches"]}
    got = dict(con.execute("SELECT batch, count(*) FROM reviews GROUP BY batch").fetchall())
    assert set(got) == set(want)
    con.close()
    index = (out / "index.html").read_text()
    assert "trips-read (cutover 2026-01-26 09:00 UTC): better" in index
    assert "users-search (cutover 2026-02-23 09:00 UTC): worse" in index
    assert "verdicts: trips-read better, feed no_change, users-search worse." in index
    assert "99.8% of 50,000 requests matched a route" in index


def test_stale_rollups_on_a_read_only_database_are_a_one_line_error(db_path, tmp_path):
    log = tmp_path / "a.log"
    t0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    log.write_text(_log([(t0, "/trips/1", 200, 0.01)]))
    con = db.connect(db_path)
    ingest.ingest(con, [str(log)])
    rollup.build(con)
    log.write_text(_log([(t0, "/trips/1", 200, 0.01), (t0 + dt.timedelta(hours=2), "/trips/2", 200, 0.02)]))
    ingest.ingest(con, [str(log)])  # grew: one request not rolled up yet
    con.close()
    ro = db.connect(db_path, "read")
    with pytest.raises(StranglerError, match=r"^the rollups are out of date .* run `strangler rollup --db DB`$"):
        attribute.coverage(ro)
    ro.close()
    assert cli.main(["rollup", "--db", str(db_path)]) == 0
    ro = db.connect(db_path, "read")
    assert attribute.coverage(ro)["requests"] == 2
    ro.close()
