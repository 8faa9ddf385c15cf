"""Signing in inside the embedded iframe, with the browser's default cookie policy and with
third-party cookies blocked: a host page on http://localhost:PORT embeds the thread from the
service on http://127.0.0.1:PORT2; the reader registers, signs in, posts, reloads the host page
and is still signed in, edits, signs out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from discuss import sites
from discuss.extensions import db
from discuss.models import AuthToken, Comment, OutboxMessage

pytestmark = pytest.mark.browser

PASSWORD = "violet-harbor-lantern-42"
TIMEOUT = 15_000


def _article(service: str, host: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Jessica Jones</title>
<link rel="icon" href="data:,"></head>
<body><h1>Jessica Jones Season 2</h1>
<div id="discuss-thread" data-site="demo" data-key="jj-s2" data-title="Jessica Jones"
     data-url="{host}/article"></div>
<script async src="{service}/embed.js"></script>
</body></html>"""


def _seed(host_url: str) -> None:
    site = sites.create_site("demo", origins=[host_url], moderation="post")
    site.min_submit_seconds = 0


def _reader_journey(page, live_service, host_server, console) -> None:
    live_service.run(lambda: _seed(host_server.url))
    article = host_server.page("/article", _article(live_service.url, host_server.url))
    page.goto(article)
    frame = page.frame_locator("iframe")

    # Register inside the iframe (a plain form: works without cookies).
    frame.get_by_role("link", name="Sign in").first.click()
    frame.get_by_role("link", name="Create an account").click()
    frame.get_by_label("Username").fill("jessica")
    frame.get_by_label("Email").fill("jessica@example.org")
    frame.get_by_label("Password").fill(PASSWORD)
    frame.get_by_role("button", name="Create account").click()
    # Registering answers "check your inbox" whether or not the address has an account.
    frame.get_by_role("heading", name="Check your inbox").wait_for(timeout=TIMEOUT)

    # The account is made when the mailed link is opened (registering tells nobody whether
    # an address has an account): open it in a tab of its own, as from a mail program.
    def mailed_link() -> str:
        body = db.session.scalar(select(OutboxMessage.body)
                                 .where(OutboxMessage.recipient == "jessica@example.org"))
        return body[body.index("http"):].split()[0]

    mail_tab = page.context.new_page()
    mail_tab.goto(live_service.run(mailed_link))
    mail_tab.get_by_role("button", name="Confirm").click()
    mail_tab.get_by_role("heading", name="Email address confirmed").wait_for(timeout=TIMEOUT)
    # Back on the article (before the mail tab closes: the "Check your inbox" page would
    # continue by itself when shown again, tests/browser/test_newcomer_reader.py), the thread
    # offers "Continue as jessica"; this reader signs in with the password instead.
    page.goto(article)
    mail_tab.close()
    frame.get_by_role("button", name="Continue as jessica").wait_for(timeout=TIMEOUT)

    # Sign in: account.js calls the API and keeps the token; back on the same thread.
    frame.get_by_role("link", name="Sign in").first.click()
    frame.get_by_label("Username or email").fill("jessica")
    frame.get_by_label("Password").fill(PASSWORD)
    frame.get_by_role("button", name="Sign in").click()
    frame.get_by_text("Signed in as").wait_for(timeout=TIMEOUT)
    assert "jessica" in frame.locator("#discuss-account").inner_text()

    # Post as the signed-in reader.
    frame.locator(".discuss-new textarea[name=body]").fill("Luke Cage will be there.")
    frame.locator(".discuss-new button[type=submit]").click()
    frame.get_by_text("Luke Cage will be there.").first.wait_for(timeout=TIMEOUT)

    def authored() -> list[tuple[int | None, str]]:
        return [(c.user_id, c.body) for c in db.session.scalars(select(Comment))]

    [(user_id, _body)] = live_service.run(authored)
    assert user_id is not None

    # The reader's token never reaches the publisher's page (its scripts could read it).
    assert page.evaluate("window.localStorage.length") == 0

    # Reload the publisher's page: still signed in.
    page.reload()
    frame = page.frame_locator("iframe")
    frame.get_by_text("Signed in as").wait_for(timeout=TIMEOUT)
    frame.get_by_text("Luke Cage will be there.").first.wait_for(timeout=TIMEOUT)

    # Edit within the window.
    frame.locator(".discuss-edit-link").first.click()
    editor = frame.locator(".discuss-edit-form textarea[name=body]")
    editor.fill("Luke Cage and Misty Knight will be there.")
    frame.locator(".discuss-edit-form button[type=submit]").click()
    frame.get_by_text("Luke Cage and Misty Knight will be there.").first.wait_for(
        timeout=TIMEOUT)
    assert live_service.run(authored)[0][1] == "Luke Cage and Misty Knight will be there."

    # Sign out: the session ends on the server, the iframe shows "Sign in" again.
    frame.get_by_role("link", name="Sign out").click()
    frame.get_by_role("link", name="Sign in").first.wait_for(timeout=TIMEOUT)

    def live_sessions() -> int:
        return len(db.session.scalars(select(AuthToken).where(
            AuthToken.revoked_at.is_(None))).all())

    assert live_service.run(live_sessions) == 0
    page.reload()
    page.frame_locator("iframe").get_by_role("link", name="Sign in").first.wait_for(
        timeout=TIMEOUT)
    assert page.evaluate("window.localStorage.length") == 0
    assert console == []


def test_reader_signs_in_posts_and_edits_inside_the_iframe(page, live_service, host_server,
                                                           console_errors):
    _reader_journey(page, live_service, host_server, console_errors(page))


def test_signing_in_inside_the_iframe_works_with_third_party_cookies_blocked(
        blocked_cookies_context, live_service, host_server, console_errors):
    context = blocked_cookies_context()
    page = context.new_page()
    _reader_journey(page, live_service, host_server, console_errors(page))
