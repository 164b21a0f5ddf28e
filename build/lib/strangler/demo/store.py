"""The demo's data: a small sqlite3 database seeded deterministically in memory, shared by both demo apps.

Every query of either app goes through `run()`, which times it and reports the time to `strangler.dbtime`, so
the router can log database time per request. One process-wide connection behind a lock keeps the two apps
consistent (a trip created through Flask is visible through FastAPI).

The log generator reads the same constants (id ranges, usernames, photo UUIDs), so the paths it writes name
rows that exist.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from strangler import dbtime

N_USERS = 120
N_TRIPS = 600
STEPS_PER_TRIP = 5
N_PHOTOS = 1500
ADMIN_USER_ID = 1
SEED = 20260105

COUNTRIES = (
    "PT",
    "ES",
    "FR",
    "IT",
    "DE",
    "NL",
    "GR",
    "HR",
    "NO",
    "IS",
    "JP",
    "VN",
    "TH",
    "PE",
    "CL",
    "MX",
    "US",
    "CA",
    "NZ",
    "AU",
    "MA",
    "ZA",
    "KE",
    "GE",
)
PLACES = (
    "lisbon",
    "porto",
    "sevilla",
    "granada",
    "lyon",
    "napoli",
    "palermo",
    "berlin",
    "utrecht",
    "athens",
    "split",
    "tromso",
    "reykjavik",
    "kyoto",
    "osaka",
    "hanoi",
    "hue",
    "chiang-mai",
    "cusco",
    "arequipa",
    "valparaiso",
    "oaxaca",
    "quebec",
    "wanaka",
    "hobart",
    "fes",
    "cape-town",
    "nairobi",
    "tbilisi",
    "kazbegi",
)
_SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "su", "vo", "an", "el", "ri", "no", "da", "pe", "ju", "ko", "ma")

_NAMESPACE = uuid.UUID("6f1c1a56-8d1e-4c54-9a4c-1f0a2d7d5e11")

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, display_name TEXT, email TEXT,
                    country TEXT, bio TEXT, is_admin INTEGER, created_at TEXT);
CREATE TABLE tokens (token TEXT PRIMARY KEY, user_id INTEGER);
CREATE TABLE trips (id INTEGER PRIMARY KEY, user_id INTEGER, title TEXT, country TEXT, start_date TEXT,
                    end_date TEXT, distance_km REAL, is_public INTEGER, created_at TEXT);
CREATE TABLE steps (id INTEGER PRIMARY KEY, trip_id INTEGER, position INTEGER, title TEXT, place TEXT,
                    lat REAL, lon REAL, day INTEGER, note TEXT);
CREATE TABLE photos (id TEXT PRIMARY KEY, trip_id INTEGER, step_id INTEGER, user_id INTEGER, caption TEXT,
                     width INTEGER, height INTEGER, taken_at TEXT);
CREATE TABLE follows (follower_id INTEGER, followee_id INTEGER, PRIMARY KEY (follower_id, followee_id));
CREATE TABLE likes (trip_id INTEGER, user_id INTEGER, PRIMARY KEY (trip_id, user_id));
CREATE INDEX trips_user ON trips(user_id);
CREATE INDEX steps_trip ON steps(trip_id);
CREATE INDEX photos_trip ON photos(trip_id);
"""


def username(user_id: int) -> str:
    """The seeded username of a user id (deterministic, pronounceable)."""
    r = random.Random(SEED * 1000 + user_id)
    return "".join(r.choice(_SYLLABLES) for _ in range(3)) + str(user_id)


def photo_id(n: int) -> str:
    """The UUID (as text) of the n-th seeded photo, n from 1 to N_PHOTOS."""
    return str(uuid.uuid5(_NAMESPACE, f"photo-{n}"))


def photo_ids() -> list[str]:
    """All seeded photo UUIDs, in seed order."""
    return [photo_id(n) for n in range(1, N_PHOTOS + 1)]


def token(user_id: int) -> str:
    """The bearer token seeded for a user: `Authorization: Bearer <token>`."""
    return f"demo-{user_id:04d}-{uuid.uuid5(_NAMESPACE, f'token-{user_id}').hex[:12]}"


