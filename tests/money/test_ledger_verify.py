"""ledger.verify: clean after a full day of business, and it reports each kind of tampering."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import insert, text

from portal.models import DisbursementChannel, EntryKind, Gl, Posting
from portal.services import arrears, ledger, loans, repayments, savings
from portal.services.errors import Conflict

D = Decimal


def test_the_ledger_verifies_after_a_full_round_of_business(customer, make_customer, make_product, make_loan, staff):
    penalised = make_product(penalty_rate="5", grace_days=3, fee_type="percent", fee_value="2", fee_mode="added")
    other = make_customer(phone="+254722000111")
    savings.deposit(customer, "12000", source="cash", actor=staff.loan_officer)
    savings.withdraw(customer, "2000.50", actor=staff.loan_officer)
    first = make_loan(customer, channel=DisbursementChannel.SAVINGS)
    second = make_loan(other, "30000", product=penalised)
    written_off = make_loan(other, "10000")
    repayments.record_payment(first, "1000", actor=staff.collector)
    repayments.pay_from_savings(first, "4407.43", actor=staff.loan_officer)
    arrears.accrue_penalties(date(2025, 3, 1))
    cash = repayments.record_payment(second, "7000", actor=staff.collector)
    repayments.reverse(cash, "Counterfeit notes", actor=staff.manager)
    repayments.receive_mpesa(receipt="QAA0000001", amount="3000", phone="0722000111")
    repayments.receive_mpesa(receipt="QAA0000001", amount="3000", phone="0722000111")
    held = repayments.receive_mpesa(receipt="QAA0000002", amount="800", phone="0700111222").payment
    repayments.assign(held, second, actor=staff.manager)
    repayments.receive_mpesa(receipt="QAA0000003", amount="55", phone="0700111333")  # stays in suspense
    loans.write_off(written_off, "Borrower absconded", actor=staff.manager)
    closing = repayments.record_payment(first, loans.outstanding(first) + D("123.45"), actor=staff.collector)
    assert first.status.value == "closed" and closing.overpayment == D("123.45")
    with pytest.raises(Conflict):
        repayments.reverse(cash, "Again", actor=staff.manager)

    report = ledger.verify()
    assert report.ok, report.breaches
    assert report.checks == {"entries": report.checks["entries"], "deposit accounts": 1, "loans": 3}
    assert ledger.balance(Gl.SUSPENSE) == D("-55.00")
    # Every entry balances, so the whole trial balance is zero.
    assert sum((ledger.balance(gl) for gl in Gl), D("0.00")) == D("0.00")


@pytest.fixture
def busy_ledger(customer, make_loan, staff):
    savings.deposit(customer, "1000", source="cash", actor=staff.loan_officer)
    loan = make_loan(customer)
    repayments.record_payment(loan, "500", actor=staff.collector)
    assert ledger.verify().ok
    return loan


def test_a_tampered_deposit_balance_is_reported(db, customer, busy_ledger, tampers_ledger):
    account = savings.account_for(customer)
    db.session.execute(text("UPDATE deposit_accounts SET balance = balance + 1 WHERE id = :id"), {"id": account.id})
    report = ledger.verify()
    assert not report.ok
    assert report.breaches == [f"deposit account {account.id}: cached balance 1000.01 differs from its postings"]


def test_postings_that_bypass_the_cached_balance_are_reported(db, customer, busy_ledger, tampers_ledger):
    account = savings.account_for(customer)
    entry = ledger.post(EntryKind.DEPOSIT, [ledger.Line(Gl.CASH, D("10.00")), ledger.Line(Gl.SUSPENSE, D("-10.00"))])
    db.session.execute(insert(Posting), [
        {"entry_id": entry.id, "gl": Gl.CUSTOMER_DEPOSITS, "amount": D("1500.00"), "deposit_account_id": account.id},
        {"entry_id": entry.id, "gl": Gl.CASH, "amount": D("-1500.00")}])
    report = ledger.verify()
    assert report.breaches == [f"deposit account {account.id}: cached balance 1000.00 differs from its postings"]


def test_an_unbalanced_posting_is_reported(db, busy_ledger, tampers_ledger):
    entry = ledger.post(EntryKind.DEPOSIT, [ledger.Line(Gl.CASH, D("10.00")), ledger.Line(Gl.SUSPENSE, D("-10.00"))])
    db.session.execute(insert(Posting).values(entry_id=entry.id, gl=Gl.CASH, amount=D("0.01")))
    report = ledger.verify()
    assert report.breaches == [f"journal entry {entry.id} does not balance"]


def test_a_receivable_that_disagrees_with_the_schedule_is_reported(db, busy_ledger, tampers_ledger):
    loan = busy_ledger
    db.session.execute(text("UPDATE installments SET interest_paid = interest_paid + 100 WHERE id = :id"),
                       {"id": loan.installments[0].id})
    report = ledger.verify()
    assert report.breaches == [f"loan {loan.id}: receivable postings differ from its schedule's outstanding"]
