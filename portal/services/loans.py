"""The loan lifecycle: application, maker-checker decision, disbursement once, write-off.

Status changes only through these functions; "overdue" is derived (portal.services.arrears).
"""

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.models import (
    Customer,
    DisbursementChannel,
    EntryKind,
    FeeMode,
    Frequency,
    Gl,
    Installment,
    InterestMethod,
    Loan,
    LoanProduct,
    LoanStatus,
    TransactionKind,
    User,
)
from portal.models.base import db, utcnow
from portal.services import (
    audit,
    business_day,
    customers,
    kyc,
    ledger,
    mpesa,
    notifier,
    permissions,
    savings,
    schedules,
)
from portal.services.atomic import atomic
from portal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.services.money import ZERO, parse_amount
from portal.services.pagination import Page, paginate

AUDIT_FIELDS = ["id", "loan_number", "customer_id", "product_id", "principal", "annual_rate", "interest_method",
                "frequency", "term_periods", "fee_amount", "status"]
MONEY_TERMS = ("principal", "annual_rate", "interest_method", "frequency", "term_periods", "product_id")
MAX_CO_BORROWERS = 2
RATE_PLACES = Decimal("0.0001")  # what the rate columns hold: a finer rate is refused, never rounded


def loan_number() -> str:
    while True:
        number = "LN" + "".join(secrets.choice("0123456789") for _ in range(8))
        if db.session.scalar(select(Loan.id).where(Loan.loan_number == number)) is None:
            return number


def kyc_ceiling(customer: Customer) -> Decimal | None:
    limit = current_app.config["KYC_LOAN_LIMITS"].get(customer.kyc_level.value)
    return None if limit is None else Decimal(limit)


@dataclass
class Terms:
    principal: Decimal
    annual_rate: Decimal
    interest_method: InterestMethod
    frequency: Frequency
    term_periods: int
    fee_amount: Decimal = ZERO
    fee_mode: FeeMode = FeeMode.DEDUCTED
    penalty_rate: Decimal = ZERO
    grace_days: int = 0


def _terms(values: dict, customer: Customer, errors: dict, base: Loan | None = None, *,
           check_limits: bool = True) -> Terms | None:
    """Terms from a product (003's loans may carry their own rate and tenure instead)."""
    product = None
    product_id = values.get("product_id", base.product_id if base else None)
    if product_id is not None:
        product = db.session.get(LoanProduct, int(product_id))
        if product is None or not product.active:
            errors["product_id"] = ["Choose an active loan product."]
            return None
    try:
        principal = parse_amount(values.get("principal", base.principal if base else None), field="principal")
    except ValueError as exc:
        errors["principal"] = [str(exc)]
        return None
    term = values.get("term_periods")
    if term is None:
        term = product.term_periods if product else (base.term_periods if base else None)
    rate = values.get("annual_rate", product.annual_rate if product else (base.annual_rate if base else None))
    try:
        term = int(term)
        if not 1 <= term <= 3650:
            raise ValueError
    except (TypeError, ValueError):
        errors["term_periods"] = ["Give the number of installments (1 to 3650)."]
    try:
        rate = Decimal(str(rate))
        if not rate.is_finite() or not 0 <= rate <= 1000 or rate != rate.quantize(RATE_PLACES):
            raise ValueError
    except (ArithmeticError, TypeError, ValueError):
        errors["annual_rate"] = ["Give the annual interest rate in percent (0 to 1000, at most 4 decimals), "
                                 "e.g. 10.5."]
    if check_limits and (limits := principal_limits(principal, product, customer)):
        errors["principal"] = [next(iter(limits.values()))]
    if errors:
        return None
    if product is None:
        return Terms(principal, rate, InterestMethod(values.get("interest_method") or "declining"),
                     Frequency(values.get("frequency") or "monthly"), term)
    return Terms(principal, rate, product.interest_method, product.frequency, term,
                 schedules.fee_for(principal, product.fee_type, product.fee_value), product.fee_mode,
                 product.penalty_rate, product.grace_days)


def principal_limits(principal: Decimal, product: LoanProduct | None, customer: Customer) -> dict[str, str]:
    """Why `principal` may not be lent to `customer`, by limit ("range", "kyc"); empty when it may."""
    limits = {}
    if product is not None and not product.min_principal <= principal <= product.max_principal:
        limits["range"] = f"{product.name} lends {product.min_principal:,.2f} to {product.max_principal:,.2f}."
    ceiling = kyc_ceiling(customer)
    if ceiling is not None and principal > ceiling:
        limits["kyc"] = (f"KYC level {customer.kyc_level.value} allows loans up to {ceiling:,.2f}; "
                         "verify the customer's KYC to lend more.")
    return limits


