"""M-Pesa payment notifications: written down and answered at once, booked right after.

001's webhook, Daraja's C2B confirmations and STK callbacks all come in here. `accept` is one INSERT:
the receipt's unique index makes a repeat delivery a no-op (however concurrent), and the caller answers
as soon as it commits. Booking — matching, allocation, the ledger (`repayments.receive_mpesa`) — runs
once that commit is done: with JOB_BACKEND ``eager`` (tests) in the request's own session; otherwise by
the booker MPESA_BOOKER names, a thread in each web process (``thread``) or a process of its own,
`flask payments book --follow` (``process``: web workers then only accept). A booker books whatever
waits, many receipts per transaction; the thread also looks for stragglers every BOOKER_SWEEP_SECONDS
(a process that died between the two).

Why not book inside the request: Daraja does not retry a confirmation that failed or timed out, so the
notification is kept before anything that could fail is tried; and the caller's answer does not wait
for a dozen writes. A receipt whose booking raised stays on record as failed, with why, and
`flask payments book --retry-failed` tries it again; nothing that arrived is ever dropped.
"""

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app
from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.background import per_process
from portal.models import MpesaReceipt, Payment, ReceiptStatus, User
from portal.models.base import db, reading, utcnow
from portal.services import audit, permissions, repayments
from portal.services.errors import Conflict, DomainError

log = logging.getLogger("mkopo.mpesa")

BATCH = 100  # receipts per booking transaction: short enough not to hold SQLite's write lock for long
# Between two full batches on SQLite the booker lets go of the write lock this long: SQLite does not hand
# it to a waiting writer (a web worker accepting a receipt sleeps and retries), and a backlog booked back
# to back would starve the workers past their busy timeout.
SQLITE_WRITER_GAP_SECONDS = 0.05
BOOKER_SWEEP_SECONDS = 30
_WAITING = "mpesa_receipts_waiting"  # session.info flag: this transaction accepted a receipt


@dataclass
class Accepted:
    """What the caller answers with: the receipt as recorded, and whether this delivery recorded it."""

    receipt: str
    amount: Decimal
    status: ReceiptStatus
    payment: Payment | None
    created: bool


_RECEIPTS = MpesaReceipt.__table__


def _insert_unless_taken(dialect):
    return (dialect.insert(_RECEIPTS).on_conflict_do_nothing(index_elements=[_RECEIPTS.c.receipt])
            .returning(_RECEIPTS.c.id))


_INSERT = {"postgresql": _insert_unless_taken(postgresql), "sqlite": _insert_unless_taken(sqlite)}


def accept(*, receipt: str, amount, phone: str | None = None, reference: str | None = None) -> Accepted:
    """Record a payment notification, to be booked once the caller commits; a receipt seen before
    is answered with what became of it."""
    code = repayments.receipt_code(receipt)
    value = repayments.payment_amount(amount)
    conn = db.session.connection()
    inserted = conn.execute(_INSERT[conn.dialect.name], {
        "receipt": code, "amount": value, "phone": phone or None, "account_reference": reference or None,
        "status": ReceiptStatus.PENDING, "received_at": utcnow()}).scalar()
    if inserted is not None:
        db.session.info[_WAITING] = True
        return Accepted(code, value, ReceiptStatus.PENDING, None, True)
    seen = db.session.scalars(select(MpesaReceipt).where(MpesaReceipt.receipt == code)).one()
    return Accepted(seen.receipt, seen.amount, seen.status, seen.payment, False)


_MARK = (update(_RECEIPTS).where(_RECEIPTS.c.id == bindparam("row_id"))
         .values(status=bindparam("status"), payment_id=bindparam("payment_id"), error=bindparam("error"),
                 booked_at=bindparam("booked_at")))


