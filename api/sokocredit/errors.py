"""001 documents no error body; Mkopo answers {"message": ..., "errors": {...}} (errors only for fields)."""

from api.errors import Surface


def shape(status: int, message: str, errors: dict, code: str) -> dict:
    return {"message": message, "errors": errors} if errors else {"message": message}


SURFACE = Surface("sokocredit", "001 SokoCredit lending API", shape)
