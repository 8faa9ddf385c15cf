"""Moderation policies and the status a comment gets; queue actions, thread controls and bans.

Owns the decision "does this comment wait?" (the site's policy plus the spam verdict) and every
change a moderator makes (status, pin, thread closed, moderator edit, bans), each written to the
audit log in the same transaction. Reading the queues lives in discuss.queues. Flushes, never
commits; never reads the request or the app's config (callers pass settings in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import joinedload

from discuss import audit
from discuss.errors import (
    Conflict,
    DiscussError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSignedIn,
    parse_choice,
)
from discuss.extensions import db
from discuss.models import (
    Ban,
    BanKind,
    Comment,
    ConfirmedEmail,
    ModerationPolicy,
    Report,
    Site,
    SiteModerator,
    Status,
    Thread,
    User,
    utcnow,
)
from discuss.permissions import Actor
from discuss.spam import PENDING, SPAM, Verdict

ACTIONS = ("approve", "reject", "spam", "delete", "pin", "unpin", "restore")
TARGET_STATUS = {"approve": Status.APPROVED, "reject": Status.REJECTED, "spam": Status.SPAM,
                 "delete": Status.DELETED}
MAX_BULK = 200
MAX_NOTE = 1000
MAX_REASON = 500
# Sites whose pending queue grew in this transaction; the web edge mails moderators at commit.
QUEUED_SITES_KEY = "discuss.queued_sites"


def is_known_author(site: Site, actor: Actor, email_key: str) -> bool:
    """An author with an approved comment on this site: a user, or a guest by confirmed email.

    A guest's approved comment counts only from the same browser (its guest key), so typing
    someone else's confirmed address is not enough to skip the queue."""
    if actor.user is not None:
        return bool(db.session.scalar(select(exists().where(
            Comment.site_id == site.id, Comment.user_id == actor.user.id,
            Comment.status == Status.APPROVED,
        ))))
    if not email_key or not actor.guest_key_hash:
        return False
    return bool(db.session.scalar(select(
        exists().where(ConfirmedEmail.email_key == email_key)
        & exists().where(Comment.site_id == site.id, Comment.user_id.is_(None),
                         Comment.guest_email_key == email_key,
                         Comment.guest_key_hash == actor.guest_key_hash,
                         Comment.status == Status.APPROVED)
    )))


def note_queued(site_id: int) -> None:
    """Remember that something entered a site's queue (for the moderators' mail)."""
    db.session.info.setdefault(QUEUED_SITES_KEY, set()).add(site_id)


def initial_status(site: Site, actor: Actor, verdict: Verdict, *, email_key: str,
                   now: datetime) -> Status:
    """The status of a new comment under the site's policy and the spam verdict (a shadow ban
    adds its reason to the verdict's). Whoever writes it notes a pending one (note_queued)."""
    status = _policy_status(site, actor, email_key, verdict)
    if status != Status.SPAM and not actor.moderates(site) and \
            is_shadow_banned(site, actor, email_key, now=now):
        # Its author sees it published; everyone else, and the thread's count, never do.
        verdict.reasons.append({"rule": "shadow_ban", "detail": "the author is shadow banned"})
        return Status.SPAM
    return status


def _policy_status(site: Site, actor: Actor, email_key: str, verdict: Verdict) -> Status:
    if verdict.action == SPAM:
        return Status.SPAM
    if actor.moderates(site):
        return Status.APPROVED
    if verdict.action == PENDING or site.moderation == ModerationPolicy.PRE:
        return Status.PENDING
    if site.moderation == ModerationPolicy.POST:
        return Status.APPROVED
    return Status.APPROVED if is_known_author(site, actor, email_key) \
        else Status.PENDING


def status_after_edit(site: Site, comment: Comment, verdict: Verdict) -> Status:
    """An edit that trips a rule sends an approved comment back to the queue."""
    if verdict.action == SPAM:
        return Status.SPAM
    if verdict.action == PENDING and comment.status == Status.APPROVED:
        note_queued(site.id)
        return Status.PENDING
    return comment.status


# ---------------------------------------------------------------- bans


def _author_ban_keys(actor: Actor, email_key: str) -> list[tuple[BanKind, str]]:
    keys: list[tuple[BanKind, str]] = []
    if actor.user is not None:
        keys.append((BanKind.USER, str(actor.user.id)))
        keys.append((BanKind.EMAIL, actor.user.email_key))
    elif email_key:
        keys.append((BanKind.EMAIL, email_key))
    if actor.ip_hash:
        keys.append((BanKind.IP, actor.ip_hash))
    return keys


