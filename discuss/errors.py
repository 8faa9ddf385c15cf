"""The errors the domain raises, each with the HTTP status and code the API answers with.

The domain raises these and nothing web-specific; discuss.web maps them to the spec's JSON
(`{"error": {"code", "message", "fields"}}`) or to a form message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class DiscussError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None,
                 *, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code
        self.retry_after = retry_after


class InvalidInput(DiscussError):
    status = 400
    code = "invalid"


class NotSignedIn(DiscussError):
    status = 401
    code = "not_signed_in"


class Forbidden(DiscussError):
    status = 403
    code = "forbidden"


class NotFound(DiscussError):
    status = 404
    code = "not_found"


class Conflict(DiscussError):
    status = 409
    code = "conflict"


class TooLarge(DiscussError):
    status = 413
    code = "too_large"


class RateLimited(DiscussError):
    status = 429
    code = "rate_limited"


class Unavailable(DiscussError):
    status = 503
    code = "unavailable"


def parse_choice(kind: type[E], value: object, field: str, message: str) -> E:
    """``value`` as a member of ``kind`` (a StrEnum), or InvalidInput naming the field."""
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidInput(message, {field: "invalid"}) from exc
