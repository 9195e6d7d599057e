"""One loan's page: disbursement and its receipt, the schedule's states, repayments with their allocations,
reversal and write-off (managers, with a reason), the ledger entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.models import (
    DisbursementChannel,
    EntryKind,
    Gl,
    JournalEntry,
    LoanStatus,
    Payment,
    PaymentStatus,
    Role,
)
from portal.models.base import db
from portal.services import arrears, business_day, loan_book, loans, repayments, savings
from tests.loans_portal.conftest import START
from tests.pages import HX, text

D = Decimal


def _url(loan, tail=""):
    return f"/portal/loans/{loan.id}{tail}"


@pytest.fixture
def fee_product(make_product):
    return make_product(fee_type="percent", fee_value="2", fee_mode="deducted")


# --- disbursement ---------------------------------------------------------------------------------------------


def test_an_approved_loan_offers_the_disbursement_step(client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "20000", disburse=False)
    login_as(user=staff.loan_officer)
    html = text(client.get(_url(loan)))
    assert 'data-testid="disburse"' in html and 'value="mpesa"' in html and 'value="savings"' in html
    assert "hx-confirm=" in html


def test_disbursing_by_m_pesa_shows_the_receipt(client, login_as, post, customer, make_loan, fee_product, staff,
                                                rows, mpesa_callbacks):
    loan = make_loan(customer, "20000", product=fee_product, disburse=False)
    login_as(user=staff.loan_officer)
    response = post(_url(loan, "/disburse"), {"channel": "mpesa"})
    html = text(response)
    db.session.refresh(loan)
    assert response.status_code == 200 and "<html" not in html  # the loan's body, swapped in place
    assert loan.status == LoanStatus.DISBURSED and loan.disbursed_on == business_day.today()
    assert f"Sent 19,600.00 of {loan.loan_number} to {customer.name} by M-Pesa" in html
    assert "waiting for M-Pesa to confirm" in html and 'hx-trigger="every 2s"' in html
    assert f'data-testid="receipt-loan">{loan.loan_number}<' in html
    assert 'data-testid="receipt-amount">KES 20,000.00<' in html
    assert 'data-testid="receipt-fee">KES 400.00' in html
    assert 'data-testid="receipt-net">KES 19,600.00<' in html
    assert 'data-testid="receipt-channel">M-Pesa<' in html
    assert f'data-testid="receipt-entry">#{loan.disbursement_entry_id}<' in html
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.DISBURSEMENT) == 1
    mpesa_callbacks()  # M-Pesa's B2C result arrives; the polling receipt now shows it
    receipt = text(client.get(_url(loan, "/receipt")))
    assert "Disbursement receipt" in receipt and "KES 19,600.00" in receipt and staff.loan_officer.full_name in receipt
    assert "Confirmed" in receipt and 'hx-trigger="every 2s"' not in receipt


def test_disbursing_to_savings_credits_the_account(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "15000", disburse=False)
    login_as(user=staff.manager)
    html = text(post(_url(loan, "/disburse"), {"channel": "savings"}))
    assert 'data-testid="receipt-channel">Savings account<' in html
    assert savings.balance_of(customer) == D("15000.00")


def test_a_loan_is_paid_out_once_however_often_disburse_is_pressed(client, login_as, post, customer, make_loan,
                                                                   staff, rows):
    loan = make_loan(customer, "20000", disburse=False)
    login_as(user=staff.loan_officer)
    assert post(_url(loan, "/disburse"), {"channel": "mpesa"}).status_code == 200
    again = post(_url(loan, "/disburse"), {"channel": "mpesa"})
    assert again.status_code == 409 and "already been disbursed" in again.get_data(as_text=True)
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.DISBURSEMENT) == 1


def test_disbursing_without_a_channel_asks_for_one(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "20000", disburse=False)
    login_as(user=staff.loan_officer)
    response = post(_url(loan, "/disburse"), {"channel": ""})
    assert response.status_code == 422 and "Choose how to pay the loan out." in text(response)
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED


def test_an_m_pesa_payout_with_cents_is_refused_beside_the_channel(client, login_as, post, customer, make_loan,
                                                                  fee_product, staff, rows):
    loan = make_loan(customer, "20000.50", product=fee_product, disburse=False)  # net 19,600.49
    login_as(user=staff.loan_officer)
    response = post(_url(loan, "/disburse"), {"channel": "mpesa"})
    assert response.status_code == 422
    assert "M-Pesa sends whole shillings and 19,600.49 has cents; pay into savings." in text(response)
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED
    assert rows(JournalEntry, JournalEntry.kind == EntryKind.DISBURSEMENT) == 0
    assert post(_url(loan, "/disburse"), {"channel": "savings"}).status_code == 200
    assert savings.balance_of(customer) == D("19600.49")


def test_a_collection_officer_cannot_disburse(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "20000", disburse=False)
    login_as(user=staff.collector)
    assert 'data-testid="disburse"' not in client.get(_url(loan)).get_data(as_text=True)
    assert post(_url(loan, "/disburse"), {"channel": "mpesa"}).status_code == 403
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED


def test_a_loan_not_paid_out_has_no_receipt(client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "20000", disburse=False)
    login_as(user=staff.loan_officer)
    assert client.get(_url(loan, "/receipt")).status_code == 404


# --- the schedule, repayments and the ledger ------------------------------------------------------------------------


def test_a_cash_repayment_is_allocated_oldest_installment_first(client, login_as, post, customer, make_loan,
                                                                staff):
    loan = make_loan(customer, "50000", on=business_day.today())
    login_as(user=staff.collector)
    response = post(_url(loan, "/repayments"), {"amount": "5,000"})
    html = text(response)
    assert response.status_code == 200
    assert f"Recorded 5,000.00 cash on {loan.loan_number}." in html
    assert "#1: interest 437.50, principal 3,969.93" in html
    assert "#2: interest 402.76, principal 189.81" in html
    assert 'data-testid="outstanding">KES 47,889.15<' in html  # 52,889.15 repayable less 5,000
    states = [i.state(business_day.today()) for i in loan.installments]
    assert states[:3] == ["paid", "partial", "pending"]
    assert 'data-state="paid"' in html and 'data-state="partial"' in html
    payment = db.session.scalars(select(Payment)).one()
    assert (payment.amount, payment.recorded_by_id) == (D("5000.00"), staff.collector.id)


def test_an_overpayment_goes_to_savings_and_is_said_so(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "1200", on=business_day.today())
    login_as(user=staff.loan_officer)
    owed = loans.outstanding(loan)
    html = text(post(_url(loan, "/repayments"), {"amount": str(owed + D("100"))}))
    assert "100.00 over the balance went to savings." in html and "to savings 100.00" in html
    db.session.refresh(loan)
    assert loan.status == LoanStatus.CLOSED


def test_a_bad_amount_is_shown_beside_the_field(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "50000", on=business_day.today())
    login_as(user=staff.loan_officer)
    response = post(_url(loan, "/repayments"), {"amount": "-5"})
    html = text(response)
    assert response.status_code == 422 and 'id="amount-error">' in html and "more than zero" in html
    assert db.session.scalars(select(Payment)).first() is None


def test_the_schedule_shows_overdue_installments(client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "50000", on=START)
    repayments.record_payment(loan, "4407.43", actor=staff.loan_officer)
    db.session.commit()
    login_as(user=staff.manager)
    html = client.get(_url(loan)).get_data(as_text=True)
    assert html.count('data-state="paid"') == 1 and html.count('data-state="overdue"') == 11
    assert "days past due" in html


def test_the_ledger_entries_of_the_loan_are_listed_with_their_postings(client, login_as, customer, make_loan,
                                                                      make_product, staff):
    penalised = make_product(penalty_rate="5")
    loan = make_loan(customer, "50000", product=penalised, on=business_day.today())
    payment = repayments.record_payment(loan, "1000", actor=staff.loan_officer)
    other = make_loan(customer, "7000", product=penalised, on=business_day.today())
    repayments.record_payment(other, "700", actor=staff.loan_officer)
    arrears.accrue_penalties(business_day.today() + timedelta(days=400))  # one entry across both loans
    db.session.commit()
    entries = loan_book.ledger_entries(loan, actor=staff.manager)
    kinds = [lines.entry.kind for lines in entries]
    assert [lines.entry.id for lines in entries][:2] == [loan.disbursement_entry_id, payment.entry_id]
    assert kinds == [EntryKind.DISBURSEMENT, EntryKind.REPAYMENT, EntryKind.PENALTY]
    # each side complete: the penalty run's income is one posting for both loans, shown as this loan's share
    assert all(sum(p.amount for p in lines.postings) + (lines.share.amount if lines.share else 0) == 0
               for lines in entries)
    penalty = entries[2]
    assert [p.gl for p in penalty.postings] == [Gl.LOANS_RECEIVABLE]
    assert penalty.share.gl == Gl.PENALTY_INCOME and penalty.share.amount == -penalty.postings[0].amount
    assert -penalty.share.pooled > penalty.postings[0].amount  # the other loan's penalty too
    shown = [p for lines in entries for p in lines.postings]
    assert all(p.loan_id in (loan.id, None) for p in shown)  # nothing of the other loan, even from a batch
    assert {p.gl for p in entries[0].postings} == {Gl.LOANS_RECEIVABLE, Gl.PAYOUTS_IN_TRANSIT, Gl.UNEARNED_INTEREST}
    login_as(user=staff.manager)
    html = text(client.get(_url(loan)))
    assert f'data-entry="{loan.disbursement_entry_id}"' in html and f'data-entry="{payment.entry_id}"' in html
    assert "1100 Loans receivable" in html and "52,889.15" in html
    assert "4200 Penalty income" in html and "part of one posting of KES" in html


# --- reversal and write-off -----------------------------------------------------------------------------------------


def test_reversing_a_payment_needs_a_manager(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "50000", on=business_day.today())
    payment = repayments.record_payment(loan, "5000", actor=staff.loan_officer)
    db.session.commit()
    login_as(user=staff.loan_officer)
    assert "Reverse payment" not in client.get(_url(loan)).get_data(as_text=True)
    response = post(_url(loan, f"/payments/{payment.id}/reverse"), {f"reverse-{payment.id}-reason": "Wrong loan"})
    assert response.status_code == 403
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.APPLIED


def test_reversing_a_payment_needs_a_reason_and_reopens_the_installments(client, login_as, post, customer,
                                                                         make_loan, staff):
    loan = make_loan(customer, "50000", on=business_day.today())
    payment = repayments.record_payment(loan, "5000", actor=staff.loan_officer)
    db.session.commit()
    login_as(user=staff.manager)
    page = client.get(_url(loan)).get_data(as_text=True)
    assert "Reverse payment" in page and "The installments it paid open again." in page  # the hx-confirm
    response = post(_url(loan, f"/payments/{payment.id}/reverse"), {f"reverse-{payment.id}-reason": ""})
    html = text(response)
    assert response.status_code == 422 and "Give the reason for the reversal." in html
    assert f'id="reverse-{payment.id}-reason-error">Give the reason' in html
    response = post(_url(loan, f"/payments/{payment.id}/reverse"),
                    {f"reverse-{payment.id}-reason": "Cash counted twice"})
    html = text(response)
    assert response.status_code == 200 and "Reversed the payment of 5,000.00" in html
    assert "Cash counted twice" in html
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.REVERSED
    assert loans.outstanding(loan) == D("52889.15")
    assert 'data-testid="outstanding">KES 52,889.15<' in html


def test_a_payment_of_another_loan_cannot_be_reversed_from_this_one(client, login_as, post, customer, make_loan,
                                                                    staff):
    loan, other = make_loan(customer, "5000"), make_loan(customer, "6000")
    payment = repayments.record_payment(other, "500", actor=staff.loan_officer)
    db.session.commit()
    login_as(user=staff.manager)
    assert post(_url(loan, f"/payments/{payment.id}/reverse"),
                {f"reverse-{payment.id}-reason": "Wrong"}).status_code == 404


def test_writing_off_needs_a_manager_and_a_reason(client, login_as, post, customer, make_loan, staff):
    loan = make_loan(customer, "50000", on=START)
    login_as(user=staff.loan_officer)
    assert "Write off the loan" not in client.get(_url(loan)).get_data(as_text=True)
    assert post(_url(loan, "/write-off"), {"write_off-reason": "Gone"}).status_code == 403
    login_as(user=staff.manager)
    assert "Write off the loan" in client.get(_url(loan)).get_data(as_text=True)
    response = post(_url(loan, "/write-off"), {"write_off-reason": ""})
    assert response.status_code == 422 and "Give the reason for the write-off." in text(response)
    db.session.refresh(loan)
    assert loan.status == LoanStatus.DISBURSED
    response = post(_url(loan, "/write-off"), {"write_off-reason": "Moved away, unreachable for 120 days"})
    html = text(response)
    assert response.status_code == 200 and f"Wrote off {loan.loan_number}." in html
    assert "Moved away, unreachable for 120 days" in html
    db.session.refresh(loan)
    assert loan.status == LoanStatus.WRITTEN_OFF and loans.outstanding(loan) == D("0.00")


# --- who sees what --------------------------------------------------------------------------------------------------


def test_a_manager_of_another_team_cannot_open_the_loan(client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "5000")
    login_as(user=staff.outside_manager)
    assert client.get(_url(loan)).status_code == 403
    assert client.get(_url(loan, "/receipt")).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LOAN_OFFICER, Role.CALLING_AGENT])
def test_staff_who_see_every_customer_open_any_loan(client, login_as, customer, make_loan, role):
    loan = make_loan(customer, "5000")
    login_as(role)
    assert client.get(_url(loan)).status_code == 200


def test_the_statement_link_appears_only_once_statements_exist(app, client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "5000")
    login_as(user=staff.manager)
    html = client.get(_url(loan)).get_data(as_text=True)
    has_endpoint = app.jinja_env.globals["has_endpoint"]
    assert has_endpoint("loans.detail") and not has_endpoint("no.such_endpoint")
    assert ("Statement (PDF)" in html) == has_endpoint("statements.loan")


def test_the_loan_page_answers_htmx_with_its_body_only(client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "5000")
    login_as(user=staff.manager)
    html = client.get(_url(loan), headers=HX).get_data(as_text=True)
    assert "<html" not in html and loan.loan_number in html


# --- the list -------------------------------------------------------------------------------------------------------


def test_the_loan_list_filters_by_status_and_searches(client, login_as, customer, make_customer, make_loan, staff):
    active = make_loan(customer, "5000", channel=DisbursementChannel.SAVINGS)
    approved = make_loan(make_customer(name="Achieng Odhiambo"), "6000", disburse=False)
    login_as(user=staff.manager)
    html = client.get("/portal/loans/?status=approved", headers=HX).get_data(as_text=True)
    assert approved.loan_number in html and active.loan_number not in html
    html = client.get("/portal/loans/?q=achieng", headers=HX).get_data(as_text=True)
    assert approved.loan_number in html and active.loan_number not in html
    assert client.get("/portal/loans/?status=nope").status_code == 400


def test_the_loan_list_hides_other_teams_loans(client, login_as, customer, make_loan, staff):
    loan = make_loan(customer, "5000")
    login_as(user=staff.outside_manager)
    assert loan.loan_number not in client.get("/portal/loans/").get_data(as_text=True)
