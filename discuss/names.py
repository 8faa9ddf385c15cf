"""Display names readers type (a guest's name, an account's display name or username): what
is kept of them, and which may not be taken.

A name loses what a reader cannot see or that changes how the text around it runs: format
characters (zero-width joiners and spaces, direction overrides and isolates, the invisible
operators), other default-ignorable characters (variation selectors, Hangul fillers) and
controls; it is NFKC-normalised (fullwidth and mathematical letters become plain ones) and its
spaces collapsed. No one but a staff member may take a name that looks like a moderator's or
an admin's: names are compared by Unicode's confusable mappings (UTS #39, through the
``confusables`` package), ignoring case, spaces and punctuation.
"""

from __future__ import annotations

import importlib
import re
import unicodedata

from sqlalchemy import CompoundSelect, bindparam, select, true, union

from discuss.errors import InvalidInput
from discuss.extensions import FastRead, read_rows
from discuss.models import SiteModerator, User

# Default-ignorable code points that are not format characters (category Cf, removed anyway):
# combining grapheme joiner, Hangul fillers, Khmer vowel inherents, Mongolian and other
# variation selectors, the halfwidth Hangul filler, tag characters' neighbours.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0000-\U000e0fff\u2800]")
# More than this many combining marks on one letter only stack text over its neighbours.
MAX_MARKS = 3
_PUNCTUATION = re.compile(r"[\W_]+")


def _keep(char: str) -> bool:
    return unicodedata.category(char) not in ("Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp")


def clean_name(value: str) -> str:
    """``value`` without invisible or direction-changing characters, NFKC-normalised, with
    single spaces and at most MAX_MARKS combining marks on a letter."""
    text = unicodedata.normalize("NFKC", value)
    text = _IGNORABLE.sub("", "".join(c if _keep(c) else " " if c in "\u2028\u2029" else ""
                                      for c in text))
    kept: list[str] = []
    marks = 0
    for char in text:
        marks = marks + 1 if unicodedata.combining(char) else 0
        if marks <= MAX_MARKS:
            kept.append(char)
    return " ".join("".join(kept).split())


def _comparable(name: str) -> str:
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", name).casefold())


def looks_like(name: str, other: str) -> bool:
    """True when two names read the same to a person (case, spacing, punctuation and
    confusable letters aside)."""
    a, b = _comparable(name), _comparable(other)
    if not a or not b or len(a) > 3 * len(b) or len(b) > 3 * len(a):
        return False  # a confusable letter stands for at most three others
    if a == b:
        return True
    # Imported on first use: its tables cost each worker about 18 MB, and only sites with
    # staff (a guest's name is compared with theirs) or new account names need them.
    return importlib.import_module("confusables").is_confusable(a, b)


def _staff_query(one_site: bool) -> CompoundSelect:
    # Two indexed reads (the admins by their partial index, the site's moderators by theirs),
    # never a scan of every account.
    names = (User.id, User.username, User.display_name)
    moderators = select(*names).join(SiteModerator, SiteModerator.user_id == User.id)
    if one_site:
        moderators = moderators.where(SiteModerator.site_id == bindparam("site_id"))
    return union(select(*names).where(User.is_admin == true()), moderators)


# Built once (every guest's post reads it): the staff of one site, and of every site.
_STAFF = {True: FastRead(_staff_query(True)), False: FastRead(_staff_query(False))}


def staff_names(site_id: int | None) -> list[tuple[int, str]]:
    """(user id, name) of the staff whose names are protected: admins, and the moderators of
    the site (of any site when ``site_id`` is None), by username and display name."""
    rows = read_rows(_STAFF[site_id is not None],
                     {"site_id": site_id} if site_id is not None else {})
    names: list[tuple[int, str]] = []
    for user_id, username, display_name in rows:
        names.append((user_id, username))
        if display_name:
            names.append((user_id, display_name))
    return names


def check_not_staff_lookalike(name: str, *, site_id: int | None, field: str,
                              user_id: int | None = None) -> None:
    """Refuse ``name`` when it looks like a staff member's (unless it is their own account,
    ``user_id``, that takes it)."""
    for staff_id, staff_name in staff_names(site_id):
        if staff_id != user_id and looks_like(name, staff_name):
            raise InvalidInput("That name looks like a moderator's; please choose another.",
                               {field: "staff_lookalike"}, code="name_reserved")
