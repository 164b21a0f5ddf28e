"""The demo's Flask app: a travel-journal API, the kind of service strangler is for.

Blueprints: auth, users, trips (with steps nested inside it), photos, feed, search, admin; plus `/health`, `/`
and a catch-all. Auth is a bearer token (`Authorization: Bearer <token>`, see `store.token`) or the session
cookie set by `/auth/login`. The routes of the migration batches have FastAPI twins in `fastapi_app`.
A few routes are never called by the generated traffic (dead code the planner should find).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    send_file,
    session,
    stream_with_context,
)
from flask.views import MethodView
from werkzeug.exceptions import HTTPException

from strangler.demo import store

# --- helpers shared by the views --------------------------------------------------------------------------------


def login_required(view: Callable) -> Callable:
    """Answer 401 unless a user was loaded from the session or a bearer token."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        if g.get("user") is None:
            abort(401, description="login required")
        return view(*args, **kwargs)

    return wrapped


# deliberate: trip_summary and step_json are written out key by key like the legacy code this demo imitates
def trip_summary(row: dict) -> dict:
    """The JSON of a trip in lists (same keys in the FastAPI app's TripSummary)."""
    return {
        "id": row["id"],
        "title": row["title"],
        "country": row["country"],
        "start_date": row["start_date"],
        "end_date": row["end_date"],
        "distance_km": row["distance_km"],
        "user_id": row["user_id"],
    }


def visible_trip(trip_id: int) -> dict:
    """The trip if the current user may see it, else 404 (private trips look missing)."""
    trip = store.one("SELECT * FROM trips WHERE id = ?", [trip_id])
    if trip is None:
        abort(404, description=f"trip {trip_id} not found")
    user = g.get("user")
    if not trip["is_public"] and (user is None or user["id"] != trip["user_id"]):
        abort(404, description=f"trip {trip_id} not found")
    return trip


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A bounded integer query argument; 400 when it is not a number."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, description=f"{name} must be an integer")
    return max(low, min(high, value))


# --- auth -------------------------------------------------------------------------------------------------------

auth = Blueprint("auth", __name__, url_prefix="/auth")


@auth.post("/login")
def login():
    data = request.get_json(silent=True) or request.form
    name = (data.get("username") or "").strip()
    password = data.get("password") or ""
    if not name or not password:
        abort(400, description="username and password are required")
    user = store.one("SELECT * FROM users WHERE username = ?", [name])
    if user is None or password != f"pw-{name}":
        abort(401, description="wrong username or password")
    session.clear()
    session["user_id"] = user["id"]
    tok = store.one("SELECT token FROM tokens WHERE user_id = ?", [user["id"]])
    return jsonify({"user_id": user["id"], "token": tok["token"] if tok else None})


@auth.post("/logout")
def logout():
    session.clear()
    return redirect("/", code=302)


@auth.post("/refresh")
@login_required
def refresh():
    tok = store.one("SELECT token FROM tokens WHERE user_id = ?", [g.user["id"]])
    return jsonify({"token": tok["token"], "expires_in": current_app.config["TOKEN_TTL"]})


@auth.get("/me")
@login_required
def me():
    return jsonify({"id": g.user["id"], "username": g.user["username"], "is_admin": bool(g.user["is_admin"])})


@auth.post("/password-reset")
def password_reset():
    data = request.get_json(silent=True) or {}
    email = data.get("email", "")
    if "@" not in email:
        abort(400, description="a valid email is required")
    store.one("SELECT id FROM users WHERE email = ?", [email])
    return jsonify({"sent": True}), 202  # same answer whether the user exists or not


# --- users ------------------------------------------------------------------------------------------------------

users = Blueprint("users", __name__, url_prefix="/users")


@users.get("/<int:user_id>")
def get_user(user_id: int):
    user = store.one("SELECT * FROM users WHERE id = ?", [user_id])
    if user is None:
        abort(404, description=f"user {user_id} not found")
    trips = store.one("SELECT count(*) AS n FROM trips WHERE user_id = ? AND is_public = 1", [user_id])["n"]
    followers = store.one("SELECT count(*) AS n FROM follows WHERE followee_id = ?", [user_id])["n"]
    following = store.one("SELECT count(*) AS n FROM follows WHERE follower_id = ?", [user_id])["n"]
    return jsonify(
        {
            "id": user["id"],
            "username": user["username"],
            "display_name": user["display_name"],
            "country": user["country"],
            "bio": user["bio"],
            "trips": trips,
            "followers": followers,
            "following": following,
        }
    )


