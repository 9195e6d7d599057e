"""The manager's board and reassignment: figures per agent, and who may hand work to whom."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.models import AuditLog, ContactOutcome, LoanStatus, Payment, PaymentSource, PaymentStatus, PromiseStatus
from portal.models.base import db, utcnow
from portal.services import assignments
from portal.services.business_day import today
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from portal.services.team_board import board
from tests.queries import count_queries


def paid(loan, amount: str, *, days_ago: int = 0, status=PaymentStatus.APPLIED):
    db.session.add(Payment(source=PaymentSource.CASH, amount=Decimal(amount), loan_id=loan.id,
                           customer_id=loan.customer_id, status=status,
                           received_at=utcnow() - timedelta(days=days_ago)))
    db.session.commit()


@pytest.fixture
def worked(teams, make_loan, log):
    """Team A's caller and officer, each with a loan, interactions, promises and payments today."""
    caller, officer = teams.caller_a, teams.officer_a
    by_phone = make_loan(caller=caller, dpd=5, overdue="1000.00")
    in_field = make_loan(officer=officer, dpd=0, overdue="2000.00")  # due in 10 days
    log(by_phone, caller, days_ago=0, contact_outcome=ContactOutcome.RIGHT_PARTY)
    log(by_phone, caller, days_ago=0, contact_outcome=ContactOutcome.NO_CONTACT)
    log(by_phone, caller, days_ago=0, disposition="promise_to_pay", promise_amount=Decimal("400.00"),
        promise_date=today(), promise_status=PromiseStatus.PENDING, contact_outcome=ContactOutcome.RIGHT_PARTY)
    log(by_phone, caller, days_ago=40)  # outside this month's window for most days
    log(in_field, officer, days_ago=0, disposition="promise_to_pay", promise_amount=Decimal("100.00"),
        promise_date=today(), promise_status=PromiseStatus.KEPT)
    paid(by_phone, "250.00")
    paid(by_phone, "999.00", status=PaymentStatus.REVERSED)
    paid(in_field, "125.50")
    return by_phone, in_field


def test_today_s_board_counts_each_agent_s_work(teams, worked):
    result = board(teams.manager_a, "today")
    rows = {row.agent.id: row for row in result.agents}
    assert set(rows) == {teams.caller_a.id, teams.officer_a.id}
    caller, officer = rows[teams.caller_a.id], rows[teams.officer_a.id]
    assert (caller.interactions, caller.right_party, caller.promises_made) == (3, 2, 1)
    assert (caller.collected, caller.due) == (Decimal("250.00"), Decimal("0.00"))
    assert (officer.interactions, officer.promises_made, officer.promises_settled, officer.promises_kept) == (
        1, 1, 1, 1)
    assert officer.kept_rate == Decimal("100.0") and caller.kept_rate is None
    assert officer.collected == Decimal("125.50")
    totals = result.totals
    assert (totals.interactions, totals.collected) == (4, Decimal("375.50"))


def test_the_month_board_sets_collections_against_what_fell_due(teams, make_loan):
    loan = make_loan(caller=teams.caller_a, dpd=1, overdue="800.00")
    loan.installments[0].due_date = today().replace(day=1)  # due this month, whatever day it is
    db.session.commit()
    paid(loan, "200.00")
    row = next(r for r in board(teams.manager_a, "month").agents if r.agent.id == teams.caller_a.id)
    assert (row.due, row.collected, row.collection_rate) == (Decimal("800.00"), Decimal("200.00"), Decimal("25.0"))


def test_only_managers_and_admins_see_a_board_and_only_their_team(teams, worked):
    assert {row.agent.id for row in board(teams.manager_b).agents} == {teams.caller_b.id, teams.officer_b.id}
    assert len(board(teams.admin).agents) == 4
    for agent in (teams.caller_a, teams.officer_a):
        with pytest.raises(Forbidden):
            board(agent)
    with pytest.raises(ValidationFailed):
        board(teams.manager_a, "year")


def test_the_board_takes_the_same_queries_for_two_agents_or_twenty(teams, make_user, worked):
    from portal.models import Role

    few = count_queries(lambda: board(teams.manager_a, "month"))
    for _ in range(18):
        make_user(Role.CALLING_AGENT, manager_id=teams.manager_a.id)
    assert count_queries(lambda: board(teams.manager_a, "month")) == few


def audit_rows(action):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def test_a_manager_reassigns_loans_to_a_calling_agent_of_their_team(teams, make_loan, make_user):
    from portal.models import Role

    new_caller = make_user(Role.CALLING_AGENT, manager_id=teams.manager_a.id)
    loans = [make_loan(caller=teams.caller_a, officer=teams.officer_a, dpd=3) for _ in range(3)]
    assert assignments.assign_loans([loan.id for loan in loans], new_caller.id, actor=teams.manager_a) == 3
    assert {loan.collector_id for loan in loans} == {new_caller.id}
    assert len(audit_rows("loan.assign_collector")) == 3
    assert assignments.assign_loans([loans[0].id], new_caller.id, actor=teams.manager_a) == 0  # already theirs


def test_reassignment_refusals(teams, make_loan):
    ours = make_loan(caller=teams.caller_a, officer=teams.officer_a, dpd=3)
    theirs = make_loan(caller=teams.caller_b, officer=teams.officer_b, dpd=3)
    closed = make_loan(caller=teams.caller_a, officer=teams.officer_a, status=LoanStatus.CLOSED)
    with pytest.raises(Forbidden):
        assignments.assign_loans([ours.id], teams.caller_a.id, actor=teams.caller_a)
    with pytest.raises(ValidationFailed):  # another team's agent
        assignments.assign_loans([ours.id], teams.caller_b.id, actor=teams.manager_a)
    with pytest.raises(ValidationFailed):  # an officer is not a calling agent
        assignments.assign_loans([ours.id], teams.officer_a.id, actor=teams.manager_a)
    with pytest.raises(NotFound):  # another team's loan
        assignments.assign_loans([ours.id, theirs.id], teams.caller_a.id, actor=teams.manager_a)
    with pytest.raises(ValidationFailed):
        assignments.assign_loans([closed.id], teams.caller_a.id, actor=teams.manager_a)
    with pytest.raises(ValidationFailed):
        assignments.assign_loans([], teams.caller_a.id, actor=teams.manager_a)
    db.session.rollback()
    assert (ours.collector_id, theirs.collector_id) == (teams.caller_a.id, teams.caller_b.id)


def test_a_manager_reassigns_customers_between_their_officers(teams, make_loan, make_user):
    from portal.models import Role

    second = make_user(Role.COLLECTION_OFFICER, manager_id=teams.manager_a.id)
    loans = [make_loan(officer=teams.officer_a, dpd=2) for _ in range(2)]
    ids = [loan.customer_id for loan in loans]
    assert assignments.assign_customers(ids, second.id, actor=teams.manager_a) == 2
    assert {loan.customer.assigned_officer_id for loan in loans} == {second.id}
    assert len(audit_rows("customer.update")) == 2
    with pytest.raises(ValidationFailed):
        assignments.assign_customers(ids, teams.officer_b.id, actor=teams.manager_a)
    other = make_loan(officer=teams.officer_b, dpd=2)
    with pytest.raises(NotFound):
        assignments.assign_customers([other.customer_id], second.id, actor=teams.manager_a)
