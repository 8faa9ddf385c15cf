"""The form side of the spam rules: the signed ``rendered_at`` token and the honeypot.

Every comment form carries two hidden fields: ``website`` (a honeypot people never see or fill)
and ``rendered_at`` (``rendered_at_token(site, key)``): signed with the app's secret, it holds
the time the form was shown, the site and thread it was shown for and a random nonce.
``checked_form`` turns what a form sent into the verified facts discuss.spam reads
(``website``, ``form_age_seconds``), so the domain never sees the secret. A token is good for
one page view: for that thread only, for FORM_MAX_AGE, and once (``form_token``, spent by
discuss.formtokens when the comment is written). A missing, forged, expired, misplaced or spent
token has no age (the timing rule then holds the comment for a moderator).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from discuss import formtokens

HONEYPOT_FIELD = "website"
TIMESTAMP_FIELD = "rendered_at"
# A form open longer than this is treated as having no token: a reader who left a tab open
# overnight is held for a moderator, never refused.
FORM_MAX_AGE = 6 * 3600
MAX_TOKEN_LENGTH = 300
FORM_TOKEN_HEADER = "X-Discuss-Form-Token"  # noqa: S105 - a header name


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _serializer_for(secret: str) -> URLSafeTimedSerializer:
    # Made once per secret (every page and every post signs a token); it keeps no state.
    return URLSafeTimedSerializer(secret, salt="discuss.rendered-at")


def _thread_tag(site_slug: str, key: str) -> str:
    return hashlib.sha256(f"{site_slug}\0{key}".encode()).hexdigest()[:16]


def rendered_at_token(site_slug: str = "", key: str = "") -> str:
    """The value of the hidden ``rendered_at`` field of a comment form shown now, on the thread
    page of (site, key)."""
    return _serializer().dumps([_thread_tag(site_slug, key), secrets.token_urlsafe(12)])


def _read(form: Mapping, site_slug: str, key: str,
          now: float | None) -> tuple[float, str] | None:
    """(age in seconds, spent-key) of a genuine, fresh token shown for this thread."""
    token = form.get(TIMESTAMP_FIELD)
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) == 2
            and all(isinstance(part, str) for part in payload)):
        return None
    tag, nonce = payload
    if tag != _thread_tag(site_slug, key):
        return None
    age = (now if now is not None else time.time()) - signed_at.timestamp()
    if age > FORM_MAX_AGE:
        return None
    spent = formtokens.spent_key(nonce)
    if formtokens.is_spent(spent):
        return None
    return age, spent


def form_age(form: Mapping, *, site_slug: str = "", key: str = "",
             now: float | None = None) -> float | None:
    """Seconds since the form's token was made; None if missing, forged, expired, made for
    another thread or spent already."""
    read = _read(form, site_slug, key, now)
    return read[0] if read is not None else None


def checked_form(raw: object, *, site_slug: object = "", key: object = "",
                 now: float | None = None) -> dict | None:
    """The facts the spam rules read from a submitted form; None when no form was sent.
    ``form_token`` names the token to spend with the comment (discuss.comments)."""
    if not isinstance(raw, Mapping):
        return None
    website = raw.get(HONEYPOT_FIELD)
    read = _read(raw, site_slug if isinstance(site_slug, str) else "",
                 key if isinstance(key, str) else "", now)
    facts: dict = {
        HONEYPOT_FIELD: website[:500] if isinstance(website, str) else "",
        "form_age_seconds": read[0] if read is not None else None,
    }
    if read is not None:
        facts["form_token"] = read[1]
    return facts
