"""Votes on comments: one per account, the score and the "top" ranking they feed.

Owns the Vote rows and the counters on Comment (upvotes, downvotes, score, rank). The rank is
the lower bound of the Wilson score interval of the up-vote share, so a comment with 1 up and
0 down does not outrank one with 40 up and 2 down. Flushes, never commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from discuss.errors import Conflict, Forbidden, InvalidInput, NotFound
from discuss.extensions import db
from discuss.models import Comment, Status, Thread, User, Vote, utcnow
from discuss.permissions import Actor, require
from discuss.threads import thread_of

Z = 1.96  # 95% confidence


def wilson_lower_bound(up: int, down: int, z: float = Z) -> float:
    """Lower bound of the Wilson score interval for the share of up votes
    (https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval)."""
    n = up + down
    if n <= 0:
        return 0.0
    p = up / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)
    return max(0.0, (centre - spread) / (1 + z * z / n))


def set_imported_votes(comment: Comment, up: int, down: int) -> None:
    """The counters another service left (an import): score and rank as if these votes had
    been cast here, without Vote rows (nobody here cast them)."""
    comment.upvotes, comment.downvotes = up, down
    comment.score = up - down
    comment.rank = wilson_lower_bound(up, down)


def _check_value(value: object) -> int:
    if isinstance(value, bool) or value not in (1, -1, 0):
        raise InvalidInput("value must be 1, -1 or 0.", {"value": "invalid"})
    return int(value)


def _apply(comment: Comment, up: int, down: int) -> None:
    """Change the counters by (up, down) in one UPDATE, then recompute score and rank."""
    db.session.execute(
        update(Comment).where(Comment.id == comment.id)
        .values(upvotes=Comment.upvotes + up, downvotes=Comment.downvotes + down)
        .execution_options(synchronize_session=False))
    db.session.refresh(comment, ["upvotes", "downvotes"])
    comment.score = comment.upvotes - comment.downvotes
    comment.rank = wilson_lower_bound(comment.upvotes, comment.downvotes)


def _delta(old: int, new: int) -> tuple[int, int]:
    return (new == 1) - (old == 1), (new == -1) - (old == -1)


def vote(comment: Comment, actor: Actor, value: object, *,
         now: datetime | None = None) -> tuple[int, int]:
    """Vote 1 or -1 on a comment, or 0 to take one's vote back. Returns (score, my_vote).

    One vote per account: voting the same way twice is a Conflict; voting the other way
    replaces the vote.
    """
    now = now or utcnow()
    value = _check_value(value)
    require(actor, "vote", comment)
    if comment.status != Status.APPROVED or comment.shadowed:
        raise NotFound("No such comment.", code="unknown_comment")
    thread = thread_of(comment)
    if thread.closed:
        raise Forbidden("This discussion is closed.", code="thread_closed")
    existing = db.session.get(Vote, (comment.id, actor.user.id))
    old = existing.value if existing is not None else 0
    if old == value:
        if value == 0:
            return comment.score, 0
        raise Conflict("You voted on this comment already.", {"value": "already_voted"},
                       code="already_voted")
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(Vote(comment_id=comment.id, user_id=actor.user.id,
                                    value=value, created_at=now))
        except IntegrityError as exc:
            # A second request of the same reader won the race.
            raise Conflict("You voted on this comment already.", {"value": "already_voted"},
                           code="already_voted") from exc
    elif value == 0:
        db.session.delete(existing)
    else:
        existing.value, existing.created_at = value, now
    _apply(comment, *_delta(old, value))
    db.session.execute(update(Thread).where(Thread.id == thread.id)
                       .values(version=Thread.version + 1)
                       .execution_options(synchronize_session=False))
    db.session.expire(thread, ["version"])
    db.session.flush()
    return comment.score, value


def my_votes(user: User | None, comment_ids: Iterable[int]) -> dict[int, int]:
    """The user's votes on these comments (one query); comments not voted on are absent."""
    ids = list(comment_ids)
    if user is None or not ids:
        return {}
    rows = db.session.execute(
        select(Vote.comment_id, Vote.value)
        .where(Vote.user_id == user.id, Vote.comment_id.in_(ids)))
    return {comment_id: value for comment_id, value in rows}


def remove_votes_of(user: User) -> None:
    """Take back every vote of a user (account deletion), keeping the counters exact."""
    votes = list(db.session.scalars(select(Vote).where(Vote.user_id == user.id)))
    comments = {c.id: c for c in db.session.scalars(
        select(Comment).where(Comment.id.in_([v.comment_id for v in votes])))} if votes else {}
    for v in votes:
        _apply(comments[v.comment_id], *_delta(v.value, 0))
        db.session.delete(v)
    db.session.flush()