@users.get("/<string:username>/profile")
def profile(username: str):
    user = store.one("SELECT id, username, display_name, country, bio FROM users WHERE username = ?", [username])
    if user is None:
        abort(404, description=f"user {username!r} not found")
    recent = store.run(
        "SELECT * FROM trips WHERE user_id = ? AND is_public = 1 ORDER BY start_date DESC LIMIT 5", [user["id"]]
    )
    countries = sorted({t["country"] for t in recent})
    return jsonify({**user, "recent_trips": [trip_summary(t) for t in recent], "countries": countries})


@users.patch("/<int:user_id>")
@login_required
def update_user(user_id: int):
    if g.user["id"] != user_id and not g.user["is_admin"]:
        abort(403, description="you can only edit your own profile")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="expected a JSON object")
    changes = {}
    for key in ("display_name", "bio", "country"):
        if key in data:
            value = str(data[key]).strip()
            if key == "country" and (len(value) != 2 or not value.isalpha()):
                abort(400, description="country must be a two-letter code")
            if key == "display_name" and not value:
                abort(400, description="display_name cannot be empty")
            changes[key] = value.upper() if key == "country" else value
    if not changes:
        abort(400, description="nothing to change")
    for key, value in changes.items():
        store.run(f"UPDATE users SET {key} = ? WHERE id = ?", [value, user_id])  # key is from the fixed list
    return get_user(user_id)


@users.get("/<int:user_id>/followers")
def followers(user_id: int):
    page = int_arg("page", 1, 1, 1000)
    rows = store.run(
        "SELECT u.id, u.username FROM follows f JOIN users u ON u.id = f.follower_id "
        "WHERE f.followee_id = ? ORDER BY u.id LIMIT 20 OFFSET ?",
        [user_id, (page - 1) * 20],
    )
    if not rows and page == 1 and store.one("SELECT id FROM users WHERE id = ?", [user_id]) is None:
        abort(404, description=f"user {user_id} not found")
    return jsonify({"user_id": user_id, "page": page, "items": rows})


@users.post("/<int:user_id>/follow")
@login_required
def follow(user_id: int):
    if user_id == g.user["id"]:
        abort(400, description="you cannot follow yourself")
    if store.one("SELECT id FROM users WHERE id = ?", [user_id]) is None:
        abort(404, description=f"user {user_id} not found")
    store.run("INSERT OR IGNORE INTO follows VALUES (?, ?)", [g.user["id"], user_id])
    return jsonify({"following": user_id}), 201


@users.get("/<int:user_id>/badges")
def badges(user_id: int):
    # Nobody calls this any more: the mobile app dropped badges in 2024.
    n = store.one("SELECT count(DISTINCT country) AS n FROM trips WHERE user_id = ?", [user_id])["n"]
    return jsonify({"user_id": user_id, "badges": [b for b, k in (("explorer", 5), ("nomad", 10)) if n >= k]})


# --- trips, with steps nested inside --------------------------------------------------------------------------------

trips = Blueprint("trips", __name__, url_prefix="/trips")
steps = Blueprint("steps", __name__)


@trips.get("")
def list_trips():
    page = int_arg("page", 1, 1, 10_000)
    per_page = int_arg("per_page", 20, 1, 50)
    country = request.args.get("country")
    sort = request.args.get("sort", "recent")
    where, params = ["is_public = 1"], []
    if country:
        if len(country) != 2:
            abort(400, description="country must be a two-letter code")
        where.append("country = ?")
        params.append(country.upper())
    if sort == "recent":
        order = "start_date DESC, id DESC"
    elif sort == "distance":
        order = "distance_km DESC, id"
    else:
        abort(400, description="sort must be recent or distance")
    clause = " AND ".join(where)
    total = store.one(f"SELECT count(*) AS n FROM trips WHERE {clause}", params)["n"]
    rows = store.run(
        f"SELECT * FROM trips WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
        params + [per_page, (page - 1) * per_page],
    )
    return jsonify({"items": [trip_summary(r) for r in rows], "page": page, "per_page": per_page, "total": total})


