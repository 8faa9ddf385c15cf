"""Users, passwords, sign-in sessions, API tokens and the signed links mailed to readers.

Owns account rules (usernames, password strength, no user enumeration) and token bookkeeping:
only hashes of session and API tokens are stored, links are signed, expiring and single-use.
It must not read the request or commit; the web edge passes in what it parsed (and how to
build a link) and commits once.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from itsdangerous import BadSignature
from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from discuss import mail, names
from discuss.emails import normalize_email
from discuss.errors import (
    Conflict,
    DiscussError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSignedIn,
)
from discuss.extensions import (
    FastRead,
    as_loaded,
    begin_writes,
    db,
    one_read,
    session_is_reading,
)
from discuss.i18n import N_, _
from discuss.ids import parse_id
from discuss.links import (
    LINK_MAX_AGE,
    LinkBuilder,
    link_serializer,
    make_link_token,
    read_link_token,
    token_hash,
)
from discuss.models import (
    AuthToken,
    PendingRegistration,
    Site,
    SiteModerator,
    TokenKind,
    UsedToken,
    User,
    utcnow,
)
from discuss.text import check_text
from discuss.threads import author_changed

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline attacks"
MAX_DISPLAY_NAME = 64
MAX_TOKEN_NAME = 100
# scrypt is memory-hard (https://www.rfc-editor.org/rfc/rfc7914); werkzeug's defaults
# (N=2**15, r=8, p=1) cost 32 MiB per hash.
PASSWORD_METHOD = "scrypt"  # noqa: S105 - a hash method, not a password
# Creating an API token needs the password typed this recently (at sign-in), or again.
RECENT_PASSWORD = timedelta(minutes=10)
# Refusals only the JSON API can meet (the pages offer neither to a site user); not yet in
# the translation catalogs.
SITE_USER_NO_TOKENS = N_("An account of the publisher's site cannot make API tokens.")
SITE_USER_NAME = N_("Your name comes from the site you signed in through: change it there.")
# A session token is written "last used" at most this often: reads stay reads.
TOUCH_INTERVAL = timedelta(minutes=1)

def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


# ---------------------------------------------------------------- passwords


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=PASSWORD_METHOD)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def verify_password(user: User | None, password: object) -> bool:
    """True when ``password`` is the user's; costs one hash check even for no user (timing)."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


