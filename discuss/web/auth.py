"""The account pages under /auth/: sign in, sign up, sign out, password reset, email
confirmation, and the account page (profile, password, email, API tokens, data, deletion).

Plain HTML forms that work without JavaScript; inside the embed iframe, account.js turns the
sign-in form into an API call that keeps a bearer token (for browsers blocking third-party
cookies). ``next`` only ever leads to a path on this service. Each view parses the form,
calls one domain function, commits once, and on a DiscussError shows the form again with
the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from discuss import account_data, accounts
from discuss.errors import DiscussError
from discuss.extensions import db
from discuss.i18n import _, _l
from discuss.models import Site, User
from discuss.web.mail_links import token_link
from discuss.web.present import avatar_url
from discuss.web.security import current_actor, request_auth_token
from discuss.web.sessions import (
    claim_sign_up,
    limit_signin_attempts,
    pending_sign_up,
    remember_sign_up,
    safe_next,
    sign_in,
    sign_out,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")

EMBED_PATH_RE = re.compile(r"^/embed/([a-z0-9-]{1,64})(?:[/?]|$)")


def _next() -> str:
    return safe_next(request.values.get("next"))


@bp.context_processor
def _theme_of_the_thread() -> dict[str, str]:
    """Account pages opened from a thread wear its theme (``theme=`` of ``next``); others,
    like the thread's own default, follow the reader's system."""
    target = _next()
    theme = (parse_qs(urlsplit(target).query).get("theme") or [""])[0]
    return {"theme": theme if EMBED_PATH_RE.match(target) and theme in ("light", "dark")
            else "auto"}


def _allow_framing_for(target: str) -> None:
    """Pages reached from the embed iframe may be framed by that site's article origins."""
    match = EMBED_PATH_RE.match(target)
    if match:
        origins = db.session.scalar(select(Site.origins).where(Site.slug == match.group(1)))
        if origins:
            g.frame_ancestors = list(origins)


def _page(template: str, status: int = 200, **context) -> tuple[str, int]:
    context.setdefault("next", _next())
    return render_template(template, **context), status


def _form_page(template: str, action: Callable[[], Response], **context):
    """Run ``action`` for a POST; on a DiscussError show the form again with its message."""
    if request.method == "POST":
        try:
            return action()
        except DiscussError as exc:
            db.session.rollback()
            return _page(template, exc.status, error=exc.message, fields=exc.fields,
                         field_messages=exc.field_messages, form=request.form, **context)
    return _page(template, form=request.args, **context)


def _signed_in() -> User | None:
    return current_actor().user


def _require_user() -> User | Response:
    user = _signed_in()
    if user is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return user


# ---------------------------------------------------------------- signing in and out


@bp.route("/login", methods=["GET", "POST"])
@limit_signin_attempts
def login():
    """GET/POST /auth/login: the sign-in form; back to a safe `next` target."""
    target = _next()
    _allow_framing_for(target)

    def act() -> Response:
        user = accounts.authenticate(request.form.get("login"), request.form.get("password"))
        sign_in(user, remember=request.form.get("remember") == "1",
                user_agent=request.user_agent.string or "")
        db.session.commit()
        return redirect(target)

    return _form_page("auth/login.html", act)


@bp.route("/register", methods=["GET", "POST"])
@limit_signin_attempts
def register():
    """GET/POST /auth/register: the sign-up form."""
    _allow_framing_for(_next())

    def act():
        registration = accounts.register(
            request.form.get("username"), request.form.get("email"),
            request.form.get("password"),
            secret=current_app.config["SECRET_KEY"], link=token_link)
        # Whether or not the address has an account, the answer is the same (nothing tells
        # them apart); the mailed link makes the account, and this browser is signed in when
        # the reader comes back (continue_sign_up, offered on the thread page too).
        remember_sign_up(request.form.get("username"), registration.claim)
        db.session.commit()
        return _page("auth/registered.html", 201, username=request.form.get("username", ""))

    return _form_page("auth/register.html", act)


