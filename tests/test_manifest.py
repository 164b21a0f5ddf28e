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
