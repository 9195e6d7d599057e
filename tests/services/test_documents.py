"""documents: type sniffed from the bytes, size limit, kinds and aliases, storage by hash, who may upload and read."""

import hashlib
import io
from pathlib import Path

import pytest

from portal.models import DocumentKind, Role
from portal.services import documents
from portal.services.errors import Forbidden, NotFound, ValidationFailed

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


@pytest.fixture
def customer(make_customer, team):
    return make_customer(assigned_officer=team.collector, created_by=team.loan_officer)


def upload(customer, actor, data=PDF, doc_type="national_id", filename="scan.pdf"):
    return documents.upload(customer, doc_type=doc_type, filename=filename, content=io.BytesIO(data), actor=actor)


@pytest.mark.parametrize(("data", "filename", "content_type", "stored_name"), [
    (JPEG, "id-front.jpeg", "image/jpeg", "id-front.jpg"),
    (PNG, "selfie.PNG", "image/png", "selfie.png"),
    (PDF, "permit.pdf", "application/pdf", "permit.pdf"),
    (PDF, "permit.html", "application/pdf", "permit.pdf"),  # the name follows the bytes, never the reverse
])
def test_accepted_types_are_recognised_by_their_bytes(customer, team, data, filename, content_type, stored_name):
    document = upload(customer, team.collector, data=data, filename=filename)

    assert document.content_type == content_type
    assert document.filename == stored_name
    assert document.size_bytes == len(data)


@pytest.mark.parametrize(("data", "filename"), [
    (EXE, "id.pdf"),                       # a renamed executable
    (b"name,phone\nA,1\n", "scan.jpg"),    # text with an image's name
    (b"<html><script>", "scan.png"),
    (b"GIF89a" + b"\x00" * 20, "scan.gif"),
])
def test_other_content_is_refused_whatever_its_name(customer, team, data, filename):
    with pytest.raises(ValidationFailed) as exc:
        upload(customer, team.collector, data=data, filename=filename)

    assert exc.value.errors == {"file": ["Upload a JPEG, PNG or PDF file."]}


@pytest.mark.parametrize("content", [None, b""])
def test_a_missing_or_empty_file_is_refused(customer, team, content):
    with pytest.raises(ValidationFailed) as exc:
        documents.upload(customer, doc_type="passport", filename="x.pdf",
                         content=None if content is None else io.BytesIO(content), actor=team.collector)

    assert exc.value.errors == {"file": ["Attach the document as a file."]}


def test_size_limit_is_the_configured_one(app, customer, team, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 2048)
    at_limit = PDF + b"\x00" * (2048 - len(PDF))

    assert upload(customer, team.collector, data=at_limit).size_bytes == 2048
    with pytest.raises(ValidationFailed) as exc:
        upload(customer, team.collector, data=at_limit + b"\x00")
    assert exc.value.errors == {"file": ["A document may be at most 2 KB."]}


def test_the_default_limit_is_five_megabytes(app):
    assert app.config["DOCUMENT_MAX_BYTES"] == 5 * 1024 * 1024
    assert documents.too_large().errors == {"file": ["A document may be at most 5 MB."]}


@pytest.mark.parametrize(("doc_type", "kind"), [
    ("national_id", DocumentKind.NATIONAL_ID), ("id_card", DocumentKind.NATIONAL_ID),
    ("ID Card", DocumentKind.NATIONAL_ID), ("passport", DocumentKind.PASSPORT), ("kra_pin", DocumentKind.KRA_PIN),
    ("driving_licence", DocumentKind.DRIVING_LICENCE), ("Driving-License", DocumentKind.DRIVING_LICENCE),
    ("AADHAAR", DocumentKind.AADHAAR), ("pan_card", DocumentKind.PAN),
    ("business-permit", DocumentKind.BUSINESS_PERMIT), ("business_license", DocumentKind.BUSINESS_PERMIT),
    ("utility_bill", DocumentKind.PROOF_OF_ADDRESS), ("selfie", DocumentKind.SELFIE),
    ("bank_statement", DocumentKind.BANK_STATEMENT),
])
def test_doc_types_and_their_aliases_map_to_a_kind(customer, team, doc_type, kind):
    assert upload(customer, team.collector, doc_type=doc_type).kind == kind


