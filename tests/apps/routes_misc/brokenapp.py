"""An app whose import fails the way real ones do: a setting missing from the environment."""
import os

from flask import Flask

DATABASE_URL = os.environ["TRAVEL_DATABASE_URL"]
app = Flask(__name__)
