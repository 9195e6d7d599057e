"""The application preview: the schedule loans.disburse would fix, and the warnings loans.apply would refuse on."""

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.models import DisbursementChannel, KycLevel, Role
from portal.services import business_day, loan_preview, loans, schedules
from portal.services.errors import Forbidden, ValidationFailed
from tests.loans_portal.conftest import START

D = Decimal


def test_the_preview_of_50000_at_10_5_percent_over_12_months(customer, product, staff):
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": "50,000"},
                                   actor=staff.loan_officer)
    q = preview.quote
    assert preview.errors == {} and preview.warnings == {}
    assert len(q.lines) == 12
    assert q.installment == D("4407.43")
    assert [line.total for line in q.lines[:11]] == [D("4407.43")] * 11
    assert q.lines[-1].total == D("4407.42")
    assert q.total_interest == D("2889.15")
    assert (q.fee, q.borrower_receives, q.total_repayable) == (D("0.00"), D("50000.00"), D("52889.15"))
    assert q.lines[0].due_date == schedules.add_months(business_day.today(), 1)  # as if paid out today


def test_the_preview_is_the_schedule_disbursement_fixes(customer, product, staff):
    quote = loan_preview.preview(customer, {"product_id": product.id, "principal": "50000"},
                                 actor=staff.loan_officer).quote
    loan = loans.apply(customer, {"product_id": product.id, "principal": "50000"}, actor=staff.loan_officer)
    loans.approve(loan, actor=staff.manager)
    loans.disburse(loan, DisbursementChannel.MPESA, actor=staff.loan_officer, on=business_day.today())
    assert [(i.due_date, i.principal_due, i.interest_due, i.fee_due) for i in loan.installments] == [
        (line.due_date, line.principal, line.interest, line.fee) for line in quote.lines]


@pytest.mark.parametrize("fee_mode, receives, first, repayable", [
    ("deducted", "19000.00", "3510.50", "21063.02"),
    ("added", "20000.00", "4510.50", "22063.02"),
])
def test_a_fee_is_taken_from_the_payout_or_added_to_the_first_installment(
        customer, make_product, staff, fee_mode, receives, first, repayable):
    product = make_product(annual_rate="18", term_periods=6, fee_type="percent", fee_value="5", fee_mode=fee_mode)
    q = loan_preview.preview(customer, {"product_id": product.id, "principal": "20000"},
                             actor=staff.loan_officer).quote
    assert q.fee == D("1000.00")
    assert q.borrower_receives == D(receives)
    assert q.lines[0].total == D(first)
    assert q.installment == D("3510.50")
    assert q.total_repayable == D(repayable)


def test_a_blank_term_takes_the_product_s_and_a_typed_one_replaces_it(customer, product, staff):
    blank = loan_preview.preview(customer, {"product_id": product.id, "principal": "12000", "term_periods": ""},
                                 actor=staff.loan_officer).quote
    six = loan_preview.preview(customer, {"product_id": product.id, "principal": "12000", "term_periods": "6"},
                               actor=staff.loan_officer).quote
    assert (len(blank.lines), len(six.lines)) == (12, 6)


def test_unreadable_input_gives_no_schedule_but_says_why(customer, product, staff):
    assert loan_preview.preview(customer, {}, actor=staff.loan_officer).errors == {
        "product_id": ["Choose a loan product."]}
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": "lots"},
                                   actor=staff.loan_officer)
    assert preview.quote is None and "principal" in preview.errors
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": "5000", "term_periods": "x"},
                                   actor=staff.loan_officer)
    assert preview.quote is None and "term_periods" in preview.errors


def test_an_amount_above_the_kyc_ceiling_is_warned_with_the_same_words_apply_refuses_with(
        make_customer, product, staff):
    customer = make_customer(kyc=KycLevel.TIER_1)
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": "60000"},
                                   actor=staff.loan_officer)
    assert list(preview.warnings) == ["kyc"]
    assert preview.kyc_ceiling == D("50000")
    assert preview.quote is not None  # the schedule is still shown, so the officer can lower the amount
    with pytest.raises(ValidationFailed) as refused:
        loans.apply(customer, {"product_id": product.id, "principal": "60000"}, actor=staff.loan_officer)
    assert refused.value.errors["principal"] == [preview.warnings["kyc"]]


@pytest.mark.parametrize("principal", ["999", "1000000.01"])
def test_an_amount_outside_the_product_s_range_is_warned(make_customer, product, staff, principal):
    customer = make_customer(kyc=KycLevel.TIER_3)
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": principal},
                                   actor=staff.loan_officer)
    assert list(preview.warnings) == ["range"]
    assert "1,000.00 to 1,000,000.00" in preview.warnings["range"]


def test_both_limits_are_warned_at_once(make_customer, make_product, staff):
    product = make_product(max_principal="20000")
    customer = make_customer(kyc=KycLevel.TIER_0)
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": "25000"},
                                   actor=staff.loan_officer)
    assert list(preview.warnings) == ["range", "kyc"]


def test_loans_in_arrears_are_warned_even_before_an_amount_is_typed(customer, make_loan, staff, product):
    late = make_loan(customer, "10000", on=START)  # every installment fell due long ago
    make_loan(customer, "10000", on=business_day.today())  # current: not a warning
    preview = loan_preview.preview(customer, {"product_id": product.id}, actor=staff.loan_officer)
    assert list(preview.warnings) == ["arrears"]
    days = late.days_past_due_on(business_day.today())
    assert f"1 loan in arrears ({late.loan_number}; up to {days} days late)" in preview.warnings["arrears"]


def test_a_customer_with_nothing_wrong_gets_no_warning(customer, make_loan, product, staff):
    make_loan(customer, "10000", on=business_day.today() - timedelta(days=5))
    preview = loan_preview.preview(customer, {"product_id": product.id, "principal": "30000"},
                                   actor=staff.loan_officer)
    assert preview.warnings == {}


@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.CALLING_AGENT])
def test_roles_that_cannot_apply_get_no_preview(customer, product, make_user, role):
    with pytest.raises(Forbidden):
        loan_preview.preview(customer, {"product_id": product.id, "principal": "5000"}, actor=make_user(role))


def test_a_manager_gets_no_preview_for_a_customer_outside_their_team(customer, product, staff):
    with pytest.raises(Forbidden):
        loan_preview.preview(customer, {"product_id": product.id, "principal": "5000"},
                             actor=staff.outside_manager)
