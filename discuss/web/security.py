"""Per-request security: who is asking (the Actor), CSRF, guest keys and response headers.

CSRF is checked only for writes that carry cookies: a request authenticated by a bearer token,
or carrying no cookie at all, has no ambient authority a forged cross-site request could borrow.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from functools import lru_cache

from flask import Flask, Request, Response, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import OperationalError

from discuss import accounts, threads
from discuss.config import cookie_flags
from discuss.errors import NotSignedIn
from discuss.extensions import csrf, db, login_manager, sqlite_write_intent
from discuss.models import AuthToken, Site, User
from discuss.permissions import Actor, require
from discuss.sites import is_origin
from discuss.web.infra.compression import add_vary

logger = logging.getLogger(__name__)
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
    """The raw token of an Authorization: Bearer header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _guest_key_from_request() -> str:
    key = request.headers.get(GUEST_HEADER) or request.cookies.get(GUEST_COOKIE) or ""
    return key if GUEST_KEY_RE.match(key) else ""


def _signed_in_user() -> User | None:
    environ = request.environ
    if "HTTP_COOKIE" not in environ and "HTTP_AUTHORIZATION" not in environ:
        # No session, remember or guest cookie and no bearer token: no one is signed in, and
        # Flask-Login (session protection hashes the IP and user agent) has nothing to find.
        session.get("_user_id")  # marks the session read: the answer varies on Cookie
        return None
    return current_user._get_current_object() if current_user.is_authenticated else None


def current_actor() -> Actor:
    """The Actor of this request, built once."""
    actor = g.get("actor")
    if actor is None:
        user = _signed_in_user()
        actor = Actor(
            user=user,
            guest_key=_guest_key_from_request() if user is None else "",
            ip_hash=ip_hash(request.remote_addr),
            user_agent=(request.user_agent.string or "")[:300],
            via_token=bearer_token() is not None,
        )
        g.actor = actor
    return actor


def refuse_ended_sign_in(*, posting: bool = True) -> None:
    """A write (a comment, an edit, a deletion, a vote, a report) from a reader whose sign-in
    ended (revoked or expired session or token) is a 401, not a guest's: their page still
    shows them signed in. The dead session is dropped from the cookie, so the next try is an
    ordinary guest's."""
    if current_actor().user is not None:
        return
    if bearer_token() is None and not session.get(SESSION_TOKEN_KEY):
        return
    session.pop(SESSION_TOKEN_KEY, None)
    session.pop("_user_id", None)
    if posting:
        raise NotSignedIn("Your sign-in has ended. Sign in again, or post as a guest.",
                          code="session_ended")
    raise NotSignedIn("Your sign-in has ended. Please sign in again.", code="session_ended")


def _drop_ended_session() -> None:
    """Forget a session cookie whose sign-in ended with the refused bearer token (signed out
    everywhere): after a refused write, the page shown next and the next post are a guest's."""
    if session.get(SESSION_TOKEN_KEY) and _live_token(session.get(SESSION_TOKEN_KEY)) is None:
        session.pop(SESSION_TOKEN_KEY, None)
        session.pop("_user_id", None)


def moderator() -> Actor:
    """The caller, who must be signed in to moderate: a guest is asked to sign in
    (NotSignedIn) before anything is looked up."""
    actor = current_actor()
    if actor.is_guest:
        require(actor, "moderate", None)
    return actor


def moderated_site(slug: object) -> tuple[Site, Actor]:
    """The site a request names, when the caller moderates it: NotSignedIn, NotFound or
    Forbidden otherwise (the moderators' pages answer the last two alike, with a 404)."""
    actor = moderator()
    site = threads.get_site(slug)
    require(actor, "moderate", site)
    return site, actor


# Where a browser is signed in (or handed a session): a forged cross-site request here would
# sign the victim's browser into the attacker's account (login CSRF), with or without cookies.
SIGN_IN_ENDPOINTS = frozenset({
    "auth.login", "auth.register", "auth.continue_sign_up", "auth.request_reset", "auth.reset",
    "api_account.login", "api_account.register", "api_account.request_reset",
})


def _own_origins() -> set[str]:
    config = current_app.config
    return {config["DISCUSS_PUBLIC_ORIGIN"].lower(), f"{request.scheme}://{request.host}".lower()}


