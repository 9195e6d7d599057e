"""The KYC area of the portal: the queue, a submission opened inline with its documents, approve and reject,
documents served inline only to who may see them, and a customer's KYC page (upload checked, then submit)."""

import io
import re

import pytest
from sqlalchemy import select

from portal.models import CustomerDocument, KycLevel, KycStatus, KycSubmissionStatus
from portal.models.base import db
from tests.kyc.conftest import EXE, PDF, PNG
from tests.pages import HX, text


def test_the_queue_lists_pending_submissions_with_their_flags(client, login_as, staff, make_customer, submitted):
    make_customer(national_id="30111222", customer_code="TWINID01")
    submission = submitted(make_customer(national_id="30111222", name="Achieng Otieno"))
    login_as(user=staff.manager)

    response = client.get("/portal/kyc/")

    body = text(response)
    assert response.status_code == 200
    assert 'href="/portal/kyc/">KYC</a>' in body  # the nav link
    assert f'data-submission="{submission.id}"' in body and "Achieng Otieno" in body
    assert "1 submission waiting" in body
    assert "ID number held by another customer" in body


@pytest.mark.parametrize("who", ["loan_officer", "collector", "caller"])
def test_staff_who_do_not_review_kyc_cannot_open_the_queue(client, login_as, staff, who):
    login_as(user=getattr(staff, who))

    assert client.get("/portal/kyc/").status_code == 403
    assert 'href="/portal/kyc/">KYC</a>' not in client.get("/portal/").get_data(as_text=True)


def test_a_submission_opens_inline_with_images_and_pdfs_shown(client, login_as, staff, customer, upload, submitted):
    upload(customer, staff.collector, kind="proof_of_address", number=None, data=PDF, filename="bill.pdf")
    submission = submitted(customer)
    image, pdf = (next(d for d in submission.documents if d.content_type == kind)
                  for kind in ("image/png", "application/pdf"))
    login_as(user=staff.manager)

    response = client.get(f"/portal/kyc/{submission.id}", headers=HX)

    body = text(response)
    assert response.status_code == 200 and "<html" not in body  # the fragment alone
    assert f'<img class="img-fluid rounded kyc-preview" src="/portal/kyc/documents/{image.id}"' in body
    assert f'<iframe src="/portal/kyc/documents/{pdf.id}"' in body
    assert "Tier 2: loans up to 500,000" in body and "Tier 3: no loan ceiling" in body
    assert 'data-testid="no-flags"' in body


@pytest.mark.parametrize(("data", "content_type"), [(PNG, "image/png"), (PDF, "application/pdf")])
def test_documents_are_served_inline_with_their_real_type_and_nosniff(client, login_as, staff, customer, upload,
                                                                      data, content_type):
    document = upload(customer, staff.collector, data=data, filename="scan.html")
    db.session.commit()
    login_as(user=staff.manager)

    response = client.get(f"/portal/kyc/documents/{document.id}")

    assert response.status_code == 200 and response.data == data
    assert response.content_type == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "scan.html" not in response.headers["Content-Disposition"]  # named by its real type


def test_a_collection_officer_cannot_see_another_officers_customers_document(client, login_as, staff, customer,
                                                                              upload):
    document = upload(customer, staff.collector)
    db.session.commit()

    login_as(user=staff.other_collector)
    assert client.get(f"/portal/kyc/documents/{document.id}").status_code == 403
    login_as(user=staff.collector)
    assert client.get(f"/portal/kyc/documents/{document.id}").status_code == 200


def test_an_unknown_document_is_a_404(client, login_as, staff):
    login_as(user=staff.admin)
    assert client.get("/portal/kyc/documents/999999").status_code == 404


def test_approving_from_the_queue_verifies_and_reloads_the_queue(client, login_as, staff, customer, submitted, post):
    submission = submitted(customer)
    id_card = submission.documents[0]
    login_as(user=staff.manager)
    prefix = f"kyc{submission.id}-approve-"

    response = post(f"/portal/kyc/{submission.id}/approve", {f"{prefix}kyc_level": "tier_2",
                                                             f"{prefix}approved_documents": [str(id_card.id)],
                                                             f"{prefix}notes": "Matches the record"})

    assert response.status_code == 204
    assert "kyc-changed" in response.headers["HX-Trigger"]
    db.session.refresh(customer)
    assert (customer.kyc_status, customer.kyc_level) == (KycStatus.VERIFIED, KycLevel.TIER_2)
    queue = text(client.get("/portal/kyc/", headers=HX))
    assert f"Verified {customer.name}" in queue and "0 submissions waiting" in queue


