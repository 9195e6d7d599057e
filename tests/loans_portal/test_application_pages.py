"""The application form: choosing the customer, the live preview, applying, errors beside the fields."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.models import KycLevel, Loan, LoanStatus, Role
from portal.models.base import db
from tests.loans_portal.conftest import START
from tests.pages import HX, text

NEW = "/portal/loans/new"


def test_the_form_opens_for_a_customer_given_in_the_address(client, login_as, customer, product, staff):
    login_as(user=staff.loan_officer)
    html = text(client.get(f"{NEW}?customer_id={customer.id}"))
    assert customer.name in html and f'name="customer_id" type="hidden" value="{customer.id}"' in html
    assert product.name in html and "loans up to KES 500,000.00" in html


def test_without_a_customer_the_form_asks_for_one_and_finds_them(client, login_as, make_customer, staff):
    wanjiru = make_customer(name="Wanjiru Kamau")
    make_customer(name="Otieno Ouma")
    login_as(user=staff.loan_officer)
    assert 'id="customer-q"' in client.get(NEW).get_data(as_text=True)
    html = text(client.get(f"{NEW}/customers?q=wanjiru", headers=HX))
    assert "<html" not in html and "Wanjiru Kamau" in html and "Otieno Ouma" not in html
    assert f"/portal/loans/new?customer_id={wanjiru.id}" in html


def test_the_preview_answers_with_the_schedule_fragment(client, login_as, post, customer, product, staff):
    login_as(user=staff.loan_officer)
    response = post(f"{NEW}/preview", {"customer_id": customer.id, "product_id": product.id, "principal": "50,000"})
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert 'data-testid="installment">4,407.43 <span class="text-secondary small">\u00d7 12 monthly' in html
    assert 'data-testid="total-interest">2,889.15<' in html
    assert 'data-testid="receives">50,000.00<' in html
    assert html.count("<td>") == 24  # 12 installments: number and due date each
    assert "4,407.42" in html  # the last one takes the rounding


def test_the_preview_warns_before_anything_is_sent(client, login_as, post, make_customer, product, make_loan,
                                                   staff):
    customer = make_customer(kyc=KycLevel.TIER_1)
    make_loan(customer, "10000", on=START)
    login_as(user=staff.loan_officer)
    html = text(post(f"{NEW}/preview", {"customer_id": customer.id, "product_id": product.id,
                                        "principal": "60000"}))
    assert 'data-warning="kyc"' in html and "KYC level tier_1 allows loans up to 50,000.00" in html
    assert 'data-warning="arrears"' in html and "1 loan in arrears" in html
    assert 'data-warning="range"' not in html


def test_the_form_carries_the_live_preview_wiring(client, login_as, customer, product, staff):
    login_as(user=staff.loan_officer)
    html = client.get(f"{NEW}?customer_id={customer.id}").get_data(as_text=True)
    assert 'hx-post="/portal/loans/new/preview"' in html
    assert 'hx-trigger="input delay:400ms from:#application-form"' in html


def test_applying_through_the_form_creates_a_pending_loan_and_opens_it(client, login_as, post, customer, product,
                                                                      staff):
    login_as(user=staff.loan_officer)
    response = post(NEW, {"customer_id": customer.id, "product_id": product.id, "principal": "50000",
                          "term_periods": "", "purpose": "Stock for the shop"})
    loan = db.session.scalars(select(Loan).where(Loan.customer_id == customer.id)).one()
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/portal/loans/{loan.id}"
    assert (loan.status, loan.principal, loan.term_periods, loan.purpose, loan.created_by_id) == (
        LoanStatus.PENDING, Decimal("50000.00"), 12, "Stock for the shop", staff.loan_officer.id)
    html = text(client.get(f"/portal/loans/{loan.id}"))
    assert f"Application {loan.loan_number} for {customer.name} (50,000.00) sent for approval." in html
    assert "Waiting for approval." in html


def test_a_typed_term_replaces_the_product_s(client, login_as, post, customer, product, staff):
    login_as(user=staff.loan_officer)
    post(NEW, {"customer_id": customer.id, "product_id": product.id, "principal": "12000", "term_periods": "6"})
    assert db.session.scalars(select(Loan.term_periods)).one() == 6


@pytest.mark.parametrize("values, field, message", [
    ({"principal": "60000"}, "principal", "KYC level tier_1 allows loans up to 50,000.00"),
    ({"principal": "500"}, "principal", "lends 1,000.00 to 1,000,000.00"),
    ({"principal": "ten"}, "principal", "Enter the principal as a number"),
    ({"principal": "5000", "term_periods": "0"}, "term_periods", "Give the number of installments"),
    ({"principal": "5000", "product_id": ""}, "product_id", "Choose a loan product."),
])
def test_a_refused_application_comes_back_with_the_error_beside_the_field(
        client, login_as, post, make_customer, product, staff, values, field, message):
    customer = make_customer(kyc=KycLevel.TIER_1)
    login_as(user=staff.loan_officer)
    response = post(NEW, {"customer_id": customer.id, "product_id": product.id, **values})
    html = text(response)
    assert response.status_code == 422
    assert f'id="{field}-error">' in html and message in html.split(f'id="{field}-error">')[1][:200]
    assert 'data-testid="preview-summary"' in html or 'data-testid="preview-hint"' in html
    assert db.session.scalars(select(Loan)).first() is None


@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.CALLING_AGENT])
def test_roles_that_cannot_apply_cannot_open_the_form(client, login_as, post, customer, product, make_user, role):
    login_as(role)
    assert client.get(f"{NEW}?customer_id={customer.id}").status_code == 403
    assert client.get(NEW).status_code == 403
    assert post(NEW, {"customer_id": customer.id, "product_id": product.id, "principal": "5000"}).status_code == 403
    assert db.session.scalars(select(Loan)).first() is None


def test_a_manager_cannot_apply_for_a_customer_outside_their_team(client, login_as, post, customer, product, staff):
    login_as(user=staff.outside_manager)
    assert post(NEW, {"customer_id": customer.id, "product_id": product.id, "principal": "5000"}).status_code == 403
