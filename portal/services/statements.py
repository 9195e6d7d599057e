"""PDF statements: a loan's (terms, schedule, payments and their allocation, running balance) and a
customer's account for a period (savings movements between opening and closing balances, and the
loan repayments of the period).

Every figure is a Decimal read from the models and the ledger: the running balances are the
postings themselves, so a statement agrees with `flask ledger verify`. Figures are gathered into
plain dataclasses first and rendered afterwards, so no database transaction stays open through
WeasyPrint's layout (see portal.services.jobs).

WeasyPrint fetches through `StaticOnlyFetcher`: only files under portal/static, named by the
``mkopo-static:`` URLs that `asset()` writes; the network, file: and data: URLs are refused.
A statement of more than STATEMENT_INLINE_MAX_ROWS table rows is rendered by a background job,
never inside the request (about 8 ms a row: a 1,000-row statement takes 8 s).
"""

import logging
import mimetypes
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

from flask import current_app, render_template
from sqlalchemy import case, func, or_, select, type_coerce
from sqlalchemy.orm import joinedload, selectinload
from weasyprint import HTML
from weasyprint.logger import PROGRESS_LOGGER
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.models import (
    Customer,
    DepositAccount,
    EntryKind,
    FeeMode,
    Gl,
    Installment,
    Job,
    JournalEntry,
    Loan,
    LoanStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Posting,
    Transaction,
    User,
)
from portal.models.base import Money, db, utcnow
from portal.services import business_day, customers, jobs, loans, savings
from portal.services.errors import NotFound, ValidationFailed
from portal.services.money import ZERO

log = logging.getLogger("mkopo.statements")

PDF = "application/pdf"
STATIC_SCHEME = "mkopo-static:"
STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
# What a statement may pull in: its stylesheet, images and fonts. Nothing executable, nothing else.
ASSET_SUFFIXES = frozenset({".css", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".ttf", ".otf", ".woff", ".woff2"})
ROWS_PER_PAGE = 36  # about what an A4 page holds, for the progress bar's page estimate
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SOURCE_LABELS = {"mpesa": "M-Pesa", "cash": "Cash", "savings": "Savings"}


# --- what a statement holds --------------------------------------------------------------------

@dataclass(frozen=True)
class ScheduleRow:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal
    penalty: Decimal
    total: Decimal
    paid: Decimal
    outstanding: Decimal
    state: str


@dataclass(frozen=True)
class Allocation:
    """The share of one payment that went to one installment, by part."""

    installment: int
    penalty: Decimal
    fee: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def parts(self) -> list[tuple[str, Decimal]]:
        return [(name, amount) for name, amount in (("penalty", self.penalty), ("fee", self.fee),
                                                    ("interest", self.interest), ("principal", self.principal))
                if amount]