@trips.post("")
@login_required
def create_trip():
    data = request.get_json(silent=True) or {}
    title = (data.get("title") or "").strip()
    country = (data.get("country") or "").upper()
    if not title:
        abort(400, description="title is required")
    if len(title) > current_app.config["MAX_TITLE"]:
        abort(400, description="title is too long")
    if len(country) != 2:
        abort(400, description="country must be a two-letter code")
    start, end = data.get("start_date"), data.get("end_date")
    if start and end and end < start:
        abort(400, description="end_date is before start_date")
    new = store.run(
        "INSERT INTO trips (user_id, title, country, start_date, end_date, distance_km, is_public, "
        "created_at) VALUES (?, ?, ?, ?, ?, 0, ?, date('now'))",
        [g.user["id"], title, country, start, end, int(bool(data.get("public", True)))],
    )
    trip = store.one("SELECT * FROM trips WHERE id = ?", [new[0]["id"]])
    response = make_response(jsonify(trip_summary(trip)), 201)
    response.headers["Location"] = f"/trips/{trip['id']}"
    return response


@trips.get("/<int:trip_id>")
def get_trip(trip_id: int):
    trip = visible_trip(trip_id)
    owner = store.one("SELECT id, username FROM users WHERE id = ?", [trip["user_id"]])
    counts = store.one(
        "SELECT (SELECT count(*) FROM steps WHERE trip_id = ?) AS steps, "
        "(SELECT count(*) FROM photos WHERE trip_id = ?) AS photos, "
        "(SELECT count(*) FROM likes WHERE trip_id = ?) AS likes",
        [trip_id] * 3,
    )
    return jsonify({**trip_summary(trip), "owner": owner, **counts})


@trips.put("/<int:trip_id>")
@login_required
def replace_trip(trip_id: int):
    trip = visible_trip(trip_id)
    if trip["user_id"] != g.user["id"]:
        abort(403, description="not your trip")
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data.get("title"):
        abort(400, description="a trip needs a title")
    store.run(
        "UPDATE trips SET title = ?, country = ?, is_public = ? WHERE id = ?",
        [data["title"], (data.get("country") or trip["country"]).upper(), int(bool(data.get("public", True))), trip_id],
    )
    return jsonify(trip_summary(store.one("SELECT * FROM trips WHERE id = ?", [trip_id])))


@trips.delete("/<int:trip_id>")
@login_required
def delete_trip(trip_id: int):
    trip = visible_trip(trip_id)
    if trip["user_id"] != g.user["id"] and not g.user["is_admin"]:
        abort(403, description="not your trip")
    store.run("DELETE FROM steps WHERE trip_id = ?", [trip_id])
    store.run("DELETE FROM trips WHERE id = ?", [trip_id])
    return "", 204


@trips.get("/<int:trip_id>/stats")
def trip_stats(trip_id: int):
    """Distances between steps, days on the road and photo counts, in km or miles."""
    trip = visible_trip(trip_id)
    unit = request.args.get("unit", "km")
    if unit not in ("km", "mi"):
        abort(400, description="unit must be km or mi")
    rows = store.run("SELECT id, lat, lon, day FROM steps WHERE trip_id = ? ORDER BY position", [trip_id])
    photos = store.run("SELECT step_id, count(*) AS n FROM photos WHERE trip_id = ? GROUP BY step_id", [trip_id])
    per_step = {p["step_id"]: p["n"] for p in photos}
    legs: list[float] = []
    for a, b in zip(rows, rows[1:]):
        lat1, lon1, lat2, lon2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
        h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        legs.append(2 * 6371.0 * math.asin(min(1.0, math.sqrt(h))))
    by_day: dict[int, float] = {}
    for step, leg in zip(rows[1:], legs):
        by_day[step["day"]] = by_day.get(step["day"], 0.0) + leg
    factor = 1.0 if unit == "km" else 0.621371
    total = sum(legs) * factor
    if not rows:
        busiest = None
    elif by_day:
        busiest = max(by_day, key=lambda d: (by_day[d], -d))
    else:
        busiest = rows[0]["day"]
    photos_total = sum(per_step.values())
    untagged = per_step.get(None, 0)
    return jsonify(
        {
            "trip_id": trip_id,
            "unit": unit,
            "steps": len(rows),
            "days": len({r["day"] for r in rows}),
            "distance": round(total, 1),
            "declared_km": trip["distance_km"],
            "longest_leg": round(max(legs) * factor, 1) if legs else None,
            "busiest_day": busiest,
            "photos": photos_total,
            "photos_without_step": untagged,
            "photos_per_step": round(photos_total / len(rows), 2) if rows else None,
        }
    )


