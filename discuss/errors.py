"""The errors the domain raises, each with the HTTP status and code the API answers with.

The domain raises these and nothing web-specific; discuss.web maps them to the spec's JSON
(`{"error": {"code", "message", "fields"}}`) or to a form message.

A message is English source text, and the key of its translation: ``message`` answers in the
language of the request being served (discuss.i18n). Texts with values in them name the values
(``"at most %(max)s characters"``) and pass them as ``params``. ``pybabel extract`` finds every
literal message given to these classes (see babel.cfg), so raising needs no marking.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from flask_babel import gettext

from discuss.i18n import N_

E = TypeVar("E", bound=StrEnum)


class DiscussError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None,
                 *, code: str | None = None, retry_after: int | None = None,
                 params: dict[str, Any] | None = None) -> None:
        self.source = message
        self.params = params or {}
        super().__init__(message % self.params if self.params else message)
        self.fields = fields or {}
        if code:
            self.code = code
        self.retry_after = retry_after
        # One sentence per wrong field, where a form names several at once.
        self.field_messages: dict[str, str] = {}

    @property
    def message(self) -> str:
        """The message in the language of the request being served (English outside one)."""
        return gettext(self.source, **self.params)


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


# What a banned reader is told (SPEC: the reason and the end when there are).
BANNED_MESSAGES = {
    (False, False): N_("You are banned from commenting here."),
    (True, False): N_("You are banned from commenting here. Reason: %(reason)s"),
    (False, True): N_("You are banned from commenting here. The ban ends %(end)s."),
    (True, True): N_("You are banned from commenting here. Reason: %(reason)s "
                     "The ban ends %(end)s."),
}


def parse_choice(kind: type[E], value: object, field: str, message: str) -> E:
    """``value`` as a member of ``kind`` (a StrEnum), or InvalidInput naming the field."""
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidInput(message, {field: "invalid"}) from exc
