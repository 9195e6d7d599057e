"""004 Vault5 admin: /v1/admin/users, /v1/admin/kyc/queue, /v1/admin/kyc/{userId}/approve and /reject, with 004's
bodies ({kycLevel, approvedDocuments, notes}; {reason, notes}) and its error body (422 VALIDATION_ERROR)."""

import pytest

from portal.models import KycLevel, KycStatus, Role
from portal.models.base import db
from tests.api.conftest import assert_error, assert_invalid
from tests.kyc.conftest import notifications


@pytest.fixture
def admin_headers(api_headers, staff):
    return api_headers(staff.admin)


# --- users ------------------------------------------------------------------------------------------------------


def test_an_admin_lists_users_with_each_borrowers_kyc(client, admin_headers, borrower, staff):
    borrower.customer.kyc_status, borrower.customer.kyc_level = KycStatus.VERIFIED, KycLevel.TIER_1
    db.session.commit()

    body = client.get("/v1/admin/users?limit=100", headers=admin_headers).get_json()

    assert body["success"] is True and body["pagination"]["total"] == len(body["users"])
    by_id = {u["_id"]: u for u in body["users"]}
    mine = by_id[str(borrower.user.id)]
    assert mine["role"] == "user" and mine["customerId"] == str(borrower.customer.id)
    assert (mine["kycStatus"], mine["kycLevel"]) == ("verified", "tier_1")
    assert by_id[str(staff.manager.id)]["kycStatus"] is None


def test_users_filter_by_role_and_kyc_status_and_page(client, admin_headers, borrower, make_user):
    make_user(Role.BORROWER)

    borrowers = client.get("/v1/admin/users?role=user", headers=admin_headers).get_json()
    pending = client.get("/v1/admin/users?kycStatus=unverified", headers=admin_headers).get_json()
    paged = client.get("/v1/admin/users?limit=1&page=2", headers=admin_headers).get_json()

    assert {u["role"] for u in borrowers["users"]} == {"user"} and borrowers["pagination"]["total"] == 2
    assert [u["_id"] for u in pending["users"]] == [str(borrower.user.id)]
    assert len(paged["users"]) == 1 and paged["pagination"]["page"] == 2 and paged["pagination"]["limit"] == 1


def test_a_manager_lists_their_team_only(client, api_headers, staff):
    body = client.get("/v1/admin/users", headers=api_headers(staff.manager)).get_json()

    ids = {u["_id"] for u in body["users"]}
    assert str(staff.collector.id) in ids and str(staff.other_collector.id) not in ids


@pytest.mark.parametrize(("query", "bad"), [("limit=101", "limit"), ("page=0", "page"), ("role=boss", "role"),
                                            ("kycStatus=maybe", "kycStatus")])
def test_bad_user_queries_are_422(client, admin_headers, query, bad):
    assert_invalid(client.get(f"/v1/admin/users?{query}", headers=admin_headers), "004", bad)


@pytest.mark.parametrize("path", ["/v1/admin/users", "/v1/admin/kyc/queue"])
def test_admin_endpoints_refuse_others(client, api_headers, borrower, staff, path):
    assert_error(client.get(path), "004", 401)
    assert_error(client.get(path, headers=api_headers(borrower.user, "user")), "004", 403)
    assert_error(client.get(path, headers=api_headers(staff.loan_officer)), "004", 403)


# --- the queue --------------------------------------------------------------------------------------------------


def test_the_queue_shows_each_submission_with_documents_and_flags(client, admin_headers, borrower, make_customer,
                                                                 submitted):
    other = make_customer(national_id="28555666")
    submission = submitted(borrower.customer)

    body = client.get("/v1/admin/kyc/queue", headers=admin_headers).get_json()

    assert body["success"] is True and body["pagination"]["total"] == 1
    [item] = body["queue"]
    assert item["_id"] == str(submission.id) and item["userId"] == str(borrower.user.id)
    assert item["customerId"] == str(borrower.customer.id) and item["kycStatus"] == "pending"
    assert [d["type"] for d in item["documents"]] == ["national_id", "selfie"]
    assert item["documents"][0]["number"] == "28555666" and item["documents"][0]["status"] == "pending"
    [flag] = item["flags"]
    assert flag["code"] == "duplicate_national_id" and flag["otherCustomerIds"] == [str(other.id)]


def test_a_customer_without_a_login_is_addressed_as_customer_id(client, admin_headers, customer, submitted):
    submitted(customer)

    [item] = client.get("/v1/admin/kyc/queue", headers=admin_headers).get_json()["queue"]

    assert item["userId"] == f"customer-{customer.id}"


def test_bad_queue_queries_are_422(client, admin_headers):
    assert_invalid(client.get("/v1/admin/kyc/queue?limit=500", headers=admin_headers), "004", "limit")


