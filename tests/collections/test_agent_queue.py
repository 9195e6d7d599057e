"""The agent queue: who sees which loans, why each is there, the order, filters, and a bounded query count."""

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.models import InteractionKind, LoanStatus, PromiseStatus
from portal.models.base import db
from portal.services import interactions
from portal.services.agent_queue import QueueFilters, work_queue
from portal.services.business_day import today
from portal.services.errors import Forbidden, ValidationFailed
from tests.queries import count_queries


def numbers(queue):
    return [row.loan_number for row in queue.page.items]


def test_each_agent_sees_only_the_loans_they_work(teams, make_loan):
    mine_by_phone = make_loan(caller=teams.caller_a, dpd=5)
    mine_in_field = make_loan(officer=teams.officer_a, dpd=5)
    theirs = make_loan(officer=teams.officer_b, caller=teams.caller_b, dpd=5)
    assert numbers(work_queue(teams.caller_a, QueueFilters())) == [mine_by_phone.loan_number]
    assert numbers(work_queue(teams.officer_a, QueueFilters())) == [mine_in_field.loan_number]
    assert set(numbers(work_queue(teams.manager_a, QueueFilters()))) == {mine_by_phone.loan_number,
                                                                         mine_in_field.loan_number}
    assert set(numbers(work_queue(teams.admin, QueueFilters()))) == {
        mine_by_phone.loan_number, mine_in_field.loan_number, theirs.loan_number}


def test_a_manager_may_open_their_own_agents_queue_only(teams, make_loan):
    loan = make_loan(caller=teams.caller_a, dpd=3)
    assert numbers(work_queue(teams.manager_a, QueueFilters(agent_id=teams.caller_a.id))) == [loan.loan_number]
    with pytest.raises(Forbidden):
        work_queue(teams.manager_a, QueueFilters(agent_id=teams.caller_b.id))
    with pytest.raises(Forbidden):
        work_queue(teams.caller_a, QueueFilters(agent_id=teams.caller_a.id))
    with pytest.raises(Forbidden):
        work_queue(teams.manager_a, QueueFilters(agent_id=teams.manager_a.id))


def test_loan_officers_and_borrowers_have_no_queue(make_user):
    from portal.models import Role

    for role in (Role.LOAN_OFFICER, Role.BORROWER):
        with pytest.raises(Forbidden):
            work_queue(make_user(role), QueueFilters())


def test_promises_come_first_then_broken_call_backs_new_arrears_and_arrears_by_age_and_balance(
        teams, make_loan, log):
    caller = teams.caller_a
    old_small = make_loan(caller=caller, dpd=60, overdue="500.00", balance="6000.00")
    old_large = make_loan(caller=caller, dpd=60, overdue="900.00", balance="9000.00")
    older = make_loan(caller=caller, dpd=95, overdue="100.00")
    fresh = make_loan(caller=caller, dpd=3)
    callback = make_loan(caller=caller, dpd=40)
    log(callback, caller, next_call_date=today())
    broken = make_loan(caller=caller, dpd=20)
    log(broken, caller, disposition="promise_to_pay", promise_amount=Decimal("100.00"),
        promise_date=today() - timedelta(days=2), promise_status=PromiseStatus.BROKEN)
    due = make_loan(caller=caller)  # not in arrears, but a promise falls due today
    log(due, caller, disposition="promise_to_pay", promise_amount=Decimal("100.00"), promise_date=today(),
        promise_status=PromiseStatus.PENDING)
    queue = work_queue(caller, QueueFilters())
    assert numbers(queue) == [due.loan_number, broken.loan_number, callback.loan_number, fresh.loan_number,
                              older.loan_number, old_large.loan_number, old_small.loan_number]
    assert [row.reason for row in queue.page.items][:4] == ["promise_due", "promise_broken", "callback_due",
                                                            "new_arrears"]
    assert queue.counts == {"promise_due": 1, "promise_broken": 1, "callback_due": 1, "new_arrears": 1,
                            "overdue": 3}
    row = queue.page.items[4]
    assert (row.days_past_due, row.overdue, row.location) == (95, Decimal("100.00"), "Nairobi")


