"""000 Microfinance: /api/transactions/... (list, disburse, repayment, deposit, withdraw) and
GET /loans/{user_id}.

Money goes out as strings with two decimals; JSON numbers are read as Decimal, so 0.1 is 0.1.
The token may come as a bearer header or in the body as "token", "client_token" or "user_token".
"""

import re
from decimal import Decimal

import pytest

from api import tokens
from portal.models import KycLevel, LoanStatus, Role, Transaction
from portal.models.base import db
from tests import factories
from tests.api.conftest import assert_error, assert_invalid
from tests.api.money.conftest import owed, savings_balance

D = Decimal
TIME = re.compile(r"\d{2}:\d{2}:\d{2}")
DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")  # 000 prints "2/3/2024"


@pytest.fixture
def token_000(client):
    """A token from 000's own POST /auth/token, for the body of a request."""

    def token(user) -> str:
        response = client.post("/auth/token", json={"username": user.username, "password": factories.PASSWORD})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]
    return token


@pytest.fixture
def officer(staff):
    return staff.loan_officer


@pytest.fixture
def officer_headers(api_headers, officer):
    return api_headers(officer, "user")


def deposit(client, customer, amount, headers):
    return client.post(f"/api/transactions/deposit/{customer.id}", json={"source": "mpesa", "amount": amount},
                       headers=headers)


def raw_json(client, path, text, headers):
    """POST a JSON body exactly as written (so a number like 0.1 reaches the server as typed)."""
    return client.post(path, data=text, content_type="application/json", headers=headers)


# --- deposit ----------------------------------------------------------------------------------------------


def test_deposit_answers_the_documented_fields_with_the_exact_balance(client, new_customer, officer_headers):
    customer = new_customer()

    first = deposit(client, customer, 233, officer_headers)
    second = deposit(client, customer, "1000.50", officer_headers)

    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert {"id", "code", "time", "date", "balance"} <= set(body)
    assert body["balance"] == "233.00"
    assert body["amount"] == "233.00"
    assert body["type"] == "deposit"
    assert body["user_id"] == customer.id
    assert TIME.fullmatch(body["time"]) and DATE.fullmatch(body["date"]), body
    assert isinstance(body["code"], str) and body["code"]
    assert second.status_code == 201
    assert second.get_json()["balance"] == "1233.50"
    assert savings_balance(customer) == D("1233.50")


def test_float_looking_amounts_are_exact(client, new_customer, officer_headers):
    """0.1 + 0.2 is 0.30 here, not 0.30000000000000004; and 0.3 - 0.1 - 0.2 leaves exactly nothing."""
    customer = new_customer()
    path = f"/api/transactions/deposit/{customer.id}"

    assert raw_json(client, path, '{"amount": 0.1}', officer_headers).get_json()["balance"] == "0.10"
    response = raw_json(client, path, '{"amount": 0.2}', officer_headers)
    assert response.status_code == 201
    assert response.get_json()["balance"] == "0.30"
    assert response.get_json()["amount"] == "0.20"

    withdraw = f"/api/transactions/withdraw/{customer.id}"
    assert raw_json(client, withdraw, '{"amount": 0.1}', officer_headers).get_json()["balance"] == "0.20"
    last = raw_json(client, withdraw, '{"amount": 0.2}', officer_headers)
    assert last.status_code == 201, last.get_json()
    assert last.get_json()["balance"] == "0.00"
    assert savings_balance(customer) == D("0.00")


@pytest.mark.parametrize("amount", ["10.005", "0.001"])
def test_amount_with_three_decimals_is_refused_naming_amount(client, new_customer, officer_headers, amount):
    customer = new_customer()

    as_number = raw_json(client, f"/api/transactions/deposit/{customer.id}", f'{{"amount": {amount}}}',
                         officer_headers)
    as_string = deposit(client, customer, amount, officer_headers)

    assert_invalid(as_number, "000", "amount")
    assert_invalid(as_string, "000", "amount")
    assert savings_balance(customer) == D("0.00")


@pytest.mark.parametrize("amount", [0, -5, "abc", None, True, "NaN", "Infinity"])
def test_deposit_of_a_non_positive_or_non_numeric_amount_is_refused(client, new_customer, officer_headers, amount):
    customer = new_customer()

    assert_invalid(deposit(client, customer, amount, officer_headers), "000", "amount")
    assert db.session.query(Transaction).filter_by(customer_id=customer.id).count() == 0


