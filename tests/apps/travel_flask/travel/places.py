from flask.views import MethodView


class BaseAPI(MethodView):
    def get(self, place_id):
        return str(place_id)


class PlaceAPI(BaseAPI):
    def patch(self, place_id):
        return str(place_id)

    def delete(self, place_id):
        return ""
