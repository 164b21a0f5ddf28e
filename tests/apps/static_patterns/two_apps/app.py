import os

from .factory import make_app


def create_app():
    return make_app(os.environ.get("JOBS_URL_PREFIX", "/jobs-ui"))
