"""Posting writes its rows with its own statements (no unit of work) and reads what it checks
as single reads: what it leaves in the session is what the ORM would have left, events keep
their savepoint semantics, and the checks stay indexed reads however many accounts there are."""

from __future__ import annotations

import pytest
from sqlalchemy import event, inspect, select, text

from discuss import comments, events, sites
from discuss.extensions import db
from discuss.models import Comment, Event, EventKind, Thread
from discuss.names import _STAFF, staff_names
from tests.accounts_helpers import make_user
from tests.conftest import guest, make_thread, post


@pytest.fixture
def app_settings():
    return {"DISCUSS_RATELIMIT_ENABLED": False}


def _columns(obj) -> dict:
    return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}


def test_a_posts_comment_and_event_are_the_rows_the_database_holds(app, site):
    """The comment and its event, made from the written values, equal the rows read back;
    the session holds them unchanged (the commit writes neither again), and a reply's place
    in the tree is its parent's. The request starts with nothing loaded, as a real one does:
    the site, thread and checks are single reads."""
    thread = make_thread(site)
    first = post(thread, "The *first* word")
    db.session.commit()
    slug, key, first_id, thread_id = site.slug, thread.key, first.id, thread.id
    db.session.remove()
    statements: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with app.test_request_context("/"):
            reply = comments.post_comment(slug, key, guest(), "A reply", first_id, name="Ann")
            [recorded] = db.session.info[events.RECORDED_KEY]
            assert inspect(reply).persistent
            assert inspect(recorded).persistent
            assert not db.session.dirty
            assert not db.session.new
            assert recorded.comment is reply
            assert reply.thread.site.slug == slug
            written = (_columns(reply), _columns(recorded))
            writes = [s for s in statements if "INSERT INTO" in s]
            assert len(writes) == 2
            db.session.commit()
            assert [s for s in statements if "INSERT INTO" in s] == writes
            db.session.remove()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    stored_comment = db.session.get(Comment, written[0]["id"])
    stored_event = db.session.get(Event, written[1]["id"])
    # The commit's reply notice marks the reply as dealt with (parent_notified); the rest is
    # as written.
    assert stored_comment.parent_notified
    assert {**_columns(stored_comment), "parent_notified": False} == written[0]
    assert _columns(stored_event) == written[1]
    assert (stored_comment.root_id, stored_comment.depth, stored_comment.parent_id) == (
        first_id, 1, first_id)
    assert db.session.get(Thread, thread_id).comment_count == 2


def test_an_event_recorded_in_a_rolled_back_savepoint_is_left_out_the_others_kept(app, site):
    thread = make_thread(site)
    kept = post(thread, "Kept")
    savepoint = db.session.begin_nested()
    events.record(EventKind.DELETED, kept)
    savepoint.rollback()
    after = post(thread, "After")
    taken = events.take_recorded(db.session())
    assert [(e.kind, e.comment_id) for e in taken] == [
        (EventKind.CREATED, kept.id), (EventKind.CREATED, after.id)]
    db.session.commit()
    assert [(e.kind, e.comment_id) for e in db.session.scalars(select(Event).order_by(Event.id))
            ] == [(EventKind.CREATED, kept.id), (EventKind.CREATED, after.id)]


def test_a_comment_written_in_a_rolled_back_savepoint_leaves_the_session_too(app, site):
    """As the ORM's flush would: the row is gone and so is its object, so the next comment
    (which may be given the same id) is written and loaded without a clash."""
    thread = make_thread(site)
    savepoint = db.session.begin_nested()
    inside = post(thread, "Rolled back")
    savepoint.rollback()
    assert inspect(inside).transient
    after = post(thread, "After")
    db.session.commit()
    assert [c.body for c in db.session.scalars(
        select(Comment).where(Comment.thread_id == thread.id))] == ["After"]
    assert after.body == "After"
    assert db.session.get(Thread, thread.id).comment_count == 1


def test_staff_names_are_the_admins_and_the_sites_moderators(app, site):
    other = sites.create_site("other", origins=["https://other.example.com"])
    db.session.commit()
    admin = make_user("root", is_admin=True)
    mod = make_user("mia", moderator_of=[site])
    make_user("olga", moderator_of=[other])
    make_user("reader")
    db.session.commit()
    assert {user_id for user_id, _ in staff_names(site.id)} == {admin.id, mod.id}
    assert len({user_id for user_id, _ in staff_names(None)}) == 3


def test_the_staff_read_does_not_scan_every_account(app):
    """Every guest's post reads the staff's names: the admins by their partial index and the
    moderators by theirs, on a site with any number of accounts."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan (PostgreSQL plans by table statistics)")
    for one_site, read in _STAFF.items():
        sql = str(read.statement.compile(dialect=db.engine.dialect))
        params = (1,) if one_site else ()
        with db.engine.connect() as connection:
            plan = [row[-1] for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql, params)]
        assert any("ix_users_admins" in step for step in plan), plan
        assert not any(step.startswith("SCAN users") and "INDEX" not in step
                       for step in plan), plan


def test_the_admins_index_is_in_the_schema(app):
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(text(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_users_admins'")).all()
    else:
        rows = db.session.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_users_admins'")).all()
    assert rows
    assert "is_admin" in rows[0][0]
