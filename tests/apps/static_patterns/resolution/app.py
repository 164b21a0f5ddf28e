from dynaconf import settings
from flask import Blueprint, Flask

app = Flask(__name__, static_folder=None)
bp = Blueprint("api", __name__)


@bp.route("/things")
def things():
    return ""


app.register_blueprint(bp, url_prefix=settings.API_PREFIX)
