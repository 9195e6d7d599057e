"""Repayments: matched to a loan, allocated penalties -> fees -> interest -> principal, oldest
installment first; overpayment to savings; unmatched money to suspense; reversals re-open.

One M-Pesa receipt is one payment however often, and however concurrently, it is delivered:
the receipt is a unique column and the insert is the check.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ScalarSelect, bindparam, case, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

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
    Transaction,
    TransactionKind,
    User,
)
from portal.models.base import Money, db, utcnow
from portal.services import audit, customers, ledger, loans, notifier, permissions, phones, savings
from portal.services.atomic import atomic
from portal.services.errors import Conflict, ValidationFailed
from portal.services.money import ZERO, parse_amount


@dataclass
class Receipt:
    """The outcome of a delivery: the payment, and whether this delivery created it."""

    payment: Payment
    created: bool


class _Duplicate(Exception):
    """The receipt was taken by another delivery: undo this one's savepoint."""


def payment_amount(raw) -> Decimal:
    """A payment's amount from what was sent, or ValidationFailed saying what is wrong with it."""
    try:
        return parse_amount(raw)
    except ValueError as exc:
        raise ValidationFailed({"amount": [str(exc)]}) from None


def receipt_code(raw: str | None) -> str:
    """An M-Pesa receipt code as stored (M-Pesa's codes are upper case; a client may send them lower)."""
    code = (raw or "").strip().upper()
    if not code:
        raise ValidationFailed({"mpesa_code": ["The M-Pesa receipt code is required."]})
    return code


def _oldest_active(customer_id) -> ScalarSelect:
    """The id of a customer's oldest active loan, as a subquery correlated to `customer_id`."""
    active = aliased(Loan)
    return (select(active.id).where(active.customer_id == customer_id, active.status == LoanStatus.DISBURSED)
            .order_by(active.disbursed_at, active.id).limit(1).correlate_except(active).scalar_subquery())


# Built once: each is (customer id, active loan id or None). A closed or not-yet-paid-out loan named
# by its number takes nothing: the money goes to the customer's active loan, or savings.
_BY_LOAN_NUMBER = select(Loan.customer_id, case((Loan.status == LoanStatus.DISBURSED, Loan.id),
                                                else_=_oldest_active(Loan.customer_id))
                         ).where(Loan.loan_number == bindparam("ref"))
_BY_ACCOUNT = select(Customer.id, _oldest_active(Customer.id)).where(
    or_(Customer.account_number == bindparam("account"), Customer.customer_code == bindparam("code"))).limit(1)
_BY_PHONE = (select(Customer.id, _oldest_active(Customer.id)).where(Customer.phone == bindparam("phone"))
             .order_by(Customer.id).limit(1))


def _match(conn: Connection, phone: str | None, reference: str | None) -> tuple[int | None, int | None]:
    """Find whose money this is, as (customer id, active loan id): by account reference (loan number,
    account number or customer code) first, then by phone to the customer's oldest active loan."""
    ref = (reference or "").strip()
    found = None
    if ref:
        found = (conn.execute(_BY_LOAN_NUMBER, {"ref": ref}).first()
                 or conn.execute(_BY_ACCOUNT, {"account": ref.lower(), "code": ref.upper()}).first())
    if found is None and phone and (normalized := phones.search_form(phone)):
        found = conn.execute(_BY_PHONE, {"phone": normalized}).first()
    return (found[0], found[1]) if found else (None, None)


def receive_mpesa(*, receipt: str, amount, phone: str | None = None, reference: str | None = None) -> Receipt:
    """Take in an M-Pesa payment (001's webhook, Daraja C2B or STK): apply it, or hold it in suspense.

    The payment row is inserted after its journal entry and before anything else moves; if another
    delivery already holds the receipt, this delivery's savepoint (entry included) is rolled back.
    """
    receipt = receipt_code(receipt)
    value = payment_amount(amount)
    try:
        return Receipt(_receive(receipt, value, phone, reference), True)
    except _Duplicate:
        return Receipt(db.session.scalars(select(Payment).where(Payment.receipt == receipt)).one(), False)


