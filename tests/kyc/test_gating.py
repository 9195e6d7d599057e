"""Tier gating: a loan above a configured amount is not paid out before its customer holds the tier it needs."""

from decimal import Decimal

import pytest

from portal.models import DisbursementChannel, KycLevel, LoanStatus
from portal.services import kyc, loans, products
from portal.services.errors import Conflict


@pytest.fixture
def product(staff):
    return products.create({"name": "Gating test", "interest_method": "declining", "annual_rate": "12",
                            "frequency": "monthly", "term_periods": 6, "min_principal": "1000",
                            "max_principal": "1000000", "fee_type": "fixed", "fee_value": "0", "fee_mode": "deducted",
                            "penalty_rate": "0", "grace_days": 0}, actor=staff.admin)


@pytest.fixture
def approved_loan(staff, product):
    def make(customer, principal: str):
        loan = loans.apply(customer, {"product_id": product.id, "principal": principal}, actor=staff.loan_officer)
        return loans.approve(loan, actor=staff.manager)
    return make


@pytest.mark.parametrize(("principal", "needed"), [
    ("50000", None), ("50000.01", KycLevel.TIER_2), ("500000", KycLevel.TIER_2), ("500000.01", KycLevel.TIER_3)])
def test_the_default_tiers_follow_the_application_limits(principal, needed):
    assert kyc.tier_needed(Decimal(principal)) == needed


def test_the_tiers_are_configurable(app, monkeypatch):
    monkeypatch.setitem(app.config, "KYC_DISBURSE_TIERS", {"tier_1": "0", "tier_3": "100000"})

    assert kyc.tier_needed(Decimal("1")) == KycLevel.TIER_1
    assert kyc.tier_needed(Decimal("100000.01")) == KycLevel.TIER_3


def test_a_loan_above_the_amount_is_not_paid_out_before_the_tier(make_customer, staff, approved_loan):
    customer = make_customer(kyc_level=KycLevel.TIER_2)
    loan = approved_loan(customer, "80000")
    customer.kyc_level = KycLevel.TIER_1  # lowered after the application (a re-review)

    with pytest.raises(Conflict) as exc:
        loans.disburse(loan, DisbursementChannel.MPESA, actor=staff.loan_officer)

    assert "needs KYC tier 2" in exc.value.message
    assert loan.status == LoanStatus.APPROVED and loan.installments == []


def test_approving_the_kyc_at_the_tier_lets_the_loan_be_paid_out(app, monkeypatch, customer, staff, approved_loan,
                                                                 submitted):
    monkeypatch.setitem(app.config, "KYC_DISBURSE_TIERS", {"tier_1": "0"})  # every loan needs verified KYC
    loan = approved_loan(customer, "5000")
    with pytest.raises(Conflict):
        loans.disburse(loan, DisbursementChannel.MPESA, actor=staff.loan_officer)

    kyc.approve(submitted(customer), kyc_level="tier_1", approved_documents=["national_id"], actor=staff.manager)
    loans.disburse(loan, DisbursementChannel.MPESA, actor=staff.loan_officer)

    assert loan.status == LoanStatus.DISBURSED


def test_a_loan_within_the_customers_tier_is_paid_out(make_customer, staff, approved_loan):
    loan = approved_loan(make_customer(kyc_level=KycLevel.TIER_1), "50000")

    loans.disburse(loan, DisbursementChannel.MPESA, actor=staff.loan_officer)

    assert loan.status == LoanStatus.DISBURSED
