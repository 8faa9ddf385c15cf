"""Votes (one per account, a fair "top" order) and readers' reports of abusive comments."""

from __future__ import annotations

import pytest

from discuss import accounts, votes
from discuss.extensions import db
from discuss.models import Comment, Report, Status, User
from discuss.permissions import Actor
from tests.accounts_helpers import api_login, bearer, make_user
from tests.conftest import guest, make_thread, post


def _cheap_user(name: str) -> User:
    # Many voters: no password hashing needed for these.
    user = User(username=name, username_key=name, email=f"{name}@example.org",
                email_key=f"{name}@example.org", password_hash="")
    db.session.add(user)
    db.session.flush()
    return user


def _vote(client, token, comment_id, value):
    return client.post(f"/api/v1/comments/{comment_id}/vote", json={"value": value},
                       headers=bearer(token))


def _report(client, comment_id, reason="abuse", *, token=None, ip="10.0.0.1", **extra):
    headers = bearer(token) if token else {}
    return client.post(f"/api/v1/comments/{comment_id}/report",
                       json={"reason": reason, **extra}, headers=headers,
                       environ_base={"REMOTE_ADDR": ip})


def test_a_reader_votes_once_changes_their_mind_and_takes_it_back(client, site):
    make_user()
    comment = post(make_thread(site))
    token = api_login(client)
    assert _vote(client, token, comment.id, 1).get_json() == {"score": 1, "my_vote": 1}
    second = _vote(client, token, comment.id, 1)
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "already_voted"
    assert _vote(client, token, comment.id, -1).get_json() == {"score": -1, "my_vote": -1}
    assert _vote(client, token, comment.id, 0).get_json() == {"score": 0, "my_vote": 0}
    db.session.expire_all()
    assert (comment.upvotes, comment.downvotes) == (0, 0)


def test_the_thread_shows_each_readers_own_vote(client, app, site):
    make_user()
    thread = make_thread(site)
    liked, other = post(thread, "one"), post(thread, "two")
    token = api_login(client)
    _vote(client, token, liked.id, 1)
    page = client.get("/api/v1/threads?site=demo&key=article-1",
                      headers=bearer(token)).get_json()
    assert {c["id"]: c["my_vote"] for c in page["comments"]} == {liked.id: 1, other.id: 0}
    assert page["comments"][0]["score"] == 1
    anonymous = app.test_client().get("/api/v1/threads?site=demo&key=article-1").get_json()
    assert "my_vote" not in anonymous["comments"][0]


