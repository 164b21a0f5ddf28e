from fastapi import APIRouter, FastAPI

from .settings import config, paths

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
router = APIRouter(prefix=config.run.root_path)
api = APIRouter(prefix=paths.api)
admin = APIRouter(prefix=paths.admin)


@router.get("/health")
def health():
    return {}


@api.get("/items")
def items():
    return []


@admin.post("/reload")
def reload():
    return {}


app.include_router(router)
app.include_router(api)
app.include_router(admin)
