"""Sites: creating and changing a publisher's settings (origins, policy, guests, edit window)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select

from discuss.comments import SLUG_RE
from discuss.errors import Conflict, InvalidInput
from discuss.extensions import db
from discuss.models import ModerationPolicy, Site


def normalize_origin(origin: str) -> str:
    """``https://News.Example.com/`` → ``https://news.example.com``; anything else is refused."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
            or parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInput(f"{origin!r} is not an origin like https://news.example.com.",
                           {"origins": "invalid"})
    return f"{parts.scheme}://{parts.netloc}".lower()


def create_site(slug: str, *, origins: Iterable[str] = (), moderation: str = "first",
                allow_guests: bool = True, name: str = "") -> Site:
    """A new site; its slug is [a-z0-9-]{1,64} and unique."""
    if not SLUG_RE.match(slug or ""):
        raise InvalidInput("The slug must be 1–64 characters of a-z, 0-9 and -.",
                           {"slug": "invalid"})
    if db.session.scalar(select(Site.id).where(Site.slug == slug)) is not None:
        raise Conflict(f"A site named {slug!r} exists already.", {"slug": "taken"})
    try:
        policy = ModerationPolicy(moderation)
    except ValueError as exc:
        raise InvalidInput("moderation must be first, pre or post.",
                           {"moderation": "invalid"}) from exc
    site = Site(slug=slug, name=name or slug, origins=[normalize_origin(o) for o in origins],
                moderation=policy, allow_guests=allow_guests)
    db.session.add(site)
    db.session.flush()
    return site
