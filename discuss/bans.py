"""Bans: who may not comment where, for how long, and whether they know it (shadow bans).

Checked on every post (``check_not_banned``, ``is_shadow_banned``); set and lifted by
moderators, each written to the audit log in the same transaction. Banning an author together
with removing their comments is a queue action (discuss.moderation.ban_author).
Flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select

from discuss import audit
from discuss.emails import normalize_email
from discuss.errors import (
    BANNED_MESSAGES,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    parse_choice,
)
from discuss.extensions import FastRead, db, read_rows
from discuss.ids import parse_id
from discuss.models import Ban, BanKind, Comment, Site, User, utcnow
from discuss.permissions import Actor, require
from discuss.text import check_text

MAX_NOTE = 1000


MAX_REASON = 500


def _author_ban_keys(actor: Actor, email_key: str) -> list[tuple[BanKind, str]]:
    keys: list[tuple[BanKind, str]] = []
    if actor.user is not None:
        keys.append((BanKind.USER, str(actor.user.id)))
        keys.append((BanKind.EMAIL, actor.user.email_key))
    elif email_key:
        keys.append((BanKind.EMAIL, email_key))
    if actor.ip_hash:
        keys.append((BanKind.IP, actor.ip_hash))
    return keys


def active_bans_filter(site_id: int | None, now: datetime):
    """Bans in force at ``now`` for a site (its own and those for every site)."""
    scope = Ban.site_id.is_(None) if site_id is None else or_(Ban.site_id.is_(None),
                                                               Ban.site_id == site_id)
    return and_(Ban.lifted_at.is_(None), or_(Ban.expires_at.is_(None), Ban.expires_at > now),
                scope)


# Every ban that can cover an author, prebuilt once: a missing key is bound as NULL, which
# matches nothing (ban values are never empty). Read as plain rows: every post asks.
_BANS_COVERING = FastRead(select(Ban.shadow, Ban.reason, Ban.expires_at).where(
    Ban.lifted_at.is_(None),
    or_(Ban.expires_at.is_(None), Ban.expires_at > bindparam("now")),
    or_(Ban.site_id.is_(None), Ban.site_id == bindparam("site_id")),
    or_(*(and_(Ban.kind == kind, Ban.value == bindparam(kind.value))
          for kind in (BanKind.USER, BanKind.EMAIL, BanKind.IP))),
).order_by(Ban.created_at))


def bans_covering(site: Site, actor: Actor, email_key: str, *,
                  now: datetime) -> list[tuple[bool, str, datetime | None]]:
    """The bans in force on this author here (shadow, reason, expires_at; one query,
    remembered on the actor)."""
    cache_key = ("bans", site.id, email_key, now)
    cached = actor.extra.get(cache_key)
    if cached is not None:
        return cached
    keys = dict(_author_ban_keys(actor, email_key))
    found: list[tuple[bool, str, datetime | None]] = []
    if keys:
        found = read_rows(_BANS_COVERING, {
            "now": now, "site_id": site.id,
            **{kind.value: keys.get(kind) or None for kind in BanKind}})
    actor.extra[cache_key] = found
    return found


def check_not_banned(site: Site, actor: Actor, email_key: str, *, now: datetime) -> None:
    """Raise Forbidden when a ban (not a shadow ban) covers this author."""
    for shadow, reason, expires_at in bans_covering(site, actor, email_key, now=now):
        if not shadow:
            params = {"reason": reason, "end": f"{expires_at:%Y-%m-%d %H:%M} UTC"
                      if expires_at is not None else ""}
            raise Forbidden(BANNED_MESSAGES[(bool(reason), expires_at is not None)],
                            code="banned", params=params)


def is_shadow_banned(site: Site, actor: Actor, email_key: str, *, now: datetime) -> bool:
    """True when a shadow ban covers this author: they see their comments, nobody else does."""
    return any(shadow for shadow, _, _ in bans_covering(site, actor, email_key, now=now))


def _check_ban_value(kind: BanKind, value: object) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InvalidInput("Say whom to ban.", {"value": "required"})
    value = str(value).strip()
    if kind == BanKind.USER:
        user = None
        if parse_id(value) is not None:
            user = db.session.get(User, parse_id(value))
        if user is None:
            user = db.session.scalar(select(User).where(User.username_key == value.lower()))
        if user is None:
            raise InvalidInput("No such user.", {"value": "unknown_user"})
        return str(user.id)
    if kind == BanKind.EMAIL:
        return normalize_email(value)[1]
    if len(value) > 64 or not all(c in "0123456789abcdef" for c in value):
        raise InvalidInput("An IP ban takes the IP hash shown in the queue.", {"value": "invalid"})
    return value


def ban(site: Site | None, actor: Actor, kind: object, value: object, *, shadow: bool = False,
        reason: object = "", expires_at: datetime | None = None,
        now: datetime | None = None) -> Ban:
    """Ban a user, an email address or an IP hash from a site (None: every site, admins only)."""
    now = now or utcnow()
    require(actor, "ban", site)
    kind = parse_choice(BanKind, kind, "kind", "kind must be user, email or ip.")
    if not isinstance(shadow, bool):
        raise InvalidInput("shadow must be true or false.", {"shadow": "invalid"})
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("The ban would already have ended.", {"expires_at": "past"})
    record = Ban(site_id=site.id if site else None, kind=kind,
                 value=_check_ban_value(kind, value), shadow=shadow,
                 reason=check_text(reason, MAX_REASON, "reason"),
                 created_by=actor.user.id if actor.user else None, created_at=now,
                 expires_at=expires_at)
    db.session.add(record)
    db.session.flush()
    audit.record(site, actor, "ban", target=f"{kind}:{record.value}"[:300],
                 note=("shadow ban. " if shadow else "") + record.reason, now=now)
    return record


def get_ban(ban_id: object) -> Ban:
    if parse_id(ban_id) is None or not isinstance(ban_id, int):
        raise NotFound("No such ban.", code="unknown_ban")
    found = db.session.get(Ban, ban_id)
    if found is None:
        raise NotFound("No such ban.", code="unknown_ban")
    return found


def lift_ban(record: Ban, actor: Actor, *, note: object = "", now: datetime | None = None) -> Ban:
    """End a ban early; the row stays for the record."""
    now = now or utcnow()
    require(actor, "lift_ban", record)
    if record.lifted_at is not None:
        raise Conflict("This ban was already lifted.", code="already_handled")
    record.lifted_at = now
    audit.record(record.site_id, actor, "lift_ban", target=f"{record.kind}:{record.value}",
                 note=check_text(note, MAX_NOTE, "note"), now=now)
    db.session.flush()
    return record


def list_bans(site: Site, *, now: datetime | None = None, limit: int = 200) -> list[Ban]:
    """A site's bans (and bans on every site), those in force first, newest first."""
    now = now or utcnow()
    rows = list(db.session.scalars(
        select(Ban).where(or_(Ban.site_id == site.id, Ban.site_id.is_(None)))
        .order_by(Ban.created_at.desc(), Ban.id.desc()).limit(limit)
    ))
    return sorted(rows, key=lambda b: not is_active(b, now))


def is_active(record: Ban, now: datetime) -> bool:
    return record.lifted_at is None and (record.expires_at is None or record.expires_at > now)


def author_filter(comment: Comment):
    """Every comment by the same author: the user, or the guest by email, browser key or IP."""
    if comment.user_id is not None:
        return Comment.user_id == comment.user_id
    keys = [(Comment.guest_email_key, comment.guest_email_key),
            (Comment.guest_key_hash, comment.guest_key_hash), (Comment.ip_hash, comment.ip_hash)]
    clauses = [column == value for column, value in keys if value]
    if not clauses:
        return Comment.id == comment.id
    return and_(Comment.user_id.is_(None), or_(*clauses))
