"""The app of `bench/attribute.py --own-converters`: 100 resources whose item ids go through a converter with its
own to_python (a UUID or `me`, else ValidationError), beside an int rule, like the real app of issue 13."""

import uuid

from flask import Flask
from werkzeug.routing import BaseConverter, ValidationError


class StrictUUIDConverter(BaseConverter):
    def to_python(self, value):
        if value == "me":
            return value
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValidationError() from None


app = Flask(__name__)
app.url_map.converters["uuid_str"] = StrictUUIDConverter


def view(**kwargs):
    return "ok"


for k in range(100):
    app.add_url_rule(f"/api/res{k}/<uuid_str:item_id>", f"item{k}", view, methods=["GET", "DELETE"])
    app.add_url_rule(f"/api/res{k}/<uuid_str:item_id>/children", f"children{k}", view)
    app.add_url_rule(f"/api/res{k}/<int:n>", f"number{k}", view)
    app.add_url_rule(f"/api/res{k}", f"list{k}", view, methods=["GET", "POST"])
