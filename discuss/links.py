"""Signed links mailed to readers: tokens that are genuine, fresh and spent once.

Account verification, email change, password reset and a guest's address confirmation all use
these tokens; only a hash of a spent token is stored (UsedToken). Knows no purpose's meaning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import UsedToken, utcnow

# Links mailed to readers: how long each kind stays valid.
LINK_MAX_AGE = {
    "verify": timedelta(days=2),
    "email-change": timedelta(days=2),
    "reset": timedelta(hours=1),
    "guest-email": timedelta(days=2),
    "register": timedelta(days=2),
    "signin": timedelta(days=1),
}


# A spent token's record refuses its reuse while the token could still be presented: every
# kind expires within the longest link life (a comment form's token within hours), so a record
# older than that, with room to spare, guards nothing.
SPENT_KEPT = max(LINK_MAX_AGE.values()) + timedelta(days=5)


def forget_old_spent(*, now: datetime) -> int:
    """Drop the records of spent tokens (links, form tokens, sign-up claims) that expired long
    ago; how many were dropped. Without it the table grows by a row with every comment."""
    result = db.session.execute(delete(UsedToken).where(UsedToken.used_at < now - SPENT_KEPT))
    return result.rowcount or 0


# (purpose, token) -> absolute URL of the page that consumes the token.
LinkBuilder = Callable[[str, str], str]


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def link_serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"discuss.link.{purpose}")


def make_link_token(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    return link_serializer(secret, purpose).dumps(payload)


def read_link_token(secret: str, purpose: str, token: object, *,
                    now: datetime | None = None, id_field: str = "u") -> dict[str, Any]:
    """The payload of a link's token if it is genuine, fresh and unused (then marks it used)."""
    now = now or utcnow()
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")
    try:
        payload, signed_at = link_serializer(secret, purpose).loads(token, return_timestamp=True)
    except SignatureExpired as exc:  # pragma: no cover - max_age is checked below instead
        raise InvalidInput("This link has expired.", {"token": "expired"},
                           code="expired_link") from exc
    except BadSignature as exc:
        raise InvalidInput("This link is not valid.", {"token": "invalid"},
                           code="invalid_link") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get(id_field), int):
        raise InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")
    if now - signed_at > LINK_MAX_AGE[purpose]:
        raise InvalidInput("This link has expired. Ask for a new one.", {"token": "expired"},
                           code="expired_link")
    used = token_hash(f"{purpose}:{token}")
    if db.session.get(UsedToken, used) is not None:
        raise InvalidInput("This link was used already. Ask for a new one.",
                           {"token": "used"}, code="used_link")
    try:
        with db.session.begin_nested():
            db.session.add(UsedToken(token_hash=used, used_at=now))
    except IntegrityError as exc:
        raise InvalidInput("This link was used already. Ask for a new one.",
                           {"token": "used"}, code="used_link") from exc
    return payload