@trips.get("/<int:trip_id>/export.gpx")
def export_gpx(trip_id: int):
    trip = visible_trip(trip_id)
    rows = store.run("SELECT title, lat, lon FROM steps WHERE trip_id = ? ORDER BY position", [trip_id])
    buf = io.BytesIO()
    buf.write(b'<?xml version="1.0"?><gpx version="1.1" creator="journal"><trk><trkseg>')
    for r in rows:
        buf.write(f'<trkpt lat="{r["lat"]}" lon="{r["lon"]}"></trkpt>'.encode())
    buf.write(b"</trkseg></trk></gpx>")
    buf.seek(0)
    return send_file(buf, mimetype="application/gpx+xml", as_attachment=True, download_name=f"trip-{trip['id']}.gpx")


@trips.get("/by-country/<string(length=2):cc>")
def trips_by_country(cc: str):
    rows = store.run(
        "SELECT * FROM trips WHERE country = ? AND is_public = 1 ORDER BY start_date DESC LIMIT 20", [cc.upper()]
    )
    return jsonify({"country": cc.upper(), "items": [trip_summary(r) for r in rows]})


@trips.get("/top/<int(min=1):n>")
def top_trips(n: int):
    if n > 100:
        abort(400, description="at most 100")
    rows = store.run("SELECT * FROM trips WHERE is_public = 1 ORDER BY distance_km DESC, id LIMIT ?", [n])
    return jsonify({"items": [trip_summary(r) for r in rows]})


@steps.before_request
def steps_need_trip():
    """Every step route is under a trip: check it exists (and is visible) once, here."""
    trip_id = (request.view_args or {}).get("trip_id")
    if trip_id is not None:
        g.trip = visible_trip(trip_id)


# deliberate: written out key by key like trip_summary, as legacy code would be
def step_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "position": row["position"],
        "title": row["title"],
        "place": row["place"],
        "lat": row["lat"],
        "lon": row["lon"],
        "day": row["day"],
    }


@steps.get("")
def list_steps(trip_id: int):
    rows = store.run("SELECT * FROM steps WHERE trip_id = ? ORDER BY position", [trip_id])
    return jsonify({"trip_id": trip_id, "items": [step_json(r) for r in rows]})


