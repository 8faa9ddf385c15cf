"""Every reader in their own language: complete catalogs, every page translated, CLDR plurals,
the language chosen as the SPEC says, and right-to-left pages for Arabic, Hebrew and Persian."""

from __future__ import annotations

import re
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
from babel import Locale
from babel.messages import checkers
from babel.messages.pofile import read_po

from discuss import (
    account_data,
    accounts,
    comments,
    links,
    moderation,
    notifications,
    sites,
    sso,
    threads,
)
from discuss.extensions import db
from discuss.i18n import LANGUAGES, RTL, TRANSLATIONS
from discuss.models import Status
from discuss.permissions import Actor
from tests.accounts_helpers import PASSWORD, html_login, make_user
from tests.conftest import guest, make_thread, post

TRANSLATED = LANGUAGES[1:]
ARTICLE = {"key": "article-1", "url": "https://news.example.com/a", "title": "An article"}


def catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def template_ids() -> set:
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        return {m.id for m in read_po(pot) if m.id}


# ---------------------------------------------------------------- the catalogs


def test_twenty_languages_or_more_among_them_the_required_ones():
    assert len(TRANSLATED) >= 20
    assert set(TRANSLATED) >= {"ar", "de", "es", "fr", "he", "it", "ja", "nl", "pl", "pt", "ru",
                               "uk", "zh"}
    on_disk = {p.name for p in Path(TRANSLATIONS).iterdir() if p.is_dir()}
    assert on_disk == set(TRANSLATED)


def test_the_template_holds_every_marked_text():
    """messages.pot is what `make messages` extracts now: no text was marked and forgotten."""
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).resolve().parent.parent
    keywords = re.search(r"^KEYWORDS := (.+?)\n(?!\t)", (root / "Makefile").read_text()
                         .replace("\\\n\t", " "), re.M | re.S).group(1).split()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "now.pot"
        subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract",
                        "-F", "babel.cfg", *keywords, "-o", str(out), "."],
                       cwd=root, check=True, capture_output=True)
        with out.open("rb") as pot:
            extracted = {m.id for m in read_po(pot) if m.id}
    assert extracted == template_ids()


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_translates_every_text_with_no_fuzzy_one(lang):
    wanted = template_ids()
    cat = catalog(lang)
    by_id = {m.id: m for m in cat if m.id}
    assert set(by_id) >= wanted, f"{lang} lacks {sorted(map(str, wanted - set(by_id)))[:5]}"
    problems = []
    for msgid in wanted:
        message = by_id[msgid]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(("fuzzy", msgid))
        if not all(forms):
            problems.append(("untranslated", msgid))
        if isinstance(msgid, tuple) and len(forms) != cat.num_plurals:
            problems.append(("plural forms", msgid))
        try:
            checkers.python_format(cat, message)
        except Exception as exc:  # babel's TranslationError: a placeholder gone wrong
            problems.append((str(exc), msgid))
    assert not problems, f"{lang}: {problems[:5]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_plural_rule_is_cldr(lang):
    """The catalog's Plural-Forms pick, for every n, the form CLDR's category asks for."""
    from gettext import c2py

    cat = catalog(lang)
    choose = c2py(cat.plural_expr)
    locale = Locale.parse(lang)
    form_of: dict[str, int] = {}
    for n in range(0, 1200):
        category = locale.plural_form(n)
        form_of.setdefault(category, choose(n))
        assert form_of[category] == choose(n), (lang, n, category)
    # Different categories, different forms: n = 2 and n = 5 never share a Russian word.
    # (A language whose catalog has one form says every number the same way.)
    if cat.num_plurals > 1:
        assert len(set(form_of.values())) == len(form_of)


# ---------------------------------------------------------------- every page, every language


