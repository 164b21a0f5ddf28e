"""migration.toml: parsing, the batches table, and errors that name the line."""

from __future__ import annotations

import datetime as dt

import pytest

from strangler import manifest
from strangler.errors import StranglerError

UTC = dt.UTC

GOOD = """\
# two batches
[[batch]]
name = "trips-read"
cutover = 2026-03-02T09:00:00Z
routes = ["GET /trips/<int:trip_id>", "GET /trips"]

[[batch]]
name = "photos"
cutover = 2026-03-16T10:30:00+01:00
routes = [
  "POST /photos",
]
canary = 0.1
"""


def test_parse_batches_in_file_order():
    batches = manifest.parse(GOOD)
    assert [(b.name, b.cutover, b.routes, b.canary, b.position, b.line) for b in batches] == [
        (
            "trips-read",
            dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            (("GET", "/trips/<int:trip_id>"), ("GET", "/trips")),
            None,
            1,
            2,
        ),
        ("photos", dt.datetime(2026, 3, 16, 9, 30, tzinfo=UTC), (("POST", "/photos"),), 0.1, 2, 7),
    ]


def test_store_replaces_batches_table(con):
    manifest.store(con, manifest.parse(GOOD))
    manifest.store(con, manifest.parse(GOOD))
    rows = con.execute(
        "SELECT batch, method, rule, cutover_at AT TIME ZONE 'UTC', canary, position "
        "FROM batches ORDER BY position, rule"
    ).fetchall()
    assert rows == [
        ("trips-read", "GET", "/trips", dt.datetime(2026, 3, 2, 9, 0), None, 1),
        ("trips-read", "GET", "/trips/<int:trip_id>", dt.datetime(2026, 3, 2, 9, 0), None, 1),
        ("photos", "POST", "/photos", dt.datetime(2026, 3, 16, 9, 30), 0.1, 2),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a'\n", "m.toml: not valid TOML"),
        (
            "[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00\nroutes = ['GET /a']\n",
            "m.toml:3: cutover of batch 'a' has no time zone",
        ),
        (
            "[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a']\n\n"
            "[[batch]]\nname = 'b'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['FETCH /b']\n",
            "m.toml:9: route 'FETCH /b' in batch 'b' must read \"METHOD /rule\"",
        ),
        (
            "[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a']\n\n"
            "[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /b']\n",
            "m.toml:6: batch name 'a' is used twice (first at line 1)",
        ),
        (
            "[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a']\n\n"
            "[[batch]]\nname = 'b'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a']\n",
            "m.toml:9: route 'GET /a' is in batch 'a' already",
        ),
        ("[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = []\n", "m.toml:1: batch 'a' needs routes"),
        (
            "[[batch]]\nname = 'a'\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a']\ncanary = 1.5\n",
            "m.toml:5: canary of batch 'a' must be a number from 0 to 1",
        ),
        ("[[batch]]\ncutover = 2026-03-02T09:00:00Z\nroutes = ['GET /a']\n", "m.toml:1: batch #1 needs a name"),
        ("title = 'x'\n", "m.toml:1: unknown top-level key 'title'"),
        ("# batches\nbatch = [1]\n", "m.toml:2: 'batch' must be an array of tables: write [[batch]]"),
        ("batch = 'a'\n", "m.toml:1: 'batch' must be an array of tables"),
        ("\n[batch]\nname = 'a'\n", "m.toml:2: 'batch' must be an array of tables"),
    ],
)
def test_errors_name_the_line(text, message):
    with pytest.raises(StranglerError) as err:
        manifest.parse(text, "m.toml")
    assert str(err.value).startswith(message)


def test_missing_file(tmp_path):
    with pytest.raises(StranglerError, match="does not exist"):
        manifest.load(tmp_path / "nope.toml")


def test_array_of_non_tables_is_a_one_line_error():
    # was an AttributeError (a traceback from the CLI, and a crash of the router's reload)
    with pytest.raises(StranglerError) as err:
        manifest.parse("batch = [1, 2]\n", "m.toml")
    assert str(err.value) == "m.toml:1: 'batch' must be an array of tables: write [[batch]]"


def test_apply_loads_and_stores(con, tmp_path):
    path = tmp_path / "migration.toml"
    path.write_text(GOOD, encoding="utf-8")
    batches = manifest.apply(con, path)
    assert batches == manifest.parse(GOOD, str(path))
    assert con.execute("SELECT batch, count(*) FROM batches GROUP BY batch ORDER BY min(position)").fetchall() == [
        ("trips-read", 2),
        ("photos", 1),
    ]


