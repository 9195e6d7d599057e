"""The yardstick: a bare Flask endpoint that does one INSERT, served like Mkopo in the same run."""

import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["BENCH_DATABASE_URL"])


@app.post("/bare")
def bare():
    body = request.get_json()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_bare (code, amount) VALUES (:c, :a)"),
                     {"c": body["mpesa_code"], "a": int(body["amount_paid"] * 100)})
    return jsonify(ok=True), 201
