"""A moderator works the queue in Chromium: a guest's comment on a `pre` site waits, the
moderator signs in, opens /moderate, approves it with the keyboard (j, a), and the comment
appears in the thread's page."""

from __future__ import annotations

import pytest

from discuss import accounts, comments, sites, threads
from discuss.permissions import Actor

pytestmark = pytest.mark.browser

PASSWORD = "violet-harbor-lantern-42"
TIMEOUT = 15_000


def _seed() -> None:
    site = sites.create_site("news", moderation="pre")
    accounts.create_user("moira", "moira@example.org", PASSWORD, verified=True,
                         moderator_of=[site])
    thread = threads.get_or_create_thread(site, "jj-s2", "", "Jessica Jones Season 2")
    comments.post_comment(thread.site.slug, thread.key, Actor(guest_key="g" * 40, ip_hash="ab12"),
                          "Luke Cage will be there.", name="Guest reader")


def test_moderator_approves_a_waiting_comment_with_the_keyboard(page, live_service,
                                                                console_errors):
    errors = console_errors(page)
    live_service.run(_seed)
    thread_page = f"{live_service.url}/embed/news?key=jj-s2"
    page.goto(thread_page)
    assert page.get_by_text("Luke Cage will be there.").count() == 0

    page.goto(f"{live_service.url}/auth/login?next=/moderate")
    page.locator("input[name=login]").fill("moira")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_service.url}/moderate", timeout=TIMEOUT)
    page.locator('tr[data-site="news"] a[data-queue-size="pending"]').click()
    item = page.locator(".mod-item")
    item.first.wait_for(timeout=TIMEOUT)
    assert "Luke Cage will be there." in item.first.inner_text()

    page.keyboard.press("?")
    assert page.locator("#mod-keys").is_visible()
    page.keyboard.press("?")
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.get_by_text("approve: 1 of 1 done.").wait_for(timeout=TIMEOUT)
    assert item.count() == 0
    assert page.locator("#mod-empty-js").is_visible()

    page.goto(thread_page)
    page.get_by_text("Luke Cage will be there.").wait_for(timeout=TIMEOUT)
    page.goto(f"{live_service.url}/moderate/news/audit")
    assert "approve" in page.locator("table.mod-audit tbody").inner_text()
    assert errors == []
