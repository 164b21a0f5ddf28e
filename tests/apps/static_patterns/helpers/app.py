import functools

from flask import Blueprint, Flask
from flask_restful import Api

from .resources import Project, Projects, ping

ROUTES = [("/projects", Projects), ("/projects/<int:project_id>", Project)]


def configure_api(blueprint, routes, **kwargs):
    api = Api(blueprint, **kwargs)
    for path, resource in routes:
        api.add_resource(resource, path)
    return api


def add_ping(target, rule, *methods):
    target.add_url_rule(rule, view_func=ping, methods=list(methods) or None)


app = Flask(__name__, static_folder=None)
bp = Blueprint("projects", __name__, url_prefix="/data")
configure_api(bp, ROUTES, prefix="/v1")
app.register_blueprint(bp)
add_ping(app, "/ping", "GET", "POST")


def api_endpoint(func):
    """A decorator of the project: the route's method and path come from the function's name."""
    method, _, name = func.__name__.partition("_")
    app.add_url_rule(f"/api/{name}", view_func=func, methods=[method.upper()])
    return func


@api_endpoint
def get_report():
    return {}


@api_endpoint
def put_report():
    return {}


def audited(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapper


def health():
    return "ok"


def cached_view():
    return "cached"


app.add_url_rule("/health", view_func=audited(health))
app.add_url_rule("/cached", view_func=functools.cache(cached_view))
