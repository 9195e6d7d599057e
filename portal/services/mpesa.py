"""M-Pesa flows: ask a customer to pay by STK push, and act on Daraja's callbacks.

Callback items are read by name, never by position; every callback is idempotent (the
request it answers is settled once; a receipt is one payment, see mpesa_inbox and repayments).
"""

from decimal import Decimal

from sqlalchemy import select

from portal.models import (
    EntryKind,
    Gl,
    Loan,
    LoanStatus,
    MpesaKind,
    MpesaRequest,
    MpesaStatus,
    TransactionKind,
    User,
)
from portal.models.base import db, utcnow
from portal.services import audit, customers, daraja, ledger, mpesa_inbox, notifier, permissions, savings
from portal.services.errors import Conflict, ValidationFailed
from portal.services.money import parse_amount


class BadCallback(ValueError):
    """A callback body that is not in Daraja's shape."""


def request_repayment(loan: Loan, raw_amount, *, actor: User, phone: str | None = None,
                      gateway=None) -> MpesaRequest:
    """Send an STK push so the borrower can pay `amount` towards `loan` from their phone."""
    permissions.require(actor, "repayment.record")
    customers.ensure_visible(loan.customer, actor)
    if loan.status != LoanStatus.DISBURSED:
        raise Conflict(f"Loan {loan.loan_number} is {loan.status.value}: it takes no repayments.")
    try:
        amount = parse_amount(raw_amount)
    except ValueError as exc:
        raise ValidationFailed({"amount": [str(exc)]}) from None
    if amount != amount.to_integral_value():
        raise ValidationFailed({"amount": ["M-Pesa takes whole shillings."]})
    number = phone or loan.customer.phone
    if not number:
        raise ValidationFailed({"phone": ["The customer has no phone number to send the prompt to."]})
    gateway = gateway or daraja.gateway()
    # Recorded before the call: the simulator (or a fast Daraja) may call back before we return.
    request = MpesaRequest(kind=MpesaKind.STK_PUSH, external_id="pending", phone=number, amount=amount,
                           account_reference=loan.loan_number, loan_id=loan.id, requested_by_id=actor.id)
    db.session.add(request)
    db.session.flush()
    request.external_id = f"pending-{request.id}"
    db.session.flush()
    answer = gateway.stk_push(number, amount, loan.loan_number, "Loan repayment")
    request.external_id, request.merchant_request_id = answer["CheckoutRequestID"], answer["MerchantRequestID"]
    db.session.flush()
    return request


def _items(metadata: dict | None, key: str, name_key: str, value_key: str) -> dict:
    if metadata is None:
        return {}
    items = metadata.get(key)
    if not isinstance(items, list):
        raise BadCallback(f"{key} is not a list")
    return {item[name_key]: item.get(value_key) for item in items if isinstance(item, dict) and name_key in item}


def _settle(request: MpesaRequest | None, code: int, desc: str, receipt: str | None) -> bool:
    """Record a result on its request; False when unknown or already settled by an earlier delivery."""
    if request is None or request.status != MpesaStatus.PENDING:
        return False
    request.status = MpesaStatus.SUCCEEDED if code == 0 else MpesaStatus.FAILED
    request.result_code, request.result_desc, request.receipt = code, desc[:200], receipt
    request.completed_at = utcnow()
    return True


