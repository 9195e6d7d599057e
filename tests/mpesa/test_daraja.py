"""M-Pesa Daraja: simulator callbacks for every result code, C2B and B2C, the callback secret,
and the real client's requests (through httpx's mock transport: no network)."""

import base64
import json
from datetime import date
from decimal import Decimal as D

import httpx
import pytest

from portal.models import (
    ApiLog,
    DisbursementChannel,
    KycLevel,
    MpesaKind,
    MpesaRequest,
    MpesaStatus,
    Payment,
    Role,
)
from portal.models.base import db
from portal.services import daraja, loans, mpesa, products
from tests.factories import CustomerFactory


@pytest.fixture
def staff(make_user):
    manager = make_user(Role.MANAGER)
    return make_user(Role.LOAN_OFFICER, manager_id=manager.id), manager


@pytest.fixture
def loan(staff):
    officer, manager = staff
    product = products.create({"name": "Daraja test", "interest_method": "flat", "annual_rate": "0",
                               "frequency": "monthly", "term_periods": 10, "min_principal": "100",
                               "max_principal": "100000"}, actor=manager)
    customer = CustomerFactory(phone="+254712345678", kyc_level=KycLevel.TIER_2, created_by_id=officer.id)
    loan = loans.apply(customer, {"product_id": product.id, "principal": "10000"}, actor=officer)
    loans.approve(loan, actor=manager)
    loans.disburse(loan, DisbursementChannel.MPESA, actor=officer, on=date.today())
    db.session.commit()
    return loan


@pytest.fixture
def callbacks(client):
    """A simulator whose callbacks are queued, then delivered through the app like Safaricom's would be."""
    queued = []

    def deliver_all():
        responses = [client.post(f"/mpesa/daraja/{daraja.callback_secret()}{path}", json=payload)
                     for path, payload in queued]
        queued.clear()
        return responses

    simulator = daraja.Simulator(daraja.Settings.from_app(), lambda path, payload: queued.append((path, payload)))
    return simulator, queued, deliver_all


def test_a_successful_stk_push_pays_the_loan_once_however_often_the_callback_comes(loan, staff, callbacks):
    simulator, queued, deliver_all = callbacks
    request = mpesa.request_repayment(loan, "1500", actor=staff[0], gateway=simulator)
    db.session.commit()
    assert request.status == MpesaStatus.PENDING and request.external_id.startswith("ws_CO_")
    body = queued[0][1]["Body"]["stkCallback"]
    queued.append(queued[0])  # Safaricom retries
    assert [r.get_json() for r in deliver_all()] == [{"ResultCode": 0, "ResultDesc": "Accepted"}] * 2
    db.session.refresh(request)
    items = {item["Name"]: item.get("Value") for item in body["CallbackMetadata"]["Item"]}
    assert request.status == MpesaStatus.SUCCEEDED and request.receipt == items["MpesaReceiptNumber"]
    assert db.session.query(Payment).filter_by(receipt=request.receipt).count() == 1
    assert loan.outstanding_balance == D("8500.00")


@pytest.mark.parametrize(("suffix", "code"), [("0001", 1), ("1032", 1032), ("1037", 1037), ("2001", 2001)])
def test_a_failed_stk_push_records_daraja_s_result_and_moves_no_money(loan, staff, callbacks, suffix, code):
    simulator, queued, deliver_all = callbacks
    request = mpesa.request_repayment(loan, "1500", actor=staff[0], phone=f"+25471234{suffix}", gateway=simulator)
    db.session.commit()
    callback = queued[0][1]["Body"]["stkCallback"]
    assert callback["ResultCode"] == code and "CallbackMetadata" not in callback
    deliver_all()
    db.session.refresh(request)
    assert request.status == MpesaStatus.FAILED and request.result_code == code and request.result_desc
    assert db.session.query(Payment).count() == 0
    assert loan.outstanding_balance == D("10000.00")


def test_stk_push_takes_whole_shillings_only(loan, staff, callbacks):
    from portal.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="Invalid"):
        mpesa.request_repayment(loan, "10.50", actor=staff[0], gateway=callbacks[0])


