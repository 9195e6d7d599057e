"""Daraja expects {"ResultCode", "ResultDesc"} back; refusals use the same shape."""

from api.errors import Surface


def shape(status: int, message: str, errors: dict, code: str) -> dict:
    return {"ResultCode": 1, "ResultDesc": message}


SURFACE = Surface("daraja", "M-Pesa Daraja callbacks", shape)