class _Text(HTMLParser):
    """What a reader sees or hears of a page: text outside scripts, and the labels browsers
    show or read out (title, aria-label, placeholder, alt)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "aria-label", "placeholder", "alt") and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def visible_texts(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    found = set()
    for text in parser.texts:
        text = " ".join(text.split())
        if re.search(r"[^\W\d_]{2,}", text):  # words, not numbers, marks or arrows
            found.add(re.sub(r"\d+", "N", text))
    return found


# What the test data puts on the pages (not interface text), and words that are rightly the
# same in a language as in English.
DATA = {"An article", "Alice", "Bob", "Carol", "reader", "reader@example.org", "discuss",
        "Hello from Alice", "A reply from Bob", "Deep", "A comment of the reader",
        "An answer to a deleted comment", "Before it closed", "Held for a moderator",
        "Staff speaking", "Said without a name", "Said before leaving", "moddy", "Jessica",
        "jessica@example.org", "newcomer", "x" * 100}
SAME_WORDS: dict[str, set[str]] = {
    # Account pages and the error page: the word these languages use.
    "it": {"Email", "Password", "Token", "API token"}, "pt": {"Email"},
    "id": {"Email", "Edit", "Moderator"}, "vi": {"Email", "Token"}, "es": {"Error N"},
    # The staff badge: the word these languages use.
    "de": {"Moderator"}, "nl": {"Moderator"}, "pl": {"Moderator"}, "sv": {"Moderator"},
}
SAME_IN_EVERY_LANGUAGE = {"API", "JSON", "Markdown", "Authorization: Bearer …", "https://…",
                          "(JSON)"}


def untranslated(english: str, other: str, lang: str) -> set[str]:
    allowed = DATA | SAME_IN_EVERY_LANGUAGE | SAME_WORDS.get(lang, set())
    same = visible_texts(english) & visible_texts(other)
    return {t for t in same if t not in allowed and not any(d in t for d in DATA - {"reader"})
            and not t.startswith("@")}


SSO_SECRET = "a-publishers-secret-long-enough-for-hs256-0123"


def sso_token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": "7", "name": "Jessica", "email": "jessica@example.org",
                       "aud": "demo", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex},
                      SSO_SECRET, algorithm="HS256")


@pytest.fixture
def pages(app, client):
    """The pages a reader (or a moderator on their account page) can meet, with data on them:
    (name, path, who, form). ``who`` is the browser that asks (a guest, the signed-in reader,
    a moderator, a reader signed in by the publisher's site); ``form`` is posted (with the
    form's CSRF token) instead of a plain GET."""
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post",
                             require_guest_name=False)
    site.min_submit_seconds = 0
    sso.set_secret(site, SSO_SECRET)
    closed_site = sites.create_site("shut", origins=["https://news.example.com"])
    db.session.flush()
    reader = make_user("reader")
    moderator = make_user("moddy")
    sites.appoint_moderator(site, "moddy")
    leaver = make_user("leaver")
    thread = make_thread(site)
    alice = post(thread, "Hello from Alice", name="Alice")
    bob = post(thread, "A reply from Bob", parent=alice, name="Bob")
    gone = post(thread, "Soon deleted", name="Carol")
    post(thread, "An answer to a deleted comment", parent=gone, name="Carol")
    comments.set_status(gone, Status.DELETED)
    deep = bob
    for _ in range(5):
        deep = post(thread, f"Deep {deep.id}", parent=deep, name="Bob")
    own = post(thread, "A comment of the reader", actor=Actor(user=reader))
    held = post(thread, "Held for a moderator", actor=Actor(user=reader))
    comments.set_status(held, Status.PENDING)  # waits for a moderator: only they see it
    post(thread, "Staff speaking", actor=Actor(user=moderator))  # the moderator's badge
    post(thread, "Said without a name", name="")  # signed by discuss: "Anonymous"
    post(thread, "Said before leaving", actor=Actor(user=leaver))
    alice.pinned = True
    closed = make_thread(closed_site, "closed-one")
    post(closed, "Before it closed", name="Alice")
    closed.closed = True
    db.session.commit()
    account_data.delete_account(leaver, PASSWORD)  # their comment: "deleted user"
    db.session.commit()
    secret = app.config["SECRET_KEY"]
    reset = links.make_link_token(secret, "reset", {"u": reader.id,
                                                    "p": accounts._reset_fingerprint(reader)})
    confirm = links.make_link_token(secret, notifications.CONFIRM_PURPOSE,
                                       {"u": alice.id, "e": "alice@example.org"})
    stop = notifications.unsubscribe_token(secret, alice)
    stop_queue = notifications.queue_unsubscribe_token(secret, moderator)
    mover = make_user("mover")
    stop_moved = notifications.queue_unsubscribe_token(secret, mover)
    mover.email, mover.email_key = "moved@example.org", "moved@example.org"  # link now stale
    db.session.commit()
    signin = accounts.signin_link_token(moderator, secret=secret)
    sign_up_links = {}
    for lang in [None, *TRANSLATED]:
        accounts.register(f"joiner{lang or ''}", f"joiner{lang or ''}@example.org", PASSWORD,
                          secret=secret,
                          link=lambda _purpose, token, lang=lang: sign_up_links.setdefault(
                              lang, token))
    db.session.commit()
    article = "/embed/demo?" + urlencode(ARTICLE)
    sign_up = {"email": "new@example.org", "password": PASSWORD}
    return [
        ("thread", article, GUEST, None),
        ("thread signed in, a comment held", article, READER, None),
        ("reply form", f"{article}&reply={alice.id}", GUEST, None),
        ("report form", f"{article}&report={alice.id}", GUEST, None),
        ("edit form", f"{article}&edit={own.id}", READER, None),
        ("closed thread", "/embed/shut?" + urlencode({"key": "closed-one",
                                                       "url": "https://news.example.com/c"}),
         GUEST, None),
        ("empty thread", "/embed/demo?" + urlencode({**ARTICLE, "key": "nothing-yet"}), GUEST,
         None),
        ("comment refused", "/embed/demo/comments", GUEST,
         {**ARTICLE, "site": "demo", "body": "x" * 10_001, "name": "Alice"}),
        ("unknown site", "/embed/nosuch?key=a", GUEST, None),
        ("sign in", "/auth/login", GUEST, None),
        ("sign in refused", "/auth/login", GUEST, {"login": "reader", "password": "wrong!"}),
        ("register", "/auth/register", GUEST, None),
        ("register: every field wrong", "/auth/register", GUEST,
         {"username": "x", "email": "not an address", "password": "short"}),
        ("registered: check your inbox", "/auth/register", GUEST,
         {**sign_up, "username": "newcomer"}),
        ("registered from the discussion", "/auth/register", GUEST,
         {**sign_up, "username": "newcomer2", "next": article}),
        ("continue before the link was opened", "/auth/register/continue", GUEST,
         {"next": article}),
        ("thread while a sign-up waits for its link", article, GUEST, None),
        ("sign-up link", lambda lang: f"/auth/verify/{sign_up_links[lang]}", GUEST, None),
        ("sign-up link opened", lambda lang: f"/auth/verify/{sign_up_links[lang]}", GUEST, {}),
        ("reset request", "/auth/reset", GUEST, None),
        ("reset", f"/auth/reset/{reset}", GUEST, None),
        ("expired link", "/auth/reset/not-a-token", GUEST, None),
        ("sign-in link", f"/auth/link/{signin}", GUEST, None),
        ("sign-in link that does not work", "/auth/link/not-a-token", GUEST, {}),
        ("account", "/auth/account", READER, None),
        ("account of a moderator", "/auth/account", MODERATOR, None),
        ("queue mails turned on", "/auth/account/queue-mail", MODERATOR, {"notify_queue": "1"}),
        ("queue mail: each", "/auth/account/queue-mail", MODERATOR, {"queue_mail": "each"}),
        ("queue mail: daily", "/auth/account/queue-mail", MODERATOR, {"queue_mail": "daily"}),
        ("queue mail: off", "/auth/account/queue-mail", MODERATOR, {"queue_mail": "off"}),
        ("queue mail: no such choice", "/auth/account/queue-mail", MODERATOR,
         {"queue_mail": "weekly"}),
        ("account of a reader signed in by the site", "/auth/account", SITE_USER, None),
        ("delete account", "/auth/account/delete", READER, None),
        ("sign out", "/auth/logout", READER, None),
        ("confirm address", f"/notify/confirm/{confirm}", GUEST, None),
        ("unsubscribe", f"/notify/unsubscribe/{stop}", GUEST, None),
        ("unsubscribed", f"/notify/unsubscribe/{stop}", GUEST, {}),
        ("unsubscribe from queue mails", f"/notify/unsubscribe/{stop_queue}", GUEST, None),
        ("unsubscribed from queue mails", f"/notify/unsubscribe/{stop_queue}", GUEST, {}),
        ("unsubscribe from an address no longer used", f"/notify/unsubscribe/{stop_moved}",
         GUEST, None),
        ("not found", "/no/such/page", GUEST, None),
    ]


