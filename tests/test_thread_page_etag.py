"""The thread page answers conditional requests: a reader who loads it again while nothing they
would see has changed gets a bodiless 304, from two light queries, whatever the thread's size."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from discuss import accounts, comments, moderation, sites, votes
from discuss.extensions import db
from discuss.models import Site, utcnow
from discuss.permissions import Actor
from discuss.web import embed
from discuss.web.infra.caching import PAGE_ASSETS
from tests.conftest import guest, make_thread, post

ARTICLE = {"key": "article-1", "url": "https://news.example.com/a", "title": "An article"}
PAGE = "/embed/demo?" + urlencode(ARTICLE)
PASSWORD = "tangerine-violin-88-orbit"


@pytest.fixture
def site(app) -> Site:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site.min_submit_seconds = 0  # these tests submit forms at once
    db.session.commit()
    return site


@pytest.fixture(autouse=True)
def one_minute(monkeypatch) -> None:
    """Pages are tagged per minute: each test stays in the minute it began in (a test that
    needs another minute sets its own clock), so none fails for crossing a minute."""
    now = utcnow()
    monkeypatch.setattr(embed, "utcnow", lambda: now)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def returning(client: FlaskClient, url: str = PAGE, **headers: str):
    """The page as a browser that has been here before gets it (its session cookie holds a
    CSRF token): the first answers set that cookie, from then on the page is tagged."""
    for _ in range(3):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        if "ETag" in response.headers:
            return response
    raise AssertionError("the page never got an ETag")


def again(client: FlaskClient, first, url: str = PAGE, **headers: str):
    return client.get(url, headers={"If-None-Match": first.headers["ETag"], **headers})


def vary_of(response) -> set[str]:
    return {name.strip().lower() for name in response.headers.get("Vary", "").split(",")}


def test_the_page_again_unchanged_is_a_304_without_a_body(client, site):
    post(make_thread(site), "Hello there")
    db.session.commit()
    first = returning(client)
    assert first.headers["ETag"].startswith('W/"')
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert {"cookie", "authorization", "x-discuss-guest"} <= vary_of(first)

    unchanged = again(client, first)

    assert unchanged.status_code == 304
    assert unchanged.data == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    assert unchanged.headers["Cache-Control"] == "private, no-cache"
    assert {"cookie", "authorization", "x-discuss-guest", "accept-encoding"} <= vary_of(unchanged)
    assert "frame-ancestors https://news.example.com" in \
        unchanged.headers["Content-Security-Policy"]


def test_a_first_visit_sets_the_session_cookie_and_is_never_tagged_or_304(client, site):
    # Its page holds the CSRF token of a session the browser does not have yet.
    response = client.get(PAGE, headers={"If-None-Match": "*"})
    assert response.status_code == 200
    assert "discuss_session=" in response.headers.get("Set-Cookie", "")
    assert "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_second_visit_is_tagged_and_a_third_is_a_304(client, site):
    post(make_thread(site), "Hello there")
    db.session.commit()
    assert "ETag" not in client.get(PAGE).headers  # the first visit stores the session

    second = client.get(PAGE)
    assert "Set-Cookie" not in second.headers
    assert second.headers["ETag"].startswith('W/"')
    assert again(client, second).status_code == 304


def test_a_thread_that_does_not_exist_yet_is_tagged_until_its_first_comment(client, site):
    first = returning(client)
    assert "No comments yet" in html_of(first)
    assert again(client, first).status_code == 304

    post(make_thread(site), "The first comment")
    db.session.commit()
    changed = again(client, first)
    assert changed.status_code == 200
    assert "The first comment" in html_of(changed)


def _new_comment(thread, comment) -> str:
    post(thread, "A new comment arrives")
    return "A new comment arrives"


def _vote(thread, comment) -> str:
    voter = accounts.create_user("dave", "dave@example.com", PASSWORD)
    votes.vote(comment, Actor(user=voter), 1)
    return 'aria-label="Score 1">1</span>'


def _edit(thread, comment) -> str:
    comments.edit_comment(comment, guest(), "Edited: better words")
    return "Edited: better words"


def _close(thread, comment) -> str:
    admin = accounts.create_user("admin", "admin@example.com", PASSWORD, is_admin=True)
    moderation.set_thread_closed(thread, Actor(user=admin), True)
    return "This discussion is closed."


def _guests_not_allowed(thread, comment) -> str:
    thread.site.allow_guests = False
    return "to join the discussion."


@pytest.mark.parametrize("change", [_new_comment, _vote, _edit, _close, _guests_not_allowed])
def test_any_change_to_the_thread_or_site_gives_the_new_page(
        client, site, change: Callable[..., str]):
    thread = make_thread(site)
    comment = post(thread, "An opinion")
    db.session.commit()
    first = returning(client)

    shown = change(thread, comment)
    db.session.commit()
    changed = again(client, first)

    assert changed.status_code == 200
    assert shown in html_of(changed)
    assert shown not in html_of(first)
    assert changed.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize(("query", "shown"), [
    ({"sort": "newest"}, 'sort=newest" aria-current="true">Newest'),
    ({"theme": "dark"}, 'data-theme="dark"'),
    ({"lang": "de"}, 'lang="de"'),
    ({"reply": "{id}"}, 'id="reply-{id}"'),
    ({"posted": "{id}"}, ""),
])
def test_another_listing_or_form_of_the_page_has_its_own_tag(client, site, query, shown):
    comment = post(make_thread(site), "An opinion")
    db.session.commit()
    first = returning(client)
    values = {name: value.format(id=comment.id) for name, value in query.items()}

    other = again(client, first, PAGE + "&" + urlencode(values))

    assert other.status_code == 200
    assert shown.format(id=comment.id) in html_of(other)
    assert other.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize("app_settings", [{"DISCUSS_PAGE_SIZE": 2}])
def test_the_next_page_of_comments_has_its_own_tag(client, site):
    thread = make_thread(site)
    for n in range(3):
        post(thread, f"Comment {n}")
    db.session.commit()
    first = returning(client)
    more = re.search(r'<a class="discuss-more" href="([^"]+)"', html_of(first))
    assert more

    next_page = again(client, first, more.group(1).replace("&amp;", "&"))

    assert next_page.status_code == 200
    assert "Comment 2" in html_of(next_page)


def test_another_viewer_gets_their_own_page(client, app, site):
    mine = post(make_thread(site), "My own words", actor=guest("k" * 40))
    db.session.commit()
    first = returning(client)
    assert "discuss-delete" not in html_of(first)

    as_author = again(client, first, **{"X-Discuss-Guest": "k" * 40})
    assert as_author.status_code == 200
    assert f'data-comment-id="{mine.id}"' in html_of(as_author)
    assert "discuss-delete" in html_of(as_author)  # their own comment, theirs to delete

    accounts.create_user("carol", "carol@example.com", PASSWORD)
    db.session.commit()
    token = app.test_client().post("/api/v1/auth/login",
                                   json={"login": "carol", "password": PASSWORD}
                                   ).get_json()["token"]
    signed_in = again(client, first, Authorization=f"Bearer {token}")
    assert signed_in.status_code == 200
    assert "Signed in as <strong>carol</strong>" in html_of(signed_in)


def test_a_changed_session_gives_the_new_page(client, site):
    first = returning(client)
    with client.session_transaction() as session:
        session[embed.SESSION_NAME] = "Alice"  # remembered after a comment without JavaScript

    changed = again(client, first)

    assert changed.status_code == 200
    assert 'value="Alice"' in html_of(changed)
    assert again(client, changed).status_code == 304


def test_a_guest_who_posted_with_the_form_sees_their_remembered_name(client, site):
    first = returning(client)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html_of(first)).group(1)
    posted = client.post("/embed/demo/comments",
                         data={"csrf_token": token, **ARTICLE, "body": "Hi", "name": "Alice"})
    assert posted.status_code == 303

    back = again(client, first)

    assert back.status_code == 200
    assert 'value="Alice"' in html_of(back)


def test_a_reader_remembered_for_30_days_is_revalidated_too(client, site):
    # Their cookie is signed again on every answer; the session in it stays the same.
    accounts.create_user("carol", "carol@example.com", PASSWORD)
    db.session.commit()
    page = html_of(client.get("/auth/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"login": "carol", "password": PASSWORD,
                                     "remember": "1", "csrf_token": token})
    first = returning(client)
    assert "Signed in as <strong>carol</strong>" in html_of(first)

    assert again(client, first).status_code == 304


def test_the_next_minute_gives_the_page_again(client, site, monkeypatch):
    post(make_thread(site), "Fresh off the press")
    db.session.commit()
    first = returning(client)
    assert "just now" in html_of(first)

    later = utcnow() + timedelta(minutes=2)
    monkeypatch.setattr(embed, "utcnow", lambda: later)
    changed = again(client, first)

    assert changed.status_code == 200
    assert "2 minutes ago" in html_of(changed)
    assert again(client, changed).status_code == 304


def test_pages_that_show_a_message_are_never_tagged(client, site):
    first = returning(client)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html_of(first)).group(1)

    refused = client.post("/embed/demo/comments",
                          data={"csrf_token": token, **ARTICLE, "body": "", "name": "Alice"},
                          headers={"If-None-Match": first.headers["ETag"]})
    unknown_site = client.get("/embed/nowhere?key=a", headers={"If-None-Match": "*"})
    bad_key = client.get("/embed/demo?key=", headers={"If-None-Match": "*"})

    assert refused.status_code == 400
    assert "The comment is empty." in html_of(refused)
    assert refused.headers["Cache-Control"] == "private, no-store"
    for response in (refused, unknown_site, bad_key):
        assert response.status_code >= 400
        assert "ETag" not in response.headers


def test_the_tag_names_every_script_and_stylesheet_the_page_links(client, site):
    accounts.create_user("carol", "carol@example.com", PASSWORD)
    db.session.commit()
    client.post("/api/v1/auth/login", json={"login": "carol", "password": PASSWORD})
    page = html_of(returning(client))
    linked = set(re.findall(r"/static/([\w.-]+)\?v=", page))
    assert linked
    assert linked <= set(PAGE_ASSETS)


def test_a_304_costs_two_queries_in_a_small_and_a_big_thread(client, site, count_queries):
    small, big = make_thread(site, "small"), make_thread(site, "big")
    for n in range(300):
        post(big, f"Comment {n}")
    for n in range(10):
        post(small, f"Small comment {n}")
    db.session.commit()
    counts = []
    for key in ("small", "big"):
        url = "/embed/demo?key=" + key
        first = returning(client, url)
        with count_queries() as queries:
            assert again(client, first, url).status_code == 304
        counts.append(queries.count)
    assert counts[0] == counts[1] <= 2, counts