def terms_for(values: dict, customer: Customer, *, check_limits: bool = True) -> Terms:
    """The terms an application with `values` would get, as `apply` reads them; ValidationFailed when
    they cannot be read (or, with `check_limits`, break the product's range or the KYC ceiling)."""
    errors: dict[str, list[str]] = {}
    terms = _terms(values, customer, errors, check_limits=check_limits)
    if terms is None:
        raise ValidationFailed(errors)
    return terms


def _co_borrowers(ids, customer: Customer, actor: User, errors: dict) -> list[Customer]:
    ids = list(dict.fromkeys(int(i) for i in ids or []))
    if len(ids) > MAX_CO_BORROWERS:
        errors["co_borrowers"] = [f"A loan may list at most {MAX_CO_BORROWERS} co-borrowers."]
        return []
    found = []
    for cid in ids:
        other = db.session.get(Customer, cid)
        if other is None or cid == customer.id or not permissions.can_see_customer(actor, other):
            errors["co_borrowers"] = [f"Customer {cid} cannot be a co-borrower on this loan."]
            return []
        found.append(other)
    return found


def apply(customer: Customer, values: dict, *, actor: User) -> Loan:
    """An application by a borrower for themselves, or by staff on a customer's behalf."""
    permissions.require(actor, "loan.apply")
    customers.ensure_visible(customer, actor)
    errors: dict[str, list[str]] = {}
    terms = _terms(values, customer, errors)
    co = _co_borrowers(values.get("co_borrowers"), customer, actor, errors)
    number = (values.get("loan_number") or "").strip() or None
    if number and db.session.scalar(select(Loan.id).where(Loan.loan_number == number)):
        errors["loan_number"] = ["Another loan has this number."]
    application_date = values.get("application_date") or business_day.today()
    if errors:
        raise ValidationFailed(errors)
    loan = Loan(loan_number=number or loan_number(), customer_id=customer.id,
                product_id=values.get("product_id"), loan_type=(values.get("loan_type") or "")[:40],
                purpose=(values.get("purpose") or "")[:200], application_date=application_date,
                created_by_id=actor.id, terms_set_by_id=actor.id, **terms.__dict__)
    loan.co_borrowers = co
    db.session.add(loan)
    db.session.flush()
    audit.record(actor, "loan.apply", "loan", loan.id, after=audit.snapshot(loan, AUDIT_FIELDS))
    return loan


def update_pending(loan: Loan, values: dict, *, actor: User) -> Loan:
    """Change an application; once decided its money terms are fixed."""
    permissions.require(actor, "loan.edit_pending")
    customers.ensure_visible(loan.customer, actor)
    if loan.status != LoanStatus.PENDING:
        raise Conflict(f"This loan is {loan.status.value}: it can no longer be changed.")
    errors: dict[str, list[str]] = {}
    before = audit.snapshot(loan, AUDIT_FIELDS)
    if any(k in values for k in MONEY_TERMS):
        terms = _terms(values, loan.customer, errors, base=loan)
        if terms is not None:
            for key, value in terms.__dict__.items():
                setattr(loan, key, value)
            loan.product_id = values.get("product_id", loan.product_id)
            loan.terms_set_by_id = actor.id  # whoever sets the terms is a maker too
    if "co_borrowers" in values:
        co = _co_borrowers(values["co_borrowers"], loan.customer, actor, errors)
        if not errors:
            loan.co_borrowers = co
    if errors:
        raise ValidationFailed(errors)
    for key in ("purpose", "loan_type"):
        if key in values:
            setattr(loan, key, (values[key] or "")[:200])
    if values.get("application_date"):
        loan.application_date = values["application_date"]
    db.session.flush()
    audit.record(actor, "loan.update", "loan", loan.id, before=before, after=audit.snapshot(loan, AUDIT_FIELDS))
    return loan


def delete_pending(loan: Loan, *, actor: User) -> None:
    permissions.require(actor, "loan.edit_pending")
    customers.ensure_visible(loan.customer, actor)
    if loan.status not in (LoanStatus.PENDING, LoanStatus.REJECTED):
        raise Conflict(f"This loan is {loan.status.value}: only pending or rejected applications can be deleted.")
    before = audit.snapshot(loan, AUDIT_FIELDS)
    db.session.delete(loan)
    db.session.flush()
    audit.record(actor, "loan.delete", "loan", before["id"], before=before)


def _tell_customer(loan: Loan, kind: str, title: str, message: str) -> None:
    if loan.customer.user is not None:
        notifier.notify(loan.customer.user, kind, title, message)


def _decide(loan: Loan, actor: User) -> None:
    permissions.require(actor, "loan.decide")
    customers.ensure_visible(loan.customer, actor)
    if loan.status != LoanStatus.PENDING:
        raise Conflict(f"This loan is already {loan.status.value}.")


