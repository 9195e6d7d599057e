"""A user's in-app notifications: listing, unread count, marking read, deleting, and a test one.

Every function works on the acting user's own notifications only: another user's notification is
answered as not found, whatever the actor's role, so its existence is not disclosed either.
A page costs two queries whatever its length: the counts (total and unread in one) and the rows.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import case, func, select, update

from portal.models import Notification, User
from portal.models.base import db, utcnow
from portal.services import notifier
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from portal.services.pagination import MAX_PER_PAGE, Page, paginate

PER_PAGE = 20
TITLE_LIMIT, MESSAGE_LIMIT = 160, 2000
TEST_KIND = "test"


@dataclass
class NotificationPage(Page):
    """A Page whose `total` counts the listing asked for (all, or unread only)."""

    unread: int = 0  # of the user's notifications, whatever the filter


def _own(actor: User):
    return Notification.user_id == actor.id


def listing(*, actor: User, page: int = 1, per_page: int = PER_PAGE, unread_only: bool = False) -> NotificationPage:
    """The actor's notifications, newest first, one page of them."""
    total, unread = db.session.execute(
        select(func.count(), func.count(case((Notification.read_at.is_(None), 1)))).where(_own(actor))).one()
    stmt = select(Notification).where(_own(actor))
    if unread_only:
        stmt, total = stmt.where(Notification.read_at.is_(None)), unread
    found = paginate(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()), page, per_page,
                     MAX_PER_PAGE, total=total)
    return NotificationPage(found.items, found.total, found.page, found.per_page, unread=unread)


def unread_count(*, actor: User) -> int:
    return db.session.scalar(select(func.count()).where(_own(actor), Notification.read_at.is_(None)))


def get_own(notification_id: int, *, actor: User) -> Notification:
    """One of the actor's notifications; anyone else's is not found."""
    note = db.session.scalar(select(Notification).where(Notification.id == notification_id, _own(actor)))
    if note is None:
        raise NotFound("Notification not found.")
    return note


def _require_own(note: Notification, actor: User) -> None:
    if note.user_id != actor.id:
        raise NotFound("Notification not found.")


def mark_read(note: Notification, *, actor: User) -> Notification:
    """Mark it read (again: it keeps the first time it was read)."""
    _require_own(note, actor)
    if note.read_at is None:
        note.read_at = utcnow()
        db.session.flush()
    return note


def mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor read; return how many were."""
    result = db.session.execute(update(Notification).where(_own(actor), Notification.read_at.is_(None))
                                .values(read_at=utcnow()))
    return result.rowcount


def delete_own(note: Notification, *, actor: User) -> None:
    _require_own(note, actor)
    db.session.delete(note)
    db.session.flush()


def create_test_allowed() -> bool:
    """Test notifications exist to try delivery in development and tests, never in production."""
    return current_app.config.get("ENV_NAME") != "production"


def create_test(*, actor: User, title: str | None = None, message: str | None = None) -> Notification:
    """A notification to oneself, to try the delivery path; refused in production."""
    if not create_test_allowed():
        raise Forbidden("Test notifications are not available in production.")
    title = (title or "").strip() or "Test notification"
    message = (message or "").strip() or "This is a test notification from Mkopo."
    errors = {}
    if len(title) > TITLE_LIMIT:
        errors["title"] = [f"At most {TITLE_LIMIT} characters."]
    if len(message) > MESSAGE_LIMIT:
        errors["message"] = [f"At most {MESSAGE_LIMIT} characters."]
    if errors:
        raise ValidationFailed(errors)
    return notifier.notify(actor, TEST_KIND, title, message)
