"""Bulk CSV uploads (003 5.4 customers, 7.3 interactions): valid rows are created, invalid rows reported.

A file is read whole before anything is written, so a file-level problem (size, row count,
encoding, columns) refuses it with nothing created. Each row is then cleaned by the same rules
as a single create (`customers.validate_new`, `interactions._clean`); what a single create
looks up once per row (codes, account numbers, loan visibility, officers) is looked up here for
a thousand rows per query, and rows go in with one executemany (`_insert`): an ORM add() per row
sends one INSERT per row and is several times slower.

Rows are numbered from 1 at the first row under the header (blank rows count but are skipped).
"""

import csv
import io
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from typing import IO, Protocol

from flask import current_app
from sqlalchemy import Table, bindparam, insert, select

from portal.models import Customer, Disposition, Interaction, InteractionKind, KycLevel, KycStatus, Loan, User
from portal.models.base import db, utcnow
from portal.services import audit, customers, interactions, permissions
from portal.services.errors import FileRejected, Forbidden, ValidationFailed


class Kind(StrEnum):
    CUSTOMERS = "customers"
    INTERACTIONS = "interactions"


# CSV column -> service field: 003's columns, then the other fields a single create accepts.
COLUMNS: dict[Kind, dict[str, str]] = {
    Kind.CUSTOMERS: {
        "customer_code": "customer_code", "name": "name", "phone": "phone", "email": "email",
        "address_line_1": "address_line_1", "address_line_2": "address_line_2", "city": "city", "state": "state",
        "pincode": "pincode", "date_of_birth": "date_of_birth", "national_id": "national_id",
        "business_name": "business_name", "location": "location",
        "assigned_collection_officer": "assigned_officer_id"},
    Kind.INTERACTIONS: {
        "loan_id": "loan_id", "comment": "comment", "disposition": "disposition_code",
        "next_call_date": "next_call_date", "interaction_type": "kind", "contact_outcome": "contact_outcome",
        "promise_amount": "promise_amount", "promise_date": "promise_date", "latitude": "latitude",
        "longitude": "longitude"},
}
REQUIRED_COLUMNS = {Kind.CUSTOMERS: ("name",), Kind.INTERACTIONS: ("loan_id", "disposition")}
ROW_ERROR = "non_field_errors"  # DRF's key for a problem with the row as a whole (003 is a DRF API)
LOOKUP_BATCH = 1000  # ids or codes per IN (...) lookup: well inside every backend's parameter limit
INSERT_BATCH = 5000
# A row's cells are kept as a tuple: once the garbage collector sees a tuple holds only strings it stops
# tracking it, where a 100,000-row file of lists had it walk them all on every full collection.
Cells = tuple[str, ...]


class UploadedFile(Protocol):
    """What a surface hands over: werkzeug's FileStorage has both."""

    stream: IO[bytes]
    filename: str | None


@dataclass
class Sheet:
    """A parsed file, or a run of its rows: the header (canonical column names) and non-blank rows."""

    kind: Kind
    columns: list[str]
    rows: list[tuple[int, Cells]]  # (row number, cells)
    # Each customer code the whole file names -> the first row naming it: that row keeps the code,
    # a later row repeating it is refused, and generated codes avoid them all.
    codes: dict[str, int] = field(default_factory=dict)

    def records(self) -> Iterator[tuple[int, dict[str, str], Cells]]:
        """Each row as (number, {column: cell}, cells); a short row lacks its last columns (blank, to the rules)."""
        for number, cells in self.rows:
            yield number, dict(zip(self.columns, cells, strict=False)), cells

    def by_field(self) -> Iterator[tuple[int, dict[str, str], Cells]]:
        """Each row as `records` gives it, its cells named by the service fields they go to."""
        fields = [COLUMNS[self.kind][column] for column in self.columns]
        for number, cells in self.rows:
            yield number, dict(zip(fields, cells, strict=False)), cells

    def column(self, name: str) -> list[str]:
        """One column's cells, blank where a row is short; none if the file has no such column."""
        if name not in self.columns:
            return []
        index = self.columns.index(name)
        return [cells[index] if index < len(cells) else "" for _, cells in self.rows]

    def overflows(self, cells: Cells) -> bool:
        """Whether a row has something in cells past the header's last column."""
        return len(cells) > len(self.columns) and any(cell.strip() for cell in cells[len(self.columns):])


