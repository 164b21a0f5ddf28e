"""FastAPI test app for the route inventory: nested routers with prefixes, api_route, add_api_route, a route
shadowed by registration order, and a mounted Flask app."""
from a2wsgi import WSGIMiddleware
from fastapi import FastAPI
from flask import Flask

from travelapi import trips
from travelapi.users import router as users_router

app = FastAPI()
app.include_router(trips.router, prefix="/v2")
app.include_router(users_router)

legacy = Flask(__name__)


@legacy.route("/old/<int:item>")
def old_item(item):
    return str(item)


@app.api_route("/ping", methods=["GET", "POST"])
def ping():
    return "pong"


def health():
    return "ok"


app.add_api_route("/health", health, methods=["GET"])
app.mount("/legacy", WSGIMiddleware(legacy))
