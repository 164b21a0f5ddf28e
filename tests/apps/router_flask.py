"""Flask side of the router tests: a few routes that report DB time, stream, read bodies and fail."""
from __future__ import annotations

import threading

from flask import Flask, Response, request

from strangler import dbtime

app = Flask(__name__)
app.config["PROPAGATE_EXCEPTIONS"] = True   # /boom escapes the app: the router itself must answer 500

stream_release = threading.Event()          # the test sets it once the first chunk has arrived
upload_seen = threading.Event()             # set when the first part of an upload has been read


@app.get("/trips")
def trips():
    dbtime.record(1.5)
    return {"backend": "flask", "trips": [1, 2]}


@app.get("/trips/<int:trip_id>")
def trip(trip_id: int):
    dbtime.record(2.0)
    dbtime.record(0.5)
    return {"backend": "flask", "trip": trip_id}


@app.get("/users/<int:user_id>")
def user(user_id: int):
    return {"backend": "flask", "user": user_id}


@app.get("/stream")
def stream():
    def chunks():
        yield b"first\n"
        dbtime.record(4.0)                  # a query while the body streams still counts
        yield b"second\n" if stream_release.wait(10) else b"late\n"

    return Response(chunks(), mimetype="text/plain")


@app.get("/boom")
def boom():
    raise RuntimeError("flask view failed")


@app.post("/upload")
def upload():
    first = request.stream.read(4)
    upload_seen.set()
    rest = request.stream.read()
    return {"backend": "flask", "first": first.decode(), "bytes": len(first) + len(rest)}
