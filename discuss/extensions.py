"""The Flask extensions, created unbound and bound to an app in create_app().

Owns the SQLAlchemy declarative Base with its constraint naming convention, so that Alembic
migrations name every index and constraint the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from contextvars import ContextVar

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

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
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A write request takes the write lock up front: upgrading a read transaction later
        # fails at once with "database is locked" when another writer got there first.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")
