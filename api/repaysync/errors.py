"""003's error bodies: {"errors": {field: [...]}} for invalid input, {"error": "..."} otherwise."""

from api.errors import Surface


def shape(status: int, message: str, errors: dict, code: str) -> dict:
    return {"errors": errors} if errors else {"error": message}


SURFACE = Surface("repaysync", "003 RepaySync collections API", shape)
