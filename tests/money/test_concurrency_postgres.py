"""Concurrency on PostgreSQL: real commits from many threads, in a schema of their own.

The suite's `db` fixture rolls every test back on one connection, which cannot show what two
transactions do to each other. These tests build a separate app on the same database with
`search_path` pointed at a scratch schema, commit for real, and drop the schema afterwards.
"""

import os
import threading
import uuid
from datetime import date
from decimal import Decimal

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.models import (
    Customer,
    DisbursementChannel,
    EntryKind,
    Gl,
    JournalEntry,
    KycLevel,
    Loan,
    LoanStatus,
    MpesaReceipt,
    Payment,
    Posting,
    ReceiptStatus,
    Role,
    Transaction,
    TransactionKind,
    User,
)
from portal.models.base import db
from portal.services import arrears, ledger, loans, mpesa_inbox, products, repayments, savings
from portal.services.errors import Conflict, ValidationFailed

D = Decimal
PG_URL = os.environ.get("MKOPO_TEST_DATABASE_URL", "")
SCHEMA = "money_concurrency"

pytestmark = pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                                reason="needs MKOPO_TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(scope="module")
def pg_app(app):  # `app` first: the session's instance directory and environment are set up
    admin_engine = create_engine(PG_URL)
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    pg = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                     "SECRET_KEY": "x" * 40,
                     "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25, "max_overflow": 5, "pool_timeout": 60}})
    pg.extensions["mpesa_delivery"] = lambda path, payload: None  # payouts stay in transit: not what is tested
    with pg.app_context():
        upgrade()
        assert db.session.execute(text("SHOW search_path")).scalar() == SCHEMA
        db.session.remove()
    try:
        yield pg
    finally:
        with pg.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin_engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        admin_engine.dispose()


def _seed(pg_app, *, loan: bool = True, savings_balance: str | None = None) -> dict:
    """Committed staff, a customer (and a disbursed 50,000 loan, or savings); returns their ids."""
    tag = uuid.uuid4().hex[:8]
    with pg_app.app_context():
        def user(role):
            u = User(username=f"{role.value}-{tag}", role=role, password_hash="x", email=None)
            db.session.add(u)
            return u
        admin, manager = user(Role.ADMIN), user(Role.MANAGER)
        db.session.flush()
        officer = user(Role.LOAN_OFFICER)
        officer.manager_id = manager.id
        db.session.flush()
        customer = Customer(customer_code=tag.upper(), account_number=f"acc{tag}", name=f"Customer {tag}",
                            phone=f"+2547{int(tag, 16) % 10**8:08d}", kyc_level=KycLevel.TIER_2,
                            created_by_id=officer.id)
        db.session.add(customer)
        db.session.flush()
        ids = {"customer": customer.id, "officer": officer.id, "manager": manager.id, "admin": admin.id}
        if loan:
            product = products.create({"name": f"Product {tag}", "interest_method": "declining",
                                       "annual_rate": "10.5", "frequency": "monthly", "term_periods": 12,
                                       "min_principal": "1000", "max_principal": "1000000"}, actor=admin)
            made = loans.apply(customer, {"product_id": product.id, "principal": "50000"}, actor=officer)
            loans.approve(made, actor=manager)
            ids.update(loan=made.id, loan_number=made.loan_number)
        if savings_balance:
            savings.deposit(customer, savings_balance, source="cash", actor=officer)
        db.session.commit()
        db.session.remove()
    return ids


def _seed_disbursed(pg_app) -> dict:
    """As `_seed`, with the loan disbursed (to M-Pesa, its payout left in transit)."""
    ids = _seed(pg_app)
    with pg_app.app_context():
        loans.disburse(db.session.get(Loan, ids["loan"]), DisbursementChannel.MPESA,
                       actor=db.session.get(User, ids["officer"]), on=date(2025, 1, 15))
        db.session.commit()
        db.session.remove()
    return ids


