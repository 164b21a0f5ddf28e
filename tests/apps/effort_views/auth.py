from functools import wraps

from flask_login import login_required


def admin_required(f):
    @wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


__all__ = ["admin_required", "login_required"]
