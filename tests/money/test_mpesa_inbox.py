"""M-Pesa receipts are written down first and booked after: a repeat is a no-op at the door, a booking
that fails is kept with why and retried on demand, and a web process's booker thread books on its own."""

import gc
import logging
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from portal import create_app
from portal.models import AuditLog, MpesaReceipt, Payment, PaymentStatus, ReceiptStatus
from portal.models.base import db
from portal.services import loans, mpesa_inbox, repayments
from portal.services.errors import Conflict, Forbidden, ValidationFailed

D = Decimal


def receipt_row(code: str) -> MpesaReceipt:
    return db.session.query(MpesaReceipt).filter_by(receipt=code).one()


def test_a_receipt_is_recorded_pending_and_booked_by_the_next_pass(customer, make_loan):
    loan = make_loan(customer)

    accepted = mpesa_inbox.accept(receipt=" qab1234567 ", amount="4407.43", phone="0712345678")

    assert (accepted.receipt, accepted.amount, accepted.status, accepted.created) == (
        "QAB1234567", D("4407.43"), ReceiptStatus.PENDING, True)
    assert db.session.query(Payment).count() == 0
    assert loans.outstanding(loan) == D("52889.15")

    assert mpesa_inbox.book_pending() == 1

    row = receipt_row("QAB1234567")
    assert row.status == ReceiptStatus.BOOKED and row.booked_at is not None and row.error is None
    assert (row.payment.loan_id, row.payment.amount, row.payment.status) == (loan.id, D("4407.43"),
                                                                             PaymentStatus.APPLIED)
    assert loans.outstanding(loan) == D("48481.72")
    assert mpesa_inbox.book_pending() == 0  # nothing waits any more


def test_a_repeat_delivery_is_answered_with_what_became_of_the_first(customer, make_loan):
    make_loan(customer)
    mpesa_inbox.accept(receipt="QAB1234567", amount="1000", phone="0712345678")

    pending = mpesa_inbox.accept(receipt="qab1234567", amount="9999", phone="0799999999")
    mpesa_inbox.book_pending()
    booked = mpesa_inbox.accept(receipt="QAB1234567", amount="1000", phone="0712345678")

    assert (pending.created, pending.status, pending.amount, pending.payment) == (
        False, ReceiptStatus.PENDING, D("1000.00"), None)
    assert (booked.created, booked.status) == (False, ReceiptStatus.BOOKED)
    assert booked.payment.amount == D("1000.00")
    assert db.session.query(MpesaReceipt).count() == 1
    assert db.session.query(Payment).count() == 1


@pytest.mark.parametrize(("receipt", "amount", "field"), [
    ("", "100", "mpesa_code"), ("   ", "100", "mpesa_code"), ("QAB1234567", "0", "amount"),
    ("QAB1234567", "-5", "amount"), ("QAB1234567", "10.001", "amount"), ("QAB1234567", "lots", "amount")])
def test_a_receipt_that_cannot_be_a_payment_is_refused_at_the_door(receipt, amount, field):
    with pytest.raises(ValidationFailed) as refused:
        mpesa_inbox.accept(receipt=receipt, amount=amount, phone="0712345678")

    assert field in refused.value.errors
    assert db.session.query(MpesaReceipt).count() == 0


def test_a_receipt_already_paid_before_receipts_were_kept_is_booked_to_that_payment(customer, make_loan):
    """A payment booked directly (as before this table, or by the demo) and then delivered again."""
    make_loan(customer)
    first = repayments.receive_mpesa(receipt="QAB1234567", amount="1000", phone="0712345678").payment

    mpesa_inbox.accept(receipt="QAB1234567", amount="1000", phone="0712345678")
    mpesa_inbox.book_pending()

    assert receipt_row("QAB1234567").payment_id == first.id
    assert db.session.query(Payment).count() == 1