GUEST, READER, MODERATOR, SITE_USER = "guest", "reader", "moderator", "site user"


def browsers(app) -> dict:
    """One browser of each kind, signed in as it says."""
    reader, moderator, site_user = app.test_client(), app.test_client(), app.test_client()
    html_login(reader)
    html_login(moderator, "moddy")
    answer = site_user.post("/api/v1/auth/sso", json={"site": "demo", "token": sso_token()})
    assert answer.status_code == 200, answer.get_json()
    return {GUEST: app.test_client(), READER: reader, MODERATOR: moderator,
            SITE_USER: site_user}


def _get(clients, path, lang: str | None, who: str, form: dict | None = None):
    path = path(lang) if callable(path) else path  # a link spent once: one per language
    sep = "&" if "?" in path else "?"
    url = path + (f"{sep}lang={lang}" if lang else "")
    browser = clients[who]
    headers = {"Accept-Language": "en"}
    if form is None:
        return browser.get(url, headers=headers)
    # The form as a page shows it: its CSRF token (any page of the service carries one).
    page = browser.get("/auth/login", headers=headers).get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]
    data = {**form, "csrf_token": token}
    if str(data.get("username", "")).startswith("newcomer"):
        data["username"] += lang or ""  # one sign-up per language
    if lang:
        data["lang"] = lang
    return browser.post(url, data=data, headers=headers)


