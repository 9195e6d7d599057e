"""Promises to pay: settled from the payments that arrive on the loan after the promise was made."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select, update

from portal.models import Interaction, Payment, PaymentStatus, PromiseStatus
from portal.models.base import db, utcnow
from portal.services.business_day import day_end


@dataclass
class Settled:
    kept: int = 0
    partially_kept: int = 0
    broken: int = 0
    kept_early: int = 0


def _paid_since_promise(until) -> "select":
    """What was paid on the promise's loan from the moment it was made until `until` (cents, in SQL)."""
    return (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.loan_id == Interaction.loan_id, Payment.status == PaymentStatus.APPLIED,
                   Payment.received_at >= Interaction.created_at, Payment.received_at < until)
            .scalar_subquery())


def evaluate(on: date) -> Settled:
    """Settle pending promises as of the business day `on`.

    A promise whose date has passed is kept when payments covering it arrived by the end of its
    day, partially kept when some did, broken when none did. A promise not yet due is marked kept
    as soon as it is covered, so it leaves the agents' queues early. Set-based: one UPDATE per
    distinct promise date that passed (normally one: yesterday) and one for the early ones.
    """
    pending = (Interaction.promise_status == PromiseStatus.PENDING, Interaction.deleted_at.is_(None))
    due_dates = db.session.scalars(select(Interaction.promise_date).distinct()
                                   .where(*pending, Interaction.promise_date < on)).all()
    for due in due_dates:
        paid = _paid_since_promise(day_end(due))
        db.session.execute(
            update(Interaction).where(*pending, Interaction.promise_date == due)
            .values(promise_paid=paid,
                    promise_status=case((paid >= Interaction.promise_amount, PromiseStatus.KEPT.value),
                                        (paid > 0, PromiseStatus.PARTIALLY_KEPT.value),
                                        else_=PromiseStatus.BROKEN.value))
            .execution_options(synchronize_session=False))
    paid = _paid_since_promise(utcnow())
    early = db.session.execute(
        update(Interaction).where(*pending, Interaction.promise_date >= on, paid >= Interaction.promise_amount)
        .values(promise_paid=paid, promise_status=PromiseStatus.KEPT.value)
        .execution_options(synchronize_session=False))
    db.session.expire_all()
    counts = dict(db.session.execute(
        select(Interaction.promise_status, func.count())
        .where(Interaction.promise_date.in_(due_dates), Interaction.deleted_at.is_(None),
               Interaction.promise_status != PromiseStatus.PENDING)
        .group_by(Interaction.promise_status)).all()) if due_dates else {}
    return Settled(kept=counts.get(PromiseStatus.KEPT, 0), partially_kept=counts.get(PromiseStatus.PARTIALLY_KEPT, 0),
                   broken=counts.get(PromiseStatus.BROKEN, 0), kept_early=early.rowcount)
