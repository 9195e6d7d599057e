"""Domain exceptions that each surface maps to its own response shape, in one place."""


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` maps each field to its messages."""

    code = "VALIDATION_ERROR"

    def __init__(self, errors: dict[str, list[str] | str], message: str = "Invalid input data"):
        normalized = {field: [msgs] if isinstance(msgs, str) else list(msgs) for field, msgs in errors.items()}
        super().__init__(message, normalized)


class AuthFailed(DomainError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class FileRejected(DomainError):
    """An upload refused as a whole (too large, too many rows, not a CSV file): nothing in it was used."""
