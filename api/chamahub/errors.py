"""002's error body: {"detail": "...", "errors": {field: [...]}} (DRF style)."""

from api.errors import Surface


def shape(status: int, message: str, errors: dict, code: str) -> dict:
    return {"detail": message, "errors": errors} if errors else {"detail": message}


SURFACE = Surface("chamahub", "002 ChamaHub savings-group API", shape)
