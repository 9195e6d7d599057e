"""The notifications service: a user's own notifications only, whatever their role; pages of fixed cost."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Notification, Role
from portal.models.base import db, utcnow
from portal.services import notifications
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from tests.queries import count_queries


def _count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == user.id))


def test_listing_shows_only_the_actors_notifications_newest_first(alice, bob, notify):
    first, second = notify(alice, title="First"), notify(alice, title="Second")
    notify(bob, title="Bob's")
    second.created_at = first.created_at + timedelta(seconds=1)
    db.session.commit()

    page = notifications.listing(actor=alice)

    assert [n.title for n in page.items] == ["Second", "First"]
    assert (page.total, page.unread, page.page, page.pages) == (2, 2, 1, 1)


def test_listing_pages_and_filters_unread(alice, notify):
    notes = [notify(alice, title=f"N{i}") for i in range(5)]
    notifications.mark_read(notes[0], actor=alice)
    db.session.commit()

    page = notifications.listing(actor=alice, page=2, per_page=2)
    unread = notifications.listing(actor=alice, unread_only=True, per_page=10)

    assert (page.total, page.unread, page.pages, len(page.items)) == (5, 4, 3, 2)
    assert page.has_next and page.has_prev
    assert unread.total == 4 and notes[0] not in unread.items
    assert notifications.unread_count(actor=alice) == 4


def test_per_page_is_capped(alice, notify):
    assert notifications.listing(actor=alice, per_page=10_000).per_page == notifications.MAX_PER_PAGE


@pytest.mark.parametrize("unread_only", [False, True])
def test_a_page_costs_the_same_queries_for_5_or_50_notifications(app, alice, notify, unread_only):
    for i in range(60):
        notify(alice, title=f"N{i}")

    def page_of(size):
        return lambda: notifications.listing(actor=alice, per_page=size, unread_only=unread_only)

    assert count_queries(page_of(5)) == count_queries(page_of(50)) == 2


def test_mark_read_sets_the_time_once(alice, notify):
    note = notify(alice)

    notifications.mark_read(note, actor=alice)
    first = note.read_at
    notifications.mark_read(note, actor=alice)

    assert first is not None and note.read_at == first
    assert notifications.unread_count(actor=alice) == 0


def test_mark_all_read_touches_only_the_actors_notifications(alice, bob, notify):
    notify(alice), notify(alice), notify(bob)

    assert notifications.mark_all_read(actor=alice) == 2
    db.session.commit()

    assert notifications.unread_count(actor=alice) == 0
    assert notifications.unread_count(actor=bob) == 1


def test_delete_removes_the_actors_own_notification(alice, notify):
    note = notify(alice)

    notifications.delete_own(note, actor=alice)
    db.session.commit()

    assert _count(alice) == 0


@pytest.mark.parametrize("role", list(Role))
def test_no_role_can_read_mark_or_delete_another_users_notification(make_user, bob, notify, role):
    other = make_user(role)
    note = notify(bob)

    with pytest.raises(NotFound):
        notifications.get_own(note.id, actor=other)
    with pytest.raises(NotFound):
        notifications.mark_read(note, actor=other)
    with pytest.raises(NotFound):
        notifications.delete_own(note, actor=other)
    db.session.rollback()

    assert notifications.listing(actor=other).total == 0
    assert db.session.get(Notification, note.id).read_at is None
    assert _count(bob) == 1


def test_a_missing_notification_is_not_found(alice):
    with pytest.raises(NotFound):
        notifications.get_own(987654, actor=alice)


def test_create_test_notifies_the_actor(alice):
    note = notifications.create_test(actor=alice, title="  Hello ", message="")

    assert (note.user_id, note.kind, note.title) == (alice.id, "test", "Hello")
    assert note.message and note.created_at <= utcnow()


def test_create_test_refuses_an_over_long_title_or_message(alice):
    with pytest.raises(ValidationFailed) as refused:
        notifications.create_test(actor=alice, title="x" * 161, message="y" * 2001)

    assert set(refused.value.errors) == {"title", "message"}
    assert _count(alice) == 0


def test_create_test_is_refused_in_production(app, monkeypatch, alice):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")

    with pytest.raises(Forbidden):
        notifications.create_test(actor=alice)
    assert _count(alice) == 0
