"""Arrears: days past due, penalty accrual (idempotent per day) and PAR buckets, in SQL."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal.models import EntryKind, Frequency, Gl, Loan, LoanStatus
from portal.models.base import db
from portal.services import ledger, loans
from portal.services.money import ZERO, to_money

PERIOD_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.FORTNIGHTLY: 14, Frequency.MONTHLY: 30}
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def penalty_target(loan: Loan, installment, on: date) -> Decimal:
    """The penalty an installment should carry by `on`: rate x its overdue amount, per period begun after grace."""
    late = (on - installment.due_date).days - loan.grace_days
    if late <= 0 or loan.penalty_rate == 0:
        return ZERO
    periods = (late - 1) // PERIOD_DAYS[loan.frequency] + 1
    overdue = (installment.principal_due + installment.interest_due + installment.fee_due
               - installment.principal_paid - installment.interest_paid - installment.fee_paid)
    return to_money(overdue * loan.penalty_rate / 100 * periods)


def accrue_penalties(on: date, batch: int = 2000) -> tuple[int, Decimal]:
    """Charge what each overdue installment's penalty should be by `on` and is not yet.

    Running it twice for one day charges nothing the second time. Returns (loans charged, total).
    """
    charged, total, after_id = 0, ZERO, 0
    while True:
        batch_loans = db.session.scalars(
            select(Loan).where(Loan.status == LoanStatus.DISBURSED, Loan.penalty_rate > 0, Loan.id > after_id,
                               Loan.oldest_unpaid_due < on)
            .options(selectinload(Loan.installments)).order_by(Loan.id).limit(batch)).all()
        if not batch_loans:
            return charged, total
        for loan in batch_loans:
            delta = ZERO
            for inst in loan.installments:
                if inst.due_date >= on:
                    break
                extra = penalty_target(loan, inst, on) - inst.penalty_due
                if extra > 0:  # never lowered: a charged penalty is only removed by a reversal
                    inst.penalty_due += extra
                    delta += extra
            if delta > 0:
                ledger.post(EntryKind.PENALTY, [ledger.Line(Gl.LOANS_RECEIVABLE, delta, loan.customer_id, loan.id),
                                                ledger.Line(Gl.PENALTY_INCOME, -delta, loan.customer_id, loan.id)],
                            memo=f"late penalty {loan.loan_number} to {on:%Y-%m-%d}")
                loans.refresh_position(loan)
                charged, total = charged + 1, total + delta
            after_id = loan.id
        db.session.flush()


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
