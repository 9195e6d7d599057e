"""The double-entry ledger: every money movement is one balanced journal entry.

Postings are never updated or deleted; a correction is a reversal entry. Deposit
balances are cached on their accounts and moved only here, atomically, so the cache
can always be checked against the postings (`verify`).
"""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm.util import identity_key

from portal.models import DepositAccount, EntryKind, Gl, Installment, JournalEntry, Loan, LoanStatus, Posting, User
from portal.models.base import db, utcnow
from portal.services.errors import Conflict, ValidationFailed
from portal.services.money import ZERO


@dataclass(frozen=True)
class Line:
    """One side of an entry: positive debits, negative credits."""

    gl: Gl
    amount: Decimal
    customer_id: int | None = None
    loan_id: int | None = None
    deposit_account_id: int | None = None


class InsufficientFunds(ValidationFailed):
    def __init__(self, available: Decimal):
        super().__init__({"amount": [f"Insufficient balance: {available:,.2f} available."]},
                         "Insufficient balance")
        self.available = available


def _balanced(lines: list[Line]) -> list[Line]:
    lines = [line for line in lines if line.amount != 0]
    if not lines or sum(line.amount for line in lines) != 0:
        raise ValueError(f"unbalanced or empty journal entry: {lines}")
    return lines


_INSERT_POSTING = insert(Posting.__table__)
_INSERT_ENTRY = insert(JournalEntry.__table__).returning(JournalEntry.__table__.c.id)
_INSERT_ENTRIES = insert(JournalEntry.__table__).returning(JournalEntry.__table__.c.id, sort_by_parameter_order=True)


def _insert_postings(entry_ids: list[int], line_sets: list[list[Line]]) -> None:
    db.session.connection().execute(_INSERT_POSTING, [
        {"entry_id": entry_id, "gl": line.gl, "amount": line.amount, "customer_id": line.customer_id,
         "loan_id": line.loan_id, "deposit_account_id": line.deposit_account_id}
        for entry_id, lines in zip(entry_ids, line_sets, strict=True) for line in lines])


def _move_deposits(lines: list[Line]) -> list[Line]:
    """Move the cached balance of each deposit account the lines touch (refusing an overdraft)."""
    net: dict[int, Decimal] = {}
    for line in lines:
        if line.deposit_account_id is not None:  # a credit to a deposit raises its balance
            net[line.deposit_account_id] = net.get(line.deposit_account_id, ZERO) - line.amount
    # One net move per account: an entry that takes and gives back is judged by what it leaves.
    for account_id, delta in sorted(net.items(), key=lambda item: item[1]):  # withdrawals (may refuse) first
        if delta:
            _move_deposit(account_id, delta)
    return lines


def post(kind: EntryKind, lines: list[Line], *, memo: str = "", actor: User | None = None,
         reverses: JournalEntry | None = None) -> JournalEntry:
    """Record one balanced entry. Deposit lines move their account's cached balance atomically."""
    lines = _move_deposits(_balanced(lines))
    entry = JournalEntry(kind=kind, memo=memo[:200], created_by_id=actor.id if actor else None,
                         reverses_id=reverses.id if reverses else None)
    db.session.add(entry)
    db.session.flush()
    _insert_postings([entry.id], [lines])
    return entry


def record(kind: EntryKind, lines: list[Line], *, memo: str = "", actor: User | None = None) -> int:
    """`post` in two INSERTs and no ORM objects (the hot paths: receipts, repayments); returns the entry id."""
    return record_many(kind, [(lines, memo)], actor=actor)[0]


def record_many(kind: EntryKind, entries: list[tuple[list[Line], str]], *, actor: User | None = None) -> list[int]:
    """`record` for several entries (lines, memo) of one kind, still in two INSERTs; their ids, in order."""
    line_sets = [_move_deposits(_balanced(lines)) for lines, _ in entries]
    now, actor_id = utcnow(), actor.id if actor else None
    entry_ids = list(db.session.connection().execute(_INSERT_ENTRIES, [
        {"kind": kind, "memo": memo[:200], "created_at": now, "created_by_id": actor_id, "reverses_id": None}
        for _, memo in entries]).scalars())
    _insert_postings(entry_ids, line_sets)
    return entry_ids


def new_entry(kind: EntryKind, memo: str, *, actor: User | None = None) -> int:
    """Insert an entry's header and return its id; its postings follow in the same transaction (from
    `record`, or a batch job's INSERT ... SELECT, which then proves the entry with `check_balanced`)."""
    return db.session.connection().execute(_INSERT_ENTRY, {
        "kind": kind, "memo": memo[:200], "created_at": utcnow(), "created_by_id": actor.id if actor else None,
        "reverses_id": None}).scalar_one()


def check_balanced(entry_id: int) -> None:
    """Refuse (raise, so the caller's transaction rolls back) a bulk-posted entry that does not balance,
    is empty, or touches a deposit account (whose balance only `post` and `record` move)."""
    total, count, deposits = db.session.execute(
        select(func.coalesce(func.sum(Posting.amount), 0), func.count(), func.count(Posting.deposit_account_id))
        .where(Posting.entry_id == entry_id)).one()
    if total != 0 or count == 0 or deposits:
        raise ValueError(f"journal entry {entry_id} is unbalanced, empty or moves a deposit in bulk")


