"""The Flask extensions, created unbound and bound to an app in create_app().

Owns the SQLAlchemy declarative Base with its constraint naming convention, so that Alembic
migrations name every index and constraint the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from contextvars import ContextVar

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

from discuss import writelock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# Set by the web edge for each request: True when it is a write (POST, PATCH, DELETE…).
sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)


@event.listens_for(db.session, "after_commit")
def _reads_after_commit_take_no_write_lock(session) -> None:
    # Presenting what was just written (the 201 body) only reads: don't queue for the lock again.
    sqlite_write_intent.set(False)


def reads_first() -> None:
    """A write request that looks things up before it writes: its first transaction only
    reads, so on SQLite it takes no write lock (call ``begin_writes`` before the first write)."""
    sqlite_write_intent.set(False)


def begin_writes() -> None:
    """The reads are done, the writes come next. On SQLite the read-only transaction ends
    (everything it loaded stays loaded) and the next statement begins a write transaction,
    which queues for the lock: the lock is held for the writes alone, not for the checks.
    What the checks read may change in between; that is as if the post had come a moment
    earlier or later. Elsewhere nothing changes: the same transaction goes on."""
    if sqlite_write_intent.get():
        return
    session = db.session()
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        keep = session.expire_on_commit
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = keep
    sqlite_write_intent.set(True)


def _driver_begin(connection, statement: str) -> None:
    """Emit BEGIN on the DBAPI connection itself: through exec_driver_sql it costs as much as
    the query it guards. Errors still reach the app as SQLAlchemy's (a busy database: 503)."""
    try:
        connection.connection.driver_connection.execute(statement).close()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave like a real transactional database.

    pysqlite starts transactions lazily and lets RELEASE of an outer SAVEPOINT commit, so a
    rolled-back request could leave half its writes; emitting BEGIN ourselves fixes that
    (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#pysqlite-serializable). Foreign keys
    are enforced, and WAL lets readers go on while one writer writes.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")  # the writer lock's timeout too (below)
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    on_disk = engine.url.database not in (None, "", ":memory:")
    writer = writelock.install(engine, timeout=10.0) if on_disk else None

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A write request takes the write lock up front: upgrading a read transaction later
        # fails at once with "database is locked" when another writer got there first.
        if not sqlite_write_intent.get():
            _driver_begin(connection, "BEGIN")
            return
        if writer is not None:
            writer.acquire(connection.connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writelock.WriterLock.release(connection.connection.info)
            raise