def active_bans_filter(site_id: int | None, now: datetime):
    """Bans in force at ``now`` for a site (its own and those for every site)."""
    scope = Ban.site_id.is_(None) if site_id is None else or_(Ban.site_id.is_(None),
                                                               Ban.site_id == site_id)
    return and_(Ban.lifted_at.is_(None), or_(Ban.expires_at.is_(None), Ban.expires_at > now),
                scope)


# Every ban that can cover an author, prebuilt once: a missing key is bound as NULL, which
# matches nothing (ban values are never empty). Read as plain rows: every post asks.
_BANS_COVERING = select(Ban.shadow, Ban.reason, Ban.expires_at).where(
    Ban.lifted_at.is_(None),
    or_(Ban.expires_at.is_(None), Ban.expires_at > bindparam("now")),
    or_(Ban.site_id.is_(None), Ban.site_id == bindparam("site_id")),
    or_(*(and_(Ban.kind == kind, Ban.value == bindparam(kind.value))
          for kind in (BanKind.USER, BanKind.EMAIL, BanKind.IP))),
).order_by(Ban.created_at)


def bans_covering(site: Site, actor: Actor, email_key: str, *, now: datetime) -> list[Row]:
    """The bans in force on this author here (shadow, reason, expires_at; one query,
    remembered on the actor)."""
    cache_key = ("bans", site.id, email_key, now)
    cached = actor.extra.get(cache_key)
    if cached is not None:
        return cached
    keys = dict(_author_ban_keys(actor, email_key))
    found: list[Row] = []
    if keys:
        found = list(db.session.connection().execute(_BANS_COVERING, {
            "now": now, "site_id": site.id,
            **{kind.value: keys.get(kind) or None for kind in BanKind}}))
    actor.extra[cache_key] = found
    return found


def check_not_banned(site: Site, actor: Actor, email_key: str, *, now: datetime) -> None:
    """Raise Forbidden when a ban (not a shadow ban) covers this author."""
    for ban in bans_covering(site, actor, email_key, now=now):
        if not ban.shadow:
            message = "You are banned from commenting here."
            if ban.reason:
                message += f" Reason: {ban.reason}"
            if ban.expires_at is not None:
                message += f" The ban ends {ban.expires_at:%Y-%m-%d %H:%M} UTC."
            raise Forbidden(message, code="banned")


def is_shadow_banned(site: Site, actor: Actor, email_key: str, *, now: datetime) -> bool:
    """True when a shadow ban covers this author: they see their comments, nobody else does."""
    return any(ban.shadow for ban in bans_covering(site, actor, email_key, now=now))


def _require_moderator(actor: Actor, site: Site | int) -> None:
    if actor.user is None:
        raise NotSignedIn("Sign in as a moderator.")
    if not actor.moderates(site):
        raise Forbidden("You do not moderate this site.")


def _check_text(value: object, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"The {name} must be text.", {name: "invalid"})
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"The {name} may have at most {limit} characters.",
                           {name: "too_long"})
    return value


def _check_ban_value(kind: BanKind, value: object) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InvalidInput("Say whom to ban.", {"value": "required"})
    value = str(value).strip()
    if kind == BanKind.USER:
        user = None
        if value.isdigit() and len(value) < 19:
            user = db.session.get(User, int(value))
        if user is None:
            user = db.session.scalar(select(User).where(User.username_key == value.lower()))
        if user is None:
            raise InvalidInput("No such user.", {"value": "unknown_user"})
        return str(user.id)
    if kind == BanKind.EMAIL:
        from discuss.comments import normalize_email  # comments imports this module

        return normalize_email(value)[1]
    if len(value) > 64 or not all(c in "0123456789abcdef" for c in value):
        raise InvalidInput("An IP ban takes the IP hash shown in the queue.", {"value": "invalid"})
    return value


def ban(site: Site | None, actor: Actor, kind: object, value: object, *, shadow: bool = False,
        reason: object = "", expires_at: datetime | None = None,
        now: datetime | None = None) -> Ban:
    """Ban a user, an email address or an IP hash from a site (None: every site, admins only)."""
    now = now or utcnow()
    if site is None:
        if actor.user is None or not actor.user.is_admin:
            raise Forbidden("Only admins ban from every site.")
    else:
        _require_moderator(actor, site)
    kind = parse_choice(BanKind, kind, "kind", "kind must be user, email or ip.")
    if not isinstance(shadow, bool):
        raise InvalidInput("shadow must be true or false.", {"shadow": "invalid"})
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("The ban would already have ended.", {"expires_at": "past"})
    record = Ban(site_id=site.id if site else None, kind=kind,
                 value=_check_ban_value(kind, value), shadow=shadow,
                 reason=_check_text(reason, MAX_REASON, "reason"),
                 created_by=actor.user.id if actor.user else None, created_at=now,
                 expires_at=expires_at)
    db.session.add(record)
    db.session.flush()
    audit.record(site, actor, "ban", target=f"{kind}:{record.value}"[:300],
                 note=("shadow ban. " if shadow else "") + record.reason, now=now)
    return record


