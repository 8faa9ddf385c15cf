"""Readers in other languages, in a real browser: count.js words and CLDR plurals on a
publisher's page, an Arabic discussion laid out right to left, and the scripts' own messages in
the page's language."""

from __future__ import annotations

import pytest
from babel import Locale
from playwright.sync_api import expect

from discuss import comments, sites, threads
from discuss.permissions import Actor
from tests.test_languages import CLDR_EXPECTED

pytestmark = pytest.mark.browser


def seed(host_url: str) -> None:
    site = sites.create_site("demo", origins=[host_url], moderation="post")
    site.min_submit_seconds = 0
    counts = sorted({n for expected in CLDR_EXPECTED.values() for n in expected})
    for n in counts:
        thread = threads.get_or_create_thread(site, f"n-{n}", host_url + "/list", "")
        thread.comment_count = n  # what the counts endpoint reads
    threads.get_or_create_thread(site, "talk", host_url + "/article", "Talk")
    first = comments.post_comment("demo", "talk", Actor(guest_key="a" * 40, ip_hash="ip-a"),
                                  "أول تعليق", name="Amal")
    comments.post_comment("demo", "talk", Actor(guest_key="b" * 40, ip_hash="ip-b"),
                          "رد على التعليق", first.id, name="Badr")


def page_html(service: str, body: str, lang: str = "en") -> str:
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Article</title>
<link rel="icon" href="data:,"></head>
<body>{body}
<script async src="{service}/embed.js"></script>
<script async src="{service}/count.js"></script>
</body></html>"""


@pytest.fixture
def seeded(live_service, host_server) -> None:
    live_service.run(lambda: seed(host_server.url))


def test_count_js_says_each_number_as_cldr_says_it(live_service, host_server, seeded, page):
    spans = []
    for lang, expected in CLDR_EXPECTED.items():
        spans += [f'<li><span id="{lang}-{n}" data-discuss-count data-site="demo" '
                  f'data-key="n-{n}" data-lang="{lang}"></span></li>' for n in expected]
    # The page's own wording per CLDR category, and the page's language from <html lang>.
    spans.append('<li><span id="own-2" data-discuss-count data-site="demo" data-key="n-2" '
                 'data-lang="ru" data-few="{n} ответа" data-many="{n} ответов"></span></li>')
    spans.append('<li><span id="page-5" data-discuss-count data-site="demo" '
                 'data-key="n-5"></span></li>')
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/counts" in r.url else None)
    page.goto(host_server.page("/list", page_html(live_service.url, f"<ul>{''.join(spans)}</ul>",
                                                  lang="pl")))
    page.wait_for_function("() => [...document.querySelectorAll('[data-discuss-count]')]"
                           ".every(el => el.textContent !== '')")
    for lang, expected in CLDR_EXPECTED.items():
        locale = Locale.parse(lang)
        categories = {locale.plural_form(n) for n in expected}
        assert len(categories) >= 3, lang  # the numbers reach every category that matters
        for n, words in expected.items():
            assert page.text_content(f"#{lang}-{n}") == words, (lang, n)
    assert page.text_content("#own-2") == "2 ответа"
    assert page.text_content("#page-5") == "5 komentarzy"
    assert len(asked) == 3  # one request per language of the page


def test_arabic_discussion_mirrors_and_speaks_arabic(live_service, host_server, seeded,
                                                     page, console_errors, artifacts):
    errors = console_errors(page)
    body = ('<div id="discuss-thread" data-site="demo" data-key="talk" data-title="Talk" '
            'data-lang="ar"></div>')
    page.goto(host_server.page("/article", page_html(live_service.url, body)))
    handle = page.wait_for_selector("#discuss-thread iframe", state="attached")
    # The frame starts at once; its title follows in the page's language (embed.js fetches
    # its words for a page that is not in English).
    expect(page.locator("#discuss-thread iframe")).to_have_attribute("title", "التعليقات")
    frame = handle.content_frame()
    frame.wait_for_selector("text=رد على التعليق")
    assert frame.evaluate("document.documentElement.dir") == "rtl"
    assert frame.evaluate("document.documentElement.lang") == "ar"
    # The reply sits to the left of its parent's right edge, its rule on the right side.
    parent = frame.locator("li.discuss-item").first.bounding_box()
    reply = frame.locator("ol.discuss-replies").first.bounding_box()
    assert reply["x"] + reply["width"] < parent["x"] + parent["width"] - 10
    assert frame.evaluate("getComputedStyle(document.querySelector('.discuss-replies'))"
                          ".borderRightWidth") == "2px"
    assert frame.evaluate("getComputedStyle(document.querySelector('.discuss-replies'))"
                          ".borderLeftWidth") == "0px"
    assert frame.locator("button.discuss-primary").first.text_content() == "نشر التعليق"

    form = frame.locator("form[data-discuss-form='comment']").first
    form.locator("textarea[name=body]").fill("تعليق جديد من المتصفح")
    form.locator("input[name=name]").fill("Salma")
    form.locator("button[type=submit]").click()
    frame.wait_for_selector("text=تعليق جديد من المتصفح")
    frame.wait_for_function("() => document.getElementById('discuss-live').textContent !== ''")
    assert frame.text_content("#discuss-live") == "نُشر تعليقك."
    page.screenshot(path=str(artifacts / "languages-arabic.png"), full_page=True)
    assert errors == []


def test_the_placeholder_speaks_the_pages_language_and_an_english_page_asks_for_no_words(
        live_service, host_server, seeded, page):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/i18n/embed.json" in r.url else None)
    held = []
    page.route("**/embed/demo?*", lambda route: held.append(route))  # the frame waits
    body = ('<div id="discuss-thread" data-site="demo" data-key="talk" data-title="Talk" '
            'data-lang="de-AT"></div>')
    page.goto(host_server.page("/article", page_html(live_service.url, body)),
              wait_until="domcontentloaded")
    expect(page.locator(".discuss-loading")).to_have_text("Kommentare werden geladen …")
    expect(page.locator("#discuss-thread iframe")).to_have_attribute("title", "Kommentare")
    assert len(asked) == 1
    assert "lang=de-at" in asked[0]
    held[0].continue_()
    expect(page.locator(".discuss-loading")).to_have_count(0)

    asked.clear()
    page.unroute("**/embed/demo?*")
    page.goto(host_server.page("/english", page_html(live_service.url, body.replace(
        ' data-lang="de-AT"', ""))))
    page.frame_locator("iframe").locator("text=رد على التعليق").wait_for()
    assert page.locator("#discuss-thread iframe").get_attribute("title") == "Comments"
    assert asked == []


def test_japanese_errors_from_the_script_come_in_japanese(live_service, host_server, seeded,
                                                          page):
    body = ('<div id="discuss-thread" data-site="demo" data-key="talk" data-title="Talk" '
            'data-lang="ja"></div>')
    page.goto(host_server.page("/article", page_html(live_service.url, body)))
    frame = page.wait_for_selector("#discuss-thread iframe").content_frame()
    frame.wait_for_selector("text=Amal")
    assert frame.locator("time[data-discuss-time]").first.text_content() == "たった今"
    form = frame.locator("form[data-discuss-form='comment']").first
    form.locator("textarea[name=body]").fill("   x   ")
    form.locator("textarea[name=body]").fill(" ")
    # The browser's own check would stop an empty body; send one the server refuses instead.
    frame.evaluate("document.querySelector('#discuss-body-new').removeAttribute('required')")
    form.locator("input[name=name]").fill("Ken")
    form.locator("button[type=submit]").click()
    frame.wait_for_function("() => !document.getElementById('discuss-error-new').hidden")
    assert frame.text_content("#discuss-error-new") == "コメントが空です。"


def test_the_scripts_own_words_follow_the_page_language_and_cldr(live_service, host_server,
                                                                 seeded, browser):
    """What the scripts write into a Russian page: the length counter and its refusal, the
    "N comments" heading after a post, "Link copied" and the score's label, each in Russian
    with the plural form CLDR asks for, numbers grouped as Russian groups them."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    body = ('<div id="discuss-thread" data-site="demo" data-key="talk" data-title="Talk" '
            'data-lang="ru"></div>')
    page.goto(host_server.page("/article", page_html(live_service.url, body)))
    frame = page.wait_for_selector("#discuss-thread iframe").content_frame()
    frame.wait_for_selector("text=Amal")
    assert frame.text_content("#discuss-count").strip() == "2 комментария"
    textarea = frame.locator("#discuss-body-new")
    textarea.focus()
    frame.wait_for_function("() => window.discussActions !== undefined")
    counter = frame.locator("#discuss-body-new-count")
    textarea.fill("я" * 9_998)
    expect(counter).to_have_text("Осталось 2 символа")
    textarea.fill("я" * 9_995)
    expect(counter).to_have_text("Осталось 5 символов")
    textarea.fill("я" * 10_001)
    expect(counter).to_have_text("На 1 символ больше допустимого (лимит — 10\u00a0000)")
    frame.locator("#discuss-name-new").fill("Ирина")
    frame.locator("#discuss-form-new button[type=submit]").click()
    frame.wait_for_function("() => !document.getElementById('discuss-error-new').hidden")
    assert frame.text_content("#discuss-error-new") == (
        "Длина комментария — 10\u00a0001, а можно не больше 10\u00a0000 символов. "
        "Пожалуйста, сократите его.")

    textarea.fill("Коротко и ясно")
    frame.locator("#discuss-form-new button[type=submit]").click()
    frame.wait_for_selector("text=Коротко и ясно")
    frame.wait_for_function("() => document.getElementById('discuss-count').textContent"
                            ".trim() === '3 комментария'")

    link = frame.locator("a.discuss-permalink").first
    label = link.text_content()
    link.click()
    frame.wait_for_function("(label) => document.querySelector('a.discuss-permalink')"
                            ".textContent !== label", arg=label)
    expect(link).to_have_text("Ссылка скопирована")
    expect(frame.locator("#discuss-live")).to_have_text("Ссылка на этот комментарий скопирована.")
    context.close()