@pytest.mark.parametrize("amount", ["1e20", "100000000000000000", 10**20])
def test_amount_too_large_for_the_books_is_400_not_a_crash(client, new_customer, officer_headers, amount):
    customer = new_customer()

    response = deposit(client, customer, amount, officer_headers)

    assert_invalid(response, "000", "amount")
    assert savings_balance(customer) == D("0.00")


def test_deposit_without_amount_is_refused(client, new_customer, officer_headers):
    customer = new_customer()

    response = client.post(f"/api/transactions/deposit/{customer.id}", json={"source": "mpesa"},
                           headers=officer_headers)

    assert_invalid(response, "000", "amount")


# --- withdraw ---------------------------------------------------------------------------------------------


def test_withdraw_lowers_the_balance_exactly(client, new_customer, officer_headers, fund):
    customer = new_customer()
    fund(customer, "1000")

    response = client.post(f"/api/transactions/withdraw/{customer.id}", json={"amount": "999.99"},
                           headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {"id", "code", "time", "date", "balance"} <= set(body)
    assert body["balance"] == "0.01"
    assert body["type"] == "withdrawal"
    assert body["amount"] == "999.99"
    assert savings_balance(customer) == D("0.01")


def test_withdraw_beyond_the_balance_is_refused_naming_amount(client, new_customer, officer_headers, fund):
    customer = new_customer()
    fund(customer, "500")

    response = client.post(f"/api/transactions/withdraw/{customer.id}", json={"amount": "500.01"},
                           headers=officer_headers)

    body = assert_invalid(response, "000", "amount")
    assert "500.00" in body["errors"]["amount"][0]  # says what is available
    assert savings_balance(customer) == D("500.00")
    assert db.session.query(Transaction).filter_by(customer_id=customer.id).count() == 1  # only the deposit


def test_withdraw_of_the_whole_balance_leaves_zero(client, new_customer, officer_headers, fund):
    customer = new_customer()
    fund(customer, "500")

    response = client.post(f"/api/transactions/withdraw/{customer.id}", json={"amount": 500},
                           headers=officer_headers)

    assert response.status_code == 201
    assert response.get_json()["balance"] == "0.00"


def test_withdraw_without_any_savings_is_refused(client, new_customer, officer_headers):
    customer = new_customer()

    response = client.post(f"/api/transactions/withdraw/{customer.id}", json={"amount": 1}, headers=officer_headers)

    body = assert_invalid(response, "000", "amount")
    assert "0.00" in body["errors"]["amount"][0]


def test_withdraw_with_three_decimals_is_refused(client, new_customer, officer_headers, fund):
    customer = new_customer()
    fund(customer, "500")

    response = raw_json(client, f"/api/transactions/withdraw/{customer.id}", '{"amount": 1.005}', officer_headers)

    assert_invalid(response, "000", "amount")
    assert savings_balance(customer) == D("500.00")


# --- tokens and roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["token", "client_token", "user_token"])
def test_token_in_the_body_is_accepted(client, new_customer, officer, token_000, key):
    customer = new_customer()

    response = client.post(f"/api/transactions/deposit/{customer.id}",
                           json={"source": "mpesa", "amount": 233, key: token_000(officer)})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "233.00"


def test_a_refresh_token_in_the_body_is_not_an_access_token(client, app, officer, new_customer):
    customer = new_customer()
    with app.test_request_context():
        _, refresh = tokens.issue_pair(officer, "user")

    response = client.post(f"/api/transactions/deposit/{customer.id}", json={"amount": 233, "token": refresh})

    assert_error(response, "000", 401)


def test_client_deposits_to_their_own_account_with_client_token(client, borrower, token_000):
    response = client.post(f"/api/transactions/deposit/{borrower.customer.id}",
                           json={"source": "mpesa", "amount": 233, "client_token": token_000(borrower.user)})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "233.00"


def test_client_may_not_touch_another_clients_account(client, borrower, new_customer, token_000):
    other = new_customer()

    response = client.post(f"/api/transactions/deposit/{other.id}",
                           json={"amount": 233, "client_token": token_000(borrower.user)})

    assert_error(response, "000", 403)
    assert savings_balance(other) == D("0.00")


@pytest.mark.parametrize("path", ["deposit", "withdraw", "loans/repayment", "disburse"])
def test_money_calls_without_a_token_are_401(client, new_customer, path):
    customer = new_customer()

    response = client.post(f"/api/transactions/{path}/{customer.id}", json={"amount": 233})

    assert_error(response, "000", 401)


def test_a_bad_token_in_the_body_is_401(client, new_customer):
    customer = new_customer()

    response = client.post(f"/api/transactions/deposit/{customer.id}", json={"amount": 233, "token": "q1w2e3r4t5t65"})

    assert_error(response, "000", 401)
    assert savings_balance(customer) == D("0.00")


@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.CALLING_AGENT])
def test_roles_that_take_no_deposits_get_403(client, staff, new_customer, api_headers, role):
    customer = new_customer()
    user = staff.collector if role == Role.COLLECTION_OFFICER else staff.calling_agent

    response = deposit(client, customer, 233, api_headers(user))

    assert_error(response, "000", 403)


