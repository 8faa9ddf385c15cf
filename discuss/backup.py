"""Consistent copies of a SQLite database while the service runs (sqlite3's online backup API).

The backup API copies page by page inside read transactions, so writers keep going and the copy
is a snapshot of one moment. PostgreSQL has its own tools (pg_dump); this module refuses it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from discuss.errors import InvalidInput


def sqlite_path(database_url: str) -> Path:
    """The file behind a sqlite:/// URL, or InvalidInput for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise InvalidInput("discuss backup copies SQLite files; for PostgreSQL use pg_dump "
                           "(see the README's Backups section).")
    return Path(url.database)


def backup_sqlite(database_url: str, destination: Path, *, pages_per_step: int = 1024) -> int:
    """Copy the live database to ``destination`` (a new file); returns its size in bytes."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise InvalidInput(f"There is no database at {source_path}.")
    destination = Path(destination)
    if destination.exists():
        raise InvalidInput(f"{destination} exists already; choose a new file name.")
    if destination.resolve() == source_path.resolve():
        raise InvalidInput("The backup must go to another file than the database.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target, pages=pages_per_step)
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"The copy failed its integrity check: {check}")
    partial.rename(destination)
    return destination.stat().st_size
