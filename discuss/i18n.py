"""Languages: which ones discuss speaks, which one a request gets, and texts in it.

The catalogs are in ``discuss/translations/<lang>/LC_MESSAGES/messages.po`` (compiled to
``.mo`` on first use when missing or older, so a fresh checkout and an installed package both
have them). Domain modules mark their messages with ``lazy_gettext`` (``_l``): the text is
looked up when it is shown, in the language of the request that shows it; outside a request it
is English. This module never reads the request itself: ``discuss.web.language`` picks the
language and hands it to Flask-Babel.
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import get_locale, gettext, lazy_gettext, ngettext

__all__ = [
    "LANGUAGES",
    "N_",
    "RTL",
    "N_plural",
    "_",
    "_l",
    "compile_catalogs",
    "current_language",
    "format_exact_time",
    "format_relative_time",
    "is_rtl",
    "language_name",
    "match_language",
    "ngettext",
]

_ = gettext
_l = lazy_gettext


def N_(text: str) -> str:
    """Marks a text for ``pybabel extract`` that is translated later, where it is shown."""
    return text


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a text with a number (singular, plural) that is translated later with ngettext."""
    return singular, plural

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT = "en"
# Every language with a complete catalog, English (the source) first.
LANGUAGES: tuple[str, ...] = (
    "en", "ar", "cs", "de", "es", "fa", "fr", "he", "hi", "id", "it", "ja", "ko", "nl", "pl",
    "pt", "ru", "sv", "tr", "uk", "vi", "zh",
)
RTL = frozenset({"ar", "fa", "he"})
# Regional tags that pick one of the catalogs above (zh-TW, zh-Hant… read Chinese too).
_ALIASES = {"iw": "he", "nb": "sv", "no": "sv"}


def match_language(tag: str | None) -> str | None:
    """The catalog for a BCP 47 tag (``pt-BR`` → ``pt``, ``zh-Hans-CN`` → ``zh``), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES else None


def plural_category(locale: Locale | str, n: int) -> str:
    """CLDR's plural category of ``n`` in the language: one, two, few, many or other."""
    return Locale.parse(locale).plural_form(n)


def is_rtl(lang: str) -> bool:
    return lang in RTL


def language_name(lang: str) -> str:
    """The language's own name for itself ("Deutsch", "العربية"), for choosers."""
    return Locale.parse(lang).get_display_name(lang) or lang


def current_language() -> str:
    locale = get_locale()
    return str(locale.language) if locale is not None else DEFAULT


def format_relative_time(then, now) -> str:
    """"3 hours ago" in the request's language (CLDR's words and plurals, through Babel)."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 45:
        return gettext("just now")
    return format_timedelta(then - now, add_direction=True, threshold=1, format="long",
                            locale=get_locale() or DEFAULT)


def format_exact_time(value) -> str:
    """The exact time of a comment, for its tooltip: in the request's language, UTC."""
    return format_datetime(value, "medium", tzinfo=UTC, locale=get_locale() or DEFAULT) + " UTC"


def compile_catalogs(force: bool = False) -> int:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older; how many were written.

    Fuzzy entries are left out, as gettext does: a fuzzy translation is shown in English."""
    written = 0
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")  # workers may start together
        try:
            with tmp.open("wb") as mo_file:
                write_mo(mo_file, catalog, use_fuzzy=False)
            tmp.replace(mo_path)
        except OSError:
            tmp.unlink(missing_ok=True)  # an installed, read-only package ships its .mo files
            continue
        written += 1
    return written