def _check_sign_in_origin() -> None:
    """Sign-in and registration accept only requests made by this service's own pages.

    Browsers say where a request comes from (Fetch Metadata's Sec-Fetch-Site, and Origin on
    every POST); either naming another site refuses it. A request with neither (an old
    browser, a script) must carry the form's CSRF token when it is a form; a JSON body cannot
    be sent cross-site without CORS, which this service never grants."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CSRFError("This form was sent from another site.")
    origin = request.headers.get("Origin")
    referer = request.headers.get("Referer")
    if origin is not None:
        if origin.lower() not in _own_origins():
            raise CSRFError("This form was sent from another site.")
        return
    if referer:
        try:
            from_origin = threads.origin_of(referer)
        except ValueError:  # not a URL at all
            from_origin = ""
        if from_origin not in _own_origins():
            raise CSRFError("This form was sent from another site.")
    if not request.is_json:
        csrf.protect()


def _check_csrf() -> None:
    method = request.method
    sqlite_write_intent.set(method in UNSAFE_METHODS)
    if method not in UNSAFE_METHODS or not current_app.config["WTF_CSRF_ENABLED"]:
        return
    if request.endpoint in SIGN_IN_ENDPOINTS:
        _check_sign_in_origin()
    if bearer_token() is not None or not request.cookies:
        return
    csrf.protect()


@lru_cache(maxsize=256)
def _static_headers(gravatar: bool, secure: bool,
                    ancestors: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(lower-case name, name, value) of the headers every answer gets unless it set its own.

    They depend only on settings and the framing origins, so they are built once per
    combination instead of once per request."""
    img = "'self' data:" + (" https://www.gravatar.com" if gravatar else "")
    # Only well-formed origins (and the scheme sources of the embed's error pages) reach the
    # header, whatever a row from before origins were checked may hold.
    ancestors = tuple(a for a in ancestors if a in ("http:", "https:") or is_origin(a))
    frame = " ".join(ancestors) if ancestors else "'none'"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame}"
    )
    headers = [("Content-Security-Policy", policy),
               ("X-Content-Type-Options", "nosniff"),
               ("Referrer-Policy", "strict-origin-when-cross-origin")]
    if not ancestors:
        headers.append(("X-Frame-Options", "DENY"))
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple((name.lower(), name, value) for name, value in headers)


def _security_headers(response: Response) -> Response:
    config = current_app.config
    ancestors = tuple(g.get("frame_ancestors") or ())
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for lower, name, value in _static_headers(bool(config["DISCUSS_GRAVATAR"]),
                                              bool(config["DISCUSS_SECURE"]), ancestors):
        if lower not in present:
            headers.add(name, value)
    actor = g.get("actor")
    new_key = actor.guest_key if actor is not None and actor.guest_key_is_new else ""
    if new_key:
        headers[GUEST_HEADER + "-Key"] = new_key
        response.set_cookie(GUEST_COOKIE, new_key, max_age=365 * 86400,
                            **cookie_flags(config))
    return response


def _csrf_context() -> dict:
    return {"csrf_token": generate_csrf}


# The Flask session (cookie) holds the raw session token next to Flask-Login's user id: a
# cookie counts only while its token is live (not signed out, expired or outdated by a
# password change).
SESSION_TOKEN_KEY = "discuss_token"  # noqa: S105 - a key name


def _live_token(raw: str | None) -> AuthToken | None:
    """The live session or API token behind ``raw``, looked up once per request."""
    if not raw:
        return None
    cache = g.setdefault("live_tokens", {})
    if raw not in cache:
        cache[raw] = accounts.live_token(raw)
    return cache[raw]


def _user_of_live_token(raw: str | None) -> User | None:
    token = _live_token(raw)
    if token is None:
        return None
    if accounts.needs_touch(token):
        g.touch_token = token.id
    g.auth_token = token
    return token.user


def request_auth_token() -> AuthToken | None:
    """The session or API token the signed-in reader of this request came with."""
    current_actor()
    return g.get("auth_token")


def _refuse_invalid_bearer() -> None:
    # A request that names a token which is unknown, expired or revoked is refused as such
    # (401), never served as if it came from a guest.
    raw = bearer_token()
    if raw is not None and _live_token(raw) is None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # A write refused: the page switches to signed out, and the next post is a
            # guest's. (A read keeps the cookie: the write that follows must still be told.)
            _drop_ended_session()
        raise NotSignedIn("The token is not valid (unknown, expired or revoked). Sign in "
                          "again.", code="invalid_token")


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
    # It is bookkeeping: on SQLite a GET that meets another writer (the outbox being sent
    # after a registration) gets "database is locked", and the page must not become a 500.
    token_id = g.pop("touch_token", None)
    if token_id is not None:
        try:
            accounts.touch_token_id(token_id)
            db.session.commit()
        except OperationalError:
            db.session.rollback()
            logger.info("token %s: last-used time not written (database busy)", token_id)
    return response


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, minus its fixed cost on requests without a session.

    Flask builds a signing serializer on every request, even one that carries no session
    cookie (every reader of a thread, every article list asking for counts). This one keeps
    the serializer for the current keys, and opens and saves an empty, untouched session
    without it. Cookies, their flags and the ``Vary: Cookie`` header stay exactly Flask's.
    """

    def __init__(self) -> None:
        self._serializer: tuple[tuple, URLSafeTimedSerializer | None] = ((), None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached_keys, serializer = self._serializer
        if keys != cached_keys:
            serializer = super().get_signing_serializer(app)
            self._serializer = (keys, serializer)
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # No Cookie header at all (most reads): nothing to parse, not even request.cookies.
        if app.secret_key and not (request.environ.get("HTTP_COOKIE")
                                   and request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session and session.modified and "_user_id" not in session \
                and "_fresh" not in session:
            # Flask-Login's "basic" protection marks a session that holds no sign-in "not
            # fresh" on its next request, which writes the cookie again (and so the thread
            # page of a returning reader could not be tagged before their third visit). No
            # one is signed in to be fresh: say so when the session is first written.
            session["_fresh"] = False
        if not session and not session.modified:
            # Nothing to write or delete; the answer still depends on the cookie if read.
            if session.accessed:
                add_vary(response, "Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Cookie sessions, the CSRF check, token touches and the security headers of every answer."""
    app.session_interface = CookieSessions()
    app.before_request(_check_csrf)
    app.before_request(_refuse_invalid_bearer)
    app.after_request(_security_headers)
    app.after_request(_touch_token)
    app.context_processor(_csrf_context)
