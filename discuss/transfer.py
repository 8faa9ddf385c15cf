"""Export a site's threads and comments as JSON, and import them again (here or elsewhere).

The format is our own and versioned: {"format": "discuss-export", "version": 1, "site": slug,
"threads": [{"key", "url", "title", "closed", "comments": [{"id", "parent_id", "name", "email",
"username", "body", "status", "created_at", "edited_at", "pinned"}]}]}. Comments are listed
parents first. Imported comments become guest comments under their author's name and email
(accounts are not created), keep their status and time, and are rendered by our renderer.
Functions here flush; the CLI commits once per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from discuss import comments, reading
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Comment, Site, Status, Thread
from discuss.threads import get_or_create_thread

FORMAT = "discuss-export"
VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_threads(site: Site) -> Iterator[dict[str, Any]]:
    """Each thread of the site with all its comments (every status), one thread at a time."""
    threads = db.session.scalars(select(Thread).where(Thread.site_id == site.id)
                                 .order_by(Thread.id))
    for thread in threads:
        rows = db.session.scalars(
            select(Comment).options(joinedload(Comment.author))
            .where(Comment.thread_id == thread.id).order_by(Comment.created_at, Comment.id)
        ).unique()
        yield {
            "key": thread.key, "url": thread.url, "title": thread.title,
            "closed": thread.closed,
            "comments": [
                {
                    "id": c.id, "parent_id": c.parent_id,
                    "name": reading.author_name(c),
                    "email": c.author.email if c.author is not None else c.guest_email,
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


def _time(value: object, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{what} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"{what} has no time zone: {value!r}")
    return parsed


def import_thread(site: Site, data: dict[str, Any]) -> int:
    """Import one exported thread into the site (merging into an existing thread of the same
    key); returns how many comments it added."""
    thread = get_or_create_thread(site, data.get("key"), data.get("url") or None,
                                  data.get("title"))
    items = data.get("comments")
    if not isinstance(items, list):
        raise InvalidInput(f"Thread {data.get('key')!r}: 'comments' must be a list.")
    imported: dict[object, Comment] = {}
    for item in items:
        if not isinstance(item, dict):
            raise InvalidInput(f"Thread {thread.key!r}: each comment must be an object.")
        try:
            status = Status(item.get("status", "approved"))
        except ValueError as exc:
            raise InvalidInput(f"Comment {item.get('id')!r}: unknown status.") from exc
        parent_ref = item.get("parent_id")
        parent = imported.get(parent_ref) if parent_ref is not None else None
        if parent_ref is not None and parent is None:
            raise InvalidInput(f"Comment {item.get('id')!r}: its parent {parent_ref!r} does "
                               "not come before it in this thread.")
        imported[item.get("id")] = comments.import_comment(
            thread, item.get("body"), parent=parent, name=item.get("name"),
            email=item.get("email"), status=status,
            created_at=_time(item.get("created_at"), f"Comment {item.get('id')!r}"),
            edited_at=(_time(item["edited_at"], f"Comment {item.get('id')!r}")
                       if item.get("edited_at") else None),
            pinned=bool(item.get("pinned", False)),
        )
    if data.get("closed"):
        thread.closed = True
    db.session.flush()
    return len(imported)
