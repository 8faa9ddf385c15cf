"""What a publisher, a reader and a moderator stumbled on first (issue 13), as requests:
registration inside the thread, deep links past the first page, the account pages' theme."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from discuss.extensions import db
from discuss.models import User
from tests.accounts_helpers import PASSWORD, form_csrf, make_user
from tests.conftest import make_thread, minutes_ago, post

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
