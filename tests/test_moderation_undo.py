"""A moderator's safety nets (issue 13, and issue 12's finding 2): "Ban author" shows what it
will remove first, every status change can be undone, deleted comments can be restored from
the Deleted list; the queue, audit log and ban list say which comment and whom, in words."""

from __future__ import annotations

import re

from discuss import comments
from discuss.extensions import db
from discuss.models import Comment, Status
from discuss.permissions import Actor
from tests.accounts_helpers import html_login, make_user
from tests.conftest import make_thread


def _say(thread, actor, body, **kwargs):
    """A comment through the domain, in an existing thread."""
    return comments.post_comment(thread.site.slug, thread.key, actor, body, **kwargs)

def _signed_in_moderator(client, site):
    make_user("moira", moderator_of=[site])
    html_login(client, "moira")


def _csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _troll_comments(site, n=3):
    thread = make_thread(site)
    troll = Actor(guest_key="t" * 40, ip_hash="7" * 32)
    made = [_say(thread, troll, f"Nasty remark number {i}", name="Troll",
                                  email="troll@example.org") for i in range(n)]
    other = _say(thread, Actor(guest_key="o" * 40, ip_hash="8" * 32),
                                  "A kind word", name="Kind")
    db.session.commit()
    return [c.id for c in made], other.id


def test_ban_author_shows_what_goes_and_the_removal_can_be_undone(client, site):
    # Fails on the code before issue 13: "Ban author" removed at once, with no preview or undo.
    _signed_in_moderator(client, site)
    ids, other = _troll_comments(site)
    preview_path = f"/moderate/demo/comments/{ids[0]}/ban-author?next=/moderate/demo/pending"
    preview = client.get(preview_path).get_data(as_text=True)
    assert "3 comments on this site by Troll" in preview
    for i in range(3):
        assert f"Nasty remark number {i}" in preview
    assert "A kind word" not in preview
    assert db.session.get(Comment, ids[0]).status == Status.APPROVED  # nothing happened yet

    done = client.post(f"/moderate/demo/comments/{ids[0]}/ban-author", data={
        "csrf_token": _csrf(client, preview_path), "remove": "deleted",
        "next": "/moderate/demo/pending"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "3 comment(s) removed" in page
    db.session.expire_all()
    assert {db.session.get(Comment, i).status for i in ids} == {Status.DELETED}
    assert db.session.get(Comment, other).status == Status.APPROVED

    deleted = client.get("/moderate/demo/deleted").get_data(as_text=True)
    assert deleted.count('data-action="restore"') == 3
    undo_ids = re.findall(r'<input type="hidden" name="ids" value="(\d+)">', page)
    assert sorted(map(int, undo_ids)) == sorted(ids)
    client.post("/moderate/demo/actions", data={
        "csrf_token": _csrf(client, "/moderate/demo/deleted"), "action": "restore",
        "ids": undo_ids, "next": "/moderate/demo/deleted"})
    db.session.expire_all()
    assert {db.session.get(Comment, i).status for i in ids} == {Status.APPROVED}
    assert "Nothing waits here" in client.get("/moderate/demo/deleted").get_data(as_text=True)


def test_an_approval_is_undone_back_to_the_queue(client, site):
    _signed_in_moderator(client, site)
    thread = make_thread(site)
    held = _say(thread, Actor(guest_key="h" * 40, ip_hash="ip-h"),
                                 "Please approve me soon", name="Hana")
    comments.set_status(held, Status.PENDING)
    db.session.commit()
    answer = client.post("/moderate/demo/actions", data={
        "csrf_token": _csrf(client, "/moderate/demo/pending"), "one": f"{held.id}:approve",
        "expected_" + str(held.id): "pending", "next": "/moderate/demo/pending"},
        follow_redirects=True).get_data(as_text=True)
    assert "Approved: Hana’s “Please approve me soon”." in answer
    assert 'value="restore">Undo</button>' in answer
    client.post("/moderate/demo/actions", data={
        "csrf_token": _csrf(client, "/moderate/demo/pending"), "action": "restore",
        "ids": [str(held.id)], "next": "/moderate/demo/pending"})
    db.session.expire_all()
    assert db.session.get(Comment, held.id).status == Status.PENDING
    again = client.post("/api/v1/moderation/actions", json={"ids": [held.id + 999],
                                                           "action": "restore"},
                        headers={"X-CSRF-Token": _csrf(client, "/moderate/demo/pending")})
    assert again.get_json()["results"][0]["result"] == "not_found"


def test_restore_without_a_moderation_action_is_refused_as_nothing_to_undo(client, site):
    _signed_in_moderator(client, site)
    thread = make_thread(site)
    fresh = _say(thread, Actor(guest_key="f" * 40, ip_hash="ip-f"),
                                  "Untouched", name="Fay")
    db.session.commit()
    answer = client.post("/api/v1/moderation/actions", json={"ids": [fresh.id],
                                                            "action": "restore"},
                         headers={"X-CSRF-Token": _csrf(client, "/moderate/demo/pending")})
    assert answer.get_json()["results"][0]["result"] == "conflict"
    assert "nothing to undo" in answer.get_json()["results"][0]["message"]


def test_audit_bans_and_reported_queue_speak_in_words(client, site):
    _signed_in_moderator(client, site)
    ids, _ = _troll_comments(site, 1)
    preview_path = f"/moderate/demo/comments/{ids[0]}/ban-author"
    client.post(preview_path, data={"csrf_token": _csrf(client, preview_path),
                                    "remove": "spam"})
    audit = client.get("/moderate/demo/audit").get_data(as_text=True)
    assert "Troll’s “Nasty remark number 0”" in audit
    assert f"#comment-{ids[0]}" in audit
    bans = client.get("/moderate/demo/bans").get_data(as_text=True)
    assert "the network address Troll wrote from" in bans
    assert "troll@example.org" in bans


def test_the_reported_queue_names_approve_keep_and_dismiss(client, site):
    _signed_in_moderator(client, site)
    thread = make_thread(site)
    comment = _say(thread, Actor(guest_key="r" * 40, ip_hash="ip-r"),
                                    "Reported words", name="Rae")
    comment.report_count = 1
    db.session.commit()
    page = client.get("/moderate/demo/reported").get_data(as_text=True)
    assert "Keep, dismiss reports <kbd>a</kbd>" in page
    assert "Keep, dismiss reports selected" in page
