"""The outbox: every mail the service sends is queued here and sent after the commit.

``queue_mail`` adds a message to the current transaction (domain-safe: it flushes, never
commits), so a rolled-back request sends nothing. ``send_due`` is the outbox's worker: the web
edge runs it once a request that queued mail has been answered, and ``flask discuss deliver``
(alias ``send-mail``) runs it from cron or in a loop. It works outside any request transaction
and commits each message's outcome itself, so a crash never sends a message twice. Without
``DISCUSS_MAIL_HOST`` messages are written to the log instead (``make run`` works without a
mail server).

A notification (reply notices, moderators' queue mail and digest) carries its one-click
unsubscribe URL: sent as ``List-Unsubscribe`` with ``List-Unsubscribe-Post`` (RFC 8058), so mail
programs offer an "Unsubscribe" button that POSTs to it without opening a page.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SMTP_TIMEOUT = 10  # seconds; a slow server delays only the outbox worker, never a reader


def queue_mail(to: str, subject: str, body: str, *, now: datetime | None = None,
               unsubscribe: str = "") -> OutboxMessage:
    """Queue a plain-text mail in the current transaction; it is sent after the commit.

    ``unsubscribe``: a notification's one-click unsubscribe URL (https, or http on a test
    service), sent in the List-Unsubscribe headers."""
    now = now or utcnow()
    message = OutboxMessage(recipient=to, subject=subject[:300], body=body, created_at=now,
                            send_after=now, attempts=0, last_error="",
                            list_unsubscribe=unsubscribe)
    db.session.add(message)
    db.session.flush()
    return message


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a failed send: 1, 2, 4, … minutes, at most 4 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 240))


def _as_email(config: Mapping[str, Any], message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config["DISCUSS_MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(domain=config["DISCUSS_MAIL_SENDER"].rpartition("@")[2]
                                     or "localhost")
    if message.list_unsubscribe:
        # RFC 2369 + RFC 8058: a POST of "List-Unsubscribe=One-Click" to this URL, without
        # cookies, unsubscribes (the token in the URL names the recipient and the kind).
        email["List-Unsubscribe"] = f"<{message.list_unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body)
    return email


def _deliver(config: Mapping[str, Any], message: OutboxMessage) -> None:
    host = config.get("DISCUSS_MAIL_HOST")
    if not host:
        # Nowhere to send to: the log is the mailbox (development, `make run`).
        log.info("mail to %s: %s\n%s", message.recipient, message.subject, message.body)
        return
    with smtplib.SMTP(host, config["DISCUSS_MAIL_PORT"], timeout=SMTP_TIMEOUT) as smtp:
        if config.get("DISCUSS_MAIL_STARTTLS"):
            smtp.starttls()
        if config.get("DISCUSS_MAIL_USERNAME"):
            smtp.login(config["DISCUSS_MAIL_USERNAME"], config.get("DISCUSS_MAIL_PASSWORD") or "")
        smtp.send_message(_as_email(config, message))


def _next_due(now: datetime) -> OutboxMessage | None:
    # SKIP LOCKED: several processes can flush the outbox without sending a message twice
    # (PostgreSQL; SQLite has one writer and ignores it).
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.send_after <= now,
               OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.send_after, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def send_due(config: Mapping[str, Any], *, now: datetime | None = None,
             limit: int = 100) -> int:
    """Send up to ``limit`` due messages; failures are retried later with backoff.

    Returns the number sent. Commits after each message.
    """
    now = now or utcnow()
    sent = 0
    seen: set[int] = set()
    for _ in range(limit):
        message = _next_due(now)
        if message is None or message.id in seen:
            db.session.rollback()
            break
        seen.add(message.id)
        try:
            _deliver(config, message)
        except (smtplib.SMTPException, OSError) as exc:
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            message.send_after = now + retry_delay(message.attempts)
            log.warning("mail to %s failed (attempt %d): %s", message.recipient,
                        message.attempts, type(exc).__name__)
        else:
            message.attempts += 1
            message.sent_at = now
            sent += 1
        db.session.commit()
    return sent
