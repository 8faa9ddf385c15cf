"""Edit history: every edit keeps the text it replaced; moderators (and the author) see it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from discuss import comments, moderation, sites
from discuss.extensions import db
from discuss.models import Status, utcnow
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import guest, make_thread
from tests.test_moderation import token_for

AUTHOR_KEY = "a" * 40


@pytest.fixture
def pre_site(app):
    return sites.create_site("news", origins=["https://news.example.com"], moderation="pre")


@pytest.fixture
def mod(pre_site):
    """A moderator of the pre-moderated site (make_user commits both)."""
    return make_user("mod", moderator_of=[pre_site], verified=True)


def edited_comment(site, *bodies: str):
    """A guest's comment written as the first body, then edited into each of the others, a
    minute apart."""
    author = guest(key=AUTHOR_KEY, ip="ip-author")
    start = utcnow() - timedelta(minutes=5)
    comment = comments.post_comment(site.slug, make_thread(site).key, author, bodies[0],
                                    name="Ann", now=start)
    for n, body in enumerate(bodies[1:], start=1):
        comments.edit_comment(comment, author, body, now=start + timedelta(minutes=n))
    db.session.commit()
    return comment


def test_moderator_sees_every_version_through_the_api(client, pre_site, mod):
    comment = edited_comment(pre_site, "Frist!", "First!", "First! Great article.")
    response = client.get(f"/api/v1/comments/{comment.id}/history", headers=token_for(mod))
    assert response.status_code == 200
    data = response.get_json()
    assert data["edits"] == 2
    assert [v["body"] for v in data["versions"]] == ["Frist!", "First!",
                                                     "First! Great article."]
    assert [v["current"] for v in data["versions"]] == [False, False, True]
    first, second, current = data["versions"]
    assert first["replaced_at"] == second["written_at"]
    assert second["replaced_at"] == current["written_at"]
    assert current["replaced_at"] is None
    assert {"kind": "added", "text": " Great article."} in data["last_change"]


def test_a_comment_never_edited_has_one_version(client, pre_site, mod):
    comment = edited_comment(pre_site, "Just once.")
    data = client.get(f"/api/v1/comments/{comment.id}/history",
                      headers=token_for(mod)).get_json()
    assert data["edits"] == 0
    assert [v["body"] for v in data["versions"]] == ["Just once."]
    assert data["last_change"] == []


def test_the_author_sees_their_own_history_and_nobody_else_does(app, client, pre_site, mod):
    comment = edited_comment(pre_site, "old words", "new words")
    url = f"/api/v1/comments/{comment.id}/history"
    own = app.test_client(use_cookies=False).get(url, headers={"X-Discuss-Guest": AUTHOR_KEY})
    assert own.status_code == 200
    assert [v["body"] for v in own.get_json()["versions"]] == ["old words", "new words"]

    stranger = app.test_client(use_cookies=False)
    refused = stranger.get(url)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "not_signed_in"
    reader = make_user("reader", verified=True)
    assert client.get(url, headers=token_for(reader)).status_code == 403
    other_site = sites.create_site("other")
    other_mod = make_user("othermod", moderator_of=[other_site], verified=True)
    assert client.get(url, headers=token_for(other_mod)).status_code == 403
    assert client.get("/api/v1/comments/999999/history",
                      headers=token_for(mod)).status_code == 404


def test_a_moderators_edit_is_kept_and_marked(client, pre_site, mod):
    comment = edited_comment(pre_site, "Visit my shop http://spam.example")
    moderation.edit_as_moderator(comment, Actor(user=mod), "[link removed by a moderator]",
                                 note="no ads")
    db.session.commit()
    versions = client.get(f"/api/v1/comments/{comment.id}/history",
                          headers=token_for(mod)).get_json()["versions"]
    assert [(v["body"], v["by_moderator"]) for v in versions] == [
        ("Visit my shop http://spam.example", False),
        ("[link removed by a moderator]", True)]


def test_the_queue_shows_what_an_edit_changed(client, pre_site, mod):
    comment = edited_comment(pre_site, "The budget is fine.", "The budget is a disgrace.")
    headers = token_for(mod)
    [item] = client.get("/api/v1/moderation/queue?site=news&queue=pending",
                        headers=headers).get_json()["items"]
    assert item["edits"] == 1
    assert item["last_change"] == [{"kind": "same", "text": "The budget is "},
                                   {"kind": "removed", "text": "fine."},
                                   {"kind": "added", "text": "a disgrace."}]
    page = client.get("/moderate/news/pending", headers=headers).get_data(as_text=True)
    assert "Edited 1 time" in page
    assert "The budget is <del>fine.</del><ins>a disgrace.</ins>" in page
    assert comment.status == Status.PENDING


def test_the_queue_diff_shows_hostile_text_as_text(client, pre_site, mod):
    edited_comment(pre_site, "harmless", 'harmless <script>alert("x")</script><img src=x>')
    page = client.get("/moderate/news/pending", headers=token_for(mod)).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "<img src=x>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x&gt;</ins>" in page


def test_an_edit_of_an_approved_comment_goes_back_to_the_queue_with_its_history(client,
                                                                               pre_site, mod):
    comment = edited_comment(pre_site, "A calm remark.")
    moderation.act_on_comments([comment.id], "approve", Actor(user=mod))
    db.session.commit()
    comments.edit_comment(comment, guest(key=AUTHOR_KEY, ip="ip-author"),
                          "A calm remark. Visit http://a.example http://b.example "
                          "http://c.example http://d.example")
    db.session.commit()
    assert comment.status == Status.PENDING  # the links rule fired again
    [item] = client.get("/api/v1/moderation/queue?site=news&queue=pending",
                        headers=token_for(mod)).get_json()["items"]
    assert item["edits"] == 1
    assert item["last_change"][0] == {"kind": "same", "text": "A calm remark."}


def test_an_account_deleted_with_its_text_takes_the_earlier_texts_too(client, pre_site, mod):
    from discuss import account_data
    from tests.accounts_helpers import PASSWORD

    sites.update_site(pre_site, deleted_user_text="remove")
    ann = make_user("ann", verified=True)
    key = make_thread(pre_site).key
    comment = comments.post_comment(pre_site.slug, key, Actor(user=ann),
                                    "My address is 1 Secret Lane")
    comments.edit_comment(comment, Actor(user=ann), "Never mind")
    db.session.commit()
    account_data.delete_account(ann, PASSWORD)
    db.session.commit()
    versions = client.get(f"/api/v1/comments/{comment.id}/history",
                          headers=token_for(mod)).get_json()["versions"]
    assert [v["body"] for v in versions] == [account_data.REMOVED_TEXT]
