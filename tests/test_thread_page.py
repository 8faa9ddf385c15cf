"""The discussion page inside the iframe: reading it, and posting without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from discuss import accounts, comments, sites
from discuss.extensions import db
from discuss.models import Comment, ModerationPolicy, Site, Thread, utcnow
from discuss.permissions import Actor
from tests.conftest import guest, make_thread, post

ARTICLE = {"key": "article-1", "url": "https://news.example.com/a", "title": "An article"}
PAGE = "/embed/demo?" + urlencode(ARTICLE)


@pytest.fixture
def site(app) -> Site:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site.min_submit_seconds = 0  # these tests submit forms at once
    db.session.commit()
    return site


def html_of(response) -> str:
    return response.get_data(as_text=True)


def csrf_of(page: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match
    return match.group(1)


def submit(client, action: str, fields: dict, page_url: str = PAGE):
    """What a browser without JavaScript does: load the page, then post its form."""
    token = csrf_of(html_of(client.get(page_url)))
    data = {"csrf_token": token, **ARTICLE, **fields}
    return client.post(action, data=data)


def comment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Comment))


def item_classes(page: str) -> dict[int, str]:
    """comment id → class attribute of its <li>."""
    return {int(i): c for i, c in re.findall(r'<li id="comment-(\d+)" class="([^"]+)"', page)}


# ---------------------------------------------------------------- reading


def test_page_shows_replies_nested_and_stops_indenting_after_four_levels(client, site):
    thread = make_thread(site)
    chain = [post(thread, "Top comment", name="Alice")]
    for depth in range(1, 7):
        chain.append(post(thread, f"Reply at depth {depth}", parent=chain[-1],
                          name=f"Reader{depth}"))
    db.session.commit()

    page = html_of(client.get(PAGE))

    classes = item_classes(page)
    assert [c.id for c in chain] == list(classes)  # every comment, in thread order
    for depth, comment in enumerate(chain):
        flat = "discuss-item-flat" in classes[comment.id]
        assert flat == (depth > 4)
    # Four nested reply lists at most; deeper replies say whom they answer.
    assert page.count('<ol class="discuss-replies">') == 4
    assert "↪ reply to Reader4" in page
    assert "↪ reply to Reader5" in page
    assert "↪ reply to Reader3" not in page
    assert "Reply at depth 6" in page


def test_thread_that_does_not_exist_yet_invites_the_first_comment_without_creating_it(
        client, site):
    response = client.get("/embed/demo?key=new-article&url=https://news.example.com/new")
    assert response.status_code == 200
    page = html_of(response)
    assert "No comments yet — start the discussion" in page
    assert 'id="discuss-form-new"' in page
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 0


def test_sort_links_keep_the_article_and_mark_the_current_order(client, site):
    page = html_of(client.get(PAGE + "&sort=newest"))
    assert re.search(r'<a href="[^"]*sort=newest"[^>]*aria-current="true">Newest</a>', page)
    assert re.search(r'<a href="[^"]*key=article-1[^"]*sort=top">Top</a>', page)


@pytest.mark.parametrize("app_settings", [{"DISCUSS_PAGE_SIZE": 2}])
def test_long_threads_are_paged_with_a_show_more_link(client, site):
    thread = make_thread(site)
    first, *_ = (post(thread, f"Comment {n}") for n in range(3))
    post(thread, "Reply to the first", parent=first)
    db.session.commit()

    page = html_of(client.get(PAGE))
    assert "Comment 0" in page
    assert "Reply to the first" in page
    assert "Comment 1" in page
    assert "Comment 2" not in page
    more = re.search(r'<a class="discuss-more" href="([^"]+)"', page)
    assert more
    next_page = html_of(client.get(more.group(1).replace("&amp;", "&")))
    assert "Comment 2" in next_page
    assert "Comment 0" not in next_page
    assert "discuss-more" not in next_page


def test_deleted_comment_with_replies_stays_as_a_placeholder(client, site):
    thread = make_thread(site)
    parent = post(thread, "Soon gone", name="Vanishing")
    post(thread, "An answer", parent=parent, name="Bob")
    comments.set_status(parent, comments.Status.DELETED)
    db.session.commit()

    page = html_of(client.get(PAGE))
    assert "This comment was deleted." in page
    assert "Soon gone" not in page
    assert "Vanishing" not in page
    assert "An answer" in page


def test_times_are_relative_with_the_exact_utc_time_on_hover(client, site):
    thread = make_thread(site)
    post(thread, "Earlier", now=utcnow() - timedelta(hours=3, minutes=5))
    db.session.commit()
    page = html_of(client.get(PAGE))
    assert re.search(r'<time datetime="[\d\-T:.]+Z" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC"\s+'
                     r'data-discuss-time>3 hours ago</time>', page)


def test_signed_in_reader_sees_their_name_and_may_vote_on_others(client, site, app):
    user = accounts.create_user("carol", "carol@example.com", "tangerine-violin-88-orbit")
    thread = make_thread(site)
    other = post(thread, "Someone else's")
    post(thread, "Carol's own", actor=Actor(user=user))
    db.session.commit()
    signed_in = client.post("/api/v1/auth/login",
                            json={"login": "carol", "password": "tangerine-violin-88-orbit"})
    assert signed_in.status_code == 200
    page = html_of(client.get(PAGE))  # the session cookie, as without JavaScript
    assert "Signed in as <strong>carol</strong>" in page
    assert f'class="discuss-vote" data-comment-id="{other.id}" data-value="1"' in page
    assert "discuss-name-new" not in page  # no guest fields for an account
    bearer = {"Authorization": "Bearer " + signed_in.get_json()["token"]}
    assert "Signed in as" in html_of(app.test_client().get(PAGE, headers=bearer))


# ---------------------------------------------------------------- posting without JavaScript


def test_guest_posts_a_comment_without_javascript(client, site):
    response = submit(client, "/embed/demo/comments",
                      {"body": "First!", "name": "Alice", "email": "alice@example.com"})

    assert response.status_code == 303
    comment = db.session.scalars(select(Comment)).one()
    assert response.headers["Location"].endswith(f"#comment-{comment.id}")
    assert response.headers["X-Discuss-Guest-Key"]
    assert "discuss_guest=" in response.headers.get("Set-Cookie", "")
    page = html_of(client.get(response.headers["Location"]))
    assert "<p>First!</p>" in page
    assert 'value="Alice"' in page  # name remembered for the next comment
    assert 'value="alice@example.com"' in page
    assert "alice@example.com" not in page.split('id="discuss-comments"')[1]  # never shown
    assert db.session.get(Thread, comment.thread_id).url == ARTICLE["url"]


def test_guest_replies_through_the_reply_link_without_javascript(client, site):
    thread = make_thread(site)
    parent = post(thread, "Question?", name="Alice")
    db.session.commit()

    page = html_of(client.get(PAGE + f"&reply={parent.id}"))
    assert f'id="reply-{parent.id}"' in page
    assert f'<input type="hidden" name="parent_id" value="{parent.id}">' in page

    response = submit(client, "/embed/demo/comments",
                      {"body": "Answer.", "name": "Bob", "parent_id": str(parent.id)})
    assert response.status_code == 303
    reply = db.session.scalars(select(Comment).where(Comment.parent_id == parent.id)).one()
    assert reply.body == "Answer."


def test_pending_comment_shows_to_its_author_only(client, app, site):
    site.moderation = ModerationPolicy.PRE
    db.session.commit()
    response = submit(client, "/embed/demo/comments", {"body": "Held back", "name": "Ann"})
    assert response.status_code == 303

    own = html_of(client.get(response.headers["Location"]))
    assert "Held back" in own
    assert "Awaiting moderation" in own

    stranger = html_of(app.test_client().get(PAGE))
    assert "Held back" not in stranger
    assert "Awaiting moderation" not in stranger


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": "   ", "name": "Alice"}, "The comment is empty."),
        ({"body": "x" * 10_001, "name": "Alice"}, "The comment is longer than 10,000 characters."),
        ({"body": "Kept text", "name": ""}, "Please give a name."),
    ],
)
def test_refused_form_shows_the_message_and_keeps_what_was_typed(client, site, fields, message):
    response = submit(client, "/embed/demo/comments", fields)

    assert response.status_code == 400
    page = html_of(response)
    assert message in page
    assert 'role="alert" id="discuss-error-new">' in page
    typed = fields["body"]
    assert f">{typed}</textarea>" in page
    assert comment_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 0


def test_guest_edits_their_comment_within_the_window(client, site):
    submit(client, "/embed/demo/comments", {"body": "Typo hre", "name": "Alice"})
    comment = db.session.scalars(select(Comment)).one()

    page = html_of(client.get(PAGE + f"&edit={comment.id}"))
    assert "Edit your comment" in page
    assert ">Typo hre</textarea>" in page

    response = submit(client, f"/embed/demo/comments/{comment.id}/edit", {"body": "Typo here"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#comment-{comment.id}")
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "Typo here"
    assert "(edited)" in html_of(client.get(PAGE))


def test_another_browser_cannot_edit_or_delete_a_guest_comment(client, app, site):
    submit(client, "/embed/demo/comments", {"body": "Mine", "name": "Alice"})
    comment = db.session.scalars(select(Comment)).one()
    other = app.test_client()

    page = html_of(other.get(PAGE))
    assert "discuss-edit-link" not in page
    assert "discuss-delete" not in page
    response = submit(other, f"/embed/demo/comments/{comment.id}/edit", {"body": "Hijacked"})
    assert response.status_code == 403
    assert "You cannot edit this comment." in html_of(response)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "Mine"


def test_edit_and_delete_are_refused_after_the_window(client, site):
    submit(client, "/embed/demo/comments", {"body": "Old words", "name": "Alice"})
    comment = db.session.scalars(select(Comment)).one()
    comment.created_at = utcnow() - timedelta(minutes=16)
    db.session.commit()

    page = html_of(client.get(PAGE))
    assert "discuss-edit-link" not in page
    assert "discuss-delete" not in page

    response = submit(client, f"/embed/demo/comments/{comment.id}/edit", {"body": "New words"})
    assert response.status_code == 403
    assert "The time to edit this comment has passed." in html_of(response)
    response = submit(client, f"/embed/demo/comments/{comment.id}/delete", {})
    assert response.status_code == 403
    assert "The time to delete this comment has passed." in html_of(response)
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.body == "Old words"
    assert comment.status == "approved"


def test_guest_deletes_their_comment_within_the_window(client, site):
    submit(client, "/embed/demo/comments", {"body": "Regret this", "name": "Alice"})
    comment = db.session.scalars(select(Comment)).one()

    response = submit(client, f"/embed/demo/comments/{comment.id}/delete", {})
    assert response.status_code == 303
    assert "Regret this" not in html_of(client.get(PAGE))
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == "deleted"


def test_closed_thread_shows_a_notice_and_refuses_new_comments(client, site):
    thread = make_thread(site)
    post(thread, "Last word")
    thread.closed = True
    db.session.commit()

    page = html_of(client.get(PAGE))
    assert "This discussion is closed." in page
    assert "<form" not in page
    assert "discuss-reply-link" not in page

    response = submit(client, "/embed/demo/comments", {"body": "Too late", "name": "Alice"})
    assert response.status_code == 403
    assert "This discussion is closed." in html_of(response)
    assert comment_count() == 1


def test_site_without_guests_asks_guests_to_sign_in(client, site):
    site.allow_guests = False
    db.session.commit()
    page = html_of(client.get(PAGE))
    assert 'id="discuss-form-new"' not in page

    response = submit(client, "/embed/demo/comments", {"body": "Let me in", "name": "Alice"})
    assert response.status_code == 403
    assert "Sign in to comment on this site." in html_of(response)
    assert comment_count() == 0


def test_form_without_csrf_token_is_refused(client, site):
    client.get(PAGE)  # has a session cookie now
    response = client.post("/embed/demo/comments", data={**ARTICLE, "body": "x", "name": "A"})
    assert response.status_code == 400
    assert "The form expired" in html_of(response)
    # An error page has no actions: it may show in the frame even before the site is known.
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors http: https:")
    assert comment_count() == 0


# ---------------------------------------------------------------- JavaScript's fragment


def test_fragment_renders_one_comment_for_its_viewer(client, app, site):
    site.moderation = ModerationPolicy.PRE
    db.session.commit()
    submit(client, "/embed/demo/comments", {"body": "Held *back*", "name": "Ann"})
    comment = db.session.scalars(select(Comment)).one()
    url = f"/embed/demo/comments/{comment.id}/fragment?" + urlencode(ARTICLE)

    response = client.get(url)
    assert response.status_code == 200
    fragment = html_of(response)
    assert fragment.lstrip().startswith(f'<li id="comment-{comment.id}"')
    assert "<em>back</em>" in fragment
    assert "Awaiting moderation" in fragment
    assert "<html" not in fragment

    edit = html_of(client.get(url + "&edit=1"))
    assert ">Held *back*</textarea>" in edit
    assert app.test_client().get(url).status_code == 404


# ---------------------------------------------------------------- refusals and framing


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/embed/nowhere?key=a", 404, "No such site."),
        ("/embed/demo?key=" + "k" * 513, 400, "The thread key is longer than 512 characters."),
        ("/embed/demo?key=a&url=https://evil.example/a", 403,
         "This article&#39;s URL is not on an origin the site allows."),
        ("/embed/demo", 400, "The thread key is missing."),
    ],
)
def test_bad_embed_requests_get_a_clear_error_page(client, site, url, status, message):
    response = client.get(url)
    assert response.status_code == status
    assert message in html_of(response)
    assert 'class="discuss-page discuss-error"' in html_of(response)


def test_only_the_sites_origins_may_frame_the_page(client, site):
    response = client.get(PAGE)
    assert response.headers["Content-Security-Policy"].endswith(
        "frame-ancestors https://news.example.com")
    assert "X-Frame-Options" not in response.headers

    elsewhere = client.get("/api/v1/openapi.json")
    assert elsewhere.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
    assert elsewhere.headers["X-Frame-Options"] == "DENY"


def test_a_site_without_origins_may_be_framed_by_any_web_page(client, site):
    sites.create_site("open")
    db.session.commit()
    response = client.get("/embed/open?key=a&url=https://anywhere.example/x")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors http: https:")


# ---------------------------------------------------------------- safety and speed


def test_nothing_a_reader_typed_runs_on_the_page(client, site):
    submit(client, "/embed/demo/comments", {
        "body": "<script>alert(1)</script> and <img src=x onerror=alert(2)>",
        "name": "<script>alert(1)</script>",
    })
    hostile_title = {**ARTICLE, "title": '"><script>alert(3)</script>'}
    page = html_of(client.get("/embed/demo?" + urlencode(hostile_title)))

    assert "<script>alert" not in page
    assert re.search(r"<img[^>]*onerror", page) is None
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # the body's HTML, shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the name, shown as text
    assert '"><script>' not in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js\?v=[0-9a-f]+" defer>', s)
               for s in scripts)


def _thread_of(site: Site, n: int) -> None:
    thread = make_thread(site)
    user = accounts.create_user(f"user{n}", f"user{n}@example.com", "tangerine-violin-88-orbit")
    roots: list[Comment] = []
    for i in range(n):
        actor = Actor(user=user) if i % 3 == 0 else guest(key=f"{'k' * 39}{i % 7}")
        parent = roots[i % len(roots)] if roots and i % 2 else None
        comment = post(thread, f"Comment {i}", actor=actor, parent=parent, name=f"Guest {i}")
        if parent is None:
            roots.append(comment)
    db.session.commit()


@pytest.mark.parametrize("app_settings", [{"DISCUSS_PAGE_SIZE": 500}])
def test_page_query_count_does_not_grow_with_the_thread(app, site, count_queries):
    _thread_of(site, 5)
    small_client = app.test_client()
    small_client.get(PAGE)
    with count_queries() as small:
        assert small_client.get(PAGE).status_code == 200

    db.session.execute(Comment.__table__.delete())
    db.session.execute(Thread.__table__.delete())
    db.session.commit()
    _thread_of(site, 200)
    big_client = app.test_client()
    big_client.get(PAGE)
    with count_queries() as big:
        page = html_of(big_client.get(PAGE))
    assert "Comment 199" in page
    assert small.count >= 4  # site, thread, roots, subtrees
    assert big.count == small.count