def get_ban(ban_id: object) -> Ban:
    if isinstance(ban_id, bool) or not isinstance(ban_id, int):
        raise NotFound("No such ban.", code="unknown_ban")
    found = db.session.get(Ban, ban_id)
    if found is None:
        raise NotFound("No such ban.", code="unknown_ban")
    return found


def lift_ban(record: Ban, actor: Actor, *, note: object = "", now: datetime | None = None) -> Ban:
    """End a ban early; the row stays for the record."""
    now = now or utcnow()
    if record.site_id is None:
        if actor.user is None or not actor.user.is_admin:
            raise Forbidden("Only admins lift a ban on every site.")
    else:
        _require_moderator(actor, record.site_id)
    if record.lifted_at is not None:
        raise Conflict("This ban was already lifted.", code="already_handled")
    record.lifted_at = now
    audit.record(record.site_id, actor, "lift_ban", target=f"{record.kind}:{record.value}",
                 note=_check_text(note, MAX_NOTE, "note"), now=now)
    db.session.flush()
    return record


def list_bans(site: Site, *, now: datetime | None = None, limit: int = 200) -> list[Ban]:
    """A site's bans (and bans on every site), those in force first, newest first."""
    now = now or utcnow()
    rows = list(db.session.scalars(
        select(Ban).where(or_(Ban.site_id == site.id, Ban.site_id.is_(None)))
        .order_by(Ban.created_at.desc(), Ban.id.desc()).limit(limit)
    ))
    return sorted(rows, key=lambda b: not is_active(b, now))


def is_active(record: Ban, now: datetime) -> bool:
    return record.lifted_at is None and (record.expires_at is None or record.expires_at > now)


def author_filter(comment: Comment):
    """Every comment by the same author: the user, or the guest by email, browser key or IP."""
    if comment.user_id is not None:
        return Comment.user_id == comment.user_id
    keys = [(Comment.guest_email_key, comment.guest_email_key),
            (Comment.guest_key_hash, comment.guest_key_hash), (Comment.ip_hash, comment.ip_hash)]
    clauses = [column == value for column, value in keys if value]
    if not clauses:
        return Comment.id == comment.id
    return and_(Comment.user_id.is_(None), or_(*clauses))


def ban_author(comment: Comment, actor: Actor, *, remove: object = None, shadow: bool = False,
               reason: object = "", expires_at: datetime | None = None,
               now: datetime | None = None) -> tuple[list[Ban], int]:
    """Ban a comment's author and, in the same step, mark all their comments here deleted
    or spam (``remove``). Returns the bans and how many comments changed."""
    now = now or utcnow()
    site = db.session.get(Site, comment.site_id)
    _require_moderator(actor, comment.site_id)
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


# ---------------------------------------------------------------- queue actions


TARGET_STATUS_ACTION = {status: action for action, status in TARGET_STATUS.items()}


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
    from discuss.comments import set_status  # comments imports this module

    before = set_status(comment, target, thread=thread)
    _clear_reports(comment, now)
    audit.record(comment.site_id, actor, action, comment=comment, before=before, after=target,
                 note=note, now=now)


def _apply(comment: Comment, action: str, actor: Actor, note: str, now: datetime) -> None:
    thread = comment.thread
    if action == "restore":  # the undo of the last status change (discuss.undo)
        from discuss.undo import restore

        restore(comment, actor, note, now)
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
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
            raise InvalidInput("ids must be comment ids (numbers).", {"ids": "invalid"})
        if value not in clean:
            clean.append(value)
    return clean


def check_action(action: object) -> str:
    if action not in ACTIONS:
        raise InvalidInput("action must be one of " + ", ".join(ACTIONS) + ".",
                           {"action": "invalid"}, code="unknown_action")
    return str(action)


