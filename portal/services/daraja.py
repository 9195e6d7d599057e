"""M-Pesa Daraja: a client for the real API, and a local simulator that behaves like it.

The simulator is the default (MPESA_MODE=simulator): it answers each call the way Daraja
does, then delivers the callback, in Daraja's exact shapes and types, to Mkopo's own
callback URL, as Safaricom would. Set MPESA_MODE=daraja and the credentials to go live.
"""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
from flask import current_app

NAIROBI = ZoneInfo("Africa/Nairobi")  # Daraja's timestamps are East Africa Time

# Simulator outcomes by the payer's phone number's last four digits (any other number succeeds).
SIMULATED_FAILURES = {
    "0001": (1, "The balance is insufficient for the transaction."),
    "1032": (1032, "Request cancelled by user"),
    "1037": (1037, "DS timeout user cannot be reached"),
    "2001": (2001, "The initiator information is invalid."),
}


class DarajaError(Exception):
    """Daraja refused a request (or could not be reached)."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    consumer_key: str
    consumer_secret: str
    shortcode: str
    passkey: str
    initiator_name: str
    security_credential: str
    callback_base: str  # ends with the secret path segment

    @classmethod
    def from_app(cls) -> "Settings":
        cfg = current_app.config
        return cls(cfg["MPESA_BASE_URL"], cfg["MPESA_CONSUMER_KEY"] or "", cfg["MPESA_CONSUMER_SECRET"] or "",
                   cfg["MPESA_SHORTCODE"], cfg["MPESA_PASSKEY"] or "", cfg["MPESA_INITIATOR_NAME"] or "",
                   cfg["MPESA_SECURITY_CREDENTIAL"] or "",
                   f"{cfg['MPESA_CALLBACK_BASE_URL'].rstrip('/')}/mpesa/daraja/{callback_secret()}")


def callback_secret() -> str:
    """The path segment Daraja's callbacks must carry (MPESA_CALLBACK_SECRET, or one derived from SECRET_KEY)."""
    configured = current_app.config.get("MPESA_CALLBACK_SECRET")
    if configured:
        return configured
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"mpesa-callbacks", hashlib.sha256).hexdigest()[:32]


def timestamp() -> str:
    return datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")


def shillings(amount: Decimal) -> int:
    """Daraja's Amount: whole shillings. Cents are refused, never cut off: the money sent would differ
    from the money booked."""
    if amount != amount.to_integral_value():
        raise ValueError(f"M-Pesa sends whole shillings, not {amount}")
    return int(amount)


def msisdn(e164: str) -> str:
    """Daraja wants 2547XXXXXXXX: the E.164 number without its plus."""
    return e164.lstrip("+")


