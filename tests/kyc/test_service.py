"""kyc service: submitting, the queue's order and flags, approving with a tier, rejecting, audit and notices."""

from datetime import timedelta

import pytest

from portal.models import DocumentKind, DocumentStatus, KycLevel, KycStatus, KycSubmission, KycSubmissionStatus, Role
from portal.models.base import db, utcnow
from portal.services import kyc
from portal.services.errors import Conflict, Forbidden, ValidationFailed
from tests.kyc.conftest import TODAY, audit_rows, count, notifications


def test_submitting_puts_the_customer_in_the_queue_with_their_documents(customer, staff, upload):
    id_card = upload(customer, staff.collector)
    selfie = upload(customer, staff.collector, kind="selfie", number=None)

    submission = kyc.submit(customer, actor=staff.collector)

    assert customer.kyc_status == KycStatus.PENDING
    assert submission.status == KycSubmissionStatus.PENDING and submission.submitted_by_id == staff.collector.id
    assert submission.documents == [id_card, selfie]
    [row] = audit_rows("kyc.submit")
    assert row.after["documents"] == [id_card.id, selfie.id] and row.before == {"kyc_status": "unverified"}


def test_nothing_to_submit_is_refused(customer, staff):
    with pytest.raises(ValidationFailed) as exc:
        kyc.submit(customer, actor=staff.collector)
    assert list(exc.value.errors) == ["documents"]


def test_later_uploads_join_the_pending_submission_and_keep_its_place(customer, staff, upload, submitted):
    first = submitted(customer)
    passport = upload(customer, staff.collector, kind="passport", number="AK123456", submit_now=True)

    assert count(KycSubmission) == 1
    assert passport.submission_id == first.id


def test_a_borrower_submits_for_themselves_but_not_for_others(borrower, customer, upload):
    document = upload(borrower.customer, borrower.user, number="28555666", submit_now=True)
    assert document.submission.customer_id == borrower.customer.id
    assert borrower.customer.kyc_status == KycStatus.PENDING
    with pytest.raises(Forbidden):
        upload(customer, borrower.user)


@pytest.mark.parametrize("role", [Role.CALLING_AGENT])
def test_roles_that_may_not_submit_are_refused(customer, make_user, upload, role):
    with pytest.raises(Forbidden):
        upload(customer, make_user(role))


def test_an_officer_cannot_submit_for_another_officers_customer(customer, staff, upload):
    with pytest.raises(Forbidden):
        upload(customer, staff.other_collector)


@pytest.mark.parametrize(("kind", "number", "field", "message"), [
    ("national_id", None, "document_number", "Give the number printed on the National ID."),
    ("passport", "", "document_number", "Give the number printed on the Passport."),
    ("aadhaar", "1234 5678 901", "document_number", "An Aadhaar number is 12 digits."),
    ("pan", "ABCDE12345", "document_number", "A PAN is 5 letters, 4 digits and a letter, e.g. ABCDE1234F."),
    ("kra_pin", "B123456789C", "document_number", "A KRA PIN is A or P, 9 digits and a letter, e.g. A123456789B."),
])
def test_identity_and_tax_documents_need_a_well_formed_number(customer, staff, upload, kind, number, field, message):
    with pytest.raises(ValidationFailed) as exc:
        upload(customer, staff.collector, kind=kind, number=number)
    assert exc.value.errors == {field: [message]}


@pytest.mark.parametrize(("kind", "raw", "stored"), [
    ("national_id", " 30 111-222 ", "30111222"), ("aadhaar", "1234 5678 9012", "123456789012"),
    ("pan", "abcde1234f", "ABCDE1234F"), ("kra_pin", "a123456789b", "A123456789B"),
    ("driving_licence", "dl-0420", "DL0420"),
])
def test_numbers_are_stored_in_one_form_so_duplicates_compare(customer, staff, upload, kind, raw, stored):
    assert upload(customer, staff.collector, kind=kind, number=raw).document_number == stored


def test_dates_are_checked(customer, staff, upload):
    with pytest.raises(ValidationFailed) as exc:
        upload(customer, staff.collector, issued=TODAY + timedelta(days=3), expires=TODAY)
    assert exc.value.errors == {"issue_date": ["The issue date cannot be in the future."],
                                "expiry_date": ["The expiry date must come after the issue date."]}
    with pytest.raises(ValidationFailed) as exc:
        upload(customer, staff.collector, issued="2020-13-01")
    assert exc.value.errors == {"issue_date": ["Enter the date as YYYY-MM-DD."]}


# --- the queue ----------------------------------------------------------------------------------------------


