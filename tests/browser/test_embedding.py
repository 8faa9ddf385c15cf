"""A publisher's page on http://localhost:<port> embeds threads of the service on
http://127.0.0.1:<port2> through embed.js, and shows comment counts through count.js."""

from __future__ import annotations

import re

import pytest

from discuss import comments, sites
from discuss.models import Status
from discuss.permissions import Actor
from discuss.threads import get_or_create_thread

pytestmark = pytest.mark.browser

FAR_BELOW = 6000  # px of article between the first thread and the second


def seed(host_url: str) -> dict[str, int]:
    """Site `demo` embeddable from the host page; thread a: 2 approved comments, c: 1 approved
    and 1 held; b: one comment far below the fold. Returns comment ids."""
    site = sites.create_site("demo", origins=[host_url], moderation="post")
    site.min_submit_seconds = 0
    ids = {}
    for key, bodies in {"a": ["First!", "Second"], "b": ["Down here"],
                        "c": ["Only one", "Held"]}.items():
        thread = get_or_create_thread(site, key, host_url + "/article", key)
        for n, body in enumerate(bodies):
            reader = Actor(guest_key=f"{key}{n}".ljust(40, "x"), ip_hash=f"ip-{key}-{n}")
            comment = comments.post_comment(thread.site.slug, thread.key,
                                            reader, body, name=f"Reader {n}")
            ids[f"{key}{n}"] = comment.id
            if body == "Held":
                comments.set_status(comment, Status.PENDING)
    return ids


