"""The one home of what a transaction's events set off: outbox writers before the commit, live
updates and the outbox flush after it.

``init_app`` (called once by ``create_app``) listens on the database session:
- before each flush: whether mail was queued in a request (the outbox is flushed once the
  answer has gone out);
- before each commit: the transaction's Event rows (``events.take_recorded``) are handed, in
  order, to each function of ``OUTBOX_WRITERS`` (they write outbox rows in the same
  transaction, so nothing leaves unless it commits), and the public ones become live messages;
- after the commit: the live messages are published (``discuss.web.live``);
- when the whole transaction ends (commit or rollback): whatever is left is forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from discuss import events, mail, notifications, policy, queue_notices
from discuss.extensions import db
from discuss.models import Event, EventKind, OutboxMessage, utcnow
from discuss.web import live
from discuss.web.mail_links import queue_link, thread_link, token_link
from discuss.web.webhook_events import queue_webhooks

log = logging.getLogger(__name__)

# session.info key: live messages of the transaction, published after its commit.
LIVE_KEY = "discuss.live_messages"


def mail_replies_and_confirmations(recorded: list[Event]) -> None:
    """Reply notices for replies that became public, address confirmations for new guest
    comments with an email (both check the comment again before mailing)."""
    replies = [e.comment_id for e in recorded if e.public and e.comment.parent_id is not None]
    typed = [e.comment_id for e in recorded if e.kind == EventKind.CREATED
             and e.comment.user_id is None and e.comment.guest_email_key]
    if not (replies or typed):
        return
    secret = current_app.config["SECRET_KEY"]
    now = utcnow()
    if typed:
        notifications.mail_email_confirmations(typed, secret=secret, link=token_link, now=now)
    if replies:
        notifications.mail_reply_notices(replies, secret=secret, link=token_link,
                                         thread_link=thread_link, now=now)


def mail_queue_watchers(recorded: list[Event]) -> None:
    """The moderators of sites whose queue grew in this transaction (noted by
    ``policy.note_queued``: a new held comment, an edit or reports sending one back)."""
    site_ids = db.session.info.pop(policy.QUEUED_SITES_KEY, None)
    if site_ids:
        queue_notices.notify_moderators(
            site_ids, every_minutes=current_app.config["DISCUSS_QUEUE_MAIL_MINUTES"],
            queue_link=queue_link, secret=current_app.config["SECRET_KEY"], link=token_link)


# Called in order with the transaction's events, before its commit, inside it.
OUTBOX_WRITERS: tuple[Callable[[list[Event]], None], ...] = (
    mail_replies_and_confirmations,
    mail_queue_watchers,
    queue_webhooks,
)


def _before_commit(session: Session) -> None:
    recorded = events.take_recorded(session)
    if not has_app_context():
        return
    for write in OUTBOX_WRITERS:
        write(recorded)
    public = [e for e in recorded if e.public]
    if public:
        session.info.setdefault(LIVE_KEY, []).extend(live.messages(public))


def _after_commit(session: Session) -> None:
    messages = session.info.pop(LIVE_KEY, None)
    if messages and has_app_context():
        live.publish(current_app.config, messages)


def _forget(session: Session, transaction) -> None:
    # Only when the whole transaction ends: a savepoint rolled back inside it (one comment of
    # a bulk action) leaves the others' events and notes.
    if transaction.parent is None:
        events.forget_recorded(session)
        session.info.pop(policy.QUEUED_SITES_KEY, None)
        session.info.pop(LIVE_KEY, None)


def _note_queued_mail(session: Session, flush_context, instances) -> None:
    # The outbox is flushed once the request that queued mail has answered (after its commit).
    # Outside a request (CLI), `flask discuss send-mail` sends it.
    if has_request_context() and any(isinstance(o, OutboxMessage) for o in session.new):
        g.mail_queued = True


def _flush_outbox(app: Flask) -> None:
    with app.app_context():
        try:
            mail.send_due(app.config)
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("sending queued mail failed; `flask discuss send-mail` will retry")


def _send_mail_after_response(response: Response) -> Response:
    if g.pop("mail_queued", False):
        app = current_app._get_current_object()
        response.call_on_close(lambda: _flush_outbox(app))
    return response


_LISTENERS = (("before_flush", _note_queued_mail), ("before_commit", _before_commit),
              ("after_commit", _after_commit), ("after_transaction_end", _forget))


def init_app(app: Flask) -> None:
    """Install the dispatcher on the session (once per process) and the outbox flush."""
    app.after_request(_send_mail_after_response)
    for name, listener in _LISTENERS:
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
