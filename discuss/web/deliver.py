"""`flask --app wsgi discuss deliver [--loop]` (alias `send-mail`): send what the outbox holds.

One pass sends the mail that is due (``discuss.mail.send_due``), the moderators' daily digests
that are due (``discuss.queue_notices.send_digests``) and the webhook deliveries that are due
(``discuss.webhooks.deliver_due``), and once an hour forgets the spent tokens that expired
long ago (``discuss.links.forget_old_spent``); ``--loop`` repeats it every few seconds. It lives
at the web edge because the digests' links are built here (``discuss.web.mail_links``);
requests never send webhooks themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from discuss import links, mail, queue_notices, webhooks
from discuss.extensions import db
from discuss.models import utcnow
from discuss.web.mail_links import queue_link, token_link

LOOP_SECONDS = 5
FORGET_SPENT_EVERY = timedelta(hours=1)


@dataclass
class Sent:
    """What one pass sent."""

    mails: int
    digests: int
    webhooks: webhooks.Outcome


def deliver_once(*, now: datetime | None = None, timeout: float = webhooks.TIMEOUT) -> Sent:
    """One pass: digests are queued first so that they leave in the same pass as other mail."""
    now = now or utcnow()
    config = current_app.config
    digests = queue_notices.send_digests(queue_link=queue_link, secret=config["SECRET_KEY"],
                                         link=token_link, now=now)
    db.session.commit()
    mails = mail.send_due(config, now=now)
    hooks = webhooks.deliver_due(retry_seconds=config["DISCUSS_WEBHOOK_RETRY_SECONDS"],
                                 timeout=timeout, now=now)
    _forget_old_spent(now)
    return Sent(mails, digests, hooks)


def _forget_old_spent(now: datetime) -> None:
    """Housekeeping, at most once an hour per process: the table of spent tokens keeps only
    what could still be presented."""
    last = current_app.extensions.get("discuss.spent_forgotten_at")
    if last is not None and now - last < FORGET_SPENT_EVERY:
        return
    links.forget_old_spent(now=now)
    db.session.commit()
    current_app.extensions["discuss.spent_forgotten_at"] = now


def _report(sent: Sent) -> None:
    click.echo(f"Sent {sent.mails} message(s).")
    if sent.digests:
        click.echo(f"Queued {sent.digests} daily digest(s).")
    if sent.webhooks.attempted:
        click.echo(f"Webhooks: {sent.webhooks.delivered} delivered, {sent.webhooks.retrying} "
                   f"to retry, {sent.webhooks.given_up} given up.")


@click.command("deliver")
@click.option("--loop", is_flag=True,
              help=f"Keep going: a pass every {LOOP_SECONDS} seconds until stopped.")
@with_appcontext
def deliver_command(loop: bool) -> None:
    """Send the mail, daily digests and webhooks that are due (from cron, or with --loop as a
    service); failed ones are retried later with backoff."""
    while True:
        sent = deliver_once()
        if not loop or sent.mails or sent.webhooks.attempted:
            _report(sent)
        if not loop:
            return
        db.session.remove()  # a fresh session per pass: nothing stale is kept between them
        time.sleep(LOOP_SECONDS)
