"""FastAPI twin of router_flask for the router tests; `versioned` serves the same routes under /v2."""
from __future__ import annotations

import contextlib
import threading

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse

from strangler import dbtime

stream_release = threading.Event()
upload_seen = threading.Event()
lifespan_events: list[str] = []


def make(prefix: str = "") -> FastAPI:
    """The test app, with its routes under `prefix`."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        lifespan_events.append(f"startup{prefix}")
        yield
        lifespan_events.append(f"shutdown{prefix}")

    app = FastAPI(lifespan=lifespan)
    r = APIRouter()

    @r.get("/trips")
    def trips() -> dict:                      # sync: runs in the thread pool
        dbtime.record(1.0)
        return {"backend": "fastapi", "trips": [1, 2]}

    @r.get("/trips/{trip_id}")
    async def trip(trip_id: int) -> dict:
        dbtime.record(3.0)
        return {"backend": "fastapi", "trip": trip_id}

    @r.get("/users/{user_id}")
    async def user(user_id: int) -> dict:     # exists, never in a batch in the tests
        return {"backend": "fastapi", "user": user_id}

    @r.get("/stream")
    def stream() -> StreamingResponse:
        def chunks():
            yield b"first\n"
            dbtime.record(4.0)
            yield b"second\n" if stream_release.wait(10) else b"late\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    @r.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("fastapi view failed")

    @r.post("/upload")
    async def upload(request: Request) -> dict:
        got = b""
        async for chunk in request.stream():
            got += chunk
            upload_seen.set()
        return {"backend": "fastapi", "first": got[:4].decode(), "bytes": len(got)}

    app.include_router(r, prefix=prefix)
    return app


app = make()
versioned = make("/v2")
