"""001 SokoCredit /loans: status check, application, listing by role, approve (maker-checker,
approval limits), reject (with a reason), disburse (exactly once, on either documented path)."""

from decimal import Decimal

import pytest

from portal.models import DisbursementChannel, KycLevel, Loan, LoanStatus, Role
from portal.models.base import db
from tests.api.conftest import assert_error, assert_invalid
from tests.api.money.conftest import owed, savings_balance

D = Decimal
LOAN_FIELDS = {"id", "loan_number", "customer_id", "product_id", "amount", "interest_rate", "term", "frequency",
               "status", "outstanding_balance"}


def reload(loan) -> Loan:
    db.session.expire_all()
    return db.session.get(Loan, loan.id)


# --- GET /loans/ ------------------------------------------------------------------------------------------


def test_status_check_needs_no_token(client):
    response = client.get("/loans/")

    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


# --- POST /loans ------------------------------------------------------------------------------------------


def test_mama_mboga_applies_for_herself(client, borrower, product, api_headers):
    response = client.post("/loans", json={"product_id": product.id, "amount": 20000, "purpose": "stock"},
                           headers=api_headers(borrower.user, "mama_mboga"))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= LOAN_FIELDS
    assert body["customer_id"] == borrower.customer.id
    assert body["amount"] == "20000.00"
    assert body["status"] == "pending"
    assert body["term"] == 12
    assert body["outstanding_balance"] == "0.00"
    loan = db.session.get(Loan, body["id"])
    assert loan.principal == D("20000.00")
    assert loan.created_by_id == borrower.user.id


def test_mama_mboga_cannot_apply_for_someone_else(client, borrower, new_customer, product, api_headers):
    other = new_customer()

    response = client.post("/loans", json={"product_id": product.id, "amount": 5000, "customer_id": other.id},
                           headers=api_headers(borrower.user, "mama_mboga"))

    # Refused, or taken as her own application: never a loan on the other customer's record.
    assert response.status_code in (201, 403), response.get_json()
    if response.status_code == 201:
        assert response.get_json()["customer_id"] == borrower.customer.id
    assert db.session.query(Loan).filter_by(customer_id=other.id).count() == 0


@pytest.mark.parametrize(("level", "ceiling"), [(KycLevel.TIER_0, "10000"), (KycLevel.TIER_1, "50000"),
                                                (KycLevel.TIER_2, "500000")])
def test_kyc_level_caps_the_principal(client, borrower, product, api_headers, level, ceiling):
    borrower.customer.kyc_level = level
    db.session.commit()
    headers = api_headers(borrower.user, "mama_mboga")

    above = client.post("/loans", json={"product_id": product.id, "amount": str(D(ceiling) + D("0.01"))},
                        headers=headers)
    at = client.post("/loans", json={"product_id": product.id, "amount": ceiling}, headers=headers)

    body = assert_invalid(above, "001", "amount")
    assert "KYC" in body["errors"]["amount"][0]
    assert at.status_code == 201, at.get_json()
    assert at.get_json()["amount"] == f"{D(ceiling):.2f}"


def test_staff_apply_for_a_customer_with_customer_id(client, staff, new_customer, product, api_headers):
    customer = new_customer()

    response = client.post("/loans", json={"product_id": product.id, "amount": "15000.50",
                                           "customer_id": customer.id}, headers=api_headers(staff.loan_officer))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["customer_id"] == customer.id
    assert response.get_json()["amount"] == "15000.50"


def test_staff_must_give_customer_id(client, staff, product, api_headers):
    response = client.post("/loans", json={"product_id": product.id, "amount": 5000},
                           headers=api_headers(staff.loan_officer))

    assert_invalid(response, "001", "customer_id")


PRODUCT = object()  # replaced by the product's id


