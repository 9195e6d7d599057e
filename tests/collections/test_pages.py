"""The collections workspace in the portal: queue, inline panel, logging from the queue, board, reassignment."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from sqlalchemy import func, select

from portal.models import Interaction, InteractionKind, PromiseStatus, Role
from portal.models.base import db
from portal.services import interactions
from portal.services.business_day import today
from portal.services.errors import ValidationFailed
from tests.factories import PASSWORD
from tests.pages import HX
from tests.queries import count_queries


def test_an_agent_signs_in_to_their_queue(client, csrf_token, teams, make_loan):
    make_loan(caller=teams.caller_a, dpd=9, name="Wanjiku Kamau")
    make_loan(caller=teams.caller_b, dpd=9, name="Other Team")
    response = client.post("/login", data={"username": teams.caller_a.username, "password": PASSWORD,
                                           "csrf_token": csrf_token()}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.request.path == "/portal/collections/"
    assert "Wanjiku Kamau" in html and "Other Team" not in html
    assert "In arrears" in html and ">9<" in html


def test_filters_answer_with_the_fragment_only(client, login_as, teams, make_loan):
    login_as(user=teams.caller_a)
    make_loan(caller=teams.caller_a, dpd=45, name="Bucket Match")
    make_loan(caller=teams.caller_a, dpd=5, name="Bucket Miss")
    response = client.get("/portal/collections/?bucket=31-60", headers=HX)
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Bucket Match" in html and "Bucket Miss" not in html
    assert client.get("/portal/collections/?bucket=nope").status_code == 400


def test_the_panel_shows_arrears_contacts_and_a_call_form(client, login_as, teams, make_loan, log):
    login_as(user=teams.caller_a)
    loan = make_loan(caller=teams.caller_a, dpd=20, overdue="1234.50", phone="+254711000111")
    log(loan, teams.caller_a, comment="Said she would pay on Friday")
    html = client.get(f"/portal/collections/loans/{loan.id}", headers=HX).get_data(as_text=True)
    assert "tel:+254711000111" in html and "1,234.50" in html and "Said she would pay on Friday" in html
    assert '<input type="hidden" name="kind" value="calling">' in html


def test_logging_a_promise_from_the_queue_moves_the_row(client, login_as, csrf_token, teams, make_loan):
    login_as(user=teams.officer_a)
    loan = make_loan(officer=teams.officer_a, dpd=12)
    token = csrf_token("/portal/collections/")
    response = client.post(f"/portal/collections/loans/{loan.id}/interactions", headers=HX, data={
        "csrf_token": token, "kind": "field", "disposition_code": "promise_to_pay", "contact_outcome": "right_party",
        "promise_amount": "1,500", "promise_date": (today() + timedelta(days=2)).isoformat(),
        "latitude": "-1.292066", "longitude": "36.821945"})
    assert response.status_code == 204 and "queue-changed" in response.headers["HX-Trigger"]
    saved = db.session.scalars(select(Interaction)).one()
    assert (saved.kind, saved.promise_amount, saved.promise_status) == (
        InteractionKind.FIELD, Decimal("1500.00"), PromiseStatus.PENDING)
    assert saved.latitude == Decimal("-1.292066")
    html = client.get("/portal/collections/", headers=HX).get_data(as_text=True)
    assert f'data-loan="{loan.loan_number}"' not in html and "Logged" in html  # the row left; the flash rides along


def test_a_bad_interaction_comes_back_inline_and_nothing_is_written(client, login_as, csrf_token, teams, make_loan):
    login_as(user=teams.caller_a)
    loan = make_loan(caller=teams.caller_a, dpd=12)
    response = client.post(f"/portal/collections/loans/{loan.id}/interactions", headers=HX, data={
        "csrf_token": csrf_token("/portal/collections/"), "kind": "calling", "disposition_code": "promise_to_pay",
        "promise_amount": "-5", "promise_date": "yesterday"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'aria-invalid="true"' in html
    assert "Enter the date as YYYY-MM-DD." in html
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_an_officer_cannot_open_or_log_on_another_team_s_loan(client, login_as, csrf_token, teams, make_loan):
    login_as(user=teams.officer_a)
    theirs = make_loan(officer=teams.officer_b, dpd=12)
    assert client.get(f"/portal/collections/loans/{theirs.id}").status_code == 403
    response = client.post(f"/portal/collections/loans/{theirs.id}/interactions", data={
        "csrf_token": csrf_token("/portal/collections/"), "kind": "field", "disposition_code": "visited"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_a_calling_agent_cannot_log_a_field_visit_by_changing_the_form(client, login_as, csrf_token, teams,
                                                                       make_loan):
    login_as(user=teams.caller_a)
    loan = make_loan(caller=teams.caller_a, dpd=12)
    response = client.post(f"/portal/collections/loans/{loan.id}/interactions", data={
        "csrf_token": csrf_token("/portal/collections/"), "kind": "field", "disposition_code": "visited"})
    assert response.status_code == 403


def test_the_queue_page_runs_the_same_queries_for_few_or_many_rows(client, login_as, teams, make_loan, log):
    login_as(user=teams.caller_a)
    for dpd in [*range(1, 31), *range(40, 45)]:
        log(make_loan(caller=teams.caller_a, dpd=dpd), teams.caller_a, days_ago=2)
    few = count_queries(lambda: client.get("/portal/collections/?bucket=31-60"))  # 5 rows
    many = count_queries(lambda: client.get("/portal/collections/"))  # a full page of 25
    assert few == many


def test_the_team_board_and_its_access(client, login_as, teams, make_loan, log):
    login_as(user=teams.manager_a)
    log(make_loan(caller=teams.caller_a, dpd=3), teams.caller_a, days_ago=0)
    html = client.get("/portal/collections/team").get_data(as_text=True)
    assert teams.caller_a.full_name in html and teams.caller_b.full_name not in html
    assert client.get("/portal/collections/team?period=month", headers=HX).status_code == 200
    assert client.get("/portal/collections/team?period=decade").status_code == 400
    login_as(user=teams.caller_a)
    assert client.get("/portal/collections/team").status_code == 403


def test_a_manager_reassigns_selected_loans_from_the_queue(client, login_as, csrf_token, teams, make_loan,
                                                           make_user):
    login_as(user=teams.manager_a)
    new_caller = make_user(Role.CALLING_AGENT, manager_id=teams.manager_a.id)
    loans = [make_loan(caller=teams.caller_a, officer=teams.officer_a, dpd=4) for _ in range(2)]
    token = csrf_token("/portal/collections/")
    response = client.post("/portal/collections/reassign", headers=HX, data={
        "csrf_token": token, "target": f"agent:{new_caller.id}", "loan_ids": [loan.id for loan in loans]})
    assert response.status_code == 204
    db.session.expire_all()
    assert {loan.collector_id for loan in loans} == {new_caller.id}
    response = client.post("/portal/collections/reassign", headers=HX, data={
        "csrf_token": token, "target": f"agent:{teams.caller_b.id}", "loan_ids": [loans[0].id]})
    assert response.status_code == 204  # refused: the reason is flashed with the refreshed queue
    assert "from your team" in client.get("/portal/collections/", headers=HX).get_data(as_text=True)
    login_as(user=teams.caller_a)
    response = client.post("/portal/collections/reassign", headers=HX, data={
        "csrf_token": token, "target": f"agent:{teams.caller_a.id}", "loan_ids": [loans[0].id]})
    assert response.status_code == 403


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_field_visit_keeps_its_photo_for_those_who_may_see_the_customer(client, login_as, csrf_token, teams,
                                                                          make_loan):
    login_as(user=teams.officer_a)
    loan = make_loan(officer=teams.officer_a, dpd=12)
    response = client.post(f"/portal/collections/loans/{loan.id}/interactions", headers=HX, data={
        "csrf_token": csrf_token("/portal/collections/"), "kind": "field", "disposition_code": "visited",
        "photo": (BytesIO(PNG), "stall.png")}, content_type="multipart/form-data")
    assert response.status_code == 204
    saved = db.session.scalars(select(Interaction)).one()
    photo = client.get(f"/portal/collections/interactions/{saved.id}/photo")
    assert (photo.status_code, photo.content_type, photo.data) == (200, "image/png", PNG)
    assert "Photo of the visit" in client.get(f"/portal/collections/loans/{loan.id}", headers=HX).get_data(
        as_text=True)
    login_as(user=teams.officer_b)
    assert client.get(f"/portal/collections/interactions/{saved.id}/photo").status_code == 403


def test_a_photo_that_is_not_an_image_is_refused_inline(client, login_as, csrf_token, teams, make_loan):
    login_as(user=teams.officer_a)
    loan = make_loan(officer=teams.officer_a, dpd=12)
    response = client.post(f"/portal/collections/loans/{loan.id}/interactions", headers=HX, data={
        "csrf_token": csrf_token("/portal/collections/"), "kind": "field", "disposition_code": "visited",
        "photo": (BytesIO(b"%PDF-1.4 not a photo"), "stall.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "JPEG or PNG" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_a_call_cannot_carry_a_photo(teams, make_loan):
    loan = make_loan(caller=teams.caller_a, dpd=3)
    with pytest.raises(ValidationFailed) as refused:
        interactions.create(InteractionKind.CALLING, loan.id, {"disposition_code": "called"}, actor=teams.caller_a,
                            photo=BytesIO(PNG))
    assert "photo" in refused.value.errors
