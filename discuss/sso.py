"""Single sign-on: readers signed in by the publisher's own site with a signed token (a JWT).

Owns a site's SSO secret, checking a token (HS256 only, every claim required, the ``jti`` used
once), and the per-site users such tokens stand for. A site user belongs to one site, is found
by (site, ``sub``), never by name or email, has no password, and never becomes a local account
or a moderator by itself. Flushes, never commits; knows nothing of the request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from discuss.accounts import MAX_DISPLAY_NAME
from discuss.emails import normalize_email
from discuss.errors import DiscussError, InvalidInput, NotSignedIn
from discuss.extensions import db
from discuss.models import Site, UsedSsoToken, User, utcnow
from discuss.threads import author_changed

MIN_SECRET_LENGTH = 32
MAX_SECRET_LENGTH = 200
# The SPEC's bound on a token's life: a leaked token is worth little for long.
MAX_TOKEN_LIFETIME = timedelta(minutes=10)
# Clocks of the publisher's servers and ours may differ a little.
CLOCK_SKEW = timedelta(seconds=30)
MAX_TOKEN_CHARS = 4096
MAX_SUBJECT = 255
MAX_JTI = 255
ALGORITHMS = ["HS256"]  # never taken from the token's own header
REQUIRED_CLAIMS = ["sub", "name", "aud", "iat", "exp", "jti"]
_INVISIBLE = re.compile(r"[\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f"
                        r"\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")


class InvalidSsoToken(NotSignedIn):
    """A refused sign-on token: always a 401, whatever was wrong with it."""

    code = "invalid_sso_token"


# ---------------------------------------------------------------- the site's secret


def check_secret(secret: object) -> str:
    """A usable HS256 key: 32–200 printable characters without spaces at either end."""
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise InvalidInput(f"The SSO secret must have at least {MIN_SECRET_LENGTH} characters.",
                           {"sso_secret": "too_short"})
    if len(secret) > MAX_SECRET_LENGTH or secret != secret.strip() or not secret.isprintable():
        raise InvalidInput(f"The SSO secret must be at most {MAX_SECRET_LENGTH} printable "
                           "characters, without spaces at either end.",
                           {"sso_secret": "invalid"})
    return secret


def generate_secret() -> str:
    """A fresh random secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def set_secret(site: Site, secret: object) -> Site:
    """Turn SSO on for ``site`` with this secret (a new one replaces the old at once)."""
    site.sso_secret = check_secret(secret)
    db.session.flush()
    return site


def turn_off(site: Site) -> Site:
    """No more sign-ons for ``site``; its site users keep their comments and sessions."""
    site.sso_secret = ""
    db.session.flush()
    return site


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Identity:
    """What a checked token says about the reader."""

    subject: str
    name: str
    email: str
    email_key: str
    jti: str
    expires_at: datetime


def _refuse(message: str, reason: str) -> InvalidSsoToken:
    return InvalidSsoToken(message, {"token": reason})


