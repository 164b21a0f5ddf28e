from flask import Blueprint, Flask

from .views import about, build_api_routes, contact, create_trip, home, list_trips

ROUTES = [
    ("/trips", list_trips, ["GET"]),
    ("/trips", create_trip, ["POST"]),
]
PAGES = {"/": home, "/about": about, "/contact": contact}

app = Flask(__name__, static_folder=None)
bp = Blueprint("trips", __name__, url_prefix="/v1")
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
for rule, view in PAGES.items():
    app.add_url_rule(rule, view_func=view)
for rule, view, methods in build_api_routes("v2"):
    app.add_url_rule(rule, view_func=view, methods=methods)
app.register_blueprint(bp)
