"""The yardstick for 003's GET /api/customers/: a bare Flask endpoint returning the same 50 rows (newest
first, 003's fields) with one ORM query, served like Mkopo in the same run."""

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from portal.models import Customer

app = Flask(__name__)
engine = create_engine(os.environ["BENCH_DATABASE_URL"]) if "BENCH_DATABASE_URL" in os.environ else None


def _row(c: Customer) -> dict:
    return {"id": c.id, "customer_code": c.customer_code, "name": c.name, "phone": c.phone, "email": c.email,
            "assigned_collection_officer": c.assigned_officer_id, "address_line_1": c.address_line_1,
            "address_line_2": c.address_line_2, "city": c.city, "state": c.state, "pincode": c.pincode,
            "date_of_birth": c.date_of_birth.isoformat() if c.date_of_birth else None}


@app.get("/bare/customers")
def customers():
    with Session(engine) as session:
        rows = session.scalars(select(Customer).order_by(Customer.created_at.desc(), Customer.id.desc()).limit(50))
        return jsonify([_row(c) for c in rows])
