"""Events: the one record of what happened to a comment (created, approved, deleted).

The domain calls ``record`` inside the transaction that posts, approves or deletes a comment;
the row commits or rolls back with it. The web edge (``discuss.web.dispatch``) collects the
transaction's events just before the commit (outbox mail, webhooks) and publishes the public
ones to live streams after it. An admin import records nothing. ``public_since`` lets a live
stream that reconnects catch up from the last id it saw.

Flushes, never commits; never imports discuss.web.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, inspect, select
from sqlalchemy.orm import Session, joinedload

from discuss.extensions import FastRead, as_written, db, write_rows
from discuss.models import Comment, Event, EventKind, Status, utcnow

# session.info key: the Event rows recorded in the transaction, in order.
RECORDED_KEY = "discuss.events"
KINDS = frozenset(str(kind) for kind in EventKind)


def is_public(comment: Comment) -> bool:
    """Whether everyone sees the comment (approved and not shadow banned)."""
    return comment.status == Status.APPROVED and not comment.shadowed


_COLUMNS = ("kind", "site_id", "thread_id", "comment_id", "public", "created_at")


# One event row, written by its own statement (no unit of work): every post writes one.
_INSERT = FastRead(insert(Event).values(
    {name: bindparam(name, type_=Event.__table__.c[name].type) for name in _COLUMNS}
).returning(Event.id))


def record(kind: str, comment: Comment) -> Event:
    """Write that ``kind`` happened to ``comment`` now, in the running transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    public = kind != EventKind.DELETED and is_public(comment)
    values = {"kind": str(kind), "site_id": comment.site_id, "thread_id": comment.thread_id,
              "comment_id": comment.id, "public": public, "created_at": utcnow()}
    session = db.session()
    session.flush()  # the comment's own pending changes first, as a flush would order them
    [(event_id,)] = write_rows(_INSERT, values)
    # Written at once; a rollback of its savepoint (one comment of a bulk action) or of the
    # whole transaction takes the object out of the session, as it would a flushed one.
    event = as_written(Event, {**values, "id": event_id, "comment": comment})
    session.info.setdefault(RECORDED_KEY, []).append(event)
    return event


def take_recorded(session: Session) -> list[Event]:
    """The events of the transaction being committed, in order, forgotten once taken; those
    of a savepoint that was rolled back are left out."""
    recorded = session.info.pop(RECORDED_KEY, [])
    if not recorded:
        return []
    session.flush()  # what the outbox writers read next is in the database
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
