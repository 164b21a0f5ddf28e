from fastapi import APIRouter, FastAPI
from flask import Blueprint, Flask
from flask.views import MethodView
from flask_restful import Api, Resource


class App(Flask):
    pass


class VersionedBlueprint(Blueprint):
    def __init__(self, name, version, **kwargs):
        super().__init__(name, __name__, url_prefix=f"/v{version}/{name}", **kwargs)

    def crud(self, view, rule="/"):
        self.add_url_rule(rule, view_func=view.as_view(f"{self.name}_crud"))


class RestApi(Api):
    pass


class BaseResource(Resource):
    def get(self, **ids):
        return {}


class Widget(BaseResource):
    def delete(self, widget_id):
        return ""


class Trips(MethodView):
    def get(self):
        return ""

    def post(self):
        return ""


app = App(__name__, static_folder=None)
trips = VersionedBlueprint("trips", 2)
trips.crud(Trips)
app.register_blueprint(trips)
api = RestApi(app, prefix="/rest")
api.add_resource(Widget, "/widgets/<int:widget_id>")


class AppRouter(APIRouter):
    def __init__(self, prefix="", **kwargs):
        super().__init__(prefix="/api" + prefix, **kwargs)


class Service(FastAPI):
    pass


service = Service(docs_url=None, redoc_url=None, openapi_url=None)
items = AppRouter(prefix="/items")


@items.get("/{item_id}")
def get_item(item_id: int):
    return {}


service.include_router(items)