def _timestamp(claims: dict, name: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(f"The sign-in token's {name} is not a time.", "invalid")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _refuse(f"The sign-in token's {name} is not a time.", "invalid") from exc


def clean_name(name: object) -> str:
    """The publisher's display name as shown: invisible and direction-changing characters
    dropped, spaces tidied, at most 64 characters."""
    if not isinstance(name, str):
        raise _refuse("The sign-in token's name must be text.", "invalid")
    name = _INVISIBLE.sub("", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split())[:MAX_DISPLAY_NAME].strip()
    if not name:
        raise _refuse("The sign-in token has no name.", "missing_claim")
    return name


def read_token(site: Site, token: object, *, now: datetime | None = None) -> Identity:
    """The reader a token vouches for, if ``site`` signed it for itself, recently, with HS256.

    Refusals are all InvalidSsoToken (401); the token is not spent here (see sign_on)."""
    now = now or utcnow()
    if not site.sso_secret:
        raise _refuse("This site does not sign readers in with its own accounts.", "sso_off")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise _refuse("Give the sign-in token.", "missing")
    try:
        claims = jwt.decode(
            token, site.sso_secret, algorithms=ALGORITHMS, audience=site.slug,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True,
                     # The times are checked below, against the caller's clock.
                     "verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.InvalidAlgorithmError as exc:
        raise _refuse("The sign-in token must be signed with HS256.", "algorithm") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise _refuse(f"The sign-in token lacks the {exc.claim!r} claim.",
                      "missing_claim") from exc
    except jwt.InvalidAudienceError as exc:
        raise _refuse("The sign-in token is for another site.", "audience") from exc
    except jwt.InvalidSignatureError as exc:
        raise _refuse("The sign-in token's signature is wrong.", "signature") from exc
    except jwt.InvalidTokenError as exc:
        raise _refuse("The sign-in token is not valid.", "invalid") from exc
    issued, expires = _timestamp(claims, "iat"), _timestamp(claims, "exp")
    if issued > now + CLOCK_SKEW:
        raise _refuse("The sign-in token was issued in the future.", "not_yet_valid")
    if expires <= now - CLOCK_SKEW:
        raise _refuse("The sign-in token has expired.", "expired")
    if expires - issued > MAX_TOKEN_LIFETIME:
        raise _refuse("The sign-in token may live at most 10 minutes (exp - iat).",
                      "too_long_lived")
    if "nbf" in claims and _timestamp(claims, "nbf") > now + CLOCK_SKEW:
        raise _refuse("The sign-in token is not valid yet.", "not_yet_valid")
    subject, jti = claims["sub"], claims["jti"]
    if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT:
        raise _refuse(f"The sign-in token's sub must be 1–{MAX_SUBJECT} characters of text.",
                      "invalid")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI:
        raise _refuse(f"The sign-in token's jti must be 1–{MAX_JTI} characters of text.",
                      "invalid")
    email = claims.get("email") or ""
    try:
        email, email_key = normalize_email(email)
    except DiscussError as exc:
        raise _refuse("The sign-in token's email is not a valid address.", "invalid") from exc
    return Identity(subject=subject, name=clean_name(claims["name"]), email=email,
                    email_key=email_key, jti=jti, expires_at=expires + CLOCK_SKEW)


def spend_token(site: Site, identity: Identity, *, now: datetime | None = None) -> None:
    """Mark the token's ``jti`` used until it expires; a second use is refused.

    The row's primary key settles a race: of two processes exchanging one token, one insert
    fails, in whichever transaction commits second."""
    now = now or utcnow()
    db.session.execute(delete(UsedSsoToken).where(UsedSsoToken.expires_at < now)
                       .execution_options(synchronize_session=False))
    jti_hash = hashlib.sha256(identity.jti.encode()).hexdigest()
    if db.session.get(UsedSsoToken, (site.id, jti_hash)) is not None:
        raise _refuse("This sign-in token was used already.", "used")
    try:
        with db.session.begin_nested():
            db.session.add(UsedSsoToken(site_id=site.id, jti_hash=jti_hash,
                                        expires_at=identity.expires_at))
    except IntegrityError as exc:
        raise _refuse("This sign-in token was used already.", "used") from exc


# ---------------------------------------------------------------- site users


def site_user(site: Site, subject: str) -> User | None:
    """The site's user with this ``sub`` (subjects of different sites never meet)."""
    return db.session.scalar(select(User).where(User.site_id == site.id,
                                                User.external_id == subject))


def _new_site_user(site: Site, identity: Identity, now: datetime) -> User:
    # A username no local one can take or type to sign in (local ones are [A-Za-z0-9_-]),
    # and an email key that is no address: neither unique column meets a local account's.
    handle = "~" + secrets.token_hex(12)
    return User(username=handle, username_key=handle, email=identity.email,
                email_key=f"sso~{site.id}~{handle[1:]}", password_hash="",
                display_name=identity.name, is_admin=False, session_epoch=0,
                notify_queue=False, created_at=now,
                email_verified_at=now if identity.email else None,
                site_id=site.id, external_id=identity.subject)


def sign_on(site: Site, token: object, *, now: datetime | None = None) -> User:
    """The site user a valid token stands for, made on first sight or updated to the token's
    name and email; the token cannot be used again."""
    now = now or utcnow()
    identity = read_token(site, token, now=now)
    spend_token(site, identity, now=now)
    user = site_user(site, identity.subject)
    if user is None:
        user = _new_site_user(site, identity, now)
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:
            # Another process made this reader a moment ago: use theirs.
            user = site_user(site, identity.subject)
            if user is None:  # pragma: no cover - the unique key said it exists
                raise
        else:
            return user
    changed_name = user.display_name != identity.name
    if changed_name or user.email != identity.email:
        user.display_name = identity.name
        if user.email != identity.email:
            user.email = identity.email
            user.email_verified_at = now if identity.email else None
        if changed_name:
            author_changed(user)
        db.session.flush()
    return user
