"""A project module named like werkzeug.exceptions: its abort() is not the one the view imports."""


def abort(code):
    if code >= 500:
        raise RuntimeError(code)
    raise ValueError(code)