def test_a_booking_refused_by_a_rule_is_kept_failed_with_why_and_retried_on_demand(customer, make_loan,
                                                                                  monkeypatch):
    loan = make_loan(customer)
    mpesa_inbox.accept(receipt="QAB0000001", amount="100", phone="0712345678")
    mpesa_inbox.accept(receipt="QAB0000002", amount="200", phone="0712345678")
    receive = repayments.receive_mpesa_many

    def refuse_the_first(deliveries):
        if any(d.receipt == "QAB0000001" for d in deliveries):
            raise Conflict("The loan is being restructured.")
        return receive(deliveries)
    monkeypatch.setattr(repayments, "receive_mpesa_many", refuse_the_first)

    assert mpesa_inbox.book_pending() == 2

    failed, booked = receipt_row("QAB0000001"), receipt_row("QAB0000002")
    assert (failed.status, failed.error, failed.payment_id) == (ReceiptStatus.FAILED,
                                                                "The loan is being restructured.", None)
    assert booked.status == ReceiptStatus.BOOKED  # the rest of the batch booked
    assert loans.outstanding(loan) == D("52689.15")
    assert mpesa_inbox.book_pending() == 0  # a failed receipt waits for a person

    monkeypatch.setattr(repayments, "receive_mpesa_many", receive)
    assert mpesa_inbox.book_pending(retry_failed=True) == 1

    db.session.refresh(failed)
    assert (failed.status, failed.error) == (ReceiptStatus.BOOKED, None)
    assert loans.outstanding(loan) == D("52589.15")


def test_an_unexpected_booking_error_is_logged_and_leaves_nothing_half_written(customer, make_loan, monkeypatch,
                                                                               caplog):
    loan = make_loan(customer)
    mpesa_inbox.accept(receipt="QAB0000001", amount="100", phone="0712345678")

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(repayments, "_settle", explode)  # after the entry and payment rows are written
    with caplog.at_level(logging.ERROR, logger="mkopo.mpesa"):
        mpesa_inbox.book_pending()

    row = receipt_row("QAB0000001")
    assert row.status == ReceiptStatus.FAILED
    assert row.error == "Booking failed unexpectedly; the error log has the details."
    assert "QAB0000001 could not be booked" in caplog.text and "disk on fire" in caplog.text
    assert db.session.query(Payment).count() == 0
    assert loans.outstanding(loan) == D("52889.15")


def test_the_nightly_job_books_receipts_left_waiting(app, customer, make_loan):
    loan = make_loan(customer)
    mpesa_inbox.accept(receipt="QAB1234567", amount="1000", phone="0712345678")

    result = app.test_cli_runner().invoke(args=["payments", "book"])

    assert result.exit_code == 0, result.output
    assert "M-Pesa receipts booked: 1 tried; 0 failed" in result.output
    assert loans.outstanding(loan) == D("51889.15")


def test_a_web_process_books_in_its_own_thread_once_the_receipt_commits(tmp_path, app):
    """JOB_BACKEND=thread, as `flask run` and gunicorn serve: on its own database file, since the booker's
    session must see what the request committed."""
    web = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'web.db'}", "SECRET_KEY": "w" * 40,
                      "JOB_BACKEND": "thread", "MPESA_WEBHOOK_SECRET": "thread-test-secret"})
    with web.app_context():
        upgrade()

    response = web.test_client().post(
        "/repayments/mpesa-webhook", headers={"X-Webhook-Secret": "thread-test-secret"},
        json={"phone_number": "0712000000", "amount_paid": 250, "mpesa_code": "QTH0000001"})

    assert response.status_code == 202, response.get_json()
    with web.app_context():
        for _ in range(100):
            row = db.session.query(MpesaReceipt).filter_by(receipt="QTH0000001").one()
            if row.status != ReceiptStatus.PENDING:
                break
            db.session.rollback()
            time.sleep(0.05)
        assert row.status == ReceiptStatus.BOOKED
        assert row.payment.status == PaymentStatus.UNMATCHED  # nobody has that phone: held in suspense
        assert row.payment.amount == D("250.00")
        db.session.remove()
        db.engine.dispose()


def test_a_web_process_booker_thread_ends_with_its_application(tmp_path):
    def web(name: str):
        return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}", "SECRET_KEY": "g" * 40,
                           "JOB_BACKEND": "thread"})
    booker = mpesa_inbox._booker(web("gone.db"))
    web("next.db")  # the shared extensions (the API's) let go of the last application when the next is made
    gc.collect()

    booker.wake.set()
    booker.thread.join(timeout=10)

    assert not booker.thread.is_alive()


def test_a_manager_retries_one_failed_receipt_and_the_trail_says_so(customer, make_loan, staff, monkeypatch):
    loan = make_loan(customer)
    mpesa_inbox.accept(receipt="QAB0000001", amount="100", phone="0712345678")
    with monkeypatch.context() as patched:
        patched.setattr(repayments, "receive_mpesa_many", lambda deliveries: (_ for _ in ()).throw(Conflict("No.")))
        mpesa_inbox.book_pending()
    row = receipt_row("QAB0000001")
    assert db.session.scalars(mpesa_inbox.failed(staff.manager)).all() == [row]

    mpesa_inbox.retry(row, actor=staff.manager)

    assert row.status == ReceiptStatus.BOOKED and row.payment.loan_id == loan.id
    assert loans.outstanding(loan) == D("52789.15")
    assert db.session.scalars(mpesa_inbox.failed(staff.manager)).all() == []
    trail = db.session.query(AuditLog).filter_by(action="mpesa_receipt.retry").one()
    assert (trail.actor_id, trail.after) == (staff.manager.id, {"receipt": "QAB0000001", "status": "booked"})
    with pytest.raises(Conflict):
        mpesa_inbox.retry(row, actor=staff.manager)  # booked: nothing to retry


