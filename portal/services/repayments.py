"""Repayments: matched to a loan, allocated penalties -> fees -> interest -> principal, oldest
installment first; overpayment to savings; unmatched money to suspense; reversals re-open.

One M-Pesa receipt is one payment however often, and however concurrently, it is delivered:
the receipt is a unique column and the insert is the check.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ScalarSelect, bindparam, case, func, insert, literal, or_, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
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
    """The outcome of a delivery: its payment, and whether this delivery created it."""

    payment_id: int
    created: bool

    @property
    def payment(self) -> Payment:
        """Loaded when asked for: the booker needs only the id, and builds no objects for a batch."""
        return db.session.get(Payment, self.payment_id)


@dataclass(frozen=True)
class Delivery:
    """An M-Pesa payment as notified, already checked: receipt code as stored, amount, payer, reference."""

    receipt: str
    amount: Decimal
    phone: str | None = None
    reference: str | None = None


class _Duplicate(Exception):
    """A receipt was taken by another delivery: undo this booking's savepoint."""


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
_BY_PHONES = (select(Customer.phone, Customer.id, _oldest_active(Customer.id))
              .where(Customer.phone.in_(bindparam("phones", expanding=True))).order_by(Customer.id))

Match = tuple[int | None, int | None]  # (customer id, active loan id)


def _match(conn: Connection, delivery: Delivery) -> Match:
    """Find whose money this is: by account reference (loan number, account number or customer code)
    first, then by phone to the customer's oldest active loan."""
    return _match_many(conn, [delivery])[0]


def _match_many(conn: Connection, deliveries: list[Delivery]) -> list[Match]:
    """`_match` for each delivery: those naming a reference one by one, those by phone alone in one query."""
    found: dict[int, Match] = {}
    for i, delivery in enumerate(deliveries):
        if ref := (delivery.reference or "").strip():
            row = (conn.execute(_BY_LOAN_NUMBER, {"ref": ref}).first()
                   or conn.execute(_BY_ACCOUNT, {"account": ref.lower(), "code": ref.upper()}).first())
            if row is not None:
                found[i] = (row[0], row[1])
    numbers = {i: number for i, d in enumerate(deliveries)
               if i not in found and d.phone and (number := phones.search_form(d.phone))}
    if numbers:
        by_phone: dict[str, Match] = {}
        for phone, customer_id, loan_id in conn.execute(_BY_PHONES, {"phones": sorted(set(numbers.values()))}):
            by_phone.setdefault(phone, (customer_id, loan_id))  # two customers on one phone: the first
        found.update((i, by_phone[number]) for i, number in numbers.items() if number in by_phone)
    return [found.get(i, (None, None)) for i in range(len(deliveries))]


def receive_mpesa(*, receipt: str, amount, phone: str | None = None, reference: str | None = None) -> Receipt:
    """Take in an M-Pesa payment (001's webhook, Daraja C2B or STK, once booked): apply it, or hold it
    in suspense."""
    return receive_mpesa_many([Delivery(receipt_code(receipt), payment_amount(amount), phone, reference)])[0]


def receive_mpesa_many(deliveries: list[Delivery]) -> list[Receipt]:
    """Book M-Pesa payments together (the booker's batches): those that pay active loans in a fixed
    number of statements, whatever their number. All are booked, or none (it raises); a caller that
    must isolate one that fails books them one at a time.

    The payment rows are inserted after their journal entries and before anything else moves; if another
    delivery already holds a receipt, the savepoint (entries included) is rolled back and each delivery
    is then taken alone, so one that was a repeat is answered with its payment.
    """
    try:
        booked = _receive_many(deliveries)
    except _Duplicate:
        if len(deliveries) > 1:
            return [receive_mpesa_many([delivery])[0] for delivery in deliveries]
        payment_id = db.session.scalars(select(Payment.id).where(Payment.receipt == deliveries[0].receipt)).one()
        return [Receipt(payment_id, False)]
    return [Receipt(booked[d.receipt], True) for d in deliveries]


