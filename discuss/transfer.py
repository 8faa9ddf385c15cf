"""Export a site's threads and comments as JSON, and import them again (here or elsewhere).

The format is our own and versioned: {"format": "discuss-export", "version": 1, "site": slug,
"threads": [{"key", "url", "title", "closed", "comments": [{"id", "parent_id", "name", "email",
"username", "body", "status", "created_at", "edited_at", "pinned"}]}]}. Comments are listed
parents first. Importing goes through discuss.importers (discuss/importers/native.py), like
every other format: comments become guest comments under their author's name and email
(accounts are not created), keep their status and time, and are rendered by our renderer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from discuss import reading
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Comment, Site, Thread

FORMAT = "discuss-export"
VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def thread_rows(site: Site) -> Iterator[tuple[Thread, list[Comment]]]:
    """Each thread of the site with all its comments (every status, authors loaded, oldest
    first), one thread at a time: what every export format writes."""
    threads = db.session.scalars(select(Thread).where(Thread.site_id == site.id)
                                 .order_by(Thread.id))
    for thread in threads:
        rows = db.session.scalars(
            select(Comment).options(joinedload(Comment.author))
            .where(Comment.thread_id == thread.id).order_by(Comment.created_at, Comment.id)
        ).unique()
        yield thread, list(rows)


def author_email(comment: Comment) -> str:
    return comment.author.email if comment.author is not None else comment.guest_email


def export_threads(site: Site) -> Iterator[dict[str, Any]]:
    """Each thread of the site with all its comments (every status), one thread at a time."""
    for thread, rows in thread_rows(site):
        yield {
            "key": thread.key, "url": thread.url, "title": thread.title,
            "closed": thread.closed,
            "comments": [
                {
                    "id": c.id, "parent_id": c.parent_id,
                    "name": reading.author_name(c),
                    "email": author_email(c),
                    "username": c.author.username if c.author is not None else None,
                    "body": c.body, "status": str(c.status),
                    "created_at": _iso(c.created_at), "edited_at": _iso(c.edited_at),
                    "pinned": c.pinned,
                }
                for c in rows
            ],
        }


def count_threads(site: Site) -> int:
    return len(db.session.scalars(select(Thread.id).where(Thread.site_id == site.id)).all())


def check_document(document: object) -> list[dict[str, Any]]:
    """The threads of an export document, or InvalidInput saying what is wrong with it."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidInput("This is not a discuss export (format must be 'discuss-export').")
    if document.get("version") != VERSION:
        raise InvalidInput(f"Unsupported export version {document.get('version')!r}.")
    threads = document.get("threads")
    if not isinstance(threads, list) or not all(isinstance(t, dict) for t in threads):
        raise InvalidInput("'threads' must be a list of objects.")
    return threads
