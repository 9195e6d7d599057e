"""Repayment allocation (penalty -> fee -> interest -> principal, oldest first), overpayment and reversal."""

from datetime import date
from decimal import Decimal

import pytest

from portal.models import EntryKind, Gl, JournalEntry, LoanStatus, Payment, PaymentSource, PaymentStatus, Role
from portal.services import arrears, ledger, loans, repayments, savings
from portal.services.errors import Conflict, Forbidden, ValidationFailed

D = Decimal
BEFORE_FIRST_DUE = date(2025, 2, 1)


def _state(loan):
    return [(i.number, i.principal_paid, i.interest_paid, i.fee_paid, i.penalty_paid, i.penalty_due)
            for i in loan.installments]


def test_a_partial_payment_goes_to_interest_first_and_leaves_installment_one_partial(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "1000", actor=staff.collector)
    first = loan.installments[0]
    assert (first.interest_paid, first.principal_paid) == (D("437.50"), D("562.50"))
    assert first.outstanding == D("3407.43")
    assert first.state(BEFORE_FIRST_DUE) == "partial"
    assert all(i.total_paid == 0 for i in loan.installments[1:])
    assert loans.outstanding(loan) == D("51889.15")
    assert loan.principal_outstanding == D("49437.50")
    assert loan.oldest_unpaid_due == first.due_date
    assert payment.status == PaymentStatus.APPLIED
    assert payment.overpayment == D("0.00")
    assert [(a.installment.number, a.interest, a.principal) for a in payment.allocations] == [
        (1, D("437.50"), D("562.50"))]
    assert ledger.balance(Gl.INTEREST_INCOME, loan_id=loan.id) == D("-437.50")
    assert ledger.balance(Gl.UNEARNED_INTEREST, loan_id=loan.id) == D("-2451.65")


def test_paying_installment_one_exactly_marks_it_paid_and_nothing_else(customer, make_loan, staff):
    loan = make_loan(customer)
    repayments.record_payment(loan, "4407.43", actor=staff.collector)
    first, second = loan.installments[0], loan.installments[1]
    assert first.state(BEFORE_FIRST_DUE) == "paid"
    assert first.outstanding == D("0.00")
    assert (first.interest_paid, first.principal_paid) == (D("437.50"), D("3969.93"))
    assert all(i.total_paid == 0 for i in loan.installments[1:])
    assert second.state(BEFORE_FIRST_DUE) == "pending"
    assert loan.oldest_unpaid_due == second.due_date
    assert loans.outstanding(loan) == D("48481.72")
    assert loan.principal_outstanding == D("46030.07")
    assert loan.status == LoanStatus.DISBURSED


@pytest.fixture
def penalised_loan(customer, make_product, make_loan):
    """50,000 at 10.5% with a fixed 500 fee added to installment 1 and a 5% penalty, one period late."""
    product = make_product(fee_type="fixed", fee_value="500", fee_mode="added", penalty_rate="5")
    loan = make_loan(customer, product=product)
    assert arrears.accrue_penalties(date(2025, 2, 16)) == (1, D("245.37"))  # 5% of 4,907.43
    return loan


def test_a_payment_across_three_installments_goes_penalty_fee_interest_principal_oldest_first(
        penalised_loan, staff):
    loan = penalised_loan
    assert loans.outstanding(loan) == D("53634.52")
    payment = repayments.record_payment(loan, "10560.23", actor=staff.collector)
    got = [(a.installment.number, a.penalty, a.fee, a.interest, a.principal) for a in payment.allocations]
    assert got == [
        (1, D("245.37"), D("500.00"), D("437.50"), D("3969.93")),
        (2, D("0.00"), D("0.00"), D("402.76"), D("4004.67")),
        (3, D("0.00"), D("0.00"), D("367.72"), D("632.28")),
    ]
    assert sum(a.total for a in payment.allocations) == D("10560.23")
    first, second, third = loan.installments[:3]
    assert first.outstanding == second.outstanding == D("0.00")
    assert third.outstanding == D("3407.43")
    assert all(i.total_paid == 0 for i in loan.installments[3:])
    assert loans.outstanding(loan) == D("43074.29")
    assert loan.principal_outstanding == D("41393.12")
    assert loan.oldest_unpaid_due == third.due_date
    assert ledger.balance(Gl.INTEREST_INCOME, loan_id=loan.id) == D("-1207.98")
    assert ledger.balance(Gl.PENALTY_INCOME) == D("-245.37")  # the run's one income posting
    assert ledger.balance(Gl.FEE_INCOME, loan_id=loan.id) == D("-500.00")


