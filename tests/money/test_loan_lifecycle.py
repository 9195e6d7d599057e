"""The loan lifecycle: application limits, maker-checker approval, exactly-once disbursement, write-off."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from portal.models import (
    DisbursementChannel,
    EntryKind,
    Gl,
    Installment,
    JournalEntry,
    KycLevel,
    LoanStatus,
    MpesaKind,
    MpesaRequest,
    MpesaStatus,
    Role,
    Transaction,
    TransactionKind,
)
from portal.models.base import db
from portal.services import business_day, customers, ledger, loans, repayments, savings
from portal.services.errors import Conflict, Forbidden, ValidationFailed
from tests.conftest import MPESA_OUTBOX
from tests.money.conftest import START

D = Decimal
MPESA, SAVINGS = DisbursementChannel.MPESA, DisbursementChannel.SAVINGS


def _apply(customer, product, principal, actor):
    return loans.apply(customer, {"product_id": product.id, "principal": principal}, actor=actor)


# --- application ------------------------------------------------------------------------------------------


def test_application_copies_the_product_terms(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    assert loan.status == LoanStatus.PENDING
    assert loan.principal == D("50000.00")
    assert loan.annual_rate == D("10.5")
    assert loan.term_periods == 12
    assert loan.created_by_id == staff.loan_officer.id
    assert loan.installments == []  # the schedule is fixed at disbursement
    assert loans.outstanding(loan) == D("0.00")


@pytest.mark.parametrize("principal", ["999.99", "1000000.01"])
def test_application_outside_the_product_range_is_refused(customer, make_product, staff, principal):
    product = make_product(min_principal="1000", max_principal="1000000")
    customer.kyc_level = KycLevel.TIER_3
    with pytest.raises(ValidationFailed) as exc:
        _apply(customer, product, principal, staff.loan_officer)
    assert list(exc.value.errors) == ["principal"]
    assert "1,000.00" in exc.value.errors["principal"][0]


@pytest.mark.parametrize("principal", ["1000", "1000000"])
def test_application_at_the_product_limits_is_accepted(customer, make_product, staff, principal):
    product = make_product(min_principal="1000", max_principal="1000000")
    customer.kyc_level = KycLevel.TIER_3
    assert _apply(customer, product, principal, staff.loan_officer).principal == D(principal)


@pytest.mark.parametrize("level, ceiling", [(KycLevel.TIER_0, "10000"), (KycLevel.TIER_1, "50000"),
                                            (KycLevel.TIER_2, "500000")])
def test_application_above_the_kyc_ceiling_is_refused_naming_kyc(make_customer, product, staff, level, ceiling):
    customer = make_customer(kyc=level)
    assert _apply(customer, product, ceiling, staff.loan_officer).principal == D(ceiling)
    with pytest.raises(ValidationFailed) as exc:
        _apply(customer, product, D(ceiling) + D("0.01"), staff.loan_officer)
    assert "KYC" in exc.value.errors["principal"][0]


def test_tier_3_has_no_kyc_ceiling(make_customer, make_product, staff):
    product = make_product(max_principal="50000000")
    customer = make_customer(kyc=KycLevel.TIER_3)
    assert _apply(customer, product, "25000000", staff.loan_officer).principal == D("25000000.00")


# --- maker-checker ----------------------------------------------------------------------------------------


def test_manager_approves_a_loan_their_loan_officer_made(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    loans.approve(loan, actor=staff.manager)
    assert loan.status == LoanStatus.APPROVED
    assert loan.decided_by_id == staff.manager.id
    assert loan.decided_at is not None


def test_the_maker_cannot_approve_their_own_application(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.manager)
    with pytest.raises(Forbidden, match="maker-checker"):
        loans.approve(loan, actor=staff.manager)
    assert loan.status == LoanStatus.PENDING


def test_an_admin_maker_cannot_approve_their_own_application_either(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.admin)
    with pytest.raises(Forbidden):
        loans.approve(loan, actor=staff.admin)
    loans.approve(loan, actor=staff.manager)
    assert loan.status == LoanStatus.APPROVED


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT, Role.BORROWER])
def test_roles_below_manager_cannot_approve(customer, product, staff, make_user, role):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    with pytest.raises(Forbidden):
        loans.approve(loan, actor=make_user(role))
    assert loan.status == LoanStatus.PENDING


def test_a_manager_cannot_approve_for_a_customer_outside_their_team(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    with pytest.raises(Forbidden):
        loans.approve(loan, actor=staff.outside_manager)
    assert loan.status == LoanStatus.PENDING


def test_manager_approval_limit_is_500000(make_customer, make_product, staff):
    product = make_product(max_principal="5000000")
    customer = make_customer(kyc=KycLevel.TIER_3)
    at_limit = _apply(customer, product, "500000", staff.loan_officer)
    loans.approve(at_limit, actor=staff.manager)
    assert at_limit.status == LoanStatus.APPROVED

    above = _apply(customer, product, "500000.01", staff.loan_officer)
    with pytest.raises(Forbidden, match="approval limit"):
        loans.approve(above, actor=staff.manager)
    assert above.status == LoanStatus.PENDING
    loans.approve(above, actor=staff.admin)  # an admin has no limit
    assert above.status == LoanStatus.APPROVED


def test_admin_approves_any_amount(make_customer, make_product, staff):
    product = make_product(max_principal="50000000")
    customer = make_customer(kyc=KycLevel.TIER_3)
    loan = _apply(customer, product, "40000000", staff.loan_officer)
    loans.approve(loan, actor=staff.admin)
    assert loan.status == LoanStatus.APPROVED


def test_reject_needs_a_reason(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    for reason in ("", "   ", "no"):
        with pytest.raises(ValidationFailed) as exc:
            loans.reject(loan, reason, actor=staff.manager)
        assert "reason" in exc.value.errors
    assert loan.status == LoanStatus.PENDING
    loans.reject(loan, "  Income not verified  ", actor=staff.manager)
    assert loan.status == LoanStatus.REJECTED
    assert loan.rejection_reason == "Income not verified"


@pytest.mark.parametrize("first, second", [("approve", "approve"), ("approve", "reject"),
                                           ("reject", "reject"), ("reject", "approve")])
def test_a_decided_loan_cannot_be_decided_again(customer, product, staff, first, second):
    loan = _apply(customer, product, "50000", staff.loan_officer)

    def decide(how):
        if how == "approve":
            loans.approve(loan, actor=staff.manager)
        else:
            loans.reject(loan, "Not this time", actor=staff.manager)
    decide(first)
    status = loan.status
    with pytest.raises(Conflict):
        decide(second)
    assert loan.status == status


# --- disbursement -----------------------------------------------------------------------------------------



def test_only_approved_loans_are_disbursed(customer, product, staff, rows):
    pending = _apply(customer, product, "50000", staff.loan_officer)
    with pytest.raises(Conflict, match="pending"):
        loans.disburse(pending, MPESA, actor=staff.loan_officer, on=START)
    rejected = _apply(customer, product, "50000", staff.loan_officer)
    loans.reject(rejected, "Not this time", actor=staff.manager)
    with pytest.raises(Conflict, match="rejected"):
        loans.disburse(rejected, MPESA, actor=staff.loan_officer, on=START)
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.DISBURSEMENT) == 0
    assert (pending.status, rejected.status) == (LoanStatus.PENDING, LoanStatus.REJECTED)


def test_disbursing_twice_is_a_conflict_and_pays_out_once(customer, make_loan, staff, rows):
    loan = make_loan(customer)
    assert loan.status == LoanStatus.DISBURSED
    with pytest.raises(Conflict, match="already been disbursed"):
        loans.disburse(loan, MPESA, actor=staff.loan_officer, on=START)
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.DISBURSEMENT) == 1
    assert rows(Installment, Installment.loan_id == loan.id) == 12
    assert rows(Transaction, Transaction.kind == TransactionKind.DISBURSEMENT) == 1
    assert loans.outstanding(loan) == D("52889.15")


def test_disbursement_fixes_the_schedule_and_books_principal_plus_interest(customer, make_loan):
    loan = make_loan(customer)
    assert [i.number for i in loan.installments] == list(range(1, 13))
    assert loan.installments[0].due_date.isoformat() == "2025-02-15"
    assert loan.disbursed_on == START
    assert loan.principal_outstanding == D("50000.00")
    assert loan.oldest_unpaid_due.isoformat() == "2025-02-15"
    assert loans.outstanding(loan) == D("52889.15")
    assert ledger.balance(Gl.UNEARNED_INTEREST, loan_id=loan.id) == D("-2889.15")
    assert ledger.balance(Gl.PAYOUTS_IN_TRANSIT) == D("-50000.00")  # sent by B2C, not yet confirmed
    assert ledger.balance(Gl.CASH) == D("0.00")
    assert ledger.balance(Gl.FEE_INCOME) == D("0.00")


def test_a_confirmed_mpesa_payout_leaves_the_float_once(customer, make_loan, mpesa_callbacks):
    loan = make_loan(customer)
    request = MpesaRequest.query.filter_by(loan_id=loan.id, kind=MpesaKind.B2C).one()
    assert (request.status, request.amount, request.phone) == (MpesaStatus.PENDING, D("50000.00"), customer.phone)
    (result,) = mpesa_callbacks()
    assert result.status_code == 200
    db.session.expire_all()
    assert request.status == MpesaStatus.SUCCEEDED and request.receipt
    assert ledger.balance(Gl.CASH) == D("-50000.00")
    assert ledger.balance(Gl.PAYOUTS_IN_TRANSIT) == D("0.00")
    assert loans.outstanding(loan) == D("52889.15")


def test_a_failed_mpesa_payout_goes_to_savings_and_a_repeated_result_changes_nothing(
        make_customer, make_loan, mpesa_callbacks, rows):
    customer = make_customer(phone="+254712340001")  # the simulator refuses numbers ending 0001
    loan = make_loan(customer)
    delivered = list(MPESA_OUTBOX)
    mpesa_callbacks()
    MPESA_OUTBOX.extend(delivered)  # Safaricom delivers the same result again
    mpesa_callbacks()
    db.session.expire_all()
    request = MpesaRequest.query.filter_by(loan_id=loan.id, kind=MpesaKind.B2C).one()
    assert (request.status, request.result_code) == (MpesaStatus.FAILED, 1)
    assert savings.balance_of(customer) == D("50000.00")
    assert ledger.balance(Gl.PAYOUTS_IN_TRANSIT) == D("0.00") and ledger.balance(Gl.CASH) == D("0.00")
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.PAYOUT) == 1
    assert loans.outstanding(loan) == D("52889.15")  # the loan stands: the borrower has the money in savings


def test_disbursement_to_savings_deducts_a_two_percent_fee(customer, make_product, make_loan):
    product = make_product(fee_type="percent", fee_value="2", fee_mode="deducted")
    loan = make_loan(customer, "50000", product=product, channel=SAVINGS)
    assert loan.fee_amount == D("1000.00")
    assert savings.balance_of(customer) == D("49000.00")
    assert loans.outstanding(loan) == D("52889.15")
    assert ledger.balance(Gl.FEE_INCOME, loan_id=loan.id) == D("-1000.00")
    assert ledger.balance(Gl.CASH) == D("0.00")  # nothing left the till: it all went to savings
    assert all(i.fee_due == D("0.00") for i in loan.installments)
    txn = Transaction.query.filter_by(loan_id=loan.id, kind=TransactionKind.DISBURSEMENT).one()
    assert (txn.amount, txn.balance_after) == (D("49000.00"), D("49000.00"))


def test_an_added_fee_is_repaid_with_the_first_installment_and_the_whole_principal_is_paid_out(
        customer, make_product, make_loan):
    product = make_product(fee_type="percent", fee_value="2", fee_mode="added")
    loan = make_loan(customer, "50000", product=product, channel=SAVINGS)
    assert savings.balance_of(customer) == D("50000.00")
    assert loans.outstanding(loan) == D("53889.15")  # principal + interest + fee
    assert loan.installments[0].fee_due == D("1000.00")
    assert loan.installments[0].total_due == D("5407.43")
    assert ledger.balance(Gl.FEE_INCOME, loan_id=loan.id) == D("-1000.00")


def test_a_fixed_deducted_fee_over_mpesa(customer, make_product, make_loan):
    product = make_product(fee_type="fixed", fee_value="750", fee_mode="deducted")
    loan = make_loan(customer, "20000", product=product)
    assert ledger.balance(Gl.PAYOUTS_IN_TRANSIT) == D("-19250.00")
    assert loans.outstanding(loan) == loan.principal + sum(i.interest_due for i in loan.installments)


def test_an_mpesa_payout_with_cents_is_refused_before_anything_is_written(customer, make_product, make_loan,
                                                                        staff, rows):
    """B2C sends whole shillings: a payout with cents would reach the borrower short of what is booked."""
    product = make_product(fee_type="percent", fee_value="1.5", fee_mode="deducted")
    loan = make_loan(customer, "10001", product=product, disburse=False)
    assert loan.fee_amount == D("150.02")  # 150.015, half up

    with pytest.raises(ValidationFailed) as refused:
        loans.disburse(loan, MPESA, actor=staff.loan_officer, on=START)
    assert refused.value.errors == {
        "channel": ["M-Pesa sends whole shillings and 9,850.98 has cents; pay into savings."]}
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.DISBURSEMENT) == 0
    assert rows(Installment, Installment.loan_id == loan.id) == 0

    loans.disburse(loan, SAVINGS, actor=staff.loan_officer, on=START)
    assert savings.balance_of(customer) == D("9850.98")


# --- write-off --------------------------------------------------------------------------------------------


def test_write_off_zeroes_the_receivable(customer, make_loan, staff):
    loan = make_loan(customer)
    loans.write_off(loan, "Borrower absconded", actor=staff.manager)
    assert loan.status == LoanStatus.WRITTEN_OFF
    assert loans.outstanding(loan) == D("0.00")
    assert ledger.balance(Gl.UNEARNED_INTEREST, loan_id=loan.id) == D("0.00")
    assert ledger.balance(Gl.WRITE_OFF_EXPENSE, loan_id=loan.id) == D("50000.00")
    assert loan.write_off_reason == "Borrower absconded"


def test_write_off_after_a_repayment_expenses_only_the_principal_still_owed(customer, make_loan, staff):
    loan = make_loan(customer)
    repayments.record_payment(loan, "4407.43", actor=staff.collector)
    loans.write_off(loan, "Borrower absconded", actor=staff.manager)
    assert loans.outstanding(loan) == D("0.00")
    assert ledger.balance(Gl.WRITE_OFF_EXPENSE, loan_id=loan.id) == D("46030.07")
    assert ledger.balance(Gl.INTEREST_INCOME, loan_id=loan.id) == D("-437.50")


def test_write_off_needs_a_reason_an_active_loan_and_a_manager(customer, make_loan, staff):
    loan = make_loan(customer)
    with pytest.raises(ValidationFailed):
        loans.write_off(loan, " ", actor=staff.manager)
    with pytest.raises(Forbidden):
        loans.write_off(loan, "Borrower absconded", actor=staff.loan_officer)
    loans.write_off(loan, "Borrower absconded", actor=staff.manager)
    with pytest.raises(Conflict):
        loans.write_off(loan, "Again", actor=staff.admin)
    assert ledger.balance(Gl.WRITE_OFF_EXPENSE, loan_id=loan.id) == D("50000.00")


def test_a_written_off_loan_takes_no_repayments(customer, make_loan, staff):
    loan = make_loan(customer)
    loans.write_off(loan, "Borrower absconded", actor=staff.manager)
    with pytest.raises(Conflict):
        repayments.record_payment(loan, "100", actor=staff.collector)


# --- edits and deletes ------------------------------------------------------------------------------------


def test_pending_application_terms_can_change(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    loans.update_pending(loan, {"principal": "60000"}, actor=staff.loan_officer)
    assert loan.principal == D("60000.00")


@pytest.mark.parametrize("change", [{"principal": "60000"}, {"annual_rate": "12"}, {"term_periods": 6},
                                    {"frequency": "weekly"}, {"interest_method": "flat"}])
def test_money_terms_cannot_change_after_approval(customer, product, staff, change):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    loans.approve(loan, actor=staff.manager)
    with pytest.raises(Conflict):
        loans.update_pending(loan, change, actor=staff.loan_officer)
    assert (loan.principal, loan.annual_rate, loan.term_periods) == (D("50000.00"), D("10.5"), 12)


def test_whoever_changes_the_terms_is_a_maker_too(customer, product, staff):
    loan = _apply(customer, product, "50000", staff.loan_officer)
    loans.update_pending(loan, {"principal": "60000"}, actor=staff.manager)
    with pytest.raises(Forbidden):
        loans.approve(loan, actor=staff.manager)
    loans.approve(loan, actor=staff.admin)
    assert (loan.status, loan.principal) == (LoanStatus.APPROVED, D("60000.00"))


def test_a_disbursed_loan_cannot_be_deleted(customer, make_loan, staff):
    loan = make_loan(customer)
    with pytest.raises(Conflict):
        loans.delete_pending(loan, actor=staff.loan_officer)


def test_a_customer_with_loans_cannot_be_deleted(customer, product, staff):
    _apply(customer, product, "50000", staff.loan_officer)
    with pytest.raises(Conflict):
        customers.delete(customer, actor=staff.admin)


def test_a_loan_paid_out_late_in_the_utc_day_is_dated_by_the_business_day(customer, make_loan, monkeypatch):
    """22:30 UTC on 31 March is 01:30 on 1 April in Nairobi: the loan's day, and its schedule's, is 1 April."""
    monkeypatch.setattr(business_day, "utcnow", lambda: datetime(2026, 3, 31, 22, 30, tzinfo=UTC))

    loan = make_loan(customer, on=None)

    assert (loan.application_date, loan.disbursed_on) == (date(2026, 4, 1), date(2026, 4, 1))
    assert loan.installments[0].due_date == date(2026, 5, 1)
