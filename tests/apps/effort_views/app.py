from flask import Blueprint, Flask
from flask.views import MethodView
from flask_caching import Cache
from flask_login import login_required
from flask_restful import Api, Resource

from .auth import admin_required

app = Flask(__name__)
cache = Cache(app)
api = Api(app)


class SecureView(MethodView):
    decorators = [login_required, cache.cached(timeout=60)]


class Topics(SecureView):
    def get(self):
        return ""

    def post(self):
        return ""


class Settings(SecureView):
    decorators = [admin_required]

    def get(self):
        return ""


class Posts(Resource):
    method_decorators = {"delete": [login_required]}

    def get(self):
        return []

    def delete(self):
        return ""


forum = Blueprint("forum", __name__, url_prefix="/forum", static_folder="assets")


@forum.route("/")
def index():
    return ""


app.register_blueprint(forum)
app.add_url_rule("/topics", view_func=Topics.as_view("topics"))
app.add_url_rule("/settings", view_func=Settings.as_view("settings"))
api.add_resource(Posts, "/posts")
