"""Per-request security: who is asking (the Actor), CSRF, guest keys and response headers.

CSRF is checked only for writes that carry cookies: a request authenticated by a bearer token,
or carrying no cookie at all, has no ambient authority a forged cross-site request could borrow.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from flask import Flask, Request, Response, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from discuss import accounts
from discuss.config import cookie_flags
from discuss.extensions import csrf, db, login_manager, sqlite_write_intent
from discuss.models import User
from discuss.permissions import Actor

GUEST_COOKIE = "discuss_guest"
GUEST_HEADER = "X-Discuss-Guest"
GUEST_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def ip_hash(ip: str | None) -> str:
    """A keyed hash of an IP address: bans and rate limits work, the address is not stored."""
    if not ip:
        return ""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"ip:" + ip.encode(), hashlib.sha256).hexdigest()[:32]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _guest_key_from_request() -> str:
    key = request.headers.get(GUEST_HEADER) or request.cookies.get(GUEST_COOKIE) or ""
    return key if GUEST_KEY_RE.match(key) else ""


def current_actor() -> Actor:
    """The Actor of this request, built once."""
    actor = g.get("actor")
    if actor is None:
        user = current_user._get_current_object() if current_user.is_authenticated else None
        actor = Actor(
            user=user,
            guest_key=_guest_key_from_request() if user is None else "",
            ip_hash=ip_hash(request.remote_addr),
            user_agent=(request.user_agent.string or "")[:300],
            via_token=bearer_token() is not None,
        )
        g.actor = actor
    return actor


def ensure_guest_key(actor: Actor) -> str:
    """Give a guest's browser a key (sent back as cookie and header) so it owns its comments."""
    if actor.user is None and not actor.guest_key:
        actor.guest_key = secrets.token_urlsafe(32)
        g.new_guest_key = actor.guest_key
    return actor.guest_key


def _check_csrf() -> None:
    sqlite_write_intent.set(request.method in UNSAFE_METHODS)
    if request.method not in UNSAFE_METHODS or not current_app.config["WTF_CSRF_ENABLED"]:
        return
    if bearer_token() is not None or not request.cookies:
        return
    csrf.protect()


def _frame_ancestors() -> str:
    origins = g.get("frame_ancestors")
    return " ".join(origins) if origins else "'none'"


def _security_headers(response: Response) -> Response:
    img = "'self' data:"
    if current_app.config["DISCUSS_GRAVATAR"]:
        img += " https://www.gravatar.com"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {_frame_ancestors()}"
    )
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if not g.get("frame_ancestors"):
        response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["DISCUSS_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    new_key = g.get("new_guest_key")
    if new_key:
        response.headers[GUEST_HEADER + "-Key"] = new_key
        response.set_cookie(GUEST_COOKIE, new_key, max_age=365 * 86400,
                            **cookie_flags(current_app.config))
    return response


def _csrf_context() -> dict:
    return {"csrf_token": generate_csrf}


# The Flask session (cookie) holds the raw session token next to Flask-Login's user id: a
# cookie counts only while its token is live (not signed out, expired or outdated by a
# password change).
SESSION_TOKEN_KEY = "discuss_token"  # noqa: S105 - a key name


def _user_of_live_token(raw: str | None) -> User | None:
    token = accounts.live_token(raw) if raw else None
    if token is None:
        return None
    if accounts.needs_touch(token):
        g.touch_token = token.id
    return token.user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if bearer_token() is not None:
        return None  # an explicit bearer token names the user, not the ambient cookie
    user = _user_of_live_token(session.get(SESSION_TOKEN_KEY))
    return user if user is not None and str(user.id) == user_id else None


@login_manager.request_loader
def _load_user_from_bearer(req: Request) -> User | None:
    return _user_of_live_token(bearer_token())


def _touch_token(response: Response) -> Response:
    # "Last used" is written at most once a minute per token, after the view's own commit.
    token_id = g.pop("touch_token", None)
    if token_id is not None:
        accounts.touch_token_id(token_id)
        db.session.commit()
    return response


def init_app(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.after_request(_touch_token)
    app.context_processor(_csrf_context)
