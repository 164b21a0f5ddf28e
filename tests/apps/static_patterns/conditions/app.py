import json
import os

from fastapi import FastAPI
from flask import Blueprint, Flask

app = Flask(__name__, static_folder=None)
jobs = Blueprint("jobs", __name__)
extra = Blueprint("extra", __name__, url_prefix="/extra")


def normalize(prefix):
    if not prefix:
        return ""
    return "/" + prefix.strip("/")


@jobs.route("/jobs")
def list_jobs():
    return ""


@extra.route("/info")
def info():
    return ""


app.register_blueprint(jobs, url_prefix=normalize(json.loads(os.environ.get("JOBS_JSON") or "null")))
for plugin in json.loads(os.environ.get("PLUGINS_JSON") or "[\"\"]"):
    app.register_blueprint(extra, name=f"extra_{plugin}" if plugin else "extra")


@app.route("/ok")
def ok():
    return ""


_APPS = {}


def create_api(key=None):
    if os.environ.get("API_KEY", key) in _APPS:  # a cache: the same app, made by this function before
        return _APPS[os.environ.get("API_KEY", key)]
    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @api.get("/items")
    def items():
        return []

    return api


root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
root.mount("/api", app=create_api())
