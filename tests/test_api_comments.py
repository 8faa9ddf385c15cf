"""The JSON API for threads, comments and counts, as an integrator and a guest use it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from discuss import comments, reading, threads
from discuss.extensions import db
from discuss.models import Comment, Status, Thread, utcnow
from tests.conftest import csrf_header, guest, make_thread, post
from tests.test_rendering import HOSTILE, assert_only_allowed

URL = "https://news.example.com/2016/jj-s2"


@pytest.fixture
def app_settings():
    # These tests post many comments quickly from one address; limits are tested elsewhere.
    return {"DISCUSS_RATELIMIT_ENABLED": False}


def new_comment(client, body="Hello there", **extra):
    payload = {"site": "demo", "key": "jj-s2", "url": URL, "title": "JJ", "body": body,
               "name": "Jessica"}
    payload.update(extra)
    headers = csrf_header(client) if client._cookies else {}
    return client.post("/api/v1/comments", json=payload, headers=headers)


def thread_json(client, **params):
    query = {"site": "demo", "key": "jj-s2", **params}
    return client.get("/api/v1/threads", query_string=query)


def test_guest_posts_and_reads_back_a_thread(client, site):
    response = new_comment(client, "Do you think *Jessica* will appear?", notify=True)
    assert response.status_code == 201
    created = response.get_json()
    assert created["status"] == "approved"
    assert created["html"] == "<p>Do you think <em>Jessica</em> will appear?</p>"
    assert created["author"]["name"] == "Jessica"
    assert created["author"]["username"] is None
    assert created["author"]["avatar_url"].startswith("/avatars/")
    assert created["created_at"].endswith("Z")

    data = thread_json(client).get_json()
    assert data["thread"] == {"key": "jj-s2", "url": URL, "title": "JJ", "closed": False,
                              "comment_count": 1}
    assert [c["id"] for c in data["comments"]] == [created["id"]]
    assert data["next_cursor"] is None


def test_email_is_never_shown(client, site):
    new_comment(client, email="jessica@example.com")
    page = thread_json(client).get_data(as_text=True)
    assert "jessica@example.com" not in page


def test_replies_nest_oldest_first_under_their_parent(client, site):
    top = new_comment(client, "top").get_json()
    first = new_comment(client, "first reply", parent_id=top["id"]).get_json()
    new_comment(client, "second reply", parent_id=top["id"])
    new_comment(client, "reply to reply", parent_id=first["id"])
    tree = thread_json(client).get_json()["comments"]
    assert len(tree) == 1
    replies = tree[0]["replies"]
    assert [r["html"] for r in replies] == ["<p>first reply</p>", "<p>second reply</p>"]
    assert replies[0]["replies"][0]["html"] == "<p>reply to reply</p>"


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"body": ""}, 400, "body"),
        ({"body": "   \n\t "}, 400, "body"),
        ({"body": "x" * 10_001}, 400, "body"),
        ({"body": 42}, 400, "body"),
        ({"body": None}, 400, "body"),
        ({"body": ["a"]}, 400, "body"),
        ({"key": "k" * 513}, 400, "key"),
        ({"key": ""}, 400, "key"),
        ({"key": 7}, 400, "key"),
        ({"name": ""}, 400, "name"),
        ({"name": "n" * 65}, 400, "name"),
        ({"name": {"a": 1}}, 400, "name"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"email": 5}, 400, "email"),
        ({"parent_id": "1"}, 400, "parent_id"),
        ({"parent_id": True}, 400, "parent_id"),
        ({"parent_id": 999999}, 400, "parent_id"),
        ({"notify": "yes"}, 400, "notify"),
        ({"url": "javascript:alert(1)"}, 400, "url"),
        ({"url": "https://evil.example/page"}, 403, "url"),
        ({"title": "t" * 301}, 400, "title"),
    ],
)
def test_bad_comment_input_gets_a_clear_error_and_writes_nothing(client, site, payload,
                                                                  status, field):
    response = new_comment(client, **payload)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["message"]
    assert field in error.get("fields", {})
    assert db.session.query(Comment).count() == 0
    assert db.session.query(Thread).count() == 0


def test_unknown_site_is_404_and_creates_nothing(client, site):
    response = new_comment(client, site="nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_site"
    assert db.session.query(Thread).count() == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"text"', "application/json"),
        ("null", "application/json"),
        ("body=hello", "application/x-www-form-urlencoded"),
        ("\xff\xfe", "application/json"),
    ],
)
def test_malformed_json_is_a_400(client, site, data, content_type):
    response = client.post("/api/v1/comments", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid"


def test_oversized_request_is_a_413(client, site):
    response = new_comment(client, body="x" * 300_000)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_parent_in_another_thread_is_refused(client, site):
    other = new_comment(client, "elsewhere", key="other-article").get_json()
    response = new_comment(client, "reply", parent_id=other["id"])
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["parent_id"] == "not_in_thread"


def test_closed_thread_refuses_comments(client, site):
    new_comment(client)
    thread = threads.get_thread(site, "jj-s2")
    thread.closed = True
    db.session.commit()
    response = new_comment(client, "late")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "thread_closed"
    assert db.session.query(Comment).count() == 1


def test_unknown_thread_and_api_paths_answer_json_404(client, site):
    assert thread_json(client, key="missing").status_code == 404
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_endpoint"
    assert client.put("/api/v1/comments").status_code in (404, 405)


def test_wrong_method_answers_json_405(client, site):
    response = client.put("/api/v1/counts")
    assert response.status_code in (404, 405)
    assert "error" in response.get_json()


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_bodies_are_stored_and_served_inert(client, site, source):
    response = new_comment(client, source)
    assert response.status_code == 201
    stored = db.session.get(Comment, response.get_json()["id"])
    assert stored.body == comments.check_body(source)
    assert_only_allowed(stored.html)
    assert_only_allowed(response.get_json()["html"])


def test_hostile_guest_name_and_title_come_back_as_plain_text(client, site):
    response = new_comment(client, name="<script>alert(1)</script>",
                           title="<img src=x onerror=alert(1)>")
    assert response.status_code == 201
    assert response.get_json()["author"]["name"] == "<script>alert(1)</script>"
    assert response.mimetype == "application/json"


# ---------------------------------------------------------------- ownership


def test_guest_edits_and_deletes_own_comment_from_the_same_browser(client, site):
    created = new_comment(client, "typo").get_json()
    response = client.patch(f"/api/v1/comments/{created['id']}", json={"body": "fixed"},
                            headers=_csrf(client))
    assert response.status_code == 200
    assert response.get_json()["html"] == "<p>fixed</p>"
    assert response.get_json()["edited_at"] is not None
    assert client.delete(f"/api/v1/comments/{created['id']}",
                         headers=_csrf(client)).status_code == 204
    assert thread_json(client).get_json()["comments"] == []
    assert thread_json(client).get_json()["thread"]["comment_count"] == 0


def _csrf(client) -> dict:
    return csrf_header(client)


def test_guest_key_header_works_without_cookies(app, site):
    """Inside an iframe whose cookies are blocked, the guest key travels in a header."""
    first = app.test_client(use_cookies=False)
    response = new_comment(first, "no cookies here")
    key = response.headers["X-Discuss-Guest-Key"]
    comment_id = response.get_json()["id"]
    other = app.test_client(use_cookies=False)
    assert other.patch(f"/api/v1/comments/{comment_id}", json={"body": "hijack"}).status_code \
        == 403
    edited = other.patch(f"/api/v1/comments/{comment_id}", json={"body": "mine"},
                         headers={"X-Discuss-Guest": key})
    assert edited.status_code == 200


def test_another_browser_cannot_edit_or_delete(app, client, site):
    created = new_comment(client, "mine").get_json()
    stranger = app.test_client()
    assert stranger.patch(f"/api/v1/comments/{created['id']}", json={"body": "x"}).status_code \
        == 403
    assert stranger.delete(f"/api/v1/comments/{created['id']}").status_code == 403


def test_edit_after_the_window_is_refused(site):
    thread = make_thread(site)
    author = guest()
    comment = post(thread, "old", actor=author, now=utcnow() - timedelta(minutes=16))
    with pytest.raises(comments.Forbidden) as caught:
        comments.edit_comment(comment, author, "new")
    assert caught.value.code == "edit_window_passed"
    comments.edit_comment(comment, author, "new", now=comment.created_at + timedelta(minutes=14))
    assert comment.body == "new"


def test_cross_site_form_post_with_a_cookie_needs_the_csrf_token(client, site):
    new_comment(client, "first")  # the browser now holds a guest cookie
    response = client.patch("/api/v1/comments/1", json={"body": "forged"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf"


# ---------------------------------------------------------------- statuses and visibility


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("pre", "pending"), ("post", "approved"), ("first", "pending")],
)
def test_site_policy_decides_a_new_guest_comment_status(client, site, policy, expected):
    site.moderation = policy
    db.session.commit()
    assert new_comment(client).get_json()["status"] == expected


def test_pending_comment_is_shown_to_its_author_only(app, client, site):
    site.moderation = "pre"
    db.session.commit()
    new_comment(client, "waiting")
    mine = thread_json(client).get_json()
    assert [c["status"] for c in mine["comments"]] == ["pending"]
    assert mine["thread"]["comment_count"] == 0
    assert thread_json(app.test_client()).get_json()["comments"] == []


def test_deleted_comment_with_replies_stays_as_placeholder(site):
    thread = make_thread(site)
    author = guest("a" * 40)
    top = post(thread, "top", actor=author)
    post(thread, "reply", actor=guest("b" * 40), parent=top)
    comments.delete_comment(top, author)
    page = reading.load_thread_page(thread, guest("c" * 40), secret="s")
    assert page.nodes[0].placeholder is True
    assert [n.comment.body for n in page.nodes[0].replies] == ["reply"]
    assert thread.comment_count == 1


def test_deleted_comment_without_replies_disappears(site):
    thread = make_thread(site)
    author = guest()
    top = post(thread, "top", actor=author)
    comments.delete_comment(top, author)
    assert reading.load_thread_page(thread, guest("z" * 40), secret="s").nodes == []


def test_count_stays_exact_through_every_status_change(site):
    thread = make_thread(site)
    comment = post(thread)
    assert thread.comment_count == 1
    for status, count in [(Status.SPAM, 0), (Status.APPROVED, 1), (Status.REJECTED, 0),
                          (Status.PENDING, 0), (Status.APPROVED, 1), (Status.APPROVED, 1),
                          (Status.DELETED, 0)]:
        comments.set_status(comment, status)
        db.session.flush()
        db.session.refresh(thread)
        assert thread.comment_count == count


# ---------------------------------------------------------------- sorting and paging


def test_sorts_oldest_newest_and_top(site, client):
    thread = make_thread(site, "jj-s2")
    now = utcnow()
    a = post(thread, "a", now=now - timedelta(minutes=3))
    b = post(thread, "b", now=now - timedelta(minutes=2))
    c = post(thread, "c", now=now - timedelta(minutes=1))
    a.rank, b.rank, c.rank = 0.2, 0.9, 0.5
    db.session.commit()
    ids = {s: [x["id"] for x in thread_json(client, sort=s).get_json()["comments"]]
           for s in ("oldest", "newest", "top")}
    assert ids == {"oldest": [a.id, b.id, c.id], "newest": [c.id, b.id, a.id],
                   "top": [b.id, c.id, a.id]}


def test_pinned_comment_comes_first_in_every_sort(site, client):
    thread = make_thread(site, "jj-s2")
    now = utcnow()
    first = post(thread, "first", now=now - timedelta(minutes=2))
    pinned = post(thread, "pinned", now=now - timedelta(minutes=1))
    pinned.pinned = True
    db.session.commit()
    for sort in ("oldest", "newest", "top"):
        assert thread_json(client, sort=sort).get_json()["comments"][0]["id"] == pinned.id
    assert first.id != pinned.id


def test_bad_sort_and_tampered_cursor_are_400(client, site):
    new_comment(client)
    assert thread_json(client, sort="random").status_code == 400
    for cursor in ("garbage", "eyJhIjoxfQ.tampered", "W10.abc"):
        response = thread_json(client, cursor=cursor)
        assert response.status_code == 400
        assert response.get_json()["error"]["fields"] == {"cursor": "invalid"}


@pytest.mark.parametrize("sort", ["oldest", "newest", "top"])
def test_paging_visits_every_top_level_comment_once_and_never_splits_a_subtree(
        app, client, site, sort):
    thread = make_thread(site, "jj-s2")
    now = utcnow()
    roots = []
    for i in range(120):
        root = post(thread, f"root {i}", now=now - timedelta(seconds=1000 - i))
        root.rank = (i * 37 % 11) / 10
        root.pinned = i == 60
        roots.append(root)
        if i % 10 == 0:
            reply = post(thread, f"reply {i}", parent=root, now=now)
            post(thread, f"deep {i}", parent=reply, now=now)
    db.session.commit()

    seen, pages, cursor = [], 0, None
    while True:
        params = {"sort": sort}
        if cursor:
            params["cursor"] = cursor
        data = thread_json(client, **params).get_json()
        pages += 1
        for item in data["comments"]:
            seen.append(item["id"])
            root = next(r for r in roots if r.id == item["id"])
            index = int(root.body.split()[1])
            if index % 10 == 0:
                assert item["replies"][0]["replies"][0]["html"] == f"<p>deep {index}</p>"
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert sorted(seen) == sorted(r.id for r in roots)
    assert len(seen) == len(set(seen))
    assert seen[0] == roots[60].id


def test_fifty_level_deep_chain_comes_back_whole(site, client):
    thread = make_thread(site, "jj-s2")
    parent = None
    for depth in range(50):
        parent = post(thread, f"level {depth}", parent=parent)
    db.session.commit()
    node = thread_json(client).get_json()["comments"][0]
    depth = 0
    while node["replies"]:
        node = node["replies"][0]
        depth += 1
    assert depth == 49
    assert node["html"] == "<p>level 49</p>"


def test_thousand_comments_thread_is_fully_reachable(site, client):
    thread = make_thread(site, "jj-s2")
    roots = [post(thread, f"root {i}") for i in range(200)]
    for i in range(800):
        post(thread, f"reply {i}", parent=roots[i % 200])
    db.session.commit()
    total, cursor = 0, None
    while True:
        data = thread_json(client, **({"cursor": cursor} if cursor else {})).get_json()
        total += sum(1 + len(c["replies"]) for c in data["comments"])
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert total == 1000
    assert data["thread"]["comment_count"] == 1000


def test_reading_a_thread_costs_the_same_queries_for_10_or_500_comments(
        site, client, count_queries):
    def queries_for(key: str, n: int) -> int:
        thread = make_thread(threads.get_site("demo"), key)
        roots = [post(thread, f"{key} r{i}") for i in range(max(1, n // 5))]
        for i in range(n - len(roots)):
            post(thread, f"{key} x{i}", parent=roots[i % len(roots)])
        db.session.commit()
        with count_queries() as counter:
            response = client.get("/api/v1/threads", query_string={"site": "demo", "key": key})
        assert response.status_code == 200
        return counter.count

    small, large = queries_for("small", 10), queries_for("large", 500)
    assert small == large
    assert large <= 6


# ---------------------------------------------------------------- counts


def test_counts_include_only_approved_comments(client, site):
    thread = make_thread(site, "a")
    post(thread)
    post(thread)
    hidden = post(thread)
    comments.set_status(hidden, Status.SPAM)
    db.session.commit()
    data = client.get("/api/v1/counts?site=demo&key=a&key=b").get_json()
    assert data == {"counts": {"a": 2, "b": 0}}


@pytest.mark.parametrize("keys", [[], [f"k{i}" for i in range(101)], ["k" * 513]])
def test_counts_refuse_no_keys_too_many_or_too_long(client, site, keys):
    response = client.get("/api/v1/counts", query_string={"site": "demo", "key": keys})
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_counts_for_a_hundred_keys_is_one_query(client, site, count_queries):
    for i in range(5):
        post(make_thread(site, f"k{i}"))
    db.session.commit()
    keys = [f"k{i}" for i in range(100)]
    with count_queries() as counter:
        response = client.get("/api/v1/counts", query_string={"site": "demo", "key": keys})
    assert response.get_json()["counts"]["k4"] == 1
    assert [q.split()[0] for q in counter.statements].count("SELECT") == 1, counter.statements


def test_openapi_document_describes_every_endpoint(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/threads", "/comments", "/comments/{comment_id}", "/counts"):
        assert path in doc["paths"]


def test_hidden_comments_do_not_eat_the_page(site, client):
    thread = make_thread(site, "jj-s2")
    for i in range(60):
        comments.set_status(post(thread, f"spam {i}"), Status.SPAM)
    for i in range(10):
        post(thread, f"real {i}")
    db.session.commit()
    data = thread_json(client).get_json()
    assert [c["html"] for c in data["comments"]] == [f"<p>real {i}</p>" for i in range(10)]
    assert data["next_cursor"] is None