@dataclass(frozen=True)
class Movement:
    """One line of an account: what was charged (debit) or paid (credit), and the balance after it."""

    at: datetime
    description: str
    reference: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    allocations: tuple[Allocation, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class LoanStatement:
    generated_at: datetime
    today: date
    loan_number: str
    status: str
    customer_name: str
    customer_code: str
    customer_phone: str | None
    product_name: str
    purpose: str
    principal: Decimal
    annual_rate: Decimal
    interest_method: str
    frequency: str
    term_periods: int
    fee_amount: Decimal
    fee_mode: str
    application_date: date
    disbursed_on: date | None
    disbursement_channel: str | None
    schedule: tuple[ScheduleRow, ...]
    totals: ScheduleRow | None
    movements: tuple[Movement, ...]
    charged: Decimal
    paid: Decimal
    balance: Decimal
    arrears: Decimal
    days_past_due: int
    next_due: ScheduleRow | None

    @property
    def rows(self) -> int:
        return len(self.schedule) + len(self.movements)

    @property
    def filename(self) -> str:
        return f"loan-statement-{self.loan_number}-{self.today:%Y%m%d}.pdf"


@dataclass(frozen=True)
class RepaymentRow:
    received_at: datetime
    loan_number: str
    reference: str
    source: str
    amount: Decimal
    to_savings: Decimal
    status: str


@dataclass(frozen=True)
class LoanPosition:
    loan_number: str
    status: str
    opening: Decimal
    closing: Decimal


@dataclass(frozen=True)
class CustomerStatement:
    generated_at: datetime
    customer_name: str
    customer_code: str
    account_number: str
    customer_phone: str | None
    start: date
    end: date
    opening_balance: Decimal
    closing_balance: Decimal
    money_in: Decimal
    money_out: Decimal
    movements: tuple[Movement, ...]
    repayments: tuple[RepaymentRow, ...]
    repaid: Decimal
    loans: tuple[LoanPosition, ...] = field(default=())

    @property
    def rows(self) -> int:
        return len(self.movements) + len(self.repayments) + len(self.loans)

    @property
    def filename(self) -> str:
        return f"statement-{self.customer_code}-{self.start:%Y%m%d}-{self.end:%Y%m%d}.pdf"


@dataclass(frozen=True)
class Rendered:
    """A statement rendered in the request, ready to send."""

    data: bytes
    filename: str
    content_type: str = PDF


@dataclass(frozen=True)
class Deferred:
    """A statement too long to render in a request: ask for it as a job (`queue_*_statement`)."""

    title: str
    rows: int


# --- loan statement ------------------------------------------------------------------------------

def loan_rows(loan: Loan) -> int:
    """How many table rows the loan's statement has, counted without building it."""
    installments = db.session.scalar(select(func.count()).select_from(Installment)
                                     .where(Installment.loan_id == loan.id))
    movements = db.session.scalar(select(func.count(func.distinct(Posting.entry_id)))
                                  .where(Posting.loan_id == loan.id, Posting.gl == Gl.LOANS_RECEIVABLE))
    return installments + movements


def build_loan_statement(loan: Loan) -> LoanStatement:
    """Gather a loan's statement (the caller has checked the loan is visible)."""
    today = business_day.today()
    schedule = tuple(ScheduleRow(
        number=i.number, due_date=i.due_date, principal=i.principal_due, interest=i.interest_due, fee=i.fee_due,
        penalty=i.penalty_due, total=i.total_due, paid=i.total_paid, outstanding=i.outstanding,
        state=i.state(today)) for i in loan.installments)
    totals = None
    if schedule:
        def total(name: str) -> Decimal:
            return sum((getattr(row, name) for row in schedule), ZERO)
        totals = ScheduleRow(number=len(schedule), due_date=schedule[-1].due_date, principal=total("principal"),
                             interest=total("interest"), fee=total("fee"), penalty=total("penalty"),
                             total=total("total"), paid=total("paid"), outstanding=total("outstanding"), state="")
    movements = _loan_movements(loan)
    unpaid_ahead = [row for row in schedule if row.outstanding > 0 and row.due_date >= today]
    active = loan.status == LoanStatus.DISBURSED
    return LoanStatement(
        generated_at=utcnow(), today=today, loan_number=loan.loan_number, status=loan.status.value,
        customer_name=loan.customer.name, customer_code=loan.customer.customer_code,
        customer_phone=loan.customer.phone, product_name=loan.product.name if loan.product else loan.loan_type,
        purpose=loan.purpose, principal=loan.principal, annual_rate=loan.annual_rate.normalize(),
        interest_method=loan.interest_method.value, frequency=loan.frequency.value, term_periods=loan.term_periods,
        fee_amount=loan.fee_amount, fee_mode=loan.fee_mode.value, application_date=loan.application_date,
        disbursed_on=loan.disbursed_on,
        disbursement_channel=loan.disbursement_channel.value if loan.disbursement_channel else None,
        schedule=schedule, totals=totals, movements=movements,
        charged=sum((m.debit for m in movements), ZERO), paid=sum((m.credit for m in movements), ZERO),
        balance=movements[-1].balance if movements else ZERO,
        arrears=sum((row.outstanding for row in schedule if row.due_date < today), ZERO) if active else ZERO,
        days_past_due=loan.days_past_due_on(today), next_due=unpaid_ahead[0] if active and unpaid_ahead else None)


def _loan_movements(loan: Loan) -> tuple[Movement, ...]:
    """The loan's receivable account, entry by entry, with the balance after each."""
    postings = db.session.execute(
        select(JournalEntry.id, JournalEntry.kind, JournalEntry.memo, JournalEntry.created_at, Posting.amount)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.loan_id == loan.id, Posting.gl == Gl.LOANS_RECEIVABLE)
        .order_by(JournalEntry.created_at, JournalEntry.id, Posting.id)).all()
    if not postings:
        return ()
    payments = db.session.scalars(
        select(Payment).where(or_(Payment.loan_id == loan.id, Payment.id.in_(
            select(PaymentAllocation.payment_id).join(Installment).where(Installment.loan_id == loan.id))))
        .options(selectinload(Payment.allocations).joinedload(PaymentAllocation.installment))).all()
    applied_by: dict[int, Payment] = {}
    reversed_by: dict[int, Payment] = {}
    for payment in payments:
        for allocation in payment.allocations:
            applied_by[allocation.entry_id] = payment
        if payment.reversal_entry_id:
            reversed_by[payment.reversal_entry_id] = payment

    by_entry: dict[int, list] = {}
    for row in postings:  # one line per entry, even if it posted twice to this loan
        if row.id in by_entry:
            by_entry[row.id][4] += row.amount
        else:
            by_entry[row.id] = [row.id, row.kind, row.memo, row.created_at, row.amount]
    lines, balance = [], ZERO
    for entry_id, kind, memo, created_at, amount in by_entry.values():
        balance += amount
        description, reference, note, allocations = _describe_loan_entry(loan, entry_id, kind, memo, amount,
                                                                         applied_by, reversed_by)
        lines.append(Movement(at=created_at, description=description, reference=reference,
                              debit=amount if amount > 0 else ZERO, credit=-amount if amount < 0 else ZERO,
                              balance=balance, allocations=allocations, note=note))
    return tuple(lines)


