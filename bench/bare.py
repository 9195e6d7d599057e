"""The yardstick: a bare Flask endpoint that does one INSERT, served like Mkopo in the same run."""

import os

from flask import Flask, jsonify, request
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, create_engine

metadata = MetaData()
bare_rows = Table("bench_bare", metadata, Column("id", Integer, primary_key=True), Column("code", String(40)),
                  Column("amount", BigInteger))

app = Flask(__name__)
engine = create_engine(os.environ["BENCH_DATABASE_URL"]) if "BENCH_DATABASE_URL" in os.environ else None


@app.post("/bare")
def bare():
    body = request.get_json()
    with engine.begin() as conn:
        conn.execute(bare_rows.insert(), {"code": body["mpesa_code"], "amount": int(body["amount_paid"] * 100)})
    return jsonify(ok=True), 201