def book_pending(*, retry_failed: bool = False) -> int:
    """Book the receipts waiting, oldest first, BATCH per committed transaction, until a batch comes up
    short (what arrives meanwhile is the next call's); how many were tried.

    A batch books together (`repayments.receive_mpesa_many`: a fixed number of statements for those that
    pay loans). Should it raise, nothing of it was written, and its receipts book one at a time: one that
    raises again is marked failed with why, and the rest still book. Two bookers never take the same
    receipt: on PostgreSQL they skip each other's locked rows, on SQLite the write lock takes turns."""
    wanted = [ReceiptStatus.PENDING, ReceiptStatus.FAILED] if retry_failed else [ReceiptStatus.PENDING]
    tried, last_id = 0, 0
    while True:
        batch = db.session.execute(
            select(_RECEIPTS.c.id, _RECEIPTS.c.receipt, _RECEIPTS.c.amount, _RECEIPTS.c.phone,
                   _RECEIPTS.c.account_reference)
            .where(_RECEIPTS.c.status.in_(wanted), _RECEIPTS.c.id > last_id)
            .order_by(_RECEIPTS.c.id).limit(BATCH).with_for_update(skip_locked=True)).all()
        if batch:
            try:
                booked = repayments.receive_mpesa_many([_delivery(row) for row in batch])
                marks = [_mark(row, ReceiptStatus.BOOKED, payment_id=receipt.payment_id)
                         for row, receipt in zip(batch, booked, strict=True)]
            except Exception:  # one of them cannot be booked (nothing of the batch was): find which, one by one
                marks = [_book(row) for row in batch]
            db.session.connection().execute(_MARK, marks)
        db.session.commit()
        tried += len(batch)
        if len(batch) < BATCH:
            return tried
        last_id = batch[-1].id  # a receipt that failed again is not retried within this call
        if db.session.get_bind().dialect.name == "sqlite":
            time.sleep(SQLITE_WRITER_GAP_SECONDS)


def _delivery(row) -> repayments.Delivery:
    return repayments.Delivery(row.receipt, row.amount, row.phone, row.account_reference)


def _mark(row, status: ReceiptStatus, *, payment_id: int | None = None, error: str | None = None) -> dict:
    return {"row_id": row.id, "status": status, "payment_id": payment_id, "error": error,
            "booked_at": utcnow() if status == ReceiptStatus.BOOKED else None}


def _book(row) -> dict:
    """Book one receipt; how to mark it, failed with why if it raised."""
    try:
        booked, = repayments.receive_mpesa_many([_delivery(row)])
    except DomainError as exc:
        return _mark(row, ReceiptStatus.FAILED, error=str(exc)[:300])
    except Exception:
        log.exception("M-Pesa receipt %s could not be booked", row.receipt)
        return _mark(row, ReceiptStatus.FAILED, error="Booking failed unexpectedly; the error log has the details.")
    return _mark(row, ReceiptStatus.BOOKED, payment_id=booked.payment_id)


@dataclass
class Backlog:
    """The receipts waiting to be booked: how many, since when the oldest, and whether booking has
    stopped (the oldest has waited well past what the booker lets wait, and a long pass besides: with
    MPESA_BOOKER=process, is the booker running?)."""

    waiting: int
    oldest: datetime | None
    stalled: bool


STALL_SECONDS = 60  # at least; or three times MPESA_BOOKER_MAX_WAIT


def backlog() -> Backlog:
    """The booking backlog, in one query (for the reconciliation page and /health)."""
    waiting, oldest = db.session.execute(select(func.count(), func.min(_RECEIPTS.c.received_at))
                                         .where(_RECEIPTS.c.status == ReceiptStatus.PENDING)).one()
    patience = max(STALL_SECONDS, 3 * current_app.config["MPESA_BOOKER_MAX_WAIT"])
    return Backlog(waiting, oldest, oldest is not None and (utcnow() - oldest).total_seconds() > patience)


def failed(actor: User) -> Select:
    """A SELECT of the receipts whose booking failed, oldest first (for the reconciliation page)."""
    permissions.require(actor, "repayment.reconcile")
    return select(MpesaReceipt).where(MpesaReceipt.status == ReceiptStatus.FAILED).order_by(MpesaReceipt.id)


