"""Isso's SQLite database (the ``dbpath`` of its configuration), read without changing it.

``threads(id, uri, title)``; ``comments(tid, id, parent, created, modified, mode, text, author,
email, website, likes, dislikes, …)`` with ``mode`` 1 approved, 2 pending, 4 deleted (a deleted
comment that has replies keeps its row without text). ``text`` is the Markdown as typed; Isso
HTML-escapes ``author`` and ``email`` when it stores them, so they are unescaped here."""

from __future__ import annotations

import hashlib
import html
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import pathname2url

from discuss.importers.core import (
    ImportFailed,
    Progress,
    SourceComment,
    SourceThread,
)
from discuss.importers.summary import Summary
from discuss.models import Status

SOURCE = "isso"
MODES = {1: Status.APPROVED, 2: Status.PENDING, 4: Status.DELETED}
NEEDED = {"threads": {"id", "uri", "title"},
          "comments": {"tid", "id", "parent", "created", "mode", "text", "author", "email"}}


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _prefix(db: sqlite3.Connection) -> str:
    """What tells this Isso's comment ids from another Isso's: a digest of its session key
    (never the key itself, which signs Isso's cookies)."""
    try:
        row = db.execute("SELECT value FROM preferences WHERE key = 'session-key'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    return hashlib.sha256(str(row[0]).encode()).hexdigest()[:16] + ":" if row else ""


def read(path: Path, summary: Summary, name: str,
         progress: Progress) -> Iterator[SourceThread | SourceComment]:
    uri = f"file:{pathname2url(str(path.resolve()))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise ImportFailed(f"{name}: cannot open the Isso database ({exc}).") from exc
    try:
        yield from _read(db, summary, name, progress)
    except sqlite3.DatabaseError as exc:
        raise ImportFailed(f"{name}: the Isso database cannot be read ({exc}).") from exc
    finally:
        db.close()


def _read(db: sqlite3.Connection, summary: Summary, name: str,
          progress: Progress) -> Iterator[SourceThread | SourceComment]:
    for table, columns in NEEDED.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if not have:
            raise ImportFailed(f"{name}: a SQLite database, but not Isso's: it has no "
                               f"'{table}' table.")
        if columns - have:
            raise ImportFailed(f"{name}: the Isso table '{table}' lacks the columns "
                               f"{', '.join(sorted(columns - have))}.")
    prefix = _prefix(db)
    comment_columns = {row[1] for row in db.execute("PRAGMA table_info(comments)")}
    votes = ("likes", "dislikes") if {"likes", "dislikes"} <= comment_columns else ("0", "0")
    modified = "modified" if "modified" in comment_columns else "NULL"
    total = db.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    progress.start(total, "comments")
    for thread_id, thread_uri, title in db.execute("SELECT id, uri, title FROM threads "
                                                   "ORDER BY id"):
        yield SourceThread(ref=str(thread_id), link="", ident=str(thread_uri or ""),
                           title=str(title or ""), key=str(thread_uri or "") or None)
    rows = db.execute(
        f"SELECT tid, id, parent, created, {modified}, mode, text, author, email, "  # noqa: S608
        f"{votes[0]}, {votes[1]} FROM comments ORDER BY id")
    for done, row in enumerate(rows, start=1):
        tid, comment_id, parent, created, edited, mode, body, author, email, up, down = row
        status = MODES.get(mode)
        if status is None:
            summary.note("unknown_status")
            status = Status.PENDING
        yield SourceComment(
            source_id=f"{prefix}{comment_id}", thread_ref=str(tid),
            parent_ref=f"{prefix}{parent}" if parent not in (None, 0, "0") else None,
            body=str(body or ""), name=html.unescape(str(author or "")),
            email=html.unescape(str(email or "")),
            status=status, created_at=_time(created),
            edited_at=_time(edited) if edited is not None else None,
            votes=(max(0, int(up or 0)), max(0, int(down or 0))))
        progress.advance(done)