def stk_callback(payload: dict) -> MpesaRequest | None:
    """Daraja's STK push result: Body.stkCallback, with CallbackMetadata.Item on success."""
    try:
        callback = payload["Body"]["stkCallback"]
        checkout, code, desc = callback["CheckoutRequestID"], int(callback["ResultCode"]), str(callback["ResultDesc"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadCallback("not an STK callback") from exc
    request = db.session.scalars(select(MpesaRequest).where(MpesaRequest.external_id == checkout)).first()
    receipt = None
    if code == 0:
        items = _items(callback.get("CallbackMetadata"), "Item", "Name", "Value")
        if "MpesaReceiptNumber" not in items or "Amount" not in items:
            raise BadCallback("a successful STK callback names its receipt and amount")
        receipt = str(items["MpesaReceiptNumber"])
        phone = str(items.get("PhoneNumber") or (request.phone if request else ""))
        mpesa_inbox.accept(receipt=receipt, amount=Decimal(str(items["Amount"])), phone=phone,
                           reference=request.account_reference if request else None)
    _settle(request, code, desc, receipt)
    db.session.flush()
    return request


def c2b_confirmation(payload: dict) -> "mpesa_inbox.Accepted":
    """A customer paid the paybill: TransID, TransAmount, MSISDN, BillRefNumber."""
    try:
        receipt, amount = str(payload["TransID"]), Decimal(str(payload["TransAmount"]))
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise BadCallback("not a C2B confirmation") from exc
    return mpesa_inbox.accept(receipt=receipt, amount=amount, phone=str(payload.get("MSISDN") or ""),
                              reference=str(payload.get("BillRefNumber") or "") or None)


def b2c_result(payload: dict) -> MpesaRequest | None:
    """Daraja's B2C result: Result, with ResultParameters.ResultParameter[{Key, Value}] on success."""
    try:
        result = payload["Result"]
        conversation, code, desc = result["ConversationID"], int(result["ResultCode"]), str(result["ResultDesc"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadCallback("not a B2C result") from exc
    params = _items(result.get("ResultParameters"), "ResultParameter", "Key", "Value")
    request = db.session.scalars(select(MpesaRequest).where(MpesaRequest.external_id == conversation)
                                 .with_for_update()).first()
    receipt = str(params["TransactionReceipt"]) if "TransactionReceipt" in params else None
    if _settle(request, code, desc, receipt) and request.loan_id is not None:
        _book_payout(request)
    db.session.flush()
    return request


def send_payout(loan: Loan, amount: Decimal, *, actor: User, gateway=None) -> MpesaRequest:
    """Ask M-Pesa (B2C) to send a disbursed loan to the borrower's phone; the result comes back later."""
    number = loan.customer.phone
    # Recorded before the call: the simulator (or a fast Daraja) may call back before we return.
    request = MpesaRequest(kind=MpesaKind.B2C, external_id=f"pending-loan-{loan.id}", phone=number, amount=amount,
                           account_reference=loan.loan_number, loan_id=loan.id, requested_by_id=actor.id)
    db.session.add(request)
    db.session.flush()
    answer = (gateway or daraja.gateway()).b2c(number, amount, f"Loan {loan.loan_number}")
    request.external_id = answer["ConversationID"]
    db.session.flush()
    return request


def _book_payout(request: MpesaRequest) -> None:
    """Settle a payout in transit: into the M-Pesa float when it arrived; into the borrower's savings
    when it failed, so the loan they owe is never money they did not get."""
    loan = db.session.get(Loan, request.loan_id)
    customer, amount = loan.customer, request.amount
    if request.status == MpesaStatus.SUCCEEDED:
        other = ledger.Line(Gl.CASH, -amount, customer.id)
        memo, message = f"M-Pesa payout {request.receipt} for {loan.loan_number}", (
            f"{amount:,.2f} of your loan {loan.loan_number} reached your M-Pesa ({request.receipt}).")
    else:
        account = savings.account_for(customer)
        other = ledger.Line(Gl.CUSTOMER_DEPOSITS, -amount, customer.id, deposit_account_id=account.id)
        memo, message = f"M-Pesa payout for {loan.loan_number} failed: into savings", (
            f"M-Pesa could not pay out your loan {loan.loan_number} ({request.result_desc}); "
            f"{amount:,.2f} is in your Mkopo savings account instead.")
    entry = ledger.post(EntryKind.PAYOUT, [ledger.Line(Gl.PAYOUTS_IN_TRANSIT, amount, customer.id, loan.id), other],
                        memo=memo)
    if request.status == MpesaStatus.FAILED:
        savings.record(customer, TransactionKind.DEPOSIT, amount, entry, source="failed_payout", actor=None,
                       loan_id=loan.id, balance_after=savings.balance_of(customer))
    audit.record(None, "loan.payout", "loan", loan.id, after={"mpesa": request.status.value, "amount": str(amount),
                                                            "receipt": request.receipt})
    if customer.user is not None:
        notifier.notify(customer.user, "loan_payout", "Loan payout", message)
