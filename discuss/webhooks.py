"""Webhooks: a site's events POSTed, signed, to the publisher's own URL through an outbox.

A site's admin sets the URL and the secret (`discuss site-settings SLUG --webhook-url URL
--webhook-secret SECRET`, or the admin page). Each event becomes a ``WebhookDelivery`` row in
the transaction that made it (``queue_delivery``, called at commit by the web edge), so a
rolled-back change sends nothing and posting never waits for the publisher's server.
``deliver_due`` (run by `discuss deliver`) sends what is due: a JSON body, the same bytes on
every retry, with ``X-Discuss-Event``, ``X-Discuss-Delivery`` (the delivery's id, the same on
every retry: receivers drop repeats by it) and ``X-Discuss-Signature: sha256=<hex HMAC-SHA256
of the body keyed by the secret>``. A non-2xx answer, a redirect or no answer within
``TIMEOUT`` seconds is retried after ``retry_seconds`` × 2^(attempt − 1); after
``MAX_ATTEMPTS`` the delivery is given up and shown, with its last error, on the admin page.

The URL is trusted as an admin's choice (only admins set it): discuss calls whatever it names,
internal addresses included, so the admin page is the guard (see docs/feeds-and-webhooks.md).
Flushes, never commits, except ``deliver_due``, which commits each attempt itself.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import DeliveryState, Site, WebhookDelivery, utcnow
from discuss.text import CONTROL

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # the first and 7 retries: 30 s, 1, 2, 4, 8, 16, 32 min with the default
TIMEOUT = 10.0  # seconds for the whole exchange; the SPEC's "no answer within 10 s"
MAX_URL = 2048
MIN_SECRET, MAX_SECRET = 16, 200
PING = "ping"  # the admin page's test event
USER_AGENT = "discuss-webhooks/1"
# A claimed delivery is left alone by other workers this long past its attempt's timeout;
# a worker that died mid-attempt lets it be retried after that.
_LEASE = timedelta(seconds=60)


def check_url(value: object) -> str:
    """A webhook URL: http or https with a host, at most 2,048 characters ("" = none)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("The webhook URL is not valid.", {"webhook_url": "invalid"})
    url = value.strip()
    if not url:
        return ""
    if len(url) > MAX_URL or CONTROL.search(url) or any(c.isspace() for c in url):
        raise InvalidInput("The webhook URL is not valid.", {"webhook_url": "invalid"})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("The webhook URL is not valid.", {"webhook_url": "invalid"}) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The webhook URL must start with http:// or https:// and name a host.",
                           {"webhook_url": "scheme"})
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("Put no user name or password in the webhook URL; the secret signs "
                           "every request.", {"webhook_url": "credentials"})
    if port == 0:
        raise InvalidInput("The webhook URL is not valid.", {"webhook_url": "invalid"})
    return url


def check_secret(value: object) -> str:
    """A webhook secret: 16 to 200 characters, no control characters."""
    if not isinstance(value, str) or not MIN_SECRET <= len(value.strip()) <= MAX_SECRET \
            or CONTROL.search(value):
        raise InvalidInput("The webhook secret must have 16 to 200 characters.",
                           {"webhook_secret": "length"})
    return value.strip()


def generate_secret() -> str:
    """A new random secret (43 characters)."""
    return secrets.token_urlsafe(32)


def set_webhook(site: Site, url: object, secret: object = None) -> Site:
    """Send the site's events to ``url``, signed with ``secret`` (kept when not given); an
    empty URL turns webhooks off and forgets the secret."""
    url = check_url(url)
    if not url:
        if secret:
            raise InvalidInput("Give the webhook a URL as well as its secret.",
                               {"webhook_url": "missing"})
        return turn_off(site)
    if secret is not None and secret != "":
        site.webhook_secret = check_secret(secret)
    elif not site.webhook_secret:
        raise InvalidInput("Give the webhook a secret (16 to 200 characters): it signs every "
                           "request.", {"webhook_secret": "missing"})
    site.webhook_url = url
    db.session.flush()
    return site


def turn_off(site: Site) -> Site:
    """No more webhooks for the site (deliveries still waiting are given up when due)."""
    site.webhook_url = ""
    site.webhook_secret = ""
    db.session.flush()
    return site


