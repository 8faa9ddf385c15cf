"""What a publisher, a reader and a moderator stumbled on first (issue 13), as requests:
registration inside the thread, deep links past the first page, the account pages' theme."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from discuss import accounts
from discuss.extensions import db
from discuss.models import AuthToken, User
from tests.accounts_helpers import PASSWORD, api_login, bearer, form_csrf, make_user
from tests.conftest import csrf_header, make_thread, minutes_ago, post

ARTICLE = {"key": "article-1", "url": "https://news.example.com/a", "title": "An article"}
THREAD = "/embed/demo?" + urlencode({**ARTICLE, "theme": "dark"})


def _register(client, **fields):
    path = "/auth/register?" + urlencode({"next": THREAD})
    return client.post("/auth/register", data={
        "csrf_token": form_csrf(client, path), "next": THREAD, **fields})


def test_registering_from_a_thread_answers_the_same_whether_or_not_the_address_is_taken(
        client, site):
    # Issue 12 (no email enumeration) decides over issue 13's "signed in at once": the account
    # is made when the mailed link is opened, so a taken address cannot be told from a new one.
    make_user("dave", email="taken@example.org")
    answers = [_register(client, username=name, email=email, password=PASSWORD)
               for name, email in (("carol", "carol@example.org"), ("erin", "taken@example.org"))]
    assert [a.status_code for a in answers] == [201, 201]
    assert all("Check your inbox" in a.get_data(as_text=True) for a in answers)
    assert db.session.query(User).filter_by(username="carol").one_or_none() is None


def _continue(client):
    return client.post("/auth/register/continue", data={
        "csrf_token": form_csrf(client, "/auth/login"), "next": THREAD})


def test_the_browser_that_signed_up_is_signed_in_once_the_mailed_link_is_opened(
        client, app, site, mailbox):
    mailbox.expect(1)
    assert _register(client, username="carol", email="carol@example.org",
                     password=PASSWORD).status_code == 201
    # Before the link: told to open it, still signed out.
    early = _continue(client)
    assert early.status_code == 200
    assert "not confirmed yet" in early.get_data(as_text=True)
    assert "Signed in as" not in client.get(THREAD).get_data(as_text=True)
    # The link, opened in another browser (the reader's mail app): the account is made.
    link = mailbox.link(mailbox.last_to("carol@example.org"), "/auth/verify/")
    other = app.test_client()
    ready = other.post(link, data={"csrf_token": form_csrf(other, link)})
    assert "Email address confirmed" in ready.get_data(as_text=True)
    assert "Your account is ready" in ready.get_data(as_text=True)
    assert "Go back to the page where you signed up" in ready.get_data(as_text=True)
    # Back in the browser that signed up: signed in and back at the discussion.
    back = _continue(client)
    assert back.status_code == 303
    assert back.headers["Location"] == THREAD
    assert "Signed in as" in client.get(THREAD).get_data(as_text=True)


def test_the_thread_page_offers_to_continue_and_one_claim_makes_one_session(
        client, app, site, mailbox):
    mailbox.expect(1)
    _register(client, username="carol", email="carol@example.org", password=PASSWORD)
    assert "Continue as carol" in client.get(THREAD).get_data(as_text=True)
    link = mailbox.link(mailbox.last_to("carol@example.org"), "/auth/verify/")
    other = app.test_client()
    other.post(link, data={"csrf_token": form_csrf(other, link)})
    assert "Continue as" not in other.get(THREAD).get_data(as_text=True)  # only that browser
    # The same cookie coming back twice (two tabs at once) signs in one session, not two.
    twin = app.test_client()
    twin.set_cookie("discuss_session", client.get_cookie("discuss_session").value)
    assert _continue(client).status_code == 303
    assert _continue(twin).status_code == 200
    assert db.session.query(AuthToken).count() == 1
    page = client.get(THREAD).get_data(as_text=True)
    assert "Signed in as" in page
    assert "Continue as" not in page


def test_signing_up_with_a_taken_address_never_signs_anyone_in(client, app, site, mailbox):
    make_user("dave", email="taken@example.org")
    mailbox.expect(1)
    _register(client, username="erin", email="taken@example.org", password=PASSWORD)
    held = client.get_cookie("discuss_session")
    assert held is not None  # a claim is kept either way: the cookie tells nothing
    assert "not confirmed yet" in _continue(client).get_data(as_text=True)
    assert "Signed in as" not in client.get(THREAD).get_data(as_text=True)


def test_a_read_with_the_dead_token_still_leaves_the_next_write_told_the_sign_in_ended(
        client, site):
    # The iframe's scripts may ask /me with the token after it died and forget it, while the
    # page still shows the reader signed in: their next comment must be a 401, not a guest's
    # "Please give a name".
    user = make_user("carol")
    token = api_login(client, "carol")  # bearer token and session cookie, as in the iframe
    accounts.end_all_sessions(user)
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    comment = {"site": "demo", "key": ARTICLE["key"], "url": ARTICLE["url"], "body": "Kept"}
    ended = client.post("/api/v1/comments", json=comment, headers=csrf_header(client))
    assert ended.status_code == 401
    assert ended.get_json()["error"]["message"] == (
        "Your sign-in has ended. Sign in again, or post as a guest.")
    # Told once: the dead session is gone, the next try is a guest's.
    again = client.post("/api/v1/comments", json={**comment, "name": "Carol"},
                        headers=csrf_header(client))
    assert again.status_code == 201


def test_registration_names_every_wrong_field_at_once_and_keeps_what_was_typed(client, site):
    make_user("carol")
    response = _register(client, username="carol", email="not-an-address",
                         password="short")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "That username is taken." in page
    assert re.search(r'id="f-email"[^>]*aria-invalid="true"', page.replace("\n", " "))
    assert "at least 10 characters" in page
    assert 'value="not-an-address"' in page
    assert 'value="carol"' in page
    assert "short" not in re.sub(r"<small.*?</small>", "", page)  # the password is not kept


def test_account_pages_opened_from_a_thread_wear_its_theme(client, site):
    for path in ("/auth/login", "/auth/register"):
        page = client.get(path + "?" + urlencode({"next": THREAD})).get_data(as_text=True)
        assert 'data-theme="dark"' in page, path
    assert 'data-theme="dark"' not in client.get("/auth/login").get_data(as_text=True)


def test_a_deep_link_opens_the_page_that_holds_the_comment(client, app, site):
    app.config["DISCUSS_PAGE_SIZE"] = 5
    thread = make_thread(site, "article-1")
    thread.url = ARTICLE["url"]
    made = [post(thread, f"Comment number {n}", now=minutes_ago(100 - n)) for n in range(14)]
    ids = [c.id for c in made]
    reply = post(thread, "A reply deep down", parent=made[12], now=minutes_ago(5)).id
    db.session.commit()
    plain = "/embed/demo?" + urlencode(ARTICLE)
    first = client.get(plain).get_data(as_text=True)
    assert "Comment number 12" not in first
    page = client.get(plain + f"&comment={reply}").get_data(as_text=True)
    assert f'id="comment-{reply}"' in page
    assert "Comment number 12" in page
    assert "Back to the first comments" in page
    # A comment on the first page leaves the first page as it is.
    again = client.get(plain + f"&comment={ids[1]}").get_data(as_text=True)
    assert "Comment number 0" in again
    assert "Back to the first comments" not in again
    # Ids that name nothing, or another thread's comment, give the first page.
    for bad in ("999999", "0", "abc", "9" * 40):
        assert client.get(plain + f"&comment={bad}").status_code == 200


def test_link_points_at_the_article_with_the_comment_anchor(client, site):
    thread = make_thread(site, "article-1")
    thread.url = ARTICLE["url"]
    comment_id = post(thread, "Link me").id
    db.session.commit()
    page = client.get("/embed/demo?" + urlencode(ARTICLE)).get_data(as_text=True)
    assert f'href="https://news.example.com/a#comment-{comment_id}"' in page


def test_the_favicon_is_served(client):
    # Every browser asks for it; a 404 was a console error on every page (issue 13).
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
