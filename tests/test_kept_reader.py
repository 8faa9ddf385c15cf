"""A server that runs one request at a time per process (a gunicorn sync worker) keeps its
single-read connection from one request to the next; a threaded one gives it back to the pool
after each request. Either way a reader sees the latest writes, an idle connection is pinged
before use, a dropped one is replaced, and the app's engine takes it along when disposed."""

from __future__ import annotations

from sqlalchemy import event

from discuss import extensions
from discuss.extensions import db, reader_engine
from tests.conftest import make_thread, post

COUNTS = "/api/v1/counts?site=demo&key=article-1"
THREADED = {"wsgi.multithread": True}


def count(client, checkouts: list[int] | None = None, **environ) -> int:
    """The thread's count as a reader gets it; ``checkouts`` notes how many connections the
    request took from the pool."""
    reader = reader_engine(db.engine)
    taken: list[int] = []

    def note(*args) -> None:
        taken.append(1)

    event.listen(reader, "checkout", note)
    try:
        response = client.get(COUNTS, environ_overrides=environ)
    finally:
        event.remove(reader, "checkout", note)
    if checkouts is not None:
        checkouts.append(len(taken))
    assert response.status_code == 200
    return response.get_json()["counts"]["article-1"]


def test_one_request_at_a_time_keeps_the_connection_and_sees_new_comments(client, site):
    thread = make_thread(site)
    db.session.commit()
    checkouts: list[int] = []
    assert count(client, checkouts) == 0
    for expected in (1, 2, 3):
        post(thread)
        db.session.commit()
        # The kept connection holds no old snapshot.
        assert count(client, checkouts) == expected
    assert checkouts == [1, 0, 0, 0]
    assert reader_engine(db.engine).pool.checkedout() >= 1


def test_a_threaded_server_gives_the_connection_back_after_each_request(client, site):
    make_thread(site)
    db.session.commit()
    before = reader_engine(db.engine).pool.checkedout()
    checkouts: list[int] = []
    for _ in range(3):
        assert count(client, checkouts, **THREADED) == 0
    assert checkouts == [1, 1, 1]
    assert reader_engine(db.engine).pool.checkedout() == before


def test_an_idle_kept_connection_is_pinged_and_a_dropped_one_replaced(client, site,
                                                                      monkeypatch):
    make_thread(site)
    db.session.commit()
    clock = [1000.0]
    monkeypatch.setattr(extensions.time, "monotonic", lambda: clock[0])
    pings: list[int] = []
    real_ping = db.engine.dialect.do_ping
    monkeypatch.setattr(type(reader_engine(db.engine).dialect), "do_ping",
                        lambda self, dbapi_connection: pings.append(1) or real_ping(
                            dbapi_connection))
    checkouts: list[int] = []
    assert count(client, checkouts) == 0
    clock[0] += extensions.IDLE_PING_SECONDS / 2
    assert count(client, checkouts) == 0
    assert pings == []  # used a moment ago: used as it is
    clock[0] += extensions.IDLE_PING_SECONDS * 2
    assert count(client, checkouts) == 0
    assert len(pings) == 1  # idle: asked first
    assert checkouts == [1, 0, 0]
    # One that does not answer the ping after sitting idle is replaced before the request
    # uses it.
    dialect_type = type(reader_engine(db.engine).dialect)
    error = db.engine.dialect.loaded_dbapi.OperationalError

    def dead(self, dbapi_connection) -> None:
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(dialect_type, "do_ping", dead)
    clock[0] += extensions.IDLE_PING_SECONDS * 2
    assert count(client, checkouts) == 0
    assert checkouts == [1, 0, 0, 1]
    monkeypatch.setattr(dialect_type, "do_ping", real_ping.__func__)
    # A connection the server dropped (invalidated on its failing statement) is replaced.
    [(kept, _)] = [v for k, v in extensions._kept.by_engine.items()
                   if k is reader_engine(db.engine)]
    kept.invalidate()
    assert count(client, checkouts) == 0
    assert checkouts == [1, 0, 0, 1, 1]


def test_disposing_the_engine_gives_the_kept_connection_back(client, site):
    make_thread(site)
    db.session.commit()
    assert count(client) == 0
    reader = reader_engine(db.engine)
    assert reader in extensions._kept.by_engine
    db.engine.dispose()
    assert reader not in extensions._kept.by_engine
    assert reader.pool.checkedout() == 0