def approval_refusal(loan: Loan, actor: User) -> str | None:
    """Why `actor` may not approve `loan` (maker-checker, approval limit), or None when they may."""
    if actor.id in (loan.created_by_id, loan.terms_set_by_id):
        return ("You submitted this application or set its terms, so another person must approve it "
                "(maker-checker).")
    limits = current_app.config["APPROVAL_LIMITS"]
    if actor.role.value not in limits:
        return "Your role may not approve loans."
    limit = limits[actor.role.value]
    if limit is not None and loan.principal > Decimal(limit):
        return f"This loan is above your approval limit of {Decimal(limit):,.2f}; ask an admin."
    return None


def approve(loan: Loan, *, actor: User) -> Loan:
    """Approve; the checker must not be the maker, and must hold a large enough approval limit."""
    _decide(loan, actor)
    if (refusal := approval_refusal(loan, actor)) is not None:
        raise Forbidden(refusal)
    loan.status, loan.decided_by_id, loan.decided_at = LoanStatus.APPROVED, actor.id, utcnow()
    db.session.flush()
    audit.record(actor, "loan.approve", "loan", loan.id, after={"status": "approved"})
    _tell_customer(loan, "loan_approved", "Loan approved",
                   f"Your loan {loan.loan_number} of {loan.principal:,.2f} has been approved.")
    return loan


def reject(loan: Loan, reason: str, *, actor: User) -> Loan:
    _decide(loan, actor)
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationFailed({"reason": ["Give the reason for rejecting (the customer will see it)."]})
    loan.status, loan.decided_by_id, loan.decided_at = LoanStatus.REJECTED, actor.id, utcnow()
    loan.rejection_reason = reason[:1000]
    db.session.flush()
    audit.record(actor, "loan.reject", "loan", loan.id, after={"status": "rejected", "reason": reason})
    _tell_customer(loan, "loan_rejected", "Loan not approved",
                   f"Your loan application {loan.loan_number} was not approved: {reason}")
    return loan


