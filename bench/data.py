"""Bulk data made by the database itself (INSERT ... SELECT over a number series): fast on both backends."""

from datetime import date

from sqlalchemy import Date, bindparam, text

from portal.models.base import UTCDateTime, db, utcnow

TYPED = (bindparam("now", type_=UTCDateTime()), bindparam("today", type_=Date()))


def _run(sql: str, **params) -> None:
    stmt = text(sql).bindparams(*(b for b in TYPED if b.key in params))
    db.session.execute(stmt, params)


def _numbers(count: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"


def _days_before(dialect: str, column_expr: str) -> str:
    """SQL for :today minus `column_expr` days, as a date."""
    if dialect == "postgresql":
        return f"(CAST(:today AS date) - CAST({column_expr} AS integer))"
    return f"date(:today, '-' || ({column_expr}) || ' days')"


def _days_after(dialect: str, base: str, column_expr: str) -> str:
    if dialect == "postgresql":
        return f"({base} + CAST({column_expr} AS integer))"
    return f"date({base}, '+' || ({column_expr}) || ' days')"


def _padded(width: int) -> str:
    """SQL for the series number `i` zero-padded to `width` digits."""
    if db.session.get_bind().dialect.name == "postgresql":
        return f"lpad(CAST(i AS text), {width}, '0')"
    return f"printf('%0{width}d', i)"


def customers(count: int, phone_prefix: str = "+2547") -> None:
    """`count` customers with distinct phones (+2547xxxxxxxx) and codes."""
    _run(f"""
        {_numbers(count)}
        INSERT INTO customers (customer_code, account_number, name, phone, kyc_status, kyc_level,
                               created_at, updated_at)
        SELECT 'B' || {_padded(7)}, 'bench' || i, 'Bench Customer ' || i,
               '{phone_prefix}' || {_padded(8)}, 'verified', 'tier_3', :now, :now FROM n
    """, now=utcnow())


def active_loans(count: int, customers_count: int, today: date, *, with_installments: bool,
                 batch: str = "A") -> None:
    """`count` disbursed weekly loans of 12,000.00 over 12 weeks, disbursed up to 150 days ago
    (so about half are in arrears), spread over the customers; optionally with their installments."""
    dialect = db.session.get_bind().dialect.name
    disbursed = _days_before(dialect, "i % 150")
    first_due = _days_after(dialect, disbursed, "7")
    _run(f"""
        {_numbers(count)}
        INSERT INTO loans (loan_number, customer_id, loan_type, purpose, principal, annual_rate, interest_method,
                           frequency, term_periods, fee_amount, fee_mode, penalty_rate, grace_days,
                           application_date, status, disbursed_on, oldest_unpaid_due, principal_outstanding,
                           created_at, updated_at)
        SELECT 'BL{batch}' || i, (SELECT min(id) FROM customers) + (i % {customers_count}), 'bench', '', 1200000, 26,
               'flat', 'weekly', 12, 0, 'deducted', 2, 1, {disbursed}, 'disbursed', {disbursed}, {first_due},
               1200000, :now, :now
        FROM n
    """, today=today, now=utcnow())
    if with_installments:
        due = _days_after(dialect, "l.disbursed_on", "7 * k.i")
        _run(f"""
            WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 12)
            INSERT INTO installments (loan_id, number, due_date, principal_due, interest_due, fee_due, penalty_due,
                                      principal_paid, interest_paid, fee_paid, penalty_paid)
            SELECT l.id, k.i, {due}, 100000, 6000, 0, 0, 0, 0, 0, 0
            FROM loans l CROSS JOIN k WHERE l.loan_number LIKE 'BL{batch}%'
        """)
