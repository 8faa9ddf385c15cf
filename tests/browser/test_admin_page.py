"""The site admin page in Chromium: an admin creates a site through the form and copies its
embed snippet with the Copy button (admin.js), without console errors."""

from __future__ import annotations

import pytest

from discuss import accounts

pytestmark = pytest.mark.browser

PASSWORD = "violet-harbor-lantern-42"
TIMEOUT = 15_000


def test_admin_creates_a_site_and_copies_its_embed_snippet(browser, live_service,
                                                           console_errors, artifacts):
    live_service.run(lambda: accounts.create_user("adaline", "adaline@example.org", PASSWORD,
                                                  verified=True, is_admin=True))
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_service.url)
    page = ctx.new_page()
    errors = console_errors(page)
    try:
        page.goto(f"{live_service.url}/auth/login?next=/admin")
        page.locator("input[name=login]").fill("adaline")
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_service.url}/admin", timeout=TIMEOUT)
        page.get_by_role("link", name="Create a site").click()

        page.get_by_label("Slug").fill("news")
        page.get_by_label("Origins allowed to embed the site").fill("https://news.example.com")
        page.get_by_label("Moderation").select_option("pre")
        page.get_by_role("button", name="Create site").click()
        page.get_by_text("Site news was created.").wait_for(timeout=TIMEOUT)

        page.get_by_role("button", name="Copy").first.click()
        page.get_by_text("The snippet was copied.").wait_for(state="attached", timeout=TIMEOUT)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert 'data-site="news"' in copied
        assert f'<script async src="{live_service.url}/embed.js"></script>' in copied
        page.screenshot(path=str(artifacts / "admin-site.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()
