"""Posting policy: the status a new or edited comment gets ("does this comment wait?").

The site's moderation policy plus the spam verdict plus shadow bans decide it; a comment that
enters a queue is noted for the moderators' mail (sent by the web edge at commit). Reads only.
"""

from __future__ import annotations

from datetime import datetime

from discuss import trust
from discuss.bans import is_shadow_banned
from discuss.extensions import db
from discuss.models import Comment, ModerationPolicy, Site, Status
from discuss.permissions import Actor
from discuss.spam import PENDING, SPAM, Verdict

# Sites whose pending queue grew in this transaction; the web edge mails moderators at commit.
QUEUED_SITES_KEY = "discuss.queued_sites"


def note_queued(site_id: int) -> None:
    """Remember that something entered a site's queue (for the moderators' mail)."""
    db.session.info.setdefault(QUEUED_SITES_KEY, set()).add(site_id)


def initial_status(site: Site, actor: Actor, verdict: Verdict, *, email_key: str,
                   now: datetime) -> Status:
    """The status of a new comment under the site's policy and the spam verdict (a shadow ban
    adds its reason to the verdict's). Whoever writes it notes a pending one (note_queued)."""
    status = _policy_status(site, actor, email_key, verdict, now)
    if status != Status.SPAM and not actor.moderates(site) and \
            is_shadow_banned(site, actor, email_key, now=now):
        # Its author sees it published; everyone else, and the thread's count, never do.
        verdict.reasons.append({"rule": "shadow_ban", "detail": "the author is shadow banned"})
        return Status.SPAM
    return status


def _policy_status(site: Site, actor: Actor, email_key: str, verdict: Verdict,
                   now: datetime) -> Status:
    if verdict.action == SPAM:
        return Status.SPAM
    if actor.moderates(site):
        return Status.APPROVED
    if verdict.action == PENDING or site.moderation == ModerationPolicy.PRE:
        return Status.PENDING
    if site.moderation == ModerationPolicy.POST:
        return Status.APPROVED
    return Status.APPROVED if trust.is_trusted(site, actor, email_key, now=now) \
        else Status.PENDING


def status_after_edit(site: Site, comment: Comment, verdict: Verdict) -> Status:
    """An edit that trips a rule sends an approved comment back to the queue."""
    if verdict.action == SPAM:
        return Status.SPAM
    if verdict.action == PENDING and comment.status == Status.APPROVED:
        note_queued(site.id)
        return Status.PENDING
    return comment.status
