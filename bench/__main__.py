"""python -m bench: seed at scale, measure, print a table. DATABASE_URL=postgresql+psycopg://... for PostgreSQL
(the bench works in its own schema, mkopo_bench, dropped and rebuilt each run)."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from api import request_log
from bench import bare as bare_endpoint
from bench import data, serving
from bench.bare import bare_rows
from portal import create_app
from portal.models import Frequency, InterestMethod
from portal.models.base import db
from portal.services import arrears, schedules

SECRET = "bench-webhook-secret"
ROUNDS = 4  # the burst measurements alternate between Mkopo and its yardstick this many times
SUSTAINED_WAITS = 2.5  # the long rush lasts this many of the booker's longest waits (MPESA_BOOKER_MAX_WAIT)
ROOT = Path(__file__).resolve().parent.parent


def database_url(workdir: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS mkopo_bench CASCADE"))
            conn.execute(text("CREATE SCHEMA mkopo_bench"))
        engine.dispose()
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Dmkopo_bench"
    return f"sqlite:///{workdir / 'bench.db'}"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def bench_schedules(n: int) -> float:
    start = date.today()
    seconds, _ = timed(lambda: [schedules.build(Decimal("50000"), Decimal("10.5"), 12, Frequency.MONTHLY,
                                                InterestMethod.DECLINING, start) for _ in range(n)])
    return n / seconds


def webhook_body(code: int, customers: int) -> dict:
    return {"phone_number": f"07{(code % customers) + 1:08d}", "amount_paid": 10, "mpesa_code": f"BENCH{code:08d}"}


def in_process_webhooks(app, n: int, customers: int, codes) -> float:
    """Requests per second answered through the test client."""
    client = app.test_client()
    headers = {"X-Webhook-Secret": SECRET}
    start = time.perf_counter()
    for _ in range(n):
        response = client.post("/repayments/mpesa-webhook", json=webhook_body(next(codes), customers), headers=headers)
        assert response.status_code == 202, response.get_json()
    return n / (time.perf_counter() - start)


def wait_booked(url: str) -> float:
    """When no receipt waits any more (perf_counter), polling; a failed booking stops the bench."""
    engine = create_engine(url)
    try:
        while True:
            with engine.connect() as conn:
                waiting, failed = conn.execute(text(
                    "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed') "
                    "FROM mpesa_receipts")).one()
            if failed:
                raise RuntimeError(f"{failed} M-Pesa receipts failed to book; see the booker's log")
            if not waiting:
                return time.perf_counter()
            time.sleep(0.01)
    finally:
        engine.dispose()


def booker(env: dict, log: Path) -> subprocess.Popen:
    """`flask payments book --follow`, as production runs it beside the web workers."""
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "bench.serve", "payments", "book", "--follow"],
                                cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def in_process_bare(url: str, n: int, customers: int, codes) -> float:
    """The yardstick through its own test client, as the webhook was measured just before."""
    bare_endpoint.engine = create_engine(url)
    client = bare_endpoint.app.test_client()
    start = time.perf_counter()
    for _ in range(n):
        response = client.post("/bare", json=webhook_body(next(codes), customers))
        assert response.status_code == 201
    rate = n / (time.perf_counter() - start)
    bare_endpoint.engine.dispose()
    return rate


def settle() -> None:
    """Start the next measurement from a settled database, as a live one is between bulk jobs.

    A bulk load leaves PostgreSQL without statistics to plan from, and its new rows' visibility for the next
    writer to record page by page, until autovacuum gets to it: vacuum and analyze, as autovacuum would.
    And write back what the bulk writes before left in the log (a checkpoint), so that it does not land
    on the next figure, or on one side of a comparison (the webhook measured before its yardstick)."""
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
        return
    raw = db.engine.raw_connection()  # on the driver: a SQLAlchemy connection would begin a transaction
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def webhook_rows(how: str, answered: float, booked: float, yardstick: float) -> list[tuple]:
    ratio = answered / yardstick
    return [(f"webhook, {how}", f"{answered:,.0f} req/s",
             f"bare one-INSERT Flask: {yardstick:,.0f} req/s; ratio {ratio:.2f} (>= 0.5)",
             "ok" if ratio >= 0.5 else "SLOW"),
            ("  and booked by the booker process", f"{booked:,.0f} /s",
             f"first request to last payment booked; ratio {booked / yardstick:.2f}", "")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--accrue-loans", type=int, default=100_000)
    parser.add_argument("--par-loans", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mkopo-bench-"))
    url = database_url(workdir)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "MPESA_WEBHOOK_SECRET": SECRET,
                      "SECRET_KEY": "bench-" + "s" * 40, "MPESA_BOOKER": "process"})
    rows = []
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    today = date.today()
    with app.app_context():
        upgrade()
        rows.append(("schedules built (12 monthly, declining)", f"{bench_schedules(args.schedules):,.0f} /s",
                     f"{args.schedules:,} loans", ""))

        seed_s, _ = timed(lambda: (data.customers(args.customers),
                                   data.active_loans(args.accrue_loans, args.customers, today, with_installments=True),
                                   db.session.commit(), settle()))
        workers = app.config["ACCRUE_WORKERS"]  # as `flask loans accrue` runs it (one transaction on SQLite)
        accrue_s, (charged, total) = timed(lambda: (arrears.accrue_penalties(today, workers=workers),
                                                    db.session.commit())[0])
        rows.append((f"flask loans accrue over {args.accrue_loans:,} active loans", f"{accrue_s:.1f} s",
                     f"< 10 s ({charged:,} charged {total:,.2f}; seeding took {seed_s:.0f} s)",
                     "ok" if accrue_s < 10 else "SLOW"))

        bare_rows.create(db.session.connection())
        db.session.commit()
        settle()  # the accrual's writes

    # Production's shape: web workers accept receipts, a booker process books them beside them.
    env = {"BENCH_DATABASE_URL": url, "BENCH_WEBHOOK_SECRET": SECRET, "MPESA_BOOKER": "process"}
    codes = count(1)

    def post(port: int, path: str) -> Callable[[], int]:
        headers = {"Content-Type": "application/json", "X-Webhook-Secret": SECRET}
        return lambda: serving.request(port, "POST", path, headers,
                                       json.dumps(webhook_body(next(codes), args.customers)))[0]

    booking = mkopo = bare = None
    try:
        booking = booker(env, workdir / "booker.log")
        with app.app_context():
            in_process_webhooks(app, 20, args.customers, codes)  # warm up, and wait for the booker to be up
            wait_booked(url)
            served_s = booked_s = yardstick_s = 0.0
            share = args.requests // 4 // ROUNDS
            for _ in range(ROUNDS):  # in rounds, as served below
                start = time.perf_counter()
                served_s += share / in_process_webhooks(app, share, args.customers, codes)
                booked_s += wait_booked(url) - start
                yardstick_s += share / in_process_bare(url, share, args.customers, codes)
            db.session.remove()
        n = share * ROUNDS
        rows.extend(webhook_rows("in-process test client", n / served_s, n / booked_s, n / yardstick_s))

        mkopo = serving.gunicorn("bench.serve:app", 18081, env, workdir / "mkopo.log")
        bare = serving.gunicorn("bench.bare:app", 18082, env, workdir / "bare.log")
        webhook, yardstick_post = post(18081, "/repayments/mpesa-webhook"), post(18082, "/bare")
        serving.load(webhook, 40, 202, "the webhook")  # warm both workers of each
        serving.load(yardstick_post, 40, 201, "the bare endpoint")
        wait_booked(url)
        # In rounds, each server in turn (the booker done before the yardstick's turn): a machine whose
        # speed drifts during the run then weighs on both alike.
        served_s = booked_s = yardstick_s = 0.0
        share = args.requests // ROUNDS // 4 * 4
        for _ in range(ROUNDS):
            start = time.perf_counter()
            served_s += share / serving.load(webhook, share, 202, "the webhook")
            booked_s += wait_booked(url) - start
            yardstick_s += share / serving.load(yardstick_post, share, 201, "the bare endpoint")
        n = share * ROUNDS
        rows.extend(webhook_rows("gunicorn 2 sync workers", n / served_s, n / booked_s, n / yardstick_s))
        # A rush longer than the booker's wait: it books alongside the answers, as in a steady stream.
        lasting = SUSTAINED_WAITS * app.config["MPESA_BOOKER_MAX_WAIT"]
        n = round(n / served_s * lasting) // 4 * 4
        start = time.perf_counter()
        answered = serving.load(webhook, n, 202, "the webhook")
        booked = n / (wait_booked(url) - start)
        rows.extend(webhook_rows(f"gunicorn, a {n / answered:.0f} s rush", answered, booked,
                                 serving.load(yardstick_post, n, 201, "the bare endpoint")))
    finally:
        serving.stop(mkopo, bare, booking)

    with app.app_context():
        more = args.par_loans - args.accrue_loans
        if more > 0:
            data.active_loans(more, args.customers, today - timedelta(days=1), with_installments=False, batch="P")
            db.session.commit()
            settle()
        runs = [timed(arrears.par_buckets, today)[0] for _ in range(3)]
        par_s = statistics.median(runs)
        buckets = arrears.par_buckets(today)
        rows.append((f"PAR buckets over {args.par_loans:,} loans", f"{par_s:.2f} s",
                     " / ".join(f"{b.name}: {b.loans:,}" for b in buckets),
                     "ok" if par_s < 2 or backend == "SQLite" else "SLOW"))
    request_log.flush(app)  # the in-process webhooks' log rows, before the database goes
    with app.app_context():
        db.engine.dispose()

    print(f"\nMkopo bench on {backend} ({os.cpu_count()} cores)\n")
    width = max(len(r[0]) for r in rows)
    for name, figure, note, verdict in rows:
        print(f"{name:<{width}}  {figure:>14}  {verdict:<4}  {note}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
