"""Queue actions: what a moderator does to comments and threads, each audited.

Approve, reject, spam, delete, pin and unpin (one by one or in bulk), close and reopen threads,
edit as moderator, ban an author and remove their comments, hold a reported comment, and mail
moderators when their queue has work. Reading the queues lives in discuss.queues, bans in
discuss.bans, the status a new comment gets in discuss.policy. Flushes, never commits; never
reads the request or the app's config (callers pass settings in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from discuss import audit, filter_training
from discuss.bans import MAX_NOTE, author_filter, ban
from discuss.comments import edit_comment, set_status
from discuss.errors import Conflict, DiscussError, InvalidInput
from discuss.extensions import db
from discuss.ids import parse_id
from discuss.models import (
    AuditEntry,
    Ban,
    BanKind,
    Comment,
    Report,
    Site,
    Status,
    Thread,
    utcnow,
)
from discuss.permissions import Actor, can, require
from discuss.policy import note_queued
from discuss.text import check_text
from discuss.threads import thread_of

ACTIONS = ("approve", "reject", "spam", "delete", "pin", "unpin", "restore")
TARGET_STATUS = {"approve": Status.APPROVED, "reject": Status.REJECTED, "spam": Status.SPAM,
                 "delete": Status.DELETED}


MAX_BULK = 200


TARGET_STATUS_ACTION = {status: action for action, status in TARGET_STATUS.items()}


def ban_author(comment: Comment, actor: Actor, *, remove: object = None, shadow: bool = False,
               reason: object = "", expires_at: datetime | None = None,
               now: datetime | None = None) -> tuple[list[Ban], int]:
    """Ban a comment's author and, in the same step, mark all their comments here deleted
    or spam (``remove``). Returns the bans and how many comments changed."""
    now = now or utcnow()
    site = db.session.get(Site, comment.site_id)
    require(actor, "moderate", comment.site_id)
    if remove not in (None, "", "deleted", "spam"):
        raise InvalidInput("remove must be deleted, spam or nothing.", {"remove": "invalid"})
    bans: list[Ban] = []
    if comment.user_id is not None:
        bans.append(ban(site, actor, BanKind.USER, str(comment.user_id), shadow=shadow,
                        reason=reason, expires_at=expires_at, now=now))
    else:
        if comment.guest_email_key:
            bans.append(ban(site, actor, BanKind.EMAIL, comment.guest_email_key, shadow=shadow,
                            reason=reason, expires_at=expires_at, now=now))
        if comment.ip_hash:
            bans.append(ban(site, actor, BanKind.IP, comment.ip_hash, shadow=shadow,
                            reason=reason, expires_at=expires_at, now=now))
    if not bans:
        raise InvalidInput("Nothing identifies this comment's author.", {"comment": "anonymous"})
    changed = 0
    if remove:
        target = Status.DELETED if remove == "deleted" else Status.SPAM
        rows = db.session.scalars(select(Comment).where(
            Comment.site_id == comment.site_id, author_filter(comment), Comment.status != target,
            Comment.status != Status.DELETED,
        ))
        note = f"banned author: {bans[0].reason}" if bans[0].reason else "banned author"
        for row in rows:
            _change_status(row, target, actor, TARGET_STATUS_ACTION[target], note=note, now=now)
            changed += 1
    db.session.flush()
    return bans, changed


@dataclass
class ActionResult:
    """What one comment of a bulk action became: ok, conflict, not_found, forbidden, invalid."""

    id: int
    result: str
    message: str = ""
    status: str | None = None
    pinned: bool | None = None

    def to_dict(self) -> dict:
        data: dict = {"id": self.id, "result": self.result}
        if self.message:
            data["message"] = self.message
        if self.status is not None:
            data["status"] = self.status
        if self.pinned is not None:
            data["pinned"] = self.pinned
        return data


def _clear_reports(comment: Comment, now: datetime) -> None:
    """A moderator's decision settles the reports made so far."""
    if not comment.report_count:
        return
    db.session.execute(update(Report).where(Report.comment_id == comment.id,
                                            Report.resolved_at.is_(None))
                       .values(resolved_at=now).execution_options(synchronize_session=False))
    comment.report_count = 0