@pytest.mark.parametrize(("payload", "field"), [
    ({"amount": 5000}, "product_id"),
    ({"product_id": None, "amount": 5000}, "product_id"),
    ({"product_id": 999999, "amount": 5000}, "product_id"),
    ({"product_id": PRODUCT, "amount": "5000.001"}, "amount"),
    ({"product_id": PRODUCT, "amount": 0}, "amount"),
    ({"product_id": PRODUCT}, "amount"),
    ({"product_id": PRODUCT, "amount": 999}, "amount"),  # below the product's minimum of 1,000
    ({"product_id": PRODUCT, "amount": 5000, "term": 0}, "term"),
    ({"product_id": PRODUCT, "amount": 5000, "term": -3}, "term"),
    ({"product_id": PRODUCT, "amount": 5000, "co_borrowers": [1, 2, 3]}, "co_borrowers"),
])
def test_invalid_application_is_400(client, borrower, product, api_headers, payload, field):
    payload = {k: product.id if v is PRODUCT else v for k, v in payload.items()}

    response = client.post("/loans", json=payload, headers=api_headers(borrower.user, "mama_mboga"))

    assert_invalid(response, "001", field)
    assert db.session.query(Loan).filter_by(customer_id=borrower.customer.id).count() == 0


def test_inactive_product_is_refused(client, borrower, make_product, api_headers):
    archived = make_product(active=False)

    response = client.post("/loans", json={"product_id": archived.id, "amount": 5000},
                           headers=api_headers(borrower.user, "mama_mboga"))

    assert_invalid(response, "001", "product_id")


def test_application_needs_a_token_and_a_lending_role(client, staff, new_customer, product, api_headers):
    customer = new_customer()
    payload = {"product_id": product.id, "amount": 5000, "customer_id": customer.id}

    assert_error(client.post("/loans", json=payload), "001", 401)
    assert_error(client.post("/loans", json=payload, headers=api_headers(staff.collector)), "001", 403)
    assert_error(client.post("/loans", json=payload, headers=api_headers(staff.calling_agent)), "001", 403)


# --- GET /loans -------------------------------------------------------------------------------------------


@pytest.fixture
def portfolio(staff, new_customer, outside_customer, borrower, make_loan):
    """Three loans: a team customer's, the other team's customer's, and the mama_mboga's."""
    team = make_loan(new_customer(), "12000", state="pending")
    outside = make_loan(outside_customer, "12000", state="pending")
    hers = make_loan(borrower.customer, "5000", state="disbursed")
    return {"team": team, "outside": outside, "hers": hers}


@pytest.mark.parametrize(("who", "sees"), [
    ("admin", {"team", "outside", "hers"}),
    ("loan_officer", {"team", "outside", "hers"}),
    ("calling_agent", {"team", "outside", "hers"}),
    ("manager", {"team", "hers"}),
    ("collector", {"team", "hers"}),
    ("other_collector", set()),
    ("outside_manager", {"outside"}),
    ("borrower", {"hers"}),
])
def test_loans_listed_by_role(client, staff, borrower, portfolio, api_headers, who, sees):
    user = borrower.user if who == "borrower" else getattr(staff, who)

    response = client.get("/loans", headers=api_headers(user))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"loans", "total", "page", "pages"}
    assert {row["id"] for row in body["loans"]} == {portfolio[name].id for name in sees}
    assert body["total"] == len(sees)
    assert body["page"] == 1


def test_loans_listing_pages_and_filters(client, staff, portfolio, api_headers):
    headers = api_headers(staff.admin)

    first = client.get("/loans?per_page=2", headers=headers).get_json()
    second = client.get("/loans?per_page=2&page=2", headers=headers).get_json()
    pending = client.get("/loans?status=pending", headers=headers).get_json()

    assert (first["total"], first["pages"], first["page"], len(first["loans"])) == (3, 2, 1, 2)
    assert (second["page"], len(second["loans"])) == (2, 1)
    assert {r["id"] for r in first["loans"] + second["loans"]} == {loan.id for loan in portfolio.values()}
    assert {r["id"] for r in pending["loans"]} == {portfolio["team"].id, portfolio["outside"].id}
    hers = next(r for r in first["loans"] + second["loans"] if r["id"] == portfolio["hers"].id)
    assert hers["amount"] == "5000.00"
    assert hers["outstanding_balance"] == "5000.00"


@pytest.mark.parametrize("query", ["per_page=0", "page=0", "per_page=101", "status=overdue-ish"])
def test_loans_listing_refuses_bad_paging(client, staff, api_headers, query):
    response = client.get(f"/loans?{query}", headers=api_headers(staff.admin))

    assert_invalid(response, "001", query.split("=")[0])


def test_loans_listing_needs_a_token(client):
    assert_error(client.get("/loans"), "001", 401)


# --- PATCH /loans/{id}/approve ----------------------------------------------------------------------------


