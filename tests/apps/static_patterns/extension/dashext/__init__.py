from flask import Blueprint

from .config import Config

config = Config()
blueprint = Blueprint("dash", __name__)


def bind(app):
    from . import views  # noqa: F401

    app.register_blueprint(blueprint, url_prefix="/" + config.link)
