"""002 ChamaHub KYC: /api/v1/kyc/kycdocuments/ (list, upload), /biometric-datas/, /verification-workflows/,
in 002's {count, next, previous, results} envelope and {"detail", "errors"} error body."""

import io

import pytest

from portal.models import DocumentStatus
from portal.models.base import db
from portal.services import kyc
from tests.api.conftest import assert_error, assert_invalid
from tests.kyc.conftest import EXE, PDF, PNG

DOCS = "/api/v1/kyc/kycdocuments/"


@pytest.fixture
def member(borrower, api_headers):
    borrower.headers = api_headers(borrower.user, "member")
    return borrower


def post(client, headers, data=PNG, filename="id.png", **fields):
    values = {"document_type": "NATIONAL_ID", "document_number": "28555666", "issue_date": "2020-01-01",
              "expiry_date": "2030-01-01", **fields}
    if data is not None:
        values["document_file"] = (io.BytesIO(data), filename)
    return client.post(DOCS, data=values, headers=headers, content_type="multipart/form-data")


# --- upload ---------------------------------------------------------------------------------------------------


def test_a_member_uploads_their_document_and_it_goes_for_verification(client, member):
    response = post(client, member.headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["document_type"] == "NATIONAL_ID" and body["document_number"] == "28555666"
    assert (body["issue_date"], body["expiry_date"]) == ("2020-01-01", "2030-01-01")
    assert body["status"] == "PENDING" and body["customer"] == member.customer.id and body["is_expired"] is False
    assert body["document_file"].endswith(f"/api/v1/kyc/kycdocuments/{body['id']}/file/")
    workflows = client.get("/api/v1/kyc/verification-workflows/", headers=member.headers).get_json()
    assert workflows["count"] == 1
    assert workflows["results"][0]["status"] == "PENDING"
    assert workflows["results"][0]["documents"] == [body["id"]]


def test_staff_upload_for_a_customer_they_name(client, api_headers, staff, customer):
    headers = api_headers(staff.collector)

    assert_invalid(post(client, headers), "002", "customer")
    response = post(client, headers, customer=customer.id, document_number="30111222", document_type="passport",
                    data=PDF, filename="passport.pdf")

    assert response.status_code == 201 and response.get_json()["document_type"] == "PASSPORT"


@pytest.mark.parametrize(("fields", "bad"), [
    ({"data": EXE, "filename": "id.png"}, "document_file"),          # a renamed executable
    ({"data": None}, "document_file"),                                # no file
    ({"document_type": "TAX_RETURN"}, "document_type"),
    ({"document_number": ""}, "document_number"),                    # an ID without its number
    ({"issue_date": "01/02/2020"}, "issue_date"),
    ({"expiry_date": "2019-01-01"}, "expiry_date"),                   # before it was issued
])
def test_bad_uploads_are_400_naming_the_field(client, member, fields, bad):
    assert_invalid(post(client, member.headers, **fields), "002", bad)


def test_an_oversized_file_is_refused_before_it_is_read(app, client, member, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 1024)

    body = assert_invalid(post(client, member.headers, data=PNG + b"\x00" * 200_000), "002", "document_file")
    assert body["errors"]["document_file"] == ["A document may be at most 1 KB."]
    body = assert_invalid(post(client, member.headers, data=PNG + b"\x00" * 2000), "002", "document_file")


def test_a_path_in_the_file_name_is_dropped(client, member):
    response = post(client, member.headers, filename="../../../var/www/static/id.png")

    assert response.get_json()["file_name"] == "id.png"


@pytest.mark.parametrize("who", ["caller", None])
def test_who_may_not_upload(client, api_headers, staff, customer, who):
    headers = api_headers(getattr(staff, who)) if who else {}
    response = post(client, headers, customer=customer.id)
    assert_error(response, "002", 403 if who else 401)


def test_staff_cannot_upload_for_a_customer_they_do_not_see(client, api_headers, staff, customer):
    assert_error(post(client, api_headers(staff.other_collector), customer=customer.id), "002", 403)


# --- lists ------------------------------------------------------------------------------------------------------


@pytest.fixture
def documents_of_two(member, staff, customer, upload):
    """The member's ID and selfie; another customer's ID, passport and selfie."""
    mine = [upload(member.customer, member.user, number="28555666", submit_now=True),
            upload(member.customer, member.user, kind="selfie", number=None, submit_now=True)]
    theirs = [upload(customer, staff.collector), upload(customer, staff.collector, kind="passport", number="AB123456"),
              upload(customer, staff.collector, kind="selfie", number=None)]
    db.session.commit()
    return mine, theirs


def test_a_member_lists_only_their_documents(client, member, documents_of_two):
    mine, _ = documents_of_two

    body = client.get(DOCS, headers=member.headers).get_json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2 and {d["id"] for d in body["results"]} == {d.id for d in mine}


def test_pages_link_to_their_neighbours(client, api_headers, staff, documents_of_two):
    headers = api_headers(staff.admin)

    first = client.get(f"{DOCS}?page_size=2&ordering=id", headers=headers).get_json()
    second = client.get(f"{DOCS}?page_size=2&ordering=id&page=2", headers=headers).get_json()

    assert first["count"] == 5 and first["previous"] is None
    assert first["next"] == f"http://localhost{DOCS}?page_size=2&ordering=id&page=2"
    assert second["previous"] == f"http://localhost{DOCS}?page_size=2&ordering=id"
    assert [d["id"] for d in first["results"] + second["results"]] == sorted(
        d["id"] for d in first["results"] + second["results"])


@pytest.mark.parametrize(("query", "bad"), [("page_size=101", "page_size"), ("page_size=0", "page_size"),
                                            ("page=0", "page"), ("page=x", "page"), ("ordering=colour", "ordering")])
def test_bad_list_parameters_are_400(client, api_headers, staff, query, bad):
    assert_invalid(client.get(f"{DOCS}?{query}", headers=api_headers(staff.admin)), "002", bad)


def test_a_page_past_the_last_is_404(client, api_headers, staff, documents_of_two):
    body = assert_error(client.get(f"{DOCS}?page=9", headers=api_headers(staff.admin)), "002", 404)
    assert body["detail"] == "Invalid page."


def test_search_and_ordering(client, api_headers, staff, documents_of_two):
    headers = api_headers(staff.admin)

    found = client.get(f"{DOCS}?search=AB1234", headers=headers).get_json()
    ordered = client.get(f"{DOCS}?ordering=-document_type", headers=headers).get_json()

    assert [d["document_type"] for d in found["results"]] == ["PASSPORT"]
    assert [d["document_type"] for d in ordered["results"]] == sorted(
        (d["document_type"] for d in ordered["results"]), reverse=True)


def test_staff_see_only_their_customers_documents(client, api_headers, staff, documents_of_two):
    assert client.get(DOCS, headers=api_headers(staff.other_collector)).get_json()["count"] == 0
    assert client.get(DOCS, headers=api_headers(staff.collector)).get_json()["count"] == 5


def test_biometric_data_are_the_face_photos(client, member, documents_of_two):
    _, theirs = documents_of_two
    body = client.get("/api/v1/kyc/biometric-datas/", headers=member.headers).get_json()

    [face] = body["results"]
    assert face["biometric_type"] == "FACE" and face["status"] == "PENDING"
    assert face["image"].endswith(f"/api/v1/kyc/kycdocuments/{face['document']}/file/")
    assert body["count"] == 1 and theirs[2].id != face["id"]


def test_verification_workflows_show_decisions_and_filter_by_status(client, api_headers, staff, member,
                                                                    documents_of_two):
    submission = kyc.pending_submission(member.customer)
    kyc.reject(submission, reason="Photo is blurred", notes="Please resubmit", actor=staff.admin)
    db.session.commit()

    body = client.get("/api/v1/kyc/verification-workflows/?status=REJECTED", headers=member.headers).get_json()
    none = client.get("/api/v1/kyc/verification-workflows/?status=PENDING", headers=member.headers).get_json()

    [workflow] = body["results"]
    assert workflow["status"] == "REJECTED" and workflow["rejection_reason"] == "Photo is blurred"
    assert workflow["notes"] == "Please resubmit" and workflow["reviewed_by"] == staff.admin.id
    assert workflow["customer_kyc_status"] == "REJECTED"
    assert none["count"] == 0
    assert_invalid(client.get("/api/v1/kyc/verification-workflows/?status=LOST", headers=member.headers), "002",
                   "status")
    assert_invalid(client.get("/api/v1/kyc/verification-workflows/?ordering=name", headers=member.headers), "002",
                   "ordering")


# --- the file ---------------------------------------------------------------------------------------------------


def test_a_member_reads_their_own_file_only(client, member, documents_of_two):
    mine, theirs = documents_of_two

    own = client.get(f"{DOCS}{mine[0].id}/file/", headers=member.headers)

    assert own.status_code == 200 and own.data == PNG and own.content_type == "image/png"
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert_error(client.get(f"{DOCS}{theirs[0].id}/file/", headers=member.headers), "002", 403)
    assert_error(client.get(f"{DOCS}999999/file/", headers=member.headers), "002", 404)
    assert theirs[0].status == DocumentStatus.PENDING