def check_new_password(password: object, *, user_inputs: list[str] = ()) -> str:
    """A password good enough to keep: long enough, and not weak by zxcvbn's estimate."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("Choose a password.", {"password": "required"})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("The password must have at least %(min)s characters.",
                           {"password": "too_short"}, params={"min": MIN_PASSWORD_LENGTH})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("The password may have at most %(max)s characters.",
                           {"password": "too_long"}, params={"max": MAX_PASSWORD_LENGTH})
    # zxcvbn's cost grows with length; beyond 100 characters the estimate no longer matters.
    # Imported on first use: its dictionaries cost each worker about 12 MB, and only sign-ups
    # and password changes need them.
    estimate = importlib.import_module("zxcvbn").zxcvbn
    result = estimate(password[:100], user_inputs=[i for i in user_inputs if i])
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result.get("feedback") or {}
        reasons = [feedback.get("warning") or "This password is easy to guess."]
        reasons += feedback.get("suggestions") or []
        # zxcvbn's advice is English: translations say what it means without it.
        raise InvalidInput("This password is too weak. %(advice)s", {"password": "weak"},
                           params={"advice": " ".join(r for r in reasons if r)})
    return password


# ---------------------------------------------------------------- users


def check_username(username: object) -> str:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("Choose a username.", {"username": "required"})
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput("A username has 3–32 characters: letters, digits, _ and -.",
                           {"username": "invalid"})
    return username


def check_display_name(name: object) -> str:
    name = names.clean_name(check_text(name, MAX_DISPLAY_NAME, "display_name",
                                       label="display name", one_line=True))
    if name.casefold() == "deleted user":
        raise InvalidInput("Choose another display name.", {"display_name": "reserved"})
    return name


def _email(email: object) -> tuple[str, str]:
    email, key = normalize_email(email)
    if not email:
        raise InvalidInput("Give an email address.", {"email": "required"})
    return email, key


def _username_taken(key: str) -> bool:
    return bool(db.session.scalar(select(exists().where(User.username_key == key))))


def _user_by_email(key: str) -> User | None:
    return db.session.scalar(select(User).where(User.email_key == key))


def find_user(login: object) -> User | None:
    """The user with this username or email address (either, case-insensitive)."""
    if not isinstance(login, str) or not login.strip() or len(login) > 254:
        return None
    key = login.strip().lower()
    column = User.email_key if "@" in key else User.username_key
    # Site users (SSO) sign in only through their site: never by name, email or password.
    return db.session.scalar(select(User).where(column == key, User.site_id.is_(None)))


def create_user(username: object, email: object, password: object, *, is_admin: bool = False,
                verified: bool = False, moderator_of: list[Site] = (),
                now: datetime | None = None) -> User:
    """A new account (admin command): taken names and emails are refused outright."""
    now = now or utcnow()
    username = check_username(username)
    email, email_key = _email(email)
    if _username_taken(username.lower()):
        raise Conflict("That username is taken.", {"username": "taken"})
    if _user_by_email(email_key) is not None:
        raise Conflict("An account with that email address exists.", {"email": "taken"})
    password = check_new_password(password, user_inputs=[username, email])
    user = _add_user(username, email, email_key, hash_password(password), now=now)
    user.is_admin = is_admin
    if verified:
        user.email_verified_at = now
    for site in moderator_of:
        db.session.add(SiteModerator(site_id=site.id, user_id=user.id))
    db.session.flush()
    return user


def _add_user(username: str, email: str, email_key: str, password_hash: str, *,
              now: datetime, message: str = N_("That username is taken.")) -> User:
    user = User(username=username, username_key=username.lower(), email=email,
                email_key=email_key, password_hash=password_hash, display_name="",
                is_admin=False, session_epoch=0, notify_queue=False, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as exc:
        raise Conflict(message, {"username": "taken"}) from exc
    return user


@dataclass
class Registration:
    """What a registration did: ``pending`` is the sign-up waiting for its address to be
    confirmed, None when the address has an account already (its owner is told by mail).

    ``claim`` is what the browser that signed up keeps to be signed in once the mailed link
    has made the account (``claim_registration``): 64 hex digits either way, so holding it
    tells nothing about the address."""

    pending: PendingRegistration | None
    claim: str = ""


T = TypeVar("T")


def _registration_fields(username: object, email: object,
                         password: object) -> tuple[str, tuple[str, str], str]:
    """The three fields checked together: every wrong one is named at once (the message holds
    each field's own sentence, ``field_messages`` them one by one)."""
    found: list[DiscussError] = []

    def checked(check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except DiscussError as exc:
            found.append(exc)
            return default

    name = checked(lambda: check_username(username), "")
    if name and _username_taken(name.lower()):
        found.append(Conflict("That username is taken.", {"username": "taken"}))
    address = checked(lambda: _email(email), ("", ""))
    secret = checked(lambda: check_new_password(
        password, user_inputs=[name or str(username or ""), address[0]]), "")
    if not found:
        return name, address, secret
    together = " ".join(e.message for e in found)  # each already in the reader's language
    error = found[0] if len(found) == 1 else InvalidInput(
        together, {k: v for e in found for k, v in e.fields.items()})
    error.field_messages = {k: e.message for e in found for k in e.fields}
    raise error


def register(username: object, email: object, password: object, *, secret: str,
             link: LinkBuilder, now: datetime | None = None) -> Registration:
    """Sign up. A taken username is said (it is public); whether the address has an account
    is not: either way nothing is created yet and the answer is "check your inbox". A new
    address gets a link that makes the account (``finish_registration``); an address with an
    account gets a mail saying someone tried. Until the link is opened neither the username
    nor a sign-in tells the two apart."""
    now = now or utcnow()
    username, (email, email_key), password = _registration_fields(username, email, password)
    names.check_not_staff_lookalike(username, site_id=None, field="username")
    password_hash = hash_password(password)  # the same work either way: timing tells nothing
    db.session.execute(delete(PendingRegistration).where(
        PendingRegistration.created_at < now - LINK_MAX_AGE["register"]))
    existing = _user_by_email(email_key)
    if existing is not None:
        mail.queue_mail(existing.email, _("Someone tried to sign up with your address"),
                        _("Someone (maybe you) tried to create an account with this email "
                          "address, which already has one: username %(username)s.\n\nIf it was "
                          "you, sign in, or reset your password if you forgot it. Otherwise you "
                          "can ignore this mail.", username=existing.username),
                        now=now)
        return Registration(None, secrets.token_hex(32))  # a claim that never comes true
    pending = PendingRegistration(username=username, email=email, email_key=email_key,
                                  password_hash=password_hash, created_at=now)
    db.session.add(pending)
    db.session.flush()
    token = make_link_token(secret, "register", {"r": pending.id,
                                                 "c": pending.created_at.timestamp()})
    mail.queue_mail(email, _("Confirm your email address"),
                    _("Hello %(username)s,\n\nplease confirm your email address by opening "
                      "this link (valid for 2 days):\n\n%(link)s\n\n"
                      "If you did not sign up, ignore this mail.",
                      username=username, link=link("register", token)), now=now)
    return Registration(pending, _registration_claim(secret, password_hash))


def _registration_claim(secret: str, password_hash: str) -> str:
    """Bound to this sign-up's password hash (its salt is new each time), which the account
    keeps when the link makes it."""
    return hmac.new(secret.encode(), b"register-claim:" + password_hash.encode(),
                    hashlib.sha256).hexdigest()


def claim_registration(username: object, claim: object, *, secret: str,
                       now: datetime | None = None) -> User | None:
    """The account a sign-up in this browser became, once its mailed link was opened (in any
    browser): the browser is then signed in without typing the password again (once per
    claim, recorded in used_tokens). None while
    the link is not opened, or when the claim is not this account's (another sign-up, an
    address that had an account, a password changed since, older than the link's life)."""
    now = now or utcnow()
    if not (isinstance(username, str) and isinstance(claim, str) and len(claim) == 64):
        return None
    user = find_user(username)
    if user is None or user.username_key != username.strip().lower() \
            or user.created_at < now - LINK_MAX_AGE["register"]:
        return None
    if not hmac.compare_digest(_registration_claim(secret, user.password_hash), claim):
        return None
    # Once: two pages coming back at the same moment sign in one session, not two.
    begin_writes()
    try:
        with db.session.begin_nested():
            db.session.add(UsedToken(token_hash=token_hash(f"register-claim:{claim}"),
                                     used_at=now))
    except IntegrityError:
        return None
    return user


def is_registration_link(token: object, *, secret: str) -> bool:
    """True when ``token`` is a sign-up's confirmation link (not yet checked further)."""
    if not isinstance(token, str) or len(token) > 1000:
        return False
    try:
        link_serializer(secret, "register").loads(token)
    except BadSignature:
        return False
    return True


def finish_registration(token: object, *, secret: str, now: datetime | None = None) -> User:
    """Spend a sign-up's link: the account is made, its address confirmed."""
    now = now or utcnow()
    payload = read_link_token(secret, "register", token, now=now, id_field="r")
    pending = db.session.get(PendingRegistration, payload["r"])
    if pending is None or payload.get("c") != pending.created_at.timestamp():
        raise InvalidInput("This link has expired. Please sign up again.",
                           {"token": "expired"}, code="expired_link")
    db.session.delete(pending)
    if _user_by_email(pending.email_key) is not None:
        raise Conflict("This address has an account already: sign in, or reset its password.",
                       {"email": "taken"})
    if _username_taken(pending.username.lower()):
        raise Conflict("Someone took that username in the meantime. Please sign up again "
                       "with another.", {"username": "taken"})
    user = _add_user(pending.username, pending.email, pending.email_key,
                     pending.password_hash, now=now,
                     message=N_("Someone took that username in the meantime. Please sign "
                                "up again."))
    user.email_verified_at = now
    db.session.flush()
    return user


def is_staff(user: User) -> bool:
    return user.is_admin or bool(user.moderated_sites)


def update_profile(user: User, *, display_name: object) -> User:
    if user.is_site_user:
        raise Forbidden(SITE_USER_NAME, {"display_name": "site_user"}, code="site_user")
    name = check_display_name(display_name)
    if name and not is_staff(user):
        names.check_not_staff_lookalike(name, site_id=None, field="display_name",
                                        user_id=user.id)
    if name != user.display_name:
        user.display_name = name
        author_changed(user)
    db.session.flush()
    return user


QUEUE_MAIL_CHOICES = ("off", "each", "daily")


def set_queue_mail(user: User, choice: object) -> User:
    """How the "comments are waiting in your queue" mails reach a moderator or admin: "off",
    "each" (a mail as comments arrive, rate-limited) or "daily" (one digest a day); True and
    False stand for "each" and "off"."""
    if isinstance(choice, bool):
        choice = "each" if choice else "off"
    if choice not in QUEUE_MAIL_CHOICES:
        raise InvalidInput("Choose off, each or daily.", {"queue_mail": "invalid"})
    if choice != "off" and not (user.is_admin or user.moderated_sites):
        raise Forbidden("Only moderators get queue mails.", {"notify_queue": "not_moderator"})
    user.notify_queue = choice != "off"
    if choice != "off":
        user.queue_digest = choice == "daily"
    db.session.flush()
    return user


def change_password(user: User, current: object, new: object, *,
                    now: datetime | None = None) -> None:
    """Set a new password; every existing session of the account ends (the caller issues a
    fresh one to the browser that asked)."""
    if not verify_password(user, current):
        raise Forbidden("The current password is wrong.", {"current_password": "wrong"},
                        code="wrong_password")
    user.password_hash = hash_password(
        check_new_password(new, user_inputs=[user.username, user.email]))
    end_all_sessions(user, now=now)


def end_all_sessions(user: User, *, now: datetime | None = None) -> None:
    """Sign the account out everywhere: every session and API token made before stops working
    (tokens of older epochs are dead; API tokens are also marked revoked, so the account page
    no longer lists them)."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.execute(update(AuthToken)
                       .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
                       .values(revoked_at=now or utcnow())
                       .execution_options(synchronize_session=False))
    db.session.flush()


# ---------------------------------------------------------------- sessions and API tokens


def _new_token(user: User, kind: TokenKind, lifetime: timedelta, *, name: str = "",
               user_agent: str = "", now: datetime) -> tuple[str, AuthToken]:
    raw = secrets.token_urlsafe(32)
    token = AuthToken(user_id=user.id, kind=kind, token_hash=token_hash(raw), name=name,
                      epoch=user.session_epoch or 0, created_at=now, expires_at=now + lifetime,
                      user_agent=user_agent[:300])
    db.session.add(token)
    db.session.flush()
    return raw, token


def authenticate(login: object, password: object) -> User:
    """The user these credentials belong to; one answer for unknown user and wrong password."""
    user = find_user(login)
    if not verify_password(user, password) or user is None:
        raise NotSignedIn("The username, email or password is wrong.",
                          code="invalid_credentials")
    return user


def start_session(user: User, *, days: int, user_agent: str = "",
                  now: datetime | None = None) -> str:
    """A new sign-in session; returns the raw token (kept by the browser, never stored)."""
    raw, _ = _new_token(user, TokenKind.SESSION, timedelta(days=days), user_agent=user_agent,
                        now=now or utcnow())
    return raw


# One query (the token and its user), built once: every request of a signed-in reader runs
# it. The user's moderated sites are read only where a page asks (most reads never do).
_TOKEN_WITH_USER = (
    select(AuthToken).options(joinedload(AuthToken.user).lazyload(User.moderated_sites))
    .where(AuthToken.token_hash == bindparam("hash"))
)
_TOKEN_COLUMNS = tuple(AuthToken.__table__.columns)
_USER_COLUMNS = tuple(User.__table__.columns)
# The same as a plain read at the start of a request (the usual case): the token's and its
# user's columns, and whether the user moderates any site (when not, no page needs to ask).
_TOKEN_ROW = FastRead(
    select(*_TOKEN_COLUMNS, *_USER_COLUMNS,
           exists().where(SiteModerator.user_id == User.id).label("moderates"))
    .join_from(AuthToken, User, AuthToken.user_id == User.id)
    .where(AuthToken.token_hash == bindparam("hash"))
)


def _token_with_user(hash_: str) -> AuthToken | None:
    """The token and its user. When the session has begun nothing yet, one plain read on a
    connection of its own (on PostgreSQL in autocommit: one round trip, no BEGIN, no ROLLBACK)
    whose row becomes the session's objects; otherwise the ORM query in the session's
    transaction, which sees what the request has written so far."""
    if session_is_reading():
        return db.session.scalar(_TOKEN_WITH_USER, {"hash": hash_})
    with one_read(db.engine) as connection:
        rows = _TOKEN_ROW.rows(connection, {"hash": hash_})
    if not rows:
        return None
    row = rows[0]
    split = len(_TOKEN_COLUMNS)
    token = as_loaded(AuthToken, _TOKEN_COLUMNS, row[:split])
    user = as_loaded(User, _USER_COLUMNS, row[split:split + len(_USER_COLUMNS)])
    if "user" not in token.__dict__:
        set_committed_value(token, "user", user)
    if not row[-1] and "moderated_sites" not in user.__dict__:
        set_committed_value(user, "moderated_sites", [])
    return token


def live_token(raw: str, *, now: datetime | None = None) -> AuthToken | None:
    """The token behind ``raw`` if it may still be used (not expired, revoked or outdated)."""
    if not raw or len(raw) > 200:
        return None
    now = now or utcnow()
    token = _token_with_user(token_hash(raw))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.epoch != token.user.session_epoch:
        return None  # made before a password change or "sign out everywhere"
    return token


def user_for_token(raw: str, *, now: datetime | None = None) -> User | None:
    """The user a session or API token belongs to, if it is live (not expired or revoked)."""
    token = live_token(raw, now=now)
    return token.user if token is not None else None


def needs_touch(token: AuthToken, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL


def touch_token_id(token_id: int, *, now: datetime | None = None) -> None:
    """Record that a token was used (as one UPDATE, without loading anything else)."""
    now = now or utcnow()
    db.session.execute(update(AuthToken).where(AuthToken.id == token_id)
                       .values(last_used_at=now).execution_options(synchronize_session=False))


def end_session(raw: str, *, now: datetime | None = None) -> None:
    """Revoke the session or token ``raw`` (signing out); unknown tokens are ignored."""
    db.session.execute(update(AuthToken)
                       .where(AuthToken.token_hash == token_hash(raw),
                              AuthToken.revoked_at.is_(None))
                       .values(revoked_at=now or utcnow())
                       .execution_options(synchronize_session=False))


def create_api_token(user: User, name: object, *, days: int,
                     now: datetime | None = None) -> tuple[str, AuthToken]:
    """A named personal API token with the owner's rights; the raw value is shown once (the
    admin command; readers go through ``mint_api_token``)."""
    if user.is_site_user:
        raise Forbidden(SITE_USER_NO_TOKENS, code="site_user")
    if name is None:
        name = ""
    if not isinstance(name, str) or len(name.strip()) > MAX_TOKEN_NAME:
        raise InvalidInput("A token name has at most %(max)s characters.",
                           {"name": "invalid"}, params={"max": MAX_TOKEN_NAME})
    name = " ".join(name.split()) or "API token"
    return _new_token(user, TokenKind.API, timedelta(days=days), name=name, now=now or utcnow())


def mint_api_token(user: User, name: object, *, days: int, session: AuthToken | None,
                   password: object = None, now: datetime | None = None
                   ) -> tuple[str, AuthToken]:
    """A reader's request for a new API token: only from a sign-in session (a token never
    mints tokens) whose password was typed recently, or with the password given again. A
    stolen session or token then cannot turn itself into a year-long credential."""
    now = now or utcnow()
    if session is None or session.kind != TokenKind.SESSION or session.user_id != user.id:
        raise Forbidden("An API token cannot create tokens: sign in with your password.",
                        code="session_required")
    if now - session.created_at > RECENT_PASSWORD and not verify_password(user, password):
        raise Forbidden("Give your password again to create a token.",
                        {"password": "required" if not password else "wrong"},
                        code="password_required")
    return create_api_token(user, name, days=days, now=now)


def list_api_tokens(user: User, *, now: datetime | None = None) -> list[AuthToken]:
    """The owner's API tokens that still work, newest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.kind == TokenKind.API,
                                AuthToken.revoked_at.is_(None), AuthToken.expires_at > now)
        .order_by(AuthToken.created_at.desc(), AuthToken.id.desc())))


