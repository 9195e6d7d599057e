"""python -m bench.collections: the collections workspace at scale (issue 4's figures), printed as a table.

SQLite in a throwaway file by default; DATABASE_URL=postgresql+psycopg://... for PostgreSQL, where the bench
works in its own schema, mkopo_bench_collections, dropped and rebuilt each run (and dropped at the end).
"""

import argparse
import csv
import importlib
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from api import request_log
from bench import collections_data as data
from bench import serving
from portal import create_app
from portal.models import User
from portal.models.base import db
from portal.services import bulk_upload, business_day, customers

SCHEMA = "mkopo_bench_collections"
SECRET_KEY = "bench-collections-" + "s" * 40
MEDIAN_TARGET_MS = 50
UPLOAD_COLUMNS = ["customer_code", "name", "phone", "email", "address_line_1", "address_line_2", "city", "state",
                  "pincode", "date_of_birth"]


def database_url(workdir: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine.dispose()
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"
    return f"sqlite:///{workdir / 'bench.db'}"


def drop_schema() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


class Statements:
    """Counts what the engine sends while active (BEGIN included: SQLite's is an explicit statement here)."""

    def __init__(self, engine):
        self.engine, self.sent = engine, []

    def _listen(self, conn, cursor, statement, *args):
        self.sent.append(statement.lstrip().split(None, 1)[0].upper())

    def __enter__(self):
        self.sent = []
        event.listen(self.engine, "before_cursor_execute", self._listen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._listen)

    @property
    def selects(self) -> int:
        return self.sent.count("SELECT")

    def __str__(self) -> str:
        return f"{len(self.sent)} ({self.selects} SELECT)"


# --- a: server time and statements per request -------------------------------------------------------------

@dataclass
class Endpoint:
    name: str
    get: object  # page_size -> response
    sizes: tuple[int, int] = (10, 100)


def portal_client(app, user_id: int):
    """A test client signed in to the portal as `user_id`, through the session cookie as a browser is."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:1"
        session["_fresh"] = True
    return client


def api_token(app, user_id: int) -> str:
    """A real 003 access token (a server-side session behind it), as POST /api/auth/token/ would issue."""
    from api import tokens
    from api.repaysync.schemas import ROLES

    with app.test_request_context():
        user = db.session.get(User, user_id)
        access, _ = tokens.issue_pair(user, ROLES.to_api(user.role))
        db.session.commit()
        db.session.remove()
    return access


def with_per_page(module_path: str, client, path: str):
    """GET a portal page with its view's page size swapped in (the views fix it; the bench varies it)."""
    module = importlib.import_module(module_path)

    def get(per_page: int):
        saved, module.PER_PAGE = module.PER_PAGE, per_page
        try:
            return client.get(path)
        finally:
            module.PER_PAGE = saved
    return get


def measure_request(engine, endpoint: Endpoint, default_size: int, repeat: int) -> tuple[float, dict[int, str]]:
    """Median milliseconds over `repeat` requests at the page's own size, and the statements at two sizes."""
    counts = {}
    for size in endpoint.sizes:
        response = endpoint.get(size)
        assert response.status_code == 200, (endpoint.name, response.status_code, response.get_data()[:300])
        with Statements(engine) as sent:
            endpoint.get(size)
        counts[size] = str(sent)
    for _ in range(3):
        endpoint.get(default_size)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = endpoint.get(default_size)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(times), counts


def bench_pages(app, staff: data.Staff, repeat: int) -> list[tuple]:
    with app.app_context():
        engine = db.engine
    token = api_token(app, staff.loan_officers[0])
    bearer = {"Authorization": f"Bearer {token}"}
    agent, officer = staff.agents[0], staff.officers[0]
    queue = "portal.blueprints.collections.views"
    listing = "portal.blueprints.customers.views"
    api = app.test_client()
    endpoints = [
        (Endpoint("agent queue page, calling agent", with_per_page(queue, portal_client(app, agent),
                                                                   "/portal/collections/")), 25),
        (Endpoint("agent queue page, collection officer", with_per_page(queue, portal_client(app, officer),
                                                                        "/portal/collections/")), 25),
        (Endpoint("customer list page, loan officer (all)", with_per_page(
            listing, portal_client(app, staff.loan_officers[0]), "/portal/customers/")), 25),
        (Endpoint("customer list page, manager (team)", with_per_page(
            listing, portal_client(app, staff.managers[0]), "/portal/customers/")), 25),
        (Endpoint("customer list page, search 'wanjiku'", with_per_page(
            listing, portal_client(app, staff.loan_officers[0]), "/portal/customers/?q=wanjiku")), 25),
        (Endpoint("GET /api/customers/ (003), loan officer",
                  lambda size: api.get(f"/api/customers/?page_size={size}", headers=bearer)), 50),
    ]
    rows = []
    for endpoint, default_size in endpoints:
        median, counts = measure_request(engine, endpoint, default_size, repeat)
        (small, few), (large, many) = counts.items()
        fixed = few == many
        rows.append((f"{endpoint.name}", f"{median:,.1f} ms",
                     "ok" if median < MEDIAN_TARGET_MS and fixed else "SLOW",
                     f"median of {repeat}, {default_size} rows (< {MEDIAN_TARGET_MS} ms); statements at "
                     f"{small} rows: {few}, at {large}: {many}{'' if fixed else ' NOT FIXED'}"))
    return rows


def queue_sizes(app, staff: data.Staff) -> str:
    from portal.services import agent_queue

    with app.app_context():
        parts = []
        for label, user_id in (("calling agent", staff.agents[0]), ("collection officer", staff.officers[0])):
            work = agent_queue.work_queue(db.session.get(User, user_id), agent_queue.QueueFilters(), per_page=1)
            parts.append(f"{label}: {work.total:,} loans to work")
        db.session.remove()
    return "; ".join(parts)


# --- b: bulk upload against a raw executemany ----------------------------------------------------------------

def upload_csv(count: int) -> bytes:
    """003's customer columns; half the rows name a code, a third an e-mail, blank optional cells elsewhere."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(UPLOAD_COLUMNS)
    for k in range(count):
        writer.writerow([
            f"U{k:07d}" if k % 2 == 0 else "",
            f"{data.FIRST_NAMES[k % 12]} {data.LAST_NAMES[k // 12 % 12]} Upload",
            f"0711 {k // 1000 % 1000:03d} {k % 1000:03d}" if k % 3 else f"+254722{k % 1_000_000:06d}",
            f"upload{k}@example.co.ke" if k % 3 == 0 else "",
            f"Stall {k % 400}, {data.MARKETS[k % 8]} market", "" if k % 4 else "Opposite the bus stage",
            data.CITIES[k % 8], data.COUNTIES[k % 8], "00100" if k % 5 else "",
            f"{1960 + k % 40}-{1 + k % 12:02d}-{1 + k % 28:02d}" if k % 6 else ""])
    return out.getvalue().encode()


class Upload:
    """What a surface hands the service: a stream and a file name (werkzeug's FileStorage has both)."""

    def __init__(self, payload: bytes):
        self.stream, self.filename = io.BytesIO(payload), "customers.csv"


RAW_COLUMNS = ["customer_code", "account_number", "name", "phone", "email", "national_id", "business_name",
               "location", "address_line_1", "address_line_2", "city", "state", "pincode", "date_of_birth",
               "assigned_officer_id", "created_by_id", "kyc_status", "kyc_level", "created_at", "updated_at"]


def raw_rows(payload: bytes, actor_id: int, now: datetime, sqlite: bool) -> list[tuple]:
    """The file's rows completed as the service completes them (code, account number, audit columns), ready
    for a driver: the raw insert gets everything prepared, so its time is the insert alone."""
    reader = csv.DictReader(io.StringIO(payload.decode()))
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if sqlite else now
    rows = []
    for row in reader:
        code = row["customer_code"] or customers.random_code()
        dob = row["date_of_birth"] or None
        rows.append((code, f"{row['name'].split()[0].lower()}{code.lower()}", row["name"],
                     "+254" + row["phone"].replace(" ", "")[-9:], row["email"] or None, None, None, None,
                     row["address_line_1"], row["address_line_2"] or None, row["city"], row["state"],
                     row["pincode"] or None, dob if sqlite or dob is None else date.fromisoformat(dob), None,
                     actor_id, "unverified", "tier_0", stamp, stamp))
    return rows


def raw_insert_sqlite(path: str, rows: list[tuple]) -> float:
    """rows/s of plain sqlite3 executemany into a copy of the customers table (same columns, constraints and
    indexes), foreign keys on and WAL as Mkopo runs it, in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    ddl = [sql for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'customers' AND sql IS NOT NULL ORDER BY type DESC")]
    conn.execute("DROP TABLE IF EXISTS bench_raw_customers")
    for sql in ddl:
        conn.execute(sql.replace("customers", "bench_raw_customers"))
    insert = (f"INSERT INTO bench_raw_customers ({', '.join(RAW_COLUMNS)}) "
              f"VALUES ({', '.join('?' for _ in RAW_COLUMNS)})")
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(insert, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.execute("DROP TABLE bench_raw_customers")
    conn.close()
    return len(rows) / elapsed


def raw_insert_postgres(url: str, rows: list[tuple]) -> float:
    """rows/s of plain psycopg executemany (no COPY) into a copy of the customers table, in one transaction."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_customers")
        conn.execute("CREATE TABLE bench_raw_customers (LIKE customers INCLUDING ALL)")
        conn.commit()
        insert = (f"INSERT INTO bench_raw_customers ({', '.join(RAW_COLUMNS)}) "
                  f"VALUES ({', '.join('%s' for _ in RAW_COLUMNS)})")
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(insert, rows)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_raw_customers")
        conn.commit()
    return len(rows) / elapsed


def bench_upload(app, url: str, staff: data.Staff, count: int) -> list[tuple]:
    payload = upload_csv(count)
    with app.app_context():
        actor = db.session.get(User, staff.admin)

        def run():
            result = bulk_upload.upload(Upload(payload), bulk_upload.Kind.CUSTOMERS, actor=actor)
            db.session.commit()
            return result
        seconds, result = timed(run)
        db.session.remove()
    if result.errors or result.records_created != count:
        raise RuntimeError(f"bulk upload created {result.records_created:,} of {count:,}: {result.errors[:3]}")
    rate = count / seconds
    sqlite = url.startswith("sqlite")
    rows = raw_rows(payload, staff.admin, datetime.now(UTC), sqlite)
    raw = raw_insert_sqlite(make_url(url).database, rows) if sqlite else raw_insert_postgres(url, rows)
    driver = "sqlite3" if sqlite else "psycopg"
    ok = rate >= 20_000 and rate * 5 >= raw
    return [(f"bulk upload, {count:,}-row customer CSV (service)", f"{rate:,.0f} rows/s", "ok" if ok else "SLOW",
             f"{seconds:.1f} s parse+check+insert+commit (>= 20,000 rows/s); raw {driver} executemany "
             f"{raw:,.0f} rows/s, {raw / rate:.1f}x faster (<= 5x)")]


# --- c: under gunicorn, beside a bare Flask endpoint ---------------------------------------------------------

def bench_served(app, url: str, staff: data.Staff, requests: int, workdir: Path) -> list[tuple]:
    bearer = {"Authorization": f"Bearer {api_token(app, staff.loan_officers[0])}"}
    mkopo_path, bare_path = "/api/customers/?page_size=50", "/bare/customers"
    env = {"BENCH_DATABASE_URL": url, "BENCH_SECRET_KEY": SECRET_KEY}

    def get_mkopo() -> int:
        return serving.request(18091, "GET", mkopo_path, bearer)[0]

    def get_bare() -> int:
        return serving.request(18092, "GET", bare_path, {})[0]

    mkopo = bare = None
    try:
        mkopo = serving.gunicorn("bench.collections_serve:app", 18091, env, workdir / "mkopo.log")
        bare = serving.gunicorn("bench.bare_customers:app", 18092, env, workdir / "bare.log")
        status, body = serving.request(18091, "GET", mkopo_path, bearer)
        _, bare_body = serving.request(18092, "GET", bare_path, {})
        if status != 200 or [c["id"] for c in json.loads(body)] != [c["id"] for c in json.loads(bare_body)]:
            raise RuntimeError(f"Mkopo and the bare endpoint disagree ({status}): {body[:200]!r}")
        serving.load(get_mkopo, 40, 200, mkopo_path)  # warm both workers of each
        serving.load(get_bare, 40, 200, bare_path)
        served = serving.load(get_mkopo, requests, 200, mkopo_path)
        yardstick = serving.load(get_bare, requests, 200, bare_path)
    finally:
        serving.stop(mkopo, bare)
    ratio = served / yardstick
    # Mkopo answers 200 even when it cannot write the request's log row; its error log says so.
    lost = sum(map(int, re.findall(r"could not write (\d+) API log rows", (workdir / "mkopo.log").read_text())))
    return [("GET /api/customers/ 50 rows, gunicorn 2 sync", f"{served:,.0f} req/s", "ok" if ratio >= 0.5 else "SLOW",
             f"bare one-query Flask: {yardstick:,.0f} req/s; ratio {ratio:.2f} (>= 0.5)"
             + (f"; {lost:,} API log rows lost to 'database is locked'" if lost else ""))]


# --- the run ---------------------------------------------------------------------------------------------------

def seed(app, args) -> tuple[data.Staff, list[tuple]]:
    with app.app_context():
        today = business_day.today()
        steps = []

        def step(name, fn):
            seconds, result = timed(fn)
            db.session.commit()
            steps.append(f"{name} {seconds:.0f} s")
            return result
        staff = step("staff", lambda: data.staff(managers=args.managers, loan_officers=args.loan_officers,
                                                 officers=args.officers, agents=args.agents))
        step("customers", lambda: data.customers(args.customers, staff))
        step("loans+installments", lambda: data.loans(args.loans, args.customers, staff, today))
        step("interactions", lambda: data.interactions(args.interactions, today))
        step("analyze", lambda: db.session.execute(text("ANALYZE")))
        counts = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("customers", "loans", "installments", "interactions")}
        in_arrears = db.session.execute(text(
            "SELECT count(*) FROM loans WHERE status = 'disbursed' AND oldest_unpaid_due < :d"), {"d": today}
        ).scalar_one()
        db.session.remove()
    note = (", ".join(f"{n:,} {t}" for t, n in counts.items()) + f"; {in_arrears:,} loans in arrears; "
            f"{args.agents} calling agents, {args.officers} collection officers, {args.managers} managers")
    return staff, [("seeded", "; ".join(steps), "", note)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=150_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--loan-officers", type=int, default=4)
    parser.add_argument("--officers", type=int, default=50, help="collection officers")
    parser.add_argument("--agents", type=int, default=40, help="calling agents")
    parser.add_argument("--repeat", type=int, default=50, help="requests per page for the median")
    parser.add_argument("--upload-rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000, help="requests per server under gunicorn")
    parser.add_argument("--skip", action="append", default=[], choices=["pages", "served", "upload"])
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mkopo-bench-collections-"))
    os.environ.setdefault("MKOPO_INSTANCE_DIR", str(workdir / "instance"))
    url = database_url(workdir)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "SECRET_KEY": SECRET_KEY,
                      "BULK_UPLOAD_MAX_ROWS": max(args.upload_rows, 100_000),
                      "BULK_UPLOAD_MAX_BYTES": max(args.upload_rows * 200, 20 * 1024 * 1024)})
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    try:
        with app.app_context():
            upgrade()
            db.session.remove()
        staff, rows = seed(app, args)
        rows.append(("agent queues", "", "", queue_sizes(app, staff)))
        if "pages" not in args.skip:
            rows += bench_pages(app, staff, args.repeat)
        # Before the upload, so the listing served is the seeded 100,000 customers.
        if "served" not in args.skip:
            rows += bench_served(app, url, staff, args.requests, workdir)
        if "upload" not in args.skip:
            rows += bench_upload(app, url, staff, args.upload_rows)
        request_log.flush(app)
        with app.app_context():
            db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop_schema()

    print(f"\nMkopo collections bench on {backend} ({os.cpu_count()} cores), {datetime.now():%Y-%m-%d}\n")
    width = max(len(r[0]) for r in rows)
    for name, figure, verdict, note in rows:
        print(f"{name:<{width}}  {figure:>14}  {verdict:<4}  {note}")


if __name__ == "__main__":
    main()
