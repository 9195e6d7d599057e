"""Repayments: matched to a loan, allocated penalties -> fees -> interest -> principal, oldest
installment first; overpayment to savings; unmatched money to suspense; reversals re-open.

One M-Pesa receipt is one payment however often, and however concurrently, it is delivered:
the receipt is a unique column and the insert is the check.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from portal.models import (
    Customer,
    DepositAccount,
    EntryKind,
    Gl,
    Installment,
    Loan,
    LoanStatus,
    Payment,
    PaymentAllocation,
    PaymentSource,
    PaymentStatus,
    TransactionKind,
    User,
)
from portal.models.base import db
from portal.services import audit, customers, ledger, loans, notifier, permissions, phones, savings
from portal.services.atomic import atomic
from portal.services.errors import Conflict, ValidationFailed
from portal.services.money import ZERO, parse_amount


@dataclass
class Receipt:
    """The outcome of a delivery: the payment, and whether this delivery created it."""

    payment: Payment
    created: bool


def _amount(raw) -> Decimal:
    try:
        return parse_amount(raw)
    except ValueError as exc:
        raise ValidationFailed({"amount": [str(exc)]}) from None


def match(phone: str | None, reference: str | None) -> tuple[Customer | None, Loan | None]:
    """Find whose money this is: by account reference (loan number, account number or customer
    code) first, then by phone to the customer's oldest active loan."""
    ref = (reference or "").strip()
    if ref:
        loan = db.session.scalars(select(Loan).where(Loan.loan_number == ref)).first()
        if loan is not None:  # a closed or not-yet-paid-out loan takes nothing: their active one, or savings
            return loan.customer, loan if loan.status == LoanStatus.DISBURSED else loans.oldest_active(loan.customer)
        customer = db.session.scalars(select(Customer).where(
            or_(Customer.account_number == ref.lower(), Customer.customer_code == ref.upper()))).first()
        if customer is not None:
            return customer, loans.oldest_active(customer)
    if phone:
        normalized = phones.search_form(phone)
        if normalized:
            customer = db.session.scalars(select(Customer).where(Customer.phone == normalized)
                                          .order_by(Customer.id).limit(1)).first()
            if customer is not None:
                return customer, loans.oldest_active(customer)
    return None, None


@atomic
def receive_mpesa(*, receipt: str, amount, phone: str | None = None, reference: str | None = None) -> Receipt:
    """Take in an M-Pesa payment (001's webhook, Daraja C2B or STK): apply it, or hold it in suspense."""
    receipt = (receipt or "").strip().upper()
    if not receipt:
        raise ValidationFailed({"mpesa_code": ["The M-Pesa receipt code is required."]})
    value = _amount(amount)
    existing = db.session.scalars(select(Payment).where(Payment.receipt == receipt)).first()
    if existing is not None:
        return Receipt(existing, False)
    customer, loan = match(phone, reference)
    payment = Payment(source=PaymentSource.MPESA, receipt=receipt, amount=value, phone=phone,
                      account_reference=reference, customer_id=customer.id if customer else None,
                      status=PaymentStatus.UNMATCHED)
    try:
        with db.session.begin_nested():  # the unique receipt decides between concurrent deliveries
            db.session.add(payment)
    except IntegrityError:
        return Receipt(db.session.scalars(select(Payment).where(Payment.receipt == receipt)).one(), False)
    if loan is not None:
        _apply(payment, loan, Gl.CASH, actor=None)
    elif customer is not None:
        _to_savings(payment, customer, Gl.CASH, actor=None)
    else:
        entry = ledger.post(EntryKind.SUSPENSE_IN, [ledger.Line(Gl.CASH, value), ledger.Line(Gl.SUSPENSE, -value)],
                            memo=f"unmatched M-Pesa {receipt} from {phone or 'unknown'}")
        payment.entry_id = entry.id
    db.session.flush()
    return Receipt(payment, True)


@atomic
def record_payment(loan: Loan, raw_amount, *, actor: User, source: PaymentSource = PaymentSource.CASH) -> Payment:
    """A repayment recorded by a person: cash at a branch, or M-Pesa sent without a receipt to match."""
    permissions.require(actor, "repayment.record")
    customers.ensure_visible(loan.customer, actor)
    payment = Payment(source=source, amount=_amount(raw_amount), customer_id=loan.customer_id,
                      status=PaymentStatus.UNMATCHED, recorded_by_id=actor.id)
    db.session.add(payment)
    _apply(payment, loan, Gl.CASH, actor=actor)
    return payment


