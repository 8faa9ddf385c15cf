"""A fresh database reaches the models' schema through the migrations alone."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from discuss import create_app
from discuss.extensions import db
from tests.conftest import SECRET


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    base = os.environ.get("DISCUSS_TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        yield "sqlite:///" + str(tmp_path / "migrated.sqlite3")
        return
    name = f"discuss_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database_url, tmp_path):
    os.environ["DISCUSS_INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app({"DISCUSS_DATABASE_URL": empty_database_url, "DISCUSS_SECRET_KEY": SECRET})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(inspect(conn).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert {"sites", "threads", "comments", "users", "votes", "reports"} <= tables
