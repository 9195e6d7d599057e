"""The KYC queue with 10,000 pending submissions runs a fixed number of queries per page, whatever the page size
(documents, flags and submitters come in bulk, never one query per row)."""

import re

import pytest
from sqlalchemy import insert, select

from portal.blueprints.kyc import views as kyc_views
from portal.models import Customer, CustomerDocument, KycSubmission, Role
from portal.models.base import db, utcnow
from portal.services import filestore, kyc
from tests.kyc.conftest import PNG
from tests.queries import count_queries

PENDING = 10_000
FEW, MANY = 5, 50


@pytest.fixture
def crowded_queue(staff):
    """10,000 customers of the team with a pending submission each: an ID card (every 7th shares its number
    with another customer) and a selfie, each submitted by one of three staff."""
    now, key = utcnow(), filestore.put(PNG)
    submitters = [staff.loan_officer.id, staff.collector.id, staff.manager.id]
    first = (db.session.scalar(select(db.func.max(Customer.id))) or 0) + 1
    db.session.execute(insert(Customer), [
        {"customer_code": f"Q{n:07d}", "account_number": f"queue{n}", "name": f"Queued {n}",
         "national_id": str(20_000_000 + n), "assigned_officer_id": staff.collector.id,
         "created_by_id": staff.loan_officer.id, "kyc_status": "pending", "kyc_level": "tier_0",
         "created_at": now, "updated_at": now} for n in range(PENDING)])
    ids = list(db.session.scalars(select(Customer.id).where(Customer.id >= first).order_by(Customer.id)))
    db.session.execute(insert(KycSubmission), [
        {"customer_id": cid, "status": "pending", "submitted_by_id": submitters[n % 3], "created_at": now,
         "updated_at": now} for n, cid in enumerate(ids)])
    submissions = dict(db.session.execute(select(KycSubmission.customer_id, KycSubmission.id)).all())
    documents = []
    for n, cid in enumerate(ids):
        number = str(20_000_000 + (n - 1 if n % 7 == 0 and n else n))
        for kind, doc_number in (("national_id", number), ("selfie", None)):
            documents.append({"customer_id": cid, "kind": kind, "filename": f"{kind}.png",
                              "content_type": "image/png", "size_bytes": len(PNG), "storage_key": key,
                              "status": "pending", "document_number": doc_number, "submission_id": submissions[cid],
                              "created_at": now, "updated_at": now})
    db.session.execute(insert(CustomerDocument), documents)
    db.session.commit()
    return ids


def test_the_queue_service_runs_five_queries_a_page_of_any_size(crowded_queue, staff):
    def page(per_page: int):
        found = kyc.queue(actor=staff.manager, page=3, per_page=per_page)
        assert found.total == PENDING and len(found.items) == per_page
        for review in found.items:  # everything the page shows, touched
            _ = (review.customer.name, review.submission.submitted_by.full_name,
                 [d.document_number for d in review.documents], [f.message for f in review.flags])
        return found

    assert count_queries(lambda: page(FEW)) == count_queries(lambda: page(MANY)) == 5
    assert any(f.code == "duplicate_national_id" for r in page(MANY).items for f in r.flags)


@pytest.mark.parametrize("surface", ["portal", "004"])
def test_the_queue_page_and_004_queue_run_the_same_queries_for_5_or_50_rows(crowded_queue, staff, client, login_as,
                                                                            api_headers, monkeypatch, surface):
    headers = api_headers(staff.manager)
    login_as(user=staff.manager)

    def page(per_page: int):
        if surface == "portal":
            monkeypatch.setattr(kyc_views, "PER_PAGE", per_page)
            response = client.get("/portal/kyc/?page=2")
            assert response.status_code == 200
            assert len(re.findall(r"<tr [^>]*data-submission=", response.get_data(as_text=True))) == per_page
        else:
            response = client.get(f"/v1/admin/kyc/queue?limit={per_page}&page=2", headers=headers)
            assert response.status_code == 200 and len(response.get_json()["queue"]) == per_page
        return response

    assert count_queries(lambda: page(FEW)) == count_queries(lambda: page(MANY))
    assert staff.manager.role == Role.MANAGER