def test_unknown_client_is_404(client, officer_headers):
    response = client.post("/api/transactions/deposit/999999", json={"amount": 233}, headers=officer_headers)

    assert_error(response, "000", 404)


# --- transaction listing ----------------------------------------------------------------------------------


def test_transactions_are_listed_newest_first(client, new_customer, officer_headers):
    customer = new_customer()
    deposit(client, customer, "1000", officer_headers)
    client.post(f"/api/transactions/withdraw/{customer.id}", json={"amount": "250.50"}, headers=officer_headers)

    response = client.get(f"/api/transactions/{customer.id}", headers=officer_headers)

    assert response.status_code == 200
    rows = response.get_json()
    assert [(r["type"], r["amount"], r["balance"]) for r in rows] == [
        ("withdrawal", "250.50", "749.50"), ("deposit", "1000.00", "1000.00")]
    for row in rows:
        assert {"id", "code", "user_id", "amount", "type", "time", "date"} <= set(row)
        assert row["user_id"] == customer.id


def test_transactions_listing_by_post_with_the_token_in_the_body(client, new_customer, officer, officer_headers,
                                                                 token_000):
    customer = new_customer()
    deposit(client, customer, "233", officer_headers)

    response = client.post(f"/api/transactions/{customer.id}", json={"token": token_000(officer)})

    assert response.status_code == 200, response.get_json()
    assert [(r["type"], r["amount"]) for r in response.get_json()] == [("deposit", "233.00")]


def test_transactions_listing_by_get_with_the_token_in_the_body(client, new_customer, officer, token_000):
    customer = new_customer()

    response = client.get(f"/api/transactions/{customer.id}", json={"token": token_000(officer)})

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []


def test_transactions_of_one_client_only(client, new_customer, officer_headers):
    mine, other = new_customer(), new_customer()
    deposit(client, mine, "100", officer_headers)
    deposit(client, other, "200", officer_headers)

    rows = client.get(f"/api/transactions/{mine.id}", headers=officer_headers).get_json()

    assert [r["amount"] for r in rows] == ["100.00"]


def test_transactions_listing_needs_a_token(client, new_customer):
    customer = new_customer()

    assert_error(client.get(f"/api/transactions/{customer.id}"), "000", 401)
    assert_error(client.post(f"/api/transactions/{customer.id}", json={}), "000", 401)


def test_client_cannot_list_another_clients_transactions(client, borrower, new_customer, token_000):
    other = new_customer()

    response = client.post(f"/api/transactions/{other.id}", json={"client_token": token_000(borrower.user)})

    assert_error(response, "000", 403)


# --- disbursement -----------------------------------------------------------------------------------------


