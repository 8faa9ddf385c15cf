"""Events: one row per comment posted, approved or deleted, and what the commit sets off (reply
mail, live updates, outbox writers): nothing for a held comment until it is approved."""

from __future__ import annotations

import queue
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from discuss import comments, events, moderation, reports, sites
from discuss.extensions import db
from discuss.models import Event, OutboxMessage, Status
from discuss.permissions import Actor
from discuss.web import dispatch, live
from tests.accounts_helpers import make_user
from tests.conftest import guest, make_thread, post


@pytest.fixture
def app_settings():
    return {"DISCUSS_RATELIMIT_ENABLED": False}


@pytest.fixture
def pre_site(app):
    site = sites.create_site("held", origins=["https://news.example.com"], moderation="pre")
    db.session.commit()
    return site


@pytest.fixture
def mod(pre_site, site):
    return make_user("mod", moderator_of=[pre_site, site], verified=True)


def recorded(comment_id: int | None = None) -> list[tuple[str, bool]]:
    query = select(Event).order_by(Event.id)
    if comment_id is not None:
        query = query.where(Event.comment_id == comment_id)
    return [(e.kind, e.public) for e in db.session.scalars(query)]


@pytest.fixture
def stream_of(app):
    """An in-process live inbox for a thread (no Redis set): what an open stream would get."""
    opened: list[tuple[int, queue.SimpleQueue]] = []

    def open_inbox(thread) -> queue.SimpleQueue:
        inbox = live.hub.subscribe(thread.id)
        opened.append((thread.id, inbox))
        return inbox

    yield open_inbox
    for thread_id, inbox in opened:
        live.hub.unsubscribe(thread_id, inbox)


def drain(inbox: queue.SimpleQueue) -> list[dict]:
    got = []
    while not inbox.empty():
        got.append(inbox.get_nowait())
    return got


def test_posting_approving_and_deleting_each_record_one_event(app, pre_site, mod):
    thread = make_thread(pre_site)
    comment = post(thread, "Held for a moderator")
    db.session.commit()
    assert recorded() == [("comment.created", False)]
    moderation.act_on_comments([comment.id], "approve", Actor(user=mod))
    db.session.commit()
    moderation.act_on_comments([comment.id], "delete", Actor(user=mod))
    db.session.commit()
    assert recorded() == [("comment.created", False), ("comment.approved", True),
                          ("comment.deleted", False)]
    [first, second, third] = db.session.scalars(select(Event).order_by(Event.id))
    assert first.id < second.id < third.id
    assert (third.site_id, third.thread_id, third.comment_id) == \
        (pre_site.id, thread.id, comment.id)


def test_a_comment_posted_approved_is_public_at_once(app, site):
    comment = post(make_thread(site), "Published on a post-moderated site")
    db.session.commit()
    assert recorded(comment.id) == [("comment.created", True)]


def test_an_author_deleting_their_comment_records_it(app, site):
    author = guest("a" * 40)
    comment = post(make_thread(site), "Oops", actor=author)
    db.session.commit()
    comments.delete_comment(comment, author)
    db.session.commit()
    assert recorded(comment.id) == [("comment.created", True), ("comment.deleted", False)]


def test_a_rolled_back_post_leaves_no_event_and_sends_nothing(app, site, stream_of):
    thread = make_thread(site)
    db.session.commit()
    inbox = stream_of(thread)
    post(thread, "Never committed")
    db.session.rollback()
    assert recorded() == []
    assert drain(inbox) == []


def test_a_reported_comment_held_then_approved_is_published_again(app, site, mod, stream_of):
    thread = make_thread(site)
    comment = post(thread, "Something some find rude")
    db.session.commit()
    inbox = stream_of(thread)
    for i in range(3):
        reports.report_comment(comment, Actor(ip_hash=f"reader-{i}"), "abuse", "rude",
                               default_threshold=3)
    db.session.commit()
    assert comment.status == Status.PENDING
    moderation.act_on_comments([comment.id], "approve", Actor(user=mod))
    db.session.commit()
    assert recorded(comment.id)[-1] == ("comment.approved", True)
    [message] = drain(inbox)
    assert message["comment"]["id"] == comment.id
    assert message["comment"]["html"] == "<p>Something some find rude</p>"


