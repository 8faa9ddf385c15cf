"""Comment-form tokens are single-use: the one a comment was sent with is spent when that
comment is written, so a token taken from one page view passes the timing rule once.

The web edge signs and reads the tokens (discuss.web.antispam); this module only knows which
were spent (kept with the spent mailed links, in used_tokens, by a hash of the token's nonce).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from discuss.extensions import db
from discuss.models import UsedToken


def spent_key(nonce: str) -> str:
    """How a form token's nonce is recorded once spent."""
    return hashlib.sha256(f"form:{nonce}".encode()).hexdigest()


def is_spent(key: str) -> bool:
    return db.session.get(UsedToken, key) is not None


def spend(key: str, *, now: datetime) -> None:
    """Record a form token as used (with the comment it came with; a race is harmless)."""
    try:
        with db.session.begin_nested():
            db.session.add(UsedToken(token_hash=key, used_at=now))
    except IntegrityError:
        pass  # spent by another request at the same moment: it was used, as recorded