def _payment_reference(payment: Payment) -> str:
    return payment.receipt or f"#{payment.id}"


def _describe_loan_entry(loan: Loan, entry_id: int, kind: EntryKind, memo: str, amount: Decimal,
                         applied_by: dict[int, Payment], reversed_by: dict[int, Payment]):
    """(description, reference, note, allocations) of one entry on a loan's account."""
    if kind == EntryKind.DISBURSEMENT:
        fee = " and fee" if loan.fee_mode == FeeMode.ADDED and loan.fee_amount else ""
        return "Loan disbursed", loan.loan_number, f"Principal {loan.principal:,.2f} with its interest{fee}", ()
    if kind == EntryKind.REPAYMENT and entry_id in applied_by:
        payment = applied_by[entry_id]
        allocations = tuple(sorted((Allocation(a.installment.number, a.penalty, a.fee, a.interest, a.principal)
                                    for a in payment.allocations if a.entry_id == entry_id),
                                   key=lambda a: a.installment))
        to_savings = payment.amount + amount  # `amount` is the (negative) credit to the loan
        notes = [f"Received {payment.amount:,.2f}", f"{to_savings:,.2f} to savings"] if to_savings else []
        if payment.status == PaymentStatus.REVERSED or payment.reversal_entry_id:
            notes.append("reversed later")
        description = f"Payment ({SOURCE_LABELS.get(payment.source.value, payment.source.value)})"
        return description, _payment_reference(payment), "; ".join(notes), allocations
    if kind == EntryKind.REVERSAL and entry_id in reversed_by:
        payment = reversed_by[entry_id]
        return "Payment reversed", _payment_reference(payment), payment.reversal_reason or "", ()
    if kind == EntryKind.PENALTY:
        return "Late penalty", "", memo, ()
    if kind == EntryKind.WRITE_OFF:
        return "Written off", "", loan.write_off_reason or "", ()
    return kind.value.replace("_", " ").capitalize(), "", memo, ()


# --- customer account statement --------------------------------------------------------------------

def parse_period(start_raw: str | None, end_raw: str | None) -> tuple[date, date]:
    """The statement period, from YYYY-MM-DD strings, both days included; ValidationFailed names the field."""
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for name, raw, label in (("start", start_raw, "start"), ("end", end_raw, "end")):
        raw = (raw or "").strip()
        if not raw:
            errors[name] = [f"Give the {label} date (YYYY-MM-DD)."]
            continue
        try:
            if not ISO_DAY.fullmatch(raw):
                raise ValueError(raw)
            days[name] = date.fromisoformat(raw)
        except ValueError:
            errors[name] = [f"The {label} date must be a real date written YYYY-MM-DD, e.g. 2025-01-31."]
    if not errors:
        if days["start"] > days["end"]:
            errors["end"] = ["The end date must be on or after the start date."]
        elif days["end"] > business_day.today():
            errors["end"] = ["The end date cannot be in the future."]
    if errors:
        raise ValidationFailed(errors, "Check the statement period.")
    return days["start"], days["end"]


