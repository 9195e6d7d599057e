"""M-Pesa receipts: matched by reference then phone, saved when no loan is active, suspense when unknown,
and one receipt is one payment however often it arrives."""

from decimal import Decimal

import pytest

from portal.models import (
    AuditLog,
    EntryKind,
    Gl,
    JournalEntry,
    LoanStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    Posting,
    Transaction,
)
from portal.services import audit, ledger, loans, repayments, savings
from portal.services.errors import Conflict, Forbidden, ValidationFailed

D = Decimal


def test_a_receipt_naming_the_loan_number_pays_that_loan(customer, make_loan):
    older, newer = make_loan(customer), make_loan(customer, "20000")
    receipt = repayments.receive_mpesa(receipt="QAB1234567", amount="4407.43", phone="0799000000",
                                       reference=newer.loan_number)
    assert receipt.created
    payment = receipt.payment
    assert (payment.loan_id, payment.customer_id) == (newer.id, customer.id)
    assert payment.source == PaymentSource.MPESA
    assert payment.status == PaymentStatus.APPLIED
    assert loans.outstanding(older) == D("52889.15")
    assert loans.outstanding(newer) == D("21155.68") - D("4407.43")


@pytest.mark.parametrize("which", ["account_number", "account_number_upper", "customer_code", "customer_code_lower"])
def test_a_receipt_naming_the_account_or_customer_code_pays_the_oldest_active_loan(customer, make_loan, which):
    older = make_loan(customer)
    newer = make_loan(customer, "20000")
    reference = {"account_number": customer.account_number, "account_number_upper": customer.account_number.upper(),
                 "customer_code": customer.customer_code,
                 "customer_code_lower": customer.customer_code.lower()}[which]
    payment = repayments.receive_mpesa(receipt="QAB1234567", amount="1000", reference=f" {reference} ").payment
    assert payment.loan_id == older.id
    assert payment.status == PaymentStatus.APPLIED
    assert loans.outstanding(older) == D("51889.15")
    assert loans.outstanding(newer) == D("21155.68")


@pytest.mark.parametrize("phone", ["0712345678", "0712 345 678", "254712345678", "+254712345678",
                                   "+254 712-345-678", "712345678"])
def test_a_receipt_from_the_customers_phone_in_any_format_pays_their_oldest_active_loan(customer, make_loan, phone):
    older = make_loan(customer)
    make_loan(customer, "20000")
    payment = repayments.receive_mpesa(receipt="QAB1234567", amount="1000", phone=phone, reference="").payment
    assert payment.loan_id == older.id
    assert payment.customer_id == customer.id
    assert loans.outstanding(older) == D("51889.15")


def test_a_closed_loan_is_skipped_for_the_next_active_one(customer, make_loan, staff):
    first = make_loan(customer, "1000")
    repayments.record_payment(first, loans.outstanding(first), actor=staff.collector)
    second = make_loan(customer)
    payment = repayments.receive_mpesa(receipt="QAB1234567", amount="1000", phone="0712345678").payment
    assert payment.loan_id == second.id


def test_an_unknown_reference_falls_back_to_the_phone(customer, make_loan):
    loan = make_loan(customer)
    payment = repayments.receive_mpesa(receipt="QAB1234567", amount="1000", phone="0712345678",
                                       reference="NOT-A-THING").payment
    assert payment.loan_id == loan.id


def test_a_known_customer_with_no_active_loan_gets_the_money_in_savings(customer, make_loan):
    make_loan(customer, approve=False)  # pending: not active
    receipt = repayments.receive_mpesa(receipt="QAB1234567", amount="750.50", phone="0712345678")
    payment = receipt.payment
    assert payment.status == PaymentStatus.APPLIED
    assert (payment.customer_id, payment.loan_id) == (customer.id, None)
    assert payment.overpayment == D("750.50")
    assert savings.balance_of(customer) == D("750.50")
    assert ledger.balance(Gl.CASH) == D("750.50")
    assert ledger.balance(Gl.SUSPENSE) == D("0.00")


def test_an_unknown_payer_goes_to_suspense(db):
    receipt = repayments.receive_mpesa(receipt="QAB1234567", amount="2500", phone="0733999888", reference="??")
    payment = receipt.payment
    assert receipt.created
    assert payment.status == PaymentStatus.UNMATCHED
    assert (payment.customer_id, payment.loan_id) == (None, None)
    assert ledger.balance(Gl.SUSPENSE) == D("-2500.00")
    assert ledger.balance(Gl.CASH) == D("2500.00")
    entry = db.session.get(JournalEntry, payment.entry_id)
    assert entry.kind == EntryKind.SUSPENSE_IN


