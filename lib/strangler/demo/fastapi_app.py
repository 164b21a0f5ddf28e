"""The demo's FastAPI app: the routes of the migration batches, ported from `flask_app`.

Same public paths (FastAPI syntax: `/trips/{trip_id}`), same JSON shapes (pydantic models), same store and
database-time hook, same error body `{"error", "status", "detail"}`. The strangler router sends a route here once
its batch has passed its cutover.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from strangler.demo import store

# --- models -----------------------------------------------------------------------------------------------------


class TripSummary(BaseModel):
    id: int
    title: str
    country: str
    start_date: str | None
    end_date: str | None
    distance_km: float
    user_id: int


class Owner(BaseModel):
    id: int
    username: str


class TripDetail(TripSummary):
    owner: Owner | None
    steps: int
    photos: int
    likes: int


class TripPage(BaseModel):
    items: list[TripSummary]
    page: int
    per_page: int
    total: int


class Step(BaseModel):
    id: int
    position: int
    title: str
    place: str
    lat: float
    lon: float
    day: int


class StepList(BaseModel):
    trip_id: int
    items: list[Step]


class Feed(BaseModel):
    items: list[TripSummary]
    next_cursor: int | None


class PopularTrip(TripSummary):
    likes: int


class Popular(BaseModel):
    items: list[PopularTrip]


class User(BaseModel):
    id: int
    username: str
    display_name: str
    country: str
    bio: str
    trips: int
    followers: int
    following: int


class UserHit(BaseModel):
    id: int
    username: str
    display_name: str


class SearchResult(BaseModel):
    q: str
    trips: list[TripSummary]
    users: list[UserHit]


# --- dependencies and helpers -------------------------------------------------------------------------------------


def current_user(authorization: Annotated[str | None, Header()] = None) -> dict | None:
    """The user of a bearer token, or None (the Flask session cookie is not shared with this app)."""
    if authorization and authorization.startswith("Bearer "):
        return store.one(
            "SELECT u.* FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token = ?", [authorization[7:].strip()]
        )
    return None


CurrentUser = Annotated[dict | None, Depends(current_user)]


def bounded(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """A bounded integer query argument, clamped like the Flask app does; 400 when not a number."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer") from None
    return max(low, min(high, value))


def visible_trip(trip_id: int, user: dict | None) -> dict:
    trip = store.one("SELECT * FROM trips WHERE id = ?", [trip_id])
    if trip is None or (not trip["is_public"] and (user is None or user["id"] != trip["user_id"])):
        raise HTTPException(404, f"trip {trip_id} not found")
    return trip


# --- routers ----------------------------------------------------------------------------------------------------

trips = APIRouter(prefix="/trips", tags=["trips"])


@trips.get("", response_model=TripPage)
def list_trips(
    page: str | None = None, per_page: str | None = None, country: str | None = None, sort: str = "recent"
) -> Any:
    page_n = bounded(page, "page", 1, 1, 10_000)
    size = bounded(per_page, "per_page", 20, 1, 50)
    where, params = ["is_public = 1"], []
    if country:
        if len(country) != 2:
            raise HTTPException(400, "country must be a two-letter code")
        where.append("country = ?")
        params.append(country.upper())
    orders = {"recent": "start_date DESC, id DESC", "distance": "distance_km DESC, id"}
    if sort not in orders:
        raise HTTPException(400, "sort must be recent or distance")
    clause = " AND ".join(where)
    total = store.one(f"SELECT count(*) AS n FROM trips WHERE {clause}", params)["n"]
    rows = store.run(
        f"SELECT * FROM trips WHERE {clause} ORDER BY {orders[sort]} LIMIT ? OFFSET ?",
        params + [size, (page_n - 1) * size],
    )
    return TripPage(items=rows, page=page_n, per_page=size, total=total)


@trips.get("/{trip_id}", response_model=TripDetail)
def get_trip(trip_id: int, user: CurrentUser) -> Any:
    trip = visible_trip(trip_id, user)
    owner = store.one("SELECT id, username FROM users WHERE id = ?", [trip["user_id"]])
    counts = store.one(
        "SELECT (SELECT count(*) FROM steps WHERE trip_id = ?) AS steps, "
        "(SELECT count(*) FROM photos WHERE trip_id = ?) AS photos, "
        "(SELECT count(*) FROM likes WHERE trip_id = ?) AS likes",
        [trip_id] * 3,
    )
    return TripDetail(**trip, owner=owner, **counts)


