from flask import Blueprint

bp = Blueprint("jobs", __name__)


@bp.route("/jobs")
def jobs():
    return ""
