"""001 POST /customers/<id>/upload: multipart file + doc_type, checked by content, per-object rules."""

import io

import pytest

from portal.models import CustomerDocument, Role
from portal.models.base import db
from tests.api.conftest import assert_error, assert_invalid

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.fixture
def officer(make_user):
    return make_user(Role.COLLECTION_OFFICER)


@pytest.fixture
def customer(make_customer, officer):
    return make_customer(assigned_officer_id=officer.id)


def post(client, headers, customer_id, data=PNG, filename="front.png", **form):
    form.setdefault("doc_type", "id_card")
    if data is not None:
        form["file"] = (io.BytesIO(data), filename)
    return client.post(f"/customers/{customer_id}/upload", data=form, headers=headers,
                       content_type="multipart/form-data")


def test_upload_answers_201_with_the_document(client, api_headers, officer, customer):
    response = post(client, api_headers(officer), customer.id)

    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], "customer_id": customer.id, "doc_type": "national_id", "filename": "front.png",
                    "content_type": "image/png", "size": len(PNG), "status": "pending", "uploaded_by": officer.id,
                    "created_at": body["created_at"]}
    assert db.session.get(CustomerDocument, body["id"]).storage_key


def test_a_renamed_executable_is_a_400_naming_file(client, api_headers, officer, customer):
    response = post(client, api_headers(officer), customer.id, data=b"MZ\x90\x00" + b"\x00" * 50, filename="id.png")

    body = assert_invalid(response, "001", "file")
    assert body["errors"]["file"] == ["Upload a JPEG, PNG or PDF file."]


@pytest.mark.parametrize(("form", "field"), [({"doc_type": "horoscope"}, "doc_type"), ({"doc_type": ""}, "doc_type")])
def test_a_bad_doc_type_is_a_400(client, api_headers, officer, customer, form, field):
    assert_invalid(post(client, api_headers(officer), customer.id, **form), "001", field)


def test_a_missing_doc_type_or_file_is_a_400(client, api_headers, officer, customer):
    response = client.post(f"/customers/{customer.id}/upload", data={"file": (io.BytesIO(PNG), "a.png")},
                           headers=api_headers(officer), content_type="multipart/form-data")
    assert_invalid(response, "001", "doc_type")
    assert_invalid(post(client, api_headers(officer), customer.id, data=None), "001", "file")


def test_a_body_far_past_the_limit_is_refused_before_it_is_read(app, client, api_headers, officer, customer,
                                                               monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 1024)

    response = post(client, api_headers(officer), customer.id, data=PNG + b"\x00" * 200_000)

    body = assert_invalid(response, "001", "file")
    assert body["errors"]["file"] == ["A document may be at most 1 KB."]


def test_an_officer_cannot_upload_to_another_officers_customer(client, api_headers, make_user, customer):
    assert_error(post(client, api_headers(make_user(Role.COLLECTION_OFFICER)), customer.id), "001", 403)


def test_a_calling_agent_cannot_upload(client, api_headers, make_user, customer):
    assert_error(post(client, api_headers(make_user(Role.CALLING_AGENT)), customer.id), "001", 403)


def test_an_unknown_customer_is_a_404(client, api_headers, officer):
    assert_error(post(client, api_headers(officer), 999_999), "001", 404)