@pytest.fixture
def app_settings() -> dict:
    return {"DISCUSS_RATELIMIT_ENABLED": False}  # one sign-in per language


def test_every_page_in_every_language_has_no_english_left(app, pages):
    """Each page, rendered in each language, shares no interface text with the English one."""
    clients = {lang: browsers(app) for lang in [None, *TRANSLATED]}
    failures = {}
    for name, path, who, form in pages:
        english = _get(clients[None], path, None, who, form)
        assert english.status_code < 500, (name, english.status_code)
        english_html = english.get_data(as_text=True)
        assert 'lang="en"' in english_html, name
        for lang in TRANSLATED:
            page = _get(clients[lang], path, lang, who, form)
            assert page.status_code == english.status_code, (name, lang)
            html = page.get_data(as_text=True)
            assert f'<html lang="{lang}" dir="{"rtl" if lang in RTL else "ltr"}"' in html, name
            left = untranslated(english_html, html, lang)
            if left:
                failures[(name, lang)] = sorted(left)
    assert not failures, "\n".join(f"{key}: {texts}" for key, texts in failures.items())


def test_the_pages_show_what_the_test_means_to_look_at(app, pages):
    """The page test above sees the texts it is there for: the held note, the staff badge,
    the names discuss signs with, the moderator's and the site user's account sections, the
    sign-in link, registration's answers."""
    clients = browsers(app)
    seen = {name: _get(clients, path, None, who, form).get_data(as_text=True)
            for name, path, who, form in pages}
    assert "Waiting for a moderator" in seen["thread signed in, a comment held"]
    assert "Waiting for a moderator" not in seen["thread"]
    thread = seen["thread"]
    for text in ("Moderator", "A moderator of this site", "Anonymous", "deleted user"):
        assert text in thread, text
    assert "Check your inbox" in seen["registered: check your inbox"]
    for text in ("come back here: you will be signed in.", "I opened the link: continue",
                 "Or sign in"):
        assert text in seen["registered: check your inbox"], text
    assert "you will be signed in and back at the discussion." in \
        seen["registered from the discussion"]
    assert "Your address is not confirmed yet" in seen["continue before the link was opened"]
    assert "Continue as newcomer2" in seen["thread while a sign-up waits for its link"]
    assert "Your account is ready. Go back to the page where you signed up" in \
        seen["sign-up link opened"]
    assert "Please correct the fields marked below." in seen["register: every field wrong"]
    assert "Mail about your queues" in seen["account of a moderator"]
    moderator = seen["account of a moderator"]
    for text in ("When comments wait in a queue of your sites", "No mail",
                 "One summary a day of what waits in my queues"):
        assert text in moderator, text
    each = "You will get a mail when comments wait in a queue."
    assert each in seen["queue mails turned on"]
    assert each in seen["queue mail: each"]
    assert "You will get a daily summary of your queues." in seen["queue mail: daily"]
    assert "Queue mails are off." in seen["queue mail: off"]
    assert "Choose off, each or daily." in seen["queue mail: no such choice"]
    assert "Stop mails about this discussion" in seen["unsubscribe"]
    assert "No more reply mails" in seen["unsubscribed"]
    assert "Stop mails about your queues" in seen["unsubscribe from queue mails"]
    assert "No more queue mails" in seen["unsubscribed from queue mails"]
    assert "This account no longer has that address" in \
        seen["unsubscribe from an address no longer used"]
    assert "Signed in by the site you read" in seen["account of a reader signed in by the site"]
    assert "Your password (needed when you signed in more than" in seen["account"]
    assert "Sign in with this link" in seen["sign-in link"]
    assert "This link does not work" in seen["sign-in link that does not work"]
    assert "characters long" in seen["comment refused"]