def customer_rows(customer: Customer, start: date, end: date) -> int:
    """How many table rows the customer's statement for the period has, counted without building it."""
    start_at, end_at = business_day.day_start(start), business_day.day_end(end)
    account = savings.existing_account(customer)
    movements = 0 if account is None else db.session.scalar(
        select(func.count()).select_from(Posting).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.deposit_account_id == account.id, Posting.gl == Gl.CUSTOMER_DEPOSITS,
               JournalEntry.created_at >= start_at, JournalEntry.created_at < end_at))
    repayments = db.session.scalar(select(func.count()).select_from(_repayments_in(customer, start_at, end_at)
                                                                    .subquery()))
    loan_count = db.session.scalar(select(func.count(func.distinct(Posting.loan_id)))
                                   .where(Posting.customer_id == customer.id, Posting.gl == Gl.LOANS_RECEIVABLE))
    return movements + repayments + loan_count


def _repayments_in(customer: Customer, start_at: datetime, end_at: datetime):
    return (select(Payment).where(Payment.customer_id == customer.id, Payment.loan_id.is_not(None),
                                  Payment.status != PaymentStatus.UNMATCHED,
                                  Payment.received_at >= start_at, Payment.received_at < end_at)
            .order_by(Payment.received_at, Payment.id))


def build_customer_statement(customer: Customer, start: date, end: date) -> CustomerStatement:
    """Gather a customer's statement for `start`..`end`, local days included (the caller checked visibility)."""
    start_at, end_at = business_day.day_start(start), business_day.day_end(end)
    account = savings.existing_account(customer)
    opening, movements = ZERO, ()
    if account is not None:
        opening, movements = _savings_movements(account, start_at, end_at)
    payments = db.session.scalars(_repayments_in(customer, start_at, end_at)
                                  .options(joinedload(Payment.loan))).all()
    repayments = tuple(RepaymentRow(
        received_at=p.received_at, loan_number=p.loan.loan_number, reference=_payment_reference(p),
        source=SOURCE_LABELS.get(p.source.value, p.source.value), amount=p.amount, to_savings=p.overpayment,
        status=p.status.value) for p in payments)
    return CustomerStatement(
        generated_at=utcnow(), customer_name=customer.name, customer_code=customer.customer_code,
        account_number=customer.account_number, customer_phone=customer.phone, start=start, end=end,
        opening_balance=opening, closing_balance=movements[-1].balance if movements else opening,
        money_in=sum((m.credit for m in movements), ZERO), money_out=sum((m.debit for m in movements), ZERO),
        movements=movements, repayments=repayments,
        repaid=sum((r.amount for r in repayments if r.status == PaymentStatus.APPLIED.value), ZERO),
        loans=_loan_positions(customer, start_at, end_at))


def _savings_movements(account: DepositAccount, start_at: datetime, end_at: datetime):
    """(opening balance, movements) of a deposit account over [start_at, end_at), from its postings."""
    in_account = (Posting.deposit_account_id == account.id, Posting.gl == Gl.CUSTOMER_DEPOSITS)
    opening = -db.session.scalar(
        select(type_coerce(func.coalesce(func.sum(Posting.amount), 0), Money))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(*in_account, JournalEntry.created_at < start_at))
    rows = db.session.execute(
        select(Posting.amount, JournalEntry.id, JournalEntry.kind, JournalEntry.memo, JournalEntry.created_at)
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(*in_account, JournalEntry.created_at >= start_at, JournalEntry.created_at < end_at)
        .order_by(JournalEntry.created_at, JournalEntry.id, Posting.id)).all()
    entry_ids = {row.id for row in rows}
    records = {t.entry_id: t for t in db.session.scalars(select(Transaction)
                                                         .where(Transaction.entry_id.in_(entry_ids)))} \
        if entry_ids else {}
    loan_ids = {t.loan_id for t in records.values() if t.loan_id}
    loan_numbers = dict(db.session.execute(select(Loan.id, Loan.loan_number).where(Loan.id.in_(loan_ids)))
                        .all()) if loan_ids else {}
    balance, lines = opening, []
    for row in rows:
        balance -= row.amount  # a credit (negative posting) to a deposit raises its balance
        record = records.get(row.id)
        loan_number = loan_numbers.get(record.loan_id, "") if record else ""
        lines.append(Movement(at=row.created_at, description=_describe_savings(row.kind, row.amount, row.memo,
                                                                               record, loan_number),
                              reference=record.code if record else "",
                              debit=row.amount if row.amount > 0 else ZERO,
                              credit=-row.amount if row.amount < 0 else ZERO, balance=balance))
    return opening, tuple(lines)


