"""A reader's own data: everything the service holds about an account, and deleting it.

Deleting keeps the account's comments in their threads as "deleted user" (text kept or removed
per the site's ``deleted_user_text``) and removes everything else: votes (counters corrected),
reports, tokens, queued mail and the user row. Flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from discuss import votes
from discuss.accounts import verify_password
from discuss.comments import set_body
from discuss.errors import Forbidden
from discuss.extensions import db
from discuss.history import forget_versions
from discuss.models import (
    AuthToken,
    Comment,
    DeletedUserText,
    OutboxMessage,
    Report,
    Site,
    SiteModerator,
    Thread,
    User,
    Vote,
    utcnow,
)
from discuss.threads import author_changed

DELETED_NAME = "deleted user"
REMOVED_TEXT = "*This comment was removed with its author's account.*"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def export_user_data(user: User, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the account, as JSON-ready data (token values are never held)."""
    now = now or utcnow()
    comment_rows = db.session.execute(
        select(Comment, Thread.key, Thread.url, Site.slug)
        .join(Thread, Thread.id == Comment.thread_id).join(Site, Site.id == Comment.site_id)
        .where(Comment.user_id == user.id).order_by(Comment.created_at, Comment.id))
    vote_rows = db.session.scalars(select(Vote).where(Vote.user_id == user.id)
                                   .order_by(Vote.created_at))
    report_rows = db.session.scalars(select(Report).where(Report.user_id == user.id)
                                     .order_by(Report.created_at))
    token_rows = db.session.scalars(select(AuthToken).where(AuthToken.user_id == user.id)
                                    .order_by(AuthToken.created_at))
    return {
        "exported_at": _iso(now),
        "profile": {
            "id": user.id, "username": user.username, "display_name": user.display_name,
            "email": user.email, "email_verified_at": _iso(user.email_verified_at),
            "is_admin": user.is_admin, "created_at": _iso(user.created_at),
            "moderator_of": [s.slug for s in user.moderated_sites],
            "notify_queue": user.notify_queue,
            "queue_mail": user.queue_mail,
            # A site user (SSO): the site that signed them in and their id there.
            "signed_in_by": None if user.site_id is None else {
                "site": db.session.get(Site, user.site_id).slug, "subject": user.external_id},
        },
        "comments": [{
            "id": c.id, "site": slug, "thread_key": key, "thread_url": url,
            "parent_id": c.parent_id, "body": c.body, "status": str(c.status),
            "created_at": _iso(c.created_at), "edited_at": _iso(c.edited_at),
            "score": c.score, "notify": c.notify,
        } for c, key, url, slug in comment_rows],
        "votes": [{"comment_id": v.comment_id, "value": v.value,
                   "created_at": _iso(v.created_at)} for v in vote_rows],
        "reports": [{"comment_id": r.comment_id, "reason": str(r.reason), "note": r.note,
                     "created_at": _iso(r.created_at)} for r in report_rows],
        "tokens": [{"id": t.id, "kind": str(t.kind), "name": t.name,
                    "created_at": _iso(t.created_at), "expires_at": _iso(t.expires_at),
                    "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at),
                    "user_agent": t.user_agent} for t in token_rows],
    }


def delete_account(user: User, password: object, *, now: datetime | None = None) -> None:
    """Delete the account after checking its password; its comments stay as "deleted user".

    A site user (SSO) has no password here: their signed-in session is what vouches."""
    if not user.is_site_user and not verify_password(user, password):
        raise Forbidden("The password is wrong.", {"password": "wrong"}, code="wrong_password")
    author_changed(user)  # every thread they wrote in shows "deleted user" from now on
    rows = db.session.execute(
        select(Comment, Site.deleted_user_text).join(Site, Site.id == Comment.site_id)
        .where(Comment.user_id == user.id))
    for comment, text_policy in rows:
        comment.user_id = None
        comment.guest_name = DELETED_NAME
        comment.guest_email = comment.guest_email_key = ""
        comment.guest_key_hash = ""
        comment.ip_hash = ""
        comment.notify = False
        if text_policy == DeletedUserText.REMOVE:
            set_body(comment, REMOVED_TEXT)
            forget_versions(comment)  # the earlier texts go with it
    votes.remove_votes_of(user)
    reports = list(db.session.scalars(select(Report).where(Report.user_id == user.id)))
    for report in reports:
        if report.resolved_at is None:
            db.session.execute(update(Comment).where(Comment.id == report.comment_id)
                               .values(report_count=Comment.report_count - 1)
                               .execution_options(synchronize_session=False))
        db.session.delete(report)
    db.session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    db.session.execute(delete(SiteModerator).where(SiteModerator.user_id == user.id))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == user.email))
    db.session.flush()
    db.session.expire(user, ["moderated_sites"])
    db.session.delete(user)
    db.session.flush()
