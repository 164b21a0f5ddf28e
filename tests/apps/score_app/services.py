"""Project helpers the views call: their complexity and coupling count for the views, one level deep."""
from flask import abort

from .extensions import db, trip_saved
from .models import Trip


def load_trip(trip_id):
    trip = Trip.query.get(trip_id)
    if trip is None:
        abort(404)
    return trip


def save_trip(data, owner):
    trip = Trip(title=data.get("title") or "untitled", owner=owner)
    db.session.add(trip)
    db.session.commit()
    trip_saved.send(trip)
    return deeper(trip)


def deeper(trip):
    if trip.id and trip.title:
        return {"id": trip.id}
    return {}