def revoke_api_token(user: User, token_id: object, *, now: datetime | None = None) -> None:
    """Revoke one of the owner's API tokens; someone else's is "not found" as unknown ones."""
    token = db.session.get(AuthToken, token_id) if parse_id(token_id) is not None else None
    if token is None or token.user_id != user.id or token.kind != TokenKind.API \
            or token.revoked_at is not None:
        raise NotFound("No such token.", code="unknown_token")
    token.revoked_at = now or utcnow()
    db.session.flush()


# ---------------------------------------------------------------- signed links


def account_stamp(user: User) -> str:
    """What binds a mailed link to the one account it was made for, beyond its id: the
    account's creation time. Another account never has both (ids are not reused either, but a
    restored backup or a hand-made row could repeat one)."""
    created = user.created_at.astimezone(UTC) if user.created_at else None
    return created.strftime("%Y%m%d%H%M%S%f") if created else ""


def _account_link(secret: str, purpose: str, user: User, **extra: Any) -> str:
    """A link token for ``purpose`` (the serializer's salt) naming ``user`` and its stamp."""
    return make_link_token(secret, purpose, {"u": user.id, "a": account_stamp(user), **extra})


def _account_of_link(payload: dict[str, Any]) -> User | None:
    """The account a link was made for, if it is still that account."""
    user_id = payload.get("u")
    user = get_user(user_id) if parse_id(user_id) is not None else None
    if user is None or payload.get("a") != account_stamp(user):
        return None
    return user