# --- decisions --------------------------------------------------------------------------------------------------


def test_approving_with_004s_body_verifies_the_user_and_tells_them(client, admin_headers, borrower, submitted):
    submitted(borrower.customer)

    response = client.post(f"/v1/admin/kyc/{borrower.user.id}/approve", headers=admin_headers,
                           json={"kycLevel": "tier_2", "approvedDocuments": ["national_id"], "notes": "Approved"})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["kyc"]["status"] == "approved"
    assert (body["kyc"]["kycStatus"], body["kyc"]["kycLevel"]) == ("verified", "tier_2")
    assert len(body["kyc"]["approvedDocuments"]) == 1 and body["kyc"]["notes"] == "Approved"
    db.session.refresh(borrower.customer)
    assert borrower.customer.kyc_level == KycLevel.TIER_2
    assert [n.kind for n in notifications(borrower.user)] == ["kyc_approved"]


def test_documents_may_be_named_by_id_and_a_customer_by_customer_id(client, admin_headers, customer, submitted):
    submission = submitted(customer)

    response = client.post(f"/v1/admin/kyc/customer-{customer.id}/approve", headers=admin_headers,
                           json={"kycLevel": "tier_1", "approvedDocuments": [str(d.id) for d in submission.documents]})

    assert response.status_code == 200
    assert len(response.get_json()["kyc"]["approvedDocuments"]) == 2


@pytest.mark.parametrize(("body", "bad"), [
    ({"approvedDocuments": ["national_id"]}, "kycLevel"),
    ({"kycLevel": "tier_9", "approvedDocuments": ["national_id"]}, "kycLevel"),
    ({"kycLevel": "tier_1"}, "approvedDocuments"),
    ({"kycLevel": "tier_1", "approvedDocuments": "national_id"}, "approvedDocuments"),
    ({"kycLevel": "tier_1", "approvedDocuments": ["passport"]}, "approvedDocuments"),
    ({"kycLevel": "tier_1", "approvedDocuments": ["selfie"]}, "approvedDocuments"),
    ({"kycLevel": "tier_1", "approvedDocuments": ["national_id"], "notes": "x" * 2001}, "notes"),
])
def test_bad_approvals_are_422_naming_004s_field(client, admin_headers, borrower, submitted, body, bad):
    submitted(borrower.customer)

    response = client.post(f"/v1/admin/kyc/{borrower.user.id}/approve", headers=admin_headers, json=body)

    assert_invalid(response, "004", bad)


def test_rejecting_with_004s_body(client, admin_headers, borrower, submitted):
    submitted(borrower.customer)
    path = f"/v1/admin/kyc/{borrower.user.id}/reject"

    assert_invalid(client.post(path, headers=admin_headers, json={"notes": "Please resubmit"}), "004", "reason")
    response = client.post(path, headers=admin_headers, json={"reason": "Poor document quality",
                                                              "notes": "Please resubmit"})

    assert response.status_code == 200
    kyc = response.get_json()["kyc"]
    assert (kyc["status"], kyc["reason"], kyc["notes"]) == ("rejected", "Poor document quality", "Please resubmit")
    assert kyc["kycStatus"] == "rejected"
    assert [n.kind for n in notifications(borrower.user)] == ["kyc_rejected"]


@pytest.mark.parametrize("user_id", ["999999", "customer-999999", "abc", "1" * 30])
def test_an_unknown_user_is_404(client, admin_headers, user_id):
    response = client.post(f"/v1/admin/kyc/{user_id}/reject", headers=admin_headers, json={"reason": "No"})
    assert_error(response, "004", 404)


def test_nothing_pending_is_409(client, admin_headers, borrower):
    response = client.post(f"/v1/admin/kyc/{borrower.user.id}/reject", headers=admin_headers,
                           json={"reason": "Poor document quality"})
    assert_error(response, "004", 409)


def test_a_manager_decides_only_for_their_team(client, api_headers, staff, borrower, submitted):
    submitted(borrower.customer)
    body = {"kycLevel": "tier_1", "approvedDocuments": ["national_id"]}

    assert_error(client.post(f"/v1/admin/kyc/{borrower.user.id}/approve", headers=api_headers(staff.outside_manager),
                             json=body), "004", 403)
    assert client.post(f"/v1/admin/kyc/{borrower.user.id}/approve", headers=api_headers(staff.manager),
                       json=body).status_code == 200


def test_a_borrower_cannot_approve_themselves(client, api_headers, borrower, submitted):
    submitted(borrower.customer)
    response = client.post(f"/v1/admin/kyc/{borrower.user.id}/approve", headers=api_headers(borrower.user, "user"),
                           json={"kycLevel": "tier_3", "approvedDocuments": ["national_id"]})
    assert_error(response, "004", 403)