def test_a_paybill_payment_is_matched_by_its_account_number_even_with_a_masked_msisdn(loan, callbacks):
    simulator, queued, deliver_all = callbacks
    receipt = simulator.customer_pays_bill("+254799000000", D("2000"), loan.loan_number)
    queued[0][1]["MSISDN"] = "2547*****000"  # Daraja masks it nowadays
    assert deliver_all()[0].get_json() == {"ResultCode": 0, "ResultDesc": "Success"}
    payment = db.session.query(Payment).filter_by(receipt=receipt).one()
    assert payment.loan_id == loan.id
    assert loan.outstanding_balance == D("8000.00")


def test_a_confirmation_accepted_is_kept_as_its_receipt_not_in_the_request_log(loan, callbacks):
    simulator, queued, deliver_all = callbacks
    simulator.customer_pays_bill("+254712345678", D("2000"), loan.loan_number)
    queued.append(queued[0])  # Daraja delivers it twice

    assert [r.status_code for r in deliver_all()] == [200, 200]
    assert [row.endpoint.rsplit("/", 1)[1] for row in db.session.query(ApiLog)] == ["confirmation"]  # the repeat


def test_a_b2c_result_settles_its_request_with_the_receipt(callbacks, loan):
    simulator, queued, deliver_all = callbacks
    answer = simulator.b2c("+254712345678", D("5000"), "loan payout")
    db.session.add(MpesaRequest(kind=MpesaKind.B2C, external_id=answer["ConversationID"], phone="+254712345678",
                                amount=D("5000"), loan_id=loan.id))
    db.session.commit()
    params = {p["Key"]: p["Value"] for p in queued[0][1]["Result"]["ResultParameters"]["ResultParameter"]}
    deliver_all()
    request = db.session.query(MpesaRequest).filter_by(external_id=answer["ConversationID"]).one()
    assert request.status == MpesaStatus.SUCCEEDED and request.receipt == params["TransactionReceipt"]


def test_callback_items_are_read_by_name_not_position(loan, staff, callbacks):
    simulator, queued, deliver_all = callbacks
    request = mpesa.request_repayment(loan, "700", actor=staff[0], gateway=simulator)
    db.session.commit()
    queued[0][1]["Body"]["stkCallback"]["CallbackMetadata"]["Item"].reverse()
    deliver_all()
    db.session.refresh(request)
    assert request.status == MpesaStatus.SUCCEEDED and loan.outstanding_balance == D("9300.00")


def test_callbacks_with_a_wrong_secret_are_refused_and_change_nothing(client, loan):
    body = {"TransID": "SFAKE00001", "TransAmount": "500.00", "MSISDN": "254712345678", "BillRefNumber": ""}
    response = client.post("/mpesa/daraja/not-the-secret/c2b/confirmation", json=body)
    assert response.status_code == 403 and response.get_json()["ResultCode"] == 1
    assert db.session.query(Payment).count() == 0


@pytest.mark.parametrize("payload", [{"Body": {}}, {"Body": {"stkCallback": {"ResultCode": 0}}},
                                     {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 0,
                                                               "ResultDesc": "ok", "CallbackMetadata": {}}}}])
def test_a_malformed_stk_callback_is_a_400_in_daraja_s_shape(client, payload):
    response = client.post(f"/mpesa/daraja/{daraja.callback_secret()}/stk", json=payload)
    assert response.status_code == 400 and response.get_json()["ResultCode"] == 1


def test_the_callback_secret_never_reaches_the_request_log(client):
    client.post(f"/mpesa/daraja/{daraja.callback_secret()}/c2b/validation", json={"TransAmount": "1"})
    endpoint = db.session.query(ApiLog).order_by(ApiLog.id.desc()).first().endpoint
    assert daraja.callback_secret() not in endpoint and "[redacted]" in endpoint


def _client(handler) -> daraja.DarajaClient:
    settings = daraja.Settings("https://daraja.test", "key", "secret", "174379", "passkey", "apiop", "cred",
                               "https://mkopo.test/mpesa/daraja/s3cret")
    return daraja.DarajaClient(settings, httpx.Client(base_url=settings.base_url,
                                                      transport=httpx.MockTransport(handler)))