def _change_status(comment: Comment, target: Status, actor: Actor, action: str, *, note: str,
                   now: datetime, thread: Thread | None = None) -> None:
    before = set_status(comment, target, thread=thread)
    filter_training.note_decision(comment, target)
    _clear_reports(comment, now)
    audit.record(comment.site_id, actor, action, comment=comment, before=before, after=target,
                 note=note, now=now)


def status_before_last_action(comment: Comment) -> Status | None:
    """The status a moderation action moved the comment out of, into the one it has now (the
    audit log's latest entry that did so)."""
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


def _restore(comment: Comment, actor: Actor, note: str, now: datetime) -> None:
    """Put the comment back in the status it had before the last moderation action (the undo
    of approve, reject, spam and delete; the way back from the Deleted list). Reports the
    undone action settled stay settled."""
    target = status_before_last_action(comment)
    if target is None:
        raise Conflict("There is nothing to undo for this comment.", code="already_handled")
    _change_status(comment, target, actor, "restore", note=note, now=now)


def _apply(comment: Comment, action: str, actor: Actor, note: str, now: datetime) -> None:
    thread = comment.thread
    if action == "restore":  # the undo of the last status change
        _restore(comment, actor, note, now)
        return
    if action in TARGET_STATUS:
        target = TARGET_STATUS[action]
        if comment.status == Status.DELETED:
            raise Conflict("This comment was deleted.", code="already_handled")
        if comment.status == target and not (target == Status.APPROVED and comment.report_count):
            raise Conflict(f"This comment is already {target}.", code="already_handled")
        if comment.status == target:  # approved but reported: keep it, settle the reports
            _clear_reports(comment, now)
            audit.record(comment.site_id, actor, action, comment=comment, before=target,
                         after=target, note=note, now=now)
            return
        _change_status(comment, target, actor, action, note=note, now=now, thread=thread)
        return
    pin = action == "pin"
    if pin and (comment.status != Status.APPROVED or comment.shadowed):
        raise InvalidInput("Only published comments can be pinned.", code="not_published")
    if comment.pinned == pin:
        raise Conflict(f"This comment is already {'pinned' if pin else 'not pinned'}.",
                       code="already_handled")
    comment.pinned = pin
    thread.version = (thread.version or 0) + 1
    audit.record(comment.site_id, actor, action, comment=comment, before=comment.status,
                 after=comment.status, note=note, now=now)


def check_ids(ids: object) -> list[int]:
    if not isinstance(ids, list) or not ids:
        raise InvalidInput("Select at least one comment.", {"ids": "required"})
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} comments at once.", {"ids": "too_many"})
    clean: list[int] = []
    for value in ids:
        if parse_id(value) is None or not isinstance(value, int):
            raise InvalidInput("ids must be comment ids (numbers).", {"ids": "invalid"})
        if value not in clean:
            clean.append(value)
    return clean


def check_action(action: object) -> str:
    if action not in ACTIONS:
        raise InvalidInput("action must be one of " + ", ".join(ACTIONS) + ".",
                           {"action": "invalid"}, code="unknown_action")
    return str(action)