def test_every_page_test_would_see_english(app, pages):
    """The comparison above finds interface text: English against English shares plenty."""
    html = _get(browsers(app), pages[1][1], None, READER).get_data(as_text=True)
    left = untranslated(html, html, "de")
    assert {"Reply", "Report", "Post comment", "Oldest", "Sign out"} <= left


# ---------------------------------------------------------------- choosing the language


def test_lang_parameter_beats_the_browser_which_beats_the_site(app, client, site):
    sites.update_site(site, language="fr")
    db.session.commit()
    base = "/embed/demo?" + urlencode(ARTICLE)
    by_lang = client.get(base + "&lang=ja", headers={"Accept-Language": "de"})
    assert '<html lang="ja"' in by_lang.get_data(as_text=True)
    by_browser = client.get(base, headers={"Accept-Language": "xx, de-AT;q=0.8, en;q=0.5"})
    assert '<html lang="de"' in by_browser.get_data(as_text=True)
    assert "Accept-Language" in by_browser.headers["Vary"]
    by_site = client.get(base, headers={"Accept-Language": "xx"})
    assert '<html lang="fr"' in by_site.get_data(as_text=True)
    assert "Aucun commentaire" in by_site.get_data(as_text=True)
    unknown = client.get(base + "&lang=tlh", headers={"Accept-Language": "xx"})
    assert '<html lang="fr"' in unknown.get_data(as_text=True)


def test_regional_tags_read_their_language(client, site):
    base = "/embed/demo?" + urlencode(ARTICLE)
    for tag, lang in (("pt-BR", "pt"), ("zh-Hans-CN", "zh"), ("de_CH", "de"), ("iw", "he")):
        page = client.get(f"{base}&lang={tag}").get_data(as_text=True)
        assert f'<html lang="{lang}"' in page, tag


def test_forms_keep_the_language_after_an_error(client, site):
    page = client.get("/embed/demo?" + urlencode({**ARTICLE, "lang": "de"}))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    answer = client.post("/embed/demo/comments", data={**ARTICLE, "lang": "de",
                                                        "csrf_token": token, "body": " ",
                                                        "name": "Alice"})
    assert answer.status_code == 400
    assert "Der Kommentar ist leer." in answer.get_data(as_text=True)