@atomic
def _receive(receipt: str, value: Decimal, phone: str | None, reference: str | None) -> Payment:
    conn = db.session.connection()
    customer_id, loan_id = _match(conn, phone, reference)
    values = {"source": PaymentSource.MPESA, "receipt": receipt, "amount": value, "phone": phone,
              "account_reference": reference, "customer_id": customer_id}
    if loan_id is not None:
        plan = _plan(conn, loan_id, value)
        entry_id = _post(plan, Gl.CASH, actor=None)
        payment = _insert_payment(conn, values, plan=plan, entry_id=entry_id)
        _settle(conn, plan, payment, entry_id, actor=None)
        return payment
    if customer_id is not None:  # a known customer with no active loan: the money is theirs, in savings
        account = savings.account_for(db.session.get(Customer, customer_id))
        entry_id = ledger.record(EntryKind.DEPOSIT, [
            ledger.Line(Gl.CASH, value, customer_id),
            ledger.Line(Gl.CUSTOMER_DEPOSITS, -value, customer_id, deposit_account_id=account.id)],
            memo=f"payment {receipt} to savings (no active loan)")
        payment = _insert_payment(conn, {**values, "status": PaymentStatus.APPLIED, "overpayment": value},
                                  entry_id=entry_id)
        _record_transaction(conn, customer_id, TransactionKind.DEPOSIT, value, entry_id, source=payment.source,
                            actor=None, balance_after=db.session.scalar(
                                select(DepositAccount.balance).where(DepositAccount.id == account.id)))
        return payment
    entry_id = ledger.record(EntryKind.SUSPENSE_IN, [ledger.Line(Gl.CASH, value), ledger.Line(Gl.SUSPENSE, -value)],
                             memo=f"unmatched M-Pesa {receipt} from {phone or 'unknown'}")
    return _insert_payment(conn, {**values, "status": PaymentStatus.UNMATCHED}, entry_id=entry_id)


@atomic
def record_payment(loan: Loan, raw_amount, *, actor: User, source: PaymentSource = PaymentSource.CASH) -> Payment:
    """A repayment recorded by a person: cash at a branch, or M-Pesa sent without a receipt to match."""
    permissions.require(actor, "repayment.record")
    customers.ensure_visible(loan.customer, actor)
    conn = db.session.connection()
    plan = _plan(conn, loan.id, payment_amount(raw_amount))
    entry_id = _post(plan, Gl.CASH, actor=actor)
    payment = _insert_payment(conn, {"source": source, "amount": plan.amount, "customer_id": loan.customer_id,
                                     "recorded_by_id": actor.id}, plan=plan, entry_id=entry_id)
    _settle(conn, plan, payment, entry_id, actor=actor)
    return payment


@atomic
def pay_from_savings(loan: Loan, raw_amount, *, actor: User) -> Payment:
    """Move money from the customer's savings onto their loan (refused beyond the balance)."""
    permissions.require(actor, "repayment.record")
    customers.ensure_visible(loan.customer, actor)
    amount = payment_amount(raw_amount)
    account = savings.existing_account(loan.customer)
    # The whole amount must be there, even if part comes straight back as overpayment: locked, so a
    # withdrawal cannot slip in between this check and the posting.
    balance = db.session.scalar(select(DepositAccount.balance).where(DepositAccount.id == account.id)
                                .with_for_update()) if account else ZERO
    if balance < amount:
        raise ledger.InsufficientFunds(balance)
    conn = db.session.connection()
    plan = _plan(conn, loan.id, amount)
    entry_id = _post(plan, Gl.CUSTOMER_DEPOSITS, actor=actor, deposit_account_id=account.id)
    payment = _insert_payment(conn, {"source": PaymentSource.SAVINGS, "amount": amount,
                                     "customer_id": loan.customer_id, "recorded_by_id": actor.id},
                              plan=plan, entry_id=entry_id)
    _settle(conn, plan, payment, entry_id, actor=actor)
    return payment