class DarajaClient:
    """The real Daraja API over HTTPS, with an OAuth token cached until it expires."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None):
        self.settings = settings
        self.http = http or httpx.Client(base_url=settings.base_url, timeout=30)
        self._token: tuple[str, float] | None = None

    def token(self) -> str:
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        response = self.http.get("/oauth/v1/generate", params={"grant_type": "client_credentials"},
                                 auth=(self.settings.consumer_key, self.settings.consumer_secret))
        if response.status_code != 200:
            raise DarajaError(f"OAuth refused ({response.status_code})")
        body = response.json()
        self._token = (body["access_token"], time.monotonic() + int(body.get("expires_in", 3599)) - 60)
        return self._token[0]

    def _post(self, path: str, body: dict) -> dict:
        try:
            response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {self.token()}"})
        except httpx.HTTPError as exc:
            raise DarajaError(f"Daraja could not be reached: {exc}") from exc
        data = response.json() if response.content else {}
        if response.status_code != 200 or str(data.get("ResponseCode", "0")) != "0":
            raise DarajaError(data.get("errorMessage") or data.get("ResponseDescription") or response.text)
        return data

    def password(self, stamp: str) -> str:
        return base64.b64encode(f"{self.settings.shortcode}{self.settings.passkey}{stamp}".encode()).decode()

    def stk_push(self, phone: str, amount: Decimal, reference: str, description: str) -> dict:
        stamp = timestamp()
        return self._post("/mpesa/stkpush/v1/processrequest", {
            "BusinessShortCode": self.settings.shortcode, "Password": self.password(stamp), "Timestamp": stamp,
            "TransactionType": "CustomerPayBillOnline", "Amount": shillings(amount), "PartyA": msisdn(phone),
            "PartyB": self.settings.shortcode, "PhoneNumber": msisdn(phone),
            "CallBackURL": f"{self.settings.callback_base}/stk", "AccountReference": reference[:12],
            "TransactionDesc": description[:13]})

    def stk_query(self, checkout_request_id: str) -> dict:
        stamp = timestamp()
        return self._post("/mpesa/stkpushquery/v1/query", {
            "BusinessShortCode": self.settings.shortcode, "Password": self.password(stamp), "Timestamp": stamp,
            "CheckoutRequestID": checkout_request_id})

    def b2c(self, phone: str, amount: Decimal, remarks: str, occasion: str = "") -> dict:
        return self._post("/mpesa/b2c/v3/paymentrequest", {
            "OriginatorConversationID": secrets.token_hex(8), "InitiatorName": self.settings.initiator_name,
            "SecurityCredential": self.settings.security_credential, "CommandID": "BusinessPayment",
            "Amount": shillings(amount), "PartyA": self.settings.shortcode, "PartyB": msisdn(phone),
            "Remarks": remarks[:100], "QueueTimeOutURL": f"{self.settings.callback_base}/b2c/timeout",
            "ResultURL": f"{self.settings.callback_base}/b2c/result", "Occasion": occasion[:100]})

    def c2b_register(self) -> dict:
        return self._post("/mpesa/c2b/v1/registerurl", {
            "ShortCode": self.settings.shortcode, "ResponseType": "Completed",
            "ConfirmationURL": f"{self.settings.callback_base}/c2b/confirmation",
            "ValidationURL": f"{self.settings.callback_base}/c2b/validation"})

    def transaction_status(self, transaction_id: str) -> dict:
        return self._post("/mpesa/transactionstatus/v1/query", {
            "Initiator": self.settings.initiator_name, "SecurityCredential": self.settings.security_credential,
            "CommandID": "TransactionStatusQuery", "TransactionID": transaction_id,
            "PartyA": self.settings.shortcode, "IdentifierType": "4",
            "ResultURL": f"{self.settings.callback_base}/status/result",
            "QueueTimeOutURL": f"{self.settings.callback_base}/status/timeout",
            "Remarks": "status", "Occasion": ""})


Deliver = Callable[[str, dict], None]


class Simulator:
    """Answers as Daraja does and then delivers Daraja's callback through `deliver(path, payload)`."""

    def __init__(self, settings: Settings, deliver: Deliver):
        self.settings, self.deliver = settings, deliver
        self.stk: dict[str, dict] = {}

    @staticmethod
    def receipt() -> str:
        return "S" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(9))

    def stk_push(self, phone: str, amount: Decimal, reference: str, description: str) -> dict:
        merchant, checkout = f"{secrets.randbelow(10**5)}-{secrets.randbelow(10**8)}-1", \
            f"ws_CO_{timestamp()}{secrets.randbelow(10**9):09d}"
        code, desc = SIMULATED_FAILURES.get(msisdn(phone)[-4:], (0, "The service request is processed successfully."))
        callback = {"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResultCode": code,
                    "ResultDesc": desc}
        if code == 0:
            callback["CallbackMetadata"] = {"Item": [
                {"Name": "Amount", "Value": shillings(amount)}, {"Name": "MpesaReceiptNumber", "Value": self.receipt()},
                {"Name": "Balance"}, {"Name": "TransactionDate", "Value": int(timestamp())},
                {"Name": "PhoneNumber", "Value": int(msisdn(phone))}]}
        self.stk[checkout] = callback
        self.deliver("/stk", {"Body": {"stkCallback": callback}})
        return {"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing"}

    def stk_query(self, checkout_request_id: str) -> dict:
        callback = self.stk.get(checkout_request_id)
        if callback is None:
            raise DarajaError("The transaction is being processed")
        return {"ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
                "MerchantRequestID": callback["MerchantRequestID"], "CheckoutRequestID": checkout_request_id,
                "ResultCode": str(callback["ResultCode"]), "ResultDesc": callback["ResultDesc"]}

    def b2c(self, phone: str, amount: Decimal, remarks: str, occasion: str = "") -> dict:
        conversation, originator = f"AG_{timestamp()[:8]}_{secrets.token_hex(10)}", secrets.token_hex(8)
        code, desc = SIMULATED_FAILURES.get(msisdn(phone)[-4:], (0, "The service request is processed successfully."))
        result = {"ResultType": 0, "ResultCode": code, "ResultDesc": desc, "OriginatorConversationID": originator,
                  "ConversationID": conversation, "TransactionID": self.receipt(),
                  "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL",
                                                      "Value": f"{self.settings.callback_base}/b2c/timeout"}}}
        if code == 0:
            result["ResultParameters"] = {"ResultParameter": [
                {"Key": "TransactionAmount", "Value": shillings(amount)},
                {"Key": "TransactionReceipt", "Value": result["TransactionID"]},
                {"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
                {"Key": "ReceiverPartyPublicName", "Value": f"{msisdn(phone)} - Mkopo customer"},
                {"Key": "TransactionCompletedDateTime", "Value": datetime.now(NAIROBI).strftime("%d.%m.%Y %H:%M:%S")}]}
        self.deliver("/b2c/result", {"Result": result})
        return {"ConversationID": conversation, "OriginatorConversationID": originator, "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully."}

    def c2b_register(self) -> dict:
        return {"OriginatorCoversationID": secrets.token_hex(8), "ResponseCode": "0", "ResponseDescription": "success"}

    def transaction_status(self, transaction_id: str) -> dict:
        return {"OriginatorConversationID": secrets.token_hex(8), "ConversationID": secrets.token_hex(10),
                "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."}

    def customer_pays_bill(self, phone: str, amount: Decimal, bill_ref: str) -> str:
        """A customer pays the paybill from their phone: Daraja's C2B confirmation arrives. Returns the receipt."""
        receipt = self.receipt()
        self.deliver("/c2b/confirmation", {
            "TransactionType": "Pay Bill", "TransID": receipt, "TransTime": timestamp(),
            "TransAmount": f"{amount:.2f}", "BusinessShortCode": self.settings.shortcode, "BillRefNumber": bill_ref,
            "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "", "MSISDN": msisdn(phone),
            "FirstName": "", "MiddleName": "", "LastName": ""})
        return receipt


def http_delivery(settings: Settings) -> Deliver:
    """Deliver over HTTP to Mkopo's own callback URL, a moment later, as Safaricom's servers would."""

    def deliver(path: str, payload: dict) -> None:
        logger = current_app.logger  # the thread runs outside the app's context

        def send():
            time.sleep(1)
            try:
                httpx.post(f"{settings.callback_base}{path}", json=payload, timeout=10)
            except httpx.HTTPError:
                logger.warning("simulated M-Pesa callback to %s could not be delivered", path)
        threading.Thread(target=send, daemon=True).start()
    return deliver


def gateway(deliver: Deliver | None = None) -> DarajaClient | Simulator:
    settings = Settings.from_app()
    if current_app.config["MPESA_MODE"] == "daraja":
        return DarajaClient(settings)
    return Simulator(settings, deliver or current_app.extensions.get("mpesa_delivery") or http_delivery(settings))