def test_manager_approves_a_loan_officers_application(client, staff, new_customer, make_loan, api_headers):
    loan = make_loan(new_customer(), "12000", state="pending")

    response = client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.manager))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"
    assert reload(loan).status == LoanStatus.APPROVED
    assert reload(loan).decided_by_id == staff.manager.id


def test_borrowers_own_application_is_approved_by_the_manager(client, staff, borrower, product, api_headers):
    applied = client.post("/loans", json={"product_id": product.id, "amount": 20000},
                          headers=api_headers(borrower.user, "mama_mboga")).get_json()

    response = client.patch(f"/loans/{applied['id']}/approve", headers=api_headers(staff.manager))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"


def test_maker_cannot_check_their_own_application(client, staff, new_customer, product, api_headers):
    customer = new_customer()
    headers = api_headers(staff.manager)
    applied = client.post("/loans", json={"product_id": product.id, "amount": 12000, "customer_id": customer.id},
                          headers=headers)
    assert applied.status_code == 201, applied.get_json()
    loan_id = applied.get_json()["id"]

    own = client.patch(f"/loans/{loan_id}/approve", headers=headers)
    other = client.patch(f"/loans/{loan_id}/approve", headers=api_headers(staff.admin))

    body = assert_error(own, "001", 403)
    assert "maker-checker" in body["message"] or "another" in body["message"], body
    assert other.status_code == 200, other.get_json()


def test_admin_cannot_check_their_own_application_either(client, staff, new_customer, make_loan, api_headers,
                                                         make_user):
    loan = make_loan(new_customer(), "12000", state="pending", creator=staff.admin)

    body = assert_error(client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.admin)), "001", 403)
    assert "maker-checker" in body["message"] or "another" in body["message"], body
    second_admin = make_user(Role.ADMIN)
    assert client.patch(f"/loans/{loan.id}/approve", headers=api_headers(second_admin)).status_code == 200


def test_loan_officer_cannot_approve(client, staff, new_customer, make_loan, api_headers):
    loan = make_loan(new_customer(), "12000", state="pending", creator=staff.manager)

    assert_error(client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.loan_officer)), "001", 403)
    assert reload(loan).status == LoanStatus.PENDING


@pytest.mark.parametrize("who", ["collector", "calling_agent", "borrower"])
def test_other_roles_cannot_approve(client, staff, borrower, make_loan, api_headers, who):
    loan = make_loan(borrower.customer, "12000", state="pending")
    user = borrower.user if who == "borrower" else getattr(staff, who)

    assert_error(client.patch(f"/loans/{loan.id}/approve", headers=api_headers(user)), "001", 403)
    assert reload(loan).status == LoanStatus.PENDING


def test_manager_approval_limit(client, staff, new_customer, make_loan, api_headers):
    customer = new_customer(kyc=KycLevel.TIER_3)
    at_limit = make_loan(customer, "500000", state="pending")
    above = make_loan(customer, "500000.01", state="pending")

    ok = client.patch(f"/loans/{at_limit.id}/approve", headers=api_headers(staff.manager))
    refused = client.patch(f"/loans/{above.id}/approve", headers=api_headers(staff.manager))
    admin = client.patch(f"/loans/{above.id}/approve", headers=api_headers(staff.admin))

    assert ok.status_code == 200, ok.get_json()
    body = assert_error(refused, "001", 403)
    assert "limit" in body["message"], body
    assert admin.status_code == 200, admin.get_json()


def test_manager_cannot_approve_for_a_customer_they_cannot_see(client, staff, outside_customer, make_loan,
                                                               api_headers):
    loan = make_loan(outside_customer, "12000", state="pending")

    assert_error(client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.manager)), "001", 403)
    assert reload(loan).status == LoanStatus.PENDING
    ok = client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.outside_manager))
    assert ok.status_code == 200, ok.get_json()


def test_manager_sees_a_customer_assigned_to_their_team(client, staff, new_customer, make_loan, api_headers):
    """Created outside the team, but assigned to one of its collectors: the manager may approve."""
    customer = new_customer(created_by_id=staff.outside_manager.id, assigned_officer_id=staff.other_collector.id)
    loan = make_loan(customer, "12000", state="pending")

    assert client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.manager)).status_code == 200


