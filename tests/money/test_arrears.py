"""Arrears: days past due, penalty accrual (rate x overdue per period begun after grace, once a day), PAR."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select, text

from portal.models import DisbursementChannel, EntryKind, Frequency, Gl, JournalEntry, LoanStatus
from portal.models.base import db
from portal.services import arrears, ledger, loans, repayments
from portal.services.arrears import Bucket

D = Decimal
FIRST_DUE = date(2025, 2, 15)  # of a monthly loan disbursed on START (15 Jan 2025)


# --- days past due ----------------------------------------------------------------------------------------


def test_days_past_due_counts_from_the_oldest_unpaid_installment(customer, make_loan, staff):
    loan = make_loan(customer)
    assert loan.days_past_due_on(FIRST_DUE - timedelta(days=1)) == 0
    assert loan.days_past_due_on(FIRST_DUE) == 0
    assert loan.days_past_due_on(FIRST_DUE + timedelta(days=1)) == 1
    assert loan.days_past_due_on(date(2025, 3, 20)) == 33  # installment 2 also late, 1 still the oldest
    repayments.record_payment(loan, "4407.42", actor=staff.collector)  # one cent short
    assert loan.days_past_due_on(date(2025, 3, 20)) == 33
    repayments.record_payment(loan, "0.01", actor=staff.collector)
    assert loan.oldest_unpaid_due == date(2025, 3, 15)
    assert loan.days_past_due_on(date(2025, 3, 20)) == 5


def test_loans_not_active_are_never_past_due(customer, make_loan, staff):
    pending = make_loan(customer, approve=False)
    closed = make_loan(customer, "1000")
    repayments.record_payment(closed, loans.outstanding(closed), actor=staff.collector)
    written_off = make_loan(customer)
    loans.write_off(written_off, "Borrower absconded", actor=staff.manager)
    late = date(2026, 1, 1)
    assert [loan.days_past_due_on(late) for loan in (pending, closed, written_off)] == [0, 0, 0]


# --- penalties --------------------------------------------------------------------------------------------


@pytest.fixture
def late_loan(customer, make_product, make_loan):
    """50,000 at 10.5% over 12 months, 5% of the overdue amount a month after 3 days' grace."""
    return make_loan(customer, product=make_product(penalty_rate="5", grace_days=3))


def test_no_penalty_within_the_grace_days(late_loan):
    for day in (FIRST_DUE, FIRST_DUE + timedelta(days=3)):
        assert arrears.accrue_penalties(day) == (0, D("0.00"))
    assert late_loan.installments[0].penalty_due == D("0.00")
    assert loans.outstanding(late_loan) == D("52889.15")


def test_the_first_day_after_grace_charges_one_period(late_loan):
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=4)) == (1, D("220.37"))  # 5% of 4,407.43
    first = late_loan.installments[0]
    assert first.penalty_due == D("220.37")
    assert all(i.penalty_due == 0 for i in late_loan.installments[1:])
    assert loans.outstanding(late_loan) == D("53109.52")
    assert ledger.balance(Gl.PENALTY_INCOME) == D("-220.37")


def test_a_second_run_the_same_day_charges_nothing(late_loan, rows):
    day = FIRST_DUE + timedelta(days=10)
    assert arrears.accrue_penalties(day) == (1, D("220.37"))
    assert arrears.accrue_penalties(day) == (0, D("0.00"))
    assert arrears.accrue_penalties(day - timedelta(days=2)) == (0, D("0.00"))  # an earlier day neither
    assert loans.outstanding(late_loan) == D("53109.52")


def test_each_new_period_begun_after_grace_charges_again(late_loan):
    arrears.accrue_penalties(FIRST_DUE + timedelta(days=4))
    # Day 33 after due = day 30 after grace: still the first period.
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=33)) == (1, D("220.37"))  # installment 2, 1 period
    assert late_loan.installments[0].penalty_due == D("220.37")
    # Day 34: the first installment's second period begins.
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=34)) == (1, D("220.37"))
    assert late_loan.installments[0].penalty_due == D("440.74")
    assert late_loan.installments[1].penalty_due == D("220.37")
    assert ledger.balance(Gl.PENALTY_INCOME) == D("-661.11")
    assert loans.outstanding(late_loan) == D("52889.15") + D("661.11")


