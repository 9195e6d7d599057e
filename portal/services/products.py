"""Loan products: the terms loans are offered on."""

from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from portal.models import FeeMode, FeeType, Frequency, InterestMethod, Loan, LoanProduct, User
from portal.models.base import db
from portal.services import audit, permissions
from portal.services.errors import Conflict, NotFound, ValidationFailed
from portal.services.money import parse_amount

FIELDS = ("name", "interest_method", "annual_rate", "frequency", "term_periods", "min_principal",
          "max_principal", "fee_type", "fee_value", "fee_mode", "penalty_rate", "grace_days", "active")
ENUMS = {"interest_method": InterestMethod, "frequency": Frequency, "fee_type": FeeType, "fee_mode": FeeMode}


def _rate(raw, field: str, limit: Decimal) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ValueError(f"Enter the {field} as a number.") from None
    if not value.is_finite() or value < 0 or value > limit:
        raise ValueError(f"The {field} must be between 0 and {limit}.")
    return value


def _clean(values: dict, *, partial: bool, product: LoanProduct | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    out: dict = {}
    for key in FIELDS:
        if key not in values:
            continue
        raw = values[key]
        try:
            if key in ENUMS:
                out[key] = ENUMS[key](raw)
            elif key == "name":
                out[key] = (raw or "").strip()
                if not 2 <= len(out[key]) <= 120:
                    raise ValueError("Give the product a name of 2 to 120 characters.")
            elif key in ("annual_rate", "penalty_rate"):
                out[key] = _rate(raw, key.replace("_", " "), Decimal(1000))
            elif key == "fee_value":
                out[key] = _rate(raw, "fee", Decimal(10**9))
            elif key in ("min_principal", "max_principal"):
                out[key] = parse_amount(raw, field=key.replace("_", " "))
            elif key in ("term_periods", "grace_days"):
                out[key] = int(raw)
                if out[key] < (1 if key == "term_periods" else 0) or out[key] > 3650:
                    raise ValueError("Out of range.")
            else:
                out[key] = bool(raw)
        except (ValueError, TypeError) as exc:
            choices = ENUMS.get(key)
            errors[key] = [f"Choose one of: {', '.join(m.value for m in choices)}."] if choices else [str(exc)]
    if not partial:
        for key in ("name", "interest_method", "annual_rate", "frequency", "term_periods", "min_principal",
                    "max_principal"):
            if key not in values and key not in errors:
                errors[key] = ["This field is required."]
    merged = {k: getattr(product, k) for k in FIELDS} if product else {}
    merged.update(out)
    if not errors and merged.get("min_principal") and merged.get("max_principal") \
            and merged["min_principal"] > merged["max_principal"]:
        errors["max_principal"] = ["The maximum must not be below the minimum."]
    if not errors and merged.get("fee_type") == FeeType.PERCENT and merged.get("fee_value", 0) > 100:
        errors["fee_value"] = ["A percentage fee must be at most 100."]
    if "name" in out and "name" not in errors:
        stmt = select(LoanProduct.id).where(func.lower(LoanProduct.name) == out["name"].lower())
        if product is not None:
            stmt = stmt.where(LoanProduct.id != product.id)
        if db.session.scalar(stmt):
            errors["name"] = ["Another product has this name."]
    if errors:
        raise ValidationFailed(errors)
    return out


def create(values: dict, *, actor: User) -> LoanProduct:
    permissions.require(actor, "product.manage")
    product = LoanProduct(**_clean(values, partial=False))
    db.session.add(product)
    db.session.flush()
    audit.record(actor, "product.create", "loan_product", product.id, after=audit.snapshot(product))
    return product


def update(product: LoanProduct, changes: dict, *, actor: User) -> LoanProduct:
    """Change a product; loans already made keep the terms they were made on."""
    permissions.require(actor, "product.manage")
    before = audit.snapshot(product)
    for key, value in _clean(changes, partial=True, product=product).items():
        setattr(product, key, value)
    db.session.flush()
    audit.record(actor, "product.update", "loan_product", product.id, before=before, after=audit.snapshot(product))
    return product


def delete(product: LoanProduct, *, actor: User) -> None:
    permissions.require(actor, "product.manage")
    if db.session.scalar(select(Loan.id).where(Loan.product_id == product.id).limit(1)):
        raise Conflict("Loans use this product: archive it instead (set it inactive).")
    before = audit.snapshot(product)
    db.session.delete(product)
    db.session.flush()
    audit.record(actor, "product.delete", "loan_product", before["id"], before=before)


def get(product_id: int, *, actor: User) -> LoanProduct:
    permissions.require(actor, "product.view")
    product = db.session.get(LoanProduct, product_id)
    if product is None:
        raise NotFound("Loan product not found.")
    return product


def listing(*, actor: User, active_only: bool = False) -> list[LoanProduct]:
    permissions.require(actor, "product.view")
    stmt = select(LoanProduct).order_by(LoanProduct.name)
    if active_only or actor.role.value == "borrower":
        stmt = stmt.where(LoanProduct.active.is_(True))
    return list(db.session.scalars(stmt))
