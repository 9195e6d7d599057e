"""python -m bench: seed at scale, measure, print a table. DATABASE_URL=postgresql+psycopg://... for PostgreSQL
(the bench works in its own schema, mkopo_bench, dropped and rebuilt each run)."""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from bench import bare as bare_endpoint
from bench import data
from bench.bare import bare_rows
from portal import create_app
from portal.models import Frequency, InterestMethod
from portal.models.base import db
from portal.services import arrears, schedules

SECRET = "bench-webhook-secret"
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


def in_process_webhooks(app, n: int, customers: int, codes) -> tuple[float, float]:
    """Requests per second answered, and payments per second booked (from the first request until
    the booker has booked the last)."""
    client = app.test_client()
    headers = {"X-Webhook-Secret": SECRET}
    start = time.perf_counter()
    for _ in range(n):
        response = client.post("/repayments/mpesa-webhook", json=webhook_body(next(codes), customers), headers=headers)
        assert response.status_code == 202, response.get_json()
    answered = time.perf_counter() - start
    return n / answered, n / (wait_booked(app.config["SQLALCHEMY_DATABASE_URI"]) - start)


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
                raise RuntimeError(f"{failed} M-Pesa receipts failed to book; see the server's log")
            if not waiting:
                return time.perf_counter()
            time.sleep(0.01)
    finally:
        engine.dispose()


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


def analyze() -> None:
    """PostgreSQL plans from statistics, and a bulk load has none until autovacuum gets to it (when it
    runs at all): gather them, as a live database has them."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def load(port: int, path: str, n: int, customers: int, codes, expected: int, clients: int = 4) -> float:
    """`n` POSTs from `clients` threads (a new connection each: sync workers close them)."""
    lock, failures = threading.Lock(), []

    def worker(share: int):
        for _ in range(share):
            with lock:
                body = json.dumps(webhook_body(next(codes), customers))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", path, body, {"Content-Type": "application/json", "X-Webhook-Secret": SECRET})
            status = conn.getresponse().status
            conn.close()
            if status != expected:
                failures.append(status)

    threads = [threading.Thread(target=worker, args=(n // clients,)) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests to {path} failed: {sorted(set(failures))}")
    return (n // clients * clients) / elapsed


def gunicorn(app_path: str, port: int, url: str) -> subprocess.Popen:
    env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", app_path], cwd=ROOT, env=env)
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gunicorn for {app_path} did not start")


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
                      "SECRET_KEY": "bench-" + "s" * 40})
    rows = []
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    today = date.today()
    with app.app_context():
        upgrade()
        rows.append(("schedules built (12 monthly, declining)", f"{bench_schedules(args.schedules):,.0f} /s",
                     f"{args.schedules:,} loans", ""))

        seed_s, _ = timed(lambda: (data.customers(args.customers),
                                   data.active_loans(args.accrue_loans, args.customers, today, with_installments=True),
                                   db.session.commit(), analyze()))
        accrue_s, (charged, total) = timed(lambda: (arrears.accrue_penalties(today), db.session.commit())[0])
        rows.append((f"flask loans accrue over {args.accrue_loans:,} active loans", f"{accrue_s:.1f} s",
                     f"< 10 s ({charged:,} charged {total:,.2f}; seeding took {seed_s:.0f} s)",
                     "ok" if accrue_s < 10 else "SLOW"))

        bare_rows.create(db.session.connection())
        db.session.commit()
        codes = count(1)
        in_process, booked = in_process_webhooks(app, args.requests // 4, args.customers, codes)
        db.session.remove()
        yardstick = in_process_bare(url, args.requests // 4, args.customers, codes)
        ratio = in_process / yardstick
        rows.append(("webhook, in-process test client", f"{in_process:,.0f} req/s", f"bare one-INSERT Flask: "
                     f"{yardstick:,.0f} req/s; ratio {ratio:.2f} (>= 0.5)", "ok" if ratio >= 0.5 else "SLOW"))
        rows.append(("  booked by the same process's booker", f"{booked:,.0f} /s", "first request to last booking", ""))

    mkopo = gunicorn("bench.serve:app", 18081, url)
    bare = gunicorn("bench.bare:app", 18082, url)
    try:
        load(18081, "/repayments/mpesa-webhook", 40, args.customers, codes, 202)  # warm both workers
        load(18082, "/bare", 40, args.customers, codes, 201)
        wait_booked(url)
        start = time.perf_counter()
        served = load(18081, "/repayments/mpesa-webhook", args.requests, args.customers, codes, 202)
        booked = args.requests // 4 * 4 / (wait_booked(url) - start)
        yardstick = load(18082, "/bare", args.requests, args.customers, codes, 201)
    finally:
        for proc in (mkopo, bare):
            proc.terminate()
            proc.wait(timeout=10)
    ratio = served / yardstick
    rows.append(("webhook, gunicorn 2 sync workers", f"{served:,.0f} req/s", f"bare one-INSERT Flask: "
                 f"{yardstick:,.0f} req/s; ratio {ratio:.2f} (>= 0.5)", "ok" if ratio >= 0.5 else "SLOW"))
    rows.append(("  booked by the workers' bookers", f"{booked:,.0f} /s", "first request to last booking; "
                 f"ratio to bare {booked / yardstick:.2f}", ""))

    with app.app_context():
        more = args.par_loans - args.accrue_loans
        if more > 0:
            data.active_loans(more, args.customers, today - timedelta(days=1), with_installments=False, batch="P")
            db.session.commit()
        runs = [timed(arrears.par_buckets, today)[0] for _ in range(3)]
        par_s = statistics.median(runs)
        buckets = arrears.par_buckets(today)
        rows.append((f"PAR buckets over {args.par_loans:,} loans", f"{par_s:.2f} s",
                     " / ".join(f"{b.name}: {b.loans:,}" for b in buckets),
                     "ok" if par_s < 2 or backend == "SQLite" else "SLOW"))
        db.engine.dispose()

    print(f"\nMkopo bench on {backend} ({os.cpu_count()} cores)\n")
    width = max(len(r[0]) for r in rows)
    for name, figure, note, verdict in rows:
        print(f"{name:<{width}}  {figure:>14}  {verdict:<4}  {note}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
