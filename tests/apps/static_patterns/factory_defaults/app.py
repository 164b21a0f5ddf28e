from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.route("/items")
def items():
    return []


def create_app(**config):
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(**{k.upper(): v for k, v in config.items()})
    if path := app.config.get("CONFIG_PATH"):
        app.config.from_file(path, load=None)
    app.register_blueprint(bp)
    if app.config.get("AUTHENTICATION", True):
        from . import auth

        app.register_blueprint(auth.bp)
    return app