@atomic
def _receive_many(deliveries: list[Delivery]) -> dict[str, int]:
    conn = db.session.connection()
    matches = _match_many(conn, deliveries)
    payments, closed = _repay_many(conn, [(d, loan_id) for d, (_, loan_id) in zip(deliveries, matches, strict=True)
                                          if loan_id is not None])
    for delivery, (customer_id, loan_id) in zip(deliveries, matches, strict=True):
        if delivery.receipt in payments:
            continue
        if loan_id in closed:  # an earlier payment of this batch repaid it: match this one afresh
            customer_id, loan_id = _match(conn, delivery)
            if loan_id is not None:
                payments.update(_repay_many(conn, [(delivery, loan_id)])[0])
                continue
        payments[delivery.receipt] = (_to_savings(conn, delivery, customer_id) if customer_id is not None
                                      else _to_suspense(conn, delivery))
    return payments


def _mpesa_values(delivery: Delivery) -> dict:
    return {"source": PaymentSource.MPESA, "receipt": delivery.receipt, "amount": delivery.amount,
            "phone": delivery.phone, "account_reference": delivery.reference}


def _repay_many(conn: Connection, items: list[tuple[Delivery, int]]) -> tuple[dict[str, int], set[int]]:
    """Apply each delivery to its loan, in order; the ids of the loans a payment closed. A delivery whose
    loan an earlier one closed is left out, for the caller to match again."""
    if not items:
        return {}, set()
    paying: dict[int, Decimal] = {}
    for delivery, loan_id in items:
        paying[loan_id] = paying.get(loan_id, ZERO) + delivery.amount
    books = _open_books(conn, paying)
    taken, plans, closed = [], [], set()
    for delivery, loan_id in items:
        if loan_id in closed:
            continue
        plan = books[loan_id].allocate(delivery.amount)
        taken.append(delivery)
        plans.append(plan)
        if plan.position.get("status") == LoanStatus.CLOSED:
            closed.add(loan_id)
    entry_ids = _post(plans, Gl.CASH, actor=None)
    payment_ids = [row["id"] for row in _insert_payments(conn, [_mpesa_values(d) for d in taken], entry_ids=entry_ids,
                                                         plans=plans)]
    _settle(conn, plans, payment_ids, entry_ids, source=PaymentSource.MPESA, actor=None)
    return {d.receipt: payment_id for d, payment_id in zip(taken, payment_ids, strict=True)}, closed


def _to_savings(conn: Connection, delivery: Delivery, customer_id: int) -> int:
    """A known customer with no active loan: the money is theirs, in savings."""
    account = savings.account_for(db.session.get(Customer, customer_id))
    entry_id = ledger.record(EntryKind.DEPOSIT, [
        ledger.Line(Gl.CASH, delivery.amount, customer_id),
        ledger.Line(Gl.CUSTOMER_DEPOSITS, -delivery.amount, customer_id, deposit_account_id=account.id)],
        memo=f"payment {delivery.receipt} to savings (no active loan)")
    payment, = _insert_payments(conn, [{**_mpesa_values(delivery), "customer_id": customer_id,
                                        "status": PaymentStatus.APPLIED, "overpayment": delivery.amount}],
                                entry_ids=[entry_id])
    balance = db.session.scalar(select(DepositAccount.balance).where(DepositAccount.id == account.id))
    conn.execute(_INSERT_TRANSACTION, _transaction(customer_id, TransactionKind.DEPOSIT, delivery.amount, entry_id,
                                                   source=PaymentSource.MPESA, actor=None, balance_after=balance))
    return payment["id"]


