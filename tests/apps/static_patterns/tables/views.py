def home():
    return ""


def about():
    return ""


def contact():
    return ""


def create_trip():
    return ""


def list_trips():
    return ""


def export():
    return ""


def status():
    return ""


def build_api_routes(version):
    routes = []
    routes.append((f"/{version}/export", export, ["GET"]))
    routes += [(f"/{version}/status", status, ["GET", "HEAD"])]
    return routes
