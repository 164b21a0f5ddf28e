import os
from os import getenv

from fastapi import APIRouter, FastAPI
from flask import Blueprint, Flask

app = Flask(__name__, static_folder=None)
shop = Blueprint("shop", __name__)
admin = Blueprint("admin", __name__)
hooks = Blueprint("hooks", __name__)


@shop.route("/cart")
def cart():
    return ""


@admin.route("/users")
def users():
    return ""


@hooks.route("/hook", methods=["POST"])
def hook():
    return ""


app.register_blueprint(shop, url_prefix=os.environ.get("SHOP_PREFIX", "/shop"))
app.register_blueprint(admin, url_prefix=getenv("ADMIN_PREFIX") or "/admin")
if "HOOKS_PREFIX" in os.environ:
    app.register_blueprint(hooks, url_prefix=os.environ["HOOKS_PREFIX"])

api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
router = APIRouter(prefix=f"{os.getenv('API_ROOT', '')}/v1")


@router.get("/items")
def items():
    return []


api.include_router(router)