def test_second_approval_is_409(client, staff, new_customer, make_loan, api_headers):
    loan = make_loan(new_customer(), "12000", state="pending")

    client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.manager))
    again = client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.admin))

    assert_error(again, "001", 409)
    assert reload(loan).decided_by_id == staff.manager.id


@pytest.mark.parametrize("state", ["rejected", "disbursed"])
def test_decided_loans_cannot_be_approved(client, staff, new_customer, make_loan, api_headers, state):
    loan = make_loan(new_customer(), "12000", state=state)

    assert_error(client.patch(f"/loans/{loan.id}/approve", headers=api_headers(staff.admin)), "001", 409)


def test_approving_an_unknown_loan_is_404_and_needs_a_token(client, staff, api_headers):
    assert_error(client.patch("/loans/999999/approve", headers=api_headers(staff.admin)), "001", 404)
    assert_error(client.patch("/loans/999999/approve"), "001", 401)


# --- PATCH /loans/{id}/reject -----------------------------------------------------------------------------


def test_reject_records_the_reason(client, staff, borrower, make_loan, api_headers):
    loan = make_loan(borrower.customer, "12000", state="pending")

    response = client.patch(f"/loans/{loan.id}/reject", json={"reason": "Stall closed for renovation."},
                            headers=api_headers(staff.manager))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "rejected"
    assert body["rejection_reason"] == "Stall closed for renovation."
    assert reload(loan).status == LoanStatus.REJECTED


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "  "}, {"reason": None}])
def test_reject_needs_a_reason(client, staff, new_customer, make_loan, api_headers, payload):
    loan = make_loan(new_customer(), "12000", state="pending")

    response = client.patch(f"/loans/{loan.id}/reject", json=payload, headers=api_headers(staff.manager))

    assert_invalid(response, "001", "reason")
    assert reload(loan).status == LoanStatus.PENDING


def test_reject_of_a_decided_loan_is_409(client, staff, new_customer, make_loan, api_headers):
    loan = make_loan(new_customer(), "12000", state="approved")

    response = client.patch(f"/loans/{loan.id}/reject", json={"reason": "Changed our mind."},
                            headers=api_headers(staff.admin))

    assert_error(response, "001", 409)
    assert reload(loan).status == LoanStatus.APPROVED


@pytest.mark.parametrize("who", ["loan_officer", "collector"])
def test_reject_is_for_deciders_only(client, staff, new_customer, make_loan, api_headers, who):
    loan = make_loan(new_customer(), "12000", state="pending", creator=staff.manager)

    response = client.patch(f"/loans/{loan.id}/reject", json={"reason": "Not enough history."},
                            headers=api_headers(getattr(staff, who)))

    assert_error(response, "001", 403)


# --- PATCH /loans/{id}/disburse and /loans/loans/{id}/disburse --------------------------------------------


@pytest.mark.parametrize("path", ["/loans/{id}/disburse", "/loans/loans/{id}/disburse"])
def test_disburse_to_mpesa(client, staff, new_customer, make_loan, api_headers, path):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved")

    response = client.patch(path.format(id=loan.id), json={"channel": "mpesa"},
                            headers=api_headers(staff.loan_officer))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "disbursed"
    assert body["disbursement_channel"] == "mpesa"
    assert body["outstanding_balance"] == "12000.00"
    assert owed(loan) == D("12000.00")
    assert savings_balance(customer) == D("0.00")


def test_an_mpesa_payout_with_cents_is_a_400_and_the_loan_stays_approved(client, staff, new_customer, make_loan,
                                                                         api_headers):
    loan = make_loan(new_customer(), "12000.50", state="approved")

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "mpesa"},
                            headers=api_headers(staff.loan_officer))

    assert response.status_code == 400, response.get_json()
    assert response.get_json() == {"message": "Invalid input data", "errors": {
        "channel": ["M-Pesa sends whole shillings and 12,000.50 has cents; pay into savings."]}}
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED


def test_disburse_to_savings_credits_the_customer(client, staff, new_customer, make_loan, api_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved")

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "savings"},
                            headers=api_headers(staff.manager))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["disbursement_channel"] == "savings"
    assert savings_balance(customer) == D("12000.00")


def test_disbursed_balance_includes_the_interest(client, staff, new_customer, make_loan, one_month_product,
                                                 api_headers):
    loan = make_loan(new_customer(), "10000", state="approved", product=one_month_product)

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "mpesa"},
                            headers=api_headers(staff.loan_officer))

    assert response.get_json()["outstanding_balance"] == "10100.00"
    assert owed(loan) == D("10100.00")