def check_expected(raw: object, ids: list[int]) -> dict[int, str]:
    """The statuses the moderator saw: one for every id, or a map of ids (numbers or their
    digits) to statuses; nothing when none was given."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        return dict.fromkeys(ids, raw)
    if isinstance(raw, dict):
        expected = {}
        for key, value in raw.items():
            comment_id = parse_id(key)
            if comment_id is None or not isinstance(value, str):
                raise InvalidInput("expected_status maps comment ids to statuses.",
                                   {"expected_status": "invalid"})
            expected[comment_id] = value
        return expected
    raise InvalidInput("expected_status must be a status or an object of them.",
                       {"expected_status": "invalid"})


def act_on_comments(ids: object, action: object, actor: Actor, *, note: object = "",
                    expected: object = None,
                    now: datetime | None = None) -> list[ActionResult]:
    """Approve, reject, mark spam, delete, pin or unpin comments, each all or nothing.

    ``expected`` is the status the moderator saw, for all ids or as a map of ids to statuses
    (see ``check_expected``): a comment that has changed since (another moderator acted) is
    reported as a conflict and left alone.
    """
    now = now or utcnow()
    if actor.user is None:
        require(actor, "moderate", None)  # a guest is asked to sign in (401)
    action = check_action(action)
    ids = check_ids(ids)
    seen_as = check_expected(expected, ids)
    note = check_text(note, MAX_NOTE, "note")
    found = {c.id: c for c in db.session.scalars(
        select(Comment).options(joinedload(Comment.thread)).where(Comment.id.in_(ids))
    )}
    results = []
    for comment_id in ids:
        comment = found.get(comment_id)
        if comment is None:
            results.append(ActionResult(comment_id, "not_found", "No such comment."))
            continue
        if not can(actor, "moderate", comment.site_id):
            results.append(ActionResult(comment_id, "forbidden",
                                        "You do not moderate this comment's site."))
            continue
        seen = seen_as.get(comment_id)
        if seen is not None and seen != str(comment.status):
            results.append(ActionResult(
                comment_id, "conflict",
                f"Someone else already handled this comment (it is now {comment.status}).",
                str(comment.status), comment.pinned))
            continue
        try:
            with db.session.begin_nested():
                _apply(comment, action, actor, note, now)
        except DiscussError as exc:
            db.session.refresh(comment)
            result = "conflict" if isinstance(exc, Conflict) else "invalid"
            results.append(ActionResult(comment_id, result, exc.message, str(comment.status),
                                        comment.pinned))
            continue
        results.append(ActionResult(comment_id, "ok", "", str(comment.status), comment.pinned))
    db.session.flush()
    return results


def set_thread_closed(thread: Thread, actor: Actor, closed: bool, *, note: object = "",
                      now: datetime | None = None) -> Thread:
    """Close a thread (read-only, readers see a notice) or reopen it."""
    now = now or utcnow()
    require(actor, "moderate", thread.site_id)
    if thread.closed == closed:
        raise Conflict(f"This discussion is already {'closed' if closed else 'open'}.",
                       code="already_handled")
    thread.closed = closed
    thread.version = (thread.version or 0) + 1
    audit.record(thread.site_id, actor, "close" if closed else "reopen", thread_id=thread.id,
                 target=thread.key[:300], note=check_text(note, MAX_NOTE, "note"), now=now)
    db.session.flush()
    return thread


def edit_as_moderator(comment: Comment, actor: Actor, body: object, *, note: object = "",
                      default_window: int = 900, now: datetime | None = None) -> Comment:
    """A moderator changes a comment's text (shown as edited by a moderator), audited."""
    now = now or utcnow()
    require(actor, "moderate", comment.site_id)
    before = comment.status
    old_body = comment.body
    edit_comment(comment, actor, body, default_window=default_window, now=now)
    if comment.body != old_body:
        audit.record(comment.site_id, actor, "edit", comment=comment, before=before,
                     after=comment.status, note=check_text(note, MAX_NOTE, "note"), now=now)
        db.session.flush()
    return comment


def on_reported(comment: Comment, *, now: datetime, default_threshold: int = 3) -> None:
    """Enough distinct readers' reports hold an approved comment until a moderator decides."""
    thread = thread_of(comment)
    threshold = thread.site.report_threshold or default_threshold
    if comment.status != Status.APPROVED or comment.report_count < threshold:
        return
    comment.held_reasons = [*(comment.held_reasons or []),
                            {"rule": "reports", "detail": f"{comment.report_count} reports"}]
    set_status(comment, Status.PENDING, thread=thread)
    note_queued(comment.site_id)