def _to_suspense(conn: Connection, delivery: Delivery) -> int:
    """Nobody matched: the money waits in suspense for the reconciliation queue."""
    entry_id = ledger.record(EntryKind.SUSPENSE_IN, [ledger.Line(Gl.CASH, delivery.amount),
                                                     ledger.Line(Gl.SUSPENSE, -delivery.amount)],
                             memo=f"unmatched M-Pesa {delivery.receipt} from {delivery.phone or 'unknown'}")
    payment, = _insert_payments(conn, [{**_mpesa_values(delivery), "status": PaymentStatus.UNMATCHED}],
                                entry_ids=[entry_id])
    return payment["id"]


def _repay(conn: Connection, loan_id: int, amount: Decimal, debit_gl: Gl, values: dict, *, actor: User,
           deposit_account_id: int | None = None) -> Payment:
    """One payment by a person onto one loan: allocated, posted from `debit_gl`, settled."""
    plan = _open_books(conn, {loan_id: amount})[loan_id].allocate(amount)
    entry_ids = _post([plan], debit_gl, actor=actor, deposit_account_id=deposit_account_id)
    payment, = _insert_payments(conn, [{**values, "amount": amount, "recorded_by_id": actor.id}],
                                entry_ids=entry_ids, plans=[plan])
    _settle(conn, [plan], [payment["id"]], entry_ids, source=values["source"], actor=actor)
    return _attached(Payment, payment)


@atomic
def record_payment(loan: Loan, raw_amount, *, actor: User, source: PaymentSource = PaymentSource.CASH) -> Payment:
    """A repayment recorded by a person: cash at a branch, or M-Pesa sent without a receipt to match."""
    permissions.require(actor, "repayment.record")
    customers.ensure_visible(loan.customer, actor)
    return _repay(db.session.connection(), loan.id, payment_amount(raw_amount), Gl.CASH, {"source": source},
                  actor=actor)


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
    return _repay(db.session.connection(), loan.id, amount, Gl.CUSTOMER_DEPOSITS,
                  {"source": PaymentSource.SAVINGS}, actor=actor, deposit_account_id=account.id)


