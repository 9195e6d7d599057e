"""Deliver messages to users: the server log and their in-app notifications.

There is no SMS or e-mail gateway offline; a real one plugs in here later.
"""

import logging

from portal.models import Notification, User
from portal.models.base import db

log = logging.getLogger("mkopo.notifier")


def notify(user: User, kind: str, title: str, message: str) -> Notification:
    log.info("notify user=%s kind=%s title=%s: %s", user.id, kind, title, message)
    note = Notification(user_id=user.id, kind=kind, title=title, message=message)
    db.session.add(note)
    db.session.flush()
    return note