def article(service: str, threads: str, counts: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>An article</title>
<link rel="icon" href="data:,">
<style>.spacer {{ height: {FAR_BELOW}px; }}</style></head>
<body><h1>An article</h1>
{threads}
<ul>{counts}</ul>
<script async src="{service}/embed.js"></script>
<script async src="{service}/count.js"></script>
</body></html>"""


TWO_THREADS = """<div id="discuss-thread" data-site="demo" data-key="a" data-title="A"></div>
<div class="spacer"></div>
<section id="second" data-discuss-thread data-site="demo" data-key="b"></section>"""

COUNTS = """<li><span id="count-a" data-discuss-count data-site="demo" data-key="a"></span></li>
<li><span id="count-b" data-discuss-count data-site="demo" data-key="b"></span></li>
<li><span id="count-c" data-discuss-count data-site="demo" data-key="c"
          data-one="{n} reply" data-many="{n} replies"></span></li>
<li><span id="count-d" data-discuss-count data-site="demo" data-key="d"
          data-zero="Be the first"></span></li>"""


@pytest.fixture
def ids(live_service, host_server) -> dict[str, int]:
    return live_service.run(lambda: seed(host_server.url))


def frame_of(page, selector: str):
    handle = page.wait_for_selector(f"{selector} iframe", state="attached")
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_selector("#discuss", state="attached")
    return frame


def iframe_height(page, selector: str) -> float:
    return page.eval_on_selector(f"{selector} iframe", "f => f.getBoundingClientRect().height")


def test_first_thread_loads_at_once_and_the_far_one_only_when_scrolled_near(
        live_service, host_server, ids, page, console_errors, artifacts):
    errors = console_errors(page)
    frames_asked = []
    page.on("request", lambda r: frames_asked.append(r.url) if "/embed/demo" in r.url else None)
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))

    first = frame_of(page, "#discuss-thread")
    first.wait_for_selector("text=First!")
    page.wait_for_function(
        "() => document.querySelector('#discuss-thread iframe').offsetHeight > 100")
    assert page.locator("#discuss-thread iframe").get_attribute("title") == "Comments"
    assert page.locator("#discuss-thread .discuss-loading").count() == 0
    assert page.locator("#second iframe").count() == 0
    assert len(frames_asked) == 1
    assert "key=a" in frames_asked[0]
    assert "url=" + re.escape("http%3A%2F%2Flocalhost") in frames_asked[0]

    page.locator("#second").scroll_into_view_if_needed()
    second = frame_of(page, "#second")
    second.wait_for_selector("text=Down here")
    assert len(frames_asked) == 2
    page.screenshot(path=str(artifacts / "embedding-two-threads.png"), full_page=True)
    assert errors == []


def test_thread_page_in_the_frame_has_no_inline_script(live_service, host_server, ids, page):
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))
    html = frame_of(page, "#discuss-thread").content()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the thread page loads its script"
    assert all(re.search(r"\bsrc=", tag) for tag in scripts)
    assert not re.search(r"\son[a-z]+=", html)


def test_count_spans_show_the_numbers_from_one_request(live_service, host_server, ids, page):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/counts" in r.url else None)
    page.goto(host_server.page("/list", article(live_service.url, "", COUNTS)))

    page.wait_for_function("() => document.querySelector('#count-d').textContent !== ''")
    assert page.text_content("#count-a") == "2 comments"
    assert page.text_content("#count-b") == "1 comment"
    assert page.text_content("#count-c") == "1 reply"  # the held comment does not count
    assert page.text_content("#count-d") == "Be the first"
    assert len(asked) == 1
    assert all(f"key={k}" in asked[0] for k in "abcd")


def test_frame_grows_after_posting_a_comment(live_service, host_server, ids, page,
                                             console_errors, artifacts):
    errors = console_errors(page)
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))
    frame = frame_of(page, "#discuss-thread")
    page.wait_for_function(
        "() => document.querySelector('#discuss-thread iframe').offsetHeight > 100")
    before = iframe_height(page, "#discuss-thread")

    form = frame.locator("form[data-discuss-form='comment']").first
    form.locator("textarea[name=body]").fill(
        "Jessica in Luke Cage? Only if she gets the last word.\n\nAnd a second paragraph, "
        "so the thread is clearly taller than before.")
    form.locator("input[name=name]").fill("Trish")
    form.locator("button[type=submit]").click()
    frame.wait_for_selector("text=Only if she gets the last word.")

    page.wait_for_function(
        f"() => document.querySelector('#discuss-thread iframe').offsetHeight > {before + 20}")
    inner = frame.evaluate("() => document.documentElement.scrollHeight")
    assert abs(iframe_height(page, "#discuss-thread") - inner) <= 2, "no inner scrollbar"
    page.screenshot(path=str(artifacts / "embedding-after-post.png"), full_page=True)
    assert errors == []


def test_link_to_a_comment_scrolls_the_article_page_to_it(live_service, host_server, ids, page):
    url = host_server.page("/article", article(live_service.url, TWO_THREADS))
    page.goto(f"{url}#comment-{ids['b0']}")

    frame = frame_of(page, "#second")
    frame.wait_for_selector(f"#comment-{ids['b0']}", state="attached")
    page.wait_for_function(f"() => window.scrollY > {FAR_BELOW - 1000}")
    box = frame.locator(f"#comment-{ids['b0']}").bounding_box()  # relative to the main page
    viewport = page.viewport_size
    assert box is not None
    assert viewport is not None
    assert 0 <= box["y"] < viewport["height"]


def test_dark_theme_reaches_the_thread_page(live_service, host_server, ids, page):
    dark = TWO_THREADS.replace('data-title="A"', 'data-title="A" data-theme="dark"')
    page.goto(host_server.page("/article", article(live_service.url, dark)))
    frame = frame_of(page, "#discuss-thread")
    assert frame.evaluate("() => document.documentElement.dataset.theme") == "dark"


def test_auto_theme_follows_the_readers_colour_scheme_as_it_changes(
        live_service, host_server, ids, page):
    page.emulate_media(color_scheme="dark")
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))
    frame = frame_of(page, "#discuss-thread")
    assert "theme=dark" in frame.url
    assert frame.evaluate("() => document.documentElement.dataset.theme") == "dark"

    page.emulate_media(color_scheme="light")
    frame.wait_for_function("() => document.documentElement.dataset.theme === 'light'")


def test_page_on_an_origin_the_site_does_not_list_cannot_show_the_thread(
        live_service, host_server, ids, page):
    # Same server, other origin (127.0.0.1 instead of localhost). The page even claims an
    # allowed article URL, so only the browser's frame-ancestors check stands in the way.
    allowed = host_server.url + "/article"
    threads = f'<div id="discuss-thread" data-site="demo" data-key="a" data-url="{allowed}"></div>'
    host_server.page("/elsewhere", article(live_service.url, threads))
    page.goto(host_server.url.replace("localhost", "127.0.0.1") + "/elsewhere")

    page.wait_for_selector("#discuss-thread .discuss-error", timeout=20000)
    assert page.text_content("#discuss-thread") == "Comments could not be loaded."
    assert page.locator("#discuss-thread iframe").count() == 0
    assert not any("First!" in frame.content() for frame in page.frames
                   if not frame.url.startswith("chrome-error"))


@pytest.mark.parametrize(("attributes", "message"), [
    ('data-key="a"', "does not say which discussion"),
    ('data-site="demo"', "does not say which discussion"),
    ('data-site="demo" data-key="' + "k" * 513 + '"', "longer than 512 characters"),
])
def test_placeholder_without_a_usable_site_or_key_shows_why_and_asks_nothing(
        live_service, host_server, page, attributes, message):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/embed/" in r.url else None)
    page.goto(host_server.page("/bad", article(
        live_service.url, f'<div id="discuss-thread" {attributes}></div>')))
    page.wait_for_selector("#discuss-thread .discuss-error")
    assert message in page.text_content("#discuss-thread")
    assert page.locator("#discuss-thread iframe").count() == 0
    assert asked == []


@pytest.mark.parametrize("attributes", [
    'data-site="no-such-site" data-key="a"',
    'data-site="demo" data-key="a" data-url="https://elsewhere.example.org/a"',
])
def test_unknown_site_or_foreign_article_url_shows_a_message_in_place_of_the_thread(
        live_service, host_server, ids, page, attributes):
    page.goto(host_server.page("/bad", article(
        live_service.url, f'<div id="discuss-thread" {attributes}></div>')))

    # Either the service's error page shows in the frame (sized like a thread) or, when it
    # sends no word, the loader replaces it with its own message.
    page.wait_for_function("""() => {
        const box = document.querySelector('#discuss-thread');
        const frame = box.querySelector('iframe');
        return box.querySelector('.discuss-error') || (frame && frame.offsetHeight > 20);
    }""", timeout=20000)
    if page.locator("#discuss-thread .discuss-error").count():
        assert page.text_content("#discuss-thread") == "Comments could not be loaded."
    else:
        text = page.locator("#discuss-thread iframe").element_handle().content_frame() \
            .text_content("body")
        assert re.search(r"No such site|not on an origin", text)


def test_load_picks_up_threads_added_later_without_loading_twice(
        live_service, host_server, ids, page):
    page.goto(host_server.page("/spa", article(live_service.url, TWO_THREADS)))
    frame_of(page, "#discuss-thread")
    page.evaluate("""() => {
        const box = document.createElement('div');
        box.className = 'discuss-thread';
        box.id = 'late';
        box.dataset.site = 'demo';
        box.dataset.key = 'c';
        document.querySelector('h1').after(box);
        window.DiscussEmbed.load();
    }""")
    frame_of(page, "#late").wait_for_selector("text=Only one")
    assert page.locator("#discuss-thread iframe").count() == 1
    # Both scripts load async, so either may define its global first.
    assert sorted(page.evaluate("() => Object.keys(window).filter(k => /^Discuss/.test(k))")) \
        == ["DiscussCount", "DiscussEmbed"]


def test_frame_size_ignores_messages_from_anyone_but_its_own_frame(
        live_service, host_server, ids, page):
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))
    frame_of(page, "#discuss-thread")
    page.locator("#second").scroll_into_view_if_needed()
    second = frame_of(page, "#second")
    page.wait_for_function(
        "() => document.querySelector('#discuss-thread iframe').offsetHeight > 100")
    before = iframe_height(page, "#discuss-thread")

    # The article page itself (wrong origin), and the other thread's frame (right origin,
    # wrong window), both try to shrink the first frame.
    page.evaluate("() => window.postMessage({discuss: 'resize', height: 7}, '*')")
    second.evaluate("() => window.parent.postMessage({discuss: 'resize', height: 9}, '*')")
    page.wait_for_timeout(300)

    assert iframe_height(page, "#discuss-thread") == before
    assert iframe_height(page, "#second") == 9


def test_frame_size_ignores_its_frame_once_it_shows_another_origin(
        live_service, host_server, ids, page):
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))
    frame = frame_of(page, "#discuss-thread")
    page.wait_for_function(
        "() => document.querySelector('#discuss-thread iframe').offsetHeight > 100")
    before = iframe_height(page, "#discuss-thread")
    evil = host_server.page("/evil", "<script>parent.postMessage({discuss: 'resize', "
                                     "height: 11}, '*'); document.title = 'sent';</script>")

    assert frame.url.startswith(live_service.url)
    page.eval_on_selector("#discuss-thread iframe", "(f, url) => { f.src = url; }", evil)
    page.wait_for_function("() => document.querySelector('#discuss-thread iframe').src"
                           ".endsWith('/evil')")
    page.wait_for_timeout(200)
    moved = page.locator("#discuss-thread iframe").element_handle().content_frame()
    moved.wait_for_function("() => document.title === 'sent'")
    page.wait_for_timeout(300)

    assert iframe_height(page, "#discuss-thread") == before


def test_guest_posts_from_the_frame_where_third_party_cookies_are_blocked(
        live_service, host_server, ids, blocked_cookies_context, console_errors):
    page = blocked_cookies_context().new_page()
    errors = console_errors(page)
    page.goto(host_server.page("/article", article(live_service.url, TWO_THREADS)))
    frame = frame_of(page, "#discuss-thread")
    assert frame.evaluate("() => { document.cookie = 'probe=1; SameSite=None'; "
                          "return document.cookie; }") == "", "third-party cookies are blocked"

    form = frame.locator("form[data-discuss-form='comment']").first
    form.locator("textarea[name=body]").fill("Posted without a single cookie.")
    form.locator("input[name=name]").fill("Jeri")
    form.locator("button[type=submit]").click()

    frame.wait_for_selector("text=Posted without a single cookie.")
    assert errors == []


def test_count_spans_for_many_articles_are_asked_for_in_batches_of_a_hundred(
        live_service, host_server, ids, page):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/counts" in r.url else None)
    spans = "".join(f'<li><span data-discuss-count data-site="demo" data-key="k{n}"></span></li>'
                    for n in range(150))
    spans += '<li><span id="count-a" data-discuss-count data-site="demo" data-key="a"></span>'
    page.goto(host_server.page("/long-list", article(live_service.url, "", spans)))

    page.wait_for_function("() => [...document.querySelectorAll('[data-discuss-count]')]"
                           ".every(el => el.textContent !== '')")
    assert len(asked) == 2
    assert page.text_content("#count-a") == "2 comments"