@trips.get("/{trip_id}/steps", response_model=StepList)
def list_steps(trip_id: int, user: CurrentUser) -> Any:
    visible_trip(trip_id, user)
    rows = store.run("SELECT * FROM steps WHERE trip_id = ? ORDER BY position", [trip_id])
    return StepList(trip_id=trip_id, items=rows)


feed = APIRouter(prefix="/feed", tags=["feed"])


@feed.get("", response_model=Feed)
def home_feed(user: CurrentUser, before: str | None = None) -> Any:
    limit = 20
    params: list[Any] = []
    if user is not None:
        sql = (
            "SELECT t.* FROM trips t JOIN follows f ON f.followee_id = t.user_id "
            "WHERE f.follower_id = ? AND t.is_public = 1"
        )
        params.append(user["id"])
    else:
        sql = "SELECT * FROM trips t WHERE t.is_public = 1"
    if before is not None and before.lstrip("-").isdigit():  # Flask's type=int ignores what is not a number
        sql += " AND t.id < ?"
        params.append(int(before))
    rows = store.run(sql + " ORDER BY t.id DESC LIMIT ?", params + [limit])
    return Feed(items=rows, next_cursor=rows[-1]["id"] if len(rows) == limit else None)


@feed.get("/popular", response_model=Popular)
def popular(limit: str | None = None) -> Any:
    n = bounded(limit, "limit", 10, 1, 50)
    rows = store.run(
        "SELECT t.*, count(l.user_id) AS likes FROM trips t LEFT JOIN likes l ON l.trip_id = t.id "
        "WHERE t.is_public = 1 GROUP BY t.id ORDER BY likes DESC, t.id LIMIT ?",
        [n],
    )
    return Popular(items=rows)


users = APIRouter(prefix="/users", tags=["users"])


@users.get("/{user_id}", response_model=User)
def get_user(user_id: int) -> Any:
    user = store.one("SELECT * FROM users WHERE id = ?", [user_id])
    if user is None:
        raise HTTPException(404, f"user {user_id} not found")
    counts = store.one(
        "SELECT (SELECT count(*) FROM trips WHERE user_id = ? AND is_public = 1) AS trips, "
        "(SELECT count(*) FROM follows WHERE followee_id = ?) AS followers, "
        "(SELECT count(*) FROM follows WHERE follower_id = ?) AS following",
        [user_id] * 3,
    )
    return User(**{k: user[k] for k in ("id", "username", "display_name", "country", "bio")}, **counts)


search = APIRouter(prefix="/search", tags=["search"])


# deliberate twin of demo/flask_app.py:search_all: the port must answer alike
@search.get("", response_model=SearchResult)
def search_all(q: str = "", type: str = "all") -> Any:
    q = q.strip()
    if len(q) < 2:
        raise HTTPException(400, "q must have at least 2 characters")
    if type not in ("all", "trips", "users"):
        raise HTTPException(400, "type must be all, trips or users")
    like = f"%{q.lower()}%"
    found_trips: list[dict] = []
    found_users: list[dict] = []
    if type in ("all", "trips"):
        found_trips = store.run(
            "SELECT * FROM trips WHERE is_public = 1 AND (lower(title) LIKE ? OR "
            "lower(country) = ?) ORDER BY id LIMIT 10",
            [like, q.lower()],
        )
    if type in ("all", "users"):
        found_users = store.run(
            "SELECT id, username, display_name FROM users WHERE lower(username) LIKE ? "
            "OR lower(display_name) LIKE ? ORDER BY id LIMIT 10",
            [like, like],
        )
    return SearchResult(q=q, trips=found_trips, users=found_users)


# --- the app ----------------------------------------------------------------------------------------------------

_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


def create_app() -> FastAPI:
    """Build the demo FastAPI app (the module's `app` is one of these)."""
    api = FastAPI(title="travel journal API (FastAPI port)", version="2.0")

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": _PHRASES.get(exc.status_code, "Error"), "status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
        )

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Werkzeug would not have matched a non-integer id at all: answer as it would, 404.
        in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        code = 404 if in_path else 400
        detail = f"no such page: {request.url.path}" if in_path else "invalid request"
        return JSONResponse({"error": _PHRASES[code], "status": code, "detail": detail}, status_code=code)

    for router in (trips, feed, users, search):
        api.include_router(router)
    return api


app = create_app()
