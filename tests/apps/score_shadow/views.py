from flask import Flask
from werkzeug.exceptions import abort

from .helpers import check

app = Flask(__name__)


@app.route("/items/<int:item_id>")
def item(item_id):
    if not check(item_id):
        abort(404)
    return {"id": item_id}
