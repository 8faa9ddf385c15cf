"""Who may do what: the Actor the edge builds, and one table of permissions.

The web layer builds an Actor per request and passes it into the domain. ``PERMISSIONS`` is the
one table of who may do what; the domain calls ``require(actor, action, target)`` before it acts
(templates ask ``can`` to offer only what will be allowed). Nothing here reads the request or
the session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from discuss.errors import DiscussError, Forbidden, NotSignedIn
from discuss.i18n import N_
from discuss.models import Ban, Comment, Site, Status, User, utcnow


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


def _within_window(actor: Actor, comment: Comment, context: dict) -> bool:
    now: datetime = context.get("now") or utcnow()
    window: timedelta = context["window"]
    return actor.owns(comment) and now - comment.created_at <= window


def _can_edit(actor: Actor, comment: Comment, context: dict) -> bool:
    if comment.status in (Status.DELETED, Status.REJECTED):
        return False
    return actor.moderates(comment.site_id) or _within_window(actor, comment, context)


def _can_delete(actor: Actor, comment: Comment, context: dict) -> bool:
    if comment.status == Status.DELETED:
        return False
    return actor.moderates(comment.site_id) or _within_window(actor, comment, context)


def _of_another_site(actor: Actor, site: Site | int) -> bool:
    """A site user (signed in by a publisher's own accounts) acts on that site only."""
    site_id = site if isinstance(site, int) else site.id
    return actor.user is not None and actor.user.site_id not in (None, site_id)


def _can_write_on_site(actor: Actor, site: Site | int, context: dict) -> bool:
    return not _of_another_site(actor, site)


def _can_vote(actor: Actor, comment: Comment, context: dict) -> bool:
    return (actor.user is not None and not actor.owns(comment)
            and not _of_another_site(actor, comment.site_id))


def _can_report(actor: Actor, comment: Comment, context: dict) -> bool:
    known = actor.user is not None or bool(actor.ip_hash or actor.guest_key_hash)
    return known and not actor.owns(comment)


def _can_moderate(actor: Actor, site: Site | int | None, context: dict) -> bool:
    return site is not None and actor.moderates(site)


def _can_admin(actor: Actor, _: object, context: dict) -> bool:
    return actor.user is not None and actor.user.is_admin


def _can_ban(actor: Actor, site: Site | None, context: dict) -> bool:
    return _can_admin(actor, None, context) if site is None else actor.moderates(site)


def _can_lift_ban(actor: Actor, ban: Ban, context: dict) -> bool:
    return _can_admin(actor, None, context) if ban.site_id is None \
        else actor.moderates(ban.site_id)


# ---------------------------------------------------------------- what a refusal says

# A site user (SSO) met on another site's thread.
OTHER_SITE_ACCOUNT = N_("Your account belongs to another site.")


def _not_a_moderator(actor: Actor) -> DiscussError:
    if actor.user is None:
        return NotSignedIn("Sign in as a moderator.")
    return Forbidden("You do not moderate this site.")


def _refuse_edit(actor: Actor, comment: Comment) -> DiscussError:
    if actor.owns(comment):
        return Forbidden("The time to edit this comment has passed.", code="edit_window_passed")
    return Forbidden("You cannot edit this comment.")


def _refuse_delete(actor: Actor, comment: Comment) -> DiscussError:
    if actor.owns(comment) and comment.status != Status.DELETED:
        return Forbidden("The time to delete this comment has passed.",
                         code="edit_window_passed")
    return Forbidden("You cannot delete this comment.")


def _refuse_other_site(actor: Actor, _: object) -> DiscussError:
    return Forbidden(OTHER_SITE_ACCOUNT, code="other_site_account")


def _refuse_vote(actor: Actor, comment: Comment) -> DiscussError:
    if actor.user is None:
        return NotSignedIn("Sign in to vote.")
    if _of_another_site(actor, comment.site_id):
        return _refuse_other_site(actor, comment)
    return Forbidden("You cannot vote on your own comment.", code="own_comment")


def _refuse_report(actor: Actor, comment: Comment) -> DiscussError:
    if actor.owns(comment):
        return Forbidden("You cannot report your own comment.", code="own_comment")
    return Forbidden("We cannot tell who sends this report.", code="unknown_reporter")


def _refuse_ban(actor: Actor, site: Site | None) -> DiscussError:
    return Forbidden("Only admins ban from every site.") if site is None \
        else _not_a_moderator(actor)


def _refuse_lift_ban(actor: Actor, ban: Ban) -> DiscussError:
    return Forbidden("Only admins lift a ban on every site.") if ban.site_id is None \
        else _not_a_moderator(actor)


def _refuse_admin(actor: Actor, _: object) -> DiscussError:
    if actor.user is None:
        return NotSignedIn("Sign in as an admin.")
    return Forbidden("Only admins may do this.")


@dataclass(frozen=True)
class Rule:
    """Who may do one action (``allows(actor, target, context)``), and the error a refusal
    raises: NotSignedIn (401) when signing in could help, else Forbidden (403)."""

    allows: Callable[[Actor, Any, dict], bool]
    refusal: Callable[[Actor, Any], DiscussError]


# Every action that needs a permission, with its target: the one table the domain asks.
PERMISSIONS: dict[str, Rule] = {
    "edit_comment": Rule(_can_edit, _refuse_edit),            # a Comment; now=, window=
    "delete_comment": Rule(_can_delete, _refuse_delete),      # a Comment; now=, window=
    "vote": Rule(_can_vote, _refuse_vote),                    # a Comment
    "write_on_site": Rule(_can_write_on_site, _refuse_other_site),  # a Site or its id
    "report": Rule(_can_report, _refuse_report),              # a Comment
    "moderate": Rule(_can_moderate, lambda actor, _: _not_a_moderator(actor)),  # Site or id
    "ban": Rule(_can_ban, _refuse_ban),                       # a Site, None: every site
    "lift_ban": Rule(_can_lift_ban, _refuse_lift_ban),        # a Ban
    "admin": Rule(_can_admin, _refuse_admin),                 # nothing
}


def can(actor: Actor, action: str, target: Any, **context: Any) -> bool:
    """True when ``actor`` may do ``action`` to ``target`` (context: now, window)."""
    return PERMISSIONS[action].allows(actor, target, context)


def require(actor: Actor, action: str, target: Any, **context: Any) -> None:
    """Raise the rule's NotSignedIn or Forbidden unless ``actor`` may do ``action`` to
    ``target``; the domain calls this before it acts, views only choose 404 over 403."""
    rule = PERMISSIONS[action]
    if not rule.allows(actor, target, context):
        raise rule.refusal(actor, target)