def test_disburse_pays_out_the_approved_loan_to_mpesa(client, staff, new_customer, make_loan, officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved")

    response = client.post(f"/api/transactions/disburse/{customer.id}", json={"amount": 12000},
                           headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {"id", "by", "code", "user_id", "amount", "type", "time", "date"} <= set(body)
    assert body["type"] == "disbursement"
    assert body["amount"] == "12000.00"
    assert body["user_id"] == customer.id
    assert body["by"] == staff.loan_officer.id
    db.session.refresh(loan)
    assert loan.status == LoanStatus.DISBURSED
    assert owed(loan) == D("12000.00")
    assert savings_balance(customer) == D("0.00")  # it went to M-Pesa


def test_disburse_to_the_account_credits_savings(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    make_loan(customer, "12000", state="approved")

    response = client.post(f"/api/transactions/disburse/{customer.id}",
                           json={"amount": "12000.00", "destination": "account"}, headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "12000.00"
    assert savings_balance(customer) == D("12000.00")


def test_disbursement_amount_is_what_is_paid_out_after_a_deducted_fee(client, new_customer, make_loan,
                                                                     make_product, officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved", product=make_product(fee_type="fixed", fee_value="500"))

    response = client.post(f"/api/transactions/disburse/{customer.id}",
                           json={"amount": 12000, "destination": "account"}, headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == "11500.00"
    assert response.get_json()["balance"] == "11500.00"
    assert savings_balance(customer) == D("11500.00")
    assert owed(loan) == D("12000.00")  # the whole principal is owed


def test_disburse_with_the_user_token_in_the_body(client, officer, new_customer, make_loan, token_000):
    customer = new_customer()
    make_loan(customer, "5000", state="approved")

    response = client.post(f"/api/transactions/disburse/{customer.id}",
                           json={"amount": 5000, "user_token": token_000(officer)})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == "5000.00"


def test_disburse_of_a_different_amount_is_refused_naming_amount(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved")

    response = client.post(f"/api/transactions/disburse/{customer.id}", json={"amount": 233},
                           headers=officer_headers)

    body = assert_invalid(response, "000", "amount")
    assert "12,000.00" in body["errors"]["amount"][0]
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED


def test_disburse_without_an_approved_loan_is_409(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    make_loan(customer, "12000", state="pending")

    response = client.post(f"/api/transactions/disburse/{customer.id}", json={"amount": 12000},
                           headers=officer_headers)

    assert_error(response, "000", 409)


def test_second_disbursement_is_409_and_pays_nothing_more(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000", state="approved")
    path = f"/api/transactions/disburse/{customer.id}"

    first = client.post(path, json={"amount": 12000, "destination": "account"}, headers=officer_headers)
    second = client.post(path, json={"amount": 12000, "destination": "account"}, headers=officer_headers)

    assert first.status_code == 201
    assert_error(second, "000", 409)
    assert savings_balance(customer) == D("12000.00")
    assert owed(loan) == D("12000.00")


def test_client_may_not_disburse(client, borrower, make_loan, token_000):
    make_loan(borrower.customer, "12000", state="approved")

    response = client.post(f"/api/transactions/disburse/{borrower.customer.id}",
                           json={"amount": 12000, "user_token": token_000(borrower.user)})

    assert_error(response, "000", 403)


# --- loan repayment ---------------------------------------------------------------------------------------


def test_repayment_by_mpesa_returns_what_is_still_owed(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000")

    response = client.post(f"/api/transactions/loans/repayment/{customer.id}",
                           json={"source": "mpesa", "amount": "2500.50"}, headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {"id", "code", "amount", "time", "date", "balance"} <= set(body)
    assert body["amount"] == "2500.50"
    assert body["balance"] == "9499.50"
    assert owed(loan) == D("9499.50")


def test_repayment_balance_counts_the_interest(client, new_customer, make_loan, one_month_product,
                                               officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "10000", product=one_month_product)

    response = raw_json(client, f"/api/transactions/loans/repayment/{customer.id}",
                        '{"source": "mpesa", "amount": 100.1}', officer_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "9999.90"  # 10,100.00 owed - 100.10
    assert owed(loan) == D("9999.90")


def test_repayment_from_the_account_moves_savings_onto_the_loan(client, new_customer, make_loan, fund,
                                                                officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000")
    fund(customer, "3000")

    response = client.post(f"/api/transactions/loans/repayment/{customer.id}",
                           json={"source": "account", "amount": "2500.50"}, headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "9499.50"
    assert owed(loan) == D("9499.50")
    assert savings_balance(customer) == D("499.50")


def test_repayment_from_the_account_beyond_savings_is_refused(client, new_customer, make_loan, fund,
                                                              officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "12000")
    fund(customer, "100")

    response = client.post(f"/api/transactions/loans/repayment/{customer.id}",
                           json={"source": "account", "amount": "100.01"}, headers=officer_headers)

    assert_invalid(response, "000", "amount")
    assert owed(loan) == D("12000.00")
    assert savings_balance(customer) == D("100.00")


def test_overpayment_clears_the_loan_and_the_rest_goes_to_savings(client, new_customer, make_loan,
                                                                  one_month_product, officer_headers):
    customer = new_customer()
    loan = make_loan(customer, "10000", product=one_month_product)

    response = client.post(f"/api/transactions/loans/repayment/{customer.id}",
                           json={"source": "mpesa", "amount": "10200"}, headers=officer_headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "0.00"
    db.session.refresh(loan)
    assert loan.status == LoanStatus.CLOSED
    assert savings_balance(customer) == D("100.00")


def test_client_repays_with_client_token(client, borrower, make_loan, token_000):
    loan = make_loan(borrower.customer, "12000")

    response = client.post(f"/api/transactions/loans/repayment/{borrower.customer.id}",
                           json={"source": "mpesa", "amount": 233, "client_token": token_000(borrower.user)})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == "11767.00"
    assert owed(loan) == D("11767.00")


def test_repayment_without_an_active_loan_is_409(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    make_loan(customer, "12000", state="approved")

    response = client.post(f"/api/transactions/loans/repayment/{customer.id}", json={"amount": 233},
                           headers=officer_headers)

    assert_error(response, "000", 409)


@pytest.mark.parametrize("payload", [{"amount": "1.234"}, {"amount": 0}, {"amount": 233, "source": "bank"}, {}])
def test_invalid_repayment_is_400(client, new_customer, make_loan, officer_headers, payload):
    customer = new_customer()
    loan = make_loan(customer, "12000")

    response = client.post(f"/api/transactions/loans/repayment/{customer.id}", json=payload,
                           headers=officer_headers)

    assert_invalid(response, "000", *(["source"] if "source" in payload else ["amount"]))
    assert owed(loan) == D("12000.00")


# --- GET /loans/{user_id} ---------------------------------------------------------------------------------


def test_loan_details_show_the_newest_loan_and_all_of_them(client, new_customer, make_loan, officer_headers):
    customer = new_customer(kyc=KycLevel.TIER_2)
    older = make_loan(customer, "12000")
    newer = make_loan(customer, "5000", state="pending")

    response = client.get(f"/loans/{customer.id}", headers=officer_headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {"user_id", "loan_amount", "repayment_schedule", "outstanding_amount", "status", "loans"} <= set(body)
    assert body["user_id"] == customer.id
    assert body["loan_amount"] == "5000.00"
    assert body["status"] == "pending"
    assert body["outstanding_amount"] == "0.00"
    assert body["repayment_schedule"] == "monthly"
    by_number = {row["loan_number"]: row for row in body["loans"]}
    assert set(by_number) == {older.loan_number, newer.loan_number}
    assert by_number[older.loan_number]["status"] == "disbursed"
    assert by_number[older.loan_number]["loan_amount"] == "12000.00"
    assert by_number[older.loan_number]["outstanding_amount"] == "12000.00"


def test_loan_details_outstanding_follows_repayments(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    make_loan(customer, "12000")
    client.post(f"/api/transactions/loans/repayment/{customer.id}", json={"amount": "2500.50"},
                headers=officer_headers)

    body = client.get(f"/loans/{customer.id}", headers=officer_headers).get_json()

    assert body["status"] == "disbursed"
    assert body["outstanding_amount"] == "9499.50"


def test_loan_details_filtered_to_pending(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    make_loan(customer, "12000")
    pending = make_loan(customer, "3000", state="pending")

    response = client.get(f"/loans/{customer.id}?status=pending", headers=officer_headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "pending"
    assert [row["loan_number"] for row in body["loans"]] == [pending.loan_number]


def test_loan_details_with_the_client_token_in_the_body(client, borrower, make_loan, token_000):
    make_loan(borrower.customer, "12000")

    response = client.get(f"/loans/{borrower.customer.id}", json={"client_token": token_000(borrower.user)})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outstanding_amount"] == "12000.00"


def test_loan_details_404_when_the_client_has_none(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    assert_error(client.get(f"/loans/{customer.id}", headers=officer_headers), "000", 404)

    make_loan(customer, "12000")
    assert_error(client.get(f"/loans/{customer.id}?status=pending", headers=officer_headers), "000", 404)


def test_loan_details_refuse_an_unknown_status(client, new_customer, make_loan, officer_headers):
    customer = new_customer()
    make_loan(customer, "12000")

    assert_invalid(client.get(f"/loans/{customer.id}?status=overdue-ish", headers=officer_headers), "000", "status")


def test_loan_details_need_a_token_and_stay_with_their_client(client, borrower, new_customer, make_loan, token_000):
    other = new_customer()
    make_loan(other, "12000")

    assert_error(client.get(f"/loans/{other.id}"), "000", 401)
    assert_error(client.get(f"/loans/{other.id}", json={"client_token": token_000(borrower.user)}), "000", 403)
