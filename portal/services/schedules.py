"""Repayment schedules: Decimal throughout, rounded half-up to the cent each period,
the last installment absorbing the remainder."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from portal.models import FeeMode, Frequency, InterestMethod
from portal.models.base import CENT
from portal.services.money import ZERO, to_money


@dataclass(frozen=True)
class ScheduleLine:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(start: date, frequency: Frequency, number: int) -> date:
    """The `number`th due date after `start` (the first is one period after it)."""
    if frequency == Frequency.MONTHLY:
        return add_months(start, number)
    days = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.FORTNIGHTLY: 14}[frequency]
    return start + timedelta(days=days * number)


def periodic_rate(annual_rate_percent: Decimal, frequency: Frequency) -> Decimal:
    return Decimal(annual_rate_percent) / Decimal(100) / frequency.periods_per_year


def build(principal: Decimal, annual_rate_percent: Decimal, term: int, frequency: Frequency,
          method: InterestMethod, start: date, fee: Decimal = ZERO,
          fee_mode: FeeMode = FeeMode.DEDUCTED) -> list[ScheduleLine]:
    """The installments of a loan disbursed on `start`. An added fee falls due with the first."""
    if term < 1:
        raise ValueError("a schedule needs at least one installment")
    principal = to_money(principal)
    rate = periodic_rate(annual_rate_percent, frequency)
    parts = _declining(principal, rate, term) if method == InterestMethod.DECLINING else _flat(principal, rate, term)
    added_fee = to_money(fee) if fee_mode == FeeMode.ADDED else ZERO
    return [ScheduleLine(n, due_date(start, frequency, n), p, i, added_fee if n == 1 else ZERO)
            for n, (p, i) in enumerate(parts, start=1)]


def even_share(total: Decimal, count: int) -> Decimal:
    """`total / count` rounded half-up to the cent, or down when rounding up would make
    `count - 1` shares exceed the total (so the last share, which takes the rest, is never negative)."""
    share = to_money(total / count)
    if share * (count - 1) > total:
        share = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return share


def _declining(principal: Decimal, rate: Decimal, term: int) -> list[tuple[Decimal, Decimal]]:
    if rate == 0:
        payment = even_share(principal, term)
    else:
        payment = to_money(principal * rate / (1 - (1 + rate) ** -term))
    balance, lines = principal, []
    for n in range(1, term + 1):
        interest = to_money(balance * rate)
        # Capped at the balance: for tiny loans rounding could otherwise repay more than is owed.
        part = balance if n == term else min(max(payment - interest, ZERO), balance)
        lines.append((part, interest))
        balance -= part
    return lines


def _flat(principal: Decimal, rate: Decimal, term: int) -> list[tuple[Decimal, Decimal]]:
    """Even principal and even interest shares; the last installment takes what rounding left."""
    total_interest = to_money(principal * rate * term)
    part, interest = even_share(principal, term), even_share(total_interest, term)
    lines = [(part, interest) for _ in range(term - 1)]
    lines.append((principal - part * (term - 1), total_interest - interest * (term - 1)))
    return lines


def fee_for(principal: Decimal, fee_type: str, fee_value: Decimal) -> Decimal:
    """A product's processing fee on `principal` (a fixed amount, or a percent of it)."""
    if fee_type == "percent":
        return to_money(Decimal(principal) * Decimal(fee_value) / 100)
    return to_money(fee_value)