def test_a_payment_smaller_than_the_penalty_pays_only_penalty(penalised_loan, staff):
    payment = repayments.record_payment(penalised_loan, "200", actor=staff.collector)
    assert [(a.installment.number, a.penalty, a.fee, a.interest, a.principal) for a in payment.allocations] == [
        (1, D("200.00"), D("0.00"), D("0.00"), D("0.00"))]
    assert penalised_loan.principal_outstanding == D("50000.00")


def test_overpaying_the_last_installment_closes_the_loan_and_saves_the_excess(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "52989.15", actor=staff.collector)
    assert loan.status == LoanStatus.CLOSED
    assert loan.closed_at is not None
    assert payment.overpayment == D("100.00")
    assert savings.balance_of(customer) == D("100.00")
    assert loans.outstanding(loan) == D("0.00")
    assert loan.principal_outstanding == D("0.00")
    assert loan.oldest_unpaid_due is None
    assert all(i.outstanding == 0 for i in loan.installments)
    assert ledger.balance(Gl.INTEREST_INCOME, loan_id=loan.id) == D("-2889.15")
    assert ledger.balance(Gl.UNEARNED_INTEREST, loan_id=loan.id) == D("0.00")
    with pytest.raises(Conflict):
        repayments.record_payment(loan, "10", actor=staff.collector)


def test_paying_exactly_the_balance_closes_the_loan_with_no_overpayment(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "52889.15", actor=staff.collector)
    assert loan.status == LoanStatus.CLOSED
    assert payment.overpayment == D("0.00")
    assert savings.balance_of(customer) == D("0.00")


def test_paying_from_savings_moves_the_money_and_is_limited_to_the_balance(customer, make_loan, staff):
    loan = make_loan(customer)
    savings.deposit(customer, "5000", source="cash", actor=staff.loan_officer)
    payment = repayments.pay_from_savings(loan, "4407.43", actor=staff.loan_officer)
    assert payment.source == PaymentSource.SAVINGS
    assert savings.balance_of(customer) == D("592.57")
    assert loans.outstanding(loan) == D("48481.72")


def test_paying_from_savings_beyond_the_balance_is_refused_and_changes_nothing(customer, make_loan, staff, rows):
    loan = make_loan(customer)
    savings.deposit(customer, "500", source="cash", actor=staff.loan_officer)
    before, payments, entries = _state(loan), rows(Payment), rows(JournalEntry)
    with pytest.raises(ValidationFailed, match="Insufficient") as exc:
        repayments.pay_from_savings(loan, "500.01", actor=staff.loan_officer)
    assert "500.00 available" in exc.value.errors["amount"][0]
    assert savings.balance_of(customer) == D("500.00")
    assert loans.outstanding(loan) == D("52889.15")
    assert _state(loan) == before  # no installment marked paid by money that never moved
    assert rows(Payment) == payments  # and no stray "unmatched" payment in the reconciliation queue
    assert rows(JournalEntry) == entries


# --- reversal ---------------------------------------------------------------------------------------------


def test_a_manager_reversal_restores_installments_and_outstanding_exactly(penalised_loan, staff):
    loan = penalised_loan
    before_state, before_owed = _state(loan), loans.outstanding(loan)
    before_principal, before_due = loan.principal_outstanding, loan.oldest_unpaid_due
    payment = repayments.record_payment(loan, "10560.23", actor=staff.collector)
    repayments.reverse(payment, "Cheque bounced", actor=staff.manager)
    assert payment.status == PaymentStatus.REVERSED
    assert payment.reversal_reason == "Cheque bounced"
    assert _state(loan) == before_state
    assert loans.outstanding(loan) == before_owed == D("53634.52")
    assert loan.principal_outstanding == before_principal
    assert loan.oldest_unpaid_due == before_due
    assert ledger.balance(Gl.INTEREST_INCOME, loan_id=loan.id) == D("0.00")
    assert ledger.balance(Gl.CASH) == D("0.00")  # the payment left again; the payout is still in transit
    reversal = JournalEntry.query.filter_by(kind=EntryKind.REVERSAL).one()
    assert reversal.reverses_id == payment.entry_id
    with pytest.raises(Conflict):
        repayments.reverse(payment, "Cheque bounced again", actor=staff.manager)
    assert JournalEntry.query.filter_by(kind=EntryKind.REVERSAL).count() == 1


def test_reversing_the_closing_payment_reopens_the_loan_and_takes_back_the_overpayment(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "52989.15", actor=staff.collector)
    repayments.reverse(payment, "Wrong customer", actor=staff.admin)
    assert loan.status == LoanStatus.DISBURSED
    assert loan.closed_at is None
    assert savings.balance_of(customer) == D("0.00")
    assert loans.outstanding(loan) == D("52889.15")
    assert loan.principal_outstanding == D("50000.00")
    assert loan.oldest_unpaid_due == loan.installments[0].due_date


