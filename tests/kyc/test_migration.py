"""Migration 8e3f2c4d9f56: customers already pending enter the KYC queue with their pending documents."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from portal import create_app
from portal.models.base import db


def test_pending_customers_get_a_submission_holding_their_pending_documents(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}",
                      "SECRET_KEY": "x" * 40})
    with app.app_context():
        upgrade(revision="7d2e1b3c8e45")
        with db.engine.begin() as conn:
            for cid, status in ((1, "pending"), (2, "verified")):
                conn.execute(text(
                    "INSERT INTO customers (id, customer_code, account_number, name, kyc_status, kyc_level, "
                    "created_at, updated_at) VALUES (:id, :code, :acct, 'Test', :status, 'tier_0', "
                    "'2026-01-05 08:00:00', '2026-01-05 08:00:00')"),
                    {"id": cid, "code": f"MIGR000{cid}", "acct": f"migr{cid}", "status": status})
                conn.execute(text(
                    "INSERT INTO customer_documents (customer_id, kind, filename, content_type, size_bytes, "
                    "storage_key, status, created_at, updated_at) VALUES (:id, 'national_id', 'id.png', 'image/png', "
                    "1, 'k', 'pending', '2026-01-05 08:00:00', '2026-01-05 08:00:00')"), {"id": cid})
        upgrade(revision="8e3f2c4d9f56")
        with db.engine.connect() as conn:
            submissions = conn.execute(text("SELECT id, customer_id, status FROM kyc_submissions")).all()
            linked = conn.execute(text("SELECT customer_id, submission_id FROM customer_documents "
                                       "ORDER BY customer_id")).all()
        assert [(c, s) for _id, c, s in submissions] == [(1, "pending")]
        assert linked == [(1, submissions[0][0]), (2, None)]
        downgrade(revision="7d2e1b3c8e45")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customer_documents")).scalar() == 2
        db.engine.dispose()