def sign(secret: str, body: bytes) -> str:
    """The X-Discuss-Signature value of a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def queue_delivery(site: Site, event: str, data: dict[str, Any], *,
                   now: datetime | None = None) -> WebhookDelivery:
    """Queue one event for the site's webhook in the current transaction. ``data`` holds the
    payload's other fields (thread, comment); event, delivery id and site are added here."""
    now = now or utcnow()
    delivery_id = str(uuid.uuid4())
    payload = {"event": event, "delivery": delivery_id, "site": site.slug, **data}
    delivery = WebhookDelivery(
        delivery=delivery_id, event=event, site_id=site.id,
        # ASCII-only JSON: the bytes that are signed are the same whoever reads them.
        payload=json.dumps(payload, ensure_ascii=True, separators=(",", ":")),
        state=DeliveryState.PENDING, attempts=0, created_at=now, next_attempt_at=now,
        last_error="")
    db.session.add(delivery)
    return delivery


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: base × 2^(n − 1)."""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))


@dataclass
class Answer:
    """What one POST got: the HTTP status (None when none came) and an error text."""

    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT) -> Answer:
    """POST ``body`` to ``url`` and wait at most about ``timeout`` seconds for the answer's
    status. Redirects are not followed (a receiver answers where it was configured)."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    extra = {"context": ssl.create_default_context()} if https else {}
    connection = connection_class(parts.hostname or "", parts.port or (443 if https else 80),
                                  timeout=timeout, **extra)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    try:
        connection.request("POST", target, body=body, headers=headers)
        if connection.sock is not None:  # what is left of the time for the answer
            connection.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        response = connection.getresponse()
        response.read(65536)  # a little of the body, so the server is not cut off mid-answer
    except TimeoutError:
        return Answer(None, f"No answer within {timeout:g} seconds.")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return Answer(response.status)
    return Answer(response.status, f"HTTP {response.status} {response.reason}"[:500])


def _headers(delivery: WebhookDelivery, secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
            "X-Discuss-Event": delivery.event, "X-Discuss-Delivery": delivery.delivery,
            "X-Discuss-Signature": sign(secret, body)}


@dataclass
class Outcome:
    """What a run of ``deliver_due`` did."""

    delivered: int = 0
    retrying: int = 0
    given_up: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.given_up


def _claim(now: datetime, timeout: float, delivery_id: int | None = None) \
        -> tuple[WebhookDelivery, str, str] | None:
    """Take the next due delivery (or the one named): count the attempt and push its next
    attempt past this one's end, then commit, so that no other worker sends it meanwhile and
    no transaction stays open while the receiver answers. Returns it with the URL and
    secret to use, or None."""
    query = select(WebhookDelivery).where(WebhookDelivery.state == DeliveryState.PENDING)
    if delivery_id is None:
        query = query.where(WebhookDelivery.next_attempt_at <= now) \
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    else:
        query = query.where(WebhookDelivery.id == delivery_id)
    delivery = db.session.scalar(query.limit(1).with_for_update(skip_locked=True))
    if delivery is None:
        db.session.rollback()
        return None
    site = db.session.get(Site, delivery.site_id)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.next_attempt_at = now + timedelta(seconds=timeout) + _LEASE
    url, secret = (site.webhook_url, site.webhook_secret) if site is not None else ("", "")
    db.session.commit()
    return delivery, url, secret


def _record(delivery: WebhookDelivery, answer: Answer, *, now: datetime,
            retry_seconds: float) -> DeliveryState:
    delivery.last_status = answer.status
    delivery.last_error = answer.error[:500]
    if answer.ok:
        delivery.state = DeliveryState.DELIVERED
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = DeliveryState.FAILED
        log.warning("webhook delivery %s given up after %d attempts: %s", delivery.delivery,
                    delivery.attempts, answer.error)
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts, retry_seconds)
    db.session.commit()
    return delivery.state


def _attempt(claimed: tuple[WebhookDelivery, str, str], *, now: datetime, retry_seconds: float,
             timeout: float) -> DeliveryState:
    delivery, url, secret = claimed
    if not url or not secret:
        delivery.attempts = max(delivery.attempts, MAX_ATTEMPTS)
        return _record(delivery, Answer(None, "The site's webhook was turned off."), now=now,
                       retry_seconds=retry_seconds)
    body = delivery.payload.encode()
    answer = post(url, body, _headers(delivery, secret, body), timeout=timeout)
    return _record(delivery, answer, now=now, retry_seconds=retry_seconds)


def _count(outcome: Outcome, state: DeliveryState) -> None:
    if state == DeliveryState.DELIVERED:
        outcome.delivered += 1
    elif state == DeliveryState.FAILED:
        outcome.given_up += 1
    else:
        outcome.retrying += 1


def deliver_due(*, retry_seconds: float, timeout: float = TIMEOUT,
                now: datetime | None = None, limit: int = 100) -> Outcome:
    """Send up to ``limit`` due deliveries, one after the other; commits each attempt."""
    now = now or utcnow()
    outcome = Outcome()
    for _ in range(limit):
        claimed = _claim(now, timeout)
        if claimed is None:
            break
        _count(outcome, _attempt(claimed, now=now, retry_seconds=retry_seconds,
                                 timeout=timeout))
    return outcome


def deliver_now(delivery: WebhookDelivery, *, retry_seconds: float, timeout: float = TIMEOUT,
                now: datetime | None = None) -> WebhookDelivery:
    """Attempt one delivery at once (the admin page's test event); a failure is retried later
    like any other. Commits."""
    now = now or utcnow()
    delivery_id = delivery.id
    db.session.commit()
    claimed = _claim(now, timeout, delivery_id)
    if claimed is not None:
        _attempt(claimed, now=now, retry_seconds=retry_seconds, timeout=timeout)
    return db.session.get(WebhookDelivery, delivery_id)


def recent_deliveries(site: Site, limit: int = 20) -> list[WebhookDelivery]:
    """The site's latest deliveries, newest first (the admin page)."""
    return list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.site_id == site.id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)))
