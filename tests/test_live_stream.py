"""The live-update stream of the plain Flask app (``make run``), without Redis: comments that
become public reach an open stream of their thread in this process; a reconnecting stream
catches up from Last-Event-ID; bad requests get the API's JSON errors."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from discuss import moderation, sites
from discuss.extensions import db
from discuss.models import Event
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import make_thread, post

STREAM = "/api/v1/threads/stream?site=demo&key=article-1"


@pytest.fixture
def app_settings():
    return {"LIVE_KEEPALIVE_SECONDS": 0.05}


class Stream:
    """An open stream read chunk by chunk, as a browser's EventSource would."""

    def __init__(self, response) -> None:
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        self.response = response
        self.chunks = iter(response.response)

    def next_event(self) -> dict:
        """The next `comment` event (keep-alive comments and the retry line skipped)."""
        for _ in range(200):
            chunk = next(self.chunks)
            chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
            if chunk.startswith(("retry:", ":")):
                continue
            fields = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
            assert fields["event"] == "comment"
            return {"id": int(fields["id"]), "comment": json.loads(fields["data"])}
        raise AssertionError("no event")

    def next_chunk(self) -> str:
        chunk = next(self.chunks)
        return chunk.decode() if isinstance(chunk, bytes) else chunk

    def close(self) -> None:
        self.response.close()


def open_stream(client, path: str = STREAM, **headers: str) -> Stream:
    return Stream(client.get(path, headers=headers, buffered=False))


def test_a_new_comment_reaches_an_open_stream_of_its_thread(client, site):
    thread = make_thread(site)
    other = make_thread(site, "article-2")
    db.session.commit()
    stream = open_stream(client)
    try:
        assert stream.next_chunk() == "retry: 3000\n\n"
        post(other, "Elsewhere")
        comment = post(thread, "Hello, *live* readers", name="Ada")
        db.session.commit()
        event = stream.next_event()
        assert event["comment"]["id"] == comment.id
        assert event["comment"]["html"] == "<p>Hello, <em>live</em> readers</p>"
        assert event["comment"]["author"]["name"] == "Ada"
        assert event["comment"]["status"] == "approved"
        assert "replies" not in event["comment"]
        assert "guest_email" not in json.dumps(event)
    finally:
        stream.close()


def test_an_idle_stream_sends_keep_alive_comments(client, site):
    make_thread(site)
    db.session.commit()
    stream = open_stream(client)
    try:
        assert stream.next_chunk().startswith("retry:")
        assert stream.next_chunk() == ": keep-alive\n\n"
    finally:
        stream.close()


def event_ids() -> list[int]:
    return list(db.session.scalars(select(Event.id).order_by(Event.id)))


def test_last_event_id_resumes_with_what_the_stream_missed(client, site):
    thread = make_thread(site)
    post(thread, "One")
    second = post(thread, "Two")
    third = post(thread, "Three")
    db.session.commit()
    one, two, _ = event_ids()
    from_header = open_stream(client, STREAM, **{"Last-Event-ID": str(one)})
    try:
        assert [from_header.next_event()["comment"]["id"] for _ in range(2)] == \
            [second.id, third.id]
    finally:
        from_header.close()
    by_query = open_stream(client, STREAM + f"&last_event_id={two}")
    try:
        event = by_query.next_event()
        assert (event["id"], event["comment"]["id"]) == (event_ids()[2], third.id)
        fourth = post(thread, "Four")
        db.session.commit()
        assert by_query.next_event()["comment"]["id"] == fourth.id
    finally:
        by_query.close()


def test_a_held_comment_is_never_streamed_until_approved(client, app):
    held = sites.create_site("demo", origins=["https://news.example.com"], moderation="pre")
    mod = make_user("mod", moderator_of=[held])
    thread = make_thread(held)
    db.session.commit()
    stream = open_stream(client)
    try:
        waiting = post(thread, "Waits for a moderator")
        db.session.commit()
        by_mod = post(thread, "A moderator's own comment", actor=Actor(user=mod))
        db.session.commit()
        assert stream.next_event()["comment"]["id"] == by_mod.id  # the held one was skipped
        moderation.act_on_comments([waiting.id], "approve", Actor(user=mod))
        db.session.commit()
        event = stream.next_event()
        assert event["comment"]["id"] == waiting.id
        assert event["comment"]["status"] == "approved"
    finally:
        stream.close()


@pytest.mark.parametrize(("query", "status", "code"), [
    ("site=nope&key=article-1", 404, "unknown_site"),
    ("site=demo&key=no-such-article", 404, "unknown_thread"),
    ("key=article-1", 404, "unknown_site"),
    ("site=demo", 400, "invalid"),
    ("site=demo&key=article-1&last_event_id=abc", 400, "invalid"),
    ("site=demo&key=article-1&last_event_id=-1", 400, "invalid"),
    ("site=demo&key=article-1&last_event_id=99999999999999999999", 400, "invalid"),
    ("site=%00&key=article-1", 404, "unknown_site"),
])
def test_a_stream_of_nothing_is_a_json_error(client, site, query, status, code):
    make_thread(site)
    db.session.commit()
    response = client.get(f"/api/v1/threads/stream?{query}")
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_a_bad_last_event_id_header_is_a_400(client, site):
    make_thread(site)
    db.session.commit()
    response = client.get(STREAM, headers={"Last-Event-ID": "1; DROP TABLE"})
    assert response.status_code == 400
    assert "Last-Event-ID" in response.get_json()["error"]["message"]