def signin_link_token(user: User, *, secret: str) -> str:
    """A link that signs ``user`` in once, within a day (``discuss signin-link``, the demo)."""
    return make_link_token(secret, "signin", {"u": user.id, "e": user.email_key,
                                              "p": _password_stamp(user),
                                              "n": secrets.token_hex(4)})


def _password_stamp(user: User) -> str:
    """Changes with the password; tells nothing about it (a digest of its hash)."""
    return token_hash("password:" + user.password_hash)[:16]


def use_signin_link(token: object, *, secret: str, now: datetime | None = None) -> User:
    """The user a sign-in link names (and the link is spent); refused once the account's
    address or password changed since the link was made."""
    payload = read_link_token(secret, "signin", token, now=now)
    user = db.session.get(User, payload["u"])
    if user is None or user.email_key != payload.get("e") \
            or _password_stamp(user) != payload.get("p"):
        raise InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")
    return user


def send_verification(user: User, *, secret: str, link: LinkBuilder,
                      now: datetime | None = None) -> None:
    """Mail a link that confirms the account's email address."""
    token = _account_link(secret, "verify", user, e=user.email_key)
    mail.queue_mail(user.email, _("Confirm your email address"),
                    _("Hello %(username)s,\n\nplease confirm your email address by opening "
                      "this link (valid for 2 days):\n\n%(link)s\n\n"
                      "If you did not sign up, ignore this mail.",
                      username=user.username, link=link("verify", token)), now=now)


