"""Mailed links about reply notifications, and the commit hook that queues those mails.

Pages: ``/notify/confirm/<token>`` (a guest confirms the address they typed) and
``/notify/unsubscribe/<token>`` (stop mails about replies in one discussion, or a moderator's
queue mails; also the target of the mails' one-click List-Unsubscribe). Opening a link
shows a button; only the button's POST changes anything, so mail scanners that open links
change nothing. Just before every commit, the comments noted by the domain (approved replies,
guest comments with an email) become outbox mail in the same transaction.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, has_app_context, render_template, request
from sqlalchemy import event

from discuss import notifications
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.i18n import _
from discuss.models import User, utcnow
from discuss.web.mail_links import thread_link, token_link

bp = Blueprint("notify", __name__, url_prefix="/notify")

def _page(template: str, status: int = 200, **context) -> tuple[str, int]:
    return render_template(f"notify/{template}", **context), status


def _message(title: str, message: str, status: int = 200) -> tuple[str, int]:
    return _page("message.html", status, title=title, message=message)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET/POST /notify/confirm/<token>: confirm a guest's address (GET asks, POST confirms)."""
    if request.method == "GET":
        return _page("confirm.html", token=token)
    try:
        notifications.confirm_guest_email(token, secret=current_app.config["SECRET_KEY"])
    except InvalidInput as exc:
        db.session.rollback()
        return _message(_("This link does not work"), exc.message, 400)
    db.session.commit()
    return _message(_("Address confirmed"),
                    _("Thank you. You will be told of replies you asked for, and once a comment "
                      "of yours has been approved, your next ones on that site appear at once."))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET/POST /notify/unsubscribe/<token>: stop reply notifications for a comment, or a
    moderator's queue mails. GET shows a button; a POST unsubscribes, also the RFC 8058
    one-click POST a mail program sends (``List-Unsubscribe=One-Click``, no cookies: the signed
    token in the URL is the authority)."""
    try:
        target = notifications.to_unsubscribe(current_app.config["SECRET_KEY"], token)
    except InvalidInput as exc:
        return _message(_("This link does not work"), exc.message, 400)
    if isinstance(target, User):
        if request.method == "GET":
            return _page("unsubscribe.html", token=token, kind=notifications.QUEUE_MAIL)
        notifications.stop_queue_mail(target)
        db.session.commit()
        return _message(_("No more queue mails"),
                        _("You will get no more mails about comments waiting for moderation. "
                          "Turn them on again on your account page."))
    title = target.thread.title or _("this discussion")
    if request.method == "GET":
        return _page("unsubscribe.html", token=token, title=title,
                     kind=notifications.REPLIES)
    notifications.stop_notifications(target)
    db.session.commit()
    return _message(_("No more reply mails"),
                    _("You will get no more mails about replies to your comments in “%(title)s”.",
                      title=title))


def _mail_noted_comments(session, *args) -> None:
    # Turn what the domain noted into outbox mail as part of the transaction being committed:
    # the outbox sends only once it has been committed.
    approved, guest_emails = notifications.pop_notes(session)
    if not (approved or guest_emails) or not has_app_context():
        return
    secret = current_app.config["SECRET_KEY"]
    now = utcnow()
    if guest_emails:
        notifications.mail_email_confirmations(guest_emails, secret=secret, link=token_link,
                                               now=now)
    if approved:
        notifications.mail_reply_notices(approved, secret=secret, link=token_link,
                                         thread_link=thread_link, now=now)


def _forget_noted_comments(session, transaction) -> None:
    # Only when the whole transaction ends: a savepoint rolled back inside it (one comment of
    # a bulk action) leaves the others' notes; each is checked again before mail is queued.
    if transaction.parent is None:
        notifications.forget_notes(session)


def init_app(app: Flask) -> None:
    """Queue the reply and confirmation mails noted during a transaction at its commit."""
    if not event.contains(db.session, "before_commit", _mail_noted_comments):
        event.listen(db.session, "before_commit", _mail_noted_comments)
        event.listen(db.session, "after_transaction_end", _forget_noted_comments)