def _lock(loan: Loan) -> Loan:
    """Serialize money writes on one loan (PostgreSQL row lock; SQLite's write lock is already held)."""
    return db.session.scalars(select(Loan).where(Loan.id == loan.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


PARTS = ("penalty", "fee", "interest", "principal")  # the order a payment pays them in
_DUE = [getattr(Installment, f"{part}_due") for part in PARTS]
_PAID = [getattr(Installment, f"{part}_paid") for part in PARTS]
# The loans, locked in id order (PostgreSQL row locks; SQLite's write lock is already held). Their
# installments are read by a statement of their own, after the locks are granted: a row joined into a
# locking SELECT that had to wait would come from before the wait, and another payment may have just paid it.
_LOCK_LOANS = (select(Loan.id, Loan.customer_id, Loan.loan_number, Loan.status, Loan.oldest_unpaid_due,
                      Loan.principal_outstanding, Customer.user_id)
               .join(Customer, Customer.id == Loan.customer_id)
               .where(Loan.id.in_(bindparam("loan_ids", expanding=True))).order_by(Loan.id).with_for_update(of=Loan))

def _unpaid_from_the_oldest():
    """The unpaid installments of the loans, oldest first, as far as a payment of `reach` gets: those with
    no more than that owed before them, which is those it touches and the next (the oldest unpaid once
    it is made). Each row carries its loan's totals still owed, so a payment reads a couple of
    installments however long the schedule is."""
    unpaid = sum((due - paid for due, paid in zip(_DUE, _PAID, strict=True)), literal(0))
    by_loan = {"partition_by": Installment.loan_id}
    rows = (select(Installment.loan_id, Installment.id, Installment.number, Installment.due_date,
                   *((due - paid).label(part) for part, due, paid in zip(PARTS, _DUE, _PAID, strict=True)),
                   (func.sum(unpaid).over(**by_loan, order_by=Installment.number) - unpaid).label("before"),
                   func.sum(unpaid).over(**by_loan).label("loan_owed"),
                   func.sum(Installment.principal_due - Installment.principal_paid).over(**by_loan)
                   .label("loan_principal"))
            .where(Installment.loan_id.in_(bindparam("loan_ids", expanding=True)), unpaid > 0).subquery())
    return (select(rows.c.loan_id, rows.c.id, rows.c.due_date,
                   *(type_coerce(rows.c[part], Money()) for part in PARTS),
                   type_coerce(rows.c.loan_owed, Money()), type_coerce(rows.c.loan_principal, Money()))
            .where(rows.c.before <= bindparam("reach", type_=Money())).order_by(rows.c.loan_id, rows.c.number))


_UNPAID = _unpaid_from_the_oldest()


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


class _Book:
    """A locked loan and what it still owes, as payments are allocated to it: a second payment in the same
    batch takes up where the first left off. Only the oldest unpaid installments a payment can reach are
    read; the loan's totals come with them."""

    def __init__(self, loan):
        if loan.status != LoanStatus.DISBURSED:
            raise Conflict(f"Loan {loan.loan_number} is {loan.status.value}: it takes no repayments.")
        self.loan = loan
        self.position = (loan.oldest_unpaid_due, loan.principal_outstanding)
        self.unpaid: list[tuple[int, date, dict[str, Decimal]]] = []  # (installment id, due date, {part: unpaid})
        self.owed = self.principal = ZERO  # what the whole loan still owes, and of it principal

    def allocate(self, amount: Decimal) -> _Plan:
        """Allocate `amount`: penalty, fee, interest, principal, oldest installment first."""
        remaining, interest, principal, parts = amount, ZERO, ZERO, []
        for inst_id, _, unpaid in self.unpaid:
            if not remaining:
                break
            taken = {}
            for part in PARTS:
                take = min(unpaid[part], remaining)
                if take > 0:
                    taken[part], remaining = take, remaining - take
                    unpaid[part] -= take
            if taken:
                parts.append((inst_id, taken))
                interest += taken.get("interest", ZERO)
                principal += taken.get("principal", ZERO)
        self.owed -= amount - remaining
        self.principal -= principal
        oldest = next((due_date for _, due_date, unpaid in self.unpaid if any(unpaid.values())), None)
        loan = self.loan
        position = {"oldest_unpaid_due": oldest, "principal_outstanding": self.principal}
        if self.owed == 0:  # nothing left unpaid: the loan is repaid
            position.update(status=LoanStatus.CLOSED, closed_at=utcnow())
        elif (oldest, self.principal) == self.position:
            position = {}
        self.position = (oldest, self.principal)
        return _Plan(loan.id, loan.customer_id, loan.loan_number, loan.user_id, amount, parts, interest, remaining,
                     self.owed, position)


def _open_books(conn: Connection, paying: dict[int, Decimal]) -> dict[int, _Book]:
    """Lock the loans and read what each still owes, as far as what it is being paid (`paying`: loan id to
    the amount) can reach: two statements however many loans."""
    params = {"loan_ids": sorted(paying)}
    books = {loan.id: _Book(loan) for loan in conn.execute(_LOCK_LOANS, params)}
    # One reach for all (the largest): a loan may read an installment more than it needs, never one less.
    for loan_id, installment_id, due_date, *unpaid, owed, principal in conn.execute(
            _UNPAID, {**params, "reach": max(paying.values())}):
        book = books[loan_id]
        book.unpaid.append((installment_id, due_date, dict(zip(PARTS, unpaid, strict=True))))
        book.owed, book.principal = owed, principal
    return books


def _post(plans: list[_Plan], debit_gl: Gl, *, actor: User | None, deposit_account_id: int | None = None) -> list[int]:
    """Each payment's one journal entry: money in, receivable down, interest earned, any excess saved."""
    entries = []
    for plan in plans:
        lines = [ledger.Line(debit_gl, plan.amount, plan.customer_id, deposit_account_id=deposit_account_id),
                 ledger.Line(Gl.LOANS_RECEIVABLE, -(plan.amount - plan.overpayment), plan.customer_id, plan.loan_id),
                 ledger.Line(Gl.UNEARNED_INTEREST, plan.interest, plan.customer_id, plan.loan_id),
                 ledger.Line(Gl.INTEREST_INCOME, -plan.interest, plan.customer_id, plan.loan_id)]
        if plan.overpayment > 0:  # the customer's money, kept in their savings
            account = savings.account_for(db.session.get(Customer, plan.customer_id))
            lines.append(ledger.Line(Gl.CUSTOMER_DEPOSITS, -plan.overpayment, plan.customer_id,
                                     deposit_account_id=account.id))
        entries.append((lines, f"repayment {plan.loan_number}"))
    return ledger.record_many(EntryKind.REPAYMENT, entries, actor=actor)


_PAYMENTS = Payment.__table__


def _insert_unless_receipt_taken(dialect):
    # The receipt's unique index decides between deliveries: a taken receipt inserts nothing (and raises
    # nothing that would abort a PostgreSQL transaction). A payment without a receipt never conflicts.
    return (dialect.insert(_PAYMENTS).on_conflict_do_nothing(index_elements=[_PAYMENTS.c.receipt])
            .returning(_PAYMENTS.c.id))


_INSERT_PAYMENT = {"postgresql": _insert_unless_receipt_taken(postgresql),
                   "sqlite": _insert_unless_receipt_taken(sqlite)}
# Several at once (a batch of receipts): batched into multi-row INSERTs, which an ON CONFLICT insert is not;
# a receipt taken meanwhile makes it raise instead, and the batch is then booked one receipt at a time.
_INSERT_PAYMENTS = insert(_PAYMENTS).returning(_PAYMENTS.c.id, _PAYMENTS.c.receipt)


def _insert_payments(conn: Connection, values: list[dict], *, entry_ids: list[int],
                     plans: list[_Plan] | None = None) -> list[dict]:
    """Insert the payment rows; what was inserted, ids included. A receipt already taken raises _Duplicate."""
    now = utcnow()
    rows = []
    for i, row in enumerate(values):
        if plans is not None:
            plan = plans[i]
            row = {**row, "loan_id": plan.loan_id, "customer_id": plan.customer_id, "status": PaymentStatus.APPLIED,
                   "overpayment": plan.overpayment}
        rows.append({"phone": None, "account_reference": None, "customer_id": None, "loan_id": None,
                     "overpayment": ZERO, "recorded_by_id": None, "receipt": None, **row, "entry_id": entry_ids[i],
                     "received_at": now, "reversal_entry_id": None, "reversal_reason": None})
    if len(rows) == 1:
        ids = [conn.execute(_INSERT_PAYMENT[conn.dialect.name], rows[0]).scalar()]
        if ids[0] is None:
            raise _Duplicate
    else:  # M-Pesa's: each has its receipt, which tells the rows RETURNING gives apart
        try:
            by_receipt = dict((r.receipt, r.id) for r in conn.execute(_INSERT_PAYMENTS, rows))
        except IntegrityError:
            raise _Duplicate from None
        ids = [by_receipt[row["receipt"]] for row in rows]
    return [{**row, "id": payment_id} for row, payment_id in zip(rows, ids, strict=True)]


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
_LOANS = Loan.__table__
_MOVE_LOAN = _LOANS.update().where(_LOANS.c.id == bindparam("row_id"))  # SET: the keys of the parameters
_INSERT_ALLOCATION = insert(PaymentAllocation.__table__)
_INSERT_TRANSACTION = insert(Transaction.__table__)


def _settle(conn: Connection, plans: list[_Plan], payment_ids: list[int], entry_ids: list[int], *,
            source: PaymentSource, actor: User | None) -> None:
    """Write what the plans say: installments paid, the allocations a reversal re-opens, the loans' positions,
    000's transaction records, one statement each; audit a person's repayment (or one that closes the loan);
    tell the borrower."""
    paid = [(plan, payment_id, entry_id, inst_id, taken)
            for plan, payment_id, entry_id in zip(plans, payment_ids, entry_ids, strict=True)
            for inst_id, taken in plan.parts]
    if paid:
        conn.execute(_PAY_INSTALLMENT, [{"row_id": inst_id, **{part: taken.get(part, ZERO) for part in PARTS}}
                                        for _, _, _, inst_id, taken in paid])
        conn.execute(_INSERT_ALLOCATION, [
            {"payment_id": payment_id, "entry_id": entry_id, "installment_id": inst_id,
             **{part: taken.get(part, ZERO) for part in PARTS}} for _, payment_id, entry_id, inst_id, taken in paid])
    # A loan's position moves in one of two shapes (still open, or closed); in order within each, and a loan
    # is closed by its last payment of the batch.
    for closing in (False, True):
        moves = [{"row_id": plan.loan_id, **plan.position} for plan in plans
                 if plan.position and (plan.position.get("status") == LoanStatus.CLOSED) == closing]
        if moves:
            conn.execute(_MOVE_LOAN, moves)
    conn.execute(_INSERT_TRANSACTION, [
        _transaction(plan.customer_id, TransactionKind.LOAN_REPAYMENT, plan.amount, entry_id, source=source,
                     actor=actor, loan_id=plan.loan_id, balance_after=plan.owed)
        for plan, entry_id in zip(plans, entry_ids, strict=True)])
    _forget(Loan, {plan.loan_id for plan in plans})
    _forget(Installment, [inst_id for _, _, _, inst_id, _ in paid])
    _forget(Payment, payment_ids)  # one the session holds reloads, allocations included
    for plan, payment_id in zip(plans, payment_ids, strict=True):
        if actor is not None or plan.position.get("status") == LoanStatus.CLOSED:
            # A gateway's receipt is on record three times over (payment, entry, transaction); the trail
            # keeps what people do, and every loan a payment closes.
            audit.record(actor, "repayment.apply", "payment", payment_id, after={
                "loan": plan.loan_number, "amount": str(plan.amount), "overpayment": str(plan.overpayment)})
        if plan.user_id is not None:
            notifier.notify(db.session.get(User, plan.user_id), "repayment", "Payment received",
                            f"We received {plan.amount:,.2f} for loan {plan.loan_number}. "
                            f"Balance {plan.owed:,.2f}." +
                            (f" {plan.overpayment:,.2f} extra went to your savings." if plan.overpayment else ""))


def _transaction(customer_id: int, kind: TransactionKind, amount: Decimal, entry_id: int, *, source: PaymentSource,
                 actor: User | None, loan_id: int | None = None, balance_after: Decimal | None = None) -> dict:
    """000's customer-facing record of a movement (the row savings.record writes)."""
    return {"code": savings.transaction_code(), "customer_id": customer_id, "kind": kind, "amount": amount,
            "source": source.value, "balance_after": balance_after, "entry_id": entry_id, "loan_id": loan_id,
            "created_by_id": actor.id if actor else None, "created_at": utcnow()}


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
    plan = _open_books(conn, {loan.id: payment.amount})[loan.id].allocate(payment.amount)
    entry_ids = _post([plan], Gl.SUSPENSE, actor=actor)
    payment.loan_id, payment.customer_id, payment.status = plan.loan_id, plan.customer_id, PaymentStatus.APPLIED
    payment.entry_id, payment.overpayment = entry_ids[0], plan.overpayment
    db.session.flush()
    _settle(conn, [plan], [payment.id], entry_ids, source=payment.source, actor=actor)
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


