"""Bans: users, emails and IP hashes; expiry; shadow bans seen end to end; ban and remove."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from discuss import accounts, bans, comments, sites
from discuss.errors import Forbidden
from discuss.extensions import db
from discuss.models import AuditEntry, Comment, Status, utcnow
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import csrf_header, guest, make_thread, post


@pytest.fixture
def admin(app):
    return make_user("admin", is_admin=True)


def bearer(user) -> dict[str, str]:
    raw, _ = accounts.create_api_token(user, "t", days=1)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_banned_user_is_refused_with_the_reason(site, admin):
    reader = make_user("troll")
    bans.ban(site, Actor(user=admin), "user", "troll", reason="insults")
    with pytest.raises(Forbidden) as caught:
        post(make_thread(site), "Again", actor=Actor(user=reader))
    assert caught.value.code == "banned"
    assert "insults" in caught.value.message


@pytest.mark.parametrize(("kind", "value", "author"), [
    ("email", "Spammer@Example.org", {"email": "spammer@example.org"}),
    ("ip", "abcdef0123", {"ip": "abcdef0123"}),
])
def test_guest_banned_by_email_or_ip_hash_is_refused(site, admin, kind, value, author):
    bans.ban(site, Actor(user=admin), kind, value)
    actor = guest(ip=author.get("ip", "other-ip"))
    with pytest.raises(Forbidden):
        comments.post_comment(site.slug, make_thread(site).key, actor, "Hello", name="G",
                              email=author.get("email"))
    # Another guest is not affected.
    comments.post_comment(site.slug, make_thread(site).key,
                          guest("k" * 40, ip="fine-ip"), "Hello", name="H")


def test_expired_and_lifted_bans_no_longer_apply(site, admin):
    now = utcnow()
    bans.ban(site, Actor(user=admin), "ip", "aaaa", expires_at=now + timedelta(hours=1),
             now=now)
    actor = guest(ip="aaaa")
    with pytest.raises(Forbidden):
        post(make_thread(site), "During", actor=actor, now=now + timedelta(minutes=30))
    post(make_thread(site), "After", actor=guest(ip="aaaa"), now=now + timedelta(hours=2))
    lifted = bans.ban(site, Actor(user=admin), "ip", "bbbb", now=now)
    bans.lift_ban(lifted, Actor(user=admin), now=now)
    post(make_thread(site), "Lifted", actor=guest("l" * 40, ip="bbbb"), now=now)


def test_a_site_ban_does_not_reach_other_sites(site, admin):
    other = sites.create_site("other", origins=["https://news.example.com"], moderation="post")
    bans.ban(site, Actor(user=admin), "ip", "cccc")
    assert post(make_thread(other), "Elsewhere", actor=guest(ip="cccc")).status == \
        Status.APPROVED
    bans.ban(None, Actor(user=admin), "ip", "dddd")  # every site (admins only)
    with pytest.raises(Forbidden):
        post(make_thread(other), "Nowhere", actor=guest(ip="dddd"))


def test_only_admins_ban_from_every_site(site):
    mod = make_user("mod", moderator_of=[site])
    with pytest.raises(Forbidden):
        bans.ban(None, Actor(user=mod), "ip", "eeee")


def test_shadow_banned_author_sees_their_comment_published_and_nobody_else_does(client, site,
                                                                              admin):
    shadowed = make_user("shadowed")
    reader = make_user("reader")
    bans.ban(site, Actor(user=admin), "user", "shadowed", shadow=True)
    db.session.commit()
    response = client.post("/api/v1/comments", headers=bearer(shadowed), json={
        "site": "demo", "key": "article-1", "url": "https://news.example.com/a",
        "body": "Shadow words"})
    assert response.status_code == 201
    assert response.get_json()["status"] == "approved"
    url = "/api/v1/threads?site=demo&key=article-1"
    own = client.get(url, headers=bearer(shadowed)).get_json()
    assert [(c["html"], c["status"]) for c in own["comments"]] == \
        [("<p>Shadow words</p>", "approved")]
    assert client.get(url, headers=bearer(reader)).get_json()["comments"] == []
    anonymous = client.get(url).get_json()
    assert anonymous["comments"] == []
    assert anonymous["thread"]["comment_count"] == 0
    assert client.get("/api/v1/counts?site=demo&key=article-1").get_json()["counts"] == \
        {"article-1": 0}


def test_ban_author_and_remove_all_their_comments_in_one_action(client, site, admin):
    thread = make_thread(site)
    spammer = guest("s" * 40, ip="5badc0de")
    bad = [comments.post_comment(thread.site.slug, thread.key, spammer, f"Spam {i}", name="S",
                                 email="s@example.org") for i in range(3)]
    keep = post(thread, "Innocent", actor=guest("i" * 40, ip="900d"))
    db.session.commit()
    response = client.post("/api/v1/moderation/ban-author", headers=bearer(admin), json={
        "comment_id": bad[0].id, "remove": "spam", "reason": "link spam", "days": 30})
    assert response.status_code == 201
    data = response.get_json()
    assert data["removed"] == 3
    assert sorted(b["kind"] for b in data["bans"]) == ["email", "ip"]
    db.session.expire_all()
    assert {db.session.get(Comment, c.id).status for c in bad} == {Status.SPAM}
    assert db.session.get(Comment, keep.id).status == Status.APPROVED
    assert make_thread(site).comment_count == 1
    rows = list(db.session.scalars(select(AuditEntry.action)))
    assert sorted(rows) == ["ban", "ban", "spam", "spam", "spam"]
    refused = client.post("/api/v1/comments", headers={"X-Discuss-Guest": "s" * 40}, json={
        "site": "demo", "key": "article-1", "body": "More", "name": "S",
        "email": "s@example.org"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "banned"


def test_bans_api_lists_creates_and_lifts(client, site, admin):
    headers = bearer(admin)
    created = client.post("/api/v1/moderation/bans", headers=headers, json={
        "site": "demo", "kind": "email", "value": "x@example.org", "reason": "abuse",
        "expires_at": "2999-01-01T00:00:00Z"})
    assert created.status_code == 201
    ban = created.get_json()
    assert (ban["value"], ban["active"]) == ("x@example.org", True)
    listed = client.get("/api/v1/moderation/bans?site=demo", headers=headers).get_json()
    assert [b["id"] for b in listed["bans"]] == [ban["id"]]
    lifted = client.post(f"/api/v1/moderation/bans/{ban['id']}/lift", headers=headers)
    assert lifted.get_json()["active"] is False
    assert client.post(f"/api/v1/moderation/bans/{ban['id']}/lift",
                       headers=headers).status_code == 409


@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "planet", "value": "x"}, "kind"),
    ({"kind": "user", "value": "nobody-here"}, "value"),
    ({"kind": "ip", "value": "not a hash!"}, "value"),
    ({"kind": "email", "value": "nope"}, "email"),
    ({"kind": "ip", "value": "abc", "days": -3}, "days"),
    ({"kind": "ip", "value": "abc", "expires_at": "yesterday"}, "expires_at"),
    ({"kind": "ip", "value": "abc", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"kind": "ip", "value": "abc", "shadow": "yes"}, "shadow"),
])
def test_bad_ban_requests_get_a_clear_400(client, site, admin, payload, field):
    response = client.post("/api/v1/moderation/bans", headers=bearer(admin),
                           json={"site": "demo", **payload})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_bans_page_creates_and_lifts_a_ban(client, site):
    mod = make_user("mod", moderator_of=[site])
    headers = {**bearer(mod), **csrf_header(client)}
    response = client.post("/moderate/demo/bans", headers=headers, data={
        "kind": "ip", "value": "abc123", "reason": "flood", "days": "7"})
    assert response.status_code == 303
    page = client.get("/moderate/demo/bans", headers=headers).get_data(as_text=True)
    assert "abc123" in page
    assert "flood" in page
    [ban] = bans.list_bans(site)
    assert ban.expires_at is not None
    client.post(f"/moderate/demo/bans/{ban.id}/lift", headers=headers)
    db.session.expire_all()
    assert not bans.is_active(bans.list_bans(site)[0], utcnow())
