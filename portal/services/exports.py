"""Customer listings exported whole (every page) as CSV or Excel, with memory flat however many rows.

Rows are read as plain columns in batches (`yield_per`), never as a list. CSV is produced batch by
batch while it is sent; Excel is written by openpyxl's write-only mode to a spooled temporary file
first (an .xlsx is a zip, finished only at the end), then sent in chunks.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from tempfile import SpooledTemporaryFile
from zoneinfo import ZoneInfo

from flask import current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from portal.models import Customer, User
from portal.models.base import db
from portal.services import customers
from portal.services.errors import ValidationFailed

FORMATS = ("csv", "excel")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 1000
CHUNK = 64 * 1024
SPOOL_BYTES = 8 * 1024 * 1024  # an export larger than this moves from memory to a temporary file

_officer = aliased(User)
# Header -> column. Names follow 001's customer fields; the officer's name is there for people.
COLUMNS = (
    ("id", Customer.id),
    ("customer_code", Customer.customer_code),
    ("account_number", Customer.account_number),
    ("name", Customer.name),
    ("phone", Customer.phone),
    ("email", Customer.email),
    ("national_id", Customer.national_id),
    ("business_name", Customer.business_name),
    ("location", Customer.location),
    ("address_line_1", Customer.address_line_1),
    ("address_line_2", Customer.address_line_2),
    ("city", Customer.city),
    ("state", Customer.state),
    ("pincode", Customer.pincode),
    ("date_of_birth", Customer.date_of_birth),
    ("assigned_officer", Customer.assigned_officer_id),
    ("assigned_officer_name", None),  # from the three officer columns below
    ("kyc_status", Customer.kyc_status),
    ("kyc_level", Customer.kyc_level),
    ("created_by", Customer.created_by_id),
    ("created_at", Customer.created_at),
)
HEADERS = [name for name, _ in COLUMNS]
_SELECTED = [column for _, column in COLUMNS if column is not None]
_OFFICER_AT = HEADERS.index("assigned_officer_name")
# A spreadsheet runs a cell starting with one of these as a formula; phone numbers (+2547...) are only numbers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+")


@dataclass
class Export:
    chunks: Iterator[bytes]
    mimetype: str
    filename: str
    size: int | None = None  # known for Excel, which is finished before it is sent


def customer_export(filters: customers.CustomerFilters, fmt: str, *, actor: User) -> Export:
    """Every customer matching `filters` that `actor` may see, in the listing's order."""
    if fmt not in FORMATS:
        raise ValidationFailed({"format": [f"Choose one of {', '.join(FORMATS)}."]})
    stmt = _statement(filters, actor)  # refuses here, before a byte is sent, when the actor may not list
    stamp = datetime.now(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        return Export(_csv_chunks(stmt), "text/csv", f"customers-{stamp}.csv")
    file, size = _xlsx_file(stmt)
    return Export(_file_chunks(file), XLSX_MIMETYPE, f"customers-{stamp}.xlsx", size)


def _statement(filters: customers.CustomerFilters, actor: User) -> Select:
    listing = customers.search_statement(filters, actor=actor)
    return (listing.with_only_columns(*_SELECTED, _officer.first_name, _officer.last_name, _officer.username,
                                      maintain_column_froms=True)
            .outerjoin(_officer, _officer.id == Customer.assigned_officer_id)
            .execution_options(yield_per=BATCH))


def _values(row) -> list:
    """A row's cells in HEADERS order: enums as their values, times in UTC."""
    *values, first, last, username = row
    values = [v.value if isinstance(v, Enum) else v for v in values]
    officer = (f"{first or ''} {last or ''}".strip() or username) if username else None  # as User.full_name
    values.insert(_OFFICER_AT, officer)
    return values


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text  # shown as text, never run as a formula (CSV injection)
    return text


def _csv_chunks(stmt: Select) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for rows in db.session.execute(stmt).partitions():
        writer.writerows([_csv_text(v) for v in _values(row)] for row in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode()


def _xlsx_file(stmt: Select) -> tuple[SpooledTemporaryFile, int]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    sheet.append(HEADERS)
    for row in db.session.execute(stmt):
        sheet.append([_xlsx_cell(sheet, value) for value in _values(row)])
    file = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed on; _file_chunks closes it once sent
    workbook.save(file)
    size = file.tell()
    file.seek(0)
    return file, size


def _xlsx_cell(sheet, value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones: written in UTC
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # text stays text: openpyxl would take "=..." for a formula
        return cell
    return value


def _file_chunks(file) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk
