"""The Flask extensions, created unbound and bound to an app in create_app().

Owns the SQLAlchemy declarative Base with its constraint naming convention, so that Alembic
migrations name every index and constraint the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from flask import has_request_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    MetaData,
    Select,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

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


# Set while the session holds a connection with its transaction (it has read or written).
_CONNECTED = "discuss.connected"


@event.listens_for(db.session, "after_begin")
def _note_connection(session, transaction, connection) -> None:
    session.info[_CONNECTED] = True


@event.listens_for(db.session, "after_transaction_end")
def _forget_connection(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTED, None)


def session_is_reading() -> bool:
    """True when the request's session has begun a transaction on the database (it read or
    wrote through it): a read that must see what the request wrote goes through it. Objects
    merely added to the session begin nothing there."""
    return bool(db.session().info.get(_CONNECTED))


M = TypeVar("M")


@cache
def _layout(model: type, columns: tuple) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The attribute of each column, and where the primary key's columns are among them."""
    mapper = model.__mapper__
    keys = tuple(mapper.get_property_by_column(c).key for c in columns)
    primary = tuple(next(n for n, c in enumerate(columns) if c is key)
                    for key in mapper.primary_key)
    return keys, primary


def as_loaded(model: type[M], columns: tuple, values: Sequence) -> M:
    """``model``'s row (``values`` of its table's ``columns``) as the session would have
    loaded it: the object already in the session's identity map if there is one, else one
    made from the values and added to the session as persistent and unchanged (no SQL), its
    relationships loaded when first used."""
    keys, primary = _layout(model, columns)
    present = db.session.identity_map.get(identity_key(model, tuple(values[n] for n in primary)))
    if present is not None:
        return present
    return _persistent(model, dict(zip(keys, values, strict=True)))


def as_written(model: type[M], values: Mapping[str, object]) -> M:
    """A row the request has just written with its own statement (``values`` by attribute,
    its key included; related objects may be given too) as a persistent, unchanged object of
    the session: what a flush of a new object would have left, without the unit of work. As
    after a flush, a rollback of the transaction (or of the savepoint) that wrote it takes it
    out of the session again."""
    instance = _persistent(model, values)
    session = db.session()
    if session._transaction is not None:
        session._transaction._new[instance_state(instance)] = True  # as Session.flush notes it
    return instance


def _persistent(model: type[M], values: Mapping[str, object]) -> M:
    instance = model.__mapper__.class_manager.new_instance()
    # As the ORM's own loading does: values put in the instance's dict are what it loaded
    # (no change history); make_transient_to_detached then gives it its identity.
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    # Session.add without its save-update cascade, which walks every relationship of the
    # model to find related objects to add: those given here are the session's already.
    # (Private; tests/test_driver_rows.py fails if it stops making the object persistent.)
    db.session()._update_impl(instance_state(instance))
    return instance


class RowRead:
    """One ORM object by a prebuilt query: as a single read (``FastRead`` on ``one_read``)
    whose row becomes the session's object when the session has begun nothing, else by the
    ORM in the session's transaction (which sees what the request wrote)."""

    def __init__(self, model: type, *where: Any) -> None:
        self.model = model
        self.columns = tuple(model.__table__.columns)
        self.orm = select(model).where(*where)
        self.fast = FastRead(select(*self.columns).where(*where))

    def one(self, params: Mapping[str, object]) -> Any:
        if session_is_reading():
            return db.session.scalar(self.orm, params)
        with one_read(db.engine) as connection:
            rows = self.fast.rows(connection, params)
        return as_loaded(self.model, self.columns, rows[0]) if rows else None


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
    # Not inside a savepoint: its transaction holds writes already, which must commit with
    # what follows, not before it.
    if session_is_reading() and not session.in_nested_transaction():
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
    return _cursor_rows(connection, statement, parameters)[0]