@bp.post("/register/continue")
def continue_sign_up():
    """POST /auth/register/continue: once the mailed link made the account, the browser that
    signed up is signed in and goes back to ``next`` (the discussion); before, it is told to
    open the link first."""
    _allow_framing_for(_next())
    if claim_sign_up() is not None:
        db.session.commit()
        return redirect(_next(), code=303)
    return _page("auth/registered.html", username=pending_sign_up(),
                 error=_("Your address is not confirmed yet: open the link in the mail we "
                         "sent, then continue."))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET/POST /auth/logout: GET asks to confirm, POST signs out and goes back."""
    target = _next()
    _allow_framing_for(target)
    if request.method == "POST":
        sign_out()
        db.session.commit()
        return redirect(target if target != url_for("auth.account") else url_for("auth.login"))
    return _page("auth/logout.html", user=_signed_in())


# ---------------------------------------------------------------- links sent by mail


@bp.route("/reset", methods=["GET", "POST"])
@limit_signin_attempts
def request_reset():
    """GET/POST /auth/reset: ask for a password reset link."""
    _allow_framing_for(_next())

    def act():
        accounts.request_password_reset(request.form.get("login"),
                                        secret=current_app.config["SECRET_KEY"],
                                        link=token_link)
        db.session.commit()
        return _page("auth/message.html", title=_("Check your inbox"),
                     message=_("If an account has that username or address, we sent it a link "
                             "to choose a new password. The link works for one hour."))

    return _form_page("auth/reset_request.html", act)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limit_signin_attempts
def reset(token: str):
    """GET/POST /auth/reset/<token>: choose a new password from a mailed link."""
    secret = current_app.config["SECRET_KEY"]
    try:
        accounts.check_reset_token(token, secret=secret)
    except DiscussError as exc:
        return _page("auth/message.html", exc.status, title=_("This link does not work"),
                     message=exc.message, retry_reset=True)

    def act():
        user = accounts.reset_password(token, request.form.get("password"), secret=secret)
        sign_in(user, remember=False, user_agent=request.user_agent.string or "")
        db.session.commit()
        return _page("auth/message.html", title=_("Password changed"),
                     message=_("Your new password is set and you are signed in. Every other "
                             "session of your account was signed out."))

    return _form_page("auth/reset.html", act, token=token)


def _confirm_link(token: str, purpose: str, confirm: Callable[..., User], *,
                  message: str | None = None):
    """GET shows a button (mail scanners may open links), POST spends the link."""
    if request.method == "POST":
        try:
            confirm(token, secret=current_app.config["SECRET_KEY"])
            db.session.commit()
        except DiscussError as exc:
            db.session.rollback()
            return _page("auth/message.html", exc.status, title=_("This link does not work"),
                         message=exc.message)
        return _page("auth/message.html", title=_("Email address confirmed"),
                     message=message or _("Thank you: your email address is confirmed."))
    return _page("auth/confirm.html", token=token, purpose=purpose)


def _confirm_address(token: str, *, secret: str) -> User:
    """A sign-up's link makes the account; an account's link confirms its address."""
    if accounts.is_registration_link(token, secret=secret):
        return accounts.finish_registration(token, secret=secret)
    return accounts.verify_email(token, secret=secret)


@bp.route("/link/<token>", methods=["GET", "POST"])
@limit_signin_attempts
def signin_link(token: str):
    """A one-time sign-in link (``discuss signin-link``): GET shows a button, POST signs in
    and goes to the moderation dashboard."""
    if request.method == "GET":
        return _page("auth/confirm.html", token=token, purpose="signin")
    try:
        user = accounts.use_signin_link(token, secret=current_app.config["SECRET_KEY"])
    except DiscussError as exc:
        db.session.rollback()
        return _page("auth/message.html", exc.status, title=_("This link does not work"),
                     message=exc.message)
    sign_in(user, remember=False, user_agent=request.user_agent.string or "")
    db.session.commit()
    return redirect(url_for("moderate.dashboard") if user.is_admin or user.moderated_sites
                    else url_for("auth.account"), code=303)


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """GET/POST /auth/verify/<token>: confirm the account's address from a mailed link (a
    sign-up's link makes the account, and says where the reader is signed in)."""
    if request.method == "POST" and accounts.is_registration_link(
            token, secret=current_app.config["SECRET_KEY"]):
        return _confirm_link(token, "verify", _confirm_address,
                             message=_("Your account is ready. Go back to the page where you "
                                       "signed up: you are signed in there. Elsewhere, sign in "
                                       "with your username and password."))
    return _confirm_link(token, "verify", _confirm_address)


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """GET/POST /auth/email/<token>: move the account to a new address from a mailed link."""
    return _confirm_link(token, "email-change", accounts.confirm_email_change)


@bp.post("/verify")
def resend_verification():
    """POST /auth/verify: mail the verification link again."""
    user = _require_user()
    if isinstance(user, Response):
        return user
    if user.email_verified_at is None:
        accounts.send_verification(user, secret=current_app.config["SECRET_KEY"],
                                   link=token_link)
        db.session.commit()
    return _account_page(user, notice=_("We sent a new confirmation link."))


# ---------------------------------------------------------------- the account page


