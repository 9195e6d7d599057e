"""001 SokoCredit repayments: GET /repayment-schedules (the mama_mboga's upcoming installments),
GET /repayments (by role) and POST /repayments/mpesa-webhook (staff token or shared secret;
idempotent on mpesa_code; unknown payers held unmatched)."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from portal.models import ApiLog, Payment, PaymentSource, PaymentStatus
from portal.models.base import db
from portal.services import repayments
from tests.api.conftest import assert_error, assert_invalid
from tests.api.money.conftest import owed, payments_with_receipt, savings_balance

D = Decimal
SECRET = "webhook-shared-secret-for-tests"
PHONE = "+254722000111"


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "MPESA_WEBHOOK_SECRET", SECRET)
    return {"X-Webhook-Secret": SECRET}


@pytest.fixture
def no_secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "MPESA_WEBHOOK_SECRET", None)


def webhook(client, payload, headers=None):
    return client.post("/repayments/mpesa-webhook", json=payload, headers=headers or {})


def payload(amount=2000, code="MPESA123ABC", phone="0722000111"):
    return {"phone_number": phone, "amount_paid": amount, "mpesa_code": code}


def booked(client, body, secret):
    """What became of a delivered payment, as a client learns it: by delivering it again."""
    again = webhook(client, body, secret)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == "booked", again.get_json()
    return again.get_json()["repayment"]


# --- GET /repayment-schedules -----------------------------------------------------------------------------


def test_borrower_sees_her_upcoming_installments(client, borrower, make_loan, api_headers):
    loan = make_loan(borrower.customer, "12000")

    response = client.get("/repayment-schedules", headers=api_headers(borrower.user, "mama_mboga"))

    assert response.status_code == 200, response.get_json()
    items = response.get_json()["schedules"]
    assert len(items) == 12
    assert [i["installment"] for i in items] == list(range(1, 13))
    dates = [date.fromisoformat(i["due_date"]) for i in items]
    assert dates == sorted(dates) and dates[0] > date.today()
    for item in items:
        assert item["loan_id"] == loan.id
        assert item["loan_number"] == loan.loan_number
        assert (item["amount_due"], item["amount_paid"], item["balance"]) == ("1000.00", "0.00", "1000.00")
        assert item["status"] == "pending"


def test_paid_installments_leave_the_schedule(client, staff, borrower, make_loan, api_headers):
    loan = make_loan(borrower.customer, "12000")
    repayments.record_payment(loan, "1500", actor=staff.loan_officer)
    db.session.commit()

    items = client.get("/repayment-schedules", headers=api_headers(borrower.user)).get_json()["schedules"]

    assert len(items) == 11
    assert items[0]["installment"] == 2
    assert (items[0]["amount_paid"], items[0]["balance"], items[0]["status"]) == ("500.00", "500.00", "partial")


def test_schedule_only_covers_her_disbursed_loans(client, borrower, new_customer, make_loan, api_headers):
    make_loan(borrower.customer, "5000", state="pending")
    make_loan(new_customer(), "12000")  # someone else's

    response = client.get("/repayment-schedules", headers=api_headers(borrower.user))

    assert response.status_code == 200
    assert response.get_json()["schedules"] == []


@pytest.mark.parametrize("who", ["admin", "manager", "loan_officer", "collector"])
def test_staff_have_no_repayment_schedule(client, staff, api_headers, who):
    assert_error(client.get("/repayment-schedules", headers=api_headers(getattr(staff, who))), "001", 403)


def test_repayment_schedule_needs_a_token(client):
    assert_error(client.get("/repayment-schedules"), "001", 401)


# --- GET /repayments --------------------------------------------------------------------------------------


@pytest.fixture
def payments(staff, new_customer, outside_customer, borrower, make_loan):
    """One payment on a team customer's loan, one on the other team's, one on the mama_mboga's, one unmatched."""
    made = {}
    for name, customer in (("team", new_customer()), ("outside", outside_customer), ("hers", borrower.customer)):
        loan = make_loan(customer, "12000")
        made[name] = repayments.record_payment(loan, "1000", actor=staff.admin, source=PaymentSource.MPESA)
    made["unmatched"] = repayments.receive_mpesa(receipt="UNKNOWN0001", amount="700", phone="+254733999888").payment
    db.session.commit()
    return made


