from flask import Blueprint

users = Blueprint("users", __name__)
admin = Blueprint("admin", __name__)
reports = Blueprint("reports", __name__)
external = Blueprint("external", __name__)
env = Blueprint("env", __name__)


@users.route("/<int:user_id>")
def get_user(user_id):
    return ""


@admin.route("/", methods=["GET", "POST"])
def dashboard():
    return ""


@reports.get("/daily")
def daily():
    return ""


@external.route("/hook", methods=["POST"])
def hook():
    return ""


@env.route("/info")
def info():
    return ""