@steps.post("")
@login_required
def add_step(trip_id: int):
    if g.trip["user_id"] != g.user["id"]:
        abort(403, description="not your trip")
    data = request.get_json(silent=True) or {}
    try:
        lat, lon = float(data["lat"]), float(data["lon"])
    except (KeyError, TypeError, ValueError):
        abort(400, description="lat and lon are required numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        abort(400, description="lat/lon out of range")
    pos = store.one("SELECT coalesce(max(position), 0) + 1 AS p FROM steps WHERE trip_id = ?", [trip_id])["p"]
    new = store.run(
        "INSERT INTO steps (trip_id, position, title, place, lat, lon, day, note) VALUES (?, ?, ?, ?, ?, ?, ?, '')",
        [trip_id, pos, data.get("title", f"Step {pos}"), data.get("place", ""), lat, lon, int(data.get("day", pos))],
    )
    return jsonify(step_json(store.one("SELECT * FROM steps WHERE id = ?", [new[0]["id"]]))), 201


def _step(trip_id: int, step_id: int) -> dict:
    row = store.one("SELECT * FROM steps WHERE id = ? AND trip_id = ?", [step_id, trip_id])
    if row is None:
        abort(404, description=f"step {step_id} not found in trip {trip_id}")
    return row


@steps.get("/<int:step_id>")
def get_step(trip_id: int, step_id: int):
    row = _step(trip_id, step_id)
    photos = store.run("SELECT id FROM photos WHERE step_id = ? ORDER BY id", [step_id])
    return jsonify({**step_json(row), "note": row["note"], "photos": [p["id"] for p in photos]})


@steps.patch("/<int:step_id>")
@login_required
def update_step(trip_id: int, step_id: int):
    _step(trip_id, step_id)
    if g.trip["user_id"] != g.user["id"]:
        abort(403, description="not your trip")
    data = request.get_json(silent=True) or {}
    if "note" in data:
        store.run("UPDATE steps SET note = ? WHERE id = ?", [str(data["note"])[:2000], step_id])
    if "title" in data:
        store.run("UPDATE steps SET title = ? WHERE id = ?", [str(data["title"])[:200], step_id])
    return jsonify(step_json(_step(trip_id, step_id)))


@steps.delete("/<int:step_id>")
@login_required
def delete_step(trip_id: int, step_id: int):
    _step(trip_id, step_id)
    if g.trip["user_id"] != g.user["id"]:
        abort(403, description="not your trip")
    store.run("DELETE FROM steps WHERE id = ?", [step_id])
    return "", 204


trips.register_blueprint(steps, url_prefix="/<int:trip_id>/steps")


# --- photos -----------------------------------------------------------------------------------------------------

photos = Blueprint("photos", __name__, url_prefix="/photos")


def _photo(photo_id) -> dict:
    row = store.one("SELECT * FROM photos WHERE id = ?", [str(photo_id)])
    if row is None:
        abort(404, description="photo not found")
    return row


@photos.get("/<uuid:photo_id>")
def get_photo(photo_id):
    row = _photo(photo_id)
    return jsonify({**row, "thumb": f"/photos/{row['id']}/thumb"})


@photos.get("/<uuid:photo_id>/thumb")
def thumb(photo_id):
    row = _photo(photo_id)
    size = request.args.get("size", "m")
    if size not in current_app.config["THUMB_SIZES"]:
        abort(400, description="size must be s, m or l")
    side = current_app.config["THUMB_SIZES"][size]
    # A fake image: a tiny PGM whose bytes depend on the photo, enough to exercise send_file.
    body = f"P2\n{side} 1\n255\n".encode() + bytes(row["width"] % 256 for _ in range(side))
    response = send_file(io.BytesIO(body), mimetype="image/x-portable-graymap", max_age=86400)
    response.headers["ETag"] = f'"{row["id"]}-{size}"'
    return response


@photos.post("")
@login_required
def upload_photo():
    """Upload a photo (multipart form: file, trip_id, optional step_id and caption) into one of your trips."""
    trip_id = request.form.get("trip_id", type=int)
    step_id = request.form.get("step_id", type=int)
    caption = (request.form.get("caption") or "").strip()
    upload = request.files.get("file")
    if trip_id is None or upload is None:
        abort(400, description="trip_id and file are required")
    if upload.mimetype not in current_app.config["PHOTO_TYPES"]:
        abort(415, description=f"unsupported type {upload.mimetype}")
    if len(caption) > 500:
        abort(400, description="caption is too long")
    trip = visible_trip(trip_id)
    if trip["user_id"] != g.user["id"]:
        abort(403, description="not your trip")
    if step_id is not None:
        step = store.one("SELECT id FROM steps WHERE id = ? AND trip_id = ?", [step_id, trip_id])
        if step is None:
            abort(400, description=f"step {step_id} is not in trip {trip_id}")
    data = upload.read()
    if not data:
        abort(400, description="empty file")
    if len(data) > current_app.config["MAX_UPLOAD"]:
        abort(413)
    existing = store.one("SELECT count(*) AS n FROM photos WHERE trip_id = ?", [trip_id])["n"]
    if existing >= current_app.config["MAX_PHOTOS_PER_TRIP"]:
        abort(409, description="this trip has too many photos")
    new_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{trip_id}/{upload.filename}/{len(data)}"))
    store.run(
        "INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?, ?, 0, 0, date('now'))",
        [new_id, trip_id, step_id, g.user["id"], caption],
    )
    session["last_upload"] = new_id
    response = make_response(jsonify({"id": new_id, "trip_id": trip_id, "step_id": step_id}), 201)
    response.headers["Location"] = f"/photos/{new_id}"
    return response


@photos.delete("/<uuid:photo_id>")
@login_required
def delete_photo(photo_id):
    row = _photo(photo_id)
    if row["user_id"] != g.user["id"]:
        abort(403, description="not your photo")
    store.run("DELETE FROM photos WHERE id = ?", [row["id"]])
    return "", 204


@photos.post("/<uuid:photo_id>/rotate")
@login_required
def rotate_photo(photo_id):
    # Dead: rotation moved to the client in 2024, nothing calls this.
    row = _photo(photo_id)
    store.run("UPDATE photos SET width = ?, height = ? WHERE id = ?", [row["height"], row["width"], row["id"]])
    return jsonify({"id": row["id"], "width": row["height"], "height": row["width"]})


@photos.get("/raw/<path:key>")
def raw_photo(key: str):
    if ".." in key or key.startswith("/"):
        abort(400, description="bad key")
    if not key.endswith((".jpg", ".jpeg", ".png")):
        abort(404)
    return redirect(f"{current_app.config['CDN']}/{key}", code=302)


# --- feed -------------------------------------------------------------------------------------------------------

feed = Blueprint("feed", __name__, url_prefix="/feed")


@feed.get("")
def home_feed():
    before = request.args.get("before", type=int)
    limit = 20
    params: list[Any] = []
    if g.get("user") is not None:
        sql = (
            "SELECT t.* FROM trips t JOIN follows f ON f.followee_id = t.user_id "
            "WHERE f.follower_id = ? AND t.is_public = 1"
        )
        params.append(g.user["id"])
    else:
        sql = "SELECT * FROM trips t WHERE t.is_public = 1"
    if before is not None:
        sql += " AND t.id < ?"
        params.append(before)
    rows = store.run(sql + " ORDER BY t.id DESC LIMIT ?", params + [limit])
    items = [trip_summary(r) for r in rows]
    return jsonify({"items": items, "next_cursor": items[-1]["id"] if len(items) == limit else None})


@feed.get("/popular")
def popular():
    limit = int_arg("limit", 10, 1, 50)
    rows = store.run(
        "SELECT t.*, count(l.user_id) AS likes FROM trips t LEFT JOIN likes l ON l.trip_id = t.id "
        "WHERE t.is_public = 1 GROUP BY t.id ORDER BY likes DESC, t.id LIMIT ?",
        [limit],
    )
    return jsonify({"items": [{**trip_summary(r), "likes": r["likes"]} for r in rows]})


@feed.get("/stream")
@login_required
def stream():
    user_id = g.user["id"]
    rows = store.run(
        "SELECT t.* FROM trips t JOIN follows f ON f.followee_id = t.user_id "
        "WHERE f.follower_id = ? ORDER BY t.id DESC LIMIT 50",
        [user_id],
    )

    def events():
        yield f"event: hello\ndata: {json.dumps({'user': user_id})}\n\n"
        for r in rows:
            yield f"data: {json.dumps(trip_summary(r))}\n\n"
        yield f"event: bye\ndata: {json.dumps({'trips': len(rows), 'path': request.path})}\n\n"

    return Response(stream_with_context(events()), mimetype="text/event-stream")


# --- search -----------------------------------------------------------------------------------------------------

search = Blueprint("search", __name__, url_prefix="/search")


# deliberate twin of demo/fastapi_app.py:search_all: the port must answer alike
@search.get("")
def search_all():
    q = (request.args.get("q") or "").strip()
    kind = request.args.get("type", "all")
    if len(q) < 2:
        abort(400, description="q must have at least 2 characters")
    if kind not in ("all", "trips", "users"):
        abort(400, description="type must be all, trips or users")
    like = f"%{q.lower()}%"
    found_trips: list[dict] = []
    found_users: list[dict] = []
    if kind in ("all", "trips"):
        rows = store.run(
            "SELECT * FROM trips WHERE is_public = 1 AND (lower(title) LIKE ? OR lower(country) = ?) "
            "ORDER BY id LIMIT 10",
            [like, q.lower()],
        )
        found_trips = [trip_summary(r) for r in rows]
    if kind in ("all", "users"):
        found_users = store.run(
            "SELECT id, username, display_name FROM users WHERE lower(username) LIKE ? "
            "OR lower(display_name) LIKE ? ORDER BY id LIMIT 10",
            [like, like],
        )
    return jsonify({"q": q, "trips": found_trips, "users": found_users})


@search.get("/places/<string:name>")
def search_places(name: str):
    rows = store.run(
        "SELECT trip_id, title, lat, lon FROM steps WHERE place = ? ORDER BY trip_id LIMIT 25", [name.lower()]
    )
    if not rows:
        abort(404, description=f"no steps at {name!r}")
    return jsonify({"place": name.lower(), "steps": rows})


# --- admin ------------------------------------------------------------------------------------------------------

admin = Blueprint("admin", __name__, url_prefix="/admin")


@admin.before_request
def admins_only():
    user = g.get("user")
    if user is None:
        abort(401, description="login required")
    if not user["is_admin"]:
        abort(403, description="admins only")


@admin.get("/stats")
def admin_stats():
    counts = store.one(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM trips) AS trips, "
        "(SELECT count(*) FROM photos) AS photos"
    )
    return jsonify({**counts, "started": current_app.config["STARTED"]})