@pytest.mark.parametrize(("who", "sees"), [
    ("admin", {"team", "outside", "hers", "unmatched"}),
    ("loan_officer", {"team", "outside", "hers", "unmatched"}),
    ("manager", {"team", "hers", "unmatched"}),  # managers reconcile: money in suspense is no team's
    ("collector", {"team", "hers"}),
    ("other_collector", set()),
    ("outside_manager", {"outside", "unmatched"}),
    ("borrower", {"hers"}),
])
def test_repayments_listed_by_role(client, staff, borrower, payments, api_headers, who, sees):
    user = borrower.user if who == "borrower" else getattr(staff, who)

    response = client.get("/repayments", headers=api_headers(user))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"repayments", "total", "page", "pages"}
    assert {r["id"] for r in body["repayments"]} == {payments[name].id for name in sees}
    assert body["total"] == len(sees)


def test_repayment_rows_carry_money_as_strings(client, staff, payments, api_headers):
    rows = client.get("/repayments?status=unmatched", headers=api_headers(staff.admin)).get_json()["repayments"]

    assert [(r["id"], r["amount"], r["status"], r["mpesa_code"]) for r in rows] == [
        (payments["unmatched"].id, "700.00", "unmatched", "UNKNOWN0001")]
    assert rows[0]["customer_id"] is None and rows[0]["loan_id"] is None


def test_repayments_page(client, staff, payments, api_headers):
    body = client.get("/repayments?per_page=3&page=2", headers=api_headers(staff.admin)).get_json()

    assert (body["total"], body["pages"], body["page"], len(body["repayments"])) == (4, 2, 2, 1)


def test_repayments_refuse_an_unknown_status_and_need_a_token(client, staff, api_headers):
    assert_invalid(client.get("/repayments?status=lost", headers=api_headers(staff.admin)), "001", "status")
    assert_error(client.get("/repayments"), "001", 401)


# --- POST /repayments/mpesa-webhook: who may call ---------------------------------------------------------


def test_webhook_without_token_or_secret_is_401(client, no_secret, borrower, make_loan):
    loan = make_loan(borrower.customer, "12000")

    response = webhook(client, payload())

    assert_error(response, "001", 401)
    assert payments_with_receipt("MPESA123ABC") == 0
    assert owed(loan) == D("12000.00")


def test_webhook_refuses_an_anonymous_caller_before_reading_the_body(client, no_secret):
    """Unauthenticated callers learn nothing about the payload's rules: 401, not a validation 400."""
    assert_error(webhook(client, {}), "001", 401)


def test_the_shared_secret_never_reaches_the_request_log(client, app, monkeypatch):
    """The secret may come as ?secret= (some gateways cannot set headers); /api/logs/ must not show it."""
    monkeypatch.setitem(app.config, "MPESA_WEBHOOK_SECRET", SECRET)

    response = client.post(f"/repayments/mpesa-webhook?secret={SECRET}", json={"amount_paid": 1})

    assert response.status_code == 400, response.get_json()
    db.session.expire_all()
    row = db.session.query(ApiLog).filter(ApiLog.endpoint.like("/repayments/mpesa-webhook%")).one()
    assert SECRET not in row.endpoint + row.request_payload + row.response_payload, row.endpoint
    assert "[redacted]" in row.endpoint


def test_a_receipt_accepted_is_its_own_record_and_the_payment_is_booked_after(client, secret, new_customer,
                                                                               make_loan):
    """At a gateway's volume the request log would double the writes: an accepted notification is kept
    as its receipt, which holds all it brought; a refused one, or a repeat, is in the log."""
    loan = make_loan(new_customer(phone=PHONE), "12000")

    response = webhook(client, payload("100"), secret)

    assert response.status_code == 202, response.get_json()
    assert payments_with_receipt("MPESA123ABC") == 1
    assert owed(loan) == D("11900.00")
    assert webhook(client, payload("100"), secret).status_code == 200
    assert webhook(client, payload("-5", code="MPESA123ABD"), secret).status_code == 400
    db.session.expire_all()
    logged = db.session.scalars(select(ApiLog.status_code).where(ApiLog.endpoint == "/repayments/mpesa-webhook")
                                .order_by(ApiLog.id)).all()
    assert logged == [200, 400]


def test_a_matched_payment_costs_a_fixed_handful_of_statements(client, secret, new_customer, make_loan):
    """The request: the receipt. Its booking: the receipts waiting, then match, lock the
    loan, read what it owes, the entry and its postings, the payment, the installments paid, the
    allocations, the loan's new arrears position, 000's transaction and the receipt marked booked: no
    lazy loads, nothing per installment."""
    make_loan(new_customer(phone=PHONE), "12000")
    webhook(client, payload("100", code="WARMUP001"), secret)
    statements = []

    def listen(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        response = webhook(client, payload("3000"), secret)  # pays off an installment: the position moves
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)

    assert response.status_code == 202, response.get_json()
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]
    assert statements[0] == "INSERT", statements
    assert len(statements) == 13, statements


