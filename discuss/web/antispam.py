"""The form side of the spam rules: the signed ``rendered_at`` timestamp and the honeypot.

Every comment form carries two hidden fields: ``website`` (a honeypot people never see or fill)
and ``rendered_at`` (``rendered_at_token()``: the time the form was shown, signed with the app's
secret so a bot cannot backdate it). ``checked_form`` turns what a form sent into the verified
facts discuss.spam reads (``website``, ``form_age_seconds``), so the domain never sees the secret.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

HONEYPOT_FIELD = "website"
TIMESTAMP_FIELD = "rendered_at"
_PAYLOAD = b"comment-form"


def _signer() -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="discuss.rendered-at")


def rendered_at_token() -> str:
    """The value of the hidden ``rendered_at`` field of a comment form shown now."""
    return _signer().sign(_PAYLOAD).decode()


def form_age(form: Mapping, *, now: float | None = None) -> float | None:
    """Seconds since the form's ``rendered_at`` token was made; None if missing or forged."""
    token = form.get(TIMESTAMP_FIELD)
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    try:
        payload, signed_at = _signer().unsign(token, return_timestamp=True)
    except (BadSignature, SignatureExpired):
        return None
    if payload != _PAYLOAD:
        return None
    return (now if now is not None else time.time()) - signed_at.timestamp()


def checked_form(raw: object, *, now: float | None = None) -> dict | None:
    """The facts the spam rules read from a submitted form; None when no form was sent."""
    if not isinstance(raw, Mapping):
        return None
    website = raw.get(HONEYPOT_FIELD)
    return {
        HONEYPOT_FIELD: website[:500] if isinstance(website, str) else "",
        "form_age_seconds": form_age(raw, now=now),
    }
