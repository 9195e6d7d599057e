"""Arrears: days past due, penalty accrual (idempotent per day) and PAR buckets, in SQL."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import case, func, select, text

from portal.models import EntryKind, Frequency, Gl, Loan, LoanStatus
from portal.models.base import db, utcnow
from portal.services import ledger
from portal.services.money import ZERO

PERIOD_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.FORTNIGHTLY: 14, Frequency.MONTHLY: 30}
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


# The rule: an overdue installment (principal + interest + fee not yet paid) is charged rate% of that
# amount for every period begun since the grace days after its due date ended, rounded half-up to the
# cent; a charged penalty is never lowered. It is computed in SQL, in integer cents, so that 100,000
# loans cost a few statements and no Python per installment. rate has four decimals (Numeric(9, 4)):
# penalty = round_half_up(overdue x periods x rate_e4 / 1,000,000), split as q x rate_e4 plus the
# rounded rest so that no product can leave 64-bit integers.
CENTS_SQL = "(owed_periods / 1000000) * rate_e4 + ((owed_periods % 1000000) * rate_e4 + 500000) / 1000000"
_DAYS_LATE = {  # whole days from the installment's due date to :on
    "postgresql": "(CAST(:on AS date) - i.due_date)",
    "sqlite": "CAST(julianday(:on) - julianday(i.due_date) AS INTEGER)",
}
# Each late installment of a batch of loans whose penalty should now be higher: (id, loan_id,
# customer_id, cents it should be, penalty_due now).
_CHARGES = """
    SELECT id, loan_id, customer_id, cents, penalty_due FROM (
        SELECT id, loan_id, customer_id, penalty_due, {cents} AS cents
        FROM (
            SELECT i.id, i.loan_id, l.customer_id, i.penalty_due,
                   CAST(round(l.penalty_rate * 10000) AS BIGINT) AS rate_e4,
                   (i.principal_due + i.interest_due + i.fee_due - i.principal_paid - i.interest_paid - i.fee_paid)
                   * (({days_late} - l.grace_days - 1) / CASE l.frequency {period_days} END + 1) AS owed_periods
            FROM installments i JOIN loans l ON l.id = i.loan_id
            WHERE i.loan_id BETWEEN :first AND :last AND l.id BETWEEN :first AND :last
              AND l.status = :active AND l.penalty_rate > 0
              AND l.oldest_unpaid_due < :on AND i.due_date < :on
              AND {days_late} > l.grace_days
              AND i.principal_due + i.interest_due + i.fee_due > i.principal_paid + i.interest_paid + i.fee_paid
            {fence}
        ) AS late
    ) AS charged
    WHERE cents > penalty_due
"""
_PERIOD_DAYS_SQL = " ".join(f"WHEN '{f.value}' THEN {days}" for f, days in PERIOD_DAYS.items())
# A fence keeps the database from merging `late` into the queries above it, which would work out each
# row's overdue x periods (and on SQLite its days late, from two dates) once for every place `cents` uses
# it: PostgreSQL keeps a subquery with OFFSET whole, SQLite one with a LIMIT (-1: none).
_FENCE = {"postgresql": "OFFSET 0", "sqlite": "LIMIT -1"}


def _charges(dialect: str) -> str:
    return _CHARGES.format(cents=CENTS_SQL, days_late=_DAYS_LATE[dialect], period_days=_PERIOD_DAYS_SQL,
                           fence=_FENCE[dialect])


# PostgreSQL: a batch in one statement. Its parts see one snapshot: the entry's postings and the
# installments' new penalties come from the same computed rows.
_ACCRUE_BATCH_PG = text(f"""
    WITH charges AS MATERIALIZED ({_charges("postgresql")}),
    set_penalties AS (
        UPDATE installments SET penalty_due = charges.cents FROM charges
        WHERE installments.id = charges.id AND installments.loan_id BETWEEN :first AND :last),
    per_loan AS (SELECT loan_id, customer_id, sum(cents - penalty_due) AS extra FROM charges
                 GROUP BY loan_id, customer_id),
    entry AS (
        INSERT INTO journal_entries (kind, memo, created_at)
        SELECT :kind, :memo || count(*) || ' loans', :now FROM per_loan HAVING count(*) > 0
        RETURNING id),
    postings AS (
        INSERT INTO postings (entry_id, gl, amount, customer_id, loan_id)
        SELECT entry.id, :receivable, per_loan.extra, per_loan.customer_id, per_loan.loan_id FROM entry, per_loan
        UNION ALL
        SELECT entry.id, :income, -(SELECT sum(extra) FROM per_loan), NULL, NULL FROM entry
        ORDER BY loan_id)
    SELECT (SELECT id FROM entry), count(*), coalesce(sum(extra), 0) FROM per_loan
""")

# SQLite (no data-modifying CTEs): the batch's charges go into a temporary table (per connection,
# emptied before each batch; nothing of it is committed) that the entry and the UPDATE both read.
_CREATE_CHARGES = text("CREATE TEMPORARY TABLE IF NOT EXISTS penalty_charges (id INTEGER PRIMARY KEY, "
                       "loan_id INTEGER NOT NULL, customer_id INTEGER NOT NULL, cents BIGINT NOT NULL, "
                       "penalty_due BIGINT NOT NULL)")
_CLEAR_CHARGES = text("DELETE FROM penalty_charges")
_FILL_CHARGES = text("INSERT INTO penalty_charges (id, loan_id, customer_id, cents, penalty_due) "
                     + _charges("sqlite"))
_CHARGES_TOTALS = text("SELECT count(DISTINCT loan_id), coalesce(sum(cents - penalty_due), 0) FROM penalty_charges")
_POST_CHARGES = text("""
    INSERT INTO postings (entry_id, gl, amount, customer_id, loan_id)
    SELECT :entry_id, :receivable, sum(cents - penalty_due), customer_id, loan_id FROM penalty_charges
    GROUP BY loan_id, customer_id
    UNION ALL
    SELECT :entry_id, :income, -sum(cents - penalty_due), NULL, NULL FROM penalty_charges
    ORDER BY loan_id