@dataclass
class Checked:
    """A sheet's rows cleaned: what would be created and what is refused."""

    sheet: Sheet
    valid: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"row": n, "errors": {column: [message]}}


@dataclass
class Result:
    records_created: int
    errors: list[dict]


def require_permission(actor: User, kind: Kind) -> None:
    """Refuse the whole upload when `actor` may create none of its records."""
    if kind == Kind.CUSTOMERS:
        permissions.require(actor, "customer.create")
    elif not any(permissions.can(actor, f"interaction.{k.value}") for k in InteractionKind):
        raise Forbidden("You do not have permission to perform this action.")


def upload_kinds(actor: User) -> list[Kind]:
    """What `actor` may upload, in menu order; Forbidden if nothing."""
    kinds = []
    for kind in Kind:
        try:
            require_permission(actor, kind)
        except Forbidden:
            continue
        kinds.append(kind)
    if not kinds:
        raise Forbidden("You do not have permission to perform this action.")
    return kinds


def _limits() -> tuple[int, int]:
    return current_app.config["BULK_UPLOAD_MAX_BYTES"], current_app.config["BULK_UPLOAD_MAX_ROWS"]


def _too_large(limit: int) -> FileRejected:
    return FileRejected(f"The file is larger than {limit / 1024 / 1024:g} MB; split it into smaller files.")


def check_size(content_length: int | None) -> None:
    """Refuse a request body that cannot hold a file within the limit, before it is read.

    The multipart envelope adds a few hundred bytes, so the exact check is `read_bytes`'.
    """
    limit, _ = _limits()
    if content_length is not None and content_length > limit + 64 * 1024:
        raise _too_large(limit)


def read_bytes(file: UploadedFile | None) -> bytes:
    """An uploaded file's bytes, refused unless it is named .csv and within the size limit."""
    if file is None or not file.filename:
        raise FileRejected("No file provided.")
    if not file.filename.lower().endswith(".csv"):
        raise FileRejected("Upload a .csv file (comma-separated values saved as UTF-8).")
    limit, _ = _limits()
    data = file.stream.read(limit + 1)  # never more than the limit in memory, however large the file
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _column_name(raw: str) -> str:
    """'Date of birth', ' PHONE ' and 'address-line-1' name the columns date_of_birth, phone, address_line_1."""
    return re.sub(r"[\s-]+", "_", raw.strip().lower())