class UserAdminAPI(MethodView):
    """List users (GET) or create one (POST): the admin console's only writeable resource."""

    init_every_request = False

    def get(self):
        page = int_arg("page", 1, 1, 1000)
        rows = store.run(
            "SELECT id, username, email, is_admin FROM users ORDER BY id LIMIT 50 OFFSET ?", [(page - 1) * 50]
        )
        return jsonify({"page": page, "items": rows})

    def post(self):
        data = request.get_json(silent=True) or {}
        name = data.get("username", "")
        if not name.isalnum():
            abort(400, description="username must be letters and digits")
        if store.one("SELECT id FROM users WHERE username = ?", [name]) is not None:
            abort(409, description="username taken")
        new = store.run(
            "INSERT INTO users (username, display_name, email, country, bio, is_admin, created_at) "
            "VALUES (?, ?, ?, 'PT', '', 0, date('now'))",
            [name, name, f"{name}@journal.example"],
        )
        return jsonify({"id": new[0]["id"], "username": name}), 201


admin.add_url_rule("/users", view_func=UserAdminAPI.as_view("users"))


@admin.get("/legacy/export")
def legacy_export():
    # Dead: the CSV export the old back office used.
    rows = store.run("SELECT id, username, email FROM users ORDER BY id")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "username", "email"])
    for r in rows:
        writer.writerow([r["id"], r["username"], r["email"]])
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv"
    return response