def _seed(con: sqlite3.Connection) -> None:
    r = random.Random(SEED)
    base = dt.date(2024, 3, 1)
    con.executescript(SCHEMA)
    users = []
    for i in range(1, N_USERS + 1):
        name = username(i)
        users.append(
            (
                i,
                name,
                name.title(),
                f"{name}@journal.example",
                r.choice(COUNTRIES),
                f"Travelling since {2000 + i % 24}.",
                int(i == ADMIN_USER_ID),
                (base + dt.timedelta(days=i)).isoformat(),
            )
        )
    con.executemany("INSERT INTO users VALUES (?,?,?,?,?,?,?,?)", users)
    con.executemany("INSERT INTO tokens VALUES (?,?)", [(token(i), i) for i in range(1, N_USERS + 1)])
    trips, steps = [], []
    for t in range(1, N_TRIPS + 1):
        start = base + dt.timedelta(days=r.randrange(700))
        days = r.randrange(2, 30)
        country = r.choice(COUNTRIES)
        trips.append(
            (
                t,
                r.randrange(1, N_USERS + 1),
                f"{r.choice(PLACES).title()} and around",
                country,
                start.isoformat(),
                (start + dt.timedelta(days=days)).isoformat(),
                round(r.uniform(20, 4000), 1),
                int(r.random() > 0.08),
                start.isoformat(),
            )
        )
        for k in range(1, STEPS_PER_TRIP + 1):
            steps.append(
                (
                    (t - 1) * STEPS_PER_TRIP + k,
                    t,
                    k,
                    f"Day {k}: {r.choice(PLACES).title()}",
                    r.choice(PLACES),
                    round(r.uniform(-50, 65), 5),
                    round(r.uniform(-120, 150), 5),
                    k,
                    "Walked a lot." if r.random() < 0.5 else "",
                )
            )
    con.executemany("INSERT INTO trips VALUES (?,?,?,?,?,?,?,?,?)", trips)
    con.executemany("INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?)", steps)
    photos = []
    for n in range(1, N_PHOTOS + 1):
        t = r.randrange(1, N_TRIPS + 1)
        photos.append(
            (
                photo_id(n),
                t,
                (t - 1) * STEPS_PER_TRIP + r.randrange(1, STEPS_PER_TRIP + 1),
                trips[t - 1][1],
                f"Photo {n}",
                r.choice((4032, 3024, 1920)),
                r.choice((3024, 2268, 1080)),
                trips[t - 1][4],
            )
        )
    con.executemany("INSERT INTO photos VALUES (?,?,?,?,?,?,?,?)", photos)
    follows = {(r.randrange(1, N_USERS + 1), r.randrange(1, N_USERS + 1)) for _ in range(1500)}
    con.executemany("INSERT INTO follows VALUES (?,?)", sorted((a, b) for a, b in follows if a != b))
    likes = {(r.randrange(1, N_TRIPS + 1), r.randrange(1, N_USERS + 1)) for _ in range(6000)}
    con.executemany("INSERT INTO likes VALUES (?,?)", sorted(likes))
    con.commit()


_lock = threading.RLock()
_con: sqlite3.Connection | None = None


def _connection() -> sqlite3.Connection:
    global _con
    if _con is None:
        con = sqlite3.connect(":memory:", check_same_thread=False)
        con.row_factory = sqlite3.Row
        _seed(con)
        _con = con
    return _con


def run(sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """Run one statement and return its rows as dicts (an INSERT returns `[{"id": lastrowid}]`).

    The time it took goes to `dbtime.record`, so both apps report database time per request.
    """
    with _lock:
        con = _connection()
        t0 = time.perf_counter()
        cur = con.execute(sql, tuple(params))
        rows = [dict(r) for r in cur.fetchall()]
        if cur.rowcount and not sql.lstrip().upper().startswith("SELECT"):
            con.commit()
        lastrowid = cur.lastrowid
        dbtime.record((time.perf_counter() - t0) * 1000.0)
    if not rows and lastrowid and sql.lstrip().upper().startswith("INSERT"):
        return [{"id": lastrowid}]
    return rows


def one(sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
    """The first row of `run()`, or None."""
    rows = run(sql, params)
    return rows[0] if rows else None


def reset() -> None:
    """Drop the database; the next query seeds a fresh one (tests use this to undo writes)."""
    global _con
    with _lock:
        if _con is not None:
            _con.close()
        _con = None