def verify_email(token: object, *, secret: str, now: datetime | None = None) -> User:
    """Mark the address a verification link was sent to as confirmed."""
    now = now or utcnow()
    payload = read_link_token(secret, "verify", token, now=now)
    user = _account_of_link(payload)
    if user is None or user.email_key != payload.get("e"):
        raise InvalidInput("This link is for an address the account no longer has.",
                           {"token": "outdated"}, code="invalid_link")
    user.email_verified_at = user.email_verified_at or now
    db.session.flush()
    return user


def request_email_change(user: User, password: object, new_email: object, *, secret: str,
                         link: LinkBuilder, now: datetime | None = None) -> None:
    """Mail a confirmation link to the new address; the address changes once it is opened."""
    if not verify_password(user, password):
        raise Forbidden("The current password is wrong.", {"current_password": "wrong"},
                        code="wrong_password")
    email, email_key = _email(new_email)
    if email_key == user.email_key:
        raise InvalidInput("That is your current address.", {"email": "unchanged"})
    if _user_by_email(email_key) is not None:
        # Same answer as a free address; the address's owner learns of the attempt.
        mail.queue_mail(email, _("Someone tried to use your address"),
                        _("Someone tried to move another account to this email address, which "
                          "already has an account. Nothing was changed."), now=now)
        return
    token = _account_link(secret, "email-change", user, e=email)
    mail.queue_mail(email, _("Confirm your new email address"),
                    _("Hello %(username)s,\n\nopen this link (valid for 2 days) to make this "
                      "your account's address:\n\n%(link)s",
                      username=user.username, link=link("email-change", token)), now=now)
    mail.queue_mail(user.email, _("Your email address is about to change"),
                    _("Someone signed in as %(username)s asked to change the account's "
                      "address to %(email)s. It changes only when the link sent there is "
                      "opened.", username=user.username, email=email),
                    now=now)


