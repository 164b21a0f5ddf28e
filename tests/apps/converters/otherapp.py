"""A second Flask app in the same routes table as convapp: its rules share no path with convapp's."""

from flask import Flask

app = Flask(__name__)


@app.get("/other/<int:x>")
def other(x):
    return str(x)