""")
# The charges lead (`id IN`: a seek per charge), or the planner may scan every installment each batch.
_SET_PENALTIES = text("UPDATE installments SET penalty_due = (SELECT c.cents FROM penalty_charges c "
                      "WHERE c.id = installments.id) WHERE id IN (SELECT id FROM penalty_charges)")
# Any constant: two accrual runs on PostgreSQL queue, so one never charges what the other just did.
ACCRUE_LOCK_KEY = 0x6D6B6F706F01


_SIDES = {"receivable": Gl.LOANS_RECEIVABLE.value, "income": Gl.PENALTY_INCOME.value}


def accrue_penalties(on: date, batch: int = 10_000, *, workers: int = 1) -> tuple[int, Decimal]:
    """Charge what each overdue installment's penalty should be by `on` and is not yet.

    Set-based, a batch of loans at a time, with no Python per installment: the batch's charges are
    computed in SQL and posted as one journal entry, and the same rows set the installments' penalties.
    The entry has a receivable posting per loan, so that each loan's balance still comes from its own
    postings, and one income posting for the batch: half the rows (and key checks) of a pair per loan.
    Running it twice for one day charges nothing the second time. Returns (loans charged, total charged).

    In the caller's transaction; or, on PostgreSQL with `workers` above one, `_accrue_in_parallel`.
    """
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres and workers > 1:
        return _accrue_in_parallel(on, batch, workers)
    db.session.flush()
    if postgres:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACCRUE_LOCK_KEY})
    else:
        db.session.execute(_CREATE_CHARGES)
    params = {"on": on if postgres else on.isoformat(), "active": LoanStatus.DISBURSED.value}
    charged, total = 0, 0
    for span in _spans(on, batch):
        if postgres:
            loans_charged, cents = _accrue_batch_pg(on, span)
        else:
            db.session.execute(_CLEAR_CHARGES)
            db.session.execute(_FILL_CHARGES, {**params, **span})
            loans_charged, cents = db.session.execute(_CHARGES_TOTALS).one()
            if loans_charged:
                entry_id = ledger.new_entry(EntryKind.PENALTY, f"{_memo(on)}{loans_charged} loans")
                db.session.execute(_POST_CHARGES, {"entry_id": entry_id, **_SIDES})
                db.session.execute(_SET_PENALTIES)
                ledger.check_balanced(entry_id)
        charged, total = charged + loans_charged, total + int(cents)
    if not postgres:
        db.session.execute(_CLEAR_CHARGES)
    db.session.expire_all()  # loaded installments and loans must see the new penalties
    return charged, Decimal(total).scaleb(-2)


def _spans(on: date, batch: int) -> Iterator[dict]:
    """The loans that may owe a penalty by `on`, as spans of `batch` loan ids ({first, last})."""
    after_id = 0
    while loan_ids := list(db.session.scalars(
            select(Loan.id).where(Loan.status == LoanStatus.DISBURSED, Loan.penalty_rate > 0,
                                  Loan.oldest_unpaid_due < on, Loan.id > after_id)
            .order_by(Loan.id).limit(batch))):
        yield {"first": loan_ids[0], "last": loan_ids[-1]}
        after_id = loan_ids[-1]


def _memo(on: date) -> str:
    return f"late penalties to {on:%Y-%m-%d} on "


def _accrue_batch_pg(on: date, span: dict) -> tuple[int, int]:
    """One batch on PostgreSQL, in one statement: (loans charged, cents charged)."""
    entry_id, loans_charged, cents = db.session.execute(_ACCRUE_BATCH_PG, {
        "on": on, "active": LoanStatus.DISBURSED.value, **span, **_SIDES, "kind": EntryKind.PENALTY.value,
        "memo": _memo(on), "now": utcnow()}).one()
    if entry_id is not None:
        ledger.check_balanced(entry_id)
    return loans_charged, int(cents)


def _accrue_in_parallel(on: date, batch: int, workers: int) -> tuple[int, Decimal]:
    """PostgreSQL: the batches on `workers` connections at once, each committed on its own, so that no
    row stays locked past its batch (M-Pesa payments book meanwhile). A run cut short is finished by
    the next, which charges nothing twice; an advisory lock held on a connection of its own for the
    whole run keeps two runs, parallel or not, apart. The caller's session is left as it was."""
    app = current_app._get_current_object()

    def run(span: dict) -> tuple[int, int]:
        with app.app_context():
            try:
                result = _accrue_batch_pg(on, span)
                db.session.commit()
                return result
            finally:
                db.session.remove()

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ACCRUE_LOCK_KEY})
        try:
            with app.app_context():
                spans = list(_spans(on, batch))
                db.session.remove()
            with ThreadPoolExecutor(workers, thread_name_prefix="mkopo-accrue") as pool:
                results = list(pool.map(run, spans))
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ACCRUE_LOCK_KEY})
    db.session.expire_all()
    return sum(n for n, _ in results), Decimal(sum(cents for _, cents in results)).scaleb(-2)


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
