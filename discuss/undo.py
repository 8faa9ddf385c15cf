"""What a moderator sees before and after a sweeping action: the comments "Ban author" would
remove (and the ids its Undo puts back), and the words the audit log and ban list show instead
of bare ids and hashes. Restoring itself is a queue action (``discuss.moderation``, ``restore``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from discuss.bans import author_filter
from discuss.extensions import db
from discuss.models import AuditEntry, Ban, BanKind, Comment, Status, User

PREVIEW_LIMIT = 50
EXCERPT = 80


def excerpt(text: str, length: int = EXCERPT) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def ban_preview(comment: Comment) -> tuple[int, list[Comment]]:
    """How many of the author's comments on the site a ban would remove, and the newest
    ``PREVIEW_LIMIT`` of them (with their threads)."""
    where = (Comment.site_id == comment.site_id, author_filter(comment),
             Comment.status != Status.DELETED)
    total = db.session.scalar(select(func.count()).select_from(Comment).where(*where)) or 0
    rows = list(db.session.scalars(
        select(Comment).options(joinedload(Comment.thread)).where(*where)
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(PREVIEW_LIMIT)))
    return total, rows


def removable_ids(comment: Comment, remove: object) -> list[int]:
    """The ids "Ban author" with ``remove`` (deleted or spam) is about to change."""
    if remove not in ("deleted", "spam"):
        return []
    target = Status.DELETED if remove == "deleted" else Status.SPAM
    return list(db.session.scalars(select(Comment.id).where(
        Comment.site_id == comment.site_id, author_filter(comment),
        Comment.status.not_in((target, Status.DELETED)))))


def audit_comments(entries: Iterable[AuditEntry]) -> dict[int, Comment]:
    """The comments an audit page names, with their authors and threads, in one query."""
    ids = {e.comment_id for e in entries if e.comment_id}
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(
        select(Comment).options(joinedload(Comment.author), joinedload(Comment.thread))
        .where(Comment.id.in_(ids))).unique()}


def ban_labels(bans: Iterable[Ban]) -> dict[int, str]:
    """Who each ban is against, in words: the username, the address, or for an address hash
    the name on the latest comment from it (two queries for a page of bans)."""
    bans = list(bans)
    user_ids = [int(b.value) for b in bans if b.kind == BanKind.USER and b.value.isdigit()]
    names = dict(db.session.execute(
        select(User.id, User.username).where(User.id.in_(user_ids))).all()) if user_ids else {}
    hashes = [b.value for b in bans if b.kind == BanKind.IP]
    guests: dict[str, str] = {}
    if hashes:
        for ip_hash, name in db.session.execute(
                select(Comment.ip_hash, Comment.guest_name).where(Comment.ip_hash.in_(hashes))
                .order_by(Comment.created_at)).all():
            guests[ip_hash] = name or "Anonymous"
    labels = {}
    for b in bans:
        if b.kind == BanKind.USER:
            name = names.get(int(b.value)) if b.value.isdigit() else None
            labels[b.id] = f"@{name}" if name else f"a deleted account (#{b.value})"
        elif b.kind == BanKind.IP:
            who = guests.get(b.value)
            labels[b.id] = (f"the network address {who} wrote from" if who
                            else "a network address") + f" ({b.value[:8]}…)"
        else:
            labels[b.id] = b.value
    return labels