def _in_threads(pg_app, count: int, work) -> tuple[list, list]:
    """Run work(index) in `count` threads, each in its own app context (so its own session and
    connection), all released together; each commits its own work or rolls back on error."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, [None] * count

    def run(index):
        with pg_app.app_context():
            try:
                barrier.wait(timeout=30)
                results[index] = work(index)
                db.session.commit()
            except Exception as exc:  # recorded, never retried
                db.session.rollback()
                errors[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results, errors


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_twenty_concurrent_deliveries_of_one_receipt_make_one_payment(pg_app):
    ids = _seed(pg_app)
    with pg_app.app_context():
        loan = db.session.get(Loan, ids["loan"])
        loans.disburse(loan, DisbursementChannel.MPESA, actor=db.session.get(User, ids["officer"]),
                       on=date(2025, 1, 15))
        db.session.commit()
        assert loans.outstanding(loan) == D("52889.15")
        db.session.remove()

    def deliver(index):
        receipt = repayments.receive_mpesa(receipt="QCC1234567" if index % 2 else "qcc1234567", amount="1000",
                                           phone="0799000000", reference=ids["loan_number"])
        return receipt.payment.id, receipt.created

    results, errors = _in_threads(pg_app, 20, deliver)
    assert errors == [None] * 20
    assert sum(created for _, created in results) == 1
    assert len({payment_id for payment_id, _ in results}) == 1
    with pg_app.app_context():
        loan = db.session.get(Loan, ids["loan"])
        assert _count(Payment, Payment.receipt == "QCC1234567") == 1
        assert _count(JournalEntry, JournalEntry.kind == EntryKind.REPAYMENT) == 1
        assert _count(Transaction, Transaction.loan_id == loan.id,
                      Transaction.kind == TransactionKind.LOAN_REPAYMENT) == 1
        assert loans.outstanding(loan) == D("51889.15")
        assert sum((i.total_paid for i in loan.installments), D("0.00")) == D("1000.00")
        report = ledger.verify()
        assert report.ok, report.breaches
        db.session.remove()


def test_concurrent_webhook_deliveries_and_bookers_make_one_payment_per_receipt(pg_app):
    """What the webhook does under load: 20 deliveries of one receipt (and 10 of others) accepted at once,
    then four bookers racing over what waits. Each receipt is recorded once and booked once."""
    ids = _seed_disbursed(pg_app)

    def deliver(index):
        code = "QDD0000000" if index < 20 else f"QDD00000{index:02d}"
        return mpesa_inbox.accept(receipt=code, amount="100", phone="0799000000",
                                  reference=ids["loan_number"]).created

    created, errors = _in_threads(pg_app, 30, deliver)
    assert errors == [None] * 30
    assert sum(created[:20]) == 1 and all(created[20:])
    booked, errors = _in_threads(pg_app, 4, lambda _: mpesa_inbox.book_pending())
    assert errors == [None] * 4
    assert sum(booked) == 11  # every receipt tried by exactly one booker
    with pg_app.app_context():
        loan = db.session.get(Loan, ids["loan"])
        assert _count(Payment, Payment.loan_id == loan.id) == 11
        assert _count(MpesaReceipt, MpesaReceipt.status == ReceiptStatus.BOOKED,
                      MpesaReceipt.receipt.like("QDD%")) == 11
        assert loans.outstanding(loan) == D("52889.15") - D("1100.00")
        report = ledger.verify()
        assert report.ok, report.breaches
        db.session.remove()


def test_two_concurrent_withdrawals_cannot_overdraw(pg_app):
    ids = _seed(pg_app, loan=False, savings_balance="1000")

    def withdraw(_):
        customer = db.session.get(Customer, ids["customer"])
        return savings.withdraw(customer, "700", actor=db.session.get(User, ids["officer"])).id

    results, errors = _in_threads(pg_app, 2, withdraw)
    succeeded = [r for r in results if r is not None]
    refused = [e for e in errors if e is not None]
    assert len(succeeded) == 1, errors
    assert len(refused) == 1 and isinstance(refused[0], ValidationFailed), refused
    assert refused[0].available == D("300.00")
    with pg_app.app_context():
        customer = db.session.get(Customer, ids["customer"])
        assert savings.balance_of(customer) == D("300.00")
        assert _count(Transaction, Transaction.customer_id == customer.id,
                      Transaction.kind == TransactionKind.WITHDRAWAL) == 1
        assert _count(JournalEntry, JournalEntry.kind == EntryKind.WITHDRAWAL,
                      JournalEntry.id.in_(select(Posting.entry_id).where(Posting.customer_id == customer.id))) == 1
        report = ledger.verify()
        assert report.ok, report.breaches
        db.session.remove()


def test_two_concurrent_disbursements_pay_out_once(pg_app):
    ids = _seed(pg_app)

    def disburse(_):
        loan = db.session.get(Loan, ids["loan"])
        return loans.disburse(loan, DisbursementChannel.SAVINGS, actor=db.session.get(User, ids["officer"]),
                              on=date(2025, 1, 15)).id

    results, errors = _in_threads(pg_app, 2, disburse)
    assert len([r for r in results if r is not None]) == 1, errors
    assert [type(e) for e in errors if e is not None] == [Conflict]
    with pg_app.app_context():
        loan = db.session.get(Loan, ids["loan"])
        customer = db.session.get(Customer, ids["customer"])
        assert loan.status == LoanStatus.DISBURSED
        assert len(loan.installments) == 12
        assert savings.balance_of(customer) == D("50000.00")
        assert loans.outstanding(loan) == D("52889.15")
        assert ledger.verify().ok
        db.session.remove()


def test_concurrent_cash_repayments_on_one_loan_are_all_counted(pg_app):
    ids = _seed_disbursed(pg_app)

    def repay(_):
        loan = db.session.get(Loan, ids["loan"])
        return repayments.record_payment(loan, "1000", actor=db.session.get(User, ids["officer"])).id

    _, errors = _in_threads(pg_app, 5, repay)
    assert errors == [None] * 5
    with pg_app.app_context():
        loan = db.session.get(Loan, ids["loan"])
        assert loans.outstanding(loan) == D("47889.15")
        first, second = loan.installments[:2]
        assert (first.outstanding, second.outstanding) == (D("0.00"), D("3814.86"))
        assert loan.principal_outstanding == D("50000.00") - (D("5000.00") - D("437.50") - D("402.76"))
        report = ledger.verify()
        assert report.ok, report.breaches
        db.session.remove()


def test_the_accrual_in_parallel_batches_charges_what_one_transaction_does_and_only_once(pg_app):
    """Batches on two connections, each committed on its own: the same loans and cents as the accrual
    in one transaction, the ledger balanced, and a second run (of either kind) charges nothing."""
    ids = _seed(pg_app, loan=False)
    with pg_app.app_context():
        admin, officer, manager = (db.session.get(User, ids[role]) for role in ("admin", "officer", "manager"))
        product = products.create({"name": f"Late {uuid.uuid4().hex[:6]}", "interest_method": "flat",
                                   "annual_rate": "12", "frequency": "weekly", "term_periods": 8,
                                   "min_principal": "1000", "max_principal": "1000000", "penalty_rate": "2.5",
                                   "grace_days": 3}, actor=admin)
        customer = db.session.get(Customer, ids["customer"])
        for principal in ("10000", "12345.67", "20000", "30001", "45000"):
            loan = loans.apply(customer, {"product_id": product.id, "principal": principal}, actor=officer)
            loans.approve(loan, actor=manager)
            loans.disburse(loan, DisbursementChannel.SAVINGS, actor=officer, on=date(2025, 1, 15))
        db.session.commit()
        on = date(2025, 4, 1)
        in_one = arrears.accrue_penalties(on, batch=2)
        db.session.rollback()  # measured, not kept

        in_parallel = arrears.accrue_penalties(on, batch=2, workers=2)

        assert in_parallel == in_one and in_one[0] >= 5 and in_one[1] > 0
        assert ledger.balance(Gl.PENALTY_INCOME) == -in_one[1]
        assert ledger.verify().ok
        assert arrears.accrue_penalties(on, batch=2, workers=2) == (0, D("0.00"))
        assert arrears.accrue_penalties(on) == (0, D("0.00"))
        db.session.remove()