def test_disburse_defaults_to_mpesa(client, staff, new_customer, make_loan, api_headers):
    loan = make_loan(new_customer(), "12000", state="approved")

    response = client.patch(f"/loans/{loan.id}/disburse", json={}, headers=api_headers(staff.loan_officer))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["disbursement_channel"] == "mpesa"


@pytest.mark.parametrize(("first", "second"), [
    ("/loans/{id}/disburse", "/loans/{id}/disburse"),
    ("/loans/{id}/disburse", "/loans/loans/{id}/disburse"),
    ("/loans/loans/{id}/disburse", "/loans/{id}/disburse"),
])
def test_second_disbursement_is_409_and_pays_nothing(client, staff, new_customer, make_loan, api_headers,
                                                     first, second):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved")
    headers = api_headers(staff.loan_officer)

    one = client.patch(first.format(id=loan.id), json={"channel": "savings"}, headers=headers)
    two = client.patch(second.format(id=loan.id), json={"channel": "savings"}, headers=headers)

    assert one.status_code == 200, one.get_json()
    body = assert_error(two, "001", 409)
    assert "already" in body["message"]
    assert savings_balance(customer) == D("12000.00")
    assert owed(loan) == D("12000.00")


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_only_approved_loans_are_disbursed(client, staff, new_customer, make_loan, api_headers, state):
    loan = make_loan(new_customer(), "12000", state=state)

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "mpesa"},
                            headers=api_headers(staff.loan_officer))

    assert_error(response, "001", 409)
    assert reload(loan).status == LoanStatus(state)


def test_disburse_to_an_unknown_channel_is_400(client, staff, new_customer, make_loan, api_headers):
    loan = make_loan(new_customer(), "12000", state="approved")

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "bank"},
                            headers=api_headers(staff.loan_officer))

    assert_invalid(response, "001", "channel")
    assert reload(loan).status == LoanStatus.APPROVED


@pytest.mark.parametrize("who", ["borrower", "collector", "calling_agent"])
def test_disburse_is_for_lending_staff(client, staff, borrower, make_loan, api_headers, who):
    loan = make_loan(borrower.customer, "12000", state="approved")
    user = borrower.user if who == "borrower" else getattr(staff, who)

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "mpesa"}, headers=api_headers(user))

    assert_error(response, "001", 403)
    assert reload(loan).status == LoanStatus.APPROVED


def test_manager_cannot_disburse_for_a_customer_they_cannot_see(client, staff, outside_customer, make_loan,
                                                                api_headers):
    loan = make_loan(outside_customer, "12000", state="approved")

    response = client.patch(f"/loans/{loan.id}/disburse", json={"channel": "savings"},
                            headers=api_headers(staff.manager))

    assert_error(response, "001", 403)
    assert reload(loan).status == LoanStatus.APPROVED
    assert savings_balance(outside_customer) == D("0.00")


def test_disburse_needs_a_token(client, new_customer, make_loan):
    loan = make_loan(new_customer(), "12000", state="approved")

    assert_error(client.patch(f"/loans/{loan.id}/disburse", json={"channel": "mpesa"}), "001", 401)


def test_the_whole_flow_through_the_api(client, staff, borrower, product, api_headers):
    """Apply (mama_mboga), approve (manager), disburse (loan officer); the schedule and the balance follow."""
    mama = api_headers(borrower.user, "mama_mboga")
    applied = client.post("/loans", json={"product_id": product.id, "amount": "24000"}, headers=mama).get_json()

    approved = client.patch(f"/loans/{applied['id']}/approve", headers=api_headers(staff.manager))
    disbursed = client.patch(f"/loans/{applied['id']}/disburse", json={"channel": "mpesa"},
                             headers=api_headers(staff.loan_officer))
    mine = client.get("/loans", headers=mama).get_json()

    assert approved.status_code == 200 and disbursed.status_code == 200
    assert [(r["id"], r["status"], r["outstanding_balance"]) for r in mine["loans"]] == [
        (applied["id"], "disbursed", "24000.00")]
    assert db.session.get(Loan, applied["id"]).disbursement_channel == DisbursementChannel.MPESA