def test_loans_with_a_commitment_ahead_or_worked_today_or_not_in_arrears_stay_out(teams, make_loan, log):
    caller = teams.caller_a
    promised = make_loan(caller=caller, dpd=10)
    log(promised, caller, disposition="promise_to_pay", promise_amount=Decimal("50.00"),
        promise_date=today() + timedelta(days=3), promise_status=PromiseStatus.PENDING)
    later = make_loan(caller=caller, dpd=10)
    log(later, caller, next_call_date=today() + timedelta(days=2))
    worked = make_loan(caller=caller, dpd=10)
    log(worked, caller, days_ago=0)
    make_loan(caller=caller)  # current, nothing due
    make_loan(caller=caller, dpd=30, status=LoanStatus.CLOSED)
    kept = make_loan(caller=caller, dpd=10)
    log(kept, caller, disposition="promise_to_pay", promise_amount=Decimal("50.00"),
        promise_date=today() + timedelta(days=3), promise_status=PromiseStatus.KEPT)
    assert numbers(work_queue(caller, QueueFilters())) == [kept.loan_number]  # kept, yet still in arrears


def test_a_deleted_interaction_no_longer_counts_as_the_latest(teams, make_loan, log):
    loan = make_loan(caller=teams.caller_a, dpd=10)
    interaction = log(loan, teams.caller_a, next_call_date=today() + timedelta(days=5))
    assert numbers(work_queue(teams.caller_a, QueueFilters())) == []
    interaction.deleted_at = interaction.created_at
    db.session.commit()
    assert numbers(work_queue(teams.caller_a, QueueFilters())) == [loan.loan_number]


def test_logging_an_interaction_moves_the_loan_out_of_the_queue(teams, make_loan):
    loan = make_loan(officer=teams.officer_a, dpd=12)
    assert numbers(work_queue(teams.officer_a, QueueFilters())) == [loan.loan_number]
    interactions.create(InteractionKind.FIELD, loan.id, {
        "disposition_code": "promise_to_pay", "promise_amount": "300",
        "promise_date": (today() + timedelta(days=1)).isoformat()}, actor=teams.officer_a)
    queue = work_queue(teams.officer_a, QueueFilters())
    assert numbers(queue) == [] and queue.total == 0


def test_filters_by_bucket_location_and_reason(teams, make_loan):
    caller = teams.caller_a
    a = make_loan(caller=caller, dpd=15, location="Kisumu Central")
    b = make_loan(caller=caller, dpd=45, location="Nakuru")
    c = make_loan(caller=caller, dpd=100, location="Kisumu East")
    assert numbers(work_queue(caller, QueueFilters(bucket="31-60"))) == [b.loan_number]
    assert numbers(work_queue(caller, QueueFilters(bucket="90+"))) == [c.loan_number]
    assert numbers(work_queue(caller, QueueFilters(location="kisumu"))) == [c.loan_number, a.loan_number]
    by_reason = work_queue(caller, QueueFilters(reason="overdue", location="kisumu"))
    assert numbers(by_reason) == [c.loan_number, a.loan_number] and by_reason.page.total == 2
    with pytest.raises(ValidationFailed):
        work_queue(caller, QueueFilters(bucket="7-8"))
    with pytest.raises(ValidationFailed):
        work_queue(caller, QueueFilters(reason="whatever"))


def test_pagination_counts_every_row(teams, make_loan):
    for dpd in range(10, 17):
        make_loan(caller=teams.caller_a, dpd=dpd)
    queue = work_queue(teams.caller_a, QueueFilters(), page=2, per_page=3)
    assert queue.page.total == 7 and queue.page.pages == 3 and len(queue.page.items) == 3
    assert [row.days_past_due for row in queue.page.items] == [13, 12, 11]


def test_the_queue_takes_two_queries_whatever_the_page_size(teams, make_loan, log):
    for dpd in range(1, 41):
        loan = make_loan(caller=teams.caller_a, dpd=dpd)
        log(loan, teams.caller_a, days_ago=3)
    small = count_queries(lambda: work_queue(teams.caller_a, QueueFilters(), per_page=5))
    large = count_queries(lambda: work_queue(teams.caller_a, QueueFilters(), per_page=40))
    assert small == large == 2
