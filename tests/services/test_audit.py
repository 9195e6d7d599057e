"""The audit trail's hash chain, and the `flask audit verify` and `flask create-user` commands."""

import itertools
import json

import pytest
from sqlalchemy import JSON, bindparam, func, select, text

from portal.models import AuditLog, Role, User
from portal.models.base import db
from portal.services import audit, customers


@pytest.fixture
def actor(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def chain(actor):
    """Five audit rows, oldest first."""
    return [audit.record(actor, "test.event", "thing", i, before={"n": i}, after={"n": i + 1, "tag": f"t{i}"})
            for i in range(5)]


def _tamper_after(row_id: int, value: dict) -> None:
    stmt = text('UPDATE audit_logs SET "after" = :after WHERE id = :id').bindparams(bindparam("after", type_=JSON))
    db.session.execute(stmt, {"after": value, "id": row_id})
    db.session.expire_all()  # the tampering happened behind the ORM's back


def _delete_row(row_id: int) -> None:
    db.session.execute(text("DELETE FROM audit_logs WHERE id = :id"), {"id": row_id})
    db.session.expire_all()


def test_there_are_no_audit_rows_before_the_test_writes_some():
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_first_row_points_at_the_genesis_hash(actor):
    row = audit.record(actor, "test.event", "thing", 1)
    assert row.prev_hash == "0" * 64 == audit.GENESIS
    assert len(row.hash) == 64 and row.hash != audit.GENESIS


def test_each_row_points_at_the_previous_rows_hash(chain):
    assert chain[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    assert len({row.hash for row in chain}) == len(chain)


def test_record_stores_who_what_and_the_payloads(actor):
    row = audit.record(actor, "customer.update", "customer", 42, before={"a": 1}, after={"a": 2})
    db.session.expire_all()
    stored = db.session.get(AuditLog, row.id)
    assert (stored.actor_id, stored.action, stored.entity_type, stored.entity_id) == \
        (actor.id, "customer.update", "customer", "42")
    assert (stored.before, stored.after, stored.ip_address) == ({"a": 1}, {"a": 2}, None)


def test_record_without_an_actor(chain):
    row = audit.record(None, "system.event", "thing", "x")
    assert row.actor_id is None
    assert row.prev_hash == chain[-1].hash


def test_record_in_a_request_keeps_the_client_address(app, actor):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "196.201.214.10"}):
        row = audit.record(actor, "test.event", "thing", 1)
    assert row.ip_address == "196.201.214.10"
    assert audit.verify_chain().ok


def test_snapshot_leaves_out_the_password_hash(actor):
    snap = audit.snapshot(actor)
    assert "password_hash" not in snap
    assert snap["role"] == "admin"
    json.dumps(snap)  # JSON-ready: enums and datetimes converted


def test_verify_chain_on_an_empty_trail_is_ok():
    report = audit.verify_chain()
    assert (report.ok, report.checked, report.broken_id) == (True, 0, None)


def test_verify_chain_is_ok_on_an_untouched_chain(chain):
    db.session.expire_all()
    report = audit.verify_chain()
    assert (report.ok, report.checked, report.broken_id) == (True, 5, None)


def test_verify_chain_is_ok_across_batches(chain):
    db.session.expire_all()
    report = audit.verify_chain(batch=2)
    assert (report.ok, report.checked) == (True, 5)


def test_service_writes_keep_the_chain_intact(actor):
    customer = customers.create({"name": "Jane Doe", "national_id": "1234567"}, actor=actor)
    customers.update(customer, {"location": "Toi Market", "date_of_birth": "1990-05-01"}, actor=actor)
    customers.delete(customer, actor=actor)
    db.session.expire_all()
    assert audit.verify_chain().ok


def test_tampering_with_a_rows_after_is_reported_at_that_row(chain):
    _tamper_after(chain[2].id, {"n": 999, "tag": "t2"})
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_id == chain[2].id
    assert report.checked == 2
    assert "hash" in report.reason


def test_tampering_with_the_last_row_is_reported(chain):
    _tamper_after(chain[-1].id, {})
    assert audit.verify_chain().broken_id == chain[-1].id


def test_tampering_is_found_in_a_later_batch(chain):
    target = chain[3].id  # read first: verify_chain expunges the session between batches
    _tamper_after(target, {"n": 0})
    assert audit.verify_chain(batch=2).broken_id == target


def test_deleting_a_middle_row_is_reported_at_the_next_row(chain):
    _delete_row(chain[2].id)
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_id == chain[3].id
    assert report.checked == 2
    assert "point" in report.reason


def test_deleting_the_first_row_is_reported_at_the_second(chain):
    _delete_row(chain[0].id)
    assert audit.verify_chain().broken_id == chain[1].id


def test_rewriting_a_row_and_its_hash_is_caught_by_the_next_row(chain):
    db.session.execute(text("UPDATE audit_logs SET action = 'forged', hash = :h WHERE id = :id"),
                       {"h": "f" * 64, "id": chain[1].id})
    db.session.expire_all()
    assert audit.verify_chain().broken_id == chain[1].id


@pytest.mark.parametrize("tz", ["Africa/Nairobi", "America/New_York"])
def test_chain_verifies_whatever_the_database_session_time_zone(db, chain, tz):
    """A Kenyan server may well run PostgreSQL in local time; the hashes were taken over UTC times."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("only PostgreSQL hands back timestamps in the session's time zone")
    db.session.execute(text(f"SET LOCAL TIME ZONE '{tz}'"))
    db.session.expire_all()
    report = audit.verify_chain()
    assert (report.ok, report.broken_id, report.checked) == (True, None, 5)


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_audit_verify_exits_0_on_an_intact_chain(app, chain):
    db.session.expire_all()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    assert "5 rows" in result.output


def test_cli_audit_verify_exits_1_after_tampering(app, chain):
    _tamper_after(chain[1].id, {"n": -1})
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"row {chain[1].id}" in result.stderr


def test_cli_create_user_creates_a_user(app, audit_rows):
    result = app.test_cli_runner().invoke(args=[
        "create-user", "--username", "grace", "--password", "Kilimo-2026", "--role", "admin",
        "--email", "Grace@Mkopo.example", "--first-name", "Grace", "--last-name", "Wanjiru"])
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.username == "grace")).one()
    assert (user.role, user.email, user.full_name) == (Role.ADMIN, "grace@mkopo.example", "Grace Wanjiru")
    assert f"id {user.id}" in result.output
    assert len(audit_rows("user.create", user.id)) == 1


def test_cli_create_user_reports_a_short_password_and_exits_1(app):
    result = app.test_cli_runner().invoke(args=[
        "create-user", "--username", "grace", "--password", "short1", "--role", "admin"])
    assert result.exit_code == 1
    assert "password" in result.stderr
    assert "8 characters" in result.stderr
    assert db.session.scalars(select(User).where(User.username == "grace")).first() is None


def test_cli_create_user_refuses_an_unknown_role(app):
    result = app.test_cli_runner().invoke(args=[
        "create-user", "--username", "grace", "--password", "Kilimo-2026", "--role", "superuser"])
    assert result.exit_code == 2
    assert db.session.scalars(select(User).where(User.username == "grace")).first() is None