def confirm_email_change(token: object, *, secret: str, now: datetime | None = None) -> User:
    now = now or utcnow()
    payload = read_link_token(secret, "email-change", token, now=now)
    user = _account_of_link(payload)
    if user is None:
        raise InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")
    email, email_key = _email(payload.get("e"))
    other = _user_by_email(email_key)
    if other is not None and other.id != user.id:
        raise Conflict("Another account uses that address now.", {"email": "taken"})
    user.email, user.email_key, user.email_verified_at = email, email_key, now
    author_changed(user)  # a Gravatar follows the address
    db.session.flush()
    return user


def _reset_fingerprint(user: User) -> str:
    # Part of the reset link: a link stops working once the password changed.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(login: object, *, secret: str, link: LinkBuilder,
                           now: datetime | None = None) -> None:
    """Mail a reset link if the account exists; the caller answers the same either way."""
    user = find_user(login)
    if user is None:
        return
    token = _account_link(secret, "reset", user, p=_reset_fingerprint(user))
    mail.queue_mail(user.email, _("Reset your password"),
                    _("Hello %(username)s,\n\nsomeone (maybe you) asked to reset the "
                      "password of this account. Open this link within an hour to choose a new "
                      "one:\n\n%(link)s\n\nIf it was not you, ignore this mail.",
                      username=user.username, link=link("reset", token)),
                    now=now)