def _cursor_rows(connection: Connection, statement: str, parameters: Sequence | Mapping,
                 describe: bool = False, has_rows: bool = False) -> tuple[list[tuple], tuple]:
    """``driver_rows`` and, when asked (``describe``), the type codes of the columns. The
    driver's description is read only when needed: psycopg builds it anew each time (a
    statement that ``has_rows``, a SELECT, is fetched without asking)."""
    cursor = connection.connection.cursor()
    try:
        connection._cursor_execute(cursor, statement, parameters)
        try:
            if has_rows and not describe:
                return cursor.fetchall(), ()
            description = cursor.description
            if not description:
                return [], ()
            return cursor.fetchall(), (tuple(column[1] for column in description)
                                       if describe else ())
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(statement, parameters, exc,
                                      connection.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


_Compiled = tuple[str, tuple[str, ...] | None, dict, tuple, tuple | None]


class FastRead:
    """A Core SELECT for the hottest reads (or a hot write with RETURNING, ``write_rows``),
    compiled once per database dialect and run through ``driver_rows``, its parameters and
    values converted as SQLAlchemy converts them (timestamps, booleans, enums, JSON): the
    same rows as ``connection.execute(statement, params)``, at a fraction of its per-call
    cost (tests/test_driver_rows.py compares the two)."""

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        # dialect key → (SQL, parameter names in the driver's order or None when it takes
        # them by name, the values of the statement's own literals, the converters of the
        # parameters that need one, result processors once the first answer told the column
        # types)
        self._compiled: dict[tuple, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        entry = self._compiled.get(key)
        if entry is None:
            compiled = self.statement.compile(dialect=dialect)
            if "POSTCOMPILE" in compiled.string:
                raise ValueError("FastRead: write IN of fixed values as equalities")
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            # The values the statement holds itself (literals) are converted once; those that
            # come with each call are converted as SQLAlchemy would (a timestamp for SQLite, an
            # enum member as its stored string) when their type needs it.
            own, converters = {}, []
            for name, bind in compiled.binds.items():
                convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if not bind.required and bind.value is not None:
                    own[name] = convert(bind.value) if convert else bind.value
                elif convert is not None:
                    converters.append((name, convert))
            entry = (compiled.string, names, own, tuple(converters), None)
            self._compiled[key] = entry
        return entry

    def rows(self, connection: Connection, params: Mapping[str, object]) -> list[tuple]:
        """The rows for ``params`` (values as given to ``connection.execute``)."""
        dialect = connection.dialect
        sql, names, defaults, converters, processors = self._compile(dialect)
        values = {**defaults, **params}
        for name, convert in converters:
            if values.get(name) is not None:
                values[name] = convert(values[name])
        rows, codes = _cursor_rows(connection, sql,
                                   values if names is None else tuple(values[n] for n in names),
                                   describe=processors is None, has_rows=True)
        if processors is None:
            # Made once, from the first answer's column types as SQLAlchemy makes them (a
            # PostgreSQL number's converter depends on the type the server says it sent).
            processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, code)
                for column, code in zip(self.statement.exported_columns, codes, strict=True))
            key = (dialect.name, dialect.driver, dialect.paramstyle)
            self._compiled[key] = (sql, names, defaults, converters, processors)
        if not any(processors):
            return rows
        return [tuple(value if convert is None or value is None else convert(value)
                      for convert, value in zip(processors, row, strict=True)) for row in rows]


# Set for each request by the app (DiscussFlask.request_context): its server runs one request
# at a time in this process (WSGI's multithread flag is false).
one_request_at_a_time: ContextVar[bool] = ContextVar("discuss_one_at_a_time", default=False)


# The connection a request keeps for its single reads, given back at its end.
_request_reader: ContextVar[Connection | None] = ContextVar("discuss_reader", default=None)


class _KeptReaders(threading.local):
    """A thread's single-read connection kept from one request to the next, by engine, with
    when it was last used."""

    def __init__(self) -> None:
        self.by_engine: dict[Engine, tuple[Connection, float]] = {}


_kept = _KeptReaders()


