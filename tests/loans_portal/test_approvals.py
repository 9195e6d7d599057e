"""The approvals inbox: oldest first, a fixed number of queries, the checker's context, inline and bulk decisions."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portal.models import DisbursementChannel, Interaction, InteractionKind, KycLevel, LoanStatus, Role
from portal.models.base import db
from portal.services import approvals, loans, repayments
from portal.services.errors import Forbidden
from tests.loans_portal.conftest import START
from tests.pages import HX, text
from tests.queries import count_queries

D = Decimal
INBOX = "/portal/loans/approvals"


def _pending(customer, product, officer, count=1, principal="20000"):
    return [loans.apply(customer, {"product_id": product.id, "principal": principal}, actor=officer)
            for _ in range(count)]


def _age(loan, minutes: int):
    """Make `loan` look submitted `minutes` ago (the inbox sorts by submission)."""
    loan.created_at = datetime.now(UTC) - timedelta(minutes=minutes)


# --- the inbox ------------------------------------------------------------------------------------------------


def test_the_inbox_lists_pending_loans_oldest_first(customer, product, staff, make_loan):
    newer, older, oldest = _pending(customer, product, staff.loan_officer, 3)
    _age(newer, 5), _age(older, 60), _age(oldest, 600)
    make_loan(customer, "5000", disburse=False)  # approved: not in the inbox
    db.session.flush()
    page = approvals.inbox(actor=staff.manager)
    assert [row.loan for row in page.items] == [oldest, older, newer]
    assert page.total == 3


def test_the_inbox_pages_by_25(customer, product, staff):
    made = _pending(customer, product, staff.loan_officer, 26)
    for minutes, loan in enumerate(reversed(made)):
        _age(loan, minutes + 1)
    db.session.flush()
    first, second = approvals.inbox(actor=staff.manager), approvals.inbox(actor=staff.manager, page=2)
    assert (len(first.items), len(second.items), first.total, first.pages) == (25, 1, 26, 2)
    assert second.items[0].loan == made[-1]


def test_the_inbox_page_runs_the_same_queries_for_5_or_25_loans(client, login_as, customer, make_customer,
                                                                 product, staff):
    login_as(user=staff.manager)
    for i in range(5):  # several customers, makers and flags: nothing may be loaded row by row
        _pending(make_customer(), product, staff.loan_officer if i % 2 else staff.admin)
    few = count_queries(lambda: client.get(INBOX))
    for i in range(20):
        _pending(make_customer(), product, staff.loan_officer if i % 2 else staff.admin)
    html = client.get(INBOX).get_data(as_text=True)
    assert html.count('data-loan="') == 25
    assert count_queries(lambda: client.get(INBOX)) == few


def test_the_inbox_flags_arrears_and_loans_the_viewer_may_not_approve(customer, make_customer, make_product,
                                                                      make_loan, staff):
    make_loan(customer, "10000", on=START)  # long in arrears
    product = _product(make_product)
    late = _pending(customer, product, staff.loan_officer)[0]
    own = _pending(make_customer(), product, staff.manager)[0]
    rows = {row.loan: row for row in approvals.inbox(actor=staff.manager).items}
    assert (rows[late].loans_in_arrears, rows[late].refusal) == (1, None)
    assert "maker-checker" in rows[own].refusal


def _product(make_product):
    return make_product(max_principal="2000000")


def test_a_loan_officer_cannot_open_the_inbox(client, login_as, staff):
    login_as(user=staff.loan_officer)
    assert client.get(INBOX).status_code == 403
    with pytest.raises(Forbidden):
        approvals.inbox(actor=staff.loan_officer)


def test_a_manager_sees_only_their_team_s_applications(client, login_as, customer, product, staff, make_customer):
    ours = _pending(customer, product, staff.loan_officer)[0]
    other_officer = staff.outside_manager
    theirs = _pending(make_customer(created_by_id=other_officer.id, assigned_officer_id=None), product,
                      other_officer)[0]
    assert [r.loan for r in approvals.inbox(actor=staff.manager).items] == [ours]
    assert [r.loan for r in approvals.inbox(actor=staff.admin).items] == [ours, theirs]
    login_as(user=staff.manager)
    html = client.get(INBOX).get_data(as_text=True)
    assert ours.loan_number in html and theirs.loan_number not in html


# --- what the checker sees ---------------------------------------------------------------------------------------


def _pay(loan, amount, at: datetime, staff):
    payment = repayments.record_payment(loan, amount, actor=staff.loan_officer)
    payment.received_at = at
    return payment


def test_the_on_time_rate_counts_installments_paid_in_full_by_their_due_date(customer, product, make_loan, staff):
    loan = make_loan(customer, "50000", on=START)  # due 15 Feb, 15 Mar, 15 Apr, 15 May 2025 ...
    _pay(loan, "4407.43", datetime(2025, 2, 14, 9, tzinfo=UTC), staff)       # #1 a day early: on time
    _pay(loan, "4407.43", datetime(2025, 3, 20, 9, tzinfo=UTC), staff)       # #2 five days late
    _pay(loan, "4407.43", datetime(2025, 4, 15, 21, 30, tzinfo=UTC), staff)  # #3 00:30 on 16 Apr in Nairobi: late
    reversed_ = _pay(loan, "4407.43", datetime(2025, 5, 1, 9, tzinfo=UTC), staff)  # #4 early, then reversed
    repayments.reverse(reversed_, "Bounced", actor=staff.manager)
    _pay(loan, "1000", datetime(2025, 5, 2, 9, tzinfo=UTC), staff)           # #4 partly: not paid in full
    db.session.flush()
    record = approvals.repayment_record(customer)
    assert (record.paid, record.on_time, record.on_time_rate) == (3, 1, D("33.3"))


def test_a_customer_who_never_paid_has_no_rate(customer):
    record = approvals.repayment_record(customer)
    assert (record.paid, record.on_time_rate) == (0, None)


def test_the_context_has_kyc_loans_arrears_contacts_schedule_and_maker(customer, product, make_loan, staff):
    active = make_loan(customer, "10000", on=START)
    make_loan(customer, "5000", disburse=False)
    closed_or_rejected = loans.apply(customer, {"product_id": product.id, "principal": "3000"},
                                     actor=staff.loan_officer)
    loans.reject(closed_or_rejected, "Not now", actor=staff.manager)
    for code in ("promise_to_pay", "no_answer", "no_answer", "dispute"):
        db.session.add(Interaction(loan_id=active.id, kind=InteractionKind.CALLING, disposition_code=code,
                                   created_by_id=staff.manager.id))
    db.session.flush()
    loan = _pending(customer, product, staff.loan_officer, principal="50000")[0]
    ctx = approvals.context(loan, actor=staff.manager)
    assert ctx.customer.kyc_level == KycLevel.TIER_2
    assert [(p.loan.status, p.loan.id == active.id) for p in ctx.current_loans] == [
        (LoanStatus.DISBURSED, True), (LoanStatus.APPROVED, False)]
    position = ctx.current_loans[0]
    assert position.outstanding == loans.outstanding(active)  # nothing paid: all of it, all late
    assert position.overdue == position.outstanding and position.days_past_due > 300
    assert ctx.history == {"rejected": 1}
    assert ctx.contacts.by_category == {"positive": 1, "neutral": 2, "negative": 1}
    assert ctx.contacts.last is not None
    assert ctx.quote.installment == D("4407.43") and ctx.quote.total_interest == D("2889.15")
    assert ctx.submitted_by == staff.loan_officer and ctx.refusal is None


def test_the_decision_panel_shows_the_context(client, login_as, customer, product, staff, make_loan):
    make_loan(customer, "10000", on=START)
    loan = _pending(customer, product, staff.loan_officer, principal="50000")[0]
    login_as(user=staff.manager)
    response = client.get(f"{INBOX}/{loan.id}", headers=HX)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert f'id="decision-{loan.id}"' in html
    assert "verified, level tier 2" in html
    assert staff.loan_officer.full_name in html
    assert "4,407.43 \u00d7 12 monthly" in html and "2,889.15" in html
    assert "No installment paid in full yet" in html
    assert 'data-testid="cannot-approve"' not in html


def test_the_panel_says_in_advance_why_the_viewer_may_not_approve(client, login_as, customer, product, staff):
    loan = _pending(customer, product, staff.manager)[0]
    login_as(user=staff.manager)
    html = text(client.get(f"{INBOX}/{loan.id}", headers=HX))
    assert 'data-testid="cannot-approve"' in html and "maker-checker" in html
    assert f'type="submit" disabled>Approve {loan.loan_number}</button>' in html


# --- deciding inline --------------------------------------------------------------------------------------------


def test_approving_inline_reloads_the_inbox_with_the_message(client, login_as, post, customer, product, staff):
    loan = _pending(customer, product, staff.loan_officer)[0]
    login_as(user=staff.manager)
    response = post(f"/portal/loans/{loan.id}/approve")
    assert response.status_code == 204 and "inbox-changed" in response.headers["HX-Trigger"]
    db.session.refresh(loan)
    assert (loan.status, loan.decided_by_id) == (LoanStatus.APPROVED, staff.manager.id)
    html = text(client.get(INBOX, headers=HX))
    assert f"Approved {loan.loan_number}" in html and f'data-loan="{loan.loan_number}"' not in html


def test_the_maker_is_refused_inline_and_told_why(client, login_as, post, customer, product, staff):
    loan = _pending(customer, product, staff.manager)[0]
    login_as(user=staff.manager)
    response = post(f"/portal/loans/{loan.id}/approve")
    html = text(response)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == f"#decision-{loan.id}"  # in the panel, not lost in the flashes
    assert 'data-testid="refusal"' in html and "another person must approve it (maker-checker)" in html
    db.session.refresh(loan)
    assert loan.status == LoanStatus.PENDING


def test_a_loan_above_the_manager_s_limit_is_refused_inline_and_an_admin_approves_it(
        client, login_as, post, make_customer, make_product, staff):
    loan = _pending(make_customer(kyc=KycLevel.TIER_3), _product(make_product), staff.loan_officer,
                    principal="600000")[0]
    login_as(user=staff.manager)
    response = post(f"/portal/loans/{loan.id}/approve")
    assert response.status_code == 403
    assert "above your approval limit of 500,000.00; ask an admin" in text(response)
    db.session.refresh(loan)
    assert loan.status == LoanStatus.PENDING
    login_as(user=staff.admin)
    assert post(f"/portal/loans/{loan.id}/approve").status_code == 204
    db.session.refresh(loan)
    assert loan.status == LoanStatus.APPROVED


def test_rejecting_needs_a_reason_and_keeps_it(client, login_as, post, customer, product, staff):
    loan = _pending(customer, product, staff.loan_officer)[0]
    login_as(user=staff.manager)
    response = post(f"/portal/loans/{loan.id}/reject", {"reason": " "})
    html = text(response)
    assert response.status_code == 422 and 'aria-invalid="true"' in html
    assert "Give the reason for rejecting" in html
    db.session.refresh(loan)
    assert loan.status == LoanStatus.PENDING
    response = post(f"/portal/loans/{loan.id}/reject", {"reason": "Stock could not be verified"})
    assert response.status_code == 204
    db.session.refresh(loan)
    assert (loan.status, loan.rejection_reason) == (LoanStatus.REJECTED, "Stock could not be verified")


def test_deciding_twice_is_explained_in_the_panel(client, login_as, post, customer, product, staff):
    loan = _pending(customer, product, staff.loan_officer)[0]
    loans.approve(loan, actor=staff.admin)
    db.session.commit()
    login_as(user=staff.manager)
    response = post(f"/portal/loans/{loan.id}/approve")
    assert response.status_code == 409 and "already approved" in text(response)


def test_a_manager_of_another_team_can_neither_open_nor_approve_nor_reject(client, login_as, post, customer,
                                                                          product, staff):
    loan = _pending(customer, product, staff.loan_officer)[0]
    login_as(user=staff.outside_manager)
    assert client.get(f"{INBOX}/{loan.id}", headers=HX).status_code == 403
    assert post(f"/portal/loans/{loan.id}/approve").status_code == 403
    assert post(f"/portal/loans/{loan.id}/reject", {"reason": "Not ours"}).status_code == 403
    db.session.refresh(loan)
    assert loan.status == LoanStatus.PENDING


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT])
def test_roles_below_manager_cannot_decide_in_the_portal(client, login_as, post, customer, product, staff,
                                                        make_user, role):
    loan = _pending(customer, product, staff.loan_officer)[0]
    login_as(user=make_user(role, manager_id=staff.manager.id))
    assert post(f"/portal/loans/{loan.id}/approve").status_code == 403
    assert post("/portal/loans/approvals/bulk", {"loan_ids": [loan.id]}).status_code == 403
    db.session.refresh(loan)
    assert loan.status == LoanStatus.PENDING


# --- bulk ---------------------------------------------------------------------------------------------------------


def test_bulk_approve_reports_each_loan_approved_or_refused(client, login_as, post, customer, make_customer,
                                                            product, staff):
    first, second = _pending(customer, product, staff.loan_officer, 2)
    own = _pending(customer, product, staff.manager)[0]
    hidden = _pending(make_customer(created_by_id=staff.outside_manager.id, assigned_officer_id=None), product,
                      staff.outside_manager)[0]
    login_as(user=staff.manager)
    response = post("/portal/loans/approvals/bulk", {"loan_ids": [first.id, own.id, second.id, hidden.id]})
    html = text(response)
    assert response.status_code == 200 and "inbox-changed" in response.headers["HX-Trigger"]
    assert "2 approved, 2 refused." in html
    assert f"{first.loan_number}: approved" in html and f"{second.loan_number}: approved" in html
    assert f"{own.loan_number}: refused. You submitted this application" in html
    assert f"Loan {hidden.id}: refused. Not found among the loans you may decide." in html
    assert hidden.loan_number not in html
    for loan in (first, second, own, hidden):
        db.session.refresh(loan)
    assert [loan.status for loan in (first, second, own, hidden)] == [
        LoanStatus.APPROVED, LoanStatus.APPROVED, LoanStatus.PENDING, LoanStatus.PENDING]


def test_bulk_approve_with_nothing_selected_says_so(client, login_as, post, staff):
    login_as(user=staff.manager)
    response = post("/portal/loans/approvals/bulk", {})
    assert response.status_code == 200 and "Tick the applications to approve first." in text(response)


def test_approve_many_keeps_going_past_a_refusal(customer, make_customer, make_product, staff):
    product = _product(make_product)
    big = _pending(make_customer(kyc=KycLevel.TIER_3), product, staff.loan_officer, principal="750000")[0]
    small = _pending(customer, product, staff.loan_officer)[0]
    outcomes = approvals.approve_many([big.id, small.id, small.id], actor=staff.manager)
    assert [(o.loan_number, o.approved) for o in outcomes] == [(big.loan_number, False), (small.loan_number, True)]
    assert "approval limit" in outcomes[0].reason
    assert (big.status, small.status) == (LoanStatus.PENDING, LoanStatus.APPROVED)


def test_the_inbox_page_has_the_bulk_form_and_a_confirmation(client, login_as, customer, product, staff):
    _pending(customer, product, staff.loan_officer)
    login_as(user=staff.manager)
    html = client.get(INBOX).get_data(as_text=True)
    assert 'id="bulk-form"' in html and "hx-confirm=" in html and 'form="bulk-form"' in html


def test_disbursed_loans_are_not_in_the_inbox(customer, make_loan, staff):
    make_loan(customer, "5000", channel=DisbursementChannel.SAVINGS)
    assert approvals.inbox(actor=staff.manager).total == 0