@admin.delete("/cache")
def clear_cache():
    return jsonify({"cleared": True, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


# --- the app ----------------------------------------------------------------------------------------------------


def create_app(config: dict | None = None) -> Flask:
    """Build the demo Flask app (the module's `app` is one of these)."""
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY="demo-not-secret",
        TOKEN_TTL=3600,
        MAX_TITLE=120,
        MAX_UPLOAD=5_000_000,
        THUMB_SIZES={"s": 64, "m": 256, "l": 1024},
        MAX_PHOTOS_PER_TRIP=500,
        PHOTO_TYPES=("image/jpeg", "image/png", "image/heic"),
        CDN="https://cdn.journal.example",
        STARTED="2026-01-05T00:00:00Z",
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})

    @app.before_request
    def load_user():
        g.user = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.user = store.one(
                "SELECT u.* FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token = ?", [header[7:].strip()]
            )
        elif "user_id" in session:
            g.user = store.one("SELECT * FROM users WHERE id = ?", [session["user_id"]])

    @app.errorhandler(HTTPException)
    def json_error(exc: HTTPException):
        return jsonify({"error": exc.name, "status": exc.code, "detail": exc.description}), exc.code

    @app.get("/health")
    def health():
        store.one("SELECT 1 AS ok")
        return jsonify({"status": "ok"})

    @app.get("/")
    def index():
        return jsonify({"name": "travel journal API", "docs": "/docs"})

    @app.get("/<path:anything>")
    def catch_all(anything: str):
        abort(404, description=f"no such page: /{anything}")

    for bp in (auth, users, trips, photos, feed, search, admin):
        app.register_blueprint(bp)
    return app


app = create_app()
