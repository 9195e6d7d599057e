"""003 RepaySync /api/loans/: list and create, retrieve/update/delete one loan, a customer's loans,
co-borrowers (at most two), and per-object permission (a collection officer sees only the loans
of customers assigned to them)."""

from decimal import Decimal

import pytest

from portal.models import KycLevel, Loan, LoanStatus
from portal.models.base import db
from portal.services import loans
from tests.api.conftest import assert_error, assert_invalid

D = Decimal
LOAN_FIELDS = {"id", "loan_account_number", "principal_amount", "interest_rate", "loan_type", "tenure_months",
               "loan_date", "customer"}


def documented_loan(customer_id: int) -> dict:
    """6.1's POST body, word for word, with a real customer id."""
    return {"loan_account_number": "LN12345", "principal_amount": "50000.00", "interest_rate": "10.50",
            "loan_type": "personal", "tenure_months": 12, "loan_date": "2025-03-09", "customer": customer_id}


def loan_row(loan_id):
    db.session.expire_all()
    return db.session.get(Loan, loan_id)


@pytest.fixture
def manager_headers(staff, api_headers):
    return api_headers(staff.manager)


@pytest.fixture
def customer(new_customer):
    return new_customer(kyc=KycLevel.TIER_2)


@pytest.fixture
def created(client, customer, manager_headers):
    """A pending loan made through POST /api/loans/ by the manager."""
    response = client.post("/api/loans/", json=documented_loan(customer.id), headers=manager_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def approve(loan_id, staff):
    loans.approve(db.session.get(Loan, loan_id), actor=staff.admin)
    db.session.commit()


# --- POST /api/loans/ -------------------------------------------------------------------------------------


def test_create_with_the_documented_body(client, customer, manager_headers):
    response = client.post("/api/loans/", json=documented_loan(customer.id), headers=manager_headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= LOAN_FIELDS
    assert {k: body[k] for k in LOAN_FIELDS - {"id"}} == documented_loan(customer.id)
    row = loan_row(body["id"])
    assert row.principal == D("50000.00")
    assert row.annual_rate == D("10.5")
    assert row.term_periods == 12
    assert row.status == LoanStatus.PENDING


def test_create_with_numbers_instead_of_strings(client, customer, manager_headers):
    payload = {**documented_loan(customer.id), "principal_amount": 50000, "interest_rate": 10.5}

    response = client.post("/api/loans/", json=payload, headers=manager_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["principal_amount"] == "50000.00"
    assert response.get_json()["interest_rate"] == "10.50"


def test_create_generates_an_account_number_when_none_is_given(client, customer, manager_headers):
    payload = {k: v for k, v in documented_loan(customer.id).items() if k != "loan_account_number"}

    response = client.post("/api/loans/", json=payload, headers=manager_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["loan_account_number"]


def test_account_number_is_unique(client, customer, created, manager_headers):
    response = client.post("/api/loans/", json=documented_loan(customer.id), headers=manager_headers)

    assert_invalid(response, "003", "loan_account_number")


@pytest.mark.parametrize("missing", ["principal_amount", "interest_rate", "tenure_months", "customer"])
def test_create_without_a_required_field_is_400(client, customer, manager_headers, missing):
    payload = {k: v for k, v in documented_loan(customer.id).items() if k != missing}

    response = client.post("/api/loans/", json=payload, headers=manager_headers)

    assert_invalid(response, "003", missing)


@pytest.mark.parametrize(("change", "field"), [
    ({"principal_amount": "50000.005"}, "principal_amount"),
    ({"principal_amount": "-1"}, "principal_amount"),
    ({"interest_rate": "ten"}, "interest_rate"),
    ({"tenure_months": 0}, "tenure_months"),
    ({"loan_date": "09/03/2025"}, "loan_date"),
])
def test_invalid_create_is_400(client, customer, manager_headers, change, field):
    response = client.post("/api/loans/", json={**documented_loan(customer.id), **change}, headers=manager_headers)

    assert_invalid(response, "003", field)
    assert db.session.query(Loan).filter_by(customer_id=customer.id).count() == 0


def test_kyc_level_caps_the_principal(client, new_customer, manager_headers):
    tier_1 = new_customer(kyc=KycLevel.TIER_1)

    over = client.post("/api/loans/", json={**documented_loan(tier_1.id), "principal_amount": "50000.01"},
                       headers=manager_headers)
    at = client.post("/api/loans/", json=documented_loan(tier_1.id), headers=manager_headers)

    body = assert_invalid(over, "003", "principal_amount")
    assert "KYC" in body["errors"]["principal_amount"][0]
    assert at.status_code == 201, at.get_json()


def test_create_for_an_unknown_customer_is_404(client, manager_headers):
    assert_error(client.post("/api/loans/", json=documented_loan(999999), headers=manager_headers), "003", 404)


def test_create_needs_a_token_and_a_lending_role(client, staff, customer, api_headers):
    assert_error(client.post("/api/loans/", json=documented_loan(customer.id)), "003", 401)
    for user in (staff.collector, staff.calling_agent):
        response = client.post("/api/loans/", json=documented_loan(customer.id), headers=api_headers(user))
        assert_error(response, "003", 403)


# --- GET /api/loans/ --------------------------------------------------------------------------------------


def test_list_is_a_bare_array_of_loans(client, created, manager_headers):
    response = client.get("/api/loans/", headers=manager_headers)

    assert response.status_code == 200
    rows = response.get_json()
    assert isinstance(rows, list)
    assert [r["id"] for r in rows] == [created["id"]]
    assert rows[0]["principal_amount"] == "50000.00"
    assert rows[0]["interest_rate"] == "10.50"


def test_list_needs_a_token(client):
    assert_error(client.get("/api/loans/"), "003", 401)


# --- GET/PUT/PATCH/DELETE /api/loans/{id}/ ----------------------------------------------------------------


def test_retrieve_a_loan(client, created, manager_headers):
    response = client.get(f"/api/loans/{created['id']}/", headers=manager_headers)

    assert response.status_code == 200
    assert response.get_json() == created


def test_retrieve_an_unknown_loan_is_404(client, manager_headers):
    assert_error(client.get("/api/loans/999999/", headers=manager_headers), "003", 404)


def test_patch_a_pending_loan(client, created, manager_headers):
    response = client.patch(f"/api/loans/{created['id']}/", json={"principal_amount": "75000.00",
                                                                  "tenure_months": 24}, headers=manager_headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["principal_amount"] == "75000.00"
    assert body["tenure_months"] == 24
    assert body["interest_rate"] == "10.50"  # untouched
    row = loan_row(created["id"])
    assert (row.principal, row.term_periods) == (D("75000.00"), 24)


def test_patch_beyond_the_kyc_ceiling_is_400(client, created, manager_headers):
    response = client.patch(f"/api/loans/{created['id']}/", json={"principal_amount": "500000.01"},
                            headers=manager_headers)

    assert_invalid(response, "003", "principal_amount")
    assert loan_row(created["id"]).principal == D("50000.00")


def test_patch_with_three_decimals_is_400(client, created, manager_headers):
    response = client.patch(f"/api/loans/{created['id']}/", json={"principal_amount": "75000.001"},
                            headers=manager_headers)

    assert_invalid(response, "003", "principal_amount")


def test_patch_after_approval_is_409_with_a_clear_message(client, staff, created, manager_headers):
    approve(created["id"], staff)

    response = client.patch(f"/api/loans/{created['id']}/", json={"principal_amount": "75000.00"},
                            headers=manager_headers)

    body = assert_error(response, "003", 409)
    assert "approved" in body["error"], body
    assert loan_row(created["id"]).principal == D("50000.00")


@pytest.mark.parametrize("change", [{"loan_type": "home"}, {"loan_date": "2020-01-01"}])
def test_any_edit_of_a_decided_loan_is_409(client, staff, created, manager_headers, change):
    """Editing a decided loan is a conflict: the decision was taken on the application as it stood."""
    approve(created["id"], staff)

    response = client.patch(f"/api/loans/{created['id']}/", json=change, headers=manager_headers)

    assert_error(response, "003", 409)
    after = client.get(f"/api/loans/{created['id']}/", headers=manager_headers).get_json()
    assert (after["loan_type"], after["loan_date"]) == ("personal", "2025-03-09")


def test_changing_the_customer_is_not_silently_ignored(client, created, new_customer, manager_headers):
    other = new_customer()

    response = client.patch(f"/api/loans/{created['id']}/", json={"customer": other.id}, headers=manager_headers)

    # Either refused, or done: a 200 that leaves the loan on the old customer tells the client a lie.
    if response.status_code == 200:
        assert response.get_json()["customer"] == other.id
        assert loan_row(created["id"]).customer_id == other.id
    else:
        assert response.status_code in (400, 409), response.get_json()
        assert loan_row(created["id"]).customer_id == created["customer"]


def test_an_interest_rate_is_never_silently_rounded(client, customer, manager_headers):
    response = client.post("/api/loans/", json={**documented_loan(customer.id), "interest_rate": "10.555"},
                           headers=manager_headers)

    # Refused (it is not in the documented "10.50" form), or kept exactly: never turned into 10.56.
    if response.status_code == 201:
        assert loan_row(response.get_json()["id"]).annual_rate == D("10.555")
    else:
        assert_invalid(response, "003", "interest_rate")


def test_editing_terms_makes_you_the_maker(client, staff, customer, make_loan, manager_headers):
    """Maker-checker: whoever set the terms may not approve them. A manager who raises a loan
    officer's application from 10,000 to 400,000 must not then approve it themselves."""
    loan = make_loan(customer, "10000", state="pending")

    edited = client.patch(f"/api/loans/{loan.id}/", json={"principal_amount": "400000.00"}, headers=manager_headers)
    approved = client.patch(f"/loans/{loan.id}/approve", headers=manager_headers)

    assert edited.status_code == 200, edited.get_json()
    assert_error(approved, "001", 403)
    assert loan_row(loan.id).status == LoanStatus.PENDING


def test_put_replaces_a_pending_loan(client, customer, created, manager_headers):
    replacement = {**documented_loan(customer.id), "principal_amount": "60000.00", "interest_rate": "11.00",
                   "tenure_months": 36, "loan_type": "business"}

    response = client.put(f"/api/loans/{created['id']}/", json=replacement, headers=manager_headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["principal_amount"], body["interest_rate"], body["tenure_months"], body["loan_type"]) == (
        "60000.00", "11.00", 36, "business")


def test_put_needs_the_whole_loan(client, created, manager_headers):
    response = client.put(f"/api/loans/{created['id']}/", json={"principal_amount": "60000.00"},
                          headers=manager_headers)

    assert_invalid(response, "003", "interest_rate", "tenure_months", "customer")


def test_put_after_approval_is_409(client, staff, customer, created, manager_headers):
    approve(created["id"], staff)

    response = client.put(f"/api/loans/{created['id']}/",
                          json={**documented_loan(customer.id), "principal_amount": "60000.00"},
                          headers=manager_headers)

    assert_error(response, "003", 409)
    assert loan_row(created["id"]).principal == D("50000.00")


def test_delete_a_pending_loan(client, created, manager_headers):
    response = client.delete(f"/api/loans/{created['id']}/", headers=manager_headers)

    assert response.status_code == 200, response.get_json()
    assert_error(client.get(f"/api/loans/{created['id']}/", headers=manager_headers), "003", 404)


def test_delete_of_a_disbursed_loan_is_409(client, staff, new_customer, make_loan, manager_headers):
    loan = make_loan(new_customer(), "12000", state="disbursed")

    response = client.delete(f"/api/loans/{loan.id}/", headers=manager_headers)

    assert_error(response, "003", 409)
    assert loan_row(loan.id).status == LoanStatus.DISBURSED


def test_delete_of_an_approved_loan_is_409(client, staff, created, manager_headers):
    approve(created["id"], staff)

    assert_error(client.delete(f"/api/loans/{created['id']}/", headers=manager_headers), "003", 409)


def test_collection_officer_cannot_change_or_delete_loans(client, staff, created, api_headers):
    headers = api_headers(staff.collector)  # the customer is assigned to them: they may look, not edit

    assert client.get(f"/api/loans/{created['id']}/", headers=headers).status_code == 200
    assert_error(client.patch(f"/api/loans/{created['id']}/", json={"tenure_months": 6}, headers=headers),
                 "003", 403)
    assert_error(client.delete(f"/api/loans/{created['id']}/", headers=headers), "003", 403)
    assert loan_row(created["id"]).term_periods == 12


# --- GET /api/loans/customer/{customer_id}/ ---------------------------------------------------------------


def test_loans_of_one_customer(client, customer, new_customer, make_loan, manager_headers):
    first = make_loan(customer, "12000", state="disbursed")
    second = make_loan(customer, "5000", state="pending")
    make_loan(new_customer(), "7000", state="pending")

    response = client.get(f"/api/loans/customer/{customer.id}/", headers=manager_headers)

    assert response.status_code == 200
    rows = response.get_json()
    assert isinstance(rows, list)
    assert {r["id"] for r in rows} == {first.id, second.id}
    assert all(r["customer"] == customer.id for r in rows)
    assert {r["principal_amount"] for r in rows} == {"12000.00", "5000.00"}


def test_loans_of_an_unknown_customer_is_404(client, manager_headers):
    assert_error(client.get("/api/loans/customer/999999/", headers=manager_headers), "003", 404)


# --- co-borrowers -----------------------------------------------------------------------------------------


def test_up_to_two_co_borrowers(client, customer, new_customer, manager_headers):
    co = [new_customer().id, new_customer().id]

    response = client.post("/api/loans/", json={**documented_loan(customer.id), "co_borrowers": co},
                           headers=manager_headers)

    assert response.status_code == 201, response.get_json()
    assert sorted(response.get_json()["co_borrowers"]) == sorted(co)
    assert sorted(c.id for c in loan_row(response.get_json()["id"]).co_borrowers) == sorted(co)


def test_a_third_co_borrower_is_400(client, customer, new_customer, manager_headers):
    co = [new_customer().id, new_customer().id, new_customer().id]

    response = client.post("/api/loans/", json={**documented_loan(customer.id), "co_borrowers": co},
                           headers=manager_headers)

    assert_invalid(response, "003", "co_borrowers")
    assert db.session.query(Loan).filter_by(customer_id=customer.id).count() == 0


def test_patching_in_a_third_co_borrower_is_400(client, created, new_customer, manager_headers):
    co = [new_customer().id, new_customer().id]
    assert client.patch(f"/api/loans/{created['id']}/", json={"co_borrowers": co},
                        headers=manager_headers).status_code == 200

    response = client.patch(f"/api/loans/{created['id']}/", json={"co_borrowers": [*co, new_customer().id]},
                            headers=manager_headers)

    assert_invalid(response, "003", "co_borrowers")
    assert sorted(c.id for c in loan_row(created["id"]).co_borrowers) == sorted(co)


@pytest.mark.parametrize("co", ["self", "unknown", "not-a-list"])
def test_invalid_co_borrowers_are_400(client, customer, manager_headers, co):
    value = {"self": [customer.id], "unknown": [999999], "not-a-list": "12"}[co]

    response = client.post("/api/loans/", json={**documented_loan(customer.id), "co_borrowers": value},
                           headers=manager_headers)

    assert_invalid(response, "003", "co_borrowers")


def test_co_borrower_the_manager_cannot_see_is_refused(client, customer, outside_customer, manager_headers):
    response = client.post("/api/loans/", json={**documented_loan(customer.id), "co_borrowers": [outside_customer.id]},
                           headers=manager_headers)

    assert_invalid(response, "003", "co_borrowers")


# --- per-object permission --------------------------------------------------------------------------------


@pytest.fixture
def two_loans(staff, new_customer, make_loan):
    """A loan of a customer assigned to the collector, and one of a customer assigned to someone else."""
    mine = make_loan(new_customer(assigned_officer_id=staff.collector.id), "12000", state="disbursed")
    theirs = make_loan(new_customer(assigned_officer_id=staff.other_collector.id), "12000", state="disbursed")
    return mine, theirs


def test_collection_officer_sees_only_loans_of_their_customers(client, staff, two_loans, api_headers):
    mine, theirs = two_loans
    headers = api_headers(staff.collector)

    listed = client.get("/api/loans/", headers=headers)
    own = client.get(f"/api/loans/{mine.id}/", headers=headers)
    other = client.get(f"/api/loans/{theirs.id}/", headers=headers)

    assert [r["id"] for r in listed.get_json()] == [mine.id]
    assert own.status_code == 200
    assert own.get_json()["principal_amount"] == "12000.00"
    assert_error(other, "003", 403)


def test_collection_officer_cannot_list_another_officers_customer_loans(client, staff, two_loans, api_headers):
    mine, theirs = two_loans
    headers = api_headers(staff.collector)

    assert client.get(f"/api/loans/customer/{mine.customer_id}/", headers=headers).status_code == 200
    assert_error(client.get(f"/api/loans/customer/{theirs.customer_id}/", headers=headers), "003", 403)


def test_manager_cannot_see_the_other_teams_loans(client, staff, outside_customer, make_loan, api_headers):
    loan = make_loan(outside_customer, "12000", state="pending")

    assert_error(client.get(f"/api/loans/{loan.id}/", headers=api_headers(staff.manager)), "003", 403)
    assert_error(client.patch(f"/api/loans/{loan.id}/", json={"tenure_months": 6},
                              headers=api_headers(staff.manager)), "003", 403)
    assert_error(client.delete(f"/api/loans/{loan.id}/", headers=api_headers(staff.manager)), "003", 403)
    assert loan_row(loan.id) is not None
    assert loan.id not in {r["id"] for r in client.get("/api/loans/", headers=api_headers(staff.manager)).get_json()}


def test_calling_agent_sees_every_loan(client, staff, two_loans, api_headers):
    rows = client.get("/api/loans/", headers=api_headers(staff.calling_agent)).get_json()

    assert {r["id"] for r in rows} == {loan.id for loan in two_loans}