def test_the_queue_is_oldest_first_and_only_pending(make_customer, staff, submitted):
    newer, older, decided = (submitted(make_customer(national_id=n)) for n in ("11111111", "22222222", "33333333"))
    older.created_at = utcnow() - timedelta(days=3)
    decided.status = KycSubmissionStatus.REJECTED
    db.session.commit()

    page = kyc.queue(actor=staff.manager)

    assert [r.submission for r in page.items] == [older, newer]
    assert page.total == 2


def test_a_manager_sees_their_teams_queue_only_and_officers_none(customer, staff, submitted):
    submitted(customer)

    assert kyc.queue(actor=staff.admin).total == 1
    assert kyc.queue(actor=staff.manager).total == 1
    assert kyc.queue(actor=staff.outside_manager).total == 0
    for role in ("loan_officer", "collector", "caller"):
        with pytest.raises(Forbidden):
            kyc.queue(actor=getattr(staff, role))


def test_the_queue_searches_by_name_code_and_id(make_customer, staff, submitted):
    submitted(make_customer(name="Achieng Otieno", national_id="40404040"))
    submitted(make_customer(name="Kamau Njoroge", national_id="50505050"))

    assert [r.customer.name for r in kyc.queue(actor=staff.admin, search="achieng").items] == ["Achieng Otieno"]
    assert [r.customer.name for r in kyc.queue(actor=staff.admin, search="5050").items] == ["Kamau Njoroge"]


def _codes(review) -> list[str]:
    return sorted(f.code for f in review.flags)


def test_an_id_number_another_customer_has_is_flagged(make_customer, staff, submitted):
    other = make_customer(national_id="30111222", customer_code="DUPL0001")
    mine = submitted(make_customer(national_id="30111222"))

    [review] = kyc.queue(actor=staff.admin).items

    assert review.submission == mine
    [flag] = review.flags
    assert flag.code == "duplicate_national_id"
    assert flag.others == [(other.id, "DUPL0001")]
    assert "DUPL0001" in flag.message
    assert review.flags_for(mine.documents[0]) == [flag]


def test_a_document_number_on_another_customers_document_is_flagged(make_customer, staff, upload, submitted):
    other = make_customer(national_id="77777777")
    upload(other, staff.collector, kind="passport", number="AK765432")
    mine = make_customer(national_id="66666666")
    upload(mine, staff.collector, kind="passport", number="ak 765432")
    submitted(mine)

    [review] = kyc.queue(actor=staff.admin).items

    assert _codes(review) == ["duplicate_number"]
    assert review.flags[0].others == [(other.id, other.customer_code)]


def test_the_same_number_on_a_different_kind_is_not_a_duplicate(make_customer, staff, upload, submitted):
    upload(make_customer(national_id="88888888"), staff.collector, kind="driving_licence", number="66666666")
    submitted(make_customer(national_id="66666666"))

    assert kyc.queue(actor=staff.admin).items[0].flags == []


def test_an_id_document_that_disagrees_with_the_record_and_an_expired_one_are_flagged(make_customer, staff,
                                                                                       submitted):
    submitted(make_customer(national_id="12121212"), id_number="34343434", expires=TODAY - timedelta(days=1))

    [review] = kyc.queue(actor=staff.admin).items

    assert _codes(review) == ["expired", "id_mismatch"]


# --- deciding -----------------------------------------------------------------------------------------------


def test_approving_sets_the_tier_accepts_the_chosen_documents_and_rejects_the_rest(borrower, staff, submitted):
    submission = submitted(borrower.customer)
    id_card, selfie = submission.documents

    kyc.approve(submission, kyc_level="tier_2", approved_documents=[id_card.id], notes="Clear scan",
                actor=staff.manager)

    customer = borrower.customer
    assert (customer.kyc_status, customer.kyc_level) == (KycStatus.VERIFIED, KycLevel.TIER_2)
    assert submission.status == KycSubmissionStatus.APPROVED and submission.kyc_level == KycLevel.TIER_2
    assert submission.decided_by_id == staff.manager.id and submission.notes == "Clear scan"
    assert (id_card.status, selfie.status) == (DocumentStatus.APPROVED, DocumentStatus.REJECTED)
    assert selfie.rejection_reason == kyc.NOT_CHOSEN and id_card.reviewed_by_id == staff.manager.id
    [row] = audit_rows("kyc.approve")
    assert row.actor_id == staff.manager.id and row.entity_id == str(customer.id)
    assert row.before == {"kyc_status": "pending", "kyc_level": "tier_0"}
    assert row.after["kyc_level"] == "tier_2" and row.after["approved_documents"] == [id_card.id]
    [note] = notifications(borrower.user)
    assert note.kind == "kyc_approved" and "tier 2" in note.message


def test_documents_may_be_named_by_kind_as_004_does(customer, staff, submitted):
    submission = submitted(customer)

    kyc.approve(submission, kyc_level="tier_1", approved_documents=["national_id", "selfie"], actor=staff.admin)

    assert {d.status for d in submission.documents} == {DocumentStatus.APPROVED}


