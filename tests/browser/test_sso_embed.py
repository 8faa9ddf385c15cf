"""Single sign-on in the browser: a publisher's page on http://localhost:PORT carries the
reader's signed token in data-sso; the iframe from http://127.0.0.1:PORT2 signs the reader in
and they post, with third-party cookies blocked, and the token never appears in a URL."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from sqlalchemy import select

from discuss import sites, sso
from discuss.extensions import db
from discuss.models import AuthToken, Comment, User

pytestmark = pytest.mark.browser

SECRET = "the-daily-bugle-sso-secret-0123456789abcdef"
TIMEOUT = 15_000


def _token(name: str = "Jessica Jones") -> str:
    now = int(time.time())
    return jwt.encode({"sub": "42", "name": name, "email": "jessica@alias.example",
                       "aud": "demo", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex},
                      SECRET, algorithm="HS256")


def _article(service: str, host: str, token: str | None) -> str:
    sso_attr = f' data-sso="{token}"' if token is not None else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Jessica Jones</title>
<link rel="icon" href="data:,"></head>
<body><h1>Jessica Jones Season 2</h1>
<div id="discuss-thread" data-site="demo" data-key="jj-s2" data-title="Jessica Jones"
     data-url="{host}/article"{sso_attr} data-sso-login="{host}/sign-in?next=/article"></div>
<script async src="{service}/embed.js"></script>
</body></html>"""


def _seed(host_url: str) -> None:
    site = sites.create_site("demo", origins=[host_url], moderation="post", name="Daily Bugle")
    site.min_submit_seconds = 0
    sso.set_secret(site, SECRET)


def test_a_reader_signed_in_by_the_publisher_posts_with_third_party_cookies_blocked(
        blocked_cookies_context, live_service, host_server, console_errors):
    live_service.run(lambda: _seed(host_server.url))
    context = blocked_cookies_context()
    page = context.new_page()
    errors = console_errors(page)
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    tokens = [_token()]
    article = host_server.page("/article", _article(live_service.url, host_server.url,
                                                    tokens[0]))
    page.goto(article)
    frame = page.frame_locator("iframe")
    frame.get_by_text("Signed in as").wait_for(timeout=TIMEOUT)
    assert "Jessica Jones" in frame.locator("#discuss-account").inner_text()

    frame.locator(".discuss-new textarea[name=body]").fill("Sweet Christmas, Luke is back.")
    frame.locator(".discuss-new button[type=submit]").click()
    frame.get_by_text("Sweet Christmas, Luke is back.").first.wait_for(timeout=TIMEOUT)
    byline = frame.locator(".discuss-comment", has_text="Sweet Christmas").first
    assert "✓ Daily Bugle" in byline.locator(".discuss-byline").inner_text()

    def author() -> tuple[str, str | None]:
        comment = db.session.scalars(select(Comment)).one()
        user = db.session.get(User, comment.user_id)
        return user.display_name, user.external_id

    assert live_service.run(author) == ("Jessica Jones", "42")

    # The next page view carries a fresh token (the publisher mints one per page): still
    # signed in, under the name the publisher now gives.
    tokens.append(_token("Jessica C. Jones"))
    host_server.page("/article", _article(live_service.url, host_server.url, tokens[1]))
    page.reload()
    frame = page.frame_locator("iframe")
    frame.get_by_text("Signed in as Jessica C. Jones").wait_for(timeout=TIMEOUT)

    # The token went to the service in a request body only, never in a URL, and the
    # publisher's page got nothing of the service's session.
    assert urls
    for token in tokens:
        assert not [url for url in urls if token in url or token[-20:] in url]
    assert page.evaluate("window.localStorage.length") == 0

    # Signed out at the publisher (data-sso=""): the iframe signs the reader out too.
    host_server.page("/article", _article(live_service.url, host_server.url, ""))
    page.reload()
    page.frame_locator("iframe").locator('#discuss-account a[data-discuss-action="login"]') \
        .wait_for(timeout=TIMEOUT)

    def live_sessions() -> int:
        return len(db.session.scalars(select(AuthToken).where(
            AuthToken.revoked_at.is_(None))).all())

    deadline = time.monotonic() + TIMEOUT / 1000  # waits for the sign-out, never for time
    while live_service.run(live_sessions) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert live_service.run(live_sessions) == 0
    assert errors == []


def test_sign_in_goes_to_the_publishers_own_page_when_nobody_is_signed_in_there(
        page, live_service, host_server, console_errors):
    live_service.run(lambda: _seed(host_server.url))
    errors = console_errors(page)
    article = host_server.page("/article", _article(live_service.url, host_server.url, ""))
    host_server.page("/sign-in", "<!doctype html><title>Sign in</title><h1>Bugle sign-in</h1>")
    page.goto(article)
    link = page.frame_locator("iframe").locator('#discuss-account a[data-discuss-action="login"]')
    link.wait_for(timeout=TIMEOUT)
    page.wait_for_function(
        "() => document.querySelector('iframe').contentDocument === null")  # cross-origin
    page.frame_locator("iframe").locator(
        f'#discuss-account a[href="{host_server.url}/sign-in?next=/article"][target="_top"]'
    ).wait_for(timeout=TIMEOUT)
    link.click()
    page.wait_for_url(f"{host_server.url}/sign-in?next=/article", timeout=TIMEOUT)
    assert page.locator("h1").inner_text() == "Bugle sign-in"
    assert errors == []
