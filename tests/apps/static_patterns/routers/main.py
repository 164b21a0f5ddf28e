from fastapi import APIRouter, FastAPI

from .api import api_router
from .api.v1 import items
from .settings import settings

app = FastAPI(docs_url=None, redoc_url=None)
app.include_router(api_router, prefix=settings.API_PREFIX)
drafts = APIRouter(prefix="/drafts")


@items.router.get("/late")
def late():
    """Added after the router was included: FastAPI copied its routes before, so the app does not have it."""
    return {}


@drafts.get("/{draft_id}")
def get_draft(draft_id: int):
    return {}
