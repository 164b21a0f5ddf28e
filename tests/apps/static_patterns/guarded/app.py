from deployment import settings  # outside the tree: its values are not known
from fastapi import APIRouter, FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
scopes = APIRouter()


@scopes.get("/list")
def list_scopes():
    return []


def limits_router(notation=None):
    router = APIRouter()
    if notation:

        @router.get("/loadlimit")
        def loadlimit():
            return {"limited": True}

    else:

        @router.get("/loadlimit")
        def loadlimit():
            return {}

    return router


def register_stats(app, enabled):
    if not enabled:
        return

    @app.get("/internal/stats")
    def stats():
        return {}


app.include_router(limits_router(settings.LIMIT))
if settings.SCOPES:
    app.include_router(scopes, prefix="/scopes")
register_stats(app, enabled=settings.STATS)


@app.get("/health")
def health():
    return {}