@atomic
def pay_from_savings(loan: Loan, raw_amount, *, actor: User) -> Payment:
    """Move money from the customer's savings onto their loan (refused beyond the balance)."""
    permissions.require(actor, "repayment.record")
    customers.ensure_visible(loan.customer, actor)
    amount = _amount(raw_amount)
    account = savings.existing_account(loan.customer)
    # The whole amount must be there, even if part comes straight back as overpayment: locked, so a
    # withdrawal cannot slip in between this check and the posting.
    balance = db.session.scalar(select(DepositAccount.balance).where(DepositAccount.id == account.id)
                                .with_for_update()) if account else ZERO
    if balance < amount:
        raise ledger.InsufficientFunds(balance)
    payment = Payment(source=PaymentSource.SAVINGS, amount=amount, customer_id=loan.customer_id,
                      status=PaymentStatus.UNMATCHED, recorded_by_id=actor.id)
    db.session.add(payment)
    _apply(payment, loan, Gl.CUSTOMER_DEPOSITS, actor=actor, deposit_account_id=account.id)
    return payment


def _lock(loan: Loan) -> Loan:
    """Serialize money writes on one loan (PostgreSQL row lock; SQLite's write lock is already held)."""
    return db.session.scalars(select(Loan).where(Loan.id == loan.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def _apply(payment: Payment, loan: Loan, debit_gl: Gl, *, actor: User | None,
           deposit_account_id: int | None = None) -> None:
    loan = _lock(loan)
    if loan.status != LoanStatus.DISBURSED:
        raise Conflict(f"Loan {loan.loan_number} is {loan.status.value}: it takes no repayments.")
    db.session.flush()
    remaining, interest_paid, paid_parts = payment.amount, ZERO, []
    for inst in loan.installments:
        if remaining == 0:
            break
        parts = {}
        for part in ("penalty", "fee", "interest", "principal"):
            due = getattr(inst, f"{part}_due") - getattr(inst, f"{part}_paid")
            take = min(due, remaining)
            if take > 0:
                setattr(inst, f"{part}_paid", getattr(inst, f"{part}_paid") + take)
                parts[part], remaining = take, remaining - take
        if parts:
            paid_parts.append((inst, parts))
            interest_paid += parts.get("interest", ZERO)
    applied = payment.amount - remaining
    customer = loan.customer
    lines = [ledger.Line(debit_gl, payment.amount, customer.id, deposit_account_id=deposit_account_id),
             ledger.Line(Gl.LOANS_RECEIVABLE, -applied, customer.id, loan.id),
             ledger.Line(Gl.UNEARNED_INTEREST, interest_paid, customer.id, loan.id),
             ledger.Line(Gl.INTEREST_INCOME, -interest_paid, customer.id, loan.id)]
    if remaining > 0:  # overpayment: the customer's money, kept in their savings
        account = savings.account_for(customer)
        lines.append(ledger.Line(Gl.CUSTOMER_DEPOSITS, -remaining, customer.id, deposit_account_id=account.id))
    entry = ledger.post(EntryKind.REPAYMENT, lines, memo=f"repayment {loan.loan_number}", actor=actor)
    for inst, parts in paid_parts:  # appended through the in-session payment, so they cascade into it
        payment.allocations.append(PaymentAllocation(installment=inst, entry_id=entry.id, **parts))
    payment.loan_id, payment.customer_id, payment.status = loan.id, customer.id, PaymentStatus.APPLIED
    payment.entry_id, payment.overpayment = entry.id, remaining
    loans.refresh_position(loan)
    db.session.flush()
    owed = loans.outstanding(loan)
    savings.record(customer, TransactionKind.LOAN_REPAYMENT, payment.amount, entry, source=payment.source.value,
                   actor=actor, loan_id=loan.id, balance_after=owed)
    audit.record(actor, "repayment.apply", "payment", payment.id,
                 after={"loan": loan.loan_number, "amount": str(payment.amount), "overpayment": str(remaining)})
    if customer.user is not None:
        notifier.notify(customer.user, "repayment", "Payment received",
                        f"We received {payment.amount:,.2f} for loan {loan.loan_number}. "
                        f"Balance {owed:,.2f}." +
                        (f" {remaining:,.2f} extra went to your savings." if remaining else ""))


def _to_savings(payment: Payment, customer: Customer, debit_gl: Gl, *, actor: User | None) -> None:
    """Money from a known customer with no active loan: it is theirs, so it goes to savings."""
    account = savings.account_for(customer)
    entry = ledger.post(EntryKind.DEPOSIT, [
        ledger.Line(debit_gl, payment.amount, customer.id),
        ledger.Line(Gl.CUSTOMER_DEPOSITS, -payment.amount, customer.id, deposit_account_id=account.id)],
        memo=f"payment {payment.receipt or payment.id} to savings (no active loan)", actor=actor)
    payment.status, payment.entry_id, payment.overpayment = PaymentStatus.APPLIED, entry.id, payment.amount
    savings.record(customer, TransactionKind.DEPOSIT, payment.amount, entry, source=payment.source.value,
                   actor=actor, balance_after=account.balance)


@atomic
def assign(payment: Payment, loan: Loan, *, actor: User) -> Payment:
    """Apply a payment held in suspense to a loan (the reconciliation queue)."""
    permissions.require(actor, "repayment.reconcile")
    if payment.status != PaymentStatus.UNMATCHED:
        raise Conflict("Only unmatched payments can be assigned.")
    _apply(payment, loan, Gl.SUSPENSE, actor=actor)
    return payment


@atomic
def reverse(payment: Payment, reason: str, *, actor: User) -> Payment:
    """Undo an applied repayment: a mirror entry, and the installments it paid re-opened."""
    permissions.require(actor, "repayment.reverse")
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationFailed({"reason": ["Give the reason for the reversal."]})
    if payment.status != PaymentStatus.APPLIED or payment.entry_id is None:
        raise Conflict("Only applied payments can be reversed.")
    loan = _lock(payment.loan) if payment.loan is not None else None
    if loan is not None and loan.status == LoanStatus.WRITTEN_OFF:
        raise Conflict("The loan was written off after this payment; reverse the write-off first.")
    entry = db.session.get(ledger.JournalEntry, payment.entry_id)
    try:
        reversal = ledger.reverse(entry, memo=f"reverse payment {payment.id}: {reason}"[:200], actor=actor)
    except ledger.InsufficientFunds:
        raise Conflict("The overpayment this payment put in savings has since been withdrawn; "
                       "it cannot be reversed.") from None
    for allocation in payment.allocations:
        if allocation.entry_id != entry.id:
            continue  # re-opened already, by the reversal of an earlier assignment
        inst = allocation.installment
        for part in ("penalty", "fee", "interest", "principal"):
            setattr(inst, f"{part}_paid", getattr(inst, f"{part}_paid") - getattr(allocation, part))
    if any(p.gl == Gl.SUSPENSE and p.amount > 0 for p in entry.postings):
        # It had been assigned out of suspense: the money is back there, waiting to be assigned again.
        payment.status, payment.loan_id, payment.entry_id = PaymentStatus.UNMATCHED, None, None
    else:
        payment.status = PaymentStatus.REVERSED
    payment.reversal_entry_id, payment.reversal_reason = reversal.id, reason
    if loan is not None:
        loans.refresh_position(loan)
    db.session.flush()
    audit.record(actor, "repayment.reverse", "payment", payment.id, after={"reason": reason})
    return payment


def visible_payments(actor: User, *, status: PaymentStatus | None = None):
    """A SELECT of the payments `actor` may see, newest first."""
    stmt = select(Payment).order_by(Payment.received_at.desc(), Payment.id.desc())
    if actor.role.value not in ("admin", "loan_officer", "calling_agent"):
        stmt = stmt.where(Payment.customer_id.in_(
            permissions.visible_customers(actor).with_only_columns(Customer.id)))
    if status is not None:
        stmt = stmt.where(Payment.status == status)
    return stmt


def installments_due(customer: Customer, *, limit: int = 50) -> list[Installment]:
    """A customer's unpaid installments on active loans, soonest first."""
    return list(db.session.scalars(
        select(Installment).join(Loan).where(Loan.customer_id == customer.id, Loan.status == LoanStatus.DISBURSED)
        .where(Installment.principal_due + Installment.interest_due + Installment.fee_due + Installment.penalty_due
               > Installment.principal_paid + Installment.interest_paid + Installment.fee_paid
               + Installment.penalty_paid)
        .order_by(Installment.due_date, Installment.id).limit(limit)))