def _describe_savings(kind: EntryKind, amount: Decimal, memo: str, record: Transaction | None,
                      loan_number: str) -> str:
    source = SOURCE_LABELS.get(record.source, record.source) if record and record.source else ""
    if kind == EntryKind.DEPOSIT:
        return f"Deposit ({source})" if source and source != "account" else "Deposit"
    if kind == EntryKind.WITHDRAWAL:
        return "Withdrawal"
    if kind == EntryKind.DISBURSEMENT:
        return f"Loan {loan_number} paid out to savings".replace("  ", " ")
    if kind == EntryKind.REPAYMENT:
        return f"Paid to loan {loan_number} from savings" if amount > 0 else f"Overpayment on loan {loan_number}"
    if kind == EntryKind.REVERSAL:
        return f"Reversal: {memo}"
    return memo or kind.value


def _loan_positions(customer: Customer, start_at: datetime, end_at: datetime) -> tuple[LoanPosition, ...]:
    """The customer's loans open during the period: what was owed when it opened and when it closed."""
    def owed_before(moment: datetime):
        return type_coerce(func.sum(case((JournalEntry.created_at < moment, Posting.amount), else_=0)), Money)

    moved = func.sum(case((JournalEntry.created_at >= start_at, 1), else_=0))
    rows = db.session.execute(
        select(Loan.loan_number, Loan.status, owed_before(start_at), owed_before(end_at), moved)
        .select_from(Posting).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .join(Loan, Loan.id == Posting.loan_id)
        .where(Posting.customer_id == customer.id, Posting.gl == Gl.LOANS_RECEIVABLE,
               JournalEntry.created_at < end_at)
        .group_by(Loan.id, Loan.loan_number, Loan.status).order_by(Loan.id)).all()
    return tuple(LoanPosition(number, status.value, opening, closing)
                 for number, status, opening, closing, movements in rows if opening or closing or movements)


# --- rendering -----------------------------------------------------------------------------------

def asset(path: str) -> str:
    """The URL a PDF template gives WeasyPrint for a file under portal/static."""
    return STATIC_SCHEME + path.lstrip("/")


class RefusedURL(ValueError):
    """WeasyPrint asked for something other than one of the app's own static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serve `mkopo-static:` URLs from portal/static on disk; refuse every other URL.

    No http(s) (a template or a customer's data naming a URL would make the server fetch it),
    no file: (the server's own files), no data:, no path that leaves portal/static. What it
    refused is kept in `refused` (and logged); WeasyPrint renders on without it.
    """

    def __init__(self):
        super().__init__(allowed_protocols=())  # belt and braces: urllib is never reached
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            path = static_path(url)
        except RefusedURL:
            self.refused.append(url)
            log.warning("statement: refused to fetch %.200s", url)
            raise
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})


def static_path(url: str) -> Path:
    """The file under portal/static that a `mkopo-static:` URL names, or RefusedURL."""
    if not isinstance(url, str) or not url.startswith(STATIC_SCHEME):
        raise RefusedURL(f"only the app's own static files may be fetched, not {url[:200]!r}")
    relative = unquote(url[len(STATIC_SCHEME):].split("?", 1)[0].split("#", 1)[0])
    parts = relative.replace("\\", "/").split("/")
    if not relative or relative.startswith("/") or "\x00" in relative or any(p in ("", ".", "..") for p in parts):
        raise RefusedURL(f"not a plain path under static/: {url[:200]!r}")
    root = STATIC_ROOT.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix.lower() not in ASSET_SUFFIXES:
        raise RefusedURL(f"no such static asset: {url[:200]!r}")
    return path


class _LayoutProgress(logging.Handler):
    """Turns WeasyPrint's per-page progress lines (this thread's only) into the job's percentages."""

    def __init__(self, progress: jobs.Progress, pages: int, low: int, high: int):
        super().__init__(logging.INFO)
        self.progress, self.pages, self.low, self.high = progress, max(1, pages), low, high
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread or not str(record.msg).startswith("Step 5"):
            return
        page = record.args[0] if record.args else 1
        share = min(1.0, page / self.pages)
        self.progress(self.low + int((self.high - self.low) * share), f"Laying out page {page}…")


@contextmanager
def _reporting_layout(progress: jobs.Progress | None, pages: int, low: int, high: int) -> Iterator[None]:
    if progress is None:
        yield
        return
    handler = _LayoutProgress(progress, pages, low, high)
    PROGRESS_LOGGER.setLevel(logging.INFO)
    PROGRESS_LOGGER.propagate = False  # WeasyPrint's step-by-step lines are for us, not the server log
    PROGRESS_LOGGER.addHandler(handler)
    try:
        yield
    finally:
        PROGRESS_LOGGER.removeHandler(handler)


