"""Domain errors. Pages, API and CLI each map them to their own answer (404, 403, 422, exit 1)."""

from __future__ import annotations


class DomainError(Exception):
    """A use case refused; the message is for the user, in their language."""

    status = 400

    def __init__(self, message: str = "", *, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def as_dict(self) -> dict[str, object]:
        return {"detail": self.message, "errors": self.errors}


class NotFound(DomainError):
    """The row does not exist or may not be seen: the two answer the same, so nothing leaks."""

    status = 404


class Forbidden(DomainError):
    """The row may be seen but not changed by this actor."""

    status = 403

    @classmethod
    def field(cls, field: str, message: str) -> Forbidden:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class Invalid(DomainError):
    """Bad input. `errors` holds one entry per fault: {"field", "message"} (+ sheet/row/column for files)."""

    status = 422

    @classmethod
    def field(cls, field: str, message: str) -> Invalid:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class Conflict(DomainError):
    status = 409
