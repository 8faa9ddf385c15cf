"""Which language a request is answered in, and what templates and scripts get of it.

The order (SPEC, "Languages"): the page's ``lang`` (``data-lang`` on the embed div, carried as
``lang=`` in every link and form of the thread page, and as ``Accept-Language`` by the page's
own scripts), else the browser's ``Accept-Language``, else the site's default language (a site
setting, known once a view has loaded the site: ``use_site_language``), else English.
"""

from __future__ import annotations

import json
import re

from flask import Flask, Response, abort, g, has_request_context, jsonify, request
from flask_babel import Babel, force_locale, get_locale, get_translations, refresh
from werkzeug.http import generate_etag

from discuss import i18n
from discuss.web.infra.assets import LONG_CACHE, WORDS_VERSION_PROVIDER, conditional
from discuss.web.infra.compression import add_vary

babel = Babel()

# Texts the page's scripts show, in the page's language. CSP allows no inline script: the few
# a page needs at once are JSON in its data-i18n attribute (SCRIPT_SETS), the rest arrive with
# comment-actions.js from /i18n/<lang>.json. Keys are what the scripts ask for.
SCRIPT_TEXTS = {
    "just_now": i18n._l("just now"),
    "posted": i18n._l("Your comment was posted."),
    "posted_pending": i18n._l("Your comment was posted and is awaiting moderation."),
    "saved": i18n._l("Your comment was saved."),
    "deleted": i18n._l("Your comment was deleted."),
    "deleted_placeholder": i18n._l("This comment was deleted."),
    "confirm_delete": i18n._l("Delete this comment?"),
    "your_reply": i18n._l("Your reply"),
    "post_reply": i18n._l("Post reply"),
    "cancel": i18n._l("Cancel"),
    "cannot_show": i18n._l("The comment could not be shown."),
    "cannot_report": i18n._l("This comment cannot be reported."),
    "already_reported": i18n._l("You already reported this comment."),
    "reported": i18n._l("Thanks, a moderator will look at it."),
    "more_loaded": i18n._l("More comments loaded."),
    "vote_back": i18n._l("Vote taken back. Score %(score)s.", score="{score}"),
    "voted_up": i18n._l("Voted up. Score %(score)s.", score="{score}"),
    "voted_down": i18n._l("Voted down. Score %(score)s.", score="{score}"),
    "unreachable": i18n._l("The page could not reach the service. Please try again."),
    "page_failed": i18n._l("The page could not be loaded (%(status)s).", status="{status}"),
    "went_wrong": i18n._l("Something went wrong (%(status)s). Please try again.",
                          status="{status}"),
    "service_unreachable": i18n._l("The service could not be reached. Please try again."),
    "request_failed": i18n._l("The request failed (%(status)s). Please try again.",
                              status="{status}"),
    "link_copied": i18n._l("Link copied"),
    "link_copied_said": i18n._l("The link to this comment was copied."),
    "score": i18n._l("Score %(score)s", score="{score}"),
    "too_long": i18n._l("The comment is %(length)s characters long; the limit is %(max)s. "
                        "Please shorten it.", length="{length}", max="{max}"),
    # Any write answered 401 for a reader the page shows signed in (the API's own message
    # speaks to integrators: "The token is not valid…").
    "ended_post": i18n._l("Your sign-in has ended. Sign in again, or post as a guest."),
    "ended": i18n._l("Your sign-in has ended. Please sign in again."),
}
# Texts with a number in them: (singular, plural) source texts with "%(num)s". The scripts get
# one text per CLDR category ("one", "few", "many"…) and pick it with Intl.PluralRules, the
# browser's copy of the same CLDR rules.
SCRIPT_PLURALS: dict[str, tuple[str, str]] = {
    "comments": i18n.N_plural("%(num)d comment", "%(num)d comments"),  # the page's heading
    # The counter under a comment box near its length limit.
    "chars_left": i18n.N_plural("%(num)d character left", "%(num)d characters left"),
    "chars_over": i18n.N_plural("%(num)d character too many (the limit is %(max)s)",
                                "%(num)d characters too many (the limit is %(max)s)"),
    # live.js's button over comments posted since the page was opened
    "new_comments": i18n.N_plural("%(num)d new comment", "%(num)d new comments"),
}
SCRIPT_SETS = {
    "page": ("unreachable", "page_failed", "just_now"),
    "account": ("went_wrong", "service_unreachable"),
}
# What embed.js shows on the article page before (or instead of) the discussion's frame. It
# carries them in English; a page in another language fetches its own from /i18n/embed.json
# (a few hundred bytes, cached for a year under the words' version), so an English page, and
# every page after the first, pays nothing for the other 20 languages.
EMBED_TEXTS = {
    "loading": i18n._l("Loading comments…"),
    "failed": i18n._l("Comments could not be loaded."),
    "title": i18n._l("Comments"),
}


def embed_words(lang: str) -> dict[str, str]:
    """embed.js's words in one language ({} in English: the script's own)."""
    if lang == i18n.DEFAULT:
        return {}
    with force_locale(lang):
        return {key: str(text) for key, text in EMBED_TEXTS.items()}


_words_version: dict[str, str] = {}


def embed_words_version() -> str:
    """A hash of embed.js's words in every language: their URL changes when any does."""
    if "all" not in _words_version:
        table = {lang: embed_words(lang) for lang in i18n.LANGUAGES}
        _words_version["all"] = generate_etag(
            json.dumps(table, sort_keys=True, ensure_ascii=False).encode())[:12]
    return _words_version["all"]


