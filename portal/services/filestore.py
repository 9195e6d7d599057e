"""Uploaded files, kept under the instance's upload folder by the SHA-256 of their bytes.

The same bytes are stored once however often they are uploaded. A file whose database row is
rolled back stays on disk, harmless: nothing points at it, and the next identical upload reuses it.
"""

import hashlib
import os
import re
import tempfile
from pathlib import Path

from flask import current_app

KEY_RE = re.compile(r"[0-9a-f]{64}")


def _path(key: str) -> Path:
    if not KEY_RE.fullmatch(key):  # a key is a hash, never a path someone could steer
        raise ValueError(f"not a storage key: {key!r}")
    return Path(current_app.config["UPLOAD_FOLDER"]) / key[:2] / key


def put(data: bytes) -> str:
    """Store `data` and return its storage key."""
    key = hashlib.sha256(data).hexdigest()
    path = _path(key)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return key


def read(key: str) -> bytes:
    return _path(key).read_bytes()