@pytest.mark.parametrize("doc_type", [None, "", "tax_return"])
def test_an_unknown_doc_type_is_refused_naming_the_choices(customer, team, doc_type):
    with pytest.raises(ValidationFailed) as exc:
        upload(customer, team.collector, doc_type=doc_type)

    assert list(exc.value.errors) == ["doc_type"]
    assert "national_id" in exc.value.errors["doc_type"][0]


@pytest.mark.parametrize(("filename", "stored"), [
    ("../../etc/passwd.pdf", "passwd.pdf"), ("C:\\Users\\me\\scan.pdf", "scan.pdf"), (None, "document.pdf"),
    ("..", "document.pdf"), ("evil\x00name.pdf", "evilname.pdf")])
def test_a_path_in_the_file_name_is_dropped(customer, team, filename, stored):
    assert upload(customer, team.collector, filename=filename).filename == stored


def test_files_are_stored_once_by_content_hash_outside_static(app, customer, team):
    first = upload(customer, team.collector, filename="a.pdf")
    second = upload(customer, team.collector, filename="b.pdf", doc_type="passport")

    key = hashlib.sha256(PDF).hexdigest()
    assert first.storage_key == second.storage_key == key
    path = Path(app.config["UPLOAD_FOLDER"]) / key[:2] / key
    assert path.read_bytes() == PDF
    assert Path(app.config["INSTANCE_PATH"]) in path.parents


def test_an_upload_is_audited(customer, team, audit_rows):
    document = upload(customer, team.collector)

    [row] = audit_rows("customer_document.upload", document.id)
    assert row.actor_id == team.collector.id
    assert row.after["kind"] == "national_id" and row.after["customer_id"] == customer.id


def test_a_collection_officer_cannot_upload_to_another_officers_customer(make_customer, team, other_team):
    theirs = make_customer(assigned_officer=other_team.collector)

    with pytest.raises(Forbidden):
        upload(theirs, team.collector)


@pytest.mark.parametrize("role", [Role.CALLING_AGENT, Role.BORROWER])
def test_roles_that_cannot_edit_customers_cannot_upload(customer, make_user, role):
    with pytest.raises(Forbidden):
        upload(customer, make_user(role))


def test_a_manager_uploads_for_their_team_but_not_another(customer, team, other_team):
    assert upload(customer, team.manager).uploaded_by_id == team.manager.id
    with pytest.raises(Forbidden):
        upload(customer, other_team.manager)


def test_listing_and_reading_follow_who_may_see_the_customer(customer, team, other_team, make_user):
    older = upload(customer, team.collector, data=JPEG, filename="front.jpg")
    newer = upload(customer, team.collector, data=PNG, filename="back.png", doc_type="selfie")

    assert documents.for_customer(customer, actor=team.manager) == [newer, older]
    document, data = documents.read(customer.id, older.id, actor=make_user(Role.CALLING_AGENT))
    assert document == older and data == JPEG
    with pytest.raises(Forbidden):
        documents.for_customer(customer, actor=other_team.collector)
    with pytest.raises(Forbidden):
        documents.read(customer.id, older.id, actor=other_team.collector)


def test_reading_a_document_through_another_customer_is_not_found(customer, make_customer, team):
    document = upload(customer, team.collector)
    other = make_customer(assigned_officer=team.collector)

    with pytest.raises(NotFound):
        documents.read(other.id, document.id, actor=team.collector)
    with pytest.raises(NotFound):
        documents.read(customer.id, document.id + 1000, actor=team.collector)
