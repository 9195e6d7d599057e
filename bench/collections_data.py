"""A collections book at scale, made by the database itself (INSERT ... SELECT over a number series).

Staff in teams, customers spread over collection officers, loans in every state with a share in
arrears handed to calling agents (each disbursed loan with its 12 weekly installments, paid up to
its oldest unpaid one), and a quarter-year of calls and field visits on the loans being worked.
Every value is a function of the row's number, so two runs seed the same book.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, bindparam, insert, select, text
from werkzeug.security import generate_password_hash

from portal.models import Role, User
from portal.models.base import UTCDateTime, db, utcnow

PASSWORD = "mkopo-bench-2026"
MARKETS = ["Gikomba", "Kariobangi", "Githurai", "Kawangware", "Ruiru", "Thika", "Kitengela", "Ongata Rongai"]
CITIES = ["Nairobi", "Nairobi", "Nairobi", "Nairobi", "Ruiru", "Thika", "Kitengela", "Rongai"]
COUNTIES = ["Nairobi", "Nairobi", "Nairobi", "Nairobi", "Kiambu", "Kiambu", "Kajiado", "Kajiado"]
FIRST_NAMES = ["Wanjiku", "Achieng", "Kamau", "Otieno", "Mwangi", "Njeri", "Kiprop", "Wambui", "Mutua",
               "Akinyi", "Omondi", "Chebet"]
LAST_NAMES = ["Kariuki", "Odhiambo", "Njoroge", "Wafula", "Kimani", "Onyango", "Mutiso", "Korir", "Maina",
              "Atieno", "Kiplagat", "Nyambura"]
# What an agent records, in proportion: calls mostly find nobody, visits mostly find the customer.
CALL_OUTCOMES = [("no_answer", "no_contact"), ("called", "right_party"), ("switched_off", "no_contact"),
                 ("promise_to_pay", "right_party"), ("callback_requested", "third_party"),
                 ("no_answer", "no_contact"), ("refused_to_pay", "right_party"), ("paid", "right_party"),
                 ("wrong_number", "no_contact"), ("partial_payment", "right_party"), ("dispute", "right_party"),
                 ("promise_to_pay", "right_party")]
VISIT_OUTCOMES = [("visited", "right_party"), ("promise_to_pay", "right_party"),
                  ("customer_not_found", "no_contact"), ("paid", "right_party"), ("refused_to_pay", "right_party"),
                  ("visited", "third_party")]
SECONDS_IN_90_DAYS = 90 * 86400


@dataclass
class Staff:
    """Ids of the seeded staff: each role's ids are consecutive, so `first + (i % count)` picks one."""

    admin: int
    loan_officers: tuple[int, int]  # (first id, count)
    officers: tuple[int, int]
    agents: tuple[int, int]
    managers: tuple[int, int]

    def pick(self, group: str, series_expr: str) -> str:
        """SQL for one of the group, round robin over the series."""
        first, count = getattr(self, group)
        return f"({first} + (({series_expr}) % {count}))"

    def block(self, group: str, series_expr: str, total: int) -> str:
        """SQL for one of the group, in consecutive blocks of the series 1..total (so no pattern of the series
        numbers, such as which loans are in arrears, lines up with the staff member)."""
        first, count = getattr(self, group)
        return f"({first} + (({series_expr}) - 1) * {count} / {total})"