def test_approving_spam_publishes_it(app, site, mod, stream_of):
    thread = make_thread(site)
    comment = post(thread, "Not spam after all")
    moderation.act_on_comments([comment.id], "spam", Actor(user=mod))
    db.session.commit()
    inbox = stream_of(thread)
    moderation.act_on_comments([comment.id], "approve", Actor(user=mod))
    db.session.commit()
    assert [m["comment"]["status"] for m in drain(inbox)] == ["approved"]


def test_an_import_records_no_event(app, site):
    thread = make_thread(site)
    comments.import_comment(thread, "From the old service", parent=None, name="Old reader",
                            email="", status=Status.APPROVED,
                            created_at=datetime(2020, 1, 1, tzinfo=UTC))
    db.session.commit()
    assert recorded() == []


def outbox_to(address: str) -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.subject)
                                   .where(OutboxMessage.recipient == address)))


def test_pending_reply_mails_and_streams_nothing_until_approved(app, pre_site, mod, stream_of):
    author = make_user("alice", verified=True)
    thread = make_thread(pre_site)
    parent = comments.post_comment(pre_site.slug, thread.key, Actor(user=mod),
                                   "A moderator's question")
    parent.user_id = author.id  # Alice's question, posted approved
    parent.notify = True
    db.session.commit()
    inbox = stream_of(thread)
    reply = post(thread, "A reply that waits", parent=parent, name="Bob")
    db.session.commit()
    assert reply.status == Status.PENDING
    assert outbox_to("alice@example.org") == []
    assert drain(inbox) == []

    moderation.act_on_comments([reply.id], "approve", Actor(user=mod))
    db.session.commit()
    [message] = drain(inbox)
    assert message["comment"]["id"] == reply.id
    assert message["comment"]["parent_id"] == parent.id
    assert message["comment"]["author"]["name"] == "Bob"
    assert "replies" not in message["comment"]
    assert outbox_to("alice@example.org") == ["Bob replied to your comment on An article"]


def test_outbox_writers_get_the_transactions_events_in_order_before_the_commit(
        app, site, monkeypatch):
    seen: list[list[tuple[str, int]]] = []

    def writer(recorded_events: list[Event]) -> None:
        seen.append([(e.kind, e.comment_id) for e in recorded_events])
        assert all(e.id is not None for e in recorded_events)  # flushed: ids known

    monkeypatch.setattr(dispatch, "OUTBOX_WRITERS", (*dispatch.OUTBOX_WRITERS, writer))
    thread = make_thread(site)
    first = post(thread, "One")
    second = post(thread, "Two")
    db.session.commit()
    comments.delete_comment(first, Actor(user=make_user("admin", is_admin=True)))
    db.session.commit()
    db.session.commit()  # a commit with nothing in it hands over an empty list
    assert seen[-1] == []
    assert [batch for batch in seen if batch] == [
        [("comment.created", first.id), ("comment.created", second.id)],
        [("comment.deleted", first.id)]]


def test_a_bulk_action_whose_one_comment_conflicts_publishes_the_others(app, pre_site, mod,
                                                                        stream_of):
    thread = make_thread(pre_site)
    waiting = post(thread, "Waiting")
    gone = post(thread, "Already rejected")
    moderation.act_on_comments([gone.id], "reject", Actor(user=mod))
    db.session.commit()
    inbox = stream_of(thread)
    results = moderation.act_on_comments([waiting.id, gone.id], "approve", Actor(user=mod),
                                         expected="pending")
    db.session.commit()
    assert [r.result for r in results] == ["ok", "conflict"]
    assert [m["comment"]["id"] for m in drain(inbox)] == [waiting.id]


def test_public_since_resumes_after_an_id_with_public_events_only(app, pre_site, site, mod):
    thread = make_thread(site)
    other = make_thread(pre_site)
    a = post(thread, "a")
    b = post(thread, "b")
    post(other, "held elsewhere")
    comments.delete_comment(a, Actor(user=mod))
    db.session.commit()
    created = {e.comment_id: e.id for e in db.session.scalars(
        select(Event).where(Event.kind == "comment.created"))}
    assert [e.comment_id for e in events.public_since(thread.id, 0)] == [a.id, b.id]
    assert [e.comment_id for e in events.public_since(thread.id, created[a.id])] == [b.id]
    assert events.public_since(thread.id, created[a.id], limit=0) == []
    assert events.public_since(other.id, 0) == []


def test_an_unknown_event_kind_is_refused(app, site):
    comment = post(make_thread(site))
    with pytest.raises(ValueError, match="unknown event kind"):
        events.record("comment.liked", comment)
