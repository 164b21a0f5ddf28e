"""Objects an app spec can name: an attribute, a dotted attribute, a factory with and without arguments."""


class Marker:
    def __init__(self, name):
        self.name = name


app = Marker("app")


class holder:  # read as `specapp:holder.inner`
    inner = Marker("inner")


def create_app(name="factory"):
    return Marker(name)