@pytest.mark.parametrize(("level", "documents", "errors"), [
    ("tier_0", "id", {"kyc_level"}), ("gold", "id", {"kyc_level"}), (None, "id", {"kyc_level"}),
    ("tier_1", [], {"approved_documents"}), ("tier_1", ["passport"], {"approved_documents"}),
    ("tier_1", [999_999], {"approved_documents"}), ("tier_1", "selfie", {"approved_documents"}),
])
def test_a_decision_needs_a_tier_and_a_proof_of_identity_from_the_submission(customer, staff, submitted, level,
                                                                             documents, errors):
    submission = submitted(customer)
    id_card, selfie = submission.documents
    refs = {"id": [id_card.id], "selfie": [selfie.id]}[documents] if isinstance(documents, str) else documents

    with pytest.raises(ValidationFailed) as exc:
        kyc.approve(submission, kyc_level=level, approved_documents=refs, actor=staff.admin)

    assert set(exc.value.errors) == errors
    assert submission.status == KycSubmissionStatus.PENDING


def test_an_expired_document_cannot_be_accepted(customer, staff, submitted):
    submission = submitted(customer, expires=TODAY - timedelta(days=1))

    with pytest.raises(ValidationFailed) as exc:
        kyc.approve(submission, kyc_level="tier_1", approved_documents=[submission.documents[0].id],
                    actor=staff.admin)
    assert "expired" in exc.value.errors["approved_documents"][0]


def test_rejecting_needs_a_reason_tells_the_customer_and_rejects_the_documents(borrower, staff, submitted):
    submission = submitted(borrower.customer)
    with pytest.raises(ValidationFailed) as exc:
        kyc.reject(submission, reason=" ", actor=staff.manager)
    assert list(exc.value.errors) == ["reason"]

    kyc.reject(submission, reason="Poor document quality", notes="Please resubmit", actor=staff.manager)

    assert borrower.customer.kyc_status == KycStatus.REJECTED
    assert submission.reason == "Poor document quality" and submission.notes == "Please resubmit"
    assert {d.status for d in submission.documents} == {DocumentStatus.REJECTED}
    assert submission.documents[0].rejection_reason == "Poor document quality"
    [row] = audit_rows("kyc.reject")
    assert row.after["reason"] == "Poor document quality"
    [note] = notifications(borrower.user)
    assert note.kind == "kyc_rejected"
    assert "Poor document quality" in note.message and "Please resubmit" in note.message


def test_a_verified_customer_whose_new_documents_are_rejected_keeps_their_level(customer, staff, submitted):
    customer.kyc_status, customer.kyc_level = KycStatus.VERIFIED, KycLevel.TIER_1
    submission = submitted(customer)

    kyc.reject(submission, reason="Blurred photo", actor=staff.admin)

    assert (customer.kyc_status, customer.kyc_level) == (KycStatus.VERIFIED, KycLevel.TIER_1)


def test_a_submission_is_decided_once(customer, staff, submitted):
    submission = submitted(customer)
    kyc.reject(submission, reason="Blurred photo", actor=staff.admin)

    with pytest.raises(Conflict):
        kyc.approve(submission, kyc_level="tier_1", approved_documents=["national_id"], actor=staff.manager)
    with pytest.raises(Conflict):
        kyc.reject(submission, reason="Again", actor=staff.manager)


def test_a_concurrent_decision_loses_cleanly(customer, staff, submitted):
    submission = submitted(customer)
    db.session.execute(db.update(KycSubmission).where(KycSubmission.id == submission.id)
                       .values(status=KycSubmissionStatus.APPROVED))  # another reviewer, a moment earlier

    with pytest.raises(Conflict):
        kyc.reject(submission, reason="Blurred photo", actor=staff.admin)


def test_only_reviewers_who_may_see_the_customer_decide(customer, staff, submitted):
    submission = submitted(customer)
    for actor in (staff.outside_manager, staff.loan_officer, staff.collector):
        with pytest.raises(Forbidden):
            kyc.approve(submission, kyc_level="tier_1", approved_documents=["national_id"], actor=actor)
        with pytest.raises(Forbidden):
            kyc.reject(submission, reason="No", actor=actor)


def test_a_customer_can_submit_again_after_a_decision(customer, staff, submitted):
    first = submitted(customer)
    kyc.reject(first, reason="Blurred photo", actor=staff.admin)

    second = submitted(customer)

    assert second.id != first.id and [d.kind for d in second.documents] == [DocumentKind.NATIONAL_ID,
                                                                             DocumentKind.SELFIE]
    assert customer.kyc_status == KycStatus.PENDING
