"""Absolute links in mails: one builder, from DISCUSS_PUBLIC_URL (never the Host header).

They work in and outside a request (the URL map is bound by hand, so no SERVER_NAME is
needed): mail is queued at commit, sometimes by a command. The domain takes these functions as
arguments (``links.LinkBuilder``, ``notifications.ThreadLink``) and never builds a URL itself.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from discuss import notifications
from discuss.models import Thread

# A signed link's purpose -> the page that takes its token.
PURPOSE_ENDPOINTS = {
    "verify": "auth.verify",
    "email-change": "auth.confirm_email",
    "reset": "auth.reset",
    notifications.CONFIRM_PURPOSE: "notify.confirm",
    notifications.UNSUBSCRIBE_PURPOSE: "notify.unsubscribe",
}


def mail_link(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` with ``values``, on the service's public origin."""
    origin = current_app.config["DISCUSS_PUBLIC_URL"].rstrip("/")
    return origin + current_app.url_map.bind("service.invalid").build(endpoint, values)


def token_link(purpose: str, token: str) -> str:
    """The page that spends a signed link's token (a ``links.LinkBuilder``)."""
    return mail_link(PURPOSE_ENDPOINTS[purpose], token=token)


def thread_link(thread: Thread) -> str:
    """A thread's discussion page on this service (for threads without an article URL)."""
    return mail_link("embed.thread_page", site_slug=thread.site.slug, key=thread.key)


def queue_link(site_slug: str) -> str:
    """A site's pending moderation queue."""
    return mail_link("moderate.queue", slug=site_slug, queue="pending")
