"""The reconciliation queue: money held in suspense assigned to a loan, failed M-Pesa receipts retried, both lists
in a fixed number of queries, and only for those who reconcile."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from portal.blueprints.payments import views
from portal.models import Gl, MpesaReceipt, PaymentStatus, ReceiptStatus, Role
from portal.models.base import db, utcnow
from portal.services import ledger, loans, mpesa_inbox, repayments
from portal.services.errors import Conflict
from tests.pages import HX, text
from tests.queries import count_queries

D = Decimal
PAGE = "/portal/payments/reconciliation"
STRANGER = "0799000111"  # no customer has this phone: their money goes to suspense


def _unmatched(receipt: str, amount: str = "1500", **kwargs):
    kwargs.setdefault("phone", STRANGER)
    payment = repayments.receive_mpesa(receipt=receipt, amount=amount, **kwargs).payment
    assert payment.status == PaymentStatus.UNMATCHED
    return payment


def _failed(monkeypatch, *codes: str, amount: str = "1000", phone: str = "0712345678",
            error: str = "The loan is being restructured.") -> list[MpesaReceipt]:
    """Receipts written down and then refused by the booking (as a rule breached at the time would)."""
    def refuse(deliveries):
        raise Conflict(error)
    with monkeypatch.context() as patched:
        patched.setattr(repayments, "receive_mpesa_many", refuse)
        for code in codes:
            mpesa_inbox.accept(receipt=code, amount=amount, phone=phone)
        mpesa_inbox.book_pending()
    found = db.session.scalars(select(MpesaReceipt).where(MpesaReceipt.receipt.in_(codes))).all()
    assert {r.status for r in found} == {ReceiptStatus.FAILED}
    return found


def _assign(post, payment, loan_number: str):
    return post(f"{PAGE}/{payment.id}/assign", {f"assign-{payment.id}-loan_number": loan_number})


# --- the page ---------------------------------------------------------------------------------------------------


def test_a_manager_sees_money_in_suspense_and_receipts_whose_booking_failed(client, login_as, staff, monkeypatch):
    _unmatched("QAB0000001", "1500", reference="WRONG-REF")
    receipt = _failed(monkeypatch, "QAB0000002", amount="2750.50")[0]
    login_as(user=staff.manager)

    response = client.get(PAGE)
    html = text(response)

    assert response.status_code == 200
    assert 'data-receipt="QAB0000001"' in html and "1,500.00" in html and "+254 799 000111" in html
    assert "WRONG-REF" in html and "1 payment held in suspense" in html
    assert f'id="receipt-{receipt.id}"' in html and "2,750.50" in html and "The loan is being restructured." in html
    assert 'href="/portal/payments/reconciliation">Reconciliation</a>' in html  # the navbar link


def test_both_lists_say_when_there_is_nothing_to_reconcile(client, login_as, staff):
    login_as(user=staff.admin)
    html = text(client.get(PAGE))
    assert 'data-testid="unmatched-empty"' in html and 'data-testid="failed-empty"' in html


def test_unmatched_payments_are_found_by_receipt_code_or_by_phone_in_any_format(client, login_as, staff):
    _unmatched("QAB0000001", phone="254799000111")
    _unmatched("QXY0000002", phone="0733999888")
    login_as(user=staff.manager)
    by_code = text(client.get(f"{PAGE}?q=xy0000", headers=HX))
    by_phone = text(client.get(f"{PAGE}?q=0799 000 111", headers=HX))
    assert 'data-receipt="QXY0000002"' in by_code and 'data-receipt="QAB0000001"' not in by_code
    assert 'data-receipt="QAB0000001"' in by_phone and 'data-receipt="QXY0000002"' not in by_phone
    assert 'data-testid="unmatched-empty"' in text(client.get(f"{PAGE}?q=nothing", headers=HX))


@pytest.mark.parametrize("path", ["", "/failed"])
def test_each_list_runs_the_same_queries_for_5_or_25_rows(client, login_as, staff, monkeypatch, path):
    for n in range(25):
        _unmatched(f"QAB{n:07d}", phone=f"07990{n:05d}")
    _failed(monkeypatch, *(f"QFD{n:07d}" for n in range(25)))
    login_as(user=staff.manager)

    def page(per_page: int):
        monkeypatch.setattr(views, "PER_PAGE", per_page)
        html = client.get(PAGE + path).get_data(as_text=True)
        assert html.count('<tr id="receipt-') == per_page
        assert html.count('data-testid="assign-') == per_page
        return html

    assert count_queries(lambda: page(5)) == count_queries(lambda: page(25))


# --- assigning --------------------------------------------------------------------------------------------------


def test_a_payment_is_assigned_after_the_loan_is_confirmed_and_leaves_the_list(client, login_as, post, customer,
                                                                               make_loan, staff):
    loan = make_loan(customer)
    payment = _unmatched("QAB0000001", "4407.43")
    owed = loans.outstanding(loan)
    login_as(user=staff.manager)

    confirm = client.get(f"{PAGE}/{payment.id}/assign",
                         query_string={f"assign-{payment.id}-loan_number": loan.loan_number.lower()}, headers=HX)
    assert confirm.status_code == 200
    assert "Assign 4,407.43 to" in text(confirm) and loan.loan_number in text(confirm)
    assert customer.name in text(confirm)
    assert loans.outstanding(loan) == owed  # nothing moves before the confirmation

    response = _assign(post, payment, loan.loan_number)

    assert response.status_code == 204 and "reconciliation-changed" in response.headers["HX-Trigger"]
    assert owed - loans.outstanding(loan) == D("4407.43")
    assert (payment.status, payment.loan_id) == (PaymentStatus.APPLIED, loan.id)
    assert ledger.balance(Gl.SUSPENSE) == D("0.00")
    html = text(client.get(PAGE, headers=HX))
    assert f"Assigned 4,407.43 (M-Pesa QAB0000001) to {loan.loan_number} of {customer.name}." in html
    assert 'data-receipt="QAB0000001"' not in html and 'data-testid="unmatched-empty"' in html


def test_an_unknown_loan_number_is_an_error_beside_the_field_and_moves_nothing(client, login_as, post, staff):
    payment = _unmatched("QAB0000001")
    login_as(user=staff.manager)

    for response in (_assign(post, payment, "LN00000000"),
                     client.get(f"{PAGE}/{payment.id}/assign",
                                query_string={f"assign-{payment.id}-loan_number": "LN00000000"}, headers=HX)):
        html = text(response)
        assert response.status_code == 422
        assert 'aria-invalid="true"' in html and "There is no loan LN00000000 among the loans you can see." in html

    assert payment.status == PaymentStatus.UNMATCHED
    assert ledger.balance(Gl.SUSPENSE) == D("-1500.00")


def test_a_loan_of_another_team_is_not_offered_to_a_manager(login_as, post, customer, make_loan, staff):
    loan = make_loan(customer)
    payment = _unmatched("QAB0000001")
    login_as(user=staff.outside_manager)
    response = _assign(post, payment, loan.loan_number)
    assert response.status_code == 422 and f"There is no loan {loan.loan_number}" in text(response)
    assert payment.status == PaymentStatus.UNMATCHED


@pytest.mark.parametrize("state", ["approved", "closed"])
def test_a_loan_that_takes_no_repayments_is_refused_in_the_row_with_the_service_s_reason(
        login_as, post, customer, make_loan, staff, state):
    loan = make_loan(customer, "1000", disburse=state == "closed")
    if state == "closed":
        repayments.record_payment(loan, loans.outstanding(loan), actor=staff.collector)
    payment = _unmatched("QAB0000001")
    login_as(user=staff.manager)

    response = _assign(post, payment, loan.loan_number)

    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == f"#assign-{payment.id}"  # in the row, not lost in the flashes
    assert f"Loan {loan.loan_number} is {state}: it takes no repayments." in text(response)
    assert payment.status == PaymentStatus.UNMATCHED
    assert ledger.balance(Gl.SUSPENSE) == D("-1500.00")


# --- retrying failed receipts -------------------------------------------------------------------------------------


def test_a_failed_receipt_retried_is_booked_and_leaves_the_list(client, login_as, post, customer, make_loan,
                                                                staff, monkeypatch):
    loan = make_loan(customer)
    receipt = _failed(monkeypatch, "QAB0000001", amount="1000", phone="0712345678")[0]
    owed = loans.outstanding(loan)
    login_as(user=staff.manager)

    response = post(f"{PAGE}/failed/{receipt.id}/retry")

    assert response.status_code == 204 and "reconciliation-changed" in response.headers["HX-Trigger"]
    assert (receipt.status, receipt.error) == (ReceiptStatus.BOOKED, None)
    assert owed - loans.outstanding(loan) == D("1000.00")
    html = text(client.get(f"{PAGE}/failed", headers=HX))
    assert f"Booked M-Pesa QAB0000001 (1,000.00) to {loan.loan_number}." in html
    assert f'id="receipt-{receipt.id}"' not in html and 'data-testid="failed-empty"' in html


def test_a_receipt_refused_again_stays_with_the_new_reason(login_as, post, staff, monkeypatch):
    receipt = _failed(monkeypatch, "QAB0000001")[0]
    login_as(user=staff.manager)

    def refuse_again(deliveries):
        raise Conflict("The account is frozen at the bank.")
    monkeypatch.setattr(repayments, "receive_mpesa_many", refuse_again)
    response = post(f"{PAGE}/failed/{receipt.id}/retry")
    html = text(response)

    assert response.status_code == 200
    assert html.strip().startswith(f'<tr id="receipt-{receipt.id}"')  # the row alone, swapped in place
    assert "Refused again" in html and "The account is frozen at the bank." in html
    assert (receipt.status, receipt.error) == (ReceiptStatus.FAILED, "The account is frozen at the bank.")


# --- who may reconcile --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER])
def test_officers_cannot_open_the_queue_assign_or_retry(client, login_as, post, customer, make_loan, staff,
                                                        monkeypatch, role):
    loan = make_loan(customer)
    payment = _unmatched("QAB0000001")
    receipt = _failed(monkeypatch, "QAB0000002")[0]
    login_as(user=staff.loan_officer if role == Role.LOAN_OFFICER else staff.collector)

    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/failed").status_code == 403
    assert _assign(post, payment, loan.loan_number).status_code == 403
    assert post(f"{PAGE}/failed/{receipt.id}/retry").status_code == 403
    assert "Reconciliation" not in text(client.get("/portal/"))
    assert (payment.status, receipt.status) == (PaymentStatus.UNMATCHED, ReceiptStatus.FAILED)


# --- the booking backlog -----------------------------------------------------------------------------------------


def _waiting(*codes: str, minutes_ago: int = 0) -> None:
    """Receipts accepted and not yet booked (no booker runs in tests), received `minutes_ago`."""
    for code in codes:
        mpesa_inbox.accept(receipt=code, amount="100", phone="0712345678")
    db.session.execute(update(MpesaReceipt).where(MpesaReceipt.receipt.in_(codes))
                       .values(received_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()


def test_receipts_waiting_a_moment_are_mentioned_calmly(client, login_as, staff):
    login_as(user=staff.manager)
    _waiting("QWAIT00001", "QWAIT00002")

    page = text(client.get(PAGE))

    assert "2 M-Pesa receipts waiting to be booked" in page and "not being booked" not in page


def test_receipts_waiting_for_minutes_say_the_booker_may_be_down(client, login_as, staff):
    login_as(user=staff.manager)
    _waiting("QWAIT00003", minutes_ago=5)

    page = text(client.get(PAGE))

    assert "M-Pesa receipts are not being booked" in page and "flask payments book --follow" in page


def test_nothing_waiting_says_nothing(client, login_as, staff):
    login_as(user=staff.manager)

    assert "waiting to be booked" not in text(client.get(PAGE))


def test_health_answers_ok_degraded_or_unavailable(client, monkeypatch):
    assert client.get("/health").get_json() == {"status": "ok", "database": "ok", "mpesa_booking": "ok"}

    _waiting("QWAIT00004", minutes_ago=5)
    assert client.get("/health").get_json() == {"status": "degraded", "database": "ok", "mpesa_booking": "stalled"}

    def unreachable():
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))
    monkeypatch.setattr(mpesa_inbox, "backlog", unreachable)
    response = client.get("/health")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"