def test_api_errors_answer_in_the_asked_language(client, site):
    answer = client.post("/api/v1/comments", json={"site": "demo", **ARTICLE, "body": "",
                                                   "name": "Alice"},
                         headers={"Accept-Language": "ja"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"] == "コメントが空です。"


def test_site_language_is_a_setting_on_the_cli(app, runner, site):
    result = runner.invoke(args=["discuss", "site-settings", "demo", "--language", "pt-BR"])
    assert result.exit_code == 0, result.output
    assert "language: pt" in result.output
    bad = runner.invoke(args=["discuss", "site-settings", "demo", "--language", "klingon"])
    assert bad.exit_code != 0
    assert "language" in bad.output


# ---------------------------------------------------------------- counts and plurals


CLDR_EXPECTED = {
    # n: the word CLDR's category for n asks for, as the catalogs spell it.
    "ru": {1: "1 комментарий", 2: "2 комментария", 5: "5 комментариев", 11: "11 комментариев",
           21: "21 комментарий", 22: "22 комментария", 111: "111 комментариев"},
    "pl": {1: "1 komentarz", 2: "2 komentarze", 5: "5 komentarzy", 12: "12 komentarzy",
           22: "22 komentarze", 25: "25 komentarzy", 102: "102 komentarze"},
    "ar": {1: "تعليق واحد", 2: "تعليقان", 3: "3 تعليقات", 10: "10 تعليقات", 11: "11 تعليقًا",
           99: "99 تعليقًا", 100: "100 تعليق", 102: "102 تعليق", 103: "103 تعليقات"},
}


@pytest.mark.parametrize("lang", sorted(CLDR_EXPECTED))
def test_count_words_follow_cldr_plurals(client, site, lang):
    thread = make_thread(site)
    expected = CLDR_EXPECTED[lang]
    keys = []
    for n in expected:
        key = f"n-{n}"
        keys.append(key)
        other = threads.get_or_create_thread(site, key, "https://news.example.com/a", "")
        other.comment_count = n  # the count the endpoint reads
    db.session.commit()
    query = urlencode([("site", "demo"), ("lang", lang), *[("key", k) for k in keys]])
    body = client.get("/api/v1/counts?" + query).get_json()
    locale = Locale.parse(lang)
    for n, words in expected.items():
        assert body["labels"][f"n-{n}"] == words, (lang, n)
        assert body["plurals"][f"n-{n}"] == locale.plural_form(n)
    assert thread is not None


def test_counts_follow_the_browser_when_the_page_names_no_language(client, site):
    make_thread(site)
    answer = client.get("/api/v1/counts?site=demo&key=article-1&key=none",
                        headers={"Accept-Language": "uk"})
    assert answer.get_json()["labels"]["none"] == "Коментарів ще немає"
    assert "Accept-Language" in answer.headers["Vary"]


def test_embed_js_fetches_its_words_in_the_pages_language_only(client):
    script = client.get("/embed.js").get_data(as_text=True)
    assert "Loading comments…" in script  # English, its own
    assert "جارٍ تحميل التعليقات" not in script  # other languages cost an English page nothing
    version = re.search(r'VERSION="([0-9a-f]{12})"', script).group(1)  # the words' version
    for lang in TRANSLATED:
        answer = client.get("/i18n/embed.json", query_string={"lang": lang, "v": version})
        assert answer.status_code == 200
        assert set(answer.get_json()) == {"loading", "failed", "title"}, lang
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    ar = client.get("/i18n/embed.json?lang=ar-EG").get_json()
    assert ar["loading"] == "جارٍ تحميل التعليقات…"
    assert client.get("/i18n/embed.json?lang=ru").get_json()["loading"] in (
        "Загрузка комментариев…", "Загружаем комментарии…")
    # A tag discuss does not speak, or English: nothing to fetch but the script's own words.
    assert client.get("/i18n/embed.json?lang=xx").get_json() == {}
    assert client.get("/i18n/embed.json?lang=en-GB").get_json() == {}
    stale = client.get("/i18n/embed.json?lang=de&v=000000000000")
    assert stale.headers["Cache-Control"] == "public, max-age=300"


READER_SCRIPTS = ("discuss.js", "comment-actions.js", "account.js", "count.js")
# What puts text on the page or in a message: a literal with words after one of these is
# English a reader would meet.
SHOWS_TEXT = re.compile(r"""(?:textContent\s*=|new Error\(|announce\(|showError\([^,]+,|"""
                        r"""setAttribute\("(?:aria-label|title|placeholder)",)\s*[`"'][^`"']*"""
                        r"""[A-Za-z]{2,}""")


@pytest.mark.parametrize("name", READER_SCRIPTS)
def test_the_readers_scripts_take_every_text_from_the_catalogs(name):
    """The page's scripts show no English of their own, ask only for texts the service sends
    (/i18n/<lang>.json or the page's data-i18n), and make no plural by hand."""
    from discuss.web.language import SCRIPT_PLURALS, SCRIPT_TEXTS

    script = (Path(TRANSLATIONS).parent / "static" / name).read_text()
    assert not SHOWS_TEXT.findall(script), name
    assert not re.search(r"[!=]==?\s*1\s*\?", script), f"{name}: a plural made by hand"
    asked = set(re.findall(r"\b(?:t|text)\(\"(\w+)\"", script))
    assert asked <= set(SCRIPT_TEXTS) | set(SCRIPT_PLURALS), asked - set(SCRIPT_TEXTS)


def test_the_scripts_texts_have_no_english_left(client):
    """/i18n/<lang>.json, every text and every plural form, in every language."""
    from discuss.web.language import SCRIPT_PLURALS, SCRIPT_TEXTS

    assert client.get("/i18n/en.json").get_json()["posted"] == "Your comment was posted."

    english_words = {str(text) for text in SCRIPT_TEXTS.values()} | {
        re.sub(r"%\((\w+)\)[ds]", lambda m: "{n}" if m[1] == "num" else "{" + m[1] + "}", f)
        for forms in SCRIPT_PLURALS.values() for f in forms}
    for lang in TRANSLATED:
        texts = client.get(f"/i18n/{lang}.json").get_json()
        assert set(texts) == set(SCRIPT_TEXTS) | set(SCRIPT_PLURALS), lang
        for key, value in texts.items():
            for text in (value.values() if isinstance(value, dict) else [value]):
                assert text not in english_words, (lang, key, text)
                assert "%(" not in text, (lang, key, text)


def test_script_texts_are_served_per_language(client):
    answer = client.get("/i18n/es.json")
    assert answer.status_code == 200
    assert answer.get_json()["posted"] == "Tu comentario se ha publicado."
    # A text with a number: one per CLDR category, for Intl.PluralRules in the browser.
    assert client.get("/i18n/ru.json").get_json()["comments"] == {
        "one": "{n} комментарий", "few": "{n} комментария", "many": "{n} комментариев"}
    assert client.get("/i18n/ar.json").get_json()["comments"]["two"] == "تعليقان"
    assert client.get("/i18n/xx.json").status_code == 404


# ---------------------------------------------------------------- dates, mail, right to left


def test_times_are_in_the_readers_language(client, site):
    from datetime import timedelta

    from discuss.models import utcnow

    thread = make_thread(site)
    post(thread, "Earlier", now=utcnow() - timedelta(hours=3, minutes=5))
    db.session.commit()
    page = client.get("/embed/demo?" + urlencode({**ARTICLE, "lang": "ja"}))
    html = page.get_data(as_text=True)
    assert "3 時間前" in html
    assert re.search(r'title="\d{4}/\d\d/\d\d \d{1,2}:\d\d:\d\d UTC"', html)


def test_right_to_left_pages_mirror_with_logical_properties(client, site):
    css = (Path(__file__).resolve().parent.parent / "discuss" / "static" / "discuss.css") \
        .read_text()
    assert not re.search(r"(margin|padding|border)-(left|right)\b", css)
    assert not re.search(r"\b(left|right):", css)
    assert "margin-inline-start: var(--discuss-indent)" in css
    for lang in ("ar", "he", "fa"):
        page = client.get("/embed/demo?" + urlencode({**ARTICLE, "lang": lang}))
        assert f'<html lang="{lang}" dir="rtl"' in page.get_data(as_text=True)


def test_account_mail_is_in_the_readers_language(client, app, mailbox):
    mailbox.expect(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/auth/register?lang=de").get_data(as_text=True))[1]
    answer = client.post("/auth/register", data={"csrf_token": token, "lang": "de",
                                                  "username": "neu", "email": "neu@example.org",
                                                  "password": PASSWORD})
    assert answer.status_code == 201
    assert "Sehen Sie in Ihr Postfach" in answer.get_data(as_text=True)
    mail = mailbox.last_to("neu@example.org")
    assert mail["Subject"] == "Bestätigen Sie Ihre E-Mail-Adresse"
    assert mail.get_content().startswith("Hallo neu,")


def test_queue_mails_and_feeds_speak_the_sites_language(app, client, mailbox):
    """Mails to moderators (a notice as comments arrive, the daily digest) and the Atom feeds
    are written in the site's default language, plurals by CLDR."""
    from datetime import timedelta

    import feedparser

    from discuss.models import utcnow
    from discuss.web.deliver import deliver_once

    site = sites.create_site("ru-site", origins=["https://news.example.com"],
                             moderation="pre", language="ru")
    db.session.commit()
    for name, choice in (("eager", "each"), ("daily", "daily")):
        accounts.set_queue_mail(make_user(name, moderator_of=[site], verified=True), choice)
    db.session.commit()
    thread = threads.get_or_create_thread(site, "a", "https://news.example.com/a", "Статья")
    held = [comments.post_comment(site.slug, thread.key, guest(ip=f"ip-{i}"), f"Жду {i}",
                                  name=f"Гость {i}") for i in range(5)]
    db.session.commit()
    mailbox.expect(2)
    deliver_once(now=utcnow().replace(hour=8, minute=0, second=0, microsecond=0)
                 + timedelta(days=1))
    notice = mailbox.last_to("eager@example.org")
    assert notice["Subject"] == "Комментарии ожидают модерации на ru-site"
    assert "Отписаться от этих писем: http://localhost/notify/unsubscribe/" \
        in notice.get_content()
    digest = mailbox.last_to("daily@example.org")
    assert digest["Subject"] == "5 комментариев ожидают модерации"
    body = digest.get_content()
    assert "Что сегодня ждёт в ваших очередях модерации:" in body
    assert "ru-site: ожидают модерации — 5, жалобы — 0, спам — 0" in body
    assert "– Гость 0 в обсуждении «Статья»: Жду 0" in body

    comments.set_status(held[0], Status.APPROVED)
    db.session.commit()
    feed = feedparser.parse(client.get("/feeds/ru-site/latest.atom").get_data())
    assert feed.feed.title == "Комментарии к «ru-site»"
    assert feed.entries[0].title == "Гость 0 в обсуждении «Статья»"


def test_a_banned_reader_is_told_in_their_language(app, client, site):
    from datetime import timedelta

    from discuss.errors import Forbidden
    from discuss.models import utcnow

    admin = make_user("admin", is_admin=True)
    troll = make_user("troll")
    moderation.ban(site, Actor(user=admin), "user", "troll", reason="insults",
                   expires_at=utcnow() + timedelta(days=2))
    db.session.commit()
    with pytest.raises(Forbidden) as caught:
        post(make_thread(site), "Again", actor=Actor(user=troll))
    with app.test_request_context("/?lang=fr"):
        message = caught.value.message
    assert message.startswith("Vous ne pouvez plus commenter ici. Motif : insults")
    assert "UTC" in message
