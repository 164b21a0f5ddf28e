"""Three levels of mounts: FastAPI `app` -> Starlette `/api` -> FastAPI `/v1` (a router included with a prefix)
-> the Cadwyn-versioned app of cadwyn_app at `/exec`."""

from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from cadwyn_app import execution


async def ping(request):
    return PlainTextResponse("pong")


things = APIRouter(prefix="/things", tags=["things"])


@things.get("/{thing_id}")
async def get_thing(thing_id: int) -> int:
    return thing_id


@things.put("/{thing_id}")
async def put_thing(thing_id: int) -> int:
    return thing_id


inner = FastAPI(openapi_url=None)
inner.include_router(things)
inner.mount("/exec", execution)


@inner.get("/status")
async def status() -> str:
    return "ok"


middle = Starlette(routes=[Route("/ping", ping), Route("/ping", ping, methods=["POST"]), Mount("/v1", app=inner)])

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
app.mount("/api", middle)


@app.get("/")
async def root() -> str:
    return "root"
