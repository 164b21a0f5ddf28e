import os

from flask import Blueprint, Flask

from deployment import settings  # outside the tree: not known

app = Flask(__name__, static_folder=None)
app.config.from_envvar("APP_SETTINGS", silent=True)
env = Blueprint("env", __name__)
external = Blueprint("external", __name__)


@env.route("/info")
def info():
    return ""


@external.route("/hook", methods=["POST"])
def hook():
    return ""


app.register_blueprint(env, url_prefix=os.environ.get("ENV_PREFIX", "/env"))
app.register_blueprint(external, url_prefix=settings.EXTERNAL_PREFIX)
