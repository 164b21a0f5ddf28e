"""Flask test app for the route inventory: nested and prefixed blueprints, MethodView, flask-restful resources,
converters with arguments, a catch-all and overlapping rules."""
from flask import Flask
from flask_restful import Api

from travel import admin
from travel.places import PlaceAPI
from travel.notes import Note, Notes
from .views import bp as trips_bp

API_PREFIX = "/api"


def create_app():
    app = Flask(__name__)
    app.register_blueprint(trips_bp)
    app.register_blueprint(admin.admin)
    app.register_blueprint(admin.reports, url_prefix=API_PREFIX + "/reports")
    app.add_url_rule("/places/<int:place_id>", view_func=PlaceAPI.as_view("place"))
    api = Api(app)
    api.add_resource(Note, "/notes/<int:note_id>", "/notes/by-hex/<note_hex>")
    api.add_resource(Notes, "/notes", endpoint="notes")

    @app.route("/health")
    def health():
        return "ok"

    @app.route("/2024/summary")
    def summary_2024():
        return "2024"

    @app.route("/v<int:version>/status")
    def versioned_status(version):
        return str(version)

    @app.route("/prices/<float:amount>", methods=["GET", "OPTIONS"])
    def price(amount):
        return str(amount)

    @app.route("/codes/<int(fixed_digits=4):code>")
    def code(code):
        return str(code)

    @app.route("/files/<path:name>/raw")
    def raw_file(name):
        return name

    @app.route("/files/<name>")
    def file_info(name):
        return name

    @app.route("/<path:anything>")
    def catch_all(anything):
        return anything

    return app
