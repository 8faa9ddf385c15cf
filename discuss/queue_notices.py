"""Mail to moderators about their queues: a notice as comments arrive, or a daily digest.

Each moderator chooses (``accounts.set_queue_mail``): ``off``; ``each``, a notice when comments
start waiting on one of their sites, at most one per site every DISCUSS_QUEUE_MAIL_MINUTES
(queued at the commit that held the comment); or ``daily``, no notice but at most one digest
per UTC day, sent by `discuss deliver` while something waits in the pending or reported queue,
with each queue's size, the oldest waiting comments and links. Every one of these mails carries
a one-click unsubscribe link (RFC 8058) that turns them off.

Written in the site's default language (the moderator's first site's for a digest): they are
sent from whoever's request held the comment, or from a command. Flushes, never commits; links
come in as functions and the secret as an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from flask_babel import force_locale
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from discuss import queues
from discuss.extensions import db
from discuss.i18n import _, ngettext
from discuss.links import LinkBuilder
from discuss.mail import queue_mail
from discuss.models import Comment, Site, SiteModerator, Status, User, utcnow
from discuss.notifications import UNSUBSCRIBE_PURPOSE, queue_unsubscribe_token
from discuss.permissions import Actor
from discuss.reading import author_name
from discuss.rendering import excerpt

# site slug -> absolute URL of its pending moderation queue
QueueLink = Callable[[str], str]
DIGEST_EXCERPTS = 3  # oldest pending comments quoted per site
EXCERPT_LENGTH = 160


def _stop_link(user: User, secret: str, link: LinkBuilder) -> str:
    return link(UNSUBSCRIBE_PURPOSE, queue_unsubscribe_token(secret, user))


def notify_moderators(site_ids: Iterable[int], *, every_minutes: int, queue_link: QueueLink,
                      secret: str, link: LinkBuilder, now: datetime | None = None) -> int:
    """Mail the moderators of these sites who chose ``each`` that their queue has work, at most
    once every ``every_minutes`` each. Returns the number of mails queued."""
    now = now or utcnow()
    site_ids = list(site_ids)
    if not site_ids or every_minutes < 0:
        return 0
    due = now - timedelta(minutes=every_minutes)
    rows = db.session.execute(
        select(SiteModerator, User, Site)
        .join(User, User.id == SiteModerator.user_id)
        .join(Site, Site.id == SiteModerator.site_id)
        .where(SiteModerator.site_id.in_(site_ids), User.notify_queue.is_(True),
               User.queue_digest.is_(False),
               or_(SiteModerator.last_notified_at.is_(None),
                   SiteModerator.last_notified_at <= due))
    ).all()
    for moderator, user, site in rows:
        moderator.last_notified_at = now
        stop = _stop_link(user, secret, link)
        with force_locale(site.language):
            subject = _("Comments wait for moderation on %(site)s", site=site.slug)
            body = [_("New comments wait in the moderation queue of %(site)s.", site=site.slug),
                    "", _("Open the queue: %(link)s", link=queue_link(site.slug)), "",
                    ngettext("You get at most one such mail every %(num)d minute.",
                             "You get at most one such mail every %(num)d minutes.",
                             every_minutes),
                    _("Stop these mails: %(link)s", link=stop), ""]
        queue_mail(user.email, subject, "\n".join(body), now=now, unsubscribe=stop)
    return len(rows)


def _oldest_pending(site: Site) -> list[Comment]:
    return list(db.session.scalars(
        select(Comment).options(joinedload(Comment.author), joinedload(Comment.thread))
        .where(Comment.site_id == site.id, Comment.status == Status.PENDING)
        .order_by(Comment.created_at, Comment.id).limit(DIGEST_EXCERPTS)))


def _digest_lines(waiting: list[queues.SiteQueues], queue_link: QueueLink) -> list[str]:
    lines: list[str] = []
    for site_queues in waiting:
        site, sizes = site_queues.site, site_queues.sizes
        lines += [_("%(site)s: %(pending)d pending, %(reported)d reported, %(spam)d spam",
                    site=site.slug, pending=sizes["pending"], reported=sizes["reported"],
                    spam=sizes["spam"]),
                  "  " + _("Open the queue: %(link)s", link=queue_link(site.slug))]
        for comment in _oldest_pending(site) if sizes["pending"] else []:
            lines.append("  – " + _("%(name)s on “%(title)s”: %(excerpt)s",
                                    name=author_name(comment),
                                    title=comment.thread.title or comment.thread.key,
                                    excerpt=excerpt(comment.body, EXCERPT_LENGTH)))
        lines.append("")
    return lines


def _start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def send_digests(*, queue_link: QueueLink, secret: str, link: LinkBuilder,
                 now: datetime | None = None) -> int:
    """Queue today's digest for each moderator who chose ``daily``, has not had one today
    (UTC) and has comments waiting (pending or reported) on a site they moderate (admins:
    every site). Returns the number of digests queued."""
    now = now or utcnow()
    readers = db.session.scalars(
        select(User).where(User.notify_queue.is_(True), User.queue_digest.is_(True),
                           or_(User.queue_digest_at.is_(None),
                               User.queue_digest_at < _start_of_day(now)))
        .order_by(User.id)).all()
    sent = 0
    for user in readers:
        waiting = [s for s in queues.dashboard(Actor(user=user))
                   if s.sizes["pending"] or s.sizes["reported"]]
        if not waiting:
            continue  # nothing today (yet): asked again on the next run
        user.queue_digest_at = now
        stop = _stop_link(user, secret, link)
        total = sum(s.sizes["pending"] + s.sizes["reported"] for s in waiting)
        with force_locale(waiting[0].site.language):
            subject = ngettext("%(num)d comment waits for moderation",
                               "%(num)d comments wait for moderation", total)
            body = [_("What waits in your moderation queues today:"), "",
                    *_digest_lines(waiting, queue_link),
                    _("You get this summary at most once a day, while comments wait."),
                    _("Stop these mails: %(link)s", link=stop), ""]
        queue_mail(user.email, subject, "\n".join(body), now=now, unsubscribe=stop)
        sent += 1
    db.session.flush()
    return sent