def _run(sql: str, **params) -> None:
    typed = {"now": UTCDateTime(), "today": Date()}
    stmt = text(sql).bindparams(*(bindparam(k, type_=typed[k]) for k in params if k in typed))
    db.session.execute(stmt, params)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _numbers(count: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"


def _padded(expr: str, width: int) -> str:
    if _dialect() == "postgresql":
        return f"lpad(CAST({expr} AS text), {width}, '0')"
    return f"printf('%0{width}d', {expr})"


def _date_plus(base: str, days_expr: str) -> str:
    """SQL for the date `days_expr` days (any sign) after the date `base`."""
    if _dialect() == "postgresql":
        return f"(CAST({base} AS date) + CAST({days_expr} AS integer))"
    return f"date({base}, ({days_expr}) || ' days')"


def _seconds_before_now(seconds_expr: str) -> str:
    """SQL for the timestamp `seconds_expr` seconds before :now, stored as UTCDateTime stores it."""
    if _dialect() == "postgresql":
        return f"(CAST(:now AS timestamptz) - ({seconds_expr}) * interval '1 second')"
    return f"(datetime(:now, '-' || ({seconds_expr}) || ' seconds') || '.000000')"


def _date_of(timestamp_expr: str) -> str:
    if _dialect() == "postgresql":
        return f"CAST(({timestamp_expr}) AT TIME ZONE 'UTC' AS date)"
    return f"date({timestamp_expr})"


def _pick(values: list[str], expr: str) -> str:
    """SQL choosing values[expr % len(values)]."""
    whens = " ".join(f"WHEN {k} THEN '{v}'" for k, v in enumerate(values))
    return f"(CASE ({expr}) % {len(values)} {whens} END)"


def staff(*, managers: int, loan_officers: int, officers: int, agents: int) -> Staff:
    """An admin, managers, loan officers, collection officers and calling agents (agents and officers in
    the managers' teams, round robin); one password for all of them."""
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = utcnow()

    def add(role: Role, prefix: str, count: int, first_manager: int | None = None, manager_count: int = 0):
        rows = [{"username": f"{prefix}{k:03d}", "email": f"{prefix}{k:03d}@bench.mkopo.test",
                 "first_name": prefix.split(".")[1].capitalize(), "last_name": f"{k:03d}",
                 "password_hash": password_hash, "role": role, "is_active": True, "token_version": 1,
                 "manager_id": first_manager + k % manager_count if first_manager else None,
                 "email_verified": True, "phone_verified": False, "created_at": now, "updated_at": now}
                for k in range(count)]
        db.session.execute(insert(User), rows)
        ids = list(db.session.scalars(select(User.id).where(User.role == role, User.username.like(f"{prefix}%"))
                                      .order_by(User.id)))
        if ids != list(range(ids[0], ids[0] + count)):
            raise RuntimeError(f"{role} ids are not consecutive: the seeding assumes they are")
        return ids[0], count

    admin = add(Role.ADMIN, "bench.admin", 1)[0]
    team = add(Role.MANAGER, "bench.manager", managers)
    return Staff(admin=admin, managers=team, loan_officers=add(Role.LOAN_OFFICER, "bench.lender", loan_officers),
                 officers=add(Role.COLLECTION_OFFICER, "bench.officer", officers, *team),
                 agents=add(Role.CALLING_AGENT, "bench.caller", agents, *team))


def customers(count: int, team: Staff) -> None:
    """`count` customers in eight markets, each assigned to a collection officer and created by a loan officer,
    created over the last two years (so "newest first" has a real order)."""
    seconds_ago = _seconds_before_now("i * 613")
    _run(f"""
        {_numbers(count)}
        INSERT INTO customers (customer_code, account_number, name, phone, email, national_id, business_name,
                               location, address_line_1, city, state, pincode, date_of_birth,
                               assigned_officer_id, created_by_id, kyc_status, kyc_level, created_at, updated_at)
        SELECT 'C' || {_padded('i', 7)}, 'bench' || i,
               {_pick(FIRST_NAMES, 'i')} || ' ' || {_pick(LAST_NAMES, 'i / 12')},
               '+2547' || {_padded('i', 8)},
               CASE WHEN i % 3 = 0 THEN 'customer' || i || '@example.co.ke' END,
               CAST(20000000 + i AS text),
               CASE WHEN i % 2 = 0 THEN 'Stall ' || i END,
               {_pick(MARKETS, 'i')}, 'Plot ' || (i % 500), {_pick(CITIES, 'i')}, {_pick(COUNTIES, 'i')},
               '00' || (100 + i % 900), {_date_plus("'1965-01-01'", 'i % 14000')},
               {team.block('officers', 'i', count)}, {team.pick('loan_officers', 'i')},
               CASE WHEN i % 10 < 7 THEN 'verified' WHEN i % 10 < 9 THEN 'pending' ELSE 'unverified' END,
               CASE WHEN i % 10 < 7 THEN 'tier_2' ELSE 'tier_1' END,
               {seconds_ago}, {seconds_ago}
        FROM n
    """, now=utcnow())


def loans(count: int, customer_count: int, team: Staff, today: date) -> None:
    """`count` weekly loans of 12,000.00 over 12 weeks, customer (i % customer_count): 5% pending, 5% approved,
    5% rejected, 10% closed, 75% disbursed. A fifth of the disbursed loans are 1 to 150 days in arrears and
    handed to a calling agent, as is a tenth of the current ones (cured, still watched). Each disbursed loan
    has paid i % 12 installments; its next one is due within the week or, in arrears, `dpd` days ago."""
    # x.st: status slot; x.p: installments paid; x.off: days from today to the oldest unpaid installment.
    oldest_unpaid = _date_plus(":today", "x.off")
    disbursed_on = _date_plus(":today", "x.off - 7 * (x.p + 1)")
    closed_on = _date_plus(":today", "-(200 + x.i % 300)")
    disbursed = "x.st >= 5"
    _run(f"""
        {_numbers(count)}
        INSERT INTO loans (loan_number, customer_id, loan_type, purpose, principal, annual_rate, interest_method,
                           frequency, term_periods, fee_amount, fee_mode, penalty_rate, grace_days,
                           application_date, status, created_by_id, disbursed_on, oldest_unpaid_due,
                           principal_outstanding, collector_id, created_at, updated_at)
        SELECT 'BC' || {_padded('x.i', 8)}, (SELECT min(id) FROM customers) + (x.i % {customer_count}),
               'business', 'stock', 1200000, 26, 'flat', 'weekly', 12, 0, 'deducted', 2, 1,
               CASE WHEN {disbursed} THEN {disbursed_on} WHEN x.st >= 3 THEN {closed_on}
                    ELSE {_date_plus(':today', '-(x.i % 14)')} END,
               CASE x.st WHEN 0 THEN 'pending' WHEN 1 THEN 'approved' WHEN 2 THEN 'rejected'
                         WHEN 3 THEN 'closed' WHEN 4 THEN 'closed' ELSE 'disbursed' END,
               {team.pick('loan_officers', 'x.i')},
               CASE WHEN {disbursed} THEN {disbursed_on} WHEN x.st >= 3 THEN {closed_on} END,
               CASE WHEN {disbursed} THEN {oldest_unpaid} END,
               CASE WHEN {disbursed} THEN (12 - x.p) * 100000 ELSE 0 END,
               CASE WHEN {disbursed} AND (x.off < 0 OR x.i % 10 = 5) THEN {team.pick('agents', 'x.i / 20')} END,
               :now, :now
        FROM (SELECT i, i % 20 AS st, i % 12 AS p,
                     CASE WHEN i % 4 = 0 THEN -(1 + (i * 13) % 150) ELSE i % 7 END AS off FROM n) x
    """, today=today, now=utcnow())
    due = _date_plus("l.disbursed_on", "7 * k.i")
    paid = f"CASE WHEN {due} < l.oldest_unpaid_due THEN"
    _run(f"""
        WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 12)
        INSERT INTO installments (loan_id, number, due_date, principal_due, interest_due, fee_due, penalty_due,
                                  principal_paid, interest_paid, fee_paid, penalty_paid)
        SELECT l.id, k.i, {due}, 100000, 6000, 0, 0, {paid} 100000 ELSE 0 END, {paid} 6000 ELSE 0 END, 0, 0
        FROM loans l CROSS JOIN k WHERE l.status = 'disbursed'
    """)


def interactions(count: int, today: date) -> None:
    """`count` interactions over the last 90 days on the loans being worked (those with a calling agent):
    three calls by the loan's agent to one visit by the customer's officer; promises due up to a week
    after they were made, settled (kept, partly kept, broken) once their date has passed."""
    _run("DROP TABLE IF EXISTS bench_worked")
    _run("""
        CREATE TEMPORARY TABLE bench_worked AS
        SELECT row_number() OVER (ORDER BY l.id) AS rn, l.id AS loan_id, l.collector_id,
               c.assigned_officer_id AS officer_id
        FROM loans l JOIN customers c ON c.id = l.customer_id WHERE l.collector_id IS NOT NULL
    """)
    _run("CREATE UNIQUE INDEX bench_worked_rn ON bench_worked (rn)")
    worked = db.session.execute(text("SELECT count(*) FROM bench_worked")).scalar_one()
    if not worked:
        return
    call, visit = (f"i % {len(CALL_OUTCOMES)}", f"i % {len(VISIT_OUTCOMES)}")
    is_visit = "i % 4 = 0"

    def outcome(pos: int) -> str:
        return (f"CASE WHEN {is_visit} THEN {_pick([o[pos] for o in VISIT_OUTCOMES], visit)} "
                f"ELSE {_pick([o[pos] for o in CALL_OUTCOMES], call)} END")

    # x: each interaction's number, time, kind and outcome; y adds the dates that follow from them.
    x = (f"SELECT i, {_seconds_before_now(f'(CAST(i AS bigint) * 7919) % {SECONDS_IN_90_DAYS}')} AS created_at, "
         f"CASE WHEN {is_visit} THEN 'field' ELSE 'calling' END AS kind, "
         f"{outcome(0)} AS disposition, {outcome(1)} AS contact FROM n")
    y = (f"SELECT x.*, CASE WHEN x.disposition = 'promise_to_pay' "
         f"THEN {_date_plus(_date_of('x.created_at'), '1 + x.i % 7')} END AS promise_date, "
         f"CASE WHEN x.disposition IN ('callback_requested', 'no_answer', 'switched_off') "
         f"THEN {_date_plus(_date_of('x.created_at'), '1 + x.i % 3')} END AS next_call_date FROM ({x}) x")
    _run(f"""
        {_numbers(count)}
        INSERT INTO interactions (loan_id, kind, comment, disposition_code, next_call_date, contact_outcome,
                                  promise_amount, promise_date, promise_status, promise_paid, created_by_id,
                                  created_at, updated_at)
        SELECT w.loan_id, y.kind, 'Bench note ' || y.i, y.disposition, y.next_call_date, y.contact,
               CASE WHEN y.promise_date IS NOT NULL THEN 100000 + (y.i % 40) * 10000 END,
               y.promise_date,
               CASE WHEN y.promise_date IS NULL THEN NULL WHEN y.promise_date >= :today THEN 'pending'
                    WHEN y.i % 3 = 0 THEN 'broken' WHEN y.i % 3 = 1 THEN 'kept' ELSE 'partially_kept' END,
               CASE WHEN y.promise_date < :today THEN
                    CASE y.i % 3 WHEN 0 THEN 0 WHEN 1 THEN 100000 + (y.i % 40) * 10000 ELSE 50000 END END,
               CASE WHEN y.kind = 'field' THEN w.officer_id ELSE w.collector_id END,
               y.created_at, y.created_at
        FROM ({y}) y
        JOIN bench_worked w ON w.rn = 1 + y.i % {worked}
    """, today=today, now=utcnow())
    _run("DROP TABLE bench_worked")
