"""The moderation queues and actions: API and pages, authorisation, audit, thread controls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from discuss import accounts, bans, comments, moderation, queues, reports, sites, threads
from discuss.extensions import db
from discuss.models import AuditEntry, Comment, OutboxMessage, Report, SiteModerator, Status, utcnow
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import csrf_header, guest, make_thread, post

PENDING_SITE = "pre-site"


@pytest.fixture
def pre_site(app):
    site = sites.create_site(PENDING_SITE, origins=["https://news.example.com"],
                             moderation="pre")
    db.session.commit()
    return site


@pytest.fixture
def other_site(app):
    site = sites.create_site("other", origins=["https://news.example.com"], moderation="pre")
    db.session.commit()
    return site


@pytest.fixture
def mod(pre_site):
    return make_user("mod", moderator_of=[pre_site], verified=True)


def token_for(user) -> dict[str, str]:
    raw, _ = accounts.create_api_token(user, "test", days=1)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def waiting(site, n=1, *, thread_key="article-1", start=None):
    thread = threads.get_or_create_thread(site, thread_key, "https://news.example.com/a",
                                          "An article")
    start = start or utcnow() - timedelta(hours=1)
    suffix = "" if thread_key == "article-1" else f" on {thread_key}"
    made = [comments.post_comment(thread.site.slug, thread.key,
                                  guest(ip=f"ip-{i}"), f"Comment number {i}{suffix}",
                                  name=f"Guest {i}", now=start + timedelta(seconds=i))
            for i in range(n)]
    db.session.commit()
    return made


def test_guest_comment_on_pre_site_waits_in_the_pending_queue(client, pre_site, mod):
    [comment] = waiting(pre_site)
    response = client.get(f"/api/v1/moderation/queue?site={PENDING_SITE}&queue=pending",
                          headers=token_for(mod))
    assert response.status_code == 200
    data = response.get_json()
    [item] = data["items"]
    assert item["comment"]["id"] == comment.id
    assert item["comment"]["body"] == "Comment number 0"
    assert item["comment"]["url"] == f"https://news.example.com/a#comment-{comment.id}"
    assert item["thread"]["title"] == "An article"
    assert item["author"]["guest"] is True
    assert data["next_cursor"] is None


def test_moderator_approves_and_the_comment_is_published_with_an_audit_row(client, pre_site,
                                                                            mod):
    [comment] = waiting(pre_site)
    response = client.post("/api/v1/moderation/actions", headers=token_for(mod), json={
        "ids": [comment.id], "action": "approve", "note": "fine"})
    assert response.status_code == 200
    assert response.get_json()["results"] == [{"id": comment.id, "result": "ok",
                                               "status": "approved", "pinned": False}]
    db.session.expire_all()
    thread = threads.get_thread(pre_site, "article-1")
    assert thread.comment_count == 1
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_name, entry.status_before, entry.status_after,
            entry.note, entry.comment_id) == ("approve", "mod", "pending", "approved", "fine",
                                              comment.id)


def test_bulk_action_reports_each_comment_and_leaves_others_alone(client, pre_site,
                                                                 other_site, mod):
    first, second = waiting(pre_site, 2)
    [elsewhere] = waiting(other_site)
    headers = token_for(mod)
    # Another moderator approved the second one meanwhile.
    moderation.act_on_comments([second.id], "approve", Actor(user=mod))
    db.session.commit()
    response = client.post("/api/v1/moderation/actions", headers=headers, json={
        "ids": [first.id, second.id, elsewhere.id, 999999], "action": "reject",
        "expected_status": "pending"})
    results = {r["id"]: r["result"] for r in response.get_json()["results"]}
    assert results == {first.id: "ok", second.id: "conflict", elsewhere.id: "forbidden",
                       999999: "not_found"}
    db.session.expire_all()
    assert db.session.get(Comment, second.id).status == Status.APPROVED
    assert db.session.get(Comment, elsewhere.id).status == Status.PENDING
    assert db.session.get(Comment, first.id).status == Status.REJECTED


def test_acting_on_an_already_decided_comment_is_a_conflict(client, pre_site, mod):
    [comment] = waiting(pre_site)
    headers = token_for(mod)
    client.post("/api/v1/moderation/actions", headers=headers,
                json={"ids": [comment.id], "action": "spam"})
    again = client.post("/api/v1/moderation/actions", headers=headers,
                        json={"ids": [comment.id], "action": "spam"})
    [result] = again.get_json()["results"]
    assert result["result"] == "conflict"
    assert "already" in result["message"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1


@pytest.mark.parametrize(("payload", "field"), [
    ({"ids": [], "action": "approve"}, "ids"),
    ({"ids": ["1"], "action": "approve"}, "ids"),
    ({"ids": [1], "action": "burn"}, "action"),
    ({"ids": [1]}, "action"),
    ({"ids": list(range(1, 300)), "action": "approve"}, "ids"),
    ({"ids": [1], "action": "approve", "expected_status": 5}, "expected_status"),
])
def test_bad_bulk_requests_get_a_clear_400(client, pre_site, mod, payload, field):
    response = client.post("/api/v1/moderation/actions", headers=token_for(mod), json=payload)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_pin_and_unpin_show_the_comment_first(client, site):
    admin = make_user("admin", is_admin=True)
    thread = make_thread(site)
    post(thread, "First", now=utcnow() - timedelta(minutes=5))
    second = post(thread, "Second")
    db.session.commit()
    headers = token_for(admin)
    response = client.post("/api/v1/moderation/actions", headers=headers,
                           json={"ids": [second.id], "action": "pin"})
    assert response.get_json()["results"][0]["pinned"] is True
    page = client.get("/api/v1/threads?site=demo&key=article-1").get_json()
    assert next(c["id"] for c in page["comments"]) == second.id
    assert page["comments"][0]["pinned"] is True
    client.post("/api/v1/moderation/actions", headers=headers,
                json={"ids": [second.id], "action": "unpin"})
    page = client.get("/api/v1/threads?site=demo&key=article-1").get_json()
    assert page["comments"][-1]["id"] == second.id


def test_queue_pages_stay_correct_while_others_act(client, pre_site, mod):
    made = waiting(pre_site, 5)
    headers = token_for(mod)
    first = client.get(f"/api/v1/moderation/queue?site={PENDING_SITE}&limit=2",
                       headers=headers).get_json()
    assert [i["comment"]["id"] for i in first["items"]] == [made[0].id, made[1].id]
    # Someone approves the first two and the third while we read page one.
    moderation.act_on_comments([made[0].id, made[1].id, made[2].id], "approve",
                               Actor(user=mod))
    db.session.commit()
    second = client.get(f"/api/v1/moderation/queue?site={PENDING_SITE}&limit=2"
                        f"&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [i["comment"]["id"] for i in second["items"]] == [made[3].id, made[4].id]
    newest = client.get(f"/api/v1/moderation/queue?site={PENDING_SITE}&order=newest",
                        headers=headers).get_json()
    assert [i["comment"]["id"] for i in newest["items"]] == [made[4].id, made[3].id]
    forged = client.get(f"/api/v1/moderation/queue?site={PENDING_SITE}&cursor=abc",
                        headers=headers)
    assert forged.status_code == 400


def test_queue_shows_parent_history_reports_and_held_reasons(pre_site, mod, app):
    pre_site.blocklist = "casino"
    thread = make_thread(pre_site)
    author = make_user("writer")
    writer = Actor(user=author)
    parent = comments.post_comment(thread.site.slug, thread.key,
                                   guest(), "The parent comment text", name="P")
    moderation.act_on_comments([parent.id], "approve", Actor(user=mod))
    old = comments.post_comment(thread.site.slug, thread.key, writer, "An old rejected one",
                                now=utcnow() - timedelta(days=2))
    moderation.act_on_comments([old.id], "reject", Actor(user=mod))
    held = comments.post_comment(thread.site.slug, thread.key,
                                 writer, "Visit the casino", parent.id)
    db.session.commit()
    page = queues.list_queue(pre_site, "pending", secret="s" * 20)
    [item] = page.items
    assert item.comment.id == held.id
    assert item.parent_excerpt == "The parent comment text"
    assert item.comment.held_reasons == [{"rule": "blocklist", "detail": "casino"}]
    assert item.author.counts == {"rejected": 1, "pending": 1}
    assert [e["id"] for e in item.author.earlier] == [old.id]
    assert item.author.joined_at is not None


def test_queue_loads_in_a_fixed_number_of_queries(pre_site, mod, count_queries):
    thread = make_thread(pre_site)
    root = comments.post_comment(thread.site.slug, thread.key,
                                 Actor(user=mod), "Root by a moderator")
    for i in range(3):
        comments.post_comment(thread.site.slug, thread.key,
                              guest(ip=f"a{i}"), f"Small {i}", root.id, name="G")
    db.session.commit()
    db.session.expire_all()
    with count_queries() as small:
        queues.list_queue(pre_site, "pending", secret="s" * 20)
    for i in range(12):
        user = make_user(f"user{i}")
        comments.post_comment(thread.site.slug, thread.key, Actor(user=user), f"Big {i}", root.id)
        comments.post_comment(thread.site.slug, thread.key,
                              guest(ip=f"b{i}"), f"Guest {i}", name="G",
                              email=f"g{i}@example.org")
    db.session.commit()
    db.session.expire_all()
    with count_queries() as big:
        page = queues.list_queue(pre_site, "pending", secret="s" * 20)
    assert len(page.items) == 25
    assert big.count == small.count <= 6  # site reload, page, parents, reports, 2 history


def test_reported_queue_and_a_decision_clears_the_reports(client, site, app):
    admin = make_user("admin", is_admin=True)
    thread = make_thread(site)
    comment = post(thread, "Something rude")
    for i in range(3):
        reports.report_comment(comment, Actor(ip_hash=f"reader-{i}"), "abuse", "rude",
                               default_threshold=3)
    db.session.commit()
    assert comment.status == Status.PENDING
    headers = token_for(admin)
    data = client.get("/api/v1/moderation/queue?site=demo&queue=reported",
                      headers=headers).get_json()
    [item] = data["items"]
    assert [r["reason"] for r in item["reports"]] == ["abuse"] * 3
    assert item["comment"]["held_reasons"][-1]["rule"] == "reports"
    client.post("/api/v1/moderation/actions", headers=headers,
                json={"ids": [comment.id], "action": "approve"})
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).report_count == 0
    assert db.session.scalar(select(func.count()).select_from(Report)
                             .where(Report.resolved_at.is_(None))) == 0
    assert client.get("/api/v1/moderation/queue?site=demo&queue=reported",
                      headers=headers).get_json()["items"] == []


def test_closed_thread_refuses_posts_and_reopens(client, site):
    admin = make_user("admin", is_admin=True)
    make_thread(site)
    db.session.commit()
    headers = token_for(admin)
    response = client.post("/api/v1/moderation/threads/close", headers=headers,
                           json={"site": "demo", "key": "article-1", "note": "heated"})
    assert response.get_json()["thread"]["closed"] is True
    refused = client.post("/api/v1/comments", json={
        "site": "demo", "key": "article-1", "body": "Late", "name": "R"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "thread_closed"
    assert client.get("/api/v1/threads?site=demo&key=article-1").get_json()["thread"]["closed"]
    again = client.post("/api/v1/moderation/threads/close", headers=headers,
                        json={"site": "demo", "key": "article-1"})
    assert again.status_code == 409
    client.post("/api/v1/moderation/threads/reopen", headers=headers,
                json={"site": "demo", "key": "article-1"})
    reopened = client.post("/api/v1/comments", headers=csrf_header(client), json={
        "site": "demo", "key": "article-1", "body": "Now", "name": "R"})
    assert reopened.status_code == 201, reopened.get_json()
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["close", "reopen"]


def test_moderator_edit_is_marked_and_audited(client, site):
    admin = make_user("admin", is_admin=True)
    comment = post(make_thread(site), "Original with a slur")
    db.session.commit()
    response = client.post(f"/api/v1/moderation/comments/{comment.id}/edit",
                           headers=token_for(admin),
                           json={"body": "Original with [removed]", "note": "slur"})
    assert response.status_code == 200
    assert response.get_json()["edited_by_moderator"] is True
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.note) == ("edit", "slur")


def test_audit_log_is_filterable_and_has_no_way_to_change_it(client, pre_site, mod):
    a, b = waiting(pre_site, 2)
    other = make_user("other", moderator_of=[pre_site])
    moderation.act_on_comments([a.id], "approve", Actor(user=mod))
    moderation.act_on_comments([b.id], "spam", Actor(user=other))
    db.session.commit()
    headers = token_for(mod)
    url = f"/api/v1/moderation/audit?site={PENDING_SITE}"
    assert [e["action"] for e in client.get(url, headers=headers).get_json()["entries"]] == \
        ["spam", "approve"]
    only = client.get(url + "&moderator=other", headers=headers).get_json()["entries"]
    assert [(e["moderator"], e["action"]) for e in only] == [("other", "spam")]
    assert [e["action"] for e in client.get(url + "&action=approve",
                                            headers=headers).get_json()["entries"]] == ["approve"]
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code in (404, 405)
    page = client.get(f"/moderate/{PENDING_SITE}/audit?moderator=other", headers=headers)
    assert page.status_code == 200
    assert "spam" in page.get_data(as_text=True)


def test_dashboard_counts_each_queue_with_the_oldest_age(client, pre_site, other_site, mod):
    waiting(pre_site, 3, start=utcnow() - timedelta(hours=2))
    waiting(other_site, 1)
    [dash] = queues.dashboard(Actor(user=mod))
    assert dash.site.slug == PENDING_SITE
    assert dash.sizes == {"pending": 3, "reported": 0, "spam": 0}
    assert utcnow() - dash.oldest["pending"] >= timedelta(hours=2)
    data = client.get("/api/v1/moderation/sites", headers=token_for(mod)).get_json()
    assert [s["site"] for s in data["sites"]] == [PENDING_SITE]
    page = client.get("/moderate", headers=token_for(mod)).get_data(as_text=True)
    assert PENDING_SITE in page
    assert "other" not in page.split("<main", 1)[1]
    assert "oldest 2 h" in page


def test_queue_page_lists_comments_and_acts_without_javascript(client, pre_site, mod):
    [comment] = waiting(pre_site)
    headers = token_for(mod)
    page = client.get(f"/moderate/{PENDING_SITE}/pending", headers=headers)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Comment number 0" in html
    assert f'value="{comment.id}:approve"' in html
    response = client.post(f"/moderate/{PENDING_SITE}/actions", headers=headers, data={
        "one": f"{comment.id}:approve", f"expected_{comment.id}": "pending",
        "next": f"/moderate/{PENDING_SITE}/pending"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == Status.APPROVED


def test_forged_form_without_csrf_token_changes_nothing(client, pre_site, mod):
    [comment] = waiting(pre_site)
    client.set_cookie("discuss_session", "whatever")
    response = client.post(f"/moderate/{PENDING_SITE}/actions",
                           data={"one": f"{comment.id}:approve"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == Status.PENDING


# Every moderation endpoint and page: a moderator of another site is refused; admins are not.
API_CALLS = [
    ("get", "/api/v1/moderation/queue?site={slug}&queue=pending", None),
    ("get", "/api/v1/moderation/queue?site={slug}&queue=spam", None),
    ("get", "/api/v1/moderation/bans?site={slug}", None),
    ("get", "/api/v1/moderation/audit?site={slug}", None),
    ("post", "/api/v1/moderation/actions", {"ids": ["{comment}"], "action": "approve"}),
    ("post", "/api/v1/moderation/threads/close", {"site": "{slug}", "key": "article-1"}),
    ("post", "/api/v1/moderation/threads/reopen", {"site": "{slug}", "key": "article-1"}),
    ("post", "/api/v1/moderation/bans", {"site": "{slug}", "kind": "ip", "value": "abc123"}),
    ("post", "/api/v1/moderation/bans/{ban}/lift", {}),
    ("post", "/api/v1/moderation/ban-author", {"comment_id": "{comment}"}),
    ("post", "/api/v1/moderation/comments/{comment}/edit", {"body": "changed"}),
]
PAGES = [
    ("get", "/moderate/{slug}"),
    ("get", "/moderate/{slug}/pending"),
    ("get", "/moderate/{slug}/reported"),
    ("get", "/moderate/{slug}/spam"),
    ("get", "/moderate/{slug}/audit"),
    ("get", "/moderate/{slug}/bans"),
    ("get", "/moderate/{slug}/comments/{comment}/edit"),
    ("post", "/moderate/{slug}/actions"),
    ("post", "/moderate/{slug}/bans"),
    ("post", "/moderate/{slug}/bans/{ban}/lift"),
    ("post", "/moderate/{slug}/comments/{comment}/ban-author"),
    ("post", "/moderate/{slug}/comments/{comment}/edit"),
    ("post", "/moderate/{slug}/threads/{thread}/close"),
]


@pytest.fixture
def target(other_site):
    """Things on the other site: a pending comment, its thread and a ban."""
    [comment] = waiting(other_site)
    admin = make_user("boss", is_admin=True)
    ban = bans.ban(other_site, Actor(user=admin), "ip", "abcdef")
    db.session.commit()
    return {"slug": other_site.slug, "comment": comment.id, "thread": comment.thread_id,
            "ban": ban.id}


def _fill(value, names):
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ("comment", "ban"):
            return names[value[1:-1]]
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_moderator_of_another_site_gets_403_from_every_api_endpoint(client, mod, target,
                                                                    method, path, body):
    kwargs = {"headers": token_for(mod)}
    if body is not None:
        kwargs["json"] = _fill(body, target)
    response = getattr(client, method)(_fill(path, target), **kwargs)
    assert response.status_code == 403, response.get_json()
    db.session.expire_all()
    assert db.session.get(Comment, target["comment"]).status == Status.PENDING
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1  # the ban


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_guests_get_401_from_every_moderation_endpoint(client, target, method, path, body):
    kwargs = {"json": _fill(body, target)} if body is not None else {}
    assert getattr(client, method)(_fill(path, target), **kwargs).status_code == 401


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_moderator_of_another_site_gets_404_from_every_page(client, mod, target, method, path):
    headers = token_for(mod)
    if method == "post":
        headers.update(csrf_header(client))
    data = {"one": f"{target['comment']}:approve", "kind": "ip", "value": "abc",
            "body": "changed", "remove": "deleted"}
    response = getattr(client, method)(_fill(path, target), headers=headers,
                                       **({"data": data} if method == "post" else {}))
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Comment, target["comment"]).status == Status.PENDING


@pytest.mark.parametrize(("method", "path"), PAGES[:6])
def test_admin_sees_every_sites_pages(client, target, method, path):
    admin = make_user("admin", is_admin=True)
    response = client.get(_fill(path, target), headers=token_for(admin))
    assert response.status_code in (200, 302)


def test_signed_out_visitor_is_sent_to_sign_in(client, pre_site):
    response = client.get(f"/moderate/{PENDING_SITE}/pending")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_moderators_who_asked_get_at_most_one_queue_mail_per_interval(app, pre_site, mod):
    watcher = make_user("watcher", moderator_of=[pre_site])
    watcher.notify_queue = True
    db.session.commit()
    now = utcnow()
    waiting(pre_site, 1, start=now)
    waiting(pre_site, 1, thread_key="article-2", start=now)
    mails = list(db.session.scalars(select(OutboxMessage)))
    assert [m.recipient for m in mails] == ["watcher@example.org"]
    assert "pre-site" in mails[0].subject
    moderator_row = db.session.get(SiteModerator, (pre_site.id, watcher.id))
    moderator_row.last_notified_at = now - timedelta(minutes=16)
    db.session.commit()
    waiting(pre_site, 1, thread_key="article-3", start=now)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
