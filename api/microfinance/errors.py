"""000 documents no error body; Mkopo answers {"error": "...", "errors": {field: [...]}} (errors only for fields)."""

from api.errors import Surface


def shape(status: int, message: str, errors: dict, code: str) -> dict:
    return {"error": message, "errors": errors} if errors else {"error": message}


SURFACE = Surface("microfinance", "000 Microfinance client and transactions API", shape)
