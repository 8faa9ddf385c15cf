"""Events: the one record of what happened to a comment (created, approved, deleted).

The domain calls ``record`` inside the transaction that posts, approves or deletes a comment;
the row commits or rolls back with it. The web edge (``discuss.web.dispatch``) collects the
transaction's events just before the commit (outbox mail, webhooks) and publishes the public
ones to live streams after it. An admin import records nothing. ``public_since`` lets a live
stream that reconnects catch up from the last id it saw.

Flushes, never commits; never imports discuss.web.
"""

from __future__ import annotations

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, joinedload

from discuss.extensions import db
from discuss.models import Comment, Event, EventKind, Status, utcnow

# session.info key: the Event rows recorded in the transaction, in order.
RECORDED_KEY = "discuss.events"
KINDS = frozenset(str(kind) for kind in EventKind)


def is_public(comment: Comment) -> bool:
    """Whether everyone sees the comment (approved and not shadow banned)."""
    return comment.status == Status.APPROVED and not comment.shadowed


def record(kind: str, comment: Comment) -> Event:
    """Write that ``kind`` happened to ``comment`` now, in the running transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    public = kind != EventKind.DELETED and is_public(comment)
    event = Event(kind=str(kind), site_id=comment.site_id, thread_id=comment.thread_id,
                  comment_id=comment.id, public=public, created_at=utcnow())
    event.comment = comment
    db.session.add(event)
    db.session.info.setdefault(RECORDED_KEY, []).append(event)
    return event


def take_recorded(session: Session) -> list[Event]:
    """The events of the transaction being committed, flushed, in order, forgotten once taken;
    those of a savepoint that was rolled back are left out."""
    recorded = session.info.pop(RECORDED_KEY, [])
    if not recorded:
        return []
    session.flush()
    return [event for event in recorded if inspect(event).persistent]


def forget_recorded(session: Session) -> None:
    session.info.pop(RECORDED_KEY, None)


def latest_id(thread_id: int) -> int:
    """The thread's latest event id (0 when none): where a new live stream starts."""
    return db.session.scalar(select(func.max(Event.id)).where(Event.thread_id == thread_id)) or 0


def public_since(thread_id: int, after_id: int, limit: int = 200) -> list[Event]:
    """The thread's public events after ``after_id``, oldest first, each with its comment and
    the comment's author loaded (a live stream resuming)."""
    return list(db.session.scalars(
        select(Event).options(joinedload(Event.comment).joinedload(Comment.author))
        .where(Event.thread_id == thread_id, Event.id > after_id, Event.public.is_(True))
        .order_by(Event.id).limit(limit)))
