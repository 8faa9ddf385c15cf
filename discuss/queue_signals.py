"""What a moderator sees about each queued comment beyond its text and author's history: the
author's trust at a glance, the learned filter's opinion, and what the latest edit changed.

Built for one queue page in a fixed number of queries whatever its length (on top of
discuss.queues): the authors' last spam, their approvals since where needed, confirmed guest
addresses, the page's edits and the site's model. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from discuss import history, learning, queues, trust
from discuss.extensions import db
from discuss.models import Comment, ConfirmedEmail, Site, Status


@dataclass(frozen=True)
class TrustGlance:
    """An author's trust on the site, as the queue shows it."""

    known: bool
    trusted: bool
    approved: int  # approved since the last comment marked spam
    spam: int
    needed: int

    @property
    def label(self) -> str:
        if not self.known:
            return "not trusted: a guest without a confirmed email"
        if self.trusted:
            return f"trusted ({self.approved} approved)"
        if self.spam:
            return (f"trust lost: {self.spam} marked spam; {self.approved} of {self.needed} "
                    "approvals to earn it back")
        return f"not trusted yet: {self.approved} of {self.needed} approved"

    def standing(self) -> trust.Standing:
        return trust.Standing(known=self.known, approved=self.approved, spam=self.spam)


@dataclass
class Signals:
    trust: TrustGlance
    score: learning.Score | None = None
    versions: list[history.Version] = field(default_factory=list)
    diff: list[tuple[str, str]] = field(default_factory=list)


def _trust_by_author(site: Site, items: list[queues.QueueItem]) -> dict[str, TrustGlance]:
    rows = [item.comment for item in items]
    who = queues.authors_filter(rows)
    key = queues.AUTHOR_KEY.label("author_key")
    last_spam: dict[str, datetime] = {}
    if who is not None:
        last_spam = {k: queues.as_aware(t) for k, t in db.session.execute(
            select(key, func.max(Comment.created_at))
            .where(Comment.site_id == site.id, who, Comment.status == Status.SPAM)
            .group_by(key))}
    since_spam: dict[str, int] = {}
    if last_spam:
        spammed = [c for c in rows if queues.author_key(c) in last_spam]
        for author, created in db.session.execute(
            select(key, Comment.created_at)
            .where(Comment.site_id == site.id, queues.authors_filter(spammed),
                   Comment.status == Status.APPROVED,
                   Comment.created_at > min(last_spam.values()))
        ):
            if author in last_spam and queues.as_aware(created) > last_spam[author]:
                since_spam[author] = since_spam.get(author, 0) + 1
    emails = {c.guest_email_key for c in rows if c.user_id is None and c.guest_email_key}
    confirmed = set(db.session.scalars(select(ConfirmedEmail.email_key)
                                       .where(ConfirmedEmail.email_key.in_(emails)))) \
        if emails else set()
    glances: dict[str, TrustGlance] = {}
    for item in items:
        author = item.author.key
        if author in glances:
            continue
        c = item.comment
        known = c.user_id is not None or (bool(c.guest_email_key)
                                          and c.guest_email_key in confirmed)
        approved = since_spam.get(author, 0) if author in last_spam \
            else item.author.counts.get("approved", 0)
        spam = item.author.counts.get("spam", 0)
        approved = min(approved, trust.COUNT_CAP)
        standing = trust.Standing(known=known, approved=approved, spam=spam)
        glances[author] = TrustGlance(known, standing.is_trusted(site.trust_after), approved,
                                      spam, max(1, site.trust_after))
    return glances


def signals_for(site: Site, items: list[queues.QueueItem]) -> dict[int, Signals]:
    """Each queued comment's signals, by comment id."""
    if not items:
        return {}
    glances = _trust_by_author(site, items)
    versions = history.versions_by_comment([item.comment for item in items])
    model = learning.current_model(site.id) if site.spam_filter else None
    if model is not None and not model.is_ready:
        model = None
    result = {}
    for item in items:
        c = item.comment
        glance = glances[item.author.key]
        score = learning.score_comment(model, c, glance.standing()) if model else None
        edits = versions.get(c.id, [])
        result[c.id] = Signals(glance, score, edits, history.last_change(edits))
    return result
