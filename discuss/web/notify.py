"""Mailed links about reply notifications, and the commit hook that queues those mails.

Pages: ``/notify/confirm/<token>`` (a guest confirms the address they typed) and
``/notify/unsubscribe/<token>`` (stop mails about replies in one discussion, or a moderator's
queue mails; also the target of the mails' one-click List-Unsubscribe). Opening a link
shows a button; only the button's POST changes anything, so mail scanners that open links
change nothing. The mails themselves are queued at commit by ``discuss.web.dispatch``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from discuss import notifications
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.i18n import _
from discuss.models import User

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
