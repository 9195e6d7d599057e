"""Arrears: days past due, penalty accrual (idempotent per day) and PAR buckets, in SQL."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from sqlalchemy import Integer, bindparam, case, func, select, text, type_coerce

from portal.models import EntryKind, Frequency, Gl, Installment, Loan, LoanStatus
from portal.models.base import db
from portal.services import ledger
from portal.services.money import ZERO

PERIOD_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.FORTNIGHTLY: 14, Frequency.MONTHLY: 30}
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def penalty_cents(overdue_cents: int, rate: Decimal, periods: int) -> int:
    """rate% of the overdue amount, per period, rounded half-up to the cent (integer cents in and out)."""
    return int((Decimal(overdue_cents) * rate * periods / 100).to_integral_value(rounding=ROUND_HALF_UP))


def periods_late(due: date, on: date, grace_days: int, frequency: Frequency) -> int:
    """Periods begun since the grace days after `due` ended (0 while within grace)."""
    late = (on - due).days - grace_days
    return 0 if late <= 0 else (late - 1) // PERIOD_DAYS[frequency] + 1


_cents = partial(type_coerce, type_=Integer)  # raw integer cents: no Decimal per column per row in the hot loop
OVERDUE_ROWS = (
    select(Installment.id, Installment.loan_id, Installment.due_date,
           _cents(Installment.principal_due + Installment.interest_due + Installment.fee_due
                  - Installment.principal_paid - Installment.interest_paid - Installment.fee_paid).label("overdue"),
           _cents(Installment.penalty_due).label("penalty"),
           Loan.customer_id, Loan.loan_number, Loan.penalty_rate, Loan.grace_days, Loan.frequency)
    .join(Loan, Loan.id == Installment.loan_id).order_by(Installment.loan_id, Installment.number))
SET_PENALTY = (Installment.__table__.update().where(Installment.__table__.c.id == bindparam("row_id"))
               .values(penalty_due=bindparam("cents", type_=Integer)))
# PostgreSQL: the whole batch as two arrays in one statement (a statement per row costs a round trip each).
SET_PENALTIES_PG = text("UPDATE installments SET penalty_due = v.cents "
                        "FROM unnest(CAST(:ids AS integer[]), CAST(:cents AS bigint[])) AS v(row_id, cents) "
                        "WHERE installments.id = v.row_id")


def set_penalties(updates: list[dict]) -> None:
    """Write new penalty amounts (integer cents): one statement on PostgreSQL, an in-process
    executemany on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(SET_PENALTIES_PG, {"ids": [u["row_id"] for u in updates],
                                              "cents": [u["cents"] for u in updates]})
    else:
        db.session.execute(SET_PENALTY, updates)


def accrue_penalties(on: date, batch: int = 5000) -> tuple[int, Decimal]:
    """Charge what each overdue installment's penalty should be by `on` and is not yet.

    Set-based, a batch of loans at a time: plain rows in, one bulk UPDATE of installments and
    two bulk INSERTs into the ledger out. A charged penalty is never lowered (only a reversal
    removes it), so running it twice for one day charges nothing the second time.
    Returns (loans charged, total charged).
    """
    charged, total, after_id = 0, ZERO, 0
    while True:
        loan_ids = list(db.session.scalars(
            select(Loan.id).where(Loan.status == LoanStatus.DISBURSED, Loan.penalty_rate > 0,
                                  Loan.oldest_unpaid_due < on, Loan.id > after_id)
            .order_by(Loan.id).limit(batch)))
        if not loan_ids:
            db.session.expire_all()  # loaded installments and loans must see the new penalties
            return charged, total
        after_id = loan_ids[-1]
        updates, deltas = [], {}
        for row in db.session.execute(OVERDUE_ROWS.where(Installment.loan_id.in_(loan_ids),
                                                         Installment.due_date < on)):
            periods = periods_late(row.due_date, on, row.grace_days, row.frequency)
            extra = penalty_cents(row.overdue, row.penalty_rate, periods) - row.penalty if periods else 0
            if extra > 0:
                updates.append({"row_id": row.id, "cents": row.penalty + extra})
                loan_total = deltas.setdefault(row.loan_id, [row.customer_id, row.loan_number, 0])
                loan_total[2] += extra
        if updates:
            set_penalties(updates)
            # One entry per batch, with a receivable and an income posting per loan (so each loan's
            # balance and the income it earned still come from its postings).
            batch_cents = sum(cents for _c, _n, cents in deltas.values())
            ledger.post_many(EntryKind.PENALTY, [(
                f"late penalties to {on:%Y-%m-%d} on {len(deltas)} loans",
                [line for loan_id, (customer_id, _number, cents) in deltas.items() for line in (
                    ledger.Line(Gl.LOANS_RECEIVABLE, Decimal(cents) / 100, customer_id, loan_id),
                    ledger.Line(Gl.PENALTY_INCOME, -Decimal(cents) / 100, customer_id, loan_id))])])
            charged += len(deltas)
            total += Decimal(batch_cents) / 100


@dataclass
class Bucket:
    name: str
    loans: int
    principal: Decimal


def par_buckets(today: date, loan_filter=None) -> list[Bucket]:
    """Active loans by days past due, with their outstanding principal: one GROUP BY.

    Cut-offs are dates computed here, so the SQL is the same on SQLite and PostgreSQL.
    """
    due = Loan.oldest_unpaid_due
    bucket = case(
        (due.is_(None) | (due >= today), "current"),
        (due >= today - timedelta(days=30), "1-30"),
        (due >= today - timedelta(days=60), "31-60"),
        (due >= today - timedelta(days=90), "61-90"),
        else_="90+").label("bucket")
    stmt = select(bucket, func.count(), func.sum(Loan.principal_outstanding)).where(
        Loan.status == LoanStatus.DISBURSED)
    if loan_filter is not None:
        stmt = stmt.where(loan_filter)
    rows = {name: (count, amount or ZERO) for name, count, amount in db.session.execute(stmt.group_by(bucket))}
    return [Bucket(name, *rows.get(name, (0, ZERO))) for name in BUCKETS]
