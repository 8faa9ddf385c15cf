"""What a first-time moderator stumbled on (issue 13), in Chromium: after an action the
heading's count follows, the message names the comment and offers Undo, and a habitual `j`
then a letter never acts on a comment the moderator did not look at; "Ban author" previews
what goes and the Deleted list restores it; without JavaScript the same works as forms."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from discuss import accounts, comments, sites, threads
from discuss.extensions import db
from discuss.models import Comment
from discuss.permissions import Actor
from tests.browser.test_moderation_queue import PASSWORD, TIMEOUT

pytestmark = pytest.mark.browser



def _say(thread, actor, body, **kwargs):
    """A comment through the domain, in an existing thread."""
    return comments.post_comment(thread.site.slug, thread.key, actor, body, **kwargs)

def _seed() -> None:
    site = sites.create_site("news", moderation="pre")
    accounts.create_user("moira", "moira@example.org", PASSWORD, verified=True,
                         moderator_of=[site])
    thread = threads.get_or_create_thread(site, "jj-s2", "", "Jessica Jones Season 2")
    for n, name in enumerate(["Ann", "Bea", "Cy", "Dot"]):
        _say(thread, Actor(guest_key=str(n) * 40, ip_hash=str(n) * 32),
                              f"Comment by {name}", name=name)


def _statuses() -> dict[str, str]:
    return {c.guest_name: str(c.status) for c in db.session.scalars(select(Comment))}


def _sign_in(page, url: str, next_path: str) -> None:
    page.goto(f"{url}/auth/login?next={next_path}")
    page.locator("input[name=login]").fill("moira")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}{next_path}", timeout=TIMEOUT)


def test_the_queue_after_an_action_counts_names_undoes_and_never_skips(
        page, live_service, console_errors):
    errors = console_errors(page)
    live_service.run(_seed)
    _sign_in(page, live_service.url, "/moderate/news/pending")
    heading = page.locator("#mod-count")
    expect(heading).to_have_text("(4)")
    page.keyboard.press("j")
    page.keyboard.press("a")  # Ann approved
    expect(page.locator("#mod-status")).to_contain_text("Approved: Ann’s “Comment by Ann”.",
                                                        timeout=TIMEOUT)
    expect(heading).to_have_text("(3)")
    # The habit: j then s. It lands on Bea, who moved up into Ann's place, and nobody else.
    page.keyboard.press("j")
    expect(page.locator(".mod-item.mod-current")).to_contain_text("Comment by Bea")
    page.keyboard.press("s")
    expect(page.locator("#mod-status")).to_contain_text("Marked as spam: Bea’s",
                                                        timeout=TIMEOUT)
    assert live_service.run(_statuses) == {"Ann": "approved", "Bea": "spam", "Cy": "pending",
                                           "Dot": "pending"}
    # Undo puts Bea back in the queue.
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#mod-status")).to_contain_text("Undone", timeout=TIMEOUT)
    assert live_service.run(_statuses)["Bea"] == "pending"
    # A letter with nothing highlighted does nothing but say so.
    page.keyboard.press("r")
    expect(page.locator("#mod-status")).to_contain_text("Move to a comment first")
    assert live_service.run(_statuses)["Cy"] == "pending"
    assert errors == []


@pytest.mark.parametrize("javascript", [True, False])
def test_ban_author_previews_and_the_deleted_list_restores(browser, live_service, javascript):
    live_service.run(_seed)
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    _sign_in(page, live_service.url, "/moderate/news/pending")
    page.locator(".mod-item", has_text="Comment by Cy").get_by_role(
        "link", name="Ban author…").click()
    expect(page.get_by_role("heading", name="1 comment on this site by Cy")).to_be_visible(
        timeout=TIMEOUT)
    expect(page.locator(".mod-preview-list")).to_contain_text("Comment by Cy")
    assert live_service.run(_statuses)["Cy"] == "pending"  # nothing happened yet
    page.get_by_role("button", name="Ban Cy").click()
    expect(page.locator("#mod-status")).to_contain_text("1 comment(s) removed", timeout=TIMEOUT)
    assert live_service.run(_statuses)["Cy"] == "deleted"
    page.get_by_role("link", name="Deleted").click()
    item = page.locator(".mod-item", has_text="Comment by Cy")
    item.get_by_role("button", name="Restore").click()
    expect(page.locator("#mod-status")).to_contain_text("Restored: Cy’s", timeout=TIMEOUT)
    assert live_service.run(_statuses)["Cy"] == "pending"
    context.close()
