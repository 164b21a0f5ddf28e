from flask import Blueprint

admin = Blueprint("admin", __name__, url_prefix="/admin")
users = Blueprint("users", __name__, url_prefix="/users")
reports = Blueprint("reports", __name__)


@users.route("/<uuid:user_id>")
def get_user(user_id):
    return str(user_id)


@users.route("/<string(length=2):country>")
def users_in_country(country):
    return country


@users.get("/by-region/<any(eu, us, '12'):region>")
def users_in_region(region):
    return region


@admin.route("/")
def dashboard():
    return "admin"


@reports.route("/<int:year>")
def yearly(year):
    return str(year)


admin.register_blueprint(users)
