"""The statements area of the portal: downloads, the period form, the job page and who may see what."""

import re

import pytest

from portal.models import Job, JobStatus, Role
from portal.models.base import db
from portal.services import jobs, statements
from tests.pages import HX
from tests.statements.conftest import pdf_text


def loan_url(loan):
    return f"/portal/statements/loans/{loan.id}"


def customer_url(customer, **period):
    query = "&".join(f"{key}={value}" for key, value in period.items())
    return f"/portal/statements/customers/{customer.id}" + (f"?{query}" if query else "")


def test_short_loan_statement_downloads_at_once(client, login_as, staff, loan):
    login_as(user=staff.collector)
    response = client.get(loan_url(loan))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=loan-statement-")
    assert "no-store" in response.headers["Cache-Control"]
    assert "4,407.43" in pdf_text(response.data)
    assert db.session.query(Job).count() == 0  # no job for a short statement


@pytest.mark.parametrize("who", ["other_collector", "outside_manager"])
def test_staff_who_cannot_see_the_customer_get_no_statement(client, login_as, make_user, other_collector, loan,
                                                              customer, who):
    user = other_collector if who == "other_collector" else make_user(Role.MANAGER)
    login_as(user=user)
    for url in (loan_url(loan), customer_url(customer), customer_url(customer, start="2025-01-01", end="2025-01-31")):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"%PDF" not in response.data


def test_signed_out_visitor_is_sent_to_sign_in(client, loan):
    response = client.get(loan_url(loan))
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_customer_statement_form_prefills_this_month(client, login_as, staff, customer):
    login_as(user=staff.collector)
    response = client.get(customer_url(customer))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'type="date"' in html and 'name="start"' in html and customer.name in html
    assert re.search(r'name="start"[^>]*value="\d{4}-\d{2}-01"', html)


def test_customer_statement_for_a_period_downloads(client, login_as, staff, customer):
    login_as(user=staff.collector)
    response = client.get(customer_url(customer, start="2025-01-01", end="2025-01-31"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Account statement, 01 Jan 2025 to 31 Jan 2025" in pdf_text(response.data)


@pytest.mark.parametrize(("period", "message"), [
    ({"start": "2025-02-01", "end": "2025-01-01"}, "The end date must be on or after the start date."),
    ({"start": "31/01/2025", "end": "2025-02-01"}, "The start date must be a real date written YYYY-MM-DD"),
    ({"start": "", "end": "2025-02-01"}, "Give the start date (YYYY-MM-DD)."),
    ({"start": "2025-01-01", "end": "2999-01-01"}, "The end date cannot be in the future."),
])
def test_bad_period_is_answered_on_the_form(client, login_as, staff, customer, period, message):
    login_as(user=staff.collector)
    response = client.get(customer_url(customer, **period))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'aria-invalid="true"' in html


def test_long_loan_statement_goes_to_a_job(client, login_as, staff, loan, app, monkeypatch, csrf_token):
    monkeypatch.setitem(app.config, "STATEMENT_INLINE_MAX_ROWS", 5)  # 12 installments + 1 line is "long"
    login_as(user=staff.collector)

    page = client.get(loan_url(loan))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f'hx-post="{loan_url(loan)}" hx-trigger="load"' in html
    assert db.session.query(Job).count() == 0  # a GET asks for nothing

    response = client.post(loan_url(loan), data={"csrf_token": csrf_token(loan_url(loan))})
    job = db.session.query(Job).one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/portal/statements/jobs/{job.id}"
    assert (job.kind, job.owner_id, job.params["loan_id"]) == ("statement.loan", staff.collector.id, loan.id)
    assert job.status == JobStatus.DONE  # the test runner is eager

    html = client.get(f"/portal/statements/jobs/{job.id}").get_data(as_text=True)
    assert f'href="/portal/statements/jobs/{job.id}/download"' in html and 'value="100"' in html
    assert "every 1s" not in html  # finished: no more polling

    download = client.get(f"/portal/statements/jobs/{job.id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == f"attachment; filename={job.filename}"
    assert "2,889.15" in pdf_text(download.data)


def test_long_customer_statement_goes_to_a_job_with_its_period(client, login_as, staff, customer, app, monkeypatch,
                                                                csrf_token):
    monkeypatch.setitem(app.config, "STATEMENT_INLINE_MAX_ROWS", -1)
    login_as(user=staff.collector)
    url = customer_url(customer, start="2025-01-01", end="2025-01-31")
    html = client.get(url).get_data(as_text=True)
    assert 'name="start" value="2025-01-01"' in html and 'name="end" value="2025-01-31"' in html

    response = client.post(f"/portal/statements/customers/{customer.id}", headers=HX, data={
        "csrf_token": csrf_token(url), "start": "2025-01-01", "end": "2025-01-31"})
    job = db.session.query(Job).one()
    assert response.headers["HX-Redirect"] == f"/portal/statements/jobs/{job.id}"
    assert job.params["start"] == "2025-01-01" and job.status == JobStatus.DONE


def test_job_page_polls_every_second_while_the_job_runs(client, login_as, staff, loan):
    login_as(user=staff.collector)
    job = statements.queue_loan_statement(loan.id, actor=staff.collector)  # queued, not started
    db.session.commit()

    page = client.get(f"/portal/statements/jobs/{job.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert f'hx-get="/portal/statements/jobs/{job.id}" hx-trigger="every 1s"' in html
    assert '<progress class="w-100" value="0" max="100"' in html and "Waiting to start" in html

    jobs.run(job.id)
    fragment = client.get(f"/portal/statements/jobs/{job.id}", headers=HX)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and 'data-status="done"' in html and "every 1s" not in html
    assert "HX-Request" in fragment.headers["Vary"]


def test_failing_render_ends_the_job_failed_with_a_message_not_a_500(client, login_as, staff, loan, app,
                                                                     monkeypatch, csrf_token):
    monkeypatch.setitem(app.config, "STATEMENT_INLINE_MAX_ROWS", 0)
    monkeypatch.setattr(statements, "render_loan", lambda *a, **k: 1 / 0)
    login_as(user=staff.collector)
    response = client.post(loan_url(loan), data={"csrf_token": csrf_token(loan_url(loan))})
    assert response.status_code == 303
    job = db.session.query(Job).one()
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and job.status == JobStatus.FAILED
    assert 'data-status="failed"' in html and jobs.FAILED_MESSAGE in html
    assert client.get(f"/portal/statements/jobs/{job.id}/download").status_code == 409


def test_a_jobs_file_is_for_its_owner_and_admins_only(client, login_as, staff, other_collector, loan, make_user):
    job = statements.queue_loan_statement(loan.id, actor=staff.collector)
    db.session.commit()
    jobs.run(job.id)
    for user, status in ((other_collector, 404), (staff.manager, 404), (staff.loan_officer, 404),
                         (staff.admin, 200), (staff.collector, 200)):
        login_as(user=user)
        assert client.get(f"/portal/statements/jobs/{job.id}").status_code == status, user.role
        assert client.get(f"/portal/statements/jobs/{job.id}/download").status_code == status, user.role


def test_unknown_job_is_not_found(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/portal/statements/jobs/nope").status_code == 404
    assert client.get("/portal/statements/jobs/nope/download").status_code == 404
