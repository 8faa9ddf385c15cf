"""The moderation audit log: append-only rows written in the same transaction as the action.

Owns ``record`` (the only writer) and ``list_entries`` (newest first, filterable, keyset paged).
Nothing updates or deletes an entry; there is no function for it on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, or_, select

from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import AuditEntry, Comment, Site, utcnow
from discuss.permissions import Actor

ACTIONS = ("approve", "reject", "spam", "delete", "pin", "unpin", "restore", "edit", "close",
           "reopen", "ban", "lift_ban")


def record(site: Site | int | None, actor: Actor, action: str, *,
           comment: Comment | None = None, thread_id: int | None = None, target: str = "",
           before: str = "", after: str = "", note: str = "",
           now: datetime | None = None) -> AuditEntry:
    """Add one entry: who did what to which comment/thread, the statuses around it, the note."""
    site_id = site if isinstance(site, int) or site is None else site.id
    user = actor.user
    entry = AuditEntry(
        site_id=site_id,
        actor_id=user.id if user else None,
        actor_name=(user.username if user else "system")[:64],
        action=action[:32],
        comment_id=comment.id if comment is not None else None,
        thread_id=thread_id if thread_id is not None else (
            comment.thread_id if comment is not None else None),
        target=target[:300],
        status_before=str(before)[:16],
        status_after=str(after)[:16],
        note=(note or "")[:1000],
        created_at=now or utcnow(),
    )
    db.session.add(entry)
    return entry


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="discuss.audit-cursor")


def list_entries(site: Site, *, secret: str, action: str | None = None,
                 moderator: str | None = None, cursor: str | None = None,
                 page_size: int = 50) -> AuditPage:
    """A page of the site's audit log, newest first, optionally by action or moderator name."""
    query = select(AuditEntry).where(AuditEntry.site_id == site.id)
    if action:
        if action not in ACTIONS:
            raise InvalidInput("Unknown action filter.", {"action": "invalid"})
        query = query.where(AuditEntry.action == action)
    if moderator:
        query = query.where(AuditEntry.actor_name == moderator[:64])
    if cursor:
        try:
            site_id, created, entry_id = _serializer(secret).loads(cursor)
            if site_id != site.id:
                raise ValueError("cursor of another site")
            created_at = datetime.fromisoformat(created)
        except (BadSignature, ValueError, TypeError) as exc:
            raise InvalidInput("The cursor is not valid.", {"cursor": "invalid"}) from exc
        query = query.where(or_(AuditEntry.created_at < created_at,
                                and_(AuditEntry.created_at == created_at,
                                     AuditEntry.id < entry_id)))
    rows = list(db.session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(page_size + 1)
    ))
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = _serializer(secret).dumps([site.id, last.created_at.isoformat(), last.id])
    return AuditPage(rows, next_cursor)
