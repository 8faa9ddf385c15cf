"""Our own JSON export (``discuss export``), through the same writer as every other format.

Thread keys are kept as exported, whatever ``--key`` says. Comment ids are made unique by the
exporting site's slug, so importing the same file again adds nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from discuss import transfer
from discuss.errors import DiscussError
from discuss.importers.core import (
    ImportFailed,
    SourceComment,
    SourceThread,
    parse_time,
)
from discuss.importers.summary import Summary
from discuss.models import Status

SOURCE = "discuss"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def read(stream: BinaryIO, summary: Summary, name: str) -> Iterator[SourceThread | SourceComment]:
    try:
        document = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f"line {exc.lineno}, column {exc.colno}: " if isinstance(
            exc, json.JSONDecodeError) else ""
        raise ImportFailed(f"{name}: {where}the file is not valid JSON ({exc}).") from exc
    try:
        threads = transfer.check_document(document)
    except DiscussError as exc:
        raise ImportFailed(f"{name}: {exc.message}") from exc
    origin = _text(document.get("site")) or "?"
    for number, thread in enumerate(threads, start=1):
        key = _text(thread.get("key"))
        ref = f"#{number}"
        yield SourceThread(ref=ref, link=_text(thread.get("url")), title=_text(thread.get("title")),
                           closed=thread.get("closed") is True, key=key or None)
        items = thread.get("comments")
        if not isinstance(items, list):
            raise ImportFailed(f"{name}: thread {key!r}: 'comments' must be a list.")
        for item in items:
            if not isinstance(item, dict) or item.get("id") is None:
                summary.skip("no_id")
                continue
            try:
                status = Status(item.get("status", "approved"))
            except ValueError:
                summary.note("unknown_status")
                status = Status.PENDING
            parent = item.get("parent_id")
            yield SourceComment(
                source_id=f"{origin}:{item['id']}", thread_ref=ref,
                parent_ref=f"{origin}:{parent}" if parent is not None else None,
                body=_text(item.get("body")), name=_text(item.get("name")),
                email=_text(item.get("email")), status=status,
                created_at=parse_time(_text(item.get("created_at")), summary),
                edited_at=parse_time(_text(item.get("edited_at")), summary),
                pinned=item.get("pinned") is True)
