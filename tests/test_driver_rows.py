"""extensions.driver_rows runs hot statements through SQLAlchemy's private
``Connection._cursor_execute``: these tests fail when a SQLAlchemy upgrade changes what it
relies on (the method, its arguments, events, echo, error translation)."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import Connection, bindparam, event, literal, select
from sqlalchemy.exc import DBAPIError

from discuss import accounts, comments, reading, sites, threads, votes
from discuss.extensions import FastRead, db, driver_rows
from discuss.models import Comment, Status, Thread
from discuss.permissions import Actor
from tests.conftest import post


def test_the_private_method_is_still_there_with_the_arguments_used():
    parameters = list(inspect.signature(Connection._cursor_execute).parameters)
    assert parameters[:4] == ["self", "cursor", "statement", "parameters"]


def test_driver_rows_answers_and_fires_the_cursor_events(app):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = db.engine
    positional = engine.dialect.paramstyle in ("qmark", "format", "numeric")
    sql = "SELECT 1 + ?" if engine.dialect.paramstyle == "qmark" else "SELECT 1 + %(n)s"
    params = (41,) if positional else {"n": 41}
    event.listen(engine, "before_cursor_execute", before)
    try:
        with engine.connect() as connection:
            assert driver_rows(connection, sql, params) == [(42,)]
            assert driver_rows(connection, "CREATE TEMPORARY TABLE t (x INTEGER)") == []
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert seen == [sql, "CREATE TEMPORARY TABLE t (x INTEGER)"]


def test_driver_rows_fails_as_sqlalchemys_errors(app):
    with db.engine.connect() as connection, pytest.raises(DBAPIError):
        driver_rows(connection, "SELECT * FROM no_such_table")


def test_a_fast_read_gives_the_rows_sqlalchemy_gives(app):
    """FastRead (the thread's state, a reader's own comments and votes, counts) answers with
    the same values as running the statement through SQLAlchemy: aware timestamps, booleans,
    the fixed values it holds (statuses) compared as stored."""
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="pre")
    site.min_submit_seconds = 0
    thread = threads.get_or_create_thread(site, "a", "https://news.example.com/a", "A")
    reader = accounts.create_user("carol", "carol@example.com", "tangerine-violin-88-orbit")
    held = post(thread, "Carol's words, waiting", actor=Actor(user=reader))
    other = post(thread, "Someone else's")
    comments.set_status(other, Status.APPROVED)
    db.session.commit()
    votes.vote(other, Actor(user=reader), -1)
    thread.closed = True
    db.session.commit()

    statement = (
        select(Comment.id, Comment.created_at, Comment.status, Thread.closed, literal(7),
               Comment.edited_at)
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.key == bindparam("key"), Comment.status == Status.PENDING)
    )
    fast = FastRead(statement)
    with db.engine.connect() as connection:
        expected = [tuple(row) for row in connection.execute(statement, {"key": "a"})]
        got = fast.rows(connection, {"key": "a"})
    assert got == expected == [(held.id, held.created_at, "pending", True, 7, None)]
    assert got[0][1].tzinfo is not None

    state = reading.thread_state("demo", "a")
    assert (state.id, state.created_at, state.closed) == (thread.id, thread.created_at, True)
    sliver = reading.viewer_sliver(thread.id, Actor(user=reader))
    assert sliver.own == {held.id}
    assert sliver.held
    assert sliver.votes == {other.id: -1}
    assert reading.count_comments("demo", ["a", "b", "a"]) == {"a": 1, "b": 0}
    # The state and the reader's part in one statement: the same as the two reads.
    assert reading.thread_state_and_sliver("demo", "a", Actor(user=reader)) == (state, sliver)
    nobody = Actor(user=accounts.create_user("dan", "dan@example.com",
                                             "tangerine-violin-88-orbit"))
    db.session.commit()
    assert reading.thread_state_and_sliver("demo", "a", nobody) == (
        state, reading.viewer_sliver(thread.id, nobody))


def test_objects_made_from_single_reads_are_as_the_orm_loads_them(app):
    """A site, a thread and a token with its user, read as single reads at the start of a
    request (extensions.RowRead, accounts.live_token), are the same values as the ORM loads,
    unchanged in the session (a commit writes nothing), and their relationships load."""
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="pre")
    thread = threads.get_or_create_thread(site, "a", "https://news.example.com/a", "A")
    user = accounts.create_user("carol", "carol@example.com", "tangerine-violin-88-orbit")
    raw, _ = accounts.create_api_token(user, "test", days=30)
    sites.appoint_moderator(site, "carol")
    db.session.commit()

    def columns(obj) -> dict:
        return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}

    ids = {"site": (type(site), site.id), "thread": (Thread, thread.id),
           "user": (type(user), user.id)}
    db.session.remove()
    expected = {name: columns(db.session.get(model, id_)) for name, (model, id_) in ids.items()}
    db.session.remove()

    with app.test_request_context("/"):
        loaded_site = threads.get_site("demo")
        loaded_thread = threads.find_thread(loaded_site, "a")
        token = accounts.live_token(raw)
        written = []

        def note(conn, cursor, statement, *args) -> None:
            written.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert columns(loaded_site) == expected["site"]
            assert columns(loaded_thread) == expected["thread"]
            assert columns(token.user) == expected["user"]
            assert loaded_thread.site is loaded_site
            assert not db.session.dirty
            db.session.commit()
            assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                           for s in written)
            assert [s.slug for s in token.user.moderated_sites] == ["demo"]
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        db.session.remove()