def test_batch_toml_round_trips():
    text = "\n".join(
        manifest.batch_toml(
            "trips-read", dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), [("GET", "/trips/<int:trip_id>"), "GET /trips"]
        )
        + manifest.batch_toml(
            'odd "name" \\ tab\t\x7f é',
            dt.datetime(2026, 3, 16, 10, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            ["POST /photos"],
            canary=0.1,
            comments=["two", "comments"],
            note="draft",
        )
    )
    assert text.splitlines()[:5] == [
        "[[batch]]",
        'name = "trips-read"',
        "cutover = 2026-03-02T09:00:00Z",
        'routes = ["GET /trips/<int:trip_id>", "GET /trips"]',
        "",
    ]
    assert text.splitlines()[5:] == [
        "[[batch]]",
        'name = "odd \\"name\\" \\\\ tab\\t\\u007F é"',
        "cutover = 2026-03-16T09:30:15Z  # draft",
        "canary = 0.1",
        "# two",
        "# comments",
        'routes = ["POST /photos"]',
    ]
    assert [(b.name, b.cutover, b.routes, b.canary) for b in manifest.parse(text)] == [
        (
            "trips-read",
            dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            (("GET", "/trips/<int:trip_id>"), ("GET", "/trips")),
            None,
        ),
        ('odd "name" \\ tab\t\x7f é', dt.datetime(2026, 3, 16, 9, 30, 15, tzinfo=UTC), (("POST", "/photos"),), 0.1),
    ]


# --- ramp: the pilot's keys -------------------------------------------------------------------------------------

RAMPED = """\
[[batch]]
name = "trips-read"
cutover = 2026-03-02T09:00:00Z
routes = ["GET /trips/<int:trip_id>/steps"]
ramp = [0.05, 0.5, 1.0]
{extra}
[[batch]]
name = "plain"
cutover = 2026-03-02T09:00:00Z
routes = ["GET /feed"]
"""


def test_ramp_keys_parse_with_defaults_and_durations():
    batches = manifest.parse(RAMPED.format(extra=""))
    assert batches[0].ramp == manifest.Ramp(
        fractions=(0.05, 0.5, 1.0),
        step_seconds=1800.0,
        min_requests=1000,
        fail_5xx_points=0.5,
        fail_p95_pct=10.0,
        fail_p99_pct=10.0,
        alpha=0.005,
        on_failure="rollback",
    )
    assert batches[1].ramp is None
    extra = 'step = "90s"\nmin_requests = 50\nfail_5xx_points = 2\nfail_p95_pct = 25.5\nalpha = 0.002\non_failure = "hold"\n'
    ramp = manifest.parse(RAMPED.format(extra=extra))[0].ramp
    got = (ramp.step_seconds, ramp.min_requests, ramp.fail_5xx_points, ramp.fail_p95_pct, ramp.alpha, ramp.on_failure)
    assert got == (90.0, 50, 2.0, 25.5, 0.002, "hold")
    assert [manifest.parse_duration(t) for t in ("90s", "30m", "2h", "1.5h", "250ms")] == [90, 1800, 7200, 5400, 0.25]


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ('step = "30 minutes"', 6, 'step of batch \'trips-read\' must be a duration such as "90s", "30m" or "2h"'),
        ('step = "0s"', 6, "step of batch 'trips-read' must be a duration"),
        ("min_requests = 0", 6, "min_requests of batch 'trips-read' must be a whole number of at least 1"),
        ("min_requests = 2.5", 6, "min_requests of batch 'trips-read' must be a whole number"),
        ("fail_5xx_points = -1", 6, "fail_5xx_points of batch 'trips-read' must be a number above 0 and at most 100"),
        ('fail_p95_pct = "10%"', 6, "fail_p95_pct of batch 'trips-read' must be a number above 0"),
        ("alpha = 0.5", 6, "alpha of batch 'trips-read' must be a number above 0 and at most 0.2"),
        ("alpha = 0", 6, "alpha of batch 'trips-read' must be a number above 0 and at most 0.2"),
        ('on_failure = "retry"', 6, 'on_failure of batch \'trips-read\' must be "rollback" or "hold"'),
        ("canary = 0.1", 6, "canary of batch 'trips-read' cannot be set with ramp: the pilot sets the fraction"),
    ],
)
def test_bad_ramp_values_are_one_line_errors_naming_the_line(extra, line, message):
    with pytest.raises(StranglerError) as err:
        manifest.parse(RAMPED.format(extra=extra + "\n"), "m.toml")
    assert str(err.value).startswith(f"m.toml:{line}: {message}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("ramp", ["[0.5, 0.25, 1.0]", "[0, 0.5]", "[0.5, 1.5]", "[]", '"fast"', "[0.5, 0.5]", "[true]"])
def test_a_ramp_that_does_not_increase_within_0_to_1_is_refused(ramp):
    text = RAMPED.format(extra="").replace("ramp = [0.05, 0.5, 1.0]", f"ramp = {ramp}")
    with pytest.raises(StranglerError, match=r"^m.toml:5: ramp of batch 'trips-read' must be increasing fractions"):
        manifest.parse(text, "m.toml")


def test_ramp_keys_without_ramp_name_what_is_missing():
    text = RAMPED.format(extra="").replace("ramp = [0.05, 0.5, 1.0]", 'step = "5m"')
    with pytest.raises(StranglerError, match=r"^m.toml:5: step of batch 'trips-read' needs ramp = \[0.01"):
        manifest.parse(text, "m.toml")
