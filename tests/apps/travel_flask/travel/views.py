from flask import Blueprint

bp = Blueprint("trips", __name__, url_prefix="/trips")


@bp.route("/")
def list_trips():
    return "[]"


@bp.post("/")
def create_trip():
    return "{}"


@bp.route("/<int:trip_id>")
def get_trip(trip_id):
    return str(trip_id)


@bp.route("/<int:trip_id>", methods=["PUT", "DELETE"])
def change_trip(trip_id):
    return str(trip_id)


@bp.route("/me")
def my_trips():
    return "[]"


@bp.route("/<slug>")
def trip_by_slug(slug):
    return slug


@bp.route("/<int(min=1):trip_id>/photos/<int:n>")
def trip_photo(trip_id, n):
    return str(n)


@bp.route("/<int:year>-<int:month>")
def trips_in_month(year, month):
    return str(month)
