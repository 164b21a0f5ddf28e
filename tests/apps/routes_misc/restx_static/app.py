"""flask-restx patterns for the static inventory (read, never imported: flask-restx need not be installed)."""
from flask import Flask
from flask_restx import Api, Namespace, Resource

from .resources import dogs

app = Flask(__name__, static_folder=None)
api = Api(app, prefix="/api")
todos = Namespace("todos", path="/todos")
cats = api.namespace("cats")


@todos.route("/<int:todo_id>")
class Todo(Resource):
    def get(self, todo_id):
        return {}

    def put(self, todo_id):
        return {}


@cats.route("/", "/all")
class CatList(Resource):
    def get(self):
        return []


api.add_namespace(todos)
api.add_namespace(dogs, path="/v2/dogs")
