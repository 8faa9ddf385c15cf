"""Disqus XML exports (Admin → Export): ``<disqus>`` with ``<category>``, ``<thread dsq:id>``
and ``<post dsq:id>`` elements, threads first. A post's ``<message>`` is HTML."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from discuss.imported_html import html_to_markdown
from discuss.importers.core import SourceComment, SourceThread, parse_time
from discuss.importers.summary import Summary
from discuss.importers.xmlstream import attribute, child, is_true, local, records, text
from discuss.models import Status

SOURCE = "disqus"


def read(stream: BinaryIO, summary: Summary, name: str) -> Iterator[SourceThread | SourceComment]:
    for element in records(stream, root="disqus", depth=1, name=name):
        kind = local(element.tag)
        if kind == "thread":
            ident = text(element, "id")
            yield SourceThread(
                ref=attribute(element, "id") or ident, link=text(element, "link"), ident=ident,
                title=text(element, "title"), closed=is_true(text(element, "isClosed")),
                deleted=is_true(text(element, "isDeleted")))
        elif kind == "post":
            post_id = attribute(element, "id")
            if not post_id:
                summary.skip("no_id")
                continue
            author = child(element, "author")
            name_ = email = ""
            if author is not None:
                name_ = text(author, "name") or text(author, "username")
                email = text(author, "email")
            if is_true(text(element, "isSpam")):
                status = Status.SPAM
            elif is_true(text(element, "isDeleted")):
                status = Status.DELETED
            else:
                status = Status.APPROVED
            message = child(element, "message")
            yield SourceComment(
                source_id=post_id,
                thread_ref=attribute(child(element, "thread"), "id"),
                parent_ref=attribute(child(element, "parent"), "id") or None,
                body=html_to_markdown(message.text or "" if message is not None else ""),
                name=name_, email=email, status=status,
                created_at=parse_time(text(element, "createdAt"), summary))
