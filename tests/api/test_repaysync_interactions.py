"""003's field and calling interactions: who logs which kind, validation, same-day edits, revisions."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.models import (
    Customer,
    Frequency,
    Interaction,
    InteractionRevision,
    InterestMethod,
    Loan,
    LoanStatus,
    Role,
)
from portal.models.base import db, utcnow
from tests.factories import CustomerFactory


@pytest.fixture
def team(make_user):
    manager = make_user(Role.MANAGER)
    return {"manager": manager, "officer": make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
            "caller": make_user(Role.CALLING_AGENT, manager_id=manager.id),
            "other_officer": make_user(Role.COLLECTION_OFFICER)}


@pytest.fixture
def loan(team):
    customer = CustomerFactory(assigned_officer_id=team["officer"].id)
    loan = Loan(loan_number="LNINT00001", customer_id=customer.id, principal=Decimal("5000.00"),
                annual_rate=Decimal("12"), interest_method=InterestMethod.FLAT, frequency=Frequency.MONTHLY,
                term_periods=6, application_date=date.today(), status=LoanStatus.DISBURSED)
    db.session.add(loan)
    db.session.commit()
    return loan


def post(client, headers, kind, body):
    return client.post(f"/api/interactions/{kind}/create/", json=body, headers=headers)


def test_a_calling_agent_logs_a_call_in_003_s_shape(client, api_headers, team, loan):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    response = post(client, api_headers(team["caller"]), "calling",
                    {"loan": loan.id, "comment": "Reminded about the due payment.", "disposition": "called",
                     "next_call_date": tomorrow})
    assert response.status_code == 201
    body = response.get_json()
    assert body["loan"] == loan.id and body["disposition"] == "called" and body["interaction_type"] == "calling"
    assert body["next_call_date"] == tomorrow and body["created_by"] == team["caller"].id and body["timestamp"]


@pytest.mark.parametrize(("role", "kind", "status"), [
    ("caller", "calling", 201), ("caller", "field", 403), ("officer", "field", 201), ("officer", "calling", 403),
    ("manager", "field", 201), ("manager", "calling", 201)])
def test_who_may_log_which_kind(client, api_headers, team, loan, role, kind, status):
    response = post(client, api_headers(team[role]), kind, {"loan": loan.id, "disposition": "visited"})
    assert response.status_code == status


def test_an_officer_cannot_log_against_another_officer_s_customer(client, api_headers, team, loan):
    response = post(client, api_headers(team["other_officer"]), "field", {"loan": loan.id, "disposition": "visited"})
    assert response.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"disposition": "visited"}, "loan"),
    ({"loan": "LOAN", "disposition": "nonsense"}, "disposition"),
    ({"loan": "LOAN", "disposition": "promise_to_pay"}, "promise_amount"),
    ({"loan": "LOAN", "disposition": "visited", "next_call_date": "15/03/2025"}, "next_call_date"),
    ({"loan": "LOAN", "disposition": "visited", "next_call_date": "2020-01-01"}, "next_call_date"),
    ({"loan": "LOAN", "disposition": "visited", "latitude": "200"}, "latitude"),
])
def test_invalid_interactions_are_400_naming_003_s_field(client, api_headers, team, loan, body, field):
    body = {k: loan.id if v == "LOAN" else v for k, v in body.items()}
    response = post(client, api_headers(team["officer"]), "field", body)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_a_promise_to_pay_keeps_its_amount_and_date(client, api_headers, team, loan):
    on = (date.today() + timedelta(days=3)).isoformat()
    response = post(client, api_headers(team["officer"]), "field", {
        "loan": loan.id, "disposition": "promise_to_pay", "promise_amount": "1500.50", "promise_date": on,
        "contact_outcome": "right_party", "latitude": "-1.283333", "longitude": "36.816667"})
    body = response.get_json()
    assert response.status_code == 201
    assert (body["promise_amount"], body["promise_date"], body["contact_outcome"]) == ("1500.50", on, "right_party")
    assert body["latitude"] == "-1.283333"
    assert (body["promise_status"], body["promise_paid"]) == ("pending", None)  # until the nightly job settles it


def test_the_author_edits_on_the_same_day_and_the_old_version_is_kept(client, api_headers, team, loan):
    headers = api_headers(team["officer"])
    created = post(client, headers, "field", {"loan": loan.id, "disposition": "visited", "comment": "first"})
    interaction_id = created.get_json()["id"]
    response = client.patch(f"/api/interactions/field/{interaction_id}/", json={"comment": "corrected"},
                            headers=headers)
    assert response.status_code == 200 and response.get_json()["comment"] == "corrected"
    revision = db.session.query(InteractionRevision).filter_by(interaction_id=interaction_id).one()
    assert revision.action == "update" and revision.before["comment"] == "first"


def test_an_author_cannot_edit_yesterday_s_interaction_but_a_manager_can(client, api_headers, team, loan):
    interaction = Interaction(loan_id=loan.id, kind="field", disposition_code="visited", comment="old",
                              created_by_id=team["officer"].id, created_at=utcnow() - timedelta(days=2))
    db.session.add(interaction)
    db.session.commit()
    url = f"/api/interactions/field/{interaction.id}/"
    assert client.patch(url, json={"comment": "x"}, headers=api_headers(team["officer"])).status_code == 403
    assert client.patch(url, json={"comment": "y"}, headers=api_headers(team["manager"])).status_code == 200


def test_deleting_hides_the_interaction_but_keeps_it_on_record(client, api_headers, team, loan):
    headers = api_headers(team["caller"])
    interaction_id = post(client, headers, "calling", {"loan": loan.id, "disposition": "no_answer"}).get_json()["id"]
    assert client.delete(f"/api/interactions/calling/{interaction_id}/", headers=headers).status_code == 200
    assert client.get(f"/api/interactions/calling/{interaction_id}/", headers=headers).status_code == 404
    assert client.get(f"/api/interactions/calling/loan/{loan.id}/", headers=headers).get_json() == []
    kept = db.session.get(Interaction, interaction_id)
    assert kept is not None and kept.deleted_at is not None
    assert db.session.query(InteractionRevision).filter_by(interaction_id=interaction_id, action="delete").count() == 1


def test_lists_by_loan_are_per_kind_and_newest_first(client, api_headers, team, loan):
    caller, officer = api_headers(team["caller"]), api_headers(team["officer"])
    first = post(client, caller, "calling", {"loan": loan.id, "disposition": "no_answer"}).get_json()["id"]
    second = post(client, caller, "calling", {"loan": loan.id, "disposition": "called"}).get_json()["id"]
    post(client, officer, "field", {"loan": loan.id, "disposition": "visited"})
    listed = client.get(f"/api/interactions/calling/loan/{loan.id}/", headers=caller).get_json()
    assert [i["id"] for i in listed] == [second, first]
    assert client.get(f"/api/interactions/field/{first}/", headers=officer).status_code == 404


def test_an_interaction_cannot_move_to_another_loan(client, api_headers, team, loan):
    headers = api_headers(team["officer"])
    interaction_id = post(client, headers, "field", {"loan": loan.id, "disposition": "visited"}).get_json()["id"]
    other = Loan(loan_number="LNINT00002", customer_id=db.session.query(Customer).first().id,
                 principal=Decimal("100.00"), annual_rate=Decimal("1"), interest_method=InterestMethod.FLAT,
                 frequency=Frequency.MONTHLY, term_periods=1, application_date=date.today())
    db.session.add(other)
    db.session.commit()
    response = client.patch(f"/api/interactions/field/{interaction_id}/", json={"loan": other.id}, headers=headers)
    assert response.status_code == 400 and "loan" in response.get_json()["errors"]


def test_without_a_token_it_is_401(client, loan):
    assert client.get(f"/api/interactions/field/loan/{loan.id}/").status_code == 401
