from . import blueprint


@blueprint.route("/")
def index():
    return ""


@blueprint.route("/api/stats")
def stats():
    return {}
