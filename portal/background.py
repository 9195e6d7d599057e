"""Objects that own a background thread: one per application in each process, made on first use (after a
server has forked its workers, so each worker gets its own thread)."""

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import Flask

T = TypeVar("T")
_lock = threading.Lock()


def per_process(app: Flask, key: str, make: Callable[[Flask], T]) -> T:
    """`app`'s object under `key`, made by `make(app)` the first time it is asked for."""
    with _lock:
        found = app.extensions.get(key)
        if found is None:
            found = app.extensions[key] = make(app)
        return found