def test_a_reversal_needs_a_reason(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "1000", actor=staff.collector)
    for reason in ("", "  ", "ok"):
        with pytest.raises(ValidationFailed) as exc:
            repayments.reverse(payment, reason, actor=staff.manager)
        assert "reason" in exc.value.errors
    assert payment.status == PaymentStatus.APPLIED
    assert loans.outstanding(loan) == D("51889.15")


@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.LOAN_OFFICER, Role.CALLING_AGENT, Role.BORROWER])
def test_staff_below_manager_cannot_reverse(customer, make_loan, staff, make_user, role):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "1000", actor=staff.collector)
    actor = staff.collector if role == Role.COLLECTION_OFFICER else make_user(role)
    with pytest.raises(Forbidden):
        repayments.reverse(payment, "Cheque bounced", actor=actor)
    assert payment.status == PaymentStatus.APPLIED
    assert loans.outstanding(loan) == D("51889.15")


def test_a_payment_whose_overpayment_was_withdrawn_cannot_be_reversed(customer, make_loan, staff, rows):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "52989.15", actor=staff.collector)
    savings.withdraw(customer, "60", actor=staff.loan_officer)
    entries = rows(JournalEntry)
    with pytest.raises(Conflict, match="withdrawn"):
        repayments.reverse(payment, "Wrong customer", actor=staff.manager)
    assert payment.status == PaymentStatus.APPLIED
    assert loan.status == LoanStatus.CLOSED
    assert savings.balance_of(customer) == D("40.00")
    assert rows(JournalEntry) == entries  # nothing half-written: no reversal entry left behind


def test_a_refused_reversal_can_be_made_once_the_money_is_back(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "52989.15", actor=staff.collector)
    savings.withdraw(customer, "60", actor=staff.loan_officer)
    with pytest.raises(Conflict):
        repayments.reverse(payment, "Wrong customer", actor=staff.manager)
    savings.deposit(customer, "60", source="cash", actor=staff.loan_officer)
    repayments.reverse(payment, "Wrong customer", actor=staff.manager)
    assert payment.status == PaymentStatus.REVERSED
    assert savings.balance_of(customer) == D("0.00")
    assert loans.outstanding(loan) == D("52889.15")


def test_a_payment_on_a_written_off_loan_cannot_be_reversed(customer, make_loan, staff):
    loan = make_loan(customer)
    payment = repayments.record_payment(loan, "1000", actor=staff.collector)
    loans.write_off(loan, "Borrower absconded", actor=staff.manager)
    with pytest.raises(Conflict):
        repayments.reverse(payment, "Cheque bounced", actor=staff.manager)


def test_reversing_a_savings_payment_refunds_it_even_after_its_overpayment_was_withdrawn(customer, make_loan, staff):
    """The reversal gives back 1,157.77 and takes back the 100.00 overpayment: a net refund, never an overdraft."""
    loan = make_loan(customer, "1000")
    assert loans.outstanding(loan) == D("1057.77")
    savings.deposit(customer, "1157.77", source="cash", actor=staff.loan_officer)
    payment = repayments.pay_from_savings(loan, "1157.77", actor=staff.loan_officer)
    assert (payment.overpayment, loan.status) == (D("100.00"), LoanStatus.CLOSED)
    savings.withdraw(customer, "100", actor=staff.loan_officer)
    assert savings.balance_of(customer) == D("0.00")
    repayments.reverse(payment, "Customer asked for the savings back", actor=staff.manager)
    assert payment.status == PaymentStatus.REVERSED
    assert savings.balance_of(customer) == D("1057.77")
    assert loans.outstanding(loan) == D("1057.77")
    assert loan.status == LoanStatus.DISBURSED


def test_paying_more_from_savings_than_they_hold_is_refused_even_if_the_excess_would_come_back(
        customer, make_loan, staff, rows):
    """1,100.00 saved cannot pay 2,000.00, though only 1,057.77 is owed and 942.23 would return as overpayment."""
    loan = make_loan(customer, "1000")
    savings.deposit(customer, "1100", source="cash", actor=staff.loan_officer)
    payments = rows(Payment)
    with pytest.raises(ValidationFailed, match="Insufficient") as exc:
        repayments.pay_from_savings(loan, "2000", actor=staff.loan_officer)
    assert "1,100.00 available" in exc.value.errors["amount"][0]
    assert savings.balance_of(customer) == D("1100.00")
    assert loans.outstanding(loan) == D("1057.77")
    assert rows(Payment) == payments
