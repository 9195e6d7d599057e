"""Decimal money helpers: one quantizer, half-up to the cent."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from portal.models.base import CENT

ZERO = Decimal("0.00")
# Far below what integer cents can hold, far above any loan or deposit: a typo, not money.
MAX_AMOUNT = Decimal("1000000000000.00")


def to_money(value) -> Decimal:
    """Round a Decimal (or int, or numeric string) half-up to the cent. Floats are refused."""
    if isinstance(value, float | bool):
        raise TypeError("money must be Decimal, int or str, never float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(raw, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """An amount typed by a person: positive, at most two decimals, else ValueError with a message."""
    try:
        value = Decimal(str(raw).strip().replace(",", "")) if not isinstance(raw, Decimal) else raw
    except (InvalidOperation, ValueError):
        raise ValueError(f"Enter the {field} as a number, e.g. 1500 or 1500.50.") from None
    if not value.is_finite():
        raise ValueError(f"Enter the {field} as a number, e.g. 1500 or 1500.50.")
    if value != value.quantize(CENT):
        raise ValueError(f"The {field} can have at most two decimal places.")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"The {field} must be more than zero.")
    if value > MAX_AMOUNT:
        raise ValueError(f"The {field} is too large (at most {MAX_AMOUNT:,.2f}).")
    return value.quantize(CENT)
