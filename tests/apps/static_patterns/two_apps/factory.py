from flask import Flask

from .web import bp


def version():
    return "1.0"


def make_app(url_prefix):
    app = Flask(__name__, static_folder=None)
    app.register_blueprint(bp, url_prefix=url_prefix)
    app.add_url_rule("/version", "version", version)
    return app
