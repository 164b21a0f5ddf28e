"""strangler: plan and check a Flask → FastAPI migration from routes and access logs."""

__version__ = "0.1.0"