def test_the_real_client_authenticates_once_and_signs_an_stk_push_as_daraja_requires():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/v1/generate":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": "3599"})
        return httpx.Response(200, json={"MerchantRequestID": "m", "CheckoutRequestID": "c", "ResponseCode": "0",
                                         "ResponseDescription": "Success"})

    client = _client(handler)
    client.stk_push("+254712345678", D("150"), "LN12345678", "Loan repayment")
    client.stk_query("c")
    oauth, push, query = seen
    assert oauth.headers["Authorization"] == "Basic " + base64.b64encode(b"key:secret").decode()
    body = json.loads(push.content)
    assert push.headers["Authorization"] == "Bearer tok" and query.headers["Authorization"] == "Bearer tok"
    assert base64.b64decode(body["Password"]).decode() == f"174379passkey{body['Timestamp']}"
    assert body["Amount"] == 150 and body["PhoneNumber"] == body["PartyA"] == "254712345678"
    assert body["CallBackURL"] == "https://mkopo.test/mpesa/daraja/s3cret/stk"
    assert body["TransactionType"] == "CustomerPayBillOnline" and len(body["Timestamp"]) == 14


def test_the_real_client_reports_daraja_s_refusal():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v1/generate":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": "3599"})
        return httpx.Response(400, json={"requestId": "1", "errorCode": "400.002.02",
                                         "errorMessage": "Bad Request - Invalid PhoneNumber"})

    with pytest.raises(daraja.DarajaError, match="Invalid PhoneNumber"):
        _client(handler).stk_push("+254712345678", D("150"), "LN1", "x")


def test_the_real_client_registers_c2b_urls_and_asks_b2c_with_result_urls():
    bodies = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v1/generate":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": "3599"})
        bodies[request.url.path] = json.loads(request.content)
        return httpx.Response(200, json={"ResponseCode": "0", "ResponseDescription": "ok"})

    client = _client(handler)
    client.c2b_register()
    client.b2c("+254712345678", D("5000"), "payout")
    client.transaction_status("SABC123")
    assert bodies["/mpesa/c2b/v1/registerurl"]["ConfirmationURL"].endswith("/s3cret/c2b/confirmation")
    b2c = bodies["/mpesa/b2c/v3/paymentrequest"]
    assert b2c["ResultURL"].endswith("/b2c/result") and b2c["PartyB"] == "254712345678" and b2c["Amount"] == 5000
    assert bodies["/mpesa/transactionstatus/v1/query"]["TransactionID"] == "SABC123"


def test_the_real_client_refuses_cents_rather_than_send_less_than_was_booked():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={"access_token": "tok", "expires_in": "3599"})

    client = _client(handler)
    with pytest.raises(ValueError, match=r"whole shillings, not 4999\.50"):
        client.b2c("+254712345678", D("4999.50"), "payout")
    with pytest.raises(ValueError, match="whole shillings"):
        client.stk_push("+254712345678", D("0.99"), "LN1", "x")
    assert "/mpesa/b2c/v3/paymentrequest" not in sent and "/mpesa/stkpush/v1/processrequest" not in sent
    assert daraja.shillings(D("5000.00")) == 5000


def test_a_simulated_callback_that_cannot_be_delivered_is_logged_from_its_thread(app, monkeypatch, caplog):
    import threading
    from types import SimpleNamespace

    threads, failures = [], []

    def refuse(*args, **kwargs):
        raise httpx.ConnectError("nobody listening")

    def thread(**kwargs):
        threads.append(threading.Thread(**kwargs))
        return threads[-1]
    # This module's names only, not every thread's
    monkeypatch.setattr(daraja, "time", SimpleNamespace(sleep=lambda seconds: None))
    monkeypatch.setattr(daraja, "httpx", SimpleNamespace(post=refuse, HTTPError=httpx.HTTPError))
    monkeypatch.setattr(daraja, "threading", SimpleNamespace(Thread=thread))
    monkeypatch.setattr(threading, "excepthook", failures.append)

    daraja.http_delivery(daraja.Settings.from_app())("/c2b/confirmation", {"TransID": "QAB1234567"})
    threads[0].join(5)

    assert failures == []  # no "working outside of application context" in the thread
    assert "simulated M-Pesa callback to /c2b/confirmation could not be delivered" in caplog.text
