"""A transaction's events as webhook deliveries: the payload's shape, written before the commit.

``queue_webhooks`` is one of the dispatcher's outbox writers: for each event of a site that has
a webhook it queues a delivery whose payload is ``{"event", "delivery", "site", "thread": {"key",
"url", "title"}, "comment": {…as in the API, plus "body"}}``, in the same transaction, so the
delivery exists only if the change does. ``queue_test_event`` is the admin page's "ping". The
sending is `discuss deliver`'s (``discuss.webhooks.deliver_due``), never the request's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from discuss import webhooks
from discuss.extensions import db
from discuss.models import Comment, Event, EventKind, Site, Thread, WebhookDelivery, utcnow
from discuss.web.present import comment_json


def _absolute(url: str) -> str:
    # The API's avatar links are paths on this service; a receiver needs the whole URL.
    if url.startswith("/"):
        return current_app.config["DISCUSS_PUBLIC_URL"].rstrip("/") + url
    return url


def thread_payload(thread: Thread) -> dict[str, str]:
    """The payload's ``thread``."""
    return {"key": thread.key, "url": thread.url, "title": thread.title}


def comment_payload(comment: Comment, *, deleted: bool = False) -> dict[str, Any]:
    """The payload's ``comment``: as the API shows it (without replies), plus its Markdown
    ``body``; a deleted comment keeps only its place (no author, text or body)."""
    data = comment_json(comment, placeholder=deleted)
    data.pop("replies", None)
    if data["author"] is not None:
        data["author"]["avatar_url"] = _absolute(data["author"]["avatar_url"])
    data["body"] = "" if deleted else comment.body
    return data


def _payloads(events: list[Event],
              comments: dict[int, Comment]) -> Iterable[tuple[Site, str, dict]]:
    for event in events:
        site = db.session.get(Site, event.site_id)  # in the identity map: posting loaded it
        comment = comments.get(event.comment_id)
        if site is None or comment is None:
            continue
        yield site, event.kind, {
            "thread": thread_payload(comment.thread),
            "comment": comment_payload(comment, deleted=event.kind == EventKind.DELETED)}


def queue_webhooks(events: list[Event]) -> None:
    """The dispatcher's outbox writer: a delivery per event of a site with a webhook."""
    wanted = [e for e in events
              if (site := db.session.get(Site, e.site_id)) is not None and site.webhook_url]
    if not wanted:
        return
    comments = {c.id: c for c in db.session.scalars(
        select(Comment).options(joinedload(Comment.author), joinedload(Comment.thread))
        .where(Comment.id.in_({e.comment_id for e in wanted})))}
    now = utcnow()
    if has_request_context():
        found = list(_payloads(wanted, comments))
    else:  # a command: comment_json builds avatar links as a request would
        with current_app.test_request_context(base_url=current_app.config["DISCUSS_PUBLIC_URL"]):
            found = list(_payloads(wanted, comments))
    for site, kind, data in found:
        webhooks.queue_delivery(site, str(kind), data, now=now)
    db.session.flush()


def queue_test_event(site: Site) -> WebhookDelivery:
    """A ``ping`` for the site's webhook, with an empty thread and comment."""
    delivery = webhooks.queue_delivery(site, webhooks.PING, {"thread": None, "comment": None})
    db.session.flush()
    return delivery
