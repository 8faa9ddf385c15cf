"""Reply notifications and guests' email confirmation: who is told what, by mail.

The web edge turns a transaction's events (``discuss.events``: comments posted, approved)
into outbox mail just before the commit (``mail_reply_notices``, ``mail_email_confirmations``),
so a rolled-back change tells nobody and the mail leaves only after the commit. A reply is
announced once, when it first becomes visible to others (approved, not shadowed), to the
parent's author if they asked for it and their address is confirmed: an account's verified
email, or a guest's address confirmed by a link (``ConfirmedEmail``).

Flushes, never commits; never reads the request or the app's config (callers pass the secret and
link builders in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.i18n import LANGUAGES, N_, _, ngettext
from discuss.ids import parse_id
from discuss.links import LinkBuilder, make_link_token, read_link_token
from discuss.mail import queue_mail
from discuss.models import (
    Comment,
    ConfirmedEmail,
    OutboxMessage,
    Site,
    Status,
    Thread,
    User,
    utcnow,
)
from discuss.reading import author_name
from discuss.rendering import excerpt

CONFIRM_PURPOSE = "guest-email"  # links.LINK_MAX_AGE: valid two days, single use
UNSUBSCRIBE_PURPOSE = "unsubscribe"
# The kinds of mail an unsubscribe link stops: replies in one discussion (a token naming the
# comment replied to) or a moderator's queue mails (a token naming the account and its address).
REPLIES, QUEUE_MAIL = "replies", "queue"
CONFIRM_SUBJECT = N_("Confirm your address")
CONFIRM_EVERY = timedelta(hours=24)
EXCERPT_LENGTH = 300
# Statuses of a parent comment whose author may still be told of replies.
_LIVE = (Status.APPROVED, Status.PENDING)

# thread -> absolute URL of its discussion page on this service (threads without an article URL)
ThreadLink = Callable[[Thread], str]


def _load(comment_ids: Iterable[int]) -> list[Comment]:
    ids = list(dict.fromkeys(comment_ids))
    if not ids:
        return []
    return list(db.session.scalars(
        select(Comment).options(joinedload(Comment.author), joinedload(Comment.thread))
        .where(Comment.id.in_(ids)).order_by(Comment.id)
    ).unique())


# ---------------------------------------------------------------- who gets told


def is_confirmed_guest_email(email_key: str) -> bool:
    return bool(email_key) and db.session.get(ConfirmedEmail, email_key) is not None


def confirmed_address(comment: Comment) -> tuple[str, str] | None:
    """(address, lower-cased key) where the comment's author can be mailed, or None: an
    account's verified email, or a guest's email confirmed by a link; never a typed one."""
    if comment.user_id is not None:
        user = comment.author
        if user is None or user.email_verified_at is None or not user.email:
            return None
        return user.email, user.email_key
    if not is_confirmed_guest_email(comment.guest_email_key):
        return None
    return comment.guest_email, comment.guest_email_key


def _same_author(reply: Comment, parent: Comment, address_key: str) -> bool:
    if reply.user_id is not None:
        return reply.user_id == parent.user_id or (
            reply.author is not None and reply.author.email_key == address_key)
    if reply.guest_email_key and reply.guest_email_key == address_key:
        return True
    return parent.user_id is None and bool(reply.guest_key_hash) and \
        reply.guest_key_hash == parent.guest_key_hash


@dataclass
class _Notice:
    address: str
    thread: Thread
    parent: Comment
    replies: list[Comment] = field(default_factory=list)


def mail_reply_notices(comment_ids: Iterable[int], *, secret: str, link: LinkBuilder,
                       thread_link: ThreadLink, now: datetime | None = None) -> int:
    """Mail the authors of the parents of replies that became visible, once per reply; one
    mail per address and thread. Returns the number of mails queued."""
    now = now or utcnow()
    replies = [c for c in _load(comment_ids)
               if c.parent_id is not None and not c.parent_notified
               and c.status == Status.APPROVED and not c.shadowed]
    if not replies:
        return 0
    parents = {c.id: c for c in _load(r.parent_id for r in replies)}
    notices: dict[tuple[str, int], _Notice] = {}
    for reply in replies:
        # Told (or not) once, when first published: a later re-approval tells nobody again.
        reply.parent_notified = True
        parent = parents.get(reply.parent_id)
        if parent is None or not parent.notify or parent.status not in _LIVE:
            continue
        address = confirmed_address(parent)
        if address is None or _same_author(reply, parent, address[1]):
            continue
        notice = notices.setdefault((address[1], reply.thread_id),
                                    _Notice(address[0], reply.thread, parent))
        notice.replies.append(reply)
    for notice in notices.values():
        _queue_notice(notice, secret=secret, link=link, thread_link=thread_link, now=now)
    db.session.flush()
    return len(notices)


def _reply_link(thread: Thread, reply: Comment, thread_link: ThreadLink) -> str:
    return f"{thread.url or thread_link(thread)}#comment-{reply.id}"


def _queue_notice(notice: _Notice, *, secret: str, link: LinkBuilder, thread_link: ThreadLink,
                  now: datetime) -> None:
    # Sent when the reply is published, perhaps in a moderator's request: in the site's
    # language, not the language of whoever happens to publish it.
    thread = notice.thread
    site = db.session.get(Site, thread.site_id)
    with force_locale(site.language if site is not None else "en"):
        title = thread.title or _("a discussion")
        count = len(notice.replies)
        if count == 1:
            name = author_name(notice.replies[0])
            subject = _("%(name)s replied to your comment on %(title)s", name=name, title=title)
            intro = _("%(name)s replied to your comment on “%(title)s”:", name=name, title=title)
        else:
            subject = ngettext("%(num)d new reply to your comments on %(title)s",
                               "%(num)d new replies to your comments on %(title)s", count,
                               title=title)
            intro = ngettext("%(num)d new reply to your comments on “%(title)s”:",
                             "%(num)d new replies to your comments on “%(title)s”:", count,
                             title=title)
        parts = [intro, ""]
        for reply in notice.replies:
            if count > 1:
                parts.append(_("%(name)s wrote:", name=author_name(reply)))
            parts += [f"  {excerpt(reply.body, EXCERPT_LENGTH)}", "",
                      _("Read the reply: %(link)s",
                        link=_reply_link(thread, reply, thread_link)), ""]
        stop = link(UNSUBSCRIBE_PURPOSE, unsubscribe_token(secret, notice.parent))
        parts += [_("You get this mail because you asked to be told of replies to your comment."),
                  _("Stop mails about replies in this discussion: %(link)s", link=stop), ""]
    queue_mail(notice.address, subject, "\n".join(parts), now=now, unsubscribe=stop)


# ---------------------------------------------------------------- unsubscribing


def _unsubscribe_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"discuss.link.{UNSUBSCRIBE_PURPOSE}")


def unsubscribe_token(secret: str, comment: Comment) -> str:
    """A signed token naming the comment whose replies were announced. It does not expire and
    may be used again (unsubscribing twice changes nothing)."""
    return _unsubscribe_serializer(secret).dumps({"c": comment.id,
                                                  "t": comment.created_at.timestamp()})


def queue_unsubscribe_token(secret: str, user: User) -> str:
    """A signed token that turns ``user``'s queue mails off, for the address it was mailed to
    (it stops working when the account's address changes). Never expires; may be used again."""
    return _unsubscribe_serializer(secret).dumps({"k": QUEUE_MAIL, "u": user.id,
                                                  "e": user.email_key})


def _invalid_link() -> InvalidInput:
    return InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")


def _read_unsubscribe_token(secret: str, token: object) -> dict:
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise _invalid_link()
    try:
        payload: Any = _unsubscribe_serializer(secret).loads(token)
    except BadSignature as exc:
        raise _invalid_link() from exc
    if not isinstance(payload, dict):
        raise _invalid_link()
    return payload


def to_unsubscribe(secret: str, token: object) -> Comment | User:
    """What an unsubscribe link stops: the comment whose replies are announced (REPLIES), or
    the account whose queue mails it turns off (QUEUE_MAIL); InvalidInput for a forged or
    stale link."""
    payload = _read_unsubscribe_token(secret, token)
    if payload.get("k", REPLIES) == REPLIES:
        return comment_to_unsubscribe(secret, token, payload=payload)
    if payload.get("k") != QUEUE_MAIL:
        raise _invalid_link()
    user_id = payload.get("u")
    user = db.session.get(User, user_id) \
        if isinstance(user_id, int) and parse_id(user_id) is not None else None
    if user is None or payload.get("e") != user.email_key:
        raise InvalidInput("This account no longer has that address; change your mail "
                           "settings on your account page.", {"token": "gone"},
                           code="invalid_link")
    return user


def comment_to_unsubscribe(secret: str, token: object, *,
                           payload: dict | None = None) -> Comment:
    """The comment an unsubscribe link names, or InvalidInput for a forged or stale link."""
    payload = payload if payload is not None else _read_unsubscribe_token(secret, token)
    comment_id = payload.get("c")
    comment = db.session.get(Comment, comment_id, options=[joinedload(Comment.thread)]) \
        if parse_id(comment_id) is not None and isinstance(comment_id, int) else None
    if comment is None or payload.get("t") != comment.created_at.timestamp():
        # Gone, or another comment than the one the link was mailed about.
        raise InvalidInput("This comment no longer exists; no more mail will be sent about it.",
                           {"token": "gone"}, code="invalid_link")
    return comment


def stop_queue_mail(user: User) -> bool:
    """Turn a moderator's queue mails (each and daily) off; whether they were on."""
    was_on = user.notify_queue
    user.notify_queue = False
    db.session.flush()
    return was_on


def stop_notifications(comment: Comment) -> int:
    """Turn reply notifications off for every comment by the same author in the comment's
    thread (the account, or the guest's email address). Returns how many were on."""
    same_author = Comment.user_id == comment.user_id if comment.user_id is not None else (
        Comment.user_id.is_(None) & (Comment.guest_email_key == comment.guest_email_key)
        if comment.guest_email_key else Comment.id == comment.id)
    result = db.session.execute(
        update(Comment).where(Comment.thread_id == comment.thread_id, same_author,
                              Comment.notify.is_(True))
        .values(notify=False).execution_options(synchronize_session=False))
    db.session.expire(comment, ["notify"])
    db.session.flush()
    return result.rowcount or 0


# ---------------------------------------------------------------- confirming a guest's email


def _in_every_language(text: str) -> list[str]:
    """A text in every language discuss speaks (a subject looked for in the outbox)."""
    found = {text}
    for lang in LANGUAGES:
        with force_locale(lang):
            found.add(_(text))
    return sorted(found)


def _confirmation_sent_recently(email_key: str, now: datetime) -> bool:
    return db.session.scalar(select(OutboxMessage.id).where(
        func.lower(OutboxMessage.recipient) == email_key,
        OutboxMessage.subject.in_(_in_every_language(CONFIRM_SUBJECT)),
        OutboxMessage.created_at > now - CONFIRM_EVERY,
    ).limit(1)) is not None


def mail_email_confirmations(comment_ids: Iterable[int], *, secret: str, link: LinkBuilder,
                             now: datetime | None = None) -> int:
    """Mail a confirmation link to the unconfirmed addresses guests typed with these comments,
    at most once a day per address, never for spam. Returns the number of mails queued."""
    now = now or utcnow()
    sent = 0
    seen: set[str] = set()
    for comment in _load(comment_ids):
        key = comment.guest_email_key
        if comment.user_id is not None or not key or key in seen or comment.shadowed \
                or comment.status not in _LIVE:
            continue
        seen.add(key)
        if is_confirmed_guest_email(key) or _confirmation_sent_recently(key, now):
            continue
        token = make_link_token(secret, CONFIRM_PURPOSE, {"u": comment.id, "e": key})
        title = comment.thread.title or _("a discussion")
        queue_mail(comment.guest_email, _(CONFIRM_SUBJECT),
                   _("You commented on “%(title)s” with this address.\n\n"
                     "Confirm your address to be notified of replies and to be recognised as a "
                     "known commenter. Open this link (valid for 2 days) and press the "
                     "button:\n\n%(link)s\n\n"
                     "If it was not you, ignore this mail: nothing more is sent to an address "
                     "that was not confirmed.", title=title, link=link(CONFIRM_PURPOSE, token))
                   + "\n", now=now)
        sent += 1
    return sent


def confirm_guest_email(token: object, *, secret: str, now: datetime | None = None) -> str:
    """Spend a confirmation link: its address counts as confirmed from now on. Returns it."""
    now = now or utcnow()
    payload = read_link_token(secret, CONFIRM_PURPOSE, token, now=now)
    email_key = payload.get("e")
    if not isinstance(email_key, str) or not email_key:
        raise InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")
    if db.session.get(ConfirmedEmail, email_key) is None:
        try:
            with db.session.begin_nested():
                db.session.add(ConfirmedEmail(email_key=email_key, confirmed_at=now))
        except IntegrityError:
            pass  # confirmed by another link at the same moment: the same outcome
    db.session.flush()
    return email_key