def test_a_payment_a_staff_member_posts_is_logged_with_who_posted_it(client, api_headers, staff, new_customer,
                                                                     make_loan):
    make_loan(new_customer(phone=PHONE), "12000")

    response = webhook(client, payload("100"), api_headers(staff.manager))

    assert response.status_code == 202, response.get_json()
    db.session.expire_all()
    row = db.session.query(ApiLog).filter(ApiLog.endpoint == "/repayments/mpesa-webhook").one()
    assert (row.user_id, row.status_code) == (staff.manager.id, 202)


def test_a_log_row_that_cannot_be_written_costs_the_log_not_the_answer(client, secret, new_customer, make_loan,
                                                                        monkeypatch, caplog):
    from api import request_log

    loan = make_loan(new_customer(phone=PHONE), "12000")
    webhook(client, payload("100"), secret)
    monkeypatch.setattr(request_log, "_log_row", lambda response: {"status_code": None})  # NOT NULL: refused

    response = webhook(client, payload("100"), secret)  # a repeat: logged

    assert response.status_code == 200, response.get_json()
    assert payments_with_receipt("MPESA123ABC") == 1
    assert owed(loan) == D("11900.00")
    assert "could not write 1 API log rows" in caplog.text


def test_webhook_with_a_wrong_secret_is_401(client, secret, borrower, make_loan):
    make_loan(borrower.customer, "12000")

    response = webhook(client, payload(), {"X-Webhook-Secret": "not-the-secret"})

    assert_error(response, "001", 401)
    assert payments_with_receipt("MPESA123ABC") == 0


def test_webhook_with_the_shared_secret_is_taken(client, secret, new_customer, make_loan):
    loan = make_loan(new_customer(phone=PHONE), "12000")

    response = webhook(client, payload(2000), secret)

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["duplicate"] is False
    assert owed(loan) == D("10000.00")


def test_no_configured_secret_means_no_header_is_accepted(client, no_secret, new_customer, make_loan):
    make_loan(new_customer(phone=PHONE), "12000")

    assert_error(webhook(client, payload(), {"X-Webhook-Secret": ""}), "001", 401)
    assert_error(webhook(client, payload(), {"X-Webhook-Secret": "None"}), "001", 401)


@pytest.mark.parametrize("who", ["admin", "manager", "loan_officer"])
def test_webhook_with_a_staff_token_is_taken(client, staff, no_secret, new_customer, make_loan, api_headers, who):
    make_loan(new_customer(phone=PHONE), "12000")

    response = webhook(client, payload(), api_headers(getattr(staff, who)))

    assert response.status_code == 202, response.get_json()


def test_webhook_with_a_borrower_token_is_403(client, no_secret, borrower, make_loan, api_headers):
    borrower.customer.phone = PHONE
    db.session.commit()
    loan = make_loan(borrower.customer, "12000")

    response = webhook(client, payload(), api_headers(borrower.user, "mama_mboga"))

    assert_error(response, "001", 403)
    assert payments_with_receipt("MPESA123ABC") == 0
    assert owed(loan) == D("12000.00")


@pytest.mark.parametrize("who", ["collector", "calling_agent"])
def test_webhook_with_a_non_lending_staff_token_is_403(client, staff, no_secret, api_headers, who):
    assert_error(webhook(client, payload(), api_headers(getattr(staff, who))), "001", 403)


# --- POST /repayments/mpesa-webhook: what it does ---------------------------------------------------------


def test_matched_payment_reduces_the_outstanding_exactly(client, secret, new_customer, make_loan):
    loan = make_loan(new_customer(phone=PHONE), "12000")

    response = webhook(client, payload("2500.50", phone="0722 000 111"), secret)

    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body == {"message": "Payment received; it is being applied.", "duplicate": False,
                    "mpesa_code": "MPESA123ABC", "amount_paid": "2500.50", "status": "pending", "repayment": None}
    repayment = booked(client, payload("2500.50", phone="0722 000 111"), secret)
    assert repayment["status"] == "applied"
    assert repayment["amount"] == "2500.50"
    assert repayment["loan_id"] == loan.id
    assert repayment["customer_id"] == loan.customer_id
    assert repayment["mpesa_code"] == "MPESA123ABC"
    assert owed(loan) == D("9499.50")
    db.session.refresh(loan)
    assert loan.outstanding_balance == D("9499.50")


