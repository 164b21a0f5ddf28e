"""A Flask app with known constructs, for tests/test_score.py (read by strangler.effort, never run)."""
from flask import (Blueprint, Flask, abort, current_app, g, jsonify, make_response, render_template, request,
                   send_file, session, stream_with_context)
from flask.signals import request_started
from flask.views import MethodView
from flask_login import current_user, login_required

from . import services
from .extensions import cache, limiter
from .services import load_trip

trips = Blueprint("trips", __name__, url_prefix="/trips")
admin = Blueprint("admin", __name__, url_prefix="/admin")


@trips.before_request
def remember_user():
    g.user = session.get("user")


@admin.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@trips.route("/<int:trip_id>")
@cache.cached(timeout=60)
def get_trip(trip_id):
    trip = load_trip(trip_id)
    if g.user is None:
        abort(403)
    return jsonify(trip)


@trips.route("", methods=["POST"])
@login_required
def create_trip():
    data = request.get_json()
    if not data or "title" not in data:
        abort(400)
    trip = services.save_trip(data, current_user.id)
    return make_response(jsonify(trip), 201)


@trips.route("/<int:trip_id>/export")
def export_trip(trip_id):
    def rows():
        for i in range(3):
            yield f"{trip_id},{i}\n"
    return current_app.response_class(stream_with_context(rows()))


class StepsView(MethodView):
    def get(self, trip_id):
        return jsonify(self.steps(trip_id))

    @limiter.limit("5/minute")
    def post(self, trip_id):
        title = request.form["title"]
        photo = request.files.get("photo")
        if photo and title:
            return jsonify(saved=True), 201
        return jsonify(saved=False), 400

    def steps(self, trip_id):
        return [trip_id] if trip_id > 0 else []


@admin.route("/report")
def report():
    size = current_app.config["PAGE_SIZE"]
    return render_template("report.html", size=size, user=session["user"])


@admin.route("/dump")
def dump():
    return send_file("/tmp/dump.csv")


def log_start(sender, **extra):
    pass


def create_app():
    app = Flask(__name__)
    app.register_blueprint(trips)
    app.register_blueprint(admin)
    app.add_url_rule("/trips/<int:trip_id>/steps", view_func=StepsView.as_view("steps"))
    request_started.connect(log_start, app)

    @app.teardown_request
    def close_db(exc):
        pass

    @app.route("/health")
    def health():
        return "ok"

    return app
