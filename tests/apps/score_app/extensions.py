"""Extensions of the score test app (parsed by strangler.effort, never imported)."""
from blinker import Namespace
from flask_caching import Cache
from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
cache = Cache()
limiter = Limiter(key_func=lambda: "x")
signals = Namespace()
trip_saved = signals.signal("trip-saved")
