"""What an application would mean before it is sent: its schedule, and why it might be refused.

The terms and the limits are the ones `loans.apply` uses (loans.terms_for, loans.principal_limits);
the schedule is the one `loans.disburse` would fix (schedules.build), as if paid out today.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.models import Customer, FeeMode, Frequency, InterestMethod, Loan, LoanProduct, LoanStatus, User
from portal.models.base import db
from portal.services import business_day, customers, loans, permissions, schedules
from portal.services.errors import ValidationFailed
from portal.services.money import ZERO, parse_amount


@dataclass
class Quote:
    """A schedule and what it adds up to, for terms not yet (or just) paid out."""

    principal: Decimal
    annual_rate: Decimal
    interest_method: InterestMethod
    frequency: Frequency
    term_periods: int
    fee: Decimal
    fee_mode: FeeMode
    lines: list[schedules.ScheduleLine]

    @property
    def installment(self) -> Decimal:
        """The regular installment (the first one, without an added fee)."""
        first = self.lines[0]
        return first.principal + first.interest

    @property
    def total_interest(self) -> Decimal:
        return sum((line.interest for line in self.lines), ZERO)

    @property
    def total_repayable(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)

    @property
    def borrower_receives(self) -> Decimal:
        """A deducted fee comes out of what is paid out; an added one is repaid with the first installment."""
        return self.principal - (self.fee if self.fee_mode == FeeMode.DEDUCTED else ZERO)


def quote(terms, start: date) -> Quote:
    """The schedule of `terms` (a loans.Terms, or a Loan) paid out on `start`."""
    lines = schedules.build(terms.principal, terms.annual_rate, terms.term_periods, terms.frequency,
                            terms.interest_method, start, terms.fee_amount, terms.fee_mode)
    return Quote(terms.principal, terms.annual_rate, terms.interest_method, terms.frequency, terms.term_periods,
                 terms.fee_amount, terms.fee_mode, lines)


@dataclass
class Preview:
    """A schedule when the terms can be read, the input errors when not, and the warnings either way."""

    quote: Quote | None
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)  # "range", "kyc", "arrears"
    kyc_ceiling: Decimal | None = None  # the most the customer's KYC level lets them borrow (None: no ceiling)


def loans_in_arrears(customer: Customer, on: date) -> list[Loan]:
    """The customer's active loans with an installment unpaid past its due date."""
    return list(db.session.scalars(
        select(Loan).where(Loan.customer_id == customer.id, Loan.status == LoanStatus.DISBURSED,
                           Loan.oldest_unpaid_due < on).order_by(Loan.oldest_unpaid_due, Loan.id)))


def eligibility(customer: Customer, principal: Decimal | None, product, *, on: date) -> dict[str, str]:
    """Warnings to read before applying: amount outside the product's range, above the KYC ceiling,
    other loans of the customer in arrears."""
    warnings = dict(loans.principal_limits(principal, product, customer)) if principal is not None else {}
    late = loans_in_arrears(customer, on)
    if late:
        worst = max(loan.days_past_due_on(on) for loan in late)
        numbers = ", ".join(loan.loan_number for loan in late)
        warnings["arrears"] = (f"{customer.name} has {len(late)} loan{'s' if len(late) != 1 else ''} in arrears "
                               f"({numbers}; up to {worst} days late).")
    return warnings


def preview(customer: Customer, values: dict, *, actor: User) -> Preview:
    """The schedule and warnings of an application for `customer` with `values` (product_id, principal,
    term_periods; a blank term takes the product's)."""
    permissions.require(actor, "loan.apply")
    customers.ensure_visible(customer, actor)
    on, ceiling = business_day.today(), loans.kyc_ceiling(customer)
    values = {k: v for k, v in values.items() if v not in (None, "")}
    try:
        product_id = int(values["product_id"])
    except (KeyError, TypeError, ValueError):
        return Preview(None, {"product_id": ["Choose a loan product."]}, eligibility(customer, None, None, on=on),
                       ceiling)
    product = db.session.get(LoanProduct, product_id)
    try:
        terms = loans.terms_for({**values, "product_id": product_id}, customer, check_limits=False)
    except ValidationFailed as exc:
        try:  # a readable amount is still worth judging while the term is being typed
            principal = parse_amount(values.get("principal")) if "principal" not in exc.errors else None
        except ValueError:
            principal = None
        return Preview(None, exc.errors, eligibility(customer, principal, product, on=on), ceiling)
    return Preview(quote(terms, on), {}, eligibility(customer, terms.principal, product, on=on), ceiling)
