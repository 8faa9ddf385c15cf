"""The thread page's scripts on demand: a reader who only reads downloads discuss.js alone;
comment-actions.js arrives once they move into a form or use an action, account.js only for a
signed-in reader. Everything comment-actions.js does still works inline: posting, editing and
cancelling, replying and cancelling, reporting and cancelling, deleting and "show more"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from discuss import comments, sites, threads
from discuss.permissions import Actor

pytestmark = pytest.mark.browser

ARTICLE = {"key": "jj-s2", "url": "https://news.example.com/jj-s2", "title": "Jessica Jones"}
TIMEOUT = 15_000
ON_DEMAND = ("/static/comment-actions.js", "/static/account.js")


@pytest.fixture
def live_settings() -> dict[str, Any]:
    return {"DISCUSS_PAGE_SIZE": 2}


def seed(count: int) -> None:
    """Site demo (no minimum time before posting) with ``count`` comments by other guests."""
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site.min_submit_seconds = 0
    thread = threads.get_or_create_thread(site, ARTICLE["key"], ARTICLE["url"],
                                          ARTICLE["title"])
    for n in range(count):
        comments.post_comment(thread.site.slug, thread.key,
                              Actor(guest_key=f"{'k' * 40}{n}"), f"Comment {n}.",
                              name=f"Guest {n}")


def fetched(page, requests: list[str]) -> list[str]:
    """The on-demand scripts among the requests so far."""
    page.wait_for_load_state("networkidle")
    return sorted({path for url in requests for path in ON_DEMAND if path in url})


def open_thread(live_service, page) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live_service.url}/embed/demo?{urlencode(ARTICLE)}")
    page.wait_for_selector("#discuss")
    return requests


def test_reading_fetches_no_extra_script_and_writing_fetches_the_actions(
        live_service, page, console_errors):
    errors = console_errors(page)
    live_service.run(lambda: seed(0))
    requests = open_thread(live_service, page)
    assert fetched(page, requests) == []

    with page.expect_response(lambda response: "/comment-actions.js" in response.url):
        page.focus("#discuss-body-new")
    assert fetched(page, requests) == ["/static/comment-actions.js"]
    page.fill("#discuss-body-new", "First!")
    page.fill("#discuss-name-new", "Ann")
    page.click("#discuss-form-new button[type=submit]")
    page.locator("#discuss-comments").get_by_text("First!").wait_for(timeout=TIMEOUT)
    assert page.locator("#discuss-empty").count() == 0
    assert errors == []


def test_comment_actions_work_inline_after_the_script_arrives(live_service, page,
                                                              console_errors):
    errors = console_errors(page)
    live_service.run(lambda: seed(3))
    requests = open_thread(live_service, page)
    page.evaluate("window.stillThisPage = true")
    items = page.locator("#discuss-comments > li")
    expect(items).to_have_count(2)

    # "Show more comments" is the first action: it fetches the script, then the next page.
    page.click("a.discuss-more")
    expect(items).to_have_count(3, timeout=TIMEOUT)
    assert page.locator("a.discuss-more").count() == 0
    assert fetched(page, requests) == ["/static/comment-actions.js"]

    # Reply to the first comment, then think better of it.
    first = items.first
    first.locator(".discuss-reply-link").click()
    reply_box = first.locator(".discuss-reply-box")
    reply_box.locator("textarea").wait_for(timeout=TIMEOUT)
    reply_box.get_by_role("button", name="Cancel").click()
    expect(reply_box).to_have_count(0)
    expect(first.locator(".discuss-reply-link")).to_be_focused()

    # Open the report form, then cancel it.
    first.locator("a.discuss-report").click()
    report = first.locator("form.discuss-report-form")
    report.wait_for(timeout=TIMEOUT)
    report.get_by_role("link", name="Cancel").click()
    expect(report).to_have_count(0)

    # Post, edit (cancel once, then save) and delete one's own comment.
    page.fill("#discuss-body-new", "Mine, first draft.")
    page.fill("#discuss-name-new", "Ann")
    page.click("#discuss-form-new button[type=submit]")
    mine = page.locator("li.discuss-item", has_text="Mine, first draft.")
    mine.wait_for(timeout=TIMEOUT)
    mine.locator(".discuss-edit-link").click()
    editor = mine.locator(".discuss-edit-form textarea")
    editor.wait_for(timeout=TIMEOUT)
    mine.locator(".discuss-edit-form").get_by_role("link", name="Cancel").click()
    expect(mine.locator(".discuss-body")).to_have_text("Mine, first draft.")
    mine.locator(".discuss-edit-link").click()
    editor.fill("Mine, second draft.")
    mine.locator(".discuss-edit-form button[type=submit]").click()
    edited = page.locator("li.discuss-item", has_text="Mine, second draft.")
    edited.wait_for(timeout=TIMEOUT)

    page.once("dialog", lambda dialog: dialog.accept())
    edited.get_by_role("button", name="Delete").click()
    expect(edited).to_have_count(0, timeout=TIMEOUT)
    assert page.evaluate("window.stillThisPage") is True
    assert errors == []


def test_a_script_that_could_not_be_fetched_is_tried_again(live_service, page):
    live_service.run(lambda: seed(0))
    offline = [True]

    def serve(route) -> None:
        if offline[0]:
            route.abort()
        else:
            route.continue_()

    page.route("**/static/comment-actions.js*", serve)
    open_thread(live_service, page)
    page.fill("#discuss-body-new", "Is anyone there?")
    page.fill("#discuss-name-new", "Ann")
    page.click("#discuss-form-new button[type=submit]")
    expect(page.locator("#discuss-error-new")).to_have_text(
        "The page could not reach the service. Please try again.", timeout=TIMEOUT)
    offline[0] = False
    page.click("#discuss-form-new button[type=submit]")
    page.locator("#discuss-comments").get_by_text("Is anyone there?").wait_for(timeout=TIMEOUT)
    expect(page.locator("#discuss-error-new")).to_be_hidden()
