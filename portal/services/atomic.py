"""All-or-nothing for money operations, whatever the caller does next."""

from functools import wraps

from portal.models.base import db


def atomic(operation):
    """Run `operation` in a savepoint: if it raises, nothing it wrote stays, in the database or in the
    session's objects (installments it had marked paid, payments it had added)."""

    @wraps(operation)
    def wrapper(*args, **kwargs):
        with db.session.begin_nested():
            return operation(*args, **kwargs)
    return wrapper
