"""Our own JSON export (``discuss export``), through the same writer as every other format.

Thread keys are kept as exported, whatever ``--key`` says. Comment ids are made unique by the
exporting site's slug, so importing the same file again adds nothing."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

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
_DECODER = json.JSONDecoder()
_SEPARATORS = re.compile(r"[\s,]*")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


CHUNK = 1 << 20
_HEAD = re.compile(r'\s*\{(?P<head>[^\[\]{}]*?)"threads"\s*:\s*\[')


def _invalid(name: str, exc: ValueError) -> ImportFailed:
    where = (f"line {exc.lineno}, column {exc.colno}: "
             if isinstance(exc, json.JSONDecodeError) else "")
    return ImportFailed(f"{name}: {where}the file is not valid JSON ({exc}).")


def _stream_threads(text: TextIO, buffer: str, name: str) -> Iterator[object]:
    """The objects of the "threads" array, one at a time, from ``buffer`` (just after its
    ``[``) and what follows in ``text``: our export, a thread a line, never read whole."""
    position, ended = 0, False
    while True:
        while True:
            position = _SEPARATORS.match(buffer, position).end()
            if position < len(buffer) or ended:
                break
            buffer, position = text.read(CHUNK), 0
            ended = not buffer
        if position >= len(buffer):
            raise ImportFailed(f"{name}: the file ends inside the list of threads.")
        if buffer[position] == "]":
            return
        try:
            thread, end = _DECODER.raw_decode(buffer, position)
        except json.JSONDecodeError as exc:
            more = "" if ended else text.read(CHUNK)
            if not more:
                raise _invalid(name, exc) from exc
            buffer = buffer[position:] + more
            position = 0
            continue
        yield thread
        buffer, position = buffer[end:], 0


def _document(text: TextIO, name: str) -> tuple[dict, Iterable[object]]:
    """The export's head (format, version, site) and its threads: streamed when the file is
    laid out as our export writes it, read whole otherwise."""
    try:
        buffer = text.read(CHUNK)
        head = _HEAD.match(buffer)
        if head is not None:
            document = json.loads("{" + head.group("head").strip().rstrip(",") + "}")
            if "format" in document:
                return document, _stream_threads(text, buffer[head.end():], name)
        document = json.loads(buffer + text.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _invalid(name, exc) from exc
    return document, (document.get("threads") if isinstance(document, dict) else None) or []


def read(stream: BinaryIO, summary: Summary, name: str) -> Iterator[SourceThread | SourceComment]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig")
    try:
        yield from _read(text, summary, name)
    finally:
        text.detach()  # the file is the caller's to close


def _read(text: TextIO, summary: Summary, name: str) -> Iterator[SourceThread | SourceComment]:
    document, threads = _document(text, name)
    try:
        transfer.check_document({**document, "threads": []} if isinstance(document, dict)
                                else document)
    except DiscussError as exc:
        raise ImportFailed(f"{name}: {exc.message}") from exc
    if not isinstance(document.get("threads", []), list):
        raise ImportFailed(f"{name}: 'threads' must be a list of objects.")
    origin = _text(document.get("site")) or "?"
    for number, thread in enumerate(threads, start=1):
        if not isinstance(thread, dict):
            raise ImportFailed(f"{name}: thread number {number} is not an object.")
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
