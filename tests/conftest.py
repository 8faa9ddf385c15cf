"""Fixtures: an app and a clean database per test (SQLite, or PostgreSQL with
DISCUSS_TEST_DATABASE_URL), query counting, and helpers that build data through the domain."""

from __future__ import annotations

import contextvars
import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event, text

from discuss import comments, create_app, sites, threads
from discuss.extensions import db, reader_engine
from discuss.models import Comment, Site, Thread, utcnow
from discuss.permissions import Actor
from tests.legs import available, in_ci

SECRET = "test-secret-key-that-is-long-enough"
LEGS = available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs = {"browser": "chromium", "redis": "redis", "postgres": "postgres", "nginx": "nginx"}
    for item in items:
        for marker, leg in needs.items():
            if item.get_closest_marker(marker) and not LEGS[leg]:
                if in_ci():
                    pytest.fail(f"{leg} is missing under CI=true", pytrace=False)
                item.add_marker(pytest.mark.skip(reason=f"{leg} is not available here"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DISCUSS_TEST_DATABASE_URL")
    if not url:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    schema_app = create_app({"DISCUSS_DATABASE_URL": url, "DISCUSS_SECRET_KEY": SECRET})
    with schema_app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def make_app(database_url: str, tmp_path, **overrides) -> Flask:
    settings = {
        "DISCUSS_DATABASE_URL": database_url,
        "DISCUSS_SECRET_KEY": SECRET,
        "DISCUSS_PUBLIC_URL": "http://localhost",
        "TESTING": True,
    }
    settings.update(overrides)
    os.environ["DISCUSS_INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app(settings)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app_settings() -> dict:
    """Override in a test module (or parametrize) to change settings for its app."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path, app_settings: dict) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path, **app_settings)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.rollback()
            _empty_tables()
            db.session.remove()
            db.engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: each in its own app context (own
    ``g``, own database session), after the test's own work has been committed."""

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask):
    """``with count_queries() as q: …`` then ``q.count`` is the number of SQL statements."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany) -> None:
            if not statement.lstrip().upper().startswith(
                    ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")):
                counter.statements.append(statement)

        # Single reads go to their own engine on PostgreSQL (extensions.reader_engine).
        engines = {db.engine, reader_engine(db.engine)}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def site(app: Flask) -> Site:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    db.session.commit()
    return site


def guest(key: str = "g" * 40, ip: str = "ip-1") -> Actor:
    return Actor(guest_key=key, ip_hash=ip)


def make_thread(site: Site, key: str = "article-1") -> Thread:
    return threads.get_or_create_thread(site, key, "https://news.example.com/a", "An article")


_bodies = itertools.count(1)


def post(thread: Thread, body: str | None = None, *, actor: Actor | None = None,
         parent: Comment | None = None, name: str = "Reader",
         now: datetime | None = None) -> Comment:
    """A comment through the domain; without a body, a new one each time (no duplicates)."""
    body = body if body is not None else f"Comment number {next(_bodies)}"
    return comments.post_comment(thread.site.slug, thread.key, actor or guest(), body,
                                 parent.id if parent else None, name=name, now=now)


def csrf_header(client: FlaskClient) -> dict[str, str]:
    """The X-CSRF-Token header a browser page sends: read from an HTML page's meta tag."""
    page = client.get("/csrf-probe-page-that-does-not-exist").get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match, "HTML pages must carry the csrf-token meta tag"
    return {"X-CSRF-Token": match.group(1)}


def minutes_ago(n: int) -> datetime:
    return utcnow() - timedelta(minutes=n)


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch):
    """A real SMTP server the app sends to; every message a test ``expect``s must arrive."""
    from tests.mailbox import start_server

    controller, box = start_server()
    # Like a WSGI server, read each response to the end and close it: mail queued by a
    # request is sent when its response closes.
    plain_open = IsolatedClient.open
    monkeypatch.setattr(IsolatedClient, "open",
                        lambda self, *a, **kw: plain_open(self, *a, **{"buffered": True, **kw}))
    app.config["DISCUSS_MAIL_HOST"] = "127.0.0.1"
    app.config["DISCUSS_MAIL_PORT"] = controller.port
    try:
        yield box
        assert len(box.messages) == box.expected, (
            f"expected {box.expected} mail(s), got {len(box.messages)}: "
            f"{[m['Subject'] for m in box.messages]}")
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _no_unexpected_smtp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Fail any test that talks SMTP without the ``mailbox`` fixture (no mail leaves a test)."""
    if "mailbox" in request.fixturenames:
        return
    import smtplib

    def refuse(*args, **kwargs):
        pytest.fail("this test sent mail over SMTP without the mailbox fixture")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
