"""Sites: creating and changing a publisher's settings (origins, policy, guests, edit window,
spam rules and reports)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, delete, func, select

from discuss import i18n
from discuss.errors import Conflict, Forbidden, InvalidInput, NotFound, parse_choice
from discuss.extensions import db
from discuss.models import (
    BlocklistAction,
    Comment,
    DeletedUserText,
    ModerationPolicy,
    Site,
    SiteModerator,
    Status,
    User,
)
from discuss.spam import blocklist_entries
from discuss.threads import SLUG_RE
from discuss.trust import MAX_TRUST_AFTER

MAX_EDIT_WINDOW = 86400  # a day: longer would let authors rewrite settled discussions
MAX_NAME = 200
# Spam-rule bounds: wide enough for any real site, narrow enough that a typo is caught.
MAX_SUBMIT_SECONDS = 3600  # nobody waits an hour for a form to unlock
MAX_LINKS = 100
MAX_REPORT_THRESHOLD = 1000
MAX_BLOCKLIST_CHARS = 5000  # the list is compiled into one regex per comment check
MAX_BLOCKLIST_ENTRIES = 500
# Below an even chance the filter would call a comment spam that it finds more likely not.
MIN_SPAM_THRESHOLD = 0.5
_WHOLE_NUMBER = re.compile(r"\s*-?\d{1,9}\s*")


class _Unchanged:
    """The default of update_site's keywords: that setting stays as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


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
    return parse_choice(ModerationPolicy, moderation, "moderation",
                        "moderation must be first, pre or post.")


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


def _whole_number(value: object) -> int | None:
    """An int, or text that spells one; None for anything else (bools included)."""
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def check_flag(value: object, field: str) -> bool:
    """A yes/no setting: only a real boolean (a typo like "no" must not read as yes)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false.", {field: "invalid"})
    return value


def check_min_submit_seconds(value: object) -> int:
    """Seconds (0–3600) a comment form must be shown before it is sent; 0 switches it off."""
    seconds = _whole_number(value)
    if seconds is None or not 0 <= seconds <= MAX_SUBMIT_SECONDS:
        raise InvalidInput(f"The minimum time must be 0–{MAX_SUBMIT_SECONDS} seconds "
                           "(0 switches the rule off).", {"min_submit_seconds": "invalid"})
    return seconds


def check_max_links(value: object) -> int:
    """Links (0–100) a comment may carry before it waits; -1 switches the rule off."""
    links = _whole_number(value)
    if links is None or not -1 <= links <= MAX_LINKS:
        raise InvalidInput(f"The most links must be -1–{MAX_LINKS} "
                           "(-1 switches the rule off).", {"max_links": "invalid"})
    return links


def check_report_threshold(value: object) -> int | None:
    """Reports (1–1000) that hide a comment; None or empty uses DISCUSS_REPORT_THRESHOLD."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    reports = _whole_number(value)
    if reports is None or not 1 <= reports <= MAX_REPORT_THRESHOLD:
        raise InvalidInput(f"The report threshold must be 1–{MAX_REPORT_THRESHOLD} reports, "
                           "or empty for the default.", {"report_threshold": "invalid"})
    return reports


def check_trust_after(value: object) -> int:
    """Approved comments (1–100) an author needs, since their last one marked spam, before
    their comments skip the queue under the `first` policy (which is 1)."""
    approvals = _whole_number(value)
    if approvals is None or not 1 <= approvals <= MAX_TRUST_AFTER:
        raise InvalidInput(f"Trust after must be 1–{MAX_TRUST_AFTER} approved comments.",
                           {"trust_after": "invalid"})
    return approvals


def check_spam_threshold(value: object) -> float:
    """The learned filter's spam probability (0.5–1, e.g. 0.9) at or over which a comment
    goes to the spam queue."""
    threshold: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        threshold = float(value)
    elif isinstance(value, str):
        try:
            threshold = float(value.strip())
        except ValueError:
            threshold = None
    if threshold is None or not MIN_SPAM_THRESHOLD <= threshold <= 1:
        raise InvalidInput(f"The spam threshold must be a probability from "
                           f"{MIN_SPAM_THRESHOLD} to 1, like 0.9.", {"spam_threshold": "invalid"})
    return threshold


def check_blocklist(value: object) -> str:
    """The blocklist as stored: one word or phrase per line, spaces tidied, repeats dropped.

    Commas separate entries too, as the spam rule reads them; at most 500 entries and 5,000
    characters.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("The blocklist must be text.", {"blocklist": "invalid"})
    entries: list[str] = []
    seen: set[str] = set()
    # Blank lines and spaces are tidied away before the limit applies, up to a point.
    for raw in re.split(r"[\r\n,]", value[:MAX_BLOCKLIST_CHARS * 4]):
        entry = " ".join(raw.split())
        folded = " ".join(blocklist_entries(entry))
        if folded and folded not in seen:
            seen.add(folded)
            entries.append(entry)
    text = "\n".join(entries)
    if len(value) > MAX_BLOCKLIST_CHARS * 4 or len(text) > MAX_BLOCKLIST_CHARS:
        raise InvalidInput(f"The blocklist must be at most {MAX_BLOCKLIST_CHARS:,} characters.",
                           {"blocklist": "too_long"})
    if len(entries) > MAX_BLOCKLIST_ENTRIES:
        raise InvalidInput(f"The blocklist must have at most {MAX_BLOCKLIST_ENTRIES} words or "
                           f"phrases (it has {len(entries)}).", {"blocklist": "too_many"})
    return text


def check_blocklist_action(value: object) -> BlocklistAction:
    """``pending`` (hold for a moderator) or ``spam`` when the blocklist matches."""
    return parse_choice(BlocklistAction, value, "blocklist_action",
                        "The blocklist action must be pending or spam.")


def check_language(value: object) -> str:
    """One of the languages discuss has a catalog for (``de``, ``pt-BR`` → ``pt``…)."""
    lang = i18n.match_language(value) if isinstance(value, str) else None
    if lang is None:
        raise InvalidInput("The language must be one of " + ", ".join(i18n.LANGUAGES) + ".",
                           {"language": "invalid"})
    return lang


def check_deleted_user_text(value: object) -> DeletedUserText:
    """``keep`` or ``remove`` the text of a deleted account's comments."""
    return parse_choice(DeletedUserText, value, "deleted_user_text",
                        "What happens to a deleted account's comments must be keep or remove.")


