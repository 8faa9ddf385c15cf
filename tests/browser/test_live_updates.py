"""Live updates in Chromium: while a reader reads, another reader's comment appears behind a
"1 new comment" button without a reload; nothing the first reader reads moves, neither when the
button appears nor when they click it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from discuss import comments, sites, threads
from discuss.permissions import Actor

pytestmark = pytest.mark.browser

ARTICLE = {"key": "jj-s2", "url": "https://news.example.com/jj-s2", "title": "Jessica Jones"}
TIMEOUT = 15_000


def seed(count: int) -> None:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    thread = threads.get_or_create_thread(site, ARTICLE["key"], ARTICLE["url"],
                                          ARTICLE["title"])
    for n in range(count):
        comments.post_comment(site.slug, thread.key, Actor(guest_key=f"{'k' * 40}{n}"),
                              f"Comment {n}: " + "a thought that takes a line or two. " * 4,
                              name=f"Guest {n}")


def second_reader_posts(body: str, key: str = "s" * 40) -> int:
    """Another reader's comment, as their browser's post would write it."""
    return comments.post_comment("demo", ARTICLE["key"], Actor(guest_key=key), body,
                                 name="Second reader").id


def top_of(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => e.getBoundingClientRect().top")


def test_a_second_readers_comment_waits_behind_a_button_and_nothing_moves(
        live_service, context, artifacts, console_errors):
    live_service.run(lambda: seed(12))
    page = context.new_page()
    page.set_viewport_size({"width": 800, "height": 600})
    errors = console_errors(page)
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{live_service.url}/embed/demo?{urlencode({**ARTICLE, 'sort': 'newest'})}")
    page.wait_for_selector("#discuss-comments li")
    page.evaluate("window.scrollTo(0, 700)")
    reading = page.eval_on_selector_all(
        ".discuss-item > article",
        "all => all.find(a => a.getBoundingClientRect().top >= 0).parentElement.id")
    scrolled, top = page.evaluate("window.scrollY"), top_of(page, f"#{reading}")
    page.wait_for_timeout(500)  # the stream is open (the page has settled)
    assert any("/threads/stream" in url for url in fetched)
    assert not any("/live.js" in url for url in fetched)  # nothing new yet: not downloaded

    first = live_service.run(lambda: second_reader_posts("Hello from the second reader!"))
    button = page.locator(".discuss-new-comments button")
    expect(button).to_have_text("1 new comment", timeout=TIMEOUT)
    assert sum("/live.js" in url for url in fetched) == 1  # fetched with the first comment
    assert page.locator(f"#comment-{first}").count() == 0  # not inserted by itself
    expect(page.locator("#discuss-count")).to_have_text("12 comments")  # nor counted yet
    assert page.evaluate("window.scrollY") == scrolled
    assert top_of(page, f"#{reading}") == top
    page.screenshot(path=str(artifacts / "live-updates-button.png"))

    live_service.run(lambda: second_reader_posts("And a second thought.", "t" * 40))
    expect(button).to_have_text("2 new comments", timeout=TIMEOUT)
    assert top_of(page, f"#{reading}") == top

    button.click()
    expect(page.locator(f"#comment-{first}")).to_contain_text("Hello from the second reader!",
                                                             timeout=TIMEOUT)
    expect(button).to_have_count(0)
    expect(page.locator("#discuss-count")).to_have_text("14 comments", timeout=TIMEOUT)
    # Newest first: both went in above what the reader reads, which stays where it was.
    assert abs(top_of(page, f"#{reading}") - top) < 1
    assert page.evaluate("window.scrollY") > scrolled
    page.screenshot(path=str(artifacts / "live-updates-inserted.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "live-updates-top.png"))
    assert errors == []