def _account_page(user: User, status: int = 200, *, new_token: str | None = None,
                  notice: str | None = None, error: str | None = None,
                  fields: dict | None = None, form=None):
    return _page("auth/account.html", status, user=user, avatar=avatar_url(user=user),
                 tokens=accounts.list_api_tokens(user), new_token=new_token, notice=notice,
                 error=error, fields=fields or {}, form=form or {},
                 recent_minutes=int(accounts.RECENT_PASSWORD.total_seconds() // 60))


def _account_action(act: Callable[[User], object], notice: str):
    user = _require_user()
    if isinstance(user, Response):
        return user
    try:
        result = act(user)
        db.session.commit()
    except DiscussError as exc:
        db.session.rollback()
        user = _signed_in() or user
        return _account_page(user, exc.status, error=exc.message, fields=exc.fields,
                             form=request.form)
    return _account_page(user, new_token=result if isinstance(result, str) else None,
                         notice=notice)


@bp.get("/account")
def account():
    """GET /auth/account: the account page (profile, password, email, sessions, tokens)."""
    user = _require_user()
    return user if isinstance(user, Response) else _account_page(user)


@bp.post("/account/profile")
def update_profile():
    """POST: change the display name."""
    return _account_action(
        lambda u: accounts.update_profile(u, display_name=request.form.get("display_name")),
        _("Your profile is saved."))


QUEUE_MAIL_NOTICES = {"off": _l("Queue mails are off."),
                      "each": _l("You will get a mail when comments wait in a queue."),
                      "daily": _l("You will get a daily summary of your queues.")}


@bp.post("/account/queue-mail")
def queue_mail():
    """POST /auth/account/queue-mail: the "comments are waiting" mails: queue_mail=off, each
    (a mail as comments arrive) or daily (a digest); notify_queue=1 still means each."""
    choice = request.form.get("queue_mail")
    if choice is None:  # the on/off checkbox of before
        choice = "each" if request.form.get("notify_queue") == "1" else "off"
    return _account_action(lambda u: accounts.set_queue_mail(u, choice),
                           str(QUEUE_MAIL_NOTICES.get(choice, "")))


@bp.post("/account/password")
def change_password():
    """POST: change the password (other sessions end)."""
    def act(user: User) -> None:
        accounts.change_password(user, request.form.get("current_password"),
                                 request.form.get("new_password"))
        # Every session died with the old password; this browser gets a fresh one.
        sign_in(user, remember=False, user_agent=request.user_agent.string or "")

    return _account_action(act, _("Your password is changed; your other sessions were signed "
                                "out."))


@bp.post("/account/email")
def change_email():
    """POST: mail a confirmation link to a new address."""
    return _account_action(
        lambda u: accounts.request_email_change(
            u, request.form.get("current_password"), request.form.get("email"),
            secret=current_app.config["SECRET_KEY"], link=token_link),
        _("We sent a confirmation link to the new address; it takes effect once opened."))


@bp.post("/account/sessions/end")
def end_other_sessions():
    """POST: sign out every other session of the account."""
    def act(user: User) -> None:
        accounts.end_all_sessions(user)
        sign_in(user, remember=False, user_agent=request.user_agent.string or "")

    return _account_action(act, _("Every other session of your account is signed out."))


@bp.post("/account/tokens")
def create_token():
    """POST: a new personal API token, shown once."""
    return _account_action(
        lambda u: accounts.mint_api_token(
            u, request.form.get("name"), days=current_app.config["DISCUSS_TOKEN_DAYS"],
            session=request_auth_token(), password=request.form.get("password"))[0],
        _("Your new token is below. Copy it now: it is not shown again."))


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """POST: revoke one of the account's API tokens."""
    return _account_action(lambda u: accounts.revoke_api_token(u, token_id),
                           _("The token is revoked."))


@bp.get("/account/export")
def export_data():
    """GET /auth/account/export: the account's data as a JSON download."""
    user = _require_user()
    if isinstance(user, Response):
        return user
    body = json.dumps(account_data.export_user_data(user), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="discuss-my-data.json"',
        "Cache-Control": "no-store"})


@bp.route("/account/delete", methods=["GET", "POST"])
def delete_account():
    """GET/POST /auth/account/delete: delete the account after its password."""
    user = _require_user()
    if isinstance(user, Response):
        return user

    def act():
        account_data.delete_account(user, request.form.get("password"))
        sign_out()
        db.session.commit()
        return _page("auth/message.html", title=_("Account deleted"),
                     message=_("Your account is deleted. Your comments remain in their "
                             "discussions as \u201cdeleted user\u201d."))

    return _form_page("auth/delete.html", act, user=user)