def _move_deposit(account_id: int, delta: Decimal) -> None:
    """balance += delta in one statement that refuses to go below zero.

    One UPDATE ... WHERE balance + delta >= 0: on PostgreSQL the row lock it takes makes two
    concurrent withdrawals queue, and the second sees the first's result.
    """
    result = db.session.execute(
        update(DepositAccount).where(DepositAccount.id == account_id, DepositAccount.balance + delta >= 0)
        .values(balance=DepositAccount.balance + delta).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        available = db.session.scalar(select(DepositAccount.balance).where(DepositAccount.id == account_id))
        raise InsufficientFunds(available if available is not None else ZERO)
    cached = db.session.identity_map.get(identity_key(DepositAccount, account_id))
    if cached is not None:  # it must reload the new balance (only it: expiring everything cost a reload of all)
        db.session.expire(cached)


def reverse(entry: JournalEntry, *, memo: str, actor: User) -> JournalEntry:
    """Post the mirror image of `entry`; refused if it was already reversed."""
    if db.session.scalar(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)):
        raise Conflict("This entry has already been reversed.")
    lines = [Line(p.gl, -p.amount, p.customer_id, p.loan_id, p.deposit_account_id) for p in entry.postings]
    return post(EntryKind.REVERSAL, lines, memo=memo, actor=actor, reverses=entry)


def balance(gl: Gl, *, loan_id: int | None = None, deposit_account_id: int | None = None,
            customer_id: int | None = None) -> Decimal:
    """Signed sum of postings to `gl` (debit-positive), optionally for one loan, account or customer."""
    stmt = select(func.sum(Posting.amount)).where(Posting.gl == gl)
    if loan_id is not None:
        stmt = stmt.where(Posting.loan_id == loan_id)
    if deposit_account_id is not None:
        stmt = stmt.where(Posting.deposit_account_id == deposit_account_id)
    if customer_id is not None:
        stmt = stmt.where(Posting.customer_id == customer_id)
    return db.session.scalar(stmt) or ZERO


@dataclass
class LedgerReport:
    checks: dict[str, int] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaches


def verify() -> LedgerReport:
    """Check every invariant in SQL; report each breach (the CLI stops at the first)."""
    report = LedgerReport()
    unbalanced = db.session.execute(
        select(Posting.entry_id).group_by(Posting.entry_id).having(func.sum(Posting.amount) != 0).limit(5)).scalars()
    report.checks["entries"] = db.session.scalar(select(func.count()).select_from(JournalEntry)) or 0
    report.breaches += [f"journal entry {i} does not balance" for i in unbalanced]

    posted = (select(Posting.deposit_account_id.label("id"), func.sum(Posting.amount).label("total"))
              .where(Posting.gl == Gl.CUSTOMER_DEPOSITS, Posting.deposit_account_id.is_not(None))
              .group_by(Posting.deposit_account_id).subquery())
    drift = db.session.execute(
        select(DepositAccount.id, DepositAccount.balance, posted.c.total)
        .outerjoin(posted, posted.c.id == DepositAccount.id)
        .where(DepositAccount.balance != -func.coalesce(posted.c.total, 0)).limit(5)).all()
    report.checks["deposit accounts"] = db.session.scalar(select(func.count()).select_from(DepositAccount)) or 0
    report.breaches += [f"deposit account {row.id}: cached balance {row.balance} differs from its postings"
                        for row in drift]
    negative = db.session.scalars(select(DepositAccount.id).where(DepositAccount.balance < 0).limit(5))
    report.breaches += [f"deposit account {i} is below zero" for i in negative]

    receivable = (select(Posting.loan_id.label("id"), func.sum(Posting.amount).label("total"))
                  .where(Posting.gl == Gl.LOANS_RECEIVABLE, Posting.loan_id.is_not(None))
                  .group_by(Posting.loan_id).subquery())
    owed = (select(Installment.loan_id.label("id"), func.sum(
        Installment.principal_due + Installment.interest_due + Installment.fee_due + Installment.penalty_due
        - Installment.principal_paid - Installment.interest_paid - Installment.fee_paid - Installment.penalty_paid
    ).label("total")).group_by(Installment.loan_id).subquery())
    expected = case((Loan.status == LoanStatus.WRITTEN_OFF, 0), else_=func.coalesce(owed.c.total, 0))
    mismatched = db.session.execute(
        select(Loan.id, func.coalesce(receivable.c.total, 0).label("posted"), expected.label("owed"))
        .outerjoin(receivable, receivable.c.id == Loan.id).outerjoin(owed, owed.c.id == Loan.id)
        .where(Loan.status.in_([LoanStatus.DISBURSED, LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF]))
        .where(func.coalesce(receivable.c.total, 0) != expected).limit(5)).all()
    report.checks["loans"] = db.session.scalar(select(func.count()).select_from(Loan).where(
        Loan.status.in_([LoanStatus.DISBURSED, LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF]))) or 0
    report.breaches += [f"loan {row.id}: receivable postings differ from its schedule's outstanding"
                        for row in mismatched]
    return report