@atomic
def disburse(loan: Loan, channel: DisbursementChannel, *, actor: User, on: date | None = None) -> Loan:
    """Pay the loan out, exactly once however often it is retried, and fix its schedule."""
    permissions.require(actor, "loan.disburse")
    customers.ensure_visible(loan.customer, actor)
    kyc.require_tier_for_disbursement(loan)
    paid_out = loan.principal - (loan.fee_amount if loan.fee_mode == FeeMode.DEDUCTED else ZERO)
    if channel == DisbursementChannel.MPESA:
        if not loan.customer.phone:
            raise ValidationFailed({"channel": ["The customer has no phone number for M-Pesa; pay into savings."]})
        if paid_out != paid_out.to_integral_value():
            raise ValidationFailed({"channel": [f"M-Pesa sends whole shillings and {paid_out:,.2f} has cents; "
                                                "pay into savings."]})
    claimed = db.session.execute(update(Loan).where(Loan.id == loan.id, Loan.status == LoanStatus.APPROVED)
                                 .values(status=LoanStatus.DISBURSED)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(loan)
    if claimed != 1:
        raise Conflict("This loan has already been disbursed." if loan.status == LoanStatus.DISBURSED
                       else f"Only approved loans can be disbursed; this one is {loan.status.value}.")
    on = on or business_day.today()
    lines = schedules.build(loan.principal, loan.annual_rate, loan.term_periods, loan.frequency,
                            loan.interest_method, on, loan.fee_amount, loan.fee_mode)
    loan.installments = [Installment(number=s.number, due_date=s.due_date, principal_due=s.principal,
                                     interest_due=s.interest, fee_due=s.fee) for s in lines]
    interest = sum((s.interest for s in lines), ZERO)
    added_fee = loan.fee_amount if loan.fee_mode == FeeMode.ADDED else ZERO
    customer = loan.customer
    if channel == DisbursementChannel.SAVINGS:
        account = savings.account_for(customer)
        payout = ledger.Line(Gl.CUSTOMER_DEPOSITS, -paid_out, customer.id, deposit_account_id=account.id)
    else:
        # Owed to the borrower until M-Pesa's B2C result says the money arrived (see mpesa.b2c_result).
        payout = ledger.Line(Gl.PAYOUTS_IN_TRANSIT, -paid_out, customer.id, loan.id)
    entry = ledger.post(EntryKind.DISBURSEMENT, [
        ledger.Line(Gl.LOANS_RECEIVABLE, loan.principal + interest + added_fee, customer.id, loan.id),
        payout,
        ledger.Line(Gl.UNEARNED_INTEREST, -interest, customer.id, loan.id),
        ledger.Line(Gl.FEE_INCOME, -loan.fee_amount, customer.id, loan.id),
    ], memo=f"disburse {loan.loan_number} via {channel.value}", actor=actor)
    loan.disbursement_channel, loan.disbursed_by_id, loan.disbursement_entry_id = channel, actor.id, entry.id
    loan.disbursed_at, loan.disbursed_on = utcnow(), on
    loan.principal_outstanding, loan.oldest_unpaid_due = loan.principal, lines[0].due_date
    balance_after = savings.balance_of(customer) if channel == DisbursementChannel.SAVINGS else None
    savings.record(customer, TransactionKind.DISBURSEMENT, paid_out, entry, source=channel.value, actor=actor,
                   loan_id=loan.id, balance_after=balance_after)
    db.session.flush()
    audit.record(actor, "loan.disburse", "loan", loan.id, after={"status": "disbursed", "channel": channel.value,
                                                                  "paid_out": str(paid_out)})
    if channel == DisbursementChannel.MPESA:
        mpesa.send_payout(loan, paid_out, actor=actor)
    _tell_customer(loan, "loan_disbursed", "Loan disbursed",
                   f"{paid_out:,.2f} of your loan {loan.loan_number} has been sent to your {channel.value}. "
                   f"First installment {lines[0].total:,.2f} due {lines[0].due_date:%d %b %Y}.")
    return loan


def refresh_position(loan: Loan) -> None:
    """Recompute the cached arrears fields from the installments; close a loan with nothing owed."""
    unpaid = [i for i in loan.installments if i.outstanding > 0]
    loan.oldest_unpaid_due = min((i.due_date for i in unpaid), default=None)
    loan.principal_outstanding = sum((i.principal_due - i.principal_paid for i in loan.installments), ZERO)
    if not unpaid and loan.status == LoanStatus.DISBURSED:
        loan.status, loan.closed_at = LoanStatus.CLOSED, utcnow()
    elif unpaid and loan.status == LoanStatus.CLOSED:
        loan.status, loan.closed_at = LoanStatus.DISBURSED, None  # a reversal re-opened it


def outstanding(loan: Loan) -> Decimal:
    """What the borrower still owes, as the ledger says it."""
    return ledger.balance(Gl.LOANS_RECEIVABLE, loan_id=loan.id)


@atomic
def write_off(loan: Loan, reason: str, *, actor: User) -> Loan:
    permissions.require(actor, "loan.write_off")
    customers.ensure_visible(loan.customer, actor)
    if loan.status != LoanStatus.DISBURSED:
        raise Conflict(f"Only active loans can be written off; this one is {loan.status.value}.")
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationFailed({"reason": ["Give the reason for the write-off."]})
    owed = outstanding(loan)
    unearned = -ledger.balance(Gl.UNEARNED_INTEREST, loan_id=loan.id)
    ledger.post(EntryKind.WRITE_OFF, [
        ledger.Line(Gl.LOANS_RECEIVABLE, -owed, loan.customer_id, loan.id),
        ledger.Line(Gl.UNEARNED_INTEREST, unearned, loan.customer_id, loan.id),
        ledger.Line(Gl.WRITE_OFF_EXPENSE, owed - unearned, loan.customer_id, loan.id),
    ], memo=f"write off {loan.loan_number}: {reason}"[:200], actor=actor)
    loan.status, loan.written_off_by_id, loan.written_off_at = LoanStatus.WRITTEN_OFF, actor.id, utcnow()
    loan.write_off_reason = reason[:1000]
    db.session.flush()
    audit.record(actor, "loan.write_off", "loan", loan.id, after={"written_off": str(owed), "reason": reason})
    return loan


def get_visible(loan_id: int, *, actor: User) -> Loan:
    permissions.require(actor, "loan.view")
    loan = db.session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("Loan not found.")
    customers.ensure_visible(loan.customer, actor)
    return loan


@dataclass
class LoanFilters:
    status: LoanStatus | None = None
    customer_id: int | None = None


def search(filters: LoanFilters, *, actor: User, page: int = 1, per_page: int = 25,
           max_per_page: int = 100, count: bool = True) -> Page:
    permissions.require(actor, "loan.view")
    stmt = permissions.visible_loans(actor).options(selectinload(Loan.co_borrowers), selectinload(Loan.installments))
    if filters.status is not None:
        stmt = stmt.where(Loan.status == filters.status)
    if filters.customer_id is not None:
        stmt = stmt.where(Loan.customer_id == filters.customer_id)
    return paginate(stmt.order_by(Loan.id.desc()), page, per_page, max_per_page, count=count)


def oldest_approved(customer: Customer) -> Loan | None:
    return db.session.scalars(select(Loan).where(Loan.customer_id == customer.id, Loan.status == LoanStatus.APPROVED)
                              .order_by(Loan.decided_at, Loan.id).limit(1)).first()


def oldest_active(customer: Customer) -> Loan | None:
    return db.session.scalars(select(Loan).where(Loan.customer_id == customer.id, Loan.status == LoanStatus.DISBURSED)
                              .order_by(Loan.disbursed_at, Loan.id).limit(1)).first()

