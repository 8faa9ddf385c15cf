"""What a moderator sees before and after a sweeping action: the comments "Ban author" would
remove, putting a comment back as it was before the last moderation action (``restore``: the
undo of approve, reject, spam and delete, and the way back from the ``deleted`` view), and the
words the audit log and ban list show instead of bare ids and hashes.

Restoring reads the audit log: the latest entry that moved the comment into its current status
names the status it had before. Reports settled by the undone action stay settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from discuss.errors import Conflict
from discuss.extensions import db
from discuss.models import AuditEntry, Ban, BanKind, Comment, Status, User
from discuss.permissions import Actor

PREVIEW_LIMIT = 50
EXCERPT = 80


def excerpt(text: str, length: int = EXCERPT) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def ban_preview(comment: Comment) -> tuple[int, list[Comment]]:
    """How many of the author's comments on the site a ban would remove, and the newest
    ``PREVIEW_LIMIT`` of them (with their threads)."""
    from discuss.moderation import author_filter  # moderation imports this module

    where = (Comment.site_id == comment.site_id, author_filter(comment),
             Comment.status != Status.DELETED)
    total = db.session.scalar(select(func.count()).select_from(Comment).where(*where)) or 0
    rows = list(db.session.scalars(
        select(Comment).options(joinedload(Comment.thread)).where(*where)
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(PREVIEW_LIMIT)))
    return total, rows


def removable_ids(comment: Comment, remove: object) -> list[int]:
    """The ids "Ban author" with ``remove`` (deleted or spam) is about to change."""
    from discuss.moderation import author_filter  # moderation imports this module

    if remove not in ("deleted", "spam"):
        return []
    target = Status.DELETED if remove == "deleted" else Status.SPAM
    return list(db.session.scalars(select(Comment.id).where(
        Comment.site_id == comment.site_id, author_filter(comment),
        Comment.status.not_in((target, Status.DELETED)))))


def status_before_last_action(comment: Comment) -> Status | None:
    """The status a moderation action moved the comment out of, into the one it has now."""
    before = db.session.scalar(
        select(AuditEntry.status_before)
        .where(AuditEntry.comment_id == comment.id,
               AuditEntry.status_after == str(comment.status),
               AuditEntry.status_before != AuditEntry.status_after)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(1))
    try:
        return Status(before) if before else None
    except ValueError:
        return None


def restore(comment: Comment, actor: Actor, note: str, now: datetime) -> None:
    """Put the comment back in the status it had before the last moderation action."""
    from discuss.moderation import _change_status  # moderation imports this module

    target = status_before_last_action(comment)
    if target is None:
        raise Conflict("There is nothing to undo for this comment.", code="already_handled")
    _change_status(comment, target, actor, "restore", note=note, now=now)


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