def test_penalty_is_on_the_overdue_amount_only(late_loan, staff):
    repayments.record_payment(late_loan, "2407.43", actor=staff.collector)  # 2,000.00 of installment 1 left
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=4)) == (1, D("100.00"))


def test_a_paid_installment_is_not_penalised(late_loan, staff):
    repayments.record_payment(late_loan, "4407.43", actor=staff.collector)
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=20)) == (0, D("0.00"))


def test_loans_without_a_penalty_rate_are_not_charged(customer, make_loan):
    loan = make_loan(customer)
    assert arrears.accrue_penalties(date(2026, 1, 1)) == (0, D("0.00"))
    assert loans.outstanding(loan) == D("52889.15")


def test_penalties_across_several_loans_in_small_batches(customer, make_customer, make_product, make_loan):
    product = make_product(penalty_rate="5", grace_days=3)
    late = [make_loan(c, product=product) for c in (customer, make_customer(), make_customer())]
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=4), batch=2) == (3, D("661.11"))
    assert all(loans.outstanding(loan) == D("53109.52") for loan in late)
    # A batch is one entry: each loan's receivable, and the batch's income in one posting.
    entries = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == EntryKind.PENALTY)
                                 .order_by(JournalEntry.id)).all()
    assert [sorted((p.gl, p.amount, p.loan_id, p.customer_id) for p in entry.postings) for entry in entries] == [
        [(Gl.LOANS_RECEIVABLE, D("220.37"), late[0].id, late[0].customer_id),
         (Gl.LOANS_RECEIVABLE, D("220.37"), late[1].id, late[1].customer_id),
         (Gl.PENALTY_INCOME, D("-440.74"), None, None)],
        [(Gl.LOANS_RECEIVABLE, D("220.37"), late[2].id, late[2].customer_id),
         (Gl.PENALTY_INCOME, D("-220.37"), None, None)]]
    assert ledger.verify().ok


def reference_penalty(overdue: Decimal, rate: Decimal, due: date, on: date, grace_days: int,
                      frequency: Frequency) -> Decimal:
    """The rule, in Decimal: rate% of the overdue amount per period begun after grace, half-up to the cent."""
    late = (on - due).days - grace_days
    periods = 0 if late <= 0 else (late - 1) // arrears.PERIOD_DAYS[frequency] + 1
    return (overdue * rate * periods / 100).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("frequency, term", [("daily", 30), ("weekly", 12), ("fortnightly", 6), ("monthly", 12)])
@pytest.mark.parametrize("rate, grace_days", [("2.5", 0), ("0.0125", 3), ("33.3333", 7)])
@pytest.mark.parametrize("days_after_first_due", [1, 8, 15, 45, 100])
def test_penalties_computed_in_sql_match_the_rule_for_every_installment(
        customer, make_product, make_loan, frequency, term, rate, grace_days, days_after_first_due):
    product = make_product(frequency=frequency, term_periods=term, penalty_rate=rate, grace_days=grace_days)
    loan = make_loan(customer, "12345.67", product=product, channel=DisbursementChannel.SAVINGS)  # M-Pesa: no cents
    on = loan.installments[0].due_date + timedelta(days=days_after_first_due)
    arrears.accrue_penalties(on)
    expected = [reference_penalty(i.principal_due + i.interest_due + i.fee_due, D(rate), i.due_date, on, grace_days,
                                  Frequency(frequency)) if i.due_date < on else D("0.00") for i in loan.installments]
    assert [i.penalty_due for i in loan.installments] == expected
    assert loans.outstanding(loan) == sum((i.outstanding for i in loan.installments), D("0.00"))


def test_a_penalty_of_exactly_half_a_cent_rounds_up(make_product, make_loan, customer, staff):
    loan = make_loan(customer, product=make_product(penalty_rate="0.5"))
    repayments.record_payment(loan, "4406.43", actor=staff.collector)  # 1.00 of installment 1 left
    assert arrears.accrue_penalties(FIRST_DUE + timedelta(days=1)) == (1, D("0.01"))  # 0.5% of 1.00 = 0.005
    assert loan.installments[0].penalty_due == D("0.01")


