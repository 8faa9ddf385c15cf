"""Readers' reports of abusive comments: one per reader and comment.

Owns the Report rows a reader creates and the comment's report_count; what happens when enough
readers report a comment is moderation's decision (``moderation.on_reported``). Flushes, never
commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from discuss import moderation
from discuss.errors import Conflict, Forbidden, NotFound, parse_choice
from discuss.extensions import db
from discuss.models import Comment, Report, ReportReason, Status, utcnow
from discuss.permissions import Actor, require
from discuss.text import check_text

MAX_NOTE_LENGTH = 500


def reporter_key(actor: Actor) -> str:
    """Who reports: an account, or else the (keyed hash of the) IP address."""
    if actor.user is not None:
        return f"user:{actor.user.id}"
    if actor.ip_hash:
        return f"ip:{actor.ip_hash}"
    if actor.guest_key_hash:
        return f"guest:{actor.guest_key_hash[:32]}"
    raise Forbidden("We cannot tell who sends this report.", code="unknown_reporter")


def _check_reason(reason: object) -> ReportReason:
    return parse_choice(ReportReason, reason, "reason",
                        "reason must be spam, abuse, off-topic or other.")


def report_comment(comment: Comment, actor: Actor, reason: object, note: object = None, *,
                   default_threshold: int = 3, now: datetime | None = None) -> Report:
    """Report a visible comment; a reader reports a comment once (Conflict the second time)."""
    now = now or utcnow()
    reason = _check_reason(reason)
    note = check_text(note, MAX_NOTE_LENGTH, "note")
    if comment.status != Status.APPROVED or comment.shadowed:
        raise NotFound("No such comment.", code="unknown_comment")
    require(actor, "report", comment)
    report = Report(comment_id=comment.id, user_id=actor.user.id if actor.user else None,
                    reporter_key=reporter_key(actor), reason=reason, note=note, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError as exc:
        raise Conflict("You reported this comment already.", {"comment": "already_reported"},
                       code="already_reported") from exc
    db.session.execute(update(Comment).where(Comment.id == comment.id)
                       .values(report_count=Comment.report_count + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(comment, ["report_count"])
    moderation.on_reported(comment, now=now, default_threshold=default_threshold)
    db.session.flush()
    return report
