"""The discussion page with JavaScript, opened directly on the service: a guest posts and
replies inline, a reader signs in, votes on someone else's comment (the score changes without a
reload) and reports a comment, all through discuss.js and the JSON API, with no console error."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from discuss import accounts, comments, sites, threads
from discuss.extensions import db
from discuss.models import Comment, Report
from discuss.permissions import Actor

pytestmark = pytest.mark.browser

PASSWORD = "tangerine-violin-88-orbit"
ARTICLE = {"key": "jj-s2", "url": "https://news.example.com/jj-s2", "title": "Jessica Jones"}
TIMEOUT = 15_000


def seed() -> int:
    """Site demo with the default spam rules (forms need 3 seconds); Bob's comment; Carol's
    account. Returns the id of Bob's comment."""
    sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site = threads.get_site("demo")
    bob = accounts.create_user("bob", "bob@example.org", PASSWORD)
    accounts.create_user("carol", "carol@example.org", PASSWORD)
    thread = threads.get_or_create_thread(site, ARTICLE["key"], ARTICLE["url"],
                                          ARTICLE["title"])
    return comments.post_comment(thread.site.slug, thread.key,
                                 Actor(user=bob), "Bob was here first.").id


def comment_rows() -> list[tuple[str, str, int | None]]:
    return [(c.body, c.status, c.parent_id)
            for c in db.session.scalars(select(Comment).order_by(Comment.id))]


def test_reader_posts_replies_signs_in_votes_and_reports_inline(live_service, page,
                                                                console_errors):
    errors = console_errors(page)
    bob_id = live_service.run(seed)
    page.goto(f"{live_service.url}/embed/demo?{urlencode(ARTICLE)}")
    page.wait_for_selector("#discuss")

    # A guest posts. The form carries its signed time shown; a person takes a few seconds.
    page.wait_for_timeout(3_200)
    page.fill("#discuss-body-new", "Ann's first thoughts.")
    page.fill("#discuss-name-new", "Ann")
    page.click("#discuss-form-new button[type=submit]")
    page.locator("#discuss-comments").get_by_text("Ann's first thoughts.").wait_for(
        timeout=TIMEOUT)

    # She replies inline to Bob.
    page.click(f"#comment-{bob_id} .discuss-reply-link")
    page.fill(f"#reply-{bob_id} textarea[name=body]", "Welcome, Bob.")
    page.click(f"#reply-{bob_id} button[type=submit]")
    page.locator(f"#comment-{bob_id} .discuss-replies").get_by_text("Welcome, Bob.").wait_for(
        timeout=TIMEOUT)

    rows = live_service.run(comment_rows)
    assert rows[1:] == [("Ann's first thoughts.", "approved", None),
                        ("Welcome, Bob.", "approved", bob_id)]
    ann_id = live_service.run(lambda: db.session.scalars(
        select(Comment.id).where(Comment.body == "Ann's first thoughts.")).one())
    assert page.locator("button.discuss-vote").count() == 0  # guests see scores only

    # Carol signs in and comes back to the thread.
    page.click("#discuss-account a[data-discuss-action=login]")
    page.fill("#f-login", "carol")
    page.fill("#f-password", PASSWORD)
    page.click("form[data-discuss-login] button[type=submit]")
    page.get_by_text("Signed in as").wait_for(timeout=TIMEOUT)
    page.wait_for_selector(f"button.discuss-vote[data-comment-id='{bob_id}']")

    # She votes Bob's comment up: the score changes in place (no reload).
    page.evaluate("window.stillThisPage = true")
    up = page.locator(f"button.discuss-vote[data-comment-id='{bob_id}'][data-value='1']")
    score = page.locator(f".discuss-score[data-comment-id='{bob_id}']")
    assert score.inner_text() == "0"
    up.click()
    expect(score).to_have_text("1", timeout=TIMEOUT)
    assert up.get_attribute("aria-pressed") == "true"
    assert page.evaluate("window.stillThisPage") is True
    # The same button again takes the vote back.
    up.click()
    expect(score).to_have_text("0", timeout=TIMEOUT)
    assert up.get_attribute("aria-pressed") == "false"
    up.click()
    expect(score).to_have_text("1", timeout=TIMEOUT)
    # After a reload the page shows Carol's vote.
    page.reload()
    assert page.locator(
        f"button.discuss-vote[data-comment-id='{bob_id}'][data-value='1']"
    ).get_attribute("aria-pressed") == "true"

    # She reports Ann's comment through the inline form.
    page.evaluate("window.stillThisPage = true")
    page.click(f"#comment-{ann_id} a.discuss-report")
    form = page.locator(f"#comment-{ann_id} form.discuss-report-form")
    form.wait_for(timeout=TIMEOUT)
    form.locator("select[name=reason]").select_option("off-topic")
    form.locator("input[name=note]").fill("Not about the show")
    form.locator("button[type=submit]").click()
    page.locator(f"#comment-{ann_id}").get_by_text(
        "Thanks, a moderator will look at it.").wait_for(timeout=TIMEOUT)
    assert page.evaluate("window.stillThisPage") is True

    reports = live_service.run(lambda: [(r.comment_id, r.reason, r.note)
                                        for r in db.session.scalars(select(Report))])
    assert reports == [(ann_id, "off-topic", "Not about the show")]

    # Reporting it again says so.
    page.click(f"#comment-{ann_id} a.discuss-report")
    form.wait_for(timeout=TIMEOUT)
    form.locator("select[name=reason]").select_option("spam")
    form.locator("button[type=submit]").click()
    form.get_by_text("You already reported this comment.").wait_for(timeout=TIMEOUT)

    # Chromium logs the 409 above as a failed resource; the page handled it. Nothing else.
    refused = f"status of 409 (CONFLICT) ({live_service.url}/api/v1/comments/{ann_id}/report)"
    assert [e for e in errors if refused not in e] == []
    assert len(errors) <= 1