def create_site(slug: str, *, origins: Iterable[str] = (), moderation: str = "first",
                allow_guests: bool = True, name: str = "", require_guest_name: bool = True,
                edit_window: int | str | None = None, trust_after: int | str = 1,
                language: str = "en") -> Site:
    """A new site; its slug is [a-z0-9-]{1,64} and unique."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise InvalidInput("The slug must be 1–64 characters of a-z, 0-9 and -.",
                           {"slug": "invalid"})
    name = check_name(name)
    cleaned = check_origins(origins)
    policy = check_policy(moderation)
    window = check_edit_window(edit_window)
    approvals = check_trust_after(trust_after)
    lang = check_language(language)
    if db.session.scalar(select(Site.id).where(Site.slug == slug)) is not None:
        raise Conflict(f"A site named {slug!r} exists already.", {"slug": "taken"})
    site = Site(slug=slug, name=name or slug, origins=cleaned, moderation=policy,
                allow_guests=bool(allow_guests), require_guest_name=bool(require_guest_name),
                edit_window=window, trust_after=approvals, language=lang)
    db.session.add(site)
    db.session.flush()
    return site


def update_site(site: Site, *, name: Any = UNCHANGED, origins: Any = UNCHANGED,
                moderation: Any = UNCHANGED, allow_guests: Any = UNCHANGED,
                require_guest_name: Any = UNCHANGED, edit_window: Any = UNCHANGED,
                honeypot: Any = UNCHANGED, min_submit_seconds: Any = UNCHANGED,
                max_links: Any = UNCHANGED, blocklist: Any = UNCHANGED,
                blocklist_action: Any = UNCHANGED, report_threshold: Any = UNCHANGED,
                deleted_user_text: Any = UNCHANGED, trust_after: Any = UNCHANGED,
                spam_filter: Any = UNCHANGED, spam_threshold: Any = UNCHANGED,
                language: Any = UNCHANGED) -> Site:
    """Change the given settings of a site (the others stay); all are checked before any is set.

    ``edit_window`` and ``report_threshold`` take None (or empty text) for the service's
    default; ``allow_guests`` and ``require_guest_name`` take anything truthy, as before.
    """
    checks = {
        "name": check_name, "origins": check_origins, "moderation": check_policy,
        "allow_guests": bool, "require_guest_name": bool, "edit_window": check_edit_window,
        "honeypot": lambda value: check_flag(value, "honeypot"),
        "min_submit_seconds": check_min_submit_seconds, "max_links": check_max_links,
        "blocklist": check_blocklist, "blocklist_action": check_blocklist_action,
        "report_threshold": check_report_threshold,
        "deleted_user_text": check_deleted_user_text,
        "trust_after": check_trust_after,
        "spam_filter": lambda value: check_flag(value, "spam_filter"),
        "spam_threshold": check_spam_threshold,
        "language": check_language,
    }
    given = {"name": name, "origins": origins, "moderation": moderation,
             "allow_guests": allow_guests, "require_guest_name": require_guest_name,
             "edit_window": edit_window, "honeypot": honeypot,
             "min_submit_seconds": min_submit_seconds, "max_links": max_links,
             "blocklist": blocklist, "blocklist_action": blocklist_action,
             "report_threshold": report_threshold, "deleted_user_text": deleted_user_text,
             "trust_after": trust_after, "spam_filter": spam_filter,
             "spam_threshold": spam_threshold, "language": language}
    cleaned = {field: checks[field](value) for field, value in given.items()
               if value is not UNCHANGED}
    if "name" in cleaned:
        cleaned["name"] = cleaned["name"] or site.slug
    for field, value in cleaned.items():
        setattr(site, field, value)
    db.session.flush()
    return site


SPAM_SETTINGS = ("honeypot", "min_submit_seconds", "max_links", "blocklist", "blocklist_action",
                 "report_threshold", "deleted_user_text", "trust_after", "spam_filter",
                 "spam_threshold")


def spam_settings(site: Site) -> dict[str, Any]:
    """A site's spam rules and report settings as plain values (for the CLI and the forms)."""
    return {"honeypot": site.honeypot, "min_submit_seconds": site.min_submit_seconds,
            "max_links": site.max_links, "blocklist": site.blocklist or "",
            "blocklist_action": BlocklistAction(site.blocklist_action).value,
            "report_threshold": site.report_threshold,
            "deleted_user_text": DeletedUserText(site.deleted_user_text).value,
            "trust_after": site.trust_after, "spam_filter": site.spam_filter,
            "spam_threshold": site.spam_threshold}


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
    if user.site_id not in (None, site.id):
        raise Forbidden("That account belongs to another site.", {"username": "other_site"},
                        code="other_site_account")
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
