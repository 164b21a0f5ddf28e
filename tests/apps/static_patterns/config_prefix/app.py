import os

from flask import Flask

from .views import admin, env, external, reports, users


def create_app(config_object="config_prefix.config.DevConfig"):
    app = Flask(__name__, static_folder=None)
    app.config.from_object(config_object)
    app.config.from_pyfile("defaults.py")
    app.config.from_envvar("APP_SETTINGS", silent=True)
    app.register_blueprint(users, url_prefix=app.config["USER_URL_PREFIX"])
    app.register_blueprint(admin, url_prefix=app.config["ADMIN_PREFIX"])
    app.register_blueprint(reports, url_prefix=app.config.get("REPORTS_PREFIX"))
    app.register_blueprint(external, url_prefix=app.config.get("EXTERNAL_PREFIX"))
    app.register_blueprint(env, url_prefix=os.environ.get("ENV_PREFIX", "/env"))
    if app.config["DEBUG"]:
        app.add_url_rule("/debug", endpoint="debug", view_func=lambda: "")
    return app