def retry(receipt: MpesaReceipt, *, actor: User) -> MpesaReceipt:
    """Book a failed receipt again (once whatever refused it is fixed); it stays failed, with the new
    reason, if it is refused again."""
    permissions.require(actor, "repayment.reconcile")
    if receipt.status != ReceiptStatus.FAILED:
        raise Conflict(f"Receipt {receipt.receipt} is {receipt.status.value}: only failed receipts are retried.")
    db.session.connection().execute(_MARK, [_book(receipt)])
    db.session.refresh(receipt)
    audit.record(actor, "mpesa_receipt.retry", "mpesa_receipt", receipt.id,
                 after={"receipt": receipt.receipt, "status": receipt.status.value})
    return receipt


def book_soon() -> None:
    """Have what this process's committed transactions accepted booked: now (eager), or by the booker
    thread (a booker process polls for it)."""
    if current_app.config["JOB_BACKEND"] == "eager":
        book_pending()
    elif current_app.config["MPESA_BOOKER"] == "thread":
        _booker(current_app._get_current_object()).wake.set()


def follow(*, interval: float = 0.2) -> None:
    """Book as receipts arrive, until stopped: the booker process (MPESA_BOOKER=process), paced by `Lulls`
    and looking every `interval`; under load receipts then book in batches (a fixed number of statements
    each) rather than a few at a time, for the same CPU as one. A pass that fails (the database busy or
    restarting) is logged and the next look tries again: the process outlives it."""
    lulls = Lulls(current_app.config["MPESA_BOOKER_MAX_WAIT"], time.monotonic())
    while True:
        try:
            reading()
            newest = db.session.scalar(select(func.max(_RECEIPTS.c.id))
                                       .where(_RECEIPTS.c.status == ReceiptStatus.PENDING))
            db.session.commit()
            if lulls.due(newest, time.monotonic()):
                book_pending()
                lulls.booked(time.monotonic())
        except Exception:  # nothing above this process would report it
            log.exception("M-Pesa booker: booking pass failed")
            db.session.rollback()
        time.sleep(interval)


class Lulls:
    """When the booker process books: in a lull (no receipt arrived since the last look), or once receipts
    have kept coming for `max_wait` seconds since it last booked.

    Answering M-Pesa comes first: it gives up on a slow answer, and booking alongside takes the CPU (on
    SQLite, the one write lock) the answers need. A rush is answered at full speed and booked right after;
    one that goes on is booked every `max_wait` seconds, BATCH receipts a transaction, in turn with the
    answers."""

    def __init__(self, max_wait: float, now: float):
        self.max_wait = max_wait
        self.seen: int | None = None  # the newest receipt at the last look
        self.booked_at = now

    def due(self, newest: int | None, now: float) -> bool:
        """Whether to book now, `newest` being the newest waiting receipt's id (None: none waits)."""
        if newest is None:  # nothing to book is as good as booked: the next arrival waits for a lull
            self.seen, self.booked_at = None, now
            return False
        due = newest == self.seen or now - self.booked_at >= self.max_wait
        self.seen = newest
        return due

    def booked(self, now: float) -> None:
        """A pass has ended: the wait starts again from its end, however long it took."""
        self.booked_at = now


class _Booker:
    """One thread per web process: books when woken, and sweeps now and then for stragglers. It holds its
    application weakly and ends once that is gone (a test suite makes many)."""

    def __init__(self, app: Flask):
        self.app = weakref.ref(app)
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="mkopo-mpesa-booker", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self.wake.wait(BOOKER_SWEEP_SECONDS)
            self.wake.clear()
            if not self._book():
                return

    def _book(self) -> bool:
        """A booking pass; False once the application is gone."""
        app = self.app()
        if app is None:
            return False
        with app.app_context():
            try:
                book_pending()
            except Exception:  # nothing above this thread would report it; the next wake retries
                log.exception("M-Pesa booker: booking pass failed")
        return True


def _booker(app: Flask) -> _Booker:
    return per_process(app, "mkopo.mpesa_booker", _Booker)


def init_app(app: Flask) -> None:
    """Book after every request whose transaction accepted a receipt (its commit is done by teardown)."""

    @app.teardown_request
    def book_accepted(exc):
        if db.session.info.pop(_WAITING, False) and exc is None:
            book_soon()