def check_reset_token(token: object, *, secret: str, now: datetime | None = None) -> User:
    """The user a reset link belongs to, without spending it (the form page shows first)."""
    now = now or utcnow()
    if not isinstance(token, str):
        raise InvalidInput("This link is not valid.", {"token": "invalid"}, code="invalid_link")
    try:
        payload, signed_at = link_serializer(secret, "reset").loads(token, return_timestamp=True)
    except BadSignature as exc:
        raise InvalidInput("This link is not valid.", {"token": "invalid"},
                           code="invalid_link") from exc
    if now - signed_at > LINK_MAX_AGE["reset"]:
        raise InvalidInput("This link has expired. Ask for a new one.", {"token": "expired"},
                           code="expired_link")
    user = _account_of_link(payload) if isinstance(payload, dict) else None
    if user is None or payload.get("p") != _reset_fingerprint(user) \
            or db.session.get(UsedToken, token_hash(f"reset:{token}")) is not None:
        raise InvalidInput("This link was used already. Ask for a new one.", {"token": "used"},
                           code="used_link")
    return user


def reset_password(token: object, new_password: object, *, secret: str,
                   now: datetime | None = None) -> User:
    """Set a new password from a reset link; the link is spent and every session ends."""
    now = now or utcnow()
    user = check_reset_token(token, secret=secret, now=now)
    password = check_new_password(new_password, user_inputs=[user.username, user.email])
    read_link_token(secret, "reset", token, now=now)
    user.password_hash = hash_password(password)
    # Opening the mailed link proves the address too.
    user.email_verified_at = user.email_verified_at or now
    end_all_sessions(user, now=now)
    return user
