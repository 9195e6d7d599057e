"""Bulk uploads staged for the portal: a dry-run preview first, then an import a chunk per request.

The parsed file waits in instance/uploads/tmp/<token>.*, its token random and tied to the user
who uploaded it: its rows one JSON line each, so a chunk reads its own lines rather than parsing
the whole file again. How far an import has got is read from the audit row each chunk writes in
the same transaction as its records, so a chunk posted twice, or two chunks at once, cannot
import rows twice; a chunk's refused rows are kept beside the file for the summary.
"""

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TextIO

from flask import current_app
from sqlalchemy import select, text

from portal.models import AuditLog, User
from portal.models.base import db
from portal.services import bulk_upload
from portal.services.bulk_upload import Kind, UploadedFile
from portal.services.errors import NotFound

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16); anything else never reaches a path
PREVIEW_ROWS = 10
KEEP_SECONDS = 24 * 3600  # staged files older than this are removed when the next file is staged
# meta: kind, file name, owner, row count and columns; rows: one [number, cells] per line; codes: the
# file's customer codes (Sheet.codes); errors: one line of refused rows per imported chunk.
SUFFIXES = (".json", ".rows.jsonl", ".codes.json", ".errors.jsonl")
GONE = "This upload has expired or was discarded; upload the file again."


@dataclass
class Staged:
    token: str
    kind: Kind
    filename: str
    user_id: int
    rows: int


@dataclass
class Progress:
    staged: Staged
    position: int = 0  # rows (of staged.rows) already through the import
    created: int = 0
    refused: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.position >= self.staged.rows

    @property
    def percent(self) -> int:
        return 100 * self.position // self.staged.rows


@dataclass
class Preview:
    """What importing would do, computed without writing; or, once the import has begun, its progress."""

    staged: Staged
    progress: Progress
    columns: list[str] = field(default_factory=list)
    head: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    valid: int = 0
    errors: list[dict] = field(default_factory=list)


def _folder() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "uploads" / "tmp"


def _path(token: str, suffix: str) -> Path:
    return _folder() / f"{token}{suffix}"


def stage(file: UploadedFile | None, kind: Kind, *, actor: User) -> Staged:
    """Keep an uploaded file for preview and import; a file that breaks a file-level rule is refused here."""
    bulk_upload.require_permission(actor, kind)
    sheet = bulk_upload.parse(bulk_upload.read_bytes(file), kind)
    _sweep()
    staged = Staged(secrets.token_urlsafe(16), kind, file.filename, actor.id, len(sheet.rows))
    _folder().mkdir(parents=True, exist_ok=True)
    with _private(staged.token, ".rows.jsonl") as out:
        out.writelines(json.dumps(row) + "\n" for row in sheet.rows)
    with _private(staged.token, ".codes.json") as out:
        json.dump(sheet.codes, out)
    with _private(staged.token, ".json") as out:  # written last: the upload exists once this does
        json.dump({"kind": kind.value, "filename": staged.filename, "user_id": actor.id, "rows": staged.rows,
                   "columns": sheet.columns}, out)
    return staged


def _private(token: str, suffix: str) -> TextIO:
    """A new file only its owner may read: the rows hold customers' personal data."""
    return os.fdopen(os.open(_path(token, suffix), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w")


def _sweep() -> None:
    folder = _folder()
    if not folder.is_dir():
        return
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):  # another request's sweep got there first
            if path.stat().st_mtime < cutoff:
                path.unlink()


def get(token: str, *, actor: User) -> Staged:
    """The staged upload `token` names, if `actor` staged it."""
    try:
        data = json.loads(_path(token, ".json").read_text()) if TOKEN_RE.fullmatch(token) else None
    except FileNotFoundError:
        data = None
    if data is None or data["user_id"] != actor.id:
        raise NotFound(GONE)
    return Staged(token, Kind(data["kind"]), data["filename"], data["user_id"], data["rows"])


def _sheet(staged: Staged, start: int = 0, stop: int | None = None) -> bulk_upload.Sheet:
    """The staged rows `start` to `stop`, with the whole file's columns and codes."""
    try:
        columns = json.loads(_path(staged.token, ".json").read_text())["columns"]
        codes = json.loads(_path(staged.token, ".codes.json").read_text())
        with _path(staged.token, ".rows.jsonl").open() as lines:
            rows = [(number, tuple(cells)) for number, cells in map(json.loads, islice(lines, start, stop))]
    except FileNotFoundError:
        raise NotFound(GONE) from None
    return bulk_upload.Sheet(staged.kind, columns, rows, codes)


def preview(token: str, *, actor: User) -> Preview:
    """A dry run of the whole file: its first rows, and every row's errors. Nothing is written."""
    staged = get(token, actor=actor)
    progress = _progress(staged)
    if progress.position:
        return Preview(staged, progress)
    sheet = _sheet(staged)
    checked = bulk_upload.check(sheet, actor=actor)
    head = [(number, record) for number, record, _ in islice(sheet.records(), PREVIEW_ROWS)]
    return Preview(staged, progress, sheet.columns, head, len(checked.valid), checked.errors)


def progress(token: str, *, actor: User) -> Progress:
    return _progress(get(token, actor=actor))


def _progress(staged: Staged) -> Progress:
    batches = list(db.session.scalars(select(AuditLog.after).where(
        AuditLog.entity_type == "upload", AuditLog.entity_id == staged.token).order_by(AuditLog.id)))
    if not batches:
        return Progress(staged)
    position = batches[-1]["position"]
    return Progress(staged, position, sum(b["records_created"] for b in batches),
                    sum(b["rows_refused"] for b in batches), _kept_errors(staged, position))


def import_next(token: str, position: int | None, *, actor: User) -> Progress:
    """Import the chunk that starts at `position`; a stale or repeated position imports nothing."""
    staged = get(token, actor=actor)
    _lock(token)
    current = _progress(staged)
    if position != current.position or current.done:
        return current
    sheet = _sheet(staged, position, position + current_app.config["BULK_UPLOAD_CHUNK_ROWS"])
    checked = bulk_upload.check(sheet, actor=actor)
    bulk_upload.create(checked, actor=actor, batch=token, filename=staged.filename,
                       note={"position": position + len(sheet.rows)})
    _keep_errors(staged, position, checked.errors)
    return _progress(staged)


def _lock(token: str) -> None:
    """Serialize imports of one upload. SQLite needs nothing: a writing request holds its write lock
    from its first statement (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _keep_errors(staged: Staged, start: int, errors: list[dict]) -> None:
    # Appended before the chunk commits; if it then fails, the retry appends again for the same start
    # and the later line wins (see _kept_errors).
    with _path(staged.token, ".errors.jsonl").open("a") as out:
        out.write(json.dumps({"start": start, "errors": errors}) + "\n")


def _kept_errors(staged: Staged, position: int) -> list[dict]:
    path = _path(staged.token, ".errors.jsonl")
    if not path.is_file():
        return []
    by_start = {}
    for line in path.read_text().splitlines():
        chunk = json.loads(line)
        by_start[chunk["start"]] = chunk["errors"]
    return [error for start in sorted(by_start) if start < position for error in by_start[start]]


def discard(token: str, *, actor: User) -> None:
    """Remove a staged file; rows an import already created stay."""
    staged = get(token, actor=actor)
    for suffix in SUFFIXES:
        _path(staged.token, suffix).unlink(missing_ok=True)