def _lock(loan: Loan) -> Loan:
    """Serialize money writes on one loan (PostgreSQL row lock; SQLite's write lock is already held)."""
    return db.session.scalars(select(Loan).where(Loan.id == loan.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


PARTS = ("penalty", "fee", "interest", "principal")  # the order a payment pays them in
_DUE = [getattr(Installment, f"{part}_due") for part in PARTS]
_PAID = [getattr(Installment, f"{part}_paid") for part in PARTS]
# The loan, locked (a PostgreSQL row lock; SQLite's write lock is already held). Its installments are
# read by a statement of their own, after the lock is granted: a row joined into a locking SELECT that
# had to wait would come from before the wait, and another payment may have just paid it.
_LOCK_LOAN = (select(Loan.id, Loan.customer_id, Loan.loan_number, Loan.status, Loan.oldest_unpaid_due,
                     Loan.principal_outstanding, Customer.user_id)
              .join(Customer, Customer.id == Loan.customer_id).where(Loan.id == bindparam("loan_id"))
              .with_for_update(of=Loan))
_UNPAID = (select(Installment.id, Installment.due_date, *_DUE, *_PAID)
           .where(Installment.loan_id == bindparam("loan_id"), sum(_DUE, literal(0)) > sum(_PAID, literal(0)))
           .order_by(Installment.number))


@dataclass
class _Plan:
    """What a payment does to its loan, worked out before anything is written."""

    loan_id: int
    customer_id: int
    loan_number: str
    user_id: int | None                          # the borrower's login, told of the payment
    amount: Decimal
    parts: list[tuple[int, dict[str, Decimal]]]  # (installment id, {part: amount}), oldest first
    interest: Decimal
    overpayment: Decimal
    owed: Decimal                                # what the loan still owes afterwards
    position: dict                               # the loan's cached arrears fields, where they change


def _plan(conn: Connection, loan_id: int, amount: Decimal) -> _Plan:
    """Lock the loan and allocate `amount`: penalty, fee, interest, principal, oldest installment first."""
    loan = conn.execute(_LOCK_LOAN, {"loan_id": loan_id}).one()
    if loan.status != LoanStatus.DISBURSED:
        raise Conflict(f"Loan {loan.loan_number} is {loan.status.value}: it takes no repayments.")
    remaining, interest, owed, principal, oldest, parts = amount, ZERO, ZERO, ZERO, None, []
    for row in conn.execute(_UNPAID, {"loan_id": loan_id}):
        unpaid = {part: getattr(row, f"{part}_due") - getattr(row, f"{part}_paid") for part in PARTS}
        taken = {}
        for part in PARTS:
            take = min(unpaid[part], remaining)
            if take > 0:
                taken[part], remaining = take, remaining - take
        if taken:
            parts.append((row.id, taken))
            interest += taken.get("interest", ZERO)
        left = sum(unpaid.values(), ZERO) - sum(taken.values(), ZERO)
        owed += left
        principal += unpaid["principal"] - taken.get("principal", ZERO)
        if left > 0:
            oldest = min(oldest or row.due_date, row.due_date)
    position = {"oldest_unpaid_due": oldest, "principal_outstanding": principal}
    if owed == 0:  # nothing left unpaid: the loan is repaid
        position.update(status=LoanStatus.CLOSED, closed_at=utcnow())
    elif (oldest, principal) == (loan.oldest_unpaid_due, loan.principal_outstanding):
        position = {}
    return _Plan(loan.id, loan.customer_id, loan.loan_number, loan.user_id, amount, parts, interest, remaining,
                 owed, position)


def _post(plan: _Plan, debit_gl: Gl, *, actor: User | None, deposit_account_id: int | None = None) -> int:
    """The payment's one journal entry: money in, receivable down, interest earned, any excess saved."""
    lines = [ledger.Line(debit_gl, plan.amount, plan.customer_id, deposit_account_id=deposit_account_id),
             ledger.Line(Gl.LOANS_RECEIVABLE, -(plan.amount - plan.overpayment), plan.customer_id, plan.loan_id),
             ledger.Line(Gl.UNEARNED_INTEREST, plan.interest, plan.customer_id, plan.loan_id),
             ledger.Line(Gl.INTEREST_INCOME, -plan.interest, plan.customer_id, plan.loan_id)]
    if plan.overpayment > 0:  # the customer's money, kept in their savings
        account = savings.account_for(db.session.get(Customer, plan.customer_id))
        lines.append(ledger.Line(Gl.CUSTOMER_DEPOSITS, -plan.overpayment, plan.customer_id,
                                 deposit_account_id=account.id))
    return ledger.record(EntryKind.REPAYMENT, lines, memo=f"repayment {plan.loan_number}", actor=actor)


_PAYMENTS = Payment.__table__


def _insert_unless_receipt_taken(dialect):
    # The receipt's unique index decides between deliveries: a taken receipt inserts nothing (and raises
    # nothing that would abort a PostgreSQL transaction). A payment without a receipt never conflicts.
    return (dialect.insert(_PAYMENTS).on_conflict_do_nothing(index_elements=[_PAYMENTS.c.receipt])
            .returning(_PAYMENTS.c.id))


_INSERT_PAYMENT = {"postgresql": _insert_unless_receipt_taken(postgresql),
                   "sqlite": _insert_unless_receipt_taken(sqlite)}


def _insert_payment(conn: Connection, values: dict, *, entry_id: int, plan: _Plan | None = None) -> Payment:
    """Insert the payment row; a receipt already taken raises _Duplicate."""
    if plan is not None:
        values = {**values, "loan_id": plan.loan_id, "customer_id": plan.customer_id,
                  "status": PaymentStatus.APPLIED, "overpayment": plan.overpayment}
    values = {"phone": None, "account_reference": None, "customer_id": None, "loan_id": None,
              "overpayment": ZERO, "recorded_by_id": None, "receipt": None, **values,
              "entry_id": entry_id, "received_at": utcnow(), "reversal_entry_id": None, "reversal_reason": None}
    payment_id = conn.execute(_INSERT_PAYMENT[conn.dialect.name], values).scalar()
    if payment_id is None:
        raise _Duplicate
    return _attached(Payment, {**values, "id": payment_id})


def _attached(model, values: dict):
    """The session's object for a row just inserted with `values` (no SELECT to load it back)."""
    obj = model(**values)
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


_INSTALLMENTS = Installment.__table__
_PAY_INSTALLMENT = _INSTALLMENTS.update().where(_INSTALLMENTS.c.id == bindparam("row_id")).values(
    {_INSTALLMENTS.c[f"{part}_paid"]: _INSTALLMENTS.c[f"{part}_paid"] + bindparam(part, type_=Money())
     for part in PARTS})
_INSERT_ALLOCATION = insert(PaymentAllocation.__table__)
_INSERT_TRANSACTION = insert(Transaction.__table__)


def _settle(conn: Connection, plan: _Plan, payment: Payment, entry_id: int, *, actor: User | None) -> None:
    """Write what `plan` says: installments paid, the allocations a reversal re-opens, the loan's position,
    000's transaction record; audit a person's repayment (or one that closes the loan); tell the borrower."""
    if plan.parts:
        conn.execute(_PAY_INSTALLMENT, [{"row_id": inst_id, **{part: taken.get(part, ZERO) for part in PARTS}}
                                        for inst_id, taken in plan.parts])
        conn.execute(_INSERT_ALLOCATION, [
            {"payment_id": payment.id, "entry_id": entry_id, "installment_id": inst_id,
             **{part: taken.get(part, ZERO) for part in PARTS}} for inst_id, taken in plan.parts])
    if plan.position:
        conn.execute(update(Loan.__table__).where(Loan.__table__.c.id == plan.loan_id).values(plan.position))
    _record_transaction(conn, plan.customer_id, TransactionKind.LOAN_REPAYMENT, plan.amount, entry_id,
                        source=payment.source, actor=actor, loan_id=plan.loan_id, balance_after=plan.owed)
    _forget(Loan, [plan.loan_id])
    _forget(Installment, [inst_id for inst_id, _ in plan.parts])
    db.session.expire(payment, ["allocations"])
    if actor is not None or plan.position.get("status") == LoanStatus.CLOSED:
        # A gateway's receipt is on record three times over (payment, entry, transaction); the trail
        # keeps what people do, and every loan a payment closes.
        audit.record(actor, "repayment.apply", "payment", payment.id, after={
            "loan": plan.loan_number, "amount": str(plan.amount), "overpayment": str(plan.overpayment)})
    if plan.user_id is not None:
        notifier.notify(db.session.get(User, plan.user_id), "repayment", "Payment received",
                        f"We received {plan.amount:,.2f} for loan {plan.loan_number}. "
                        f"Balance {plan.owed:,.2f}." +
                        (f" {plan.overpayment:,.2f} extra went to your savings." if plan.overpayment else ""))


def _record_transaction(conn: Connection, customer_id: int, kind: TransactionKind, amount: Decimal, entry_id: int, *,
                        source: PaymentSource, actor: User | None, loan_id: int | None = None,
                        balance_after: Decimal | None = None) -> None:
    """000's customer-facing record of the movement (what savings.record writes, in one INSERT)."""
    conn.execute(_INSERT_TRANSACTION, {
        "code": savings.transaction_code(), "customer_id": customer_id, "kind": kind, "amount": amount,
        "source": source.value, "balance_after": balance_after, "entry_id": entry_id, "loan_id": loan_id,
        "created_by_id": actor.id if actor else None, "created_at": utcnow()})


def _forget(model, ids) -> None:
    """Expire the session's copies of rows written past the ORM, so they reload what was written."""
    for row_id in ids:
        obj = db.session.identity_map.get(identity_key(model, row_id))
        if obj is not None:
            db.session.expire(obj)


@atomic
def assign(payment: Payment, loan: Loan, *, actor: User) -> Payment:
    """Apply a payment held in suspense to a loan (the reconciliation queue)."""
    permissions.require(actor, "repayment.reconcile")
    if payment.status != PaymentStatus.UNMATCHED:
        raise Conflict("Only unmatched payments can be assigned.")
    conn = db.session.connection()
    plan = _plan(conn, loan.id, payment.amount)
    entry_id = _post(plan, Gl.SUSPENSE, actor=actor)
    payment.loan_id, payment.customer_id, payment.status = plan.loan_id, plan.customer_id, PaymentStatus.APPLIED
    payment.entry_id, payment.overpayment = entry_id, plan.overpayment
    db.session.flush()
    _settle(conn, plan, payment, entry_id, actor=actor)
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
        theirs = Payment.customer_id.in_(permissions.visible_customers(actor).with_only_columns(Customer.id))
        # Money in suspense belongs to no customer yet, so to no team: whoever reconciles sees it.
        stmt = stmt.where(or_(theirs, Payment.customer_id.is_(None))
                          if permissions.can(actor, "repayment.reconcile") else theirs)
    if status is not None:
        stmt = stmt.where(Payment.status == status)
    return stmt


def in_suspense(actor: User):
    """A SELECT of the payments held in suspense, newest first: the reconciliation queue."""
    permissions.require(actor, "repayment.reconcile")
    return visible_payments(actor, status=PaymentStatus.UNMATCHED)


def installments_due(customer: Customer, *, limit: int = 50) -> list[Installment]:
    """A customer's unpaid installments on active loans, soonest first."""
    return list(db.session.scalars(
        select(Installment).join(Loan).where(Loan.customer_id == customer.id, Loan.status == LoanStatus.DISBURSED)
        .where(Installment.principal_due + Installment.interest_due + Installment.fee_due + Installment.penalty_due
               > Installment.principal_paid + Installment.interest_paid + Installment.fee_paid
               + Installment.penalty_paid)
        .order_by(Installment.due_date, Installment.id).limit(limit)))


