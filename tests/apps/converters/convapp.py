"""A Flask app with its own URL converters: regexes of their own, one spanning slashes, and to_python methods
that reject what their regex lets through (Werkzeug then answers 404 or 405, it does not try the next rule)."""

import uuid

from flask import Flask
from werkzeug.routing import BaseConverter, ValidationError


class StrictUUIDConverter(BaseConverter):
    """Any segment by regex; only a UUID (any case) or the sentinel `me` gets through to_python."""

    def to_python(self, value):
        if value == "me":
            return value
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValidationError() from None


class RegexConverter(BaseConverter):
    """`<regex("[a-z]{3}"):code>`: the regex comes from the rule's argument."""

    def __init__(self, url_map, *items):
        super().__init__(url_map)
        self.regex = items[0]


class LangConverter(BaseConverter):
    regex = "(?:en|fr|de)"


class SlugPathConverter(BaseConverter):
    """Slugs separated by slashes: spans segments, like `path`, but only lowercase words and digits."""

    regex = r"[a-z0-9-]+(?:/[a-z0-9-]+)*"
    part_isolating = False
    weight = 200


class EvenConverter(BaseConverter):
    """Digits, tried before `int` (lower weight); odd numbers are rejected by to_python."""

    regex = r"\d+"
    weight = 40

    def to_python(self, value):
        if int(value) % 2:
            raise ValidationError()
        return int(value)


app = Flask(__name__)
app.url_map.converters.update(
    uuid_str=StrictUUIDConverter, regex=RegexConverter, lang=LangConverter, slugpath=SlugPathConverter,
    even=EvenConverter,
)


def view(**kwargs):
    return "ok"


for rule, endpoint, methods in [
    ("/items/<uuid_str:item_id>", "item", ["GET", "DELETE"]),
    ("/items/<int:n>", "item_by_number", ["GET"]),
    ("/items/new", "new_item", ["GET"]),
    ("/items/<uuid_str:item_id>/parts/<int:part>", "part", ["GET"]),
    ("/docs/<slugpath:page>", "doc", ["GET"]),
    ("/docs/<slugpath:page>/edit", "edit_doc", ["POST"]),
    ("/docs/<path:anything>", "doc_fallback", ["GET"]),
    ("/<lang:lang>/about", "about", ["GET"]),
    ("/codes/<regex('[a-z]{3}'):code>", "code", ["GET"]),
    ("/codes/<int:n>", "code_number", ["GET"]),
    ("/numbers/<even:n>", "even", ["GET"]),
    ("/numbers/<int:n>", "number", ["GET", "PUT"]),
    ("/numbers/<int:n>/next", "next_number", ["POST"]),
]:
    app.add_url_rule(rule, endpoint, view, methods=methods)