def embed_words_view() -> Response:
    """GET /i18n/embed.json?lang=<the page's tag>&v=<version>: embed.js's words, for any page
    on any origin; pinned for a year when ``v`` names the current words."""
    lang = i18n.match_language(request.args.get("lang")) or i18n.DEFAULT
    response = jsonify(embed_words(lang))
    response.headers["Access-Control-Allow-Origin"] = "*"
    pinned = request.args.get("v") == embed_words_version()
    response.headers["Cache-Control"] = LONG_CACHE if pinned else "public, max-age=300"
    response.set_etag(generate_etag(response.get_data()), weak=True)
    return conditional(response)


def plural_texts(singular: str, plural: str) -> dict[str, str]:
    """A number's text in the request's language for each of its CLDR plural categories, with
    "{n}" where the number goes (and "{name}" for other values): {"one": "{n} комментарий",
    "few": "{n} комментария", …}."""
    locale = get_locale() or i18n.DEFAULT
    forms: dict[str, str] = {}
    for n in range(0, 1000):  # the first number of each category stands for it
        category = i18n.plural_category(locale, n)
        if category not in forms:
            raw = get_translations().ngettext(singular, plural, n)
            raw = re.sub(r"%\(num\)[ds]", "{n}", raw)  # other values keep their names
            forms[category] = re.sub(r"%\((\w+)\)[ds]", r"{\1}", raw).replace("%%", "%")
    return forms


# (language, number) → its label and plural category: article lists ask for the same few
# numbers on every view, and the catalogs do not change while the process runs.
_COUNT_WORDS: dict[tuple[str, int], tuple[str, str]] = {}
_COUNT_WORDS_MAX = 50_000


def _count_words(lang: str, locale: object, n: int) -> tuple[str, str]:
    words = _COUNT_WORDS.get((lang, n))
    if words is None:
        if n == 0:
            words = (i18n._("No comments yet"), "zero")
        else:
            words = (i18n.ngettext("%(num)d comment", "%(num)d comments", n),
                     i18n.plural_category(locale, n))
        if len(_COUNT_WORDS) >= _COUNT_WORDS_MAX:
            _COUNT_WORDS.clear()
        _COUNT_WORDS[(lang, n)] = words
    return words


def count_labels(counts: dict[str, int]) -> dict[str, dict[str, str]]:
    """``labels`` ("3 комментария") and ``plurals`` (CLDR's category: "few") of each count."""
    locale = get_locale() or i18n.DEFAULT
    lang = str(locale)
    labels, plurals = {}, {}
    for key, n in counts.items():
        labels[key], plurals[key] = _count_words(lang, locale, n)
    return {"lang": lang, "labels": labels, "plurals": plurals}


def requested_language() -> str | None:
    """The language the page asked for (``lang=`` in the query or the form), if discuss has it."""
    lang = request.args.get("lang") or (request.form.get("lang") if request.method == "POST"
                                        and request.mimetype != "application/json" else None)
    return i18n.match_language(lang)


def browser_language() -> str | None:
    """The first language of ``Accept-Language`` (by weight) that discuss has."""
    add_vary_later()
    for tag, _quality in request.accept_languages:
        lang = i18n.match_language(tag)
        if lang is not None:
            return lang
    return None


def select_language() -> str:
    """Flask-Babel's locale selector: the page's lang, the browser's, the site's, English."""
    if not has_request_context():
        return i18n.DEFAULT  # the CLI, mail sent outside a request: English
    return (requested_language() or browser_language() or g.get("site_language")
            or i18n.DEFAULT)


def use_site_language(lang: str | None) -> None:
    """A view has loaded its site: its default language applies when the reader names none."""
    lang = i18n.match_language(lang)
    if lang and g.get("site_language") != lang:
        g.site_language = lang
        refresh()  # a text looked up before the site was known must not fix the language


def add_vary_later() -> None:
    """The answer depends on Accept-Language: say so in its Vary header."""
    g.vary_language = True


def _vary(response):
    if g.get("vary_language"):
        add_vary(response, "Accept-Language")
    return response


def _template_context() -> dict:
    lang = i18n.current_language()
    return {"lang": lang, "text_dir": "rtl" if i18n.is_rtl(lang) else "ltr",
            "script_texts": lambda name: {k: str(SCRIPT_TEXTS[k]) for k in SCRIPT_SETS[name]}}


def texts_view(lang: str) -> Response:
    """Every text of the page's scripts in one language, cached like the scripts themselves."""
    if i18n.match_language(lang) != lang:
        abort(404)
    with force_locale(lang):
        texts: dict[str, object] = {key: str(text) for key, text in SCRIPT_TEXTS.items()}
        texts.update({key: plural_texts(*forms) for key, forms in SCRIPT_PLURALS.items()})
        response = jsonify(texts)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.set_etag(generate_etag(response.get_data()), weak=True)
    return conditional(response)


def init_app(app: Flask) -> None:
    """Flask-Babel with the selector above, compiled catalogs, template globals, the texts
    routes, and the version of embed.js's words (discuss.web.infra.assets writes it in)."""
    babel.init_app(app, locale_selector=select_language,
                   default_translation_directories=str(i18n.TRANSLATIONS))
    i18n.compile_catalogs()
    app.context_processor(_template_context)
    app.jinja_env.globals["requested_language"] = requested_language
    app.add_url_rule("/i18n/<lang>.json", "language_texts", texts_view)
    app.add_url_rule("/i18n/embed.json", "embed_words", embed_words_view)
    app.extensions[WORDS_VERSION_PROVIDER] = embed_words_version
    app.after_request(_vary)

