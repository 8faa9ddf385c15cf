"""One writer at a time on a SQLite database, handed over without sleeping.

SQLite lets one connection write at a time. A connection that finds the lock taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between tries: when writes are short and
many (a story going viral), the waiting, not the writing, sets the pace. Every app process on
the machine therefore queues for a file lock next to the database (``<db>-writer.lock``) before
it begins a write transaction, and gives it back right after COMMIT or ROLLBACK; the next
writer is let in within a fraction of a millisecond. The SQLite lock stays the real guard:
another program writing without this lock only meets SQLite's own busy wait.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

POLL_SECONDS = 0.0002
_FD = "discuss_writer_fd"
_HELD = "discuss_writer_held"


def lock_path(database: str) -> str:
    return database + "-writer.lock"


class WriterLock:
    """The file lock of one SQLite database, taken per DBAPI connection (each connection has
    its own open file, so threads of one process queue too)."""

    def __init__(self, database: str, timeout: float) -> None:
        self.path = lock_path(database)
        self.timeout = timeout

    def acquire(self, info: dict) -> None:
        fd = info.get(_FD)
        if fd is None:
            fd = info[_FD] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OperationalError("BEGIN IMMEDIATE", {},
                                           sqlite3.OperationalError("database is locked")) from None
                time.sleep(POLL_SECONDS)
        info[_HELD] = True

    @staticmethod
    def release(info: dict) -> None:
        if info.pop(_HELD, False):
            fcntl.flock(info[_FD], fcntl.LOCK_UN)

    @staticmethod
    def close(info: dict) -> None:
        WriterLock.release(info)
        fd = info.pop(_FD, None)
        if fd is not None:
            os.close(fd)


def install(engine: Engine, timeout: float) -> WriterLock:
    """Release the lock whenever a transaction ends, however it ends: COMMIT, ROLLBACK, a
    connection returned to the pool with its transaction open, or one thrown away."""
    lock = WriterLock(engine.url.database or "", timeout)

    def end(connection, how: str) -> None:
        info = connection.connection.info
        if info.get(_HELD):
            try:
                # Finish the transaction ourselves, then let the next writer in; the DBAPI
                # call SQLAlchemy makes next finds nothing left to do.
                getattr(connection.connection.dbapi_connection, how)()
            finally:
                lock.release(info)

    event.listen(engine, "commit", lambda connection: end(connection, "commit"))
    event.listen(engine, "rollback", lambda connection: end(connection, "rollback"))

    def reset(dbapi_connection, connection_record, reset_state) -> None:
        record = connection_record
        if record.info.get(_HELD):
            try:
                dbapi_connection.rollback()
            finally:
                lock.release(record.info)

    event.listen(engine, "reset", reset)
    event.listen(engine, "invalidate", lambda dbapi, record, exc: lock.close(record.info))
    event.listen(engine, "close", lambda dbapi, record: lock.close(record.info))
    return lock
