"""Promises to pay, settled by the daily job from the payments that arrived in time."""

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.models import InteractionKind, PaymentStatus, PromiseStatus
from portal.models.base import db, utcnow
from portal.services import interactions, promises, repayments
from portal.services.business_day import day_end, today

D = Decimal


@pytest.fixture
def loan(make_loan, customer):
    return make_loan(customer)


@pytest.fixture
def promise(staff, loan):
    """A promise of 1,000.00 due in two days, logged by the collector on a field visit."""

    def make(amount="1000.00", days=2):
        return interactions.create(InteractionKind.FIELD, loan.id, {
            "disposition_code": "promise_to_pay", "promise_amount": amount,
            "promise_date": (today() + timedelta(days=days)).isoformat()}, actor=staff.collector)
    return make


def pay(loan, staff, amount: str):
    return repayments.record_payment(loan, amount, actor=staff.collector)


def after_due(days=2):
    return today() + timedelta(days=days + 1)


def test_a_new_promise_waits_pending(promise):
    made = promise()
    assert made.promise_status == PromiseStatus.PENDING and made.promise_paid is None


def test_payments_that_cover_the_promise_by_its_date_keep_it(promise, loan, staff):
    made = promise()
    pay(loan, staff, "600.00")
    pay(loan, staff, "400.00")
    settled = promises.evaluate(after_due())
    assert (made.promise_status, made.promise_paid) == (PromiseStatus.KEPT, D("1000.00"))
    assert (settled.kept, settled.partially_kept, settled.broken) == (1, 0, 0)


def test_a_cent_short_is_partially_kept(promise, loan, staff):
    made = promise()
    pay(loan, staff, "999.99")
    promises.evaluate(after_due())
    assert (made.promise_status, made.promise_paid) == (PromiseStatus.PARTIALLY_KEPT, D("999.99"))


def test_nothing_paid_breaks_the_promise(promise):
    made = promise()
    settled = promises.evaluate(after_due())
    assert (made.promise_status, made.promise_paid) == (PromiseStatus.BROKEN, D("0.00"))
    assert settled.broken == 1


def test_payments_before_the_promise_or_after_its_day_do_not_count(promise, loan, staff):
    early = pay(loan, staff, "1000.00")
    early.received_at = utcnow() - timedelta(hours=1)
    made = promise()
    late = pay(loan, staff, "1000.00")
    late.received_at = day_end(made.promise_date) + timedelta(seconds=1)
    db.session.flush()
    promises.evaluate(after_due())
    assert (made.promise_status, made.promise_paid) == (PromiseStatus.BROKEN, D("0.00"))


def test_a_reversed_payment_does_not_keep_a_promise(promise, loan, staff):
    made = promise()
    payment = pay(loan, staff, "1000.00")
    repayments.reverse(payment, "Bounced cheque", actor=staff.manager)
    assert payment.status == PaymentStatus.REVERSED
    promises.evaluate(after_due())
    assert made.promise_status == PromiseStatus.BROKEN


def test_a_covered_promise_is_kept_before_its_date_and_an_uncovered_one_waits(promise, loan, staff):
    covered, waiting = promise(amount="500.00"), promise(amount="5000.00", days=5)
    pay(loan, staff, "500.00")
    settled = promises.evaluate(today())
    assert covered.promise_status == PromiseStatus.KEPT and covered.promise_paid == D("500.00")
    assert waiting.promise_status == PromiseStatus.PENDING and waiting.promise_paid is None
    assert settled.kept_early == 1


def test_settling_twice_changes_nothing(promise, loan, staff):
    made = promise()
    pay(loan, staff, "250.00")
    promises.evaluate(after_due())
    pay(loan, staff, "750.00")  # arrives after the promise was settled: the verdict stands
    again = promises.evaluate(after_due())
    assert (made.promise_status, made.promise_paid) == (PromiseStatus.PARTIALLY_KEPT, D("250.00"))
    assert (again.kept, again.partially_kept, again.broken, again.kept_early) == (0, 0, 0, 0)


def test_deleted_promises_are_not_settled(promise, staff):
    made = promise()
    interactions.delete(made, actor=staff.collector)
    promises.evaluate(after_due())
    assert made.promise_status == PromiseStatus.PENDING


def test_changing_a_settled_promise_reopens_it(promise, staff):
    made = promise(days=0)
    promises.evaluate(today())  # nothing paid, not yet past: still pending
    assert made.promise_status == PromiseStatus.PENDING
    interactions.update(made, {"promise_amount": "300.00"}, actor=staff.manager)
    assert made.promise_status == PromiseStatus.PENDING and made.promise_paid is None
    interactions.update(made, {"disposition_code": "called", "promise_amount": "", "promise_date": ""},
                        actor=staff.manager)
    assert made.promise_status is None


def test_the_daily_command_accrues_and_settles(app, promise):
    promise()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["daily", "--date", after_due().isoformat()])
    assert result.exit_code == 0, result.output
    assert "Penalties to" in result.output
    assert "0 kept, 0 partially kept, 1 broken" in result.output
