"""001 SokoCredit /loan-products: everyone signed in may read; admins and managers manage; a
product a loan uses is never deleted (409: archive it instead)."""

import pytest

from portal.models import LoanProduct
from portal.models.base import db
from tests.api.conftest import assert_error, assert_invalid

PRODUCT = {"name": "Mama Mboga Weekly", "interest_method": "flat", "annual_rate": "24", "frequency": "weekly",
           "term_periods": 8, "min_principal": "1000", "max_principal": "20000", "fee_type": "percent",
           "fee_value": "2", "fee_mode": "deducted", "penalty_rate": "1", "grace_days": 3}


def product_row(product_id):
    db.session.expire_all()
    return db.session.get(LoanProduct, product_id)


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_admin_and_manager_create_products(client, staff, api_headers, who):
    response = client.post("/loan-products", json=PRODUCT, headers=api_headers(getattr(staff, who)))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == "Mama Mboga Weekly"
    assert body["interest_method"] == "flat"
    assert body["frequency"] == "weekly"
    assert body["term_periods"] == 8
    assert body["min_principal"] == "1000.00"
    assert body["max_principal"] == "20000.00"
    assert body["active"] is True
    row = product_row(body["id"])
    assert (row.min_principal, row.max_principal) == (1000, 20000)
    assert float(body["annual_rate"]) == 24


@pytest.mark.parametrize("who", ["loan_officer", "collector", "calling_agent", "borrower"])
def test_other_roles_cannot_create_products(client, staff, borrower, api_headers, who):
    user = borrower.user if who == "borrower" else getattr(staff, who)

    response = client.post("/loan-products", json=PRODUCT, headers=api_headers(user))

    assert_error(response, "001", 403)
    assert db.session.query(LoanProduct).filter_by(name=PRODUCT["name"]).count() == 0


def test_borrower_lists_the_active_products(client, borrower, make_product, api_headers):
    active = make_product(name="Stock Loan")
    make_product(name="Retired Loan", active=False)

    response = client.get("/loan-products", headers=api_headers(borrower.user, "mama_mboga"))

    assert response.status_code == 200, response.get_json()
    names = [p["name"] for p in response.get_json()]
    assert names == ["Stock Loan"]
    assert response.get_json()[0]["id"] == active.id
    assert response.get_json()[0]["max_principal"] == "1000000.00"


def test_staff_list_every_product(client, staff, make_product, api_headers):
    make_product(name="Stock Loan")
    make_product(name="Retired Loan", active=False)

    response = client.get("/loan-products", headers=api_headers(staff.loan_officer))

    assert response.status_code == 200
    assert {p["name"] for p in response.get_json()} == {"Stock Loan", "Retired Loan"}


def test_get_one_product(client, borrower, product, api_headers):
    response = client.get(f"/loan-products/{product.id}", headers=api_headers(borrower.user))

    assert response.status_code == 200
    assert response.get_json()["id"] == product.id
    assert response.get_json()["min_principal"] == "1000.00"
    assert_error(client.get("/loan-products/999999", headers=api_headers(borrower.user)), "001", 404)


def test_products_need_a_token(client, product):
    assert_error(client.get("/loan-products"), "001", 401)
    assert_error(client.get(f"/loan-products/{product.id}"), "001", 401)
    assert_error(client.post("/loan-products", json=PRODUCT), "001", 401)
    assert_error(client.patch(f"/loan-products/{product.id}", json={"active": False}), "001", 401)
    assert_error(client.delete(f"/loan-products/{product.id}"), "001", 401)


@pytest.mark.parametrize(("change", "field"), [
    ({"min_principal": "1000.001"}, "min_principal"),
    ({"max_principal": "500"}, "max_principal"),  # below the minimum of 1,000
    ({"frequency": "yearly"}, "frequency"),
    ({"term_periods": 0}, "term_periods"),
    ({"annual_rate": "-1"}, "annual_rate"),
    ({"name": "x"}, "name"),
])
def test_invalid_product_is_400(client, staff, api_headers, change, field):
    response = client.post("/loan-products", json={**PRODUCT, **change}, headers=api_headers(staff.admin))

    assert_invalid(response, "001", field)


def test_product_without_the_required_fields_is_400(client, staff, api_headers):
    response = client.post("/loan-products", json={"name": "Half a product"}, headers=api_headers(staff.admin))

    assert_invalid(response, "001", "interest_method", "annual_rate", "frequency", "term_periods",
                   "min_principal", "max_principal")


def test_duplicate_product_name_is_400(client, staff, make_product, api_headers):
    make_product(name=PRODUCT["name"])

    response = client.post("/loan-products", json=PRODUCT, headers=api_headers(staff.admin))

    assert_invalid(response, "001", "name")


def test_patch_changes_a_product_and_not_the_loans_made_on_it(client, staff, product, new_customer, make_loan,
                                                              api_headers):
    loan = make_loan(new_customer(), "12000", state="pending")

    response = client.patch(f"/loan-products/{product.id}", json={"max_principal": "50000", "annual_rate": "15"},
                            headers=api_headers(staff.manager))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["max_principal"] == "50000.00"
    assert float(response.get_json()["annual_rate"]) == 15
    db.session.refresh(loan)
    assert loan.annual_rate == 0  # the loan keeps the terms it was made on


def test_patch_is_for_product_managers(client, staff, borrower, product, api_headers):
    for user in (staff.loan_officer, borrower.user):
        response = client.patch(f"/loan-products/{product.id}", json={"active": False}, headers=api_headers(user))
        assert_error(response, "001", 403)
    assert product_row(product.id).active is True


def test_patch_with_an_invalid_value_is_400(client, staff, product, api_headers):
    response = client.patch(f"/loan-products/{product.id}", json={"min_principal": "2000000"},
                            headers=api_headers(staff.admin))

    assert_invalid(response, "001", "max_principal")
    assert product_row(product.id).min_principal == 1000


def test_delete_an_unused_product(client, staff, make_product, api_headers):
    unused_id = make_product().id

    response = client.delete(f"/loan-products/{unused_id}", headers=api_headers(staff.admin))

    assert response.status_code == 200, response.get_json()
    assert isinstance(response.get_json()["message"], str)
    assert_error(client.get(f"/loan-products/{unused_id}", headers=api_headers(staff.admin)), "001", 404)
    db.session.expunge_all()
    assert db.session.get(LoanProduct, unused_id) is None


def test_delete_of_a_product_a_loan_uses_is_409(client, staff, product, new_customer, make_loan, api_headers):
    make_loan(new_customer(), "12000", state="pending")

    response = client.delete(f"/loan-products/{product.id}", headers=api_headers(staff.admin))

    assert_error(response, "001", 409)
    assert product_row(product.id) is not None


def test_delete_is_for_product_managers(client, staff, borrower, make_product, api_headers):
    unused = make_product()

    assert_error(client.delete(f"/loan-products/{unused.id}", headers=api_headers(borrower.user)), "001", 403)
    assert_error(client.delete(f"/loan-products/{unused.id}", headers=api_headers(staff.loan_officer)), "001", 403)
    assert product_row(unused.id) is not None
