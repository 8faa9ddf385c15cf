"""extensions.driver_rows runs hot statements through SQLAlchemy's private
``Connection._cursor_execute``: these tests fail when a SQLAlchemy upgrade changes what it
relies on (the method, its arguments, events, echo, error translation)."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError

from discuss.extensions import db, driver_rows


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
