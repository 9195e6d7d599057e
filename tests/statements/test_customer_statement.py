"""The customer account statement: a period's savings movements between exact opening and closing
balances (local days, both included), and the loan repayments of the period."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.models import JournalEntry, Payment, Transaction
from portal.models.base import db
from portal.services import business_day, repayments, savings, statements
from portal.services.errors import Forbidden, ValidationFailed
from tests.statements.conftest import pdf_text

D = Decimal
NONE = "\N{EN DASH}"  # what an empty amount cell shows


def backdate(entry_id: int, moment: datetime) -> None:
    """Move a journal entry (and its customer-facing record and payment) to `moment`."""
    db.session.get(JournalEntry, entry_id).created_at = moment
    for txn in db.session.query(Transaction).filter_by(entry_id=entry_id):
        txn.created_at = moment
    for payment in db.session.query(Payment).filter_by(entry_id=entry_id):
        payment.received_at = moment
    db.session.flush()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def history(customer, loan, staff):
    """Savings and a repayment spread over January to March 2025 (Nairobi is UTC+3)."""
    officer = staff.loan_officer
    backdate(loan.disbursement_entry_id, at(2025, 1, 15, 7, 0))
    backdate(savings.deposit(customer, "1000", source="mpesa", actor=officer).entry_id, at(2025, 1, 10, 10, 0))
    # 21:30 UTC on 31 January is 00:30 on 1 February in Nairobi: February's.
    backdate(savings.deposit(customer, "2500.50", source="cash", actor=officer).entry_id, at(2025, 1, 31, 21, 30))
    payment = repayments.record_payment(loan, "4500", actor=officer)  # installment 1, and 92.57 of the 2nd
    backdate(payment.entry_id, at(2025, 2, 15, 9, 0))
    backdate(savings.withdraw(customer, "700.25", actor=officer).entry_id, at(2025, 2, 20, 12, 0))
    backdate(repayments.pay_from_savings(loan, "500", actor=officer).entry_id, at(2025, 2, 25, 8, 0))
    backdate(savings.deposit(customer, "99.99", source="mpesa", actor=officer).entry_id, at(2025, 2, 28, 21, 30))
    return payment


def test_february_statement_has_exact_opening_and_closing_balances(customer, loan, history):
    statement = statements.build_customer_statement(customer, date(2025, 2, 1), date(2025, 2, 28))

    assert statement.opening_balance == D("1000.00")
    assert [(m.description, m.credit, m.debit, m.balance) for m in statement.movements] == [
        ("Deposit (Cash)", D("2500.50"), D("0.00"), D("3500.50")),
        ("Withdrawal", D("0.00"), D("700.25"), D("2800.25")),
        (f"Paid to loan {loan.loan_number} from savings", D("0.00"), D("500.00"), D("2300.25")),
    ]
    assert (statement.money_in, statement.money_out) == (D("2500.50"), D("1200.25"))
    assert statement.closing_balance == D("2300.25")
    assert [(r.amount, r.source, r.loan_number) for r in statement.repayments] == [
        (D("4500.00"), "Cash", loan.loan_number), (D("500.00"), "Savings", loan.loan_number)]
    assert statement.repaid == D("5000.00")
    assert [(p.loan_number, p.opening, p.closing) for p in statement.loans] == [
        (loan.loan_number, D("52889.15"), D("47889.15"))]

    text = pdf_text(statements.render_customer(statement))
    assert "Account statement, 01 Feb 2025 to 28 Feb 2025" in text
    assert "Opening balance 1,000.00" in text and "Closing balance 2,300.25" in text
    assert "2,500.50 3,500.50" in text  # in, and the balance after (no money out: a dash)
    assert f"700.25 {NONE} 2,800.25" in text and f"500.00 {NONE} 2,300.25" in text
    assert f"4,500.00 {NONE} applied" in text and "Total applied 5,000.00" in text
    assert "52,889.15 47,889.15" in text


def test_days_are_local_days_both_included(customer, history):
    january = statements.build_customer_statement(customer, date(2025, 1, 1), date(2025, 1, 31))
    assert (january.opening_balance, january.closing_balance) == (D("0.00"), D("1000.00"))
    assert january.repayments == ()

    march = statements.build_customer_statement(customer, date(2025, 3, 1), date(2025, 3, 1))
    assert (march.opening_balance, march.closing_balance) == (D("2300.25"), D("2400.24"))


def test_statement_to_today_closes_on_the_account_balance(customer, history):
    statement = statements.build_customer_statement(customer, date(2025, 1, 1), business_day.today())
    assert statement.opening_balance == D("0.00")
    assert statement.closing_balance == savings.balance_of(customer) == D("2400.24")


def test_customer_without_savings_has_zero_balances(make_customer):
    statement = statements.build_customer_statement(make_customer(), date(2025, 1, 1), date(2025, 1, 31))
    text = pdf_text(statements.render_customer(statement))
    assert (statement.opening_balance, statement.closing_balance, statement.rows) == (D("0.00"), D("0.00"), 0)
    assert "No savings movements in this period." in text and "No loan repayments in this period." in text



@pytest.mark.parametrize(("start", "end", "field", "message"), [
    ("", "2025-02-28", "start", "Give the start date (YYYY-MM-DD)."),
    ("2025-02-01", None, "end", "Give the end date (YYYY-MM-DD)."),
    ("2025-02-30", "2025-03-01", "start", "The start date must be a real date written YYYY-MM-DD, e.g. 2025-01-31."),
    ("01/02/2025", "2025-03-01", "start", "The start date must be a real date written YYYY-MM-DD, e.g. 2025-01-31."),
    ("2025-W05-1", "2025-03-01", "start", "The start date must be a real date written YYYY-MM-DD, e.g. 2025-01-31."),
    ("2025-03-01", "2025-02-01", "end", "The end date must be on or after the start date."),
])
def test_period_is_validated_with_a_message_per_field(start, end, field, message):
    with pytest.raises(ValidationFailed) as refused:
        statements.parse_period(start, end)
    assert refused.value.errors == {field: [message]}


def test_period_cannot_end_in_the_future():
    tomorrow = business_day.today() + timedelta(days=1)
    with pytest.raises(ValidationFailed) as refused:
        statements.parse_period("2025-01-01", tomorrow.isoformat())
    assert refused.value.errors == {"end": ["The end date cannot be in the future."]}


def test_collector_cannot_get_the_statement_of_another_collectors_customer(customer, staff, other_collector):
    result = statements.customer_statement(customer.id, "2025-01-01", "2025-01-31", actor=staff.collector)
    assert isinstance(result, statements.Rendered)
    assert result.filename == f"statement-{customer.customer_code}-20250101-20250131.pdf"
    for ask in (statements.customer_statement, statements.queue_customer_statement):
        with pytest.raises(Forbidden):
            ask(customer.id, "2025-01-01", "2025-01-31", actor=other_collector)
