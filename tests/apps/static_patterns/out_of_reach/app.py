from flask import Flask

app = Flask(__name__, static_folder=None)


class Page:
    query = None


class Registered(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        app.add_url_rule(f"/{name.lower()}", view_func=lambda: name)


class Reports(metaclass=Registered):
    pass


def load_pages():
    for page in Page.query.all():
        app.add_url_rule(page.url, endpoint=page.slug, view_func=lambda: "")
        app.add_url_rule("/pages/index", endpoint="index", view_func=lambda: "")


@app.route("/health")
def health():
    return "ok"