def _decode(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise FileRejected("This is a spreadsheet workbook, not a CSV file: save it as CSV UTF-8 and upload that.")
    if b"\x00" in data:
        raise FileRejected("This is not a text CSV file (it holds binary data); save it as CSV UTF-8.")
    try:
        return data.decode("utf-8-sig")  # drops the byte-order mark Excel writes
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileRejected(f"The file is not UTF-8 text (line {line}); save it as CSV UTF-8.") from None


def parse(data: bytes, kind: Kind) -> Sheet:
    """Parse CSV bytes (UTF-8 with or without a BOM, any line endings) into a Sheet, or refuse the file."""
    text = _decode(data)
    if not text.strip():
        raise FileRejected("The file is empty.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # a stray quote is an error, not a merged row
    try:
        columns = _header(next(reader), kind)
        rows = _rows(reader)
    except csv.Error as exc:
        raise FileRejected(f"The file is not valid CSV (line {reader.line_num}): {exc}.") from None
    if not rows:
        raise FileRejected("The file has a header but no rows.")
    sheet = Sheet(kind, columns, rows)
    for (number, _), cell in zip(rows, sheet.column("customer_code"), strict=False):
        if code := cell.strip().upper():
            sheet.codes.setdefault(code, number)
    return sheet


def _header(cells: list[str], kind: Kind) -> list[str]:
    names = [_column_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()  # spreadsheets often leave trailing empty cells
    if not names:
        raise FileRejected("The first row must name the columns.")
    known = COLUMNS[kind]
    if "" in names:
        raise FileRejected(f"Column {names.index('') + 1} has no name in the header row.")
    if unknown := [name for name in names if name not in known]:
        raise FileRejected(f"Unknown columns: {', '.join(unknown)}. The columns are: {', '.join(known)}.")
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise FileRejected(f"These columns appear more than once: {', '.join(repeated)}.")
    if missing := [name for name in REQUIRED_COLUMNS[kind] if name not in names]:
        raise FileRejected(f"The header must include the columns: {', '.join(missing)}.")
    return names


def _rows(reader: Iterable[list[str]]) -> list[tuple[int, Cells]]:
    _, max_rows = _limits()
    rows = []
    for number, cells in enumerate(reader, start=1):
        if not "".join(cells).strip():
            continue
        if len(rows) == max_rows:
            raise FileRejected(f"The file has more than {max_rows:,} rows; split it into files of at most "
                               f"{max_rows:,} rows.")
        rows.append((number, tuple(cells)))
    return rows


def _batched(values: Iterable, size: int = LOOKUP_BATCH) -> Iterator[list]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _existing(column, values: Iterable) -> set:
    """Which of `values` the column already holds: one query per thousand values, not one per row."""
    # One statement bound to each chunk: in_(chunk) would build and coerce a literal per value.
    stmt = select(column).where(column.in_(bindparam("values", expanding=True)))
    found: set = set()
    for chunk in _batched(set(values)):
        found.update(db.session.scalars(stmt, {"values": chunk}))
    return found


def _by_column(errors: dict[str, list[str]], kind: Kind) -> dict[str, list[str]]:
    """Service field names back to the file's column names."""
    columns = {f: c for c, f in COLUMNS[kind].items()}
    return {columns.get(name, name): messages for name, messages in errors.items()}


def _row_problems(sheet: Sheet, cells: Cells) -> dict[str, list[str]]:
    if sheet.overflows(cells):
        return {ROW_ERROR: ["This row has more cells than the header has columns."]}
    return {}


def _as_id(raw: str) -> int | None:
    """A row id written in a cell, or None; more than 18 digits is no id (and would overflow SQLite)."""
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def check(sheet: Sheet, *, actor: User) -> Checked:
    """Clean every row of `sheet` as single creates would; write nothing."""
    require_permission(actor, sheet.kind)
    checked = Checked(sheet)
    if sheet.kind == Kind.CUSTOMERS:
        _check_customers(checked, actor)
    else:
        _check_interactions(checked, actor)
    return checked


def _check_customers(checked: Checked, actor: User) -> None:
    sheet = checked.sheet
    taken = _existing(Customer.customer_code, (c.strip().upper() for c in sheet.column("customer_code") if c.strip()))
    # Held so the per-row officer check finds them in the session (weakly referenced) rather than querying.
    _held = _officers(sheet.column("assigned_collection_officer"))
    for number, values, cells in sheet.by_field():
        problems = _row_problems(sheet, cells)
        data = None
        try:
            data = customers.validate_new(values, actor=actor, check_code=False)
        except ValidationFailed as exc:
            problems.update(_by_column(exc.errors, Kind.CUSTOMERS))
        code = values.get("customer_code", "").strip().upper()
        if code and "customer_code" not in problems:
            if sheet.codes[code] != number:
                problems["customer_code"] = [f"Row {sheet.codes[code]} already has this code."]
            elif code in taken:
                problems["customer_code"] = ["Another customer already has this code."]
        if problems:
            checked.errors.append({"row": number, "errors": problems})
        else:
            checked.valid.append(data)


def _officers(raw_ids: Iterable[str]) -> list[User]:
    ids = {i for i in map(_as_id, raw_ids) if i is not None}
    return [user for chunk in _batched(ids) for user in db.session.scalars(select(User).where(User.id.in_(chunk)))]


def _check_interactions(checked: Checked, actor: User) -> None:
    sheet = checked.sheet
    existing = _existing(Loan.id, {i for i in map(_as_id, sheet.column("loan_id")) if i is not None})
    visible: set[int] = set()
    for chunk in _batched(existing):
        visible.update(db.session.scalars(permissions.visible_loans(actor).where(Loan.id.in_(chunk))
                                          .with_only_columns(Loan.id)))
    # Held so the per-row disposition check finds them in the session (weakly referenced) rather than querying.
    _held = list(db.session.scalars(select(Disposition)))
    allowed = {k for k in InteractionKind if permissions.can(actor, f"interaction.{k.value}")}
    for number, values, cells in sheet.by_field():
        problems = _row_problems(sheet, cells)
        kind = _interaction_kind(values.pop("kind", ""), allowed, problems)
        loan_id = _loan_id(values.pop("loan_id", ""), existing, visible, problems)
        data = None
        try:
            data = interactions._clean(values, partial=False)  # the single create's rules, unchanged
        except ValidationFailed as exc:
            problems.update(_by_column(exc.errors, Kind.INTERACTIONS))
        if problems:
            checked.errors.append({"row": number, "errors": problems})
        else:
            checked.valid.append({**data, "loan_id": loan_id, "kind": kind})


def _interaction_kind(raw: str, allowed: set[InteractionKind], problems: dict) -> InteractionKind | None:
    try:
        kind = InteractionKind(raw.strip().lower() or InteractionKind.FIELD)  # 003: field unless stated
    except ValueError:
        problems["interaction_type"] = ["Choose field or calling."]
        return None
    if kind not in allowed:
        problems["interaction_type"] = [f"You may not log {kind.value} interactions."]
    return kind


def _loan_id(raw: str, existing: set[int], visible: set[int], problems: dict) -> int | None:
    loan_id = _as_id(raw)
    if not raw.strip():
        problems["loan_id"] = ["This field is required."]
    elif not raw.strip().isdigit():
        problems["loan_id"] = ["Enter a loan id (a whole number)."]
    elif loan_id not in existing:
        problems["loan_id"] = ["Loan not found."]
    elif loan_id not in visible:
        problems["loan_id"] = ["This customer is not assigned to you."]
    else:
        return loan_id
    return None


def create(checked: Checked, *, actor: User, batch: str, filename: str | None = None,
           note: dict | None = None) -> int:
    """Insert the valid rows of `checked` and write one audit row for the batch (with `note` in it);
    return how many were created."""
    kind = checked.sheet.kind
    require_permission(actor, kind)
    now = utcnow()
    stamp = {"created_by_id": actor.id, "created_at": now, "updated_at": now}
    if kind == Kind.CUSTOMERS:
        _complete_customers(checked)
        _insert(Customer.__table__, checked.valid, dict.fromkeys(customers.FIELDS),
                {**stamp, "kyc_status": KycStatus.UNVERIFIED, "kyc_level": KycLevel.TIER_0})
    else:
        _insert(Interaction.__table__, checked.valid, INTERACTION_DEFAULTS, stamp)
    numbers = [number for number, _ in checked.sheet.rows]
    # One row for the batch, not one per record: its records share created_at and created_by_id.
    audit.record(actor, "customer.bulk_create" if kind == Kind.CUSTOMERS else "interaction.bulk_create", "upload",
                 batch, after={"kind": kind.value, "file": filename, "rows": [numbers[0], numbers[-1]],
                               "records_created": len(checked.valid), "rows_refused": len(checked.errors),
                               "created_at": now.isoformat(), **(note or {})})
    return len(checked.valid)


def _insert(table: Table, rows: list[dict], defaults: dict, shared: dict) -> None:
    """INSERT `rows` in the session's transaction, each with `shared`'s values and `defaults`' for the
    columns it leaves out (`defaults` names every column a row may leave out).

    Core's executemany runs every column's bind processor on every value, a third of a large upload's
    time; here the driver's executemany gets values already in its form: a shared value converted once,
    a row's own values only in the columns whose type converts anything on this backend (SQLite: dates,
    enums and decimals).
    """
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    converters = {column.name: column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.c}
    shared = {name: (convert(value) if (convert := converters[name]) else value) for name, value in shared.items()}
    columns = list({**defaults, **rows[0], **shared})
    converted = [(name, converters[name]) for name in columns if name not in shared and converters[name]]
    # As Core compiles it for an executemany: no RETURNING of each new id.
    compiled = insert(table).compile(dialect=dialect, column_keys=columns, for_executemany=True)
    ordered = itemgetter(*compiled.positiontup) if compiled.positional else None
    for chunk in _batched(rows, INSERT_BATCH):
        values = []
        for row in chunk:
            row = {**defaults, **row, **shared}
            for name, convert in converted:
                row[name] = convert(row[name])
            values.append(ordered(row) if ordered else row)
        connection.exec_driver_sql(compiled.string, values)


def _complete_customers(checked: Checked) -> None:
    """Complete each valid row as `customers.create` would: a generated code and 000's account number."""
    _assign_codes(checked.valid, set(checked.sheet.codes))
    bases = [customers.account_base(d["name"], d.get("national_id"), d["customer_code"]) for d in checked.valid]
    numbers = _AccountNumbers(bases)
    for data, base in zip(checked.valid, bases, strict=True):
        data["account_number"] = numbers.next_for(base)


def _assign_codes(rows: list[dict], reserved: set[str]) -> None:
    """Generate the missing codes, none equal to a code in the file or the database (checked a batch at a time)."""
    missing = [data for data in rows if not data.get("customer_code")]
    used = set(reserved)
    while missing:
        for data in missing:
            code = customers.random_code()
            while code in used:
                code = customers.random_code()
            data["customer_code"] = code
            used.add(code)
        clashes = _existing(Customer.customer_code, (d["customer_code"] for d in missing))
        missing = [data for data in missing if data["customer_code"] in clashes]


class _AccountNumbers:
    """`customers.account_number_for` for many rows: the database is asked once per thousand bases,
    and again only for a base already taken (to find its free suffix)."""

    def __init__(self, bases: Iterable[str]):
        self.taken = _existing(Customer.account_number, bases)
        self.suffixes_known: set[str] = set()

    def next_for(self, base: str) -> str:
        if base not in self.taken:
            self.taken.add(base)
            return base
        if base not in self.suffixes_known:
            self.taken.update(db.session.scalars(select(Customer.account_number).where(
                Customer.account_number.like(f"{base}-%"))))
            self.suffixes_known.add(base)
        n = 2
        while f"{base}-{n}" in self.taken:
            n += 1
        self.taken.add(f"{base}-{n}")
        return f"{base}-{n}"


INTERACTION_DEFAULTS = {"comment": "", "next_call_date": None, "contact_outcome": None, "promise_amount": None,
                        "promise_date": None, "promise_status": None, "promise_paid": None, "latitude": None,
                        "longitude": None}


def upload(file: UploadedFile | None, kind: Kind, *, actor: User) -> Result:
    """003's bulk upload in one call: read the file, create its valid rows, report the others."""
    require_permission(actor, kind)
    sheet = parse(read_bytes(file), kind)
    checked = check(sheet, actor=actor)
    created = create(checked, actor=actor, batch=uuid.uuid4().hex, filename=file.filename)
    return Result(created, checked.errors)