def test_webhook_amount_as_a_json_number_is_exact(client, secret, new_customer, make_loan, one_month_product):
    loan = make_loan(new_customer(phone=PHONE), "10000", product=one_month_product)

    response = client.post("/repayments/mpesa-webhook", headers=secret, content_type="application/json",
                           data='{"phone_number": "0722000111", "amount_paid": 100.1, "mpesa_code": "QWE123RTY9"}')

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["amount_paid"] == "100.10"
    assert owed(loan) == D("9999.90")  # 10,100.00 - 100.10


def test_same_mpesa_code_again_is_200_duplicate_and_no_second_payment(client, secret, new_customer, make_loan):
    loan = make_loan(new_customer(phone=PHONE), "12000")

    first = webhook(client, payload(2000), secret)
    again = webhook(client, payload(2000), secret)

    assert first.status_code == 202
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert {k: v for k, v in body.items() if k != "repayment"} == {
        "message": "This M-Pesa code was already received.", "duplicate": True, "mpesa_code": "MPESA123ABC",
        "amount_paid": "2000.00", "status": "booked"}
    paid = db.session.scalars(select(Payment.id).where(Payment.receipt == "MPESA123ABC")).one()
    assert body["repayment"]["id"] == paid
    assert payments_with_receipt("MPESA123ABC") == 1
    assert owed(loan) == D("10000.00")


def test_a_repeat_is_answered_from_what_it_read(client, secret, new_customer, make_loan):
    """The receipt and its payment, read once: nothing is committed before the answer is built, so
    nothing expires to be read again (in a second transaction)."""
    make_loan(new_customer(phone=PHONE), "12000")
    webhook(client, payload(2000), secret)
    statements = []

    def listen(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()[:4]))
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert webhook(client, payload(2000), secret).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)

    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 2 and "mpesa_receipts" in reads[0] and "payments" in reads[1], statements


def test_duplicate_detection_ignores_the_case_of_the_code(client, secret, new_customer, make_loan):
    loan = make_loan(new_customer(phone=PHONE), "12000")

    webhook(client, payload(2000, code="MPESA123ABC"), secret)
    again = webhook(client, payload(2000, code="mpesa123abc"), secret)

    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert owed(loan) == D("10000.00")


def test_unknown_phone_is_held_unmatched(client, secret, new_customer, make_loan):
    loan = make_loan(new_customer(phone=PHONE), "12000")

    response = webhook(client, payload(2000, phone="0799000111"), secret)

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["duplicate"] is False
    repayment = booked(client, payload(2000, phone="0799000111"), secret)
    assert repayment["status"] == "unmatched"
    assert repayment["customer_id"] is None
    assert repayment["loan_id"] is None
    assert repayment["amount"] == "2000.00"
    assert owed(loan) == D("12000.00")
    payment = db.session.get(Payment, repayment["id"])
    assert payment.status == PaymentStatus.UNMATCHED


def test_known_customer_without_an_active_loan_gets_it_in_savings(client, secret, new_customer):
    customer = new_customer(phone=PHONE)

    response = webhook(client, payload("750.25"), secret)

    assert response.status_code == 202, response.get_json()
    repayment = booked(client, payload("750.25"), secret)
    assert repayment["status"] == "applied"
    assert repayment["customer_id"] == customer.id
    assert savings_balance(customer) == D("750.25")


def test_payment_beyond_what_is_owed_closes_the_loan_and_saves_the_rest(client, secret, new_customer, make_loan,
                                                                        one_month_product):
    customer = new_customer(phone=PHONE)
    loan = make_loan(customer, "10000", product=one_month_product)

    response = webhook(client, payload("10150.75"), secret)

    assert response.status_code == 202
    assert booked(client, payload("10150.75"), secret)["overpayment"] == "50.75"
    assert owed(loan) == D("0.00")
    assert savings_balance(customer) == D("50.75")


@pytest.mark.parametrize(("change", "field"), [
    ({"amount_paid": "20.001"}, "amount_paid"),
    ({"amount_paid": 0}, "amount_paid"),
    ({"amount_paid": None}, "amount_paid"),
    ({"amount_paid": "1e20"}, "amount_paid"),  # more than the books can hold: refused, not a crash
    ({"mpesa_code": "ABC"}, "mpesa_code"),
    ({"phone_number": None}, "phone_number"),
])
def test_invalid_webhook_payload_is_400(client, secret, change, field):
    response = webhook(client, {**payload(), **change}, secret)

    assert_invalid(response, "001", field)
    assert db.session.query(Payment).count() == 0
