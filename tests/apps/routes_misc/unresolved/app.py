from deployment import settings  # outside the tree: its values are not known
from fastapi import APIRouter, FastAPI
from flask import Blueprint, Flask


app = Flask(__name__, static_folder=None)
config = {"PREFIX": settings.get("PREFIX", "/x")}
admin = Blueprint("admin", __name__)
orphan = Blueprint("orphan", __name__, url_prefix="/orphan")
app.register_blueprint(admin, url_prefix=config["PREFIX"])

for name in settings.get("EXTRA_PAGES", "").split(","):
    app.add_url_rule("/pages/" + name, endpoint=name, view_func=lambda: "")


@app.route(settings.get("HEALTH_PATH", "/health"))
def health():
    return "ok"


@app.route("/ok")
def ok():
    return "ok"


@admin.route("/users")
def users():
    return ""


@orphan.route("/thing")
def thing():
    return ""


api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
router = APIRouter(prefix="/r")


@router.get("/items")
def items():
    return []