@pytest.mark.parametrize("owed_periods, rate_e4", [
    (0, 50_000), (1, 5_000), (100, 5_000), (999_999, 999_999_999), (10**14 + 123_457, 999_999_999),
    (987_654_321_012, 12_345)])
def test_penalty_arithmetic_is_exact_without_overflow(db, owed_periods, rate_e4):
    """overdue x periods up to 10^14 cents times a rate up to 99,999.9999% would overflow 64 bits if multiplied
    directly; the split form must still give the exact half-up result."""
    operands = "SELECT CAST(:o AS BIGINT) AS owed_periods, CAST(:r AS BIGINT) AS rate_e4"  # as the columns are
    got = db.session.execute(text(f"SELECT {arrears.CENTS_SQL} FROM ({operands}) AS t"),
                             {"o": owed_periods, "r": rate_e4}).scalar_one()
    assert got == int((D(owed_periods) * rate_e4 / 1_000_000).quantize(D("1"), rounding=ROUND_HALF_UP))


# --- PAR --------------------------------------------------------------------------------------------------


TODAY = date(2025, 6, 30)


def test_par_buckets_split_active_loans_by_days_past_due_with_principal_outstanding(
        customer, make_product, make_loan, staff):
    daily = make_product(frequency="daily", term_periods=30)

    def loan_first_due(days_ago: int, principal: str):
        return make_loan(customer, principal, product=daily, on=TODAY - timedelta(days=days_ago + 1))

    loan_first_due(0, "10000")        # due today: current
    loan_first_due(-5, "11000")       # not yet due: current
    loan_first_due(1, "20000")        # 1-30
    loan_first_due(30, "15000")       # 1-30 (boundary)
    loan_first_due(31, "30000")       # 31-60 (boundary)
    partly_paid = loan_first_due(45, "25000")
    repayments.record_payment(partly_paid, partly_paid.installments[0].total_due, actor=staff.collector)
    assert partly_paid.oldest_unpaid_due == TODAY - timedelta(days=44)  # still 31-60
    loan_first_due(90, "40000")       # 61-90 (boundary)
    loan_first_due(91, "50000")       # 90+
    closed = loan_first_due(200, "1000")
    repayments.record_payment(closed, loans.outstanding(closed), actor=staff.collector)
    written_off = loan_first_due(200, "5000")
    loans.write_off(written_off, "Borrower absconded", actor=staff.manager)
    make_loan(customer, "7000", product=daily, disburse=False)  # approved, not disbursed

    first_principal = partly_paid.installments[0].principal_due
    assert first_principal == D("829.86")
    assert partly_paid.principal_outstanding == D("24170.14")
    assert arrears.par_buckets(TODAY) == [
        Bucket("current", 2, D("21000.00")),
        Bucket("1-30", 2, D("35000.00")),
        Bucket("31-60", 2, D("54170.14")),
        Bucket("61-90", 1, D("40000.00")),
        Bucket("90+", 1, D("50000.00")),
    ]
    assert closed.status == LoanStatus.CLOSED and written_off.status == LoanStatus.WRITTEN_OFF


def test_par_with_no_loans_is_all_zero(db):
    assert arrears.par_buckets(TODAY) == [Bucket(name, 0, D("0.00")) for name in arrears.BUCKETS]


def test_a_fully_caught_up_loan_is_current(customer, make_loan, staff):
    loan = make_loan(customer)
    for _ in range(3):
        repayments.record_payment(loan, "4407.43", actor=staff.collector)
    assert loan.oldest_unpaid_due == date(2025, 5, 15)
    buckets = arrears.par_buckets(date(2025, 5, 15))
    assert buckets[0] == Bucket("current", 1, loan.principal_outstanding)
    assert loan.principal_outstanding == D("50000.00") - D("3969.93") - D("4004.67") - D("4039.71")
