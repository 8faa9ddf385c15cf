"""A request whose database connection dies still ends cleanly (no 500 from the teardown)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from discuss import extensions
from discuss.extensions import db
from discuss.web import errors

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("DISCUSS_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("runs on the PostgreSQL leg")
    return url


def drop_every_connection(postgres_url: str) -> None:
    """What a server restart does to the pool: every other connection to the database ends."""
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    killer.dispose()


def test_closing_a_session_whose_connection_was_killed_does_not_raise(app, postgres_url):
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    errors._close_session(None)  # a plain session.remove() would raise AdminShutdown here
    assert db.session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_request_after_the_database_dropped_its_connections_is_answered(app, client,
                                                                          postgres_url):
    assert client.get("/healthz").status_code == 200
    drop_every_connection(postgres_url)
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/healthz").status_code == 200


def test_a_connection_idle_in_the_pool_is_pinged_and_replaced_when_dropped(
        app, client, postgres_url, monkeypatch):
    """A restart drops pooled connections: the next reader after a quiet spell gets a fresh
    one, not an error (a connection back from a request a moment ago is not pinged)."""
    assert client.get("/healthz").status_code == 200
    drop_every_connection(postgres_url)
    monkeypatch.setattr(extensions, "IDLE_PING_SECONDS", -1.0)  # every pooled one is "idle"
    assert client.get("/healthz").status_code == 200
