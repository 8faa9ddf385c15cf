"""Sites: creating and changing a publisher's settings (origins, policy, guests, edit window)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import case, delete, func, select

from discuss.comments import SLUG_RE
from discuss.errors import Conflict, InvalidInput, NotFound
from discuss.extensions import db
from discuss.models import Comment, ModerationPolicy, Site, SiteModerator, Status, User

MAX_EDIT_WINDOW = 86400  # a day: longer would let authors rewrite settled discussions
MAX_NAME = 200


def normalize_origin(origin: str) -> str:
    """``https://News.Example.com/`` → ``https://news.example.com``; anything else is refused."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
            or parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInput(f"{origin!r} is not an origin like https://news.example.com.",
                           {"origins": "invalid"})
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origins(origins: Iterable[str]) -> list[str]:
    """Each origin normalised, blanks skipped, duplicates dropped, order kept."""
    if isinstance(origins, str):
        origins = [origins]
    cleaned: list[str] = []
    for origin in origins:
        if not isinstance(origin, str):
            raise InvalidInput("Origins must be text.", {"origins": "invalid"})
        if origin.strip():
            value = normalize_origin(origin)
            if value not in cleaned:
                cleaned.append(value)
    return cleaned


def check_policy(moderation: object) -> ModerationPolicy:
    """``first``, ``pre`` or ``post``; anything else is refused."""
    try:
        return ModerationPolicy(moderation)
    except ValueError as exc:
        raise InvalidInput("moderation must be first, pre or post.",
                           {"moderation": "invalid"}) from exc


def check_edit_window(seconds: object) -> int | None:
    """Seconds (0–86400) an author may edit; None or empty keeps the service's default."""
    if seconds is None or (isinstance(seconds, str) and not seconds.strip()):
        return None
    if isinstance(seconds, str) and seconds.strip().isdigit() and len(seconds.strip()) < 10:
        seconds = int(seconds.strip())
    if isinstance(seconds, bool) or not isinstance(seconds, int) \
            or not 0 <= seconds <= MAX_EDIT_WINDOW:
        raise InvalidInput(f"The edit window must be 0–{MAX_EDIT_WINDOW} seconds, "
                           "or empty for the default.", {"edit_window": "invalid"})
    return seconds


def check_name(name: object) -> str:
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
        raise InvalidInput(f"The name must be at most {MAX_NAME} characters.",
                           {"name": "invalid"})
    return name.strip()


def create_site(slug: str, *, origins: Iterable[str] = (), moderation: str = "first",
                allow_guests: bool = True, name: str = "", require_guest_name: bool = True,
                edit_window: int | str | None = None) -> Site:
    """A new site; its slug is [a-z0-9-]{1,64} and unique."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise InvalidInput("The slug must be 1–64 characters of a-z, 0-9 and -.",
                           {"slug": "invalid"})
    name = check_name(name)
    cleaned = check_origins(origins)
    policy = check_policy(moderation)
    window = check_edit_window(edit_window)
    if db.session.scalar(select(Site.id).where(Site.slug == slug)) is not None:
        raise Conflict(f"A site named {slug!r} exists already.", {"slug": "taken"})
    site = Site(slug=slug, name=name or slug, origins=cleaned, moderation=policy,
                allow_guests=bool(allow_guests), require_guest_name=bool(require_guest_name),
                edit_window=window)
    db.session.add(site)
    db.session.flush()
    return site


def update_site(site: Site, *, name: str, origins: Iterable[str], moderation: str,
                allow_guests: bool, require_guest_name: bool,
                edit_window: int | str | None) -> Site:
    """Change a site's settings; every value is checked before any is applied."""
    name = check_name(name)
    cleaned = check_origins(origins)
    policy = check_policy(moderation)
    window = check_edit_window(edit_window)
    site.name = name or site.slug
    site.origins = cleaned
    site.moderation = policy
    site.allow_guests = bool(allow_guests)
    site.require_guest_name = bool(require_guest_name)
    site.edit_window = window
    db.session.flush()
    return site


@dataclass
class SiteTotals:
    """A site with its comment totals, for the admin's list."""

    site: Site
    approved: int
    pending: int
    total: int


def list_sites() -> list[SiteTotals]:
    """Every site by slug with its approved, pending and total comments: one grouped query."""
    approved = func.coalesce(func.sum(case((Comment.status == Status.APPROVED, 1), else_=0)), 0)
    pending = func.coalesce(func.sum(case((Comment.status == Status.PENDING, 1), else_=0)), 0)
    rows = db.session.execute(
        select(Site, approved, pending, func.count(Comment.id))
        .outerjoin(Comment, Comment.site_id == Site.id)
        .group_by(Site.id)
        .order_by(Site.slug)
    ).all()
    return [SiteTotals(site, int(a), int(p), int(t)) for site, a, p, t in rows]


def list_moderators(site: Site) -> list[User]:
    """The users appointed to moderate ``site`` (admins moderate every site without a row)."""
    return list(db.session.scalars(
        select(User).join(SiteModerator, SiteModerator.user_id == User.id)
        .where(SiteModerator.site_id == site.id).order_by(User.username_key)))


def appoint_moderator(site: Site, username: object) -> User:
    """Make the user named ``username`` a moderator of ``site``."""
    key = username.strip().lower() if isinstance(username, str) else ""
    user = db.session.scalar(select(User).where(User.username_key == key)) if key else None
    if user is None:
        raise NotFound("No user has that username.", {"username": "unknown"},
                       code="unknown_user")
    taken = db.session.get(SiteModerator, (site.id, user.id))
    if taken is not None:
        raise Conflict(f"{user.username} moderates {site.slug} already.",
                       {"username": "taken"})
    db.session.add(SiteModerator(site_id=site.id, user_id=user.id))
    db.session.flush()
    return user


def remove_moderator(site: Site, user_id: int) -> None:
    """Take ``site``'s moderation away from a user (their past actions stay in the log)."""
    removed = db.session.execute(
        delete(SiteModerator).where(SiteModerator.site_id == site.id,
                                    SiteModerator.user_id == user_id))
    if removed.rowcount == 0:
        raise NotFound("That user does not moderate this site.", {"user": "unknown"})