def test_a_suspense_payment_is_assigned_to_a_loan_later(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.receive_mpesa(receipt="QAB1234567", amount="4407.43", phone="0733999888").payment
    assert payment.status == PaymentStatus.UNMATCHED
    repayments.assign(payment, loan, actor=staff.manager)
    assert payment.status == PaymentStatus.APPLIED
    assert (payment.loan_id, payment.customer_id) == (loan.id, customer.id)
    assert ledger.balance(Gl.SUSPENSE) == D("0.00")
    assert ledger.balance(Gl.CASH) == D("4407.43")  # the payout itself is still in transit (B2C)
    assert loans.outstanding(loan) == D("48481.72")
    assert loan.installments[0].outstanding == D("0.00")
    with pytest.raises(Conflict):
        repayments.assign(payment, loan, actor=staff.manager)
    assert loans.outstanding(loan) == D("48481.72")


def test_only_managers_and_admins_reconcile_suspense(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.receive_mpesa(receipt="QAB1234567", amount="100", phone="0733999888").payment
    with pytest.raises(Forbidden):
        repayments.assign(payment, loan, actor=staff.collector)
    assert payment.status == PaymentStatus.UNMATCHED


@pytest.mark.parametrize("again", ["QAB1234567", "qab1234567", "  QAB1234567  "])
def test_the_same_receipt_twice_is_one_payment(customer, make_loan, rows, again):
    loan = make_loan(customer)
    first = repayments.receive_mpesa(receipt="QAB1234567", amount="1000", phone="0712345678")
    counts = rows(Payment), rows(JournalEntry), rows(Posting), rows(Transaction)
    second = repayments.receive_mpesa(receipt=again, amount="1000", phone="0712345678")
    assert first.created and not second.created
    assert second.payment.id == first.payment.id
    assert (rows(Payment), rows(JournalEntry), rows(Posting), rows(Transaction)) == counts
    assert loans.outstanding(loan) == D("51889.15")


def test_a_duplicate_receipt_with_a_different_amount_still_posts_nothing(customer, make_loan, rows):
    loan = make_loan(customer)
    repayments.receive_mpesa(receipt="QAB1234567", amount="1000", phone="0712345678")
    entries = rows(JournalEntry)
    again = repayments.receive_mpesa(receipt="qab1234567", amount="9999", phone="0712345678")
    assert not again.created
    assert again.payment.amount == D("1000.00")
    assert rows(JournalEntry) == entries
    assert loans.outstanding(loan) == D("51889.15")


def test_a_duplicate_suspense_receipt_posts_nothing_more(rows):
    repayments.receive_mpesa(receipt="QAB1234567", amount="2500", phone="0733999888")
    again = repayments.receive_mpesa(receipt="qab1234567", amount="2500", phone="0733999888")
    assert not again.created
    assert rows(Payment) == 1
    assert ledger.balance(Gl.SUSPENSE) == D("-2500.00")


@pytest.mark.parametrize("receipt, amount", [("", "100"), ("   ", "100"), ("QAB1234567", "0"),
                                             ("QAB1234567", "-5"), ("QAB1234567", "1.001")])
def test_a_receipt_without_a_code_or_with_a_bad_amount_is_refused(receipt, amount, rows):
    with pytest.raises(ValidationFailed):
        repayments.receive_mpesa(receipt=receipt, amount=amount, phone="0733999888")
    assert rows(Payment) == 0


@pytest.mark.parametrize("state", ["closed", "written_off", "pending"])
def test_money_naming_a_loan_that_takes_no_repayments_is_still_taken_onto_the_books(
        customer, make_loan, staff, rows, state):
    """The money has arrived on the M-Pesa float whatever the reference says: it must not be refused
    (the webhook would answer 409 and roll back), but kept as the customer's savings or held in suspense."""
    loan = make_loan(customer, "1000", disburse=state != "pending", approve=state != "pending")
    if state == "closed":
        repayments.record_payment(loan, loans.outstanding(loan), actor=staff.collector)
    elif state == "written_off":
        loans.write_off(loan, "Borrower absconded", actor=staff.manager)
    assert loan.status.value == state
    receipt = repayments.receive_mpesa(receipt="QAB7654321", amount="300", reference=loan.loan_number)
    assert receipt.created
    assert receipt.payment.status in (PaymentStatus.APPLIED, PaymentStatus.UNMATCHED)
    assert receipt.payment.entry_id is not None
    assert savings.balance_of(customer) - ledger.balance(Gl.SUSPENSE) == D("300.00")


def test_reversing_an_assigned_suspense_payment_puts_it_back_in_the_reconciliation_queue(
        customer, make_customer, make_loan, staff):
    """Assigned to the wrong loan and reversed: the money is back in suspense, so it must be assignable again."""
    wrong = make_loan(make_customer())
    right = make_loan(customer)
    held = repayments.receive_mpesa(receipt="QAB1234567", amount="800", phone="0733999888").payment
    repayments.assign(held, wrong, actor=staff.manager)
    repayments.reverse(held, "Assigned to the wrong loan", actor=staff.manager)
    assert loans.outstanding(wrong) == D("52889.15")
    assert ledger.balance(Gl.SUSPENSE) == D("-800.00")
    queue = Payment.query.filter_by(status=PaymentStatus.UNMATCHED).all()
    assert sum((p.amount for p in queue), D("0.00")) == D("800.00")
    repayments.assign(queue[0], right, actor=staff.manager)
    assert loans.outstanding(right) == D("52089.15")
    assert ledger.balance(Gl.SUSPENSE) == D("0.00")


def test_the_audit_trail_keeps_staff_repayments_and_any_payment_that_closes_a_loan(customer, make_loan, staff, rows):
    """A gateway's receipt is already on record as its payment, entry and transaction; the audit trail
    keeps what people do, and every loan a payment closes."""
    loan = make_loan(customer, "1000")
    audited = rows(AuditLog, AuditLog.action == "repayment.apply")
    repayments.receive_mpesa(receipt="QAB0000001", amount="100", phone="0712345678")
    assert rows(AuditLog, AuditLog.action == "repayment.apply") == audited
    repayments.record_payment(loan, "100", actor=staff.collector)
    assert rows(AuditLog, AuditLog.action == "repayment.apply") == audited + 1
    repayments.receive_mpesa(receipt="QAB0000002", amount=loans.outstanding(loan), phone="0712345678")
    assert loan.status == LoanStatus.CLOSED
    assert rows(AuditLog, AuditLog.action == "repayment.apply") == audited + 2
    assert audit.verify_chain().ok