def render_pdf(template: str, *, progress: jobs.Progress | None = None, rows: int = 0, **context) -> bytes:
    """Render a template of templates/pdf/ to PDF bytes; only static files are fetched."""
    html = render_template(template, asset=asset, **context)
    if progress:
        progress(20, "Laying out the pages…")
    with _reporting_layout(progress, rows // ROWS_PER_PAGE + 1, 20, 90):
        document = HTML(string=html, base_url=STATIC_SCHEME, url_fetcher=StaticOnlyFetcher()).render()
    if progress:
        progress(92, f"Writing {len(document.pages)} pages…")
    return document.write_pdf()


def render_loan(statement: LoanStatement, progress: jobs.Progress | None = None) -> bytes:
    return render_pdf("pdf/loan_statement.html", progress=progress, rows=statement.rows, s=statement)


def render_customer(statement: CustomerStatement, progress: jobs.Progress | None = None) -> bytes:
    return render_pdf("pdf/customer_statement.html", progress=progress, rows=statement.rows, s=statement)


# --- what the portal asks for ------------------------------------------------------------------------

def _inline_limit() -> int:
    return current_app.config["STATEMENT_INLINE_MAX_ROWS"]


def _loan_title(loan: Loan) -> str:
    return f"Loan statement {loan.loan_number}"


def _customer_title(customer: Customer, start: date, end: date) -> str:
    return f"Statement of {customer.name}, {start:%d %b %Y} to {end:%d %b %Y}"


def loan_statement(loan_id: int, *, actor: User) -> Rendered | Deferred:
    """The loan's statement as a PDF when it is short enough to render now, else Deferred (ask for a job)."""
    loan = loans.get_visible(loan_id, actor=actor)
    rows = loan_rows(loan)
    if rows > _inline_limit():
        return Deferred(_loan_title(loan), rows)
    statement = build_loan_statement(loan)
    return Rendered(render_loan(statement), statement.filename)


def queue_loan_statement(loan_id: int, *, actor: User) -> Job:
    """Ask for the loan's statement as a background job (commit, then `jobs.start` it)."""
    loan = loans.get_visible(loan_id, actor=actor)
    return jobs.submit("statement.loan", {"loan_id": loan.id, "title": _loan_title(loan)}, actor=actor)


def customer_statement(customer_id: int, start_raw: str | None, end_raw: str | None, *,
                       actor: User) -> Rendered | Deferred:
    """The customer's statement for the period as a PDF when short enough to render now, else Deferred."""
    customer = customers.get_visible(customer_id, actor=actor)
    start, end = parse_period(start_raw, end_raw)
    rows = customer_rows(customer, start, end)
    if rows > _inline_limit():
        return Deferred(_customer_title(customer, start, end), rows)
    statement = build_customer_statement(customer, start, end)
    return Rendered(render_customer(statement), statement.filename)


def queue_customer_statement(customer_id: int, start_raw: str | None, end_raw: str | None, *,
                             actor: User) -> Job:
    """Ask for the customer's statement for the period as a background job."""
    customer = customers.get_visible(customer_id, actor=actor)
    start, end = parse_period(start_raw, end_raw)
    return jobs.submit("statement.customer", {
        "customer_id": customer.id, "start": start.isoformat(), "end": end.isoformat(),
        "title": _customer_title(customer, start, end)}, actor=actor)


# --- the jobs ----------------------------------------------------------------------------------------

@jobs.handler("statement.loan")
def _loan_job(params: dict, *, actor: User, progress: jobs.Progress) -> jobs.JobResult:
    progress(5, "Gathering the loan's figures…")
    loan = loans.get_visible(int(params["loan_id"]), actor=actor)  # the owner may have lost access since
    statement = build_loan_statement(loan)
    progress(15, f"{statement.rows:,} rows gathered.")  # commits: no transaction stays open while rendering
    return jobs.JobResult(render_loan(statement, progress), statement.filename, PDF)


@jobs.handler("statement.customer")
def _customer_job(params: dict, *, actor: User, progress: jobs.Progress) -> jobs.JobResult:
    progress(5, "Gathering the account's movements…")
    try:
        customer = customers.get_visible(int(params["customer_id"]), actor=actor)
    except NotFound:
        raise NotFound("The customer no longer exists.") from None
    statement = build_customer_statement(customer, date.fromisoformat(params["start"]),
                                         date.fromisoformat(params["end"]))
    progress(15, f"{statement.rows:,} rows gathered.")
    return jobs.JobResult(render_customer(statement, progress), statement.filename, PDF)


