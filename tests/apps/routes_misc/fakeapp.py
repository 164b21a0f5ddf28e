"""A stdlib-only stand-in for a Flask app (url_map + view_functions), importable by any Python >= 3.8."""


class Rule:
    def __init__(self, rule, methods, endpoint):
        self.rule, self.methods, self.endpoint = rule, set(methods), endpoint
        self.provide_automatic_options = True


class Map:
    def iter_rules(self):
        return [Rule("/a/<int:x>", ["GET", "HEAD", "OPTIONS"], "a"), Rule("/b", ["POST", "OPTIONS"], "bp.b")]


def a(x):
    return x


def b():
    return 1


class App:
    url_map = Map()
    view_functions = {"a": a, "bp.b": b}


app = App()
not_an_app = object()