@contextmanager
def one_read(engine: Engine) -> Iterator[Connection]:
    """A pooled connection for single reading statements. On PostgreSQL it runs in
    autocommit: each statement is its own transaction, with no BEGIN before it and no ROLLBACK
    when the pool takes the connection back (three round trips become one). SQLite's
    driver_rows reads begin nothing already. In a request the same connection serves each
    of its single reads (a signed-in reader's page makes three); elsewhere it goes back after
    the block.

    A server that runs one request at a time per process (a sync worker, whose WSGI environ
    says it is not multithreaded) keeps it from one request to the next, as it holds no
    transaction: no pool checkout and return on every request. One that sat idle longer than
    IDLE_PING_SECONDS is pinged first, as a pooled one is. Threaded servers give it back to
    the pool at each request's end (``release_reader``), so that threads share the pool."""
    reader = reader_engine(engine)
    if not has_request_context():
        with reader.connect() as connection:
            yield connection
        return
    connection = _request_reader.get()
    if connection is None or connection.engine is not reader or connection.invalidated:
        release_reader()
        connection = _kept_reader(reader) if one_request_at_a_time.get() else reader.connect()
        _request_reader.set(connection)
    yield connection


def _kept_reader(reader: Engine) -> Connection:
    kept = _kept.by_engine.get(reader)
    if kept is not None:
        connection, used = kept
        if not connection.invalidated and not connection.closed and (
                time.monotonic() - used < IDLE_PING_SECONDS or _answers(connection)):
            return connection
        _drop_kept(reader)
    connection = reader.connect()
    _kept.by_engine[reader] = (connection, time.monotonic())
    return connection


def _answers(connection: Connection) -> bool:
    """Ping a kept connection that sat idle; one that fails to answer is invalidated (a new
    one is taken, whose failure to connect is the request's 503)."""
    dialect = connection.dialect
    try:
        dialect.do_ping(connection.connection.dbapi_connection)
    except dialect.loaded_dbapi.Error:
        connection.invalidate()
        return False
    return True


def _drop_kept(reader: Engine) -> None:
    kept = _kept.by_engine.pop(reader, None)
    if kept is not None and not kept[0].closed:
        kept[0].close()


def read_rows(read: FastRead, params: Mapping[str, object]) -> list[tuple]:
    """The rows of a prebuilt read: a single read (``one_read``) when the request's session
    has begun nothing, else in the session's transaction, which sees what it wrote (pending
    objects are flushed first, as the ORM's own queries do)."""
    session = db.session()
    if session_is_reading() or session.new:
        session.flush()
        return read.rows(session.connection(), params)
    with one_read(db.engine) as connection:
        return read.rows(connection, params)


def write_rows(write: FastRead, params: Mapping[str, object]) -> list[tuple]:
    """Run a prebuilt write (an INSERT or UPDATE … RETURNING) in the session's transaction:
    what it returns."""
    return write.rows(db.session.connection(), params)


_READER_ENGINES: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def reader_engine(engine: Engine) -> Engine:
    """Where single reads go. On PostgreSQL an engine beside ``engine`` (the same server and
    pool settings, a pool of its own) whose connections stay in autocommit: switching a pooled
    connection into autocommit and back on every checkout cost psycopg more than the counts
    query itself. Elsewhere ``engine`` itself."""
    reader = _READER_ENGINES.get(engine)
    if reader is None:
        reader = engine
        if engine.dialect.name == "postgresql":
            reader = create_engine(engine.url, pool=engine.pool.recreate(),
                                   isolation_level="AUTOCOMMIT")
            ping_idle_connections(reader)
        _READER_ENGINES[engine] = reader

        @event.listens_for(engine, "engine_disposed")
        def _dispose_reader(disposed: Engine) -> None:
            # Its connections go with the engine's (a test's app, a pool reset after a
            # restart): this thread's kept one first, then the pool's.
            _drop_kept(reader)
            if reader is not engine:
                reader.dispose()
    return reader


def release_reader(exc: BaseException | None = None) -> None:
    """The request's end for its single-read connection (a request teardown): a kept one
    notes when it was last used, any other goes back to the pool."""
    connection = _request_reader.get()
    if connection is None:
        return
    _request_reader.set(None)
    kept = _kept.by_engine.get(connection.engine)
    if kept is not None and kept[0] is connection:
        _kept.by_engine[connection.engine] = (connection, time.monotonic())
    else:
        connection.close()


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
