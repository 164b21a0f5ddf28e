"""Flask and FastAPI twins for the pilot tests: every route waits ~250 ms (lognormal), the same on both sides,
so that latency is the apps' own and a doubled FastAPI latency is a real regression."""
from __future__ import annotations

import asyncio
import random
import time

import flask
from fastapi import FastAPI

ROUTES = ("orders", "carts", "slow", "rare")  # one batch each in the tests


def wait_s() -> float:
    return 0.25 * random.lognormvariate(0.0, 0.25)


flask_app = flask.Flask("pilot_flask")
fastapi_app = FastAPI()


@flask_app.get("/health")
def health():
    return {"ok": True}


@fastapi_app.get("/health")
async def fastapi_health() -> dict:
    return {"ok": True}


def _add(name: str) -> None:
    def flask_view(item_id: int):
        time.sleep(wait_s())
        return {"backend": "flask", name: item_id}

    async def fastapi_view(item_id: int) -> dict:
        await asyncio.sleep(wait_s())
        return {"backend": "fastapi", name: item_id}

    flask_app.add_url_rule(f"/{name}/<int:item_id>", f"{name}_item", flask_view)
    fastapi_app.add_api_route(f"/{name}/{{item_id}}", fastapi_view, methods=["GET"])


for _name in ROUTES:
    _add(_name)