def test_approving_without_a_tier_or_documents_shows_why_beside_the_fields(client, login_as, staff, customer,
                                                                          submitted, post):
    submission = submitted(customer)
    login_as(user=staff.manager)

    response = post(f"/portal/kyc/{submission.id}/approve", {})

    body = text(response)
    assert response.status_code == 422
    assert "Choose the tier: tier_1, tier_2, tier_3." in body
    assert "Choose the documents you accept" in body
    assert submission.status == KycSubmissionStatus.PENDING


def test_rejecting_needs_a_reason_then_tells_the_customer(client, login_as, staff, borrower, submitted, post):
    submission = submitted(borrower.customer)
    login_as(user=staff.admin)
    prefix = f"kyc{submission.id}-reject-"

    refused = post(f"/portal/kyc/{submission.id}/reject", {f"{prefix}reason": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)

    response = post(f"/portal/kyc/{submission.id}/reject", {f"{prefix}reason": "Photo is blurred",
                                                            f"{prefix}notes": "Please resubmit"})

    assert response.status_code == 204
    db.session.refresh(submission)
    assert submission.status == KycSubmissionStatus.REJECTED and submission.notes == "Please resubmit"


def test_a_decision_already_taken_is_explained_in_place(client, login_as, staff, customer, submitted, post):
    submission = submitted(customer)
    submission.status = KycSubmissionStatus.APPROVED
    db.session.commit()
    login_as(user=staff.admin)

    response = post(f"/portal/kyc/{submission.id}/reject", {f"kyc{submission.id}-reject-reason": "Too late"})

    assert response.status_code == 409
    assert "already been approved" in text(response)
    assert response.headers["HX-Retarget"] == f"#review-{submission.id}"


# --- a customer's KYC page: upload (checked by content, size and name), then submit -----------------------------


def _upload(post, customer, data=PNG, filename="id.png", **fields):
    values = {"doc_type": "national_id", "document_number": customer.national_id, "issue_date": "2019-05-01",
              "expiry_date": "", **fields, "file": (io.BytesIO(data), filename)}
    return post(f"/portal/kyc/customers/{customer.id}/documents", values, content_type="multipart/form-data")


def test_an_officer_uploads_then_sends_documents_for_review(client, login_as, staff, customer, post):
    login_as(user=staff.collector)

    assert _upload(post, customer).status_code == 200
    page = text(client.get(f"/portal/kyc/customers/{customer.id}"))
    assert "Send 1 for KYC review" in page

    response = post(f"/portal/kyc/customers/{customer.id}/submit")

    assert response.status_code == 200
    assert "documents are in the KYC queue" in text(response)
    db.session.refresh(customer)
    assert customer.kyc_status == KycStatus.PENDING


@pytest.mark.parametrize(("data", "filename", "message"), [
    (EXE, "id.png", "Upload a JPEG, PNG or PDF file."),                      # a renamed executable
    (PNG + b"\x00" * 3000, "id.png", "A document may be at most 2 KB."),      # an oversized file
])
def test_a_refused_upload_shows_why_and_keeps_nothing(app, client, login_as, staff, customer, post, monkeypatch,
                                                     data, filename, message):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 2048)
    login_as(user=staff.collector)

    response = _upload(post, customer, data=data, filename=filename)

    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(CustomerDocument.id).where(CustomerDocument.customer_id == customer.id)) is None


def test_a_path_in_the_file_name_is_dropped(client, login_as, staff, customer, post, app):
    login_as(user=staff.collector)

    assert _upload(post, customer, filename="../../../etc/cron.d/id.png").status_code == 200

    document = db.session.scalars(select(CustomerDocument).where(CustomerDocument.customer_id == customer.id)).one()
    assert document.filename == "id.png"
    assert re.fullmatch(r"[0-9a-f]{64}", document.storage_key)  # stored under its hash, never its name


def test_a_missing_number_on_an_id_is_shown_beside_the_field(client, login_as, staff, customer, post):
    login_as(user=staff.collector)

    response = _upload(post, customer, document_number="")

    assert response.status_code == 422
    assert "Give the number printed on the National ID." in text(response)


def test_sending_nothing_for_review_says_so(client, login_as, staff, customer, post):
    login_as(user=staff.collector)

    response = post(f"/portal/kyc/customers/{customer.id}/submit")

    assert "Upload at least one document" in text(response)


def test_the_customer_page_shows_earlier_decisions(client, login_as, staff, customer, submitted):
    from portal.services import kyc

    kyc.reject(submitted(customer), reason="Photo is blurred", actor=staff.admin)
    db.session.commit()
    login_as(user=staff.collector)

    page = text(client.get(f"/portal/kyc/customers/{customer.id}"))

    assert "Photo is blurred" in page and "rejected" in page


def test_another_officers_customer_kyc_page_is_403(client, login_as, staff, customer, post):
    login_as(user=staff.other_collector)

    assert client.get(f"/portal/kyc/customers/{customer.id}").status_code == 403
    assert _upload(post, customer).status_code == 403
