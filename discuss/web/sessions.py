"""Signing in and out at the web edge, safe `next` targets and mailed links.

Shared by the HTML pages (discuss.web.auth) and the JSON API (discuss.web.api_account): both
create a server-side session token (accounts.start_session); the cookie session stores it and
the API also returns it for `Authorization: Bearer`.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin, urlsplit

from flask import (
    Flask,
    current_app,
    g,
    request,
    session,
    url_for,
)
from flask_login import login_user, logout_user

from discuss import accounts
from discuss.extensions import limiter
from discuss.models import User
from discuss.web import limits
from discuss.web.security import SESSION_TOKEN_KEY, bearer_token, current_actor

# A browser-session cookie (no "remember me") still ends server-side after this long.
SHORT_SESSION_DAYS = 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
def sign_in(user: User, *, remember: bool, user_agent: str = "") -> str:
    """Start a session for ``user`` in a fresh Flask session (no session fixation); returns
    the raw session token (the API hands it out as the bearer token)."""
    days = current_app.config["DISCUSS_SESSION_DAYS"] if remember else SHORT_SESSION_DAYS
    raw = accounts.start_session(user, days=days, user_agent=user_agent)
    session.clear()
    session.permanent = remember
    session[SESSION_TOKEN_KEY] = raw
    login_user(user, remember=False, fresh=True)
    g.pop("actor", None)
    return raw


# A sign-up made in this browser, waiting for its mailed link: [username, claim].
SIGN_UP_KEY = "discuss_sign_up"


def remember_sign_up(username: object, claim: str) -> None:
    """Keep what signs this browser in once the sign-up's mailed link is opened (in the
    iframe, the session cookie is partitioned by the article's site, so the reader is
    signed in where they signed up)."""
    if isinstance(username, str) and claim:
        session[SIGN_UP_KEY] = [username.strip(), claim]


def pending_sign_up() -> str:
    """The username this browser signed up with, while it has not been signed in by it."""
    if "HTTP_COOKIE" not in request.environ:
        return ""
    pending = session.get(SIGN_UP_KEY)
    return pending[0] if isinstance(pending, list) and len(pending) == 2 else ""


def claim_sign_up() -> User | None:
    """Sign in the account this browser signed up for, once its mailed link made it."""
    pending = session.get(SIGN_UP_KEY)
    if not (isinstance(pending, list) and len(pending) == 2):
        return None
    user = accounts.claim_registration(pending[0], pending[1],
                                       secret=current_app.config["SECRET_KEY"])
    if user is not None:
        sign_in(user, remember=False, user_agent=request.user_agent.string or "")
    return user


def sign_out() -> None:
    """End the session this request came with: its bearer token, else its cookie session.

    The iframe's sign-in gets the same session as bearer token and in its cookie, so ending
    that token also clears the cookie; a cookie holding another session is left alone."""
    bearer = bearer_token()
    cookie_token = session.get(SESSION_TOKEN_KEY)
    raw = bearer or cookie_token
    if raw:
        accounts.end_session(raw)
    if not bearer or bearer == cookie_token:
        logout_user()
        session.clear()
    g.pop("actor", None)


def current_user_or_none() -> User | None:
    """The signed-in user, or None (for templates)."""
    return current_actor().user


def safe_next(target: str | None, default: str | None = None) -> str:
    """A redirect target on this service only: a path, never another origin (open redirect)."""
    fallback = default or url_for("auth.account")
    if not target or not isinstance(target, str) or len(target) > 2048:
        return fallback
    if _CONTROL.search(target) or not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    joined = urlsplit(urljoin("http://service.invalid/", target))
    if parts.scheme or parts.netloc or joined.netloc != "service.invalid":
        return fallback
    return target


def init_app(app: Flask) -> None:
    """Templates ask whether this browser waits for a mailed sign-up link to be opened."""
    app.jinja_env.globals["pending_sign_up"] = pending_sign_up


def _signin_target() -> str:
    """The account a sign-in, sign-up or reset attempt aims at, from this address (hashed,
    never stored raw)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    login = (data.get("login") or data.get("username") or "") if hasattr(data, "get") else ""
    if not isinstance(login, str):
        login = ""
    digest = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
    return f"login-target:{digest}:{current_actor().ip_hash}"


def limit_signin_attempts(view):
    """DISCUSS_RATELIMIT_LOGIN per IP (shared with limits.limit_signin) and per (target
    account, IP), on POST only. An address guessing one account's password is slowed down
    (the limit's windows: a minute, then an hour) without locking anyone else out: wrong
    passwords sent from many addresses never stop the account's owner signing in from theirs.
    """
    def limit_value() -> str:
        return current_app.config["DISCUSS_RATELIMIT_LOGIN"]

    def disabled() -> bool:
        return not current_app.config.get("DISCUSS_RATELIMIT_ENABLED", True)

    view = limiter.shared_limit(limit_value, scope="login:target", key_func=_signin_target,
                                exempt_when=disabled, methods=["POST"])(view)
    return limiter.shared_limit(limit_value, scope="login:ip", key_func=limits.ip_key,
                                exempt_when=disabled, methods=["POST"])(view)