def test_only_those_who_reconcile_see_or_retry_failed_receipts(staff):
    row = MpesaReceipt(receipt="QAB0000001", amount=D("100"), status=ReceiptStatus.FAILED, error="Not now.")
    db.session.add(row)
    db.session.flush()
    for who in (staff.loan_officer, staff.collector):
        with pytest.raises(Forbidden):
            mpesa_inbox.failed(who)
        with pytest.raises(Forbidden):
            mpesa_inbox.retry(row, actor=who)
    assert row.status == ReceiptStatus.FAILED


def test_a_backlog_books_in_batches_that_let_other_writers_in_between_on_sqlite(customer, make_loan, monkeypatch):
    make_loan(customer)
    monkeypatch.setattr(mpesa_inbox, "BATCH", 2)
    for n in range(5):
        mpesa_inbox.accept(receipt=f"QAB{n:07d}", amount="100", phone="0712345678")
    naps = []
    monkeypatch.setattr(mpesa_inbox, "time", SimpleNamespace(sleep=naps.append))  # this module's only

    assert mpesa_inbox.book_pending() == 5  # batches of 2, 2 and 1

    sqlite = db.engine.dialect.name == "sqlite"
    assert naps == ([mpesa_inbox.SQLITE_WRITER_GAP_SECONDS] * 2 if sqlite else [])  # after each full batch
    assert {receipt_row(f"QAB{n:07d}").status for n in range(5)} == {ReceiptStatus.BOOKED}


INTERVAL = 0.25  # the booker process's wait between looks (a binary fraction: the clock adds up exactly)


class Clock:
    """This module's time for the booker process: each nap moves the clock on; after each of the booker's
    waits between looks (INTERVAL) `during_nap` runs, and the last stops the process."""

    def __init__(self, naps: int, during_nap=lambda: None):
        self.now, self.naps, self.during_nap, self.napped = 0.0, naps, during_nap, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.napped.append(seconds)
        self.now += seconds
        if seconds == INTERVAL:
            if self.napped.count(INTERVAL) == self.naps:
                raise KeyboardInterrupt  # how the process is stopped
            self.during_nap()


def follow(monkeypatch, clock: Clock, max_wait: float = 5.0) -> None:
    monkeypatch.setattr(mpesa_inbox, "time", clock)  # this module's, not every thread's
    monkeypatch.setitem(current_app.config, "MPESA_BOOKER_MAX_WAIT", max_wait)
    with pytest.raises(KeyboardInterrupt):
        mpesa_inbox.follow(interval=INTERVAL)


def test_the_booker_process_books_in_the_first_lull(customer, make_loan, monkeypatch):
    loan = make_loan(customer)
    mpesa_inbox.accept(receipt="QAB1234567", amount="1000", phone="0712345678")
    seen = []
    clock = Clock(naps=2, during_nap=lambda: seen.append(receipt_row("QAB1234567").status))

    follow(monkeypatch, clock)

    # The first look finds a receipt new since the last (none): receipts are arriving. The next finds
    # nothing newer, and books.
    assert seen == [ReceiptStatus.PENDING] and clock.napped == [0.25, 0.25]
    assert receipt_row("QAB1234567").status == ReceiptStatus.BOOKED
    assert loans.outstanding(loan) == D("51889.15")


def test_while_receipts_keep_coming_the_booker_process_books_every_max_wait(customer, make_loan, monkeypatch):
    make_loan(customer)
    arrived, booked_at = [], []
    book_pending = mpesa_inbox.book_pending

    def arrive():
        code = f"QAD{len(arrived):07d}"
        mpesa_inbox.accept(receipt=code, amount="10", phone="0712345678")
        arrived.append(code)

    def booking_pass():
        booked_at.append((clock.now, len(arrived)))
        return book_pending()
    monkeypatch.setattr(mpesa_inbox, "book_pending", booking_pass)
    clock = Clock(naps=12, during_nap=arrive)  # a new receipt at every look but the first, for 2.75 seconds

    follow(monkeypatch, clock, max_wait=1.0)

    assert booked_at == [(1.0, 4), (2.0, 8)]  # an empty inbox is no pass
    assert [receipt_row(code).status for code in arrived] == [ReceiptStatus.BOOKED] * 8 + [ReceiptStatus.PENDING] * 3


