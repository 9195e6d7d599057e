"""KYC: identity documents sent for review, the review queue and its flags, the decision (a tier and the
documents accepted, or a reason), and the tier a large loan needs before it is paid out.

A customer has at most one pending submission; documents uploaded for KYC join it. The queue runs a fixed
number of queries per page whatever its length: the page, its documents, and two look-ups for the flags.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from portal.models import (
    Customer,
    CustomerDocument,
    DocumentKind,
    DocumentStatus,
    KycLevel,
    KycStatus,
    KycSubmission,
    KycSubmissionStatus,
    Loan,
    Role,
    User,
)
from portal.models.base import db, utcnow
from portal.services import audit, business_day, customers, documents, notifier, permissions
from portal.services.errors import Conflict, NotFound, ValidationFailed
from portal.services.pagination import MAX_PER_PAGE, Page, paginate

TIERS = (KycLevel.TIER_1, KycLevel.TIER_2, KycLevel.TIER_3)
PER_PAGE = 25
REASON_LIMIT, NOTES_LIMIT = 500, 2000
NOT_CHOSEN = "Not accepted at KYC review."


# --- submitting -----------------------------------------------------------------------------------------------


def pending_submission(customer: Customer) -> KycSubmission | None:
    return db.session.scalars(select(KycSubmission).where(KycSubmission.customer_id == customer.id,
                                                          KycSubmission.status == KycSubmissionStatus.PENDING)
                              .limit(1)).first()


def upload(customer: Customer, *, doc_type: str | None, filename: str | None, content: BinaryIO | None,
           document_number=None, issue_date=None, expiry_date=None, actor: User,
           submit_now: bool = False) -> CustomerDocument:
    """Keep a KYC document (identity and tax documents must give their number); with `submit_now` it joins
    the customer's pending submission at once (opening one), as 002's upload does."""
    permissions.require(actor, "kyc.submit")
    document = documents.upload(customer, doc_type=doc_type, filename=filename, content=content, actor=actor,
                                document_number=document_number, issue_date=issue_date, expiry_date=expiry_date,
                                number_required=True)
    if submit_now:
        submit(customer, actor=actor)
    return document


def unsubmitted(customer: Customer) -> list[CustomerDocument]:
    """Documents still waiting to be sent for review."""
    return list(db.session.scalars(select(CustomerDocument).where(
        CustomerDocument.customer_id == customer.id, CustomerDocument.status == DocumentStatus.PENDING,
        CustomerDocument.submission_id.is_(None)).order_by(CustomerDocument.id)))


def submit(customer: Customer, *, actor: User) -> KycSubmission:
    """Send the customer's unsubmitted documents for review: they join the pending submission, or open one
    (the customer's KYC status becomes pending). Staff for a customer they may see; a borrower for themselves."""
    permissions.require(actor, "kyc.submit")
    customers.ensure_visible(customer, actor)
    # One pending submission per customer: two submits at once queue behind this row lock (PostgreSQL).
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    loose = unsubmitted(customer)
    submission = pending_submission(customer)
    if submission is None and not loose:
        raise ValidationFailed({"documents": ["Upload at least one document before sending them for review."]})
    if not loose:
        return submission
    opened = submission is None
    if opened:
        submission = KycSubmission(customer_id=customer.id, submitted_by_id=actor.id)
        db.session.add(submission)
        db.session.flush()
    for document in loose:
        document.submission_id = submission.id
    before = customer.kyc_status
    customer.kyc_status = KycStatus.PENDING
    db.session.flush()
    audit.record(actor, "kyc.submit", "kyc_submission", submission.id,
                 before={"kyc_status": before.value},
                 after={"customer_id": customer.id, "opened": opened, "kyc_status": KycStatus.PENDING.value,
                        "documents": [d.id for d in loose]})
    return submission


# --- the queue and its flags ----------------------------------------------------------------------------------


@dataclass
class Flag:
    code: str                # duplicate_number, duplicate_national_id, id_mismatch, expired
    message: str
    document_id: int | None = None
    others: list[tuple[int, str]] = field(default_factory=list)  # (id, customer code) of the other customers


@dataclass
class Review:
    """A pending submission with what a reviewer needs beside it."""

    submission: KycSubmission
    flags: list[Flag]

    @property
    def customer(self) -> Customer:
        return self.submission.customer

    @property
    def documents(self) -> list[CustomerDocument]:
        return self.submission.documents

    def flags_for(self, document: CustomerDocument) -> list[Flag]:
        return [f for f in self.flags if f.document_id == document.id]


def _visible(stmt, actor: User):
    """`stmt` (joined to Customer) limited to the customers `actor` may see."""
    where = permissions.visible_customers(actor).whereclause
    return stmt if where is None else stmt.where(where)


def _containing(stmt, search: str | None, *columns):
    """`stmt` limited to rows where any of `columns` contains `search` (all rows for a blank search)."""
    if search := (search or "").strip():
        stmt = stmt.where(or_(*(column.ilike(f"%{search}%") for column in columns)))
    return stmt


def _codes(others: Iterable[tuple[int, str]]) -> str:
    others = sorted(set(others))
    shown = ", ".join(code for _id, code in others[:5])
    return shown + (f" and {len(others) - 5} more" if len(others) > 5 else "")


def flags_for(submissions: list[KycSubmission], today: date | None = None) -> dict[int, list[Flag]]:
    """Each submission's flags, by submission id, in two queries whatever the number of submissions:
    document numbers another customer's documents also carry, ID numbers another customer has, an ID document
    whose number is not the one on the customer's record, and expired documents."""
    today = today or business_day.today()
    docs = [d for s in submissions for d in s.documents]
    numbers = {d.document_number for d in docs if d.document_number}
    national = {d.document_number for d in docs if d.kind == DocumentKind.NATIONAL_ID and d.document_number}
    national |= {s.customer.national_id for s in submissions if s.customer.national_id}
    holders: dict[tuple[DocumentKind, str], set[tuple[int, str]]] = defaultdict(set)
    if numbers | national:
        for kind, number, customer_id, code in db.session.execute(
                select(CustomerDocument.kind, CustomerDocument.document_number, Customer.id, Customer.customer_code)
                .join(Customer, Customer.id == CustomerDocument.customer_id)
                .where(CustomerDocument.document_number.in_(numbers | national)).distinct()):
            holders[(kind, number)].add((customer_id, code))
    if national:
        for customer_id, code, number in db.session.execute(
                select(Customer.id, Customer.customer_code, Customer.national_id)
                .where(Customer.national_id.in_(national))):
            holders[(DocumentKind.NATIONAL_ID, number)].add((customer_id, code))
    out: dict[int, list[Flag]] = {}
    for submission in submissions:
        customer, flags = submission.customer, []
        for d in submission.documents:
            if d.document_number:
                others = [o for o in holders.get((d.kind, d.document_number), ()) if o[0] != customer.id]
                if others:
                    code = "duplicate_national_id" if d.kind == DocumentKind.NATIONAL_ID else "duplicate_number"
                    flags.append(Flag(code, f"{d.kind.label} number {d.document_number} is also held by "
                                            f"{_codes(others)}.", d.id, sorted(others)))
                if (d.kind == DocumentKind.NATIONAL_ID and customer.national_id
                        and d.document_number != customer.national_id):
                    flags.append(Flag("id_mismatch", f"The ID document says {d.document_number}; the customer's "
                                                     f"record says {customer.national_id}.", d.id))
            if d.expired_on(today):
                flags.append(Flag("expired", f"{d.kind.label} expired on {d.expiry_date:%d %b %Y}.", d.id))
        if customer.national_id and not any(d.kind == DocumentKind.NATIONAL_ID for d in submission.documents):
            others = [o for o in holders.get((DocumentKind.NATIONAL_ID, customer.national_id), ())
                      if o[0] != customer.id]
            if others:
                flags.append(Flag("duplicate_national_id", f"ID number {customer.national_id} is also held by "
                                                           f"{_codes(others)}.", None, sorted(others)))
        out[submission.id] = flags
    return out


def _with_context(stmt):
    return stmt.options(contains_eager(KycSubmission.customer), joinedload(KycSubmission.submitted_by),
                        selectinload(KycSubmission.documents))


def queue(*, actor: User, page: int = 1, per_page: int = PER_PAGE, search: str | None = None) -> Page:
    """Pending submissions `actor` may review, oldest first, each a Review with its documents and flags:
    five queries whatever the page size or the queue's length."""
    permissions.require(actor, "kyc.review")
    stmt = (select(KycSubmission).join(KycSubmission.customer)
            .where(KycSubmission.status == KycSubmissionStatus.PENDING))
    stmt = _visible(stmt, actor)
    stmt = _containing(stmt, search, Customer.name, Customer.customer_code, Customer.national_id, Customer.phone)
    found = paginate(_with_context(stmt).order_by(KycSubmission.created_at, KycSubmission.id), page, per_page)
    flags = flags_for(found.items)
    found.items = [Review(s, flags[s.id]) for s in found.items]
    return found


def get_submission(submission_id: int, *, actor: User) -> KycSubmission:
    permissions.require(actor, "kyc.review")
    submission = db.session.scalars(_with_context(
        select(KycSubmission).join(KycSubmission.customer).where(KycSubmission.id == submission_id))).first()
    if submission is None:
        raise NotFound("KYC submission not found.")
    customers.ensure_visible(submission.customer, actor)
    return submission


def review(submission_id: int, *, actor: User) -> Review:
    submission = get_submission(submission_id, actor=actor)
    return Review(submission, flags_for([submission])[submission.id])


def pending_for(customer: Customer, *, actor: User) -> KycSubmission:
    """The submission waiting for a decision on `customer` (Conflict when there is none)."""
    permissions.require(actor, "kyc.review")
    customers.ensure_visible(customer, actor)
    submission = pending_submission(customer)
    if submission is None:
        raise Conflict("No KYC submission is waiting for a decision for this customer.")
    return submission


# --- deciding -------------------------------------------------------------------------------------------------


def _text(value, limit: int, key: str, errors: dict) -> str | None:
    text = str(value or "").strip() or None
    if text is not None and len(text) > limit:
        errors[key] = [f"Use at most {limit} characters."]
    return text


def _chosen(submission: KycSubmission, refs: Iterable, errors: dict) -> list[CustomerDocument]:
    """The submission's documents named by id, or by kind (004 names kinds: ["passport"])."""
    by_id = {d.id: d for d in submission.documents}
    chosen: dict[int, CustomerDocument] = {}
    for ref in refs or ():
        text = str(ref).strip()
        if text.isdigit() and int(text) in by_id:
            chosen[int(text)] = by_id[int(text)]
            continue
        kind = None if text.isdigit() else documents.kind_for(text)
        matching = [d for d in submission.documents if kind is not None and d.kind == kind]
        if not matching:
            errors["approved_documents"] = [f"{text or 'An empty entry'} is not a document of this submission."]
            return []
        chosen.update((d.id, d) for d in matching)
    if not chosen and "approved_documents" not in errors:
        errors["approved_documents"] = ["Choose the documents you accept (at least one proof of identity)."]
    return list(chosen.values())


def _already_decided(submission: KycSubmission) -> Conflict:
    return Conflict(f"This KYC submission has already been {submission.status.value}.")


def _deciding(submission: KycSubmission, actor: User) -> Customer:
    """The submission's customer, once `actor` may decide on it and it is still waiting for a decision."""
    permissions.require(actor, "kyc.review")
    customers.ensure_visible(submission.customer, actor)
    if submission.status != KycSubmissionStatus.PENDING:
        raise _already_decided(submission)
    return submission.customer


def _claim(submission: KycSubmission, status: KycSubmissionStatus, actor: User, **values) -> None:
    """Decide the submission once, however many reviewers press at the same moment."""
    claimed = db.session.execute(
        update(KycSubmission).where(KycSubmission.id == submission.id,
                                    KycSubmission.status == KycSubmissionStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(submission)
    if claimed != 1:
        raise _already_decided(submission)


def _tell(customer: Customer, kind: str, title: str, message: str) -> None:
    if customer.user is not None:
        notifier.notify(customer.user, kind, title, message)


def approve(submission: KycSubmission, *, kyc_level, approved_documents: Iterable, notes: str | None = None,
            actor: User) -> KycSubmission:
    """Verify the customer at `kyc_level` (tier_1 to tier_3) on the documents accepted; the submission's
    other documents are rejected. At least one accepted document proves identity; none may have expired."""
    customer = _deciding(submission, actor)
    errors: dict[str, list[str]] = {}
    level = next((t for t in TIERS if t.value == str(kyc_level or "").strip().lower()), None)
    if level is None:
        errors["kyc_level"] = [f"Choose the tier: {', '.join(t.value for t in TIERS)}."]
    chosen = _chosen(submission, approved_documents, errors)
    today = business_day.today()
    if chosen and "approved_documents" not in errors:
        if expired := [d for d in chosen if d.expired_on(today)]:
            errors["approved_documents"] = [f"{expired[0].kind.label} expired on {expired[0].expiry_date:%d %b %Y}; "
                                            "an expired document cannot be accepted."]
        elif not any(d.kind in documents.IDENTITY_KINDS for d in chosen):
            errors["approved_documents"] = ["Accept at least one proof of identity: "
                                            + ", ".join(k.label for k in documents.IDENTITY_KINDS) + "."]
    notes = _text(notes, NOTES_LIMIT, "notes", errors)
    if errors:
        raise ValidationFailed(errors)
    before = {"kyc_status": customer.kyc_status.value, "kyc_level": customer.kyc_level.value}
    _claim(submission, KycSubmissionStatus.APPROVED, actor, kyc_level=level, notes=notes)
    now, accepted = utcnow(), {d.id for d in chosen}
    for d in submission.documents:
        if d.id in accepted:
            d.status, d.rejection_reason = DocumentStatus.APPROVED, None
        elif d.status == DocumentStatus.PENDING:
            d.status, d.rejection_reason = DocumentStatus.REJECTED, NOT_CHOSEN
        d.reviewed_by_id, d.reviewed_at = actor.id, now
    customer.kyc_status, customer.kyc_level = KycStatus.VERIFIED, level
    db.session.flush()
    audit.record(actor, "kyc.approve", "customer", customer.id, before=before,
                 after={"kyc_status": KycStatus.VERIFIED.value, "kyc_level": level.value,
                        "submission_id": submission.id, "approved_documents": sorted(accepted), "notes": notes})
    _tell(customer, "kyc_approved", "KYC verified",
          f"Your identity documents have been verified: KYC level {level.value.replace('_', ' ')}.")
    return submission


def reject(submission: KycSubmission, *, reason: str | None, notes: str | None = None,
           actor: User) -> KycSubmission:
    """Refuse the submission with a reason (and notes: what to do next), both told to the customer.
    A customer verified before keeps the level they had."""
    customer = _deciding(submission, actor)
    errors: dict[str, list[str]] = {}
    reason = _text(reason, REASON_LIMIT, "reason", errors)
    if "reason" not in errors and (reason is None or len(reason) < 3):
        errors["reason"] = ["Give the reason for rejecting (the customer will see it)."]
    notes = _text(notes, NOTES_LIMIT, "notes", errors)
    if errors:
        raise ValidationFailed(errors)
    before = {"kyc_status": customer.kyc_status.value, "kyc_level": customer.kyc_level.value}
    _claim(submission, KycSubmissionStatus.REJECTED, actor, reason=reason, notes=notes)
    now = utcnow()
    for d in submission.documents:
        if d.status == DocumentStatus.PENDING:
            d.status, d.rejection_reason = DocumentStatus.REJECTED, reason
            d.reviewed_by_id, d.reviewed_at = actor.id, now
    customer.kyc_status = KycStatus.REJECTED if customer.kyc_level == KycLevel.TIER_0 else KycStatus.VERIFIED
    db.session.flush()
    audit.record(actor, "kyc.reject", "customer", customer.id, before=before,
                 after={"kyc_status": customer.kyc_status.value, "kyc_level": customer.kyc_level.value,
                        "submission_id": submission.id, "reason": reason, "notes": notes})
    _tell(customer, "kyc_rejected", "KYC documents not accepted",
          f"Your identity documents were not accepted: {reason}" + (f" {notes}" if notes else ""))
    return submission


# --- tier gating ----------------------------------------------------------------------------------------------


def tiers() -> list[tuple[KycLevel, Decimal | None]]:
    """The tiers a reviewer grants, each with the largest loan it allows (KYC_LOAN_LIMITS; None: no ceiling)."""
    limits = current_app.config["KYC_LOAN_LIMITS"]
    return [(t, None if limits.get(t.value) is None else Decimal(limits[t.value])) for t in TIERS]


def _rank(level: KycLevel) -> int:
    return list(KycLevel).index(level)


def tier_needed(principal: Decimal) -> KycLevel | None:
    """The lowest KYC level a loan of `principal` needs before it is paid out (KYC_DISBURSE_TIERS: each tier
    and the principal above which it is needed), or None."""
    needed = None
    for tier, above in current_app.config["KYC_DISBURSE_TIERS"].items():
        level = KycLevel(tier)
        if principal > Decimal(str(above)) and (needed is None or _rank(level) > _rank(needed)):
            needed = level
    return needed


def disbursement_refusal(loan: Loan) -> str | None:
    """Why `loan` may not be paid out yet for its customer's KYC level, or None."""
    needed = tier_needed(loan.principal)
    level = loan.customer.kyc_level
    if needed is None or _rank(level) >= _rank(needed):
        return None
    return (f"A loan of {loan.principal:,.2f} needs KYC {needed.value.replace('_', ' ')} before it is paid out; "
            f"{loan.customer.name} is at {level.value.replace('_', ' ')}. Verify their KYC first.")


def require_tier_for_disbursement(loan: Loan) -> None:
    if (refusal := disbursement_refusal(loan)) is not None:
        raise Conflict(refusal)


# --- listings for the APIs -----------------------------------------------------------------------------------

DOCUMENT_ORDERING = {"id": CustomerDocument.id, "created_at": CustomerDocument.created_at,
                     "document_type": CustomerDocument.kind, "status": CustomerDocument.status,
                     "document_number": CustomerDocument.document_number,
                     "issue_date": CustomerDocument.issue_date, "expiry_date": CustomerDocument.expiry_date}
SUBMISSION_ORDERING = {"id": KycSubmission.id, "created_at": KycSubmission.created_at,
                       "submitted_at": KycSubmission.created_at, "status": KycSubmission.status,
                       "reviewed_at": KycSubmission.decided_at}


def _ordering(ordering: str | None, columns: dict, id_column, default: str = "-created_at") -> list:
    """ORDER BY for "name" or "-name" among `columns`, the id breaking ties (ValidationFailed otherwise)."""
    name = (ordering or default).strip()
    column = columns.get(name.removeprefix("-"))
    if column is None:
        raise ValidationFailed({"ordering": [f"Order by one of {', '.join(sorted(columns))} "
                                             "(prefix - for descending)."]})
    if name.startswith("-"):
        return [column.desc(), id_column.desc()]
    return [column.asc(), id_column.asc()]


def document_listing(*, actor: User, kinds: Iterable[DocumentKind] | None = None, search: str | None = None,
                     ordering: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Documents of the customers `actor` may see (a borrower: their own): two queries a page."""
    permissions.require(actor, "customer.view")
    order = _ordering(ordering, DOCUMENT_ORDERING, CustomerDocument.id)
    stmt = _visible(select(CustomerDocument).join(CustomerDocument.customer), actor)
    if kinds is not None:
        stmt = stmt.where(CustomerDocument.kind.in_(list(kinds)))
    stmt = _containing(stmt, search, CustomerDocument.document_number, CustomerDocument.filename, Customer.name,
                       Customer.customer_code)
    stmt = stmt.options(contains_eager(CustomerDocument.customer))
    return paginate(stmt.order_by(*order), page, per_page, MAX_PER_PAGE)


def submission_listing(*, actor: User, status: KycSubmissionStatus | None = None, search: str | None = None,
                       ordering: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """KYC submissions (verification workflows) of the customers `actor` may see: three queries a page."""
    permissions.require(actor, "customer.view")
    order = _ordering(ordering, SUBMISSION_ORDERING, KycSubmission.id)
    stmt = _visible(select(KycSubmission).join(KycSubmission.customer), actor)
    if status is not None:
        stmt = stmt.where(KycSubmission.status == status)
    stmt = _containing(stmt, search, Customer.name, Customer.customer_code, KycSubmission.reason)
    return paginate(_with_context(stmt).order_by(*order), page, per_page, MAX_PER_PAGE)


@dataclass
class UserKyc:
    user: User
    customer: Customer | None  # the customer record a borrower login is, if any


def users_with_kyc(*, actor: User, search: str | None = None, role: Role | None = None,
                   kyc_status: KycStatus | None = None, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Users `actor` may list (an admin: everyone; a manager: their team), each with their customer record's
    KYC: two queries a page."""
    permissions.require(actor, "user.list")
    stmt = permissions.visible_users(actor)
    if role is not None:
        stmt = stmt.where(User.role == role)
    stmt = _containing(stmt, search, User.username, User.email, User.phone, User.first_name, User.last_name)
    if kyc_status is not None:
        stmt = stmt.where(User.id.in_(select(Customer.user_id).where(Customer.kyc_status == kyc_status)))
    found = paginate(stmt.order_by(User.id), page, per_page, MAX_PER_PAGE)
    ids = [u.id for u in found.items]
    linked = {}
    if ids:
        linked = {c.user_id: c for c in db.session.scalars(select(Customer).where(Customer.user_id.in_(ids)))}
    found.items = [UserKyc(u, linked.get(u.id)) for u in found.items]
    return found


def customer_for_user(user_id: int, *, actor: User) -> Customer:
    """The customer record of borrower login `user_id`, for a reviewer who may see it."""
    permissions.require(actor, "kyc.review")
    customer = db.session.scalars(select(Customer).where(Customer.user_id == user_id)).first()
    if customer is None:
        raise NotFound("No customer profile is linked to this user.")
    customers.ensure_visible(customer, actor)
    return customer


def history(customer: Customer, *, actor: User) -> list[KycSubmission]:
    """A customer's submissions, newest first, with their documents."""
    permissions.require(actor, "customer.view")
    customers.ensure_visible(customer, actor)
    return list(db.session.scalars(
        select(KycSubmission).where(KycSubmission.customer_id == customer.id)
        .options(selectinload(KycSubmission.documents), joinedload(KycSubmission.decided_by),
                 joinedload(KycSubmission.submitted_by))
        .order_by(KycSubmission.created_at.desc(), KycSubmission.id.desc())))
