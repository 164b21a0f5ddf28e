"""The built-in demo: a travel-journal API (Flask app, FastAPI port) and its generated traffic."""