@pytest.mark.parametrize(("who", "value", "status", "code"), [
    ("guest", 1, 401, "not_signed_in"),
    ("author", 1, 403, "own_comment"),
    ("reader", 2, 400, "invalid"),
    ("reader", True, 400, "invalid"),
    ("reader", "1", 400, "invalid"),
])
def test_votes_that_are_not_allowed_get_a_clear_error(client, site, who, value, status, code):
    author = make_user("author")
    make_user("reader")
    comment = post(make_thread(site), actor=Actor(user=author))
    headers = bearer(api_login(client, who)) if who != "guest" else {}
    response = client.post(f"/api/v1/comments/{comment.id}/vote", json={"value": value},
                           headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_votes_on_unknown_or_hidden_comments_are_not_found(client, site):
    make_user()
    comment = post(make_thread(site))
    comment.status = Status.PENDING
    token = api_login(client)
    assert _vote(client, token, comment.id, 1).status_code == 404
    assert _vote(client, token, 999999, 1).status_code == 404


def test_wilson_bound_ranks_many_good_votes_above_a_single_one():
    assert votes.wilson_lower_bound(0, 0) == 0.0
    assert votes.wilson_lower_bound(1, 0) < votes.wilson_lower_bound(40, 2)
    assert votes.wilson_lower_bound(40, 2) < votes.wilson_lower_bound(400, 20)
    assert 0.2 < votes.wilson_lower_bound(1, 0) < 0.21


def test_top_sort_puts_40_up_2_down_above_1_up_0_down(client, site):
    thread = make_thread(site)
    lucky, solid = post(thread, "one lucky vote"), post(thread, "broadly liked")
    voters = [_cheap_user(f"voter{i}") for i in range(42)]
    votes.vote(lucky, Actor(user=voters[0]), 1)
    for voter in voters[:40]:
        votes.vote(solid, Actor(user=voter), 1)
    for voter in voters[40:]:
        votes.vote(solid, Actor(user=voter), -1)
    db.session.commit()
    page = client.get("/api/v1/threads?site=demo&key=article-1&sort=top").get_json()
    assert [c["id"] for c in page["comments"]] == [solid.id, lucky.id]
    assert [c["score"] for c in page["comments"]] == [38, 1]


def test_a_vote_changes_the_threads_etag(client, site):
    make_user()
    comment = post(make_thread(site))
    first = client.get("/api/v1/threads?site=demo&key=article-1")
    token = api_login(client)
    _vote(client, token, comment.id, 1)
    again = client.get("/api/v1/threads?site=demo&key=article-1",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.get_json()["comments"][0]["score"] == 1


# ---------------------------------------------------------------- reports


def test_a_reader_reports_a_comment_once(client, site):
    make_user()
    comment = post(make_thread(site))
    token = api_login(client)
    response = _report(client, comment.id, "spam", token=token, note="buy now links")
    assert response.status_code == 202
    twice = _report(client, comment.id, "abuse", token=token)
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "already_reported"
    db.session.expire_all()
    assert comment.report_count == 1
    report = db.session.scalar(db.select(Report))
    assert (report.reporter_key, report.reason, report.note) == (
        f"user:{accounts.find_user('reader').id}", "spam", "buy now links")


def test_guests_report_once_per_address(client, site):
    comment = post(make_thread(site))
    assert _report(client, comment.id, ip="10.0.0.1").status_code == 202
    assert _report(client, comment.id, ip="10.0.0.1").status_code == 409
    assert _report(client, comment.id, ip="10.0.0.2").status_code == 202


def test_enough_reports_hold_a_comment_for_moderation(client, site):
    comment = post(make_thread(site))
    for n in range(3):
        assert _report(client, comment.id, ip=f"10.0.0.{n}").status_code == 202
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.status == Status.PENDING
    assert comment.held_reasons[-1] == {"rule": "reports", "detail": "3 reports"}
    page = client.get("/api/v1/threads?site=demo&key=article-1").get_json()
    assert page["comments"] == []
    assert page["thread"]["comment_count"] == 0


def test_a_sites_own_threshold_wins(client, site):
    site.report_threshold = 1
    comment = post(make_thread(site))
    _report(client, comment.id)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == Status.PENDING


@pytest.mark.parametrize(("data", "status", "field"), [
    ({"reason": "rude"}, 400, "reason"),
    ({"reason": None}, 400, "reason"),
    ({"reason": "other", "note": "x" * 501}, 400, "note"),
    ({"reason": "other", "note": 5}, 400, "note"),
])
def test_bad_reports_get_a_clear_error(client, site, data, status, field):
    comment = post(make_thread(site))
    response = client.post(f"/api/v1/comments/{comment.id}/report", json=data)
    assert response.status_code == status
    assert field in response.get_json()["error"]["fields"]


def test_authors_cannot_report_their_own_comment(client, site):
    author = make_user()
    comment = post(make_thread(site), actor=Actor(user=author))
    response = _report(client, comment.id, token=api_login(client))
    assert response.status_code == 403


def test_guest_browser_owning_a_comment_cannot_report_it(app, site):
    from discuss import reports
    from discuss.errors import Forbidden

    comment = post(make_thread(site), actor=guest("k" * 40))
    with pytest.raises(Forbidden):
        reports.report_comment(comment, guest("k" * 40), "spam")
