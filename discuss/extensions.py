"""The Flask extensions, created unbound and bound to an app in create_app().

Owns the SQLAlchemy declarative Base with its constraint naming convention, so that Alembic
migrations name every index and constraint the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from weakref import WeakKeyDictionary

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Connection, Dialect, Engine, MetaData, Select, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
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
# How each SQLite engine begins a write transaction on a connection (configure_sqlite).
_WRITE_BEGINNERS: WeakKeyDictionary[Engine, Callable[[Connection], None]] = WeakKeyDictionary()


@event.listens_for(db.session, "after_commit")
def _reads_after_commit_take_no_write_lock(session) -> None:
    # Presenting what was just written (the 201 body) only reads: don't queue for the lock again.
    # A SAVEPOINT released (a nested "commit") ends no transaction: the writes go on.
    if not session.in_nested_transaction():
        sqlite_write_intent.set(False)


def reads_first() -> None:
    """A write request that looks things up before it writes: its first transaction only
    reads, so on SQLite it takes no write lock (call ``begin_writes`` before the first write)."""
    sqlite_write_intent.set(False)


def begin_writes() -> None:
    """The reads are done, the writes come next. On SQLite the read-only transaction ends and
    a write transaction begins on the same connection, queueing for the lock: the lock is held
    for the writes alone, not for the checks. Everything the session loaded stays loaded and
    the session's own transaction goes on (its COMMIT or ROLLBACK ends the write). What the
    checks read may change in between; that is as if the post had come a moment earlier or
    later. Elsewhere nothing changes: the same transaction goes on."""
    if sqlite_write_intent.get():
        return
    session = db.session()
    if session.in_transaction():
        connection = session.connection()
        begin_write = _WRITE_BEGINNERS.get(connection.engine)
        if begin_write is not None:
            # Ended and begun on the driver's connection: a session COMMIT and a new session
            # transaction would cost more than the INSERT they make room for.
            driver_rows(connection, "COMMIT")
            begin_write(connection)
    sqlite_write_intent.set(True)


def driver_rows(connection: Connection, statement: str,
                parameters: Sequence | Mapping = ()) -> list[tuple]:
    """Run SQL in the driver's own parameter style on ``connection``; the rows it returns.

    For hot, tiny statements: exec_driver_sql builds an execution context and a CursorResult
    per call, which costs more than SQLite takes to answer an indexed read. This goes through
    ``Connection._cursor_execute`` (private: tests/test_driver_rows.py fails when it changes),
    the path SQLAlchemy takes for its own side statements, so the statement still fires the
    before/after_cursor_execute events, is echoed when logging is on, and fails as
    SQLAlchemy's errors (OperationalError: a 503; a dropped connection is invalidated). Unlike
    execute() it does not begin a transaction: on a fresh connection a single statement is its
    own (SQLite runs it alone, psycopg's implicit transaction ends when the pool takes the
    connection back); after other statements it runs in theirs.
    """
    cursor = connection.connection.cursor()
    try:
        connection._cursor_execute(cursor, statement, parameters)
        try:
            return cursor.fetchall() if cursor.description else []
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(statement, parameters, exc,
                                      connection.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


class FastRead:
    """A Core SELECT for the hottest reads, compiled once per database dialect and run
    through ``driver_rows``, its values converted as SQLAlchemy converts them (timestamps,
    booleans): the same rows as ``connection.execute(statement, params)``, at a fraction of
    its per-call cost (tests/test_driver_rows.py compares the two)."""

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        # dialect key → (SQL, parameter names in the driver's order or None when it takes
        # them by name, the values of the statement's own literals, result processors)
        self._compiled: dict[tuple, tuple[str, tuple[str, ...] | None, dict, tuple]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, dict, tuple]:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        entry = self._compiled.get(key)
        if entry is None:
            compiled = self.statement.compile(dialect=dialect)
            if "POSTCOMPILE" in compiled.string:
                raise ValueError("FastRead: write IN of fixed values as equalities")
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            processors = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                               for column in self.statement.selected_columns)
            # The values the statement holds itself (literals), the rest come with each call,
            # as the driver takes them (an enum member as its stored string).
            own = {}
            for name, bind in compiled.binds.items():
                if not bind.required and bind.value is not None:
                    convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
                    own[name] = convert(bind.value) if convert else bind.value
            entry = (compiled.string, names, own, processors)
            self._compiled[key] = entry
        return entry

    def rows(self, connection: Connection, params: Mapping[str, object]) -> list[tuple]:
        """The rows for ``params``: plain values (str, int), as the driver takes them."""
        sql, names, defaults, processors = self._compile(connection.dialect)
        values = {**defaults, **params}
        rows = driver_rows(connection, sql,
                           values if names is None else tuple(values[n] for n in names))
        if not any(processors):
            return rows
        return [tuple(value if convert is None or value is None else convert(value)
                      for convert, value in zip(processors, row, strict=True)) for row in rows]


def one_read(engine: Engine) -> Connection:
    """A pooled connection for a single reading statement. On PostgreSQL it runs in
    autocommit: the statement is its own transaction, with no BEGIN before it and no ROLLBACK
    when the pool takes the connection back (three round trips become one). SQLite's
    driver_rows reads begin nothing already."""
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


# A pooled PostgreSQL connection idle this long is pinged before use (a server restart drops
# it); one back from a request a moment ago is used as it is.
IDLE_PING_SECONDS = 10.0


def ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled server connection on checkout only when it sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: on PostgreSQL a round trip per
    request to another process, which cost the counts and thread reads more than their own
    query. A connection used a moment ago was alive then; one that sat idle (a restart may have
    dropped it) is pinged, and a dead one is replaced before the request uses it, as
    pre-ping does. A connection that dies during a busy spell fails its request once (a 503)
    and the pool drops every connection of the old server."""
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy) -> None:
        returned = record.info.pop("returned_at", None)
        if returned is None or time.monotonic() - returned < IDLE_PING_SECONDS:
            return  # new, or back from a request a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError("pooled connection dropped") from exc
            raise


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

    def begin_write(connection: Connection) -> None:
        # A write takes the write lock up front: upgrading a read transaction later fails at
        # once with "database is locked" when another writer got there first.
        if writer is not None:
            writer.acquire(connection.connection.info)
        try:
            driver_rows(connection, "BEGIN IMMEDIATE")
        except BaseException:
            writelock.WriterLock.release(connection.connection.info)
            raise

    _WRITE_BEGINNERS[engine] = begin_write

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if sqlite_write_intent.get():
            begin_write(connection)
        else:
            driver_rows(connection, "BEGIN")  # costs as much as the query it guards otherwise
