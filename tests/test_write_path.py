"""Posting stays cheap as a site grows, and SQLite writers never leave each other waiting."""

from __future__ import annotations

import fcntl
import os
from datetime import timedelta

import pytest

from discuss import writelock
from discuss.extensions import db
from discuss.models import Comment, Status, Thread, utcnow
from tests.conftest import make_thread, post


@pytest.fixture
def app_settings():
    return {"DISCUSS_RATELIMIT_ENABLED": False}


def _post(client, key: str, body: str, guest_key: str = "r" * 40, **extra):
    """A post as an integrator's script sends it: the guest key in a header, no cookies."""
    client._cookies.clear()
    return client.post("/api/v1/comments", json={"site": "demo", "key": key, "body": body,
                                                  "name": "Reader", **extra},
                       headers={"X-Discuss-Guest": guest_key})


def test_posting_costs_the_same_few_statements_in_a_small_and_a_big_thread(
        client, site, count_queries):
    small = make_thread(site, "small")
    big = make_thread(site, "big")
    for n in range(300):
        post(big, f"older comment {n}")
    db.session.commit()
    assert _post(client, "small", "warm-up").status_code == 201
    with count_queries() as first_in_new_thread:
        assert _post(client, "new-article", "The first comment here").status_code == 201

    with count_queries() as into_small:
        assert _post(client, "small", "A first thought").status_code == 201
    with count_queries() as into_big:
        assert _post(client, "big", "A late thought").status_code == 201
    parent = db.session.scalar(db.select(Comment.id).where(Comment.thread_id == big.id)
                               .limit(1))
    with count_queries() as reply:
        assert _post(client, "big", "A reply", parent_id=parent).status_code == 201

    # site and thread, the staff's names (a guest's name must not look like theirs), bans,
    # duplicate guard, insert, root, thread counter, the comment.created event: on SQLite the
    # root is part of the insert, on PostgreSQL both the root and the counter are (one statement,
    # one round trip)
    assert into_small.count == into_big.count <= {"sqlite": 8, "postgresql": 7}[
        db.engine.dialect.name], "\n".join(into_small.statements)
    # a reply (no root to set): + the parent, and the reply notice's look at the reply and its
    # parent at commit
    assert reply.count <= 9 + 3, "\n".join(reply.statements)
    assert first_in_new_thread.count <= into_small.count + 2, \
        "\n".join(first_in_new_thread.statements)
    db.session.expire_all()
    assert db.session.get(Thread, small.id).comment_count == 2
    assert db.session.get(Thread, big.id).comment_count == 302


def test_the_answer_to_a_post_is_the_stored_comment(client, site):
    answer = _post(client, "article", "Hello *there*").get_json()
    db.session.expire_all()
    stored = db.session.get(Comment, answer["id"])
    assert stored.status == Status.APPROVED
    assert stored.root_id == stored.id
    assert stored.depth == 0
    assert answer["html"] == stored.html == "<p>Hello <em>there</em></p>"
    reply = _post(client, "article", "Indeed", parent_id=stored.id).get_json()
    db.session.expire_all()
    stored_reply = db.session.get(Comment, reply["id"])
    assert (stored_reply.root_id, stored_reply.depth, stored_reply.parent_id) == \
        (stored.id, 1, stored.id)


def test_the_duplicate_guard_still_sees_an_hour_back_and_only_the_same_author(client, site):
    assert _post(client, "article", "Same words").status_code == 201
    again = _post(client, "article", "Same   WORDS")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "duplicate"
    # Another reader (another browser key and address) may say the same thing.
    client._cookies.clear()
    other = client.post("/api/v1/comments", json={
        "site": "demo", "key": "article", "body": "Same words", "name": "Other"},
        headers={"X-Discuss-Guest": "o" * 40}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 201
    # An hour later the first reader may repeat themselves.
    db.session.execute(db.update(Comment).values(created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert _post(client, "article", "Same words").status_code == 201


def _writer_lock_is_free(app) -> bool:
    path = writelock.lock_path(db.engine.url.database)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_every_write_request_hands_the_sqlite_writer_lock_back(app, client, site):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writer lock is SQLite's")
    assert _post(client, "article", "Accepted").status_code == 201
    assert _writer_lock_is_free(app)
    # Refused after the write transaction began (a duplicate), and refused by a bad request.
    assert _post(client, "article", "Accepted").status_code == 409
    assert _writer_lock_is_free(app)
    assert _post(client, "article", "").status_code == 400
    assert _writer_lock_is_free(app)
    client._cookies.clear()
    assert client.post("/api/v1/comments", data="{not json",
                       content_type="application/json").status_code == 400
    assert _writer_lock_is_free(app)
    assert _post(client, "elsewhere", "Posting goes on").status_code == 201


def test_a_writer_that_cannot_get_the_lock_in_time_gets_a_503(app, client, site, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writer lock is SQLite's")
    monkeypatch.setattr(writelock.WriterLock, "acquire",
                        _acquire_with_timeout(writelock.WriterLock.acquire, 0.05))
    path = writelock.lock_path(db.engine.url.database)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process is writing and does not finish
    try:
        answer = _post(client, "article", "Waiting in vain")
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"]
    assert _post(client, "article", "Now it goes through").status_code == 201


def _acquire_with_timeout(acquire, seconds: float):
    def short(self, info):
        self.timeout = seconds
        return acquire(self, info)
    return short
