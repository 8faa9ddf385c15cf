"""Earned trust: how an author stands on a site, from the statuses of their comments there.

An author is a user, or a guest known by an email address they confirmed by a link (and, when
posting, the same browser: typing someone's confirmed address is not enough). Their standing
is counted from their comments on the site, never stored apart, so it is exact whatever
changed it (a decision, an import, a decision undone): comments approved since the last one
marked spam, and comments marked spam. An author is trusted once ``site.trust_after`` of theirs
were approved since their last spam; so a comment marked spam takes the trust away, and it is
earned again the same way. The `first` policy waits for trust; the learned filter reads the
standing as a feature. Reads only; never reads the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select

from discuss.extensions import db
from discuss.models import Comment, ConfirmedEmail, Site, Status
from discuss.permissions import Actor

# Approvals are counted up to this many: enough for any trust setting and for the filter's
# features, and a prolific author costs no more than a new one.
COUNT_CAP = 100
MAX_TRUST_AFTER = COUNT_CAP


@dataclass(frozen=True)
class Standing:
    """An author's record on one site. ``known`` is false for guests without a confirmed
    email, who are never trusted automatically."""

    known: bool
    approved: int = 0  # approved since the last comment marked spam (at most COUNT_CAP)
    spam: int = 0
    last_spam_at: datetime | None = None

    def is_trusted(self, trust_after: int) -> bool:
        return self.known and self.approved >= max(1, trust_after)


UNKNOWN = Standing(known=False)


def _author_clause(actor: Actor, email_key: str) -> ColumnElement[bool] | None:
    if actor.user is not None:
        return Comment.user_id == actor.user.id
    if not email_key or not actor.guest_key_hash:
        return None
    return and_(Comment.user_id.is_(None), Comment.guest_email_key == email_key,
                Comment.guest_key_hash == actor.guest_key_hash)


def comment_author_clause(comment: Comment) -> ColumnElement[bool] | None:
    """The author of an existing comment, as the posting rule would know them."""
    if comment.user_id is not None:
        return Comment.user_id == comment.user_id
    if not comment.guest_email_key or not comment.guest_key_hash:
        return None
    return and_(Comment.user_id.is_(None), Comment.guest_email_key == comment.guest_email_key,
                Comment.guest_key_hash == comment.guest_key_hash)


def _is_confirmed(email_key: str) -> bool:
    return bool(db.session.scalar(select(exists().where(ConfirmedEmail.email_key == email_key))))


def count_standing(site_id: int, author: ColumnElement[bool],
                   before: datetime | None = None) -> Standing:
    """The standing of the author ``author`` selects, counting comments made before
    ``before`` (None: all of them); two small indexed queries."""
    scope = [Comment.site_id == site_id, author]
    if before is not None:
        scope.append(Comment.created_at < before)
    spam, last_spam = db.session.execute(
        select(func.count(), func.max(Comment.created_at))
        .where(*scope, Comment.status == Status.SPAM)).one()
    approved = select(Comment.id).where(*scope, Comment.status == Status.APPROVED)
    if last_spam is not None:
        approved = approved.where(Comment.created_at > last_spam)
    count = db.session.scalar(select(func.count()).select_from(
        approved.limit(COUNT_CAP).subquery())) or 0
    return Standing(known=True, approved=count, spam=spam, last_spam_at=last_spam)


def standing(site: Site, actor: Actor, email_key: str, *, now: datetime) -> Standing:
    """How the author of a comment posted at ``now`` stands on the site (remembered on the
    actor for that moment: the policy and the learned filter both ask)."""
    cache_key = ("standing", site.id, email_key, now)
    cached = actor.extra.get(cache_key)
    if cached is not None:
        return cached
    author = _author_clause(actor, email_key)
    if author is None or (actor.user is None and not _is_confirmed(email_key)):
        result = UNKNOWN
    else:
        result = count_standing(site.id, author)
    actor.extra[cache_key] = result
    return result


def standing_before(comment: Comment) -> Standing:
    """How the comment's author stood when they wrote it (what the filter learns from)."""
    author = comment_author_clause(comment)
    if author is None or (comment.user_id is None
                          and not _is_confirmed(comment.guest_email_key)):
        return UNKNOWN
    return count_standing(comment.site_id, author, before=comment.created_at)


def is_trusted(site: Site, actor: Actor, email_key: str, *, now: datetime) -> bool:
    """The author has earned the site's trust: their comments skip the `first` queue."""
    return standing(site, actor, email_key, now=now).is_trusted(site.trust_after)
