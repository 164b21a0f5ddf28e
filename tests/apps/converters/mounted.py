"""convapp's Flask app mounted under /legacy of a FastAPI app (through a2wsgi), as a strangler migration runs."""

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

from convapp import app as legacy

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
app.mount("/legacy", WSGIMiddleware(legacy))


@app.get("/items/{item_id}")
async def item(item_id: str) -> str:
    return item_id
