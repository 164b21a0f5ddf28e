"""A user's app that binds the extension, as its documentation says (not in the extension's tree)."""

import os
import sys

from flask import Flask

sys.path.insert(0, os.path.dirname(__file__))
import dashext  # noqa: E402

app = Flask(__name__, static_folder=None)
dashext.bind(app)