def test_lulls_book_when_nothing_new_came_or_when_the_wait_is_up():
    lulls = mpesa_inbox.Lulls(max_wait=5.0, now=0.0)
    assert [lulls.due(newest, 0.25 * i) for i, newest in enumerate([None, 3, 3, 4, 5])] == [
        False, False, True, False, False]  # an empty inbox; 3 arrives; a lull; 4 and 5 arrive
    lulls.booked(0.5)  # the pass that began at 0.5 (in the lull)
    assert not lulls.due(9, 5.25) and lulls.due(10, 5.5)  # five seconds of arrivals since
    lulls.booked(8.0)  # a long pass: the wait starts again from its end
    assert not lulls.due(11, 12.75) and lulls.due(12, 13.0)


def test_after_a_quiet_spell_the_first_arrival_still_waits_for_a_lull():
    lulls = mpesa_inbox.Lulls(max_wait=5.0, now=0.0)
    assert not any(lulls.due(None, 0.25 * i) for i in range(40))  # ten seconds with nothing waiting
    assert [lulls.due(newest, 10.0 + 0.25 * i) for i, newest in enumerate([7, 8, 8])] == [False, False, True]


def test_an_idle_booker_process_makes_no_pass(customer, make_loan, monkeypatch):
    """No receipt waits (one failed, one booked): no pass, so on SQLite no write lock five times a second."""
    make_loan(customer)
    for code in ("QAF0000001", "QAF0000002"):
        mpesa_inbox.accept(receipt=code, amount="100", phone="0712345678")
    mpesa_inbox.book_pending()
    db.session.execute(update(MpesaReceipt).where(MpesaReceipt.receipt == "QAF0000002")
                       .values(status=ReceiptStatus.FAILED))
    passes = []
    monkeypatch.setattr(mpesa_inbox, "book_pending", lambda: passes.append(1))

    follow(monkeypatch, Clock(naps=8))

    assert passes == []


def test_a_booking_pass_that_fails_is_logged_and_the_process_goes_on(customer, make_loan, monkeypatch, caplog):
    make_loan(customer)
    mpesa_inbox.accept(receipt="QAE0000001", amount="100", phone="0712345678")
    passes, book_pending = [], mpesa_inbox.book_pending

    def booking_pass():
        passes.append(len(passes))
        if len(passes) == 1:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return book_pending()
    monkeypatch.setattr(mpesa_inbox, "book_pending", booking_pass)
    clock = Clock(naps=3)  # a look that sees it arrive, a lull that fails, the next that books

    follow(monkeypatch, clock)

    assert passes == [0, 1] and "booking pass failed" in caplog.text
    assert receipt_row("QAE0000001").status == ReceiptStatus.BOOKED


def test_the_booker_process_waits_after_draining_a_backlog_too(customer, make_loan, monkeypatch):
    """A pass that booked full batches ended on a short one: the next waits, or a backlog booked back to
    back would hold SQLite's write lock without a break."""
    make_loan(customer)
    monkeypatch.setattr(mpesa_inbox, "BATCH", 2)
    for n in range(3):
        mpesa_inbox.accept(receipt=f"QAC{n:07d}", amount="100", phone="0712345678")
    events, book_pending = [], mpesa_inbox.book_pending

    def booking_pass():
        events.append("pass")
        return book_pending()
    monkeypatch.setattr(mpesa_inbox, "book_pending", booking_pass)
    clock = Clock(naps=2, during_nap=lambda: events.append("wait"))

    follow(monkeypatch, clock)

    assert events == ["wait", "pass"] and clock.napped[-1] == INTERVAL  # the pass booked 2 + 1, then waited
    assert {receipt_row(f"QAC{n:07d}").status for n in range(3)} == {ReceiptStatus.BOOKED}


def test_web_processes_leave_booking_to_the_booker_process_when_told(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_BACKEND", "thread")
    monkeypatch.setitem(app.config, "MPESA_BOOKER", "process")
    mpesa_inbox.accept(receipt="QAB1234567", amount="1000", phone="0712345678")

    mpesa_inbox.book_soon()

    assert "mkopo.mpesa_booker" not in app.extensions
    assert receipt_row("QAB1234567").status == ReceiptStatus.PENDING
