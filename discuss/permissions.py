"""Who may do what: the Actor the edge builds, and one table of permissions.

The web layer builds an Actor per request and passes it into the domain; the domain asks
``can(actor, action, target)``. Nothing here reads the request or the session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from discuss.errors import Forbidden, NotSignedIn
from discuss.models import Comment, Site, Status, User, utcnow


@dataclass
class Actor:
    """Whoever makes a request: a signed-in user, or a guest known by a browser key."""

    user: User | None = None
    guest_key: str = ""
    ip_hash: str = ""
    user_agent: str = ""
    via_token: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # True once claim_guest_key made a key in this request: the edge sends it to the browser.
    guest_key_is_new: bool = False

    @property
    def is_guest(self) -> bool:
        return self.user is None

    @property
    def guest_key_hash(self) -> str:
        return hashlib.sha256(self.guest_key.encode()).hexdigest() if self.guest_key else ""

    def claim_guest_key(self) -> str:
        """A guest who writes gets a browser key (when it has none) that owns what they wrote."""
        if self.user is None and not self.guest_key:
            self.guest_key = secrets.token_urlsafe(32)
            self.guest_key_is_new = True
        return self.guest_key

    def moderates(self, site: Site | int) -> bool:
        if self.user is None:
            return False
        if self.user.is_admin:
            return True
        site_id = site if isinstance(site, int) else site.id
        return any(s.id == site_id for s in self.user.moderated_sites)

    def owns(self, comment: Comment) -> bool:
        if self.user is not None and comment.user_id is not None:
            return comment.user_id == self.user.id
        if comment.user_id is None and comment.guest_key_hash:
            return comment.guest_key_hash == self.guest_key_hash
        return False


ANONYMOUS = Actor()


def edit_window(site: Site, default_seconds: int) -> timedelta:
    seconds = site.edit_window if site.edit_window is not None else default_seconds
    return timedelta(seconds=seconds)


def _within_window(actor: Actor, comment: Comment, target: dict) -> bool:
    now: datetime = target.get("now") or utcnow()
    window: timedelta = target["window"]
    return actor.owns(comment) and now - comment.created_at <= window


def _can_edit(actor: Actor, comment: Comment, target: dict) -> bool:
    if comment.status in (Status.DELETED, Status.REJECTED):
        return False
    return actor.moderates(comment.site_id) or _within_window(actor, comment, target)


def _can_delete(actor: Actor, comment: Comment, target: dict) -> bool:
    if comment.status == Status.DELETED:
        return False
    return actor.moderates(comment.site_id) or _within_window(actor, comment, target)


def _can_vote(actor: Actor, comment: Comment, target: dict) -> bool:
    return actor.user is not None and not actor.owns(comment)


def _can_moderate(actor: Actor, site: Site, target: dict) -> bool:
    return actor.moderates(site)


def _can_admin(actor: Actor, _: object, target: dict) -> bool:
    return actor.user is not None and actor.user.is_admin


PERMISSIONS: dict[str, Callable[[Actor, Any, dict], bool]] = {
    "edit_comment": _can_edit,
    "delete_comment": _can_delete,
    "vote": _can_vote,
    "moderate": _can_moderate,
    "admin": _can_admin,
}


def can(actor: Actor, action: str, target: Any, **context: Any) -> bool:
    """True when ``actor`` may do ``action`` to ``target`` (context: now, window)."""
    return PERMISSIONS[action](actor, target, context)


def require_moderator(actor: Actor, site: Site | int) -> None:
    """Raise NotSignedIn for a guest and Forbidden for a user who does not moderate ``site``."""
    if actor.user is None:
        raise NotSignedIn("Sign in as a moderator.")
    if not actor.moderates(site):
        raise Forbidden("You do not moderate this site.")
