"""The loan statement: exact figures from the schedule, the payments and the ledger, in the PDF's text."""

from decimal import Decimal

import pytest

from portal.models import Role
from portal.services import loans, repayments, statements
from portal.services.errors import Forbidden
from tests.statements.conftest import pdf_text

D = Decimal


def test_loan_statement_shows_the_declining_schedule_to_the_cent(loan):
    statement = statements.build_loan_statement(loan)
    text = pdf_text(statements.render_loan(statement))

    assert [row.total for row in statement.schedule] == [D("4407.43")] * 11 + [D("4407.42")]
    assert statement.totals.interest == D("2889.15") and statement.totals.total == D("52889.15")
    assert f"Loan statement {loan.loan_number}" in text
    assert "4,407.43" in text and "4,407.42" in text
    assert "Total 50,000.00 2,889.15" in text  # the schedule's totals row
    assert "3,969.93 437.50" in text  # installment 1: principal, interest
    assert "10.5% a year" in text and "12 monthly installments" in text
    assert "Page 1 of 1" in text and "Mkopo" in text


def test_payment_is_shown_with_its_allocation_and_the_running_balance(loan, staff):
    payment = repayments.record_payment(loan, "5000", actor=staff.loan_officer)
    statement = statements.build_loan_statement(loan)
    text = pdf_text(statements.render_loan(statement))

    disbursed, paid = statement.movements
    assert (disbursed.debit, disbursed.balance) == (D("52889.15"), D("52889.15"))
    assert (paid.credit, paid.balance, paid.reference) == (D("5000.00"), D("47889.15"), f"#{payment.id}")
    assert [(a.installment, a.interest, a.principal) for a in paid.allocations] == [
        (1, D("437.50"), D("3969.93")), (2, D("402.76"), D("189.81"))]
    assert statement.balance == loans.outstanding(loan) == D("47889.15")
    assert "5,000.00 47,889.15" in text
    assert "Installment 1: interest 437.50, principal 3,969.93" in text
    assert "Installment 2: interest 402.76, principal 189.81" in text
    assert statement.schedule[1].state == "overdue" and statement.schedule[0].state == "paid"


def test_overpayment_closes_the_loan_and_says_where_the_rest_went(loan, staff):
    repayments.record_payment(loan, "53000", actor=staff.loan_officer)
    statement = statements.build_loan_statement(loan)
    text = pdf_text(statements.render_loan(statement))

    assert statement.status == "closed" and statement.balance == D("0.00")
    assert statement.totals.outstanding == D("0.00") and statement.totals.paid == D("52889.15")
    assert "Received 53,000.00; 110.85 to savings" in text


def test_reversed_payment_appears_twice_and_restores_the_balance(loan, staff):
    payment = repayments.record_payment(loan, "4407.43", actor=staff.loan_officer)
    repayments.reverse(payment, "Cheque bounced", actor=staff.manager)
    statement = statements.build_loan_statement(loan)
    text = pdf_text(statements.render_loan(statement))

    assert [m.description for m in statement.movements] == ["Loan disbursed", "Payment (Cash)", "Payment reversed"]
    assert statement.movements[-1].debit == D("4407.43")
    assert statement.balance == D("52889.15") == loans.outstanding(loan)
    assert "Cheque bounced" in text and "reversed later" in text


def test_pending_loan_has_terms_but_no_schedule(make_loan, customer):
    pending = make_loan(customer, "20000", disburse=False)
    statement = statements.build_loan_statement(pending)
    text = pdf_text(statements.render_loan(statement))

    assert statement.schedule == () and statement.movements == () and statement.rows == 0
    assert "KES 20,000.00" in text and "has not been disbursed" in text


def test_pdf_embeds_the_local_dejavu_sans_font(loan, pdf):
    reader = pdf.reader(statements.render_loan(statements.build_loan_statement(loan)))
    fonts = {str(font.get_object()["/BaseFont"]) for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("DejaVu-Sans" in name for name in fonts), fonts


def test_customer_data_cannot_inject_markup(make_customer, make_loan, monkeypatch):
    fetched = []
    fetch = statements.StaticOnlyFetcher.fetch
    monkeypatch.setattr(statements.StaticOnlyFetcher, "fetch",
                        lambda self, url, headers=None: fetched.append(url) or fetch(self, url, headers))
    hostile = make_customer(name='<img src="http://127.0.0.1:9/beacon.png">Achieng')
    statement = statements.build_loan_statement(make_loan(hostile, "10000"))
    text = pdf_text(statements.render_loan(statement))
    assert '<img src="http://127.0.0.1:9/beacon.png">Achieng' in text.replace("/ ", "/")  # shown as text
    assert fetched == ["mkopo-static:pdf/statement.css", "mkopo-static:img/mkopo-logo.svg"]  # never fetched


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LOAN_OFFICER, Role.CALLING_AGENT])
def test_staff_who_see_every_loan_get_its_statement(loan, make_user, role):
    result = statements.loan_statement(loan.id, actor=make_user(role))
    assert isinstance(result, statements.Rendered) and result.data.startswith(b"%PDF-")
    assert result.filename == f"loan-statement-{loan.loan_number}-{statements.business_day.today():%Y%m%d}.pdf"


def test_collector_cannot_get_the_statement_of_another_collectors_loan(loan, staff, other_collector):
    assert isinstance(statements.loan_statement(loan.id, actor=staff.collector), statements.Rendered)
    with pytest.raises(Forbidden):
        statements.loan_statement(loan.id, actor=other_collector)
    with pytest.raises(Forbidden):
        statements.queue_loan_statement(loan.id, actor=other_collector)