def act_on_comments(ids: object, action: object, actor: Actor, *, note: object = "",
                    expected: dict[int, str] | None = None,
                    now: datetime | None = None) -> list[ActionResult]:
    """Approve, reject, mark spam, delete, pin or unpin comments, each all or nothing.

    ``expected`` maps ids to the status the moderator saw: a comment that has changed since
    (another moderator acted) is reported as a conflict and left alone.
    """
    now = now or utcnow()
    if actor.user is None:
        raise NotSignedIn("Sign in as a moderator.")
    action = check_action(action)
    ids = check_ids(ids)
    note = _check_text(note, MAX_NOTE, "note")
    expected = expected or {}
    found = {c.id: c for c in db.session.scalars(
        select(Comment).options(joinedload(Comment.thread)).where(Comment.id.in_(ids))
    )}
    results = []
    for comment_id in ids:
        comment = found.get(comment_id)
        if comment is None:
            results.append(ActionResult(comment_id, "not_found", "No such comment."))
            continue
        if not actor.moderates(comment.site_id):
            results.append(ActionResult(comment_id, "forbidden",
                                        "You do not moderate this comment's site."))
            continue
        seen = expected.get(comment_id)
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


# ---------------------------------------------------------------- thread controls


def set_thread_closed(thread: Thread, actor: Actor, closed: bool, *, note: object = "",
                      now: datetime | None = None) -> Thread:
    """Close a thread (read-only, readers see a notice) or reopen it."""
    now = now or utcnow()
    _require_moderator(actor, thread.site_id)
    if thread.closed == closed:
        raise Conflict(f"This discussion is already {'closed' if closed else 'open'}.",
                       code="already_handled")
    thread.closed = closed
    thread.version = (thread.version or 0) + 1
    audit.record(thread.site_id, actor, "close" if closed else "reopen", thread_id=thread.id,
                 target=thread.key[:300], note=_check_text(note, MAX_NOTE, "note"), now=now)
    db.session.flush()
    return thread


def edit_as_moderator(comment: Comment, actor: Actor, body: object, *, note: object = "",
                      default_window: int = 900, now: datetime | None = None) -> Comment:
    """A moderator changes a comment's text (shown as edited by a moderator), audited."""
    from discuss.comments import edit_comment  # comments imports this module

    now = now or utcnow()
    _require_moderator(actor, comment.site_id)
    before = comment.status
    old_body = comment.body
    edit_comment(comment, actor, body, default_window=default_window, now=now)
    if comment.body != old_body:
        audit.record(comment.site_id, actor, "edit", comment=comment, before=before,
                     after=comment.status, note=_check_text(note, MAX_NOTE, "note"), now=now)
        db.session.flush()
    return comment


# ---------------------------------------------------------------- queue mail


def notify_moderators(site_ids: set[int] | list[int], *, every_minutes: int, link: str = "",
                      now: datetime | None = None) -> int:
    """Mail the moderators who asked for it that their queue has work, at most once every
    ``every_minutes`` each. Returns the number of mails queued."""
    from discuss.mail import queue_mail  # only needed when something entered a queue

    now = now or utcnow()
    if not site_ids or every_minutes < 0:
        return 0
    due = now - timedelta(minutes=every_minutes)
    rows = db.session.execute(
        select(SiteModerator, User.email, Site.slug)
        .join(User, User.id == SiteModerator.user_id)
        .join(Site, Site.id == SiteModerator.site_id)
        .where(SiteModerator.site_id.in_(list(site_ids)), User.notify_queue.is_(True),
               or_(SiteModerator.last_notified_at.is_(None),
                   SiteModerator.last_notified_at <= due))
    ).all()
    for moderator, email, slug in rows:
        moderator.last_notified_at = now
        where = f"{link.rstrip('/')}/moderate/{slug}/pending" if link else f"/moderate/{slug}"
        queue_mail(email, f"Comments wait for moderation on {slug}",
                   f"New comments wait in the moderation queue of {slug}.\n\n"
                   f"Open the queue: {where}\n\n"
                   f"You get at most one such mail every {every_minutes} minutes; "
                   "turn them off in your account.\n", now=now)
    return len(rows)


def on_reported(comment: Comment, *, now: datetime, default_threshold: int = 3) -> None:
    """Enough distinct readers' reports hold an approved comment until a moderator decides."""
    from discuss.comments import set_status, thread_of  # comments imports this module

    thread = thread_of(comment)
    threshold = thread.site.report_threshold or default_threshold
    if comment.status != Status.APPROVED or comment.report_count < threshold:
        return
    comment.held_reasons = [*(comment.held_reasons or []),
                            {"rule": "reports", "detail": f"{comment.report_count} reports"}]
    set_status(comment, Status.PENDING, thread=thread)
    note_queued(comment.site_id)
