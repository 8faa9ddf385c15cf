"""Users, passwords, sign-in sessions and API tokens.

Owns account rules and token bookkeeping (only hashes are stored). It must not read the
request or commit; the web edge passes in what it parsed and commits once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import AuthToken, User, utcnow


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def user_for_token(raw: str, *, now: datetime | None = None) -> User | None:
    """The user a session or API token belongs to, if it is live (not expired or revoked)."""
    now = now or utcnow()
    token = db.session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(raw)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.epoch != token.user.session_epoch:
        return None
    return token.user


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)
