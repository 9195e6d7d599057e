"""004's error body: {"success": false, "error": {"code", "message"}}; field errors ride in "details"."""

from api.errors import Surface


def shape(status: int, message: str, errors: dict, code: str) -> dict:
    error = {"code": code, "message": message}
    if errors:
        error["details"] = errors
    return {"success": False, "error": error}


SURFACE = Surface("vault5", "004 Vault5 personal finance and lending API", shape, validation_status=422)
