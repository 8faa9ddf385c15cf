"""WordPress eXtended RSS (WXR 1.0–1.2, Tools → Export): ``rss/channel/item`` per post or page,
its comments as ``wp:comment`` inside. A comment's content is HTML where WordPress turns one
line break into ``<br>`` and a blank line into a new paragraph.

Files written by discuss (``discuss export --format wxr``) carry what WXR cannot say as post
and comment meta (``discuss_*``): the thread key, the Markdown source, exact times and the
statuses WordPress lacks. They are read back so that a round trip loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

from discuss.imported_html import html_to_markdown
from discuss.importers.core import SourceComment, SourceThread, parse_time
from discuss.importers.summary import Summary
from discuss.importers.xmlstream import local, records, text
from discuss.models import Status

SOURCE = "wordpress"
APPROVED = {"1": Status.APPROVED, "approve": Status.APPROVED, "approved": Status.APPROVED,
            "0": Status.PENDING, "hold": Status.PENDING, "spam": Status.SPAM,
            "trash": Status.DELETED, "post-trashed": Status.DELETED}
# Comment types that are readers' comments; pingbacks and trackbacks are counted apart.
COMMENT_TYPES = ("", "comment")
PING_TYPES = ("pingback", "trackback")
META_KEY = "discuss_thread_key"


def _meta(element: Element, tag: str) -> dict[str, str]:
    meta = {}
    for item in element:
        if local(item.tag) == tag:
            meta[text(item, "meta_key")] = text(item, "meta_value")
    return meta


def _comment(element: Element, thread_ref: str, base: str,
             summary: Summary) -> SourceComment | None:
    kind = text(element, "comment_type").lower()
    if kind in PING_TYPES:
        summary.skip("pingback")
        return None
    if kind not in COMMENT_TYPES:
        summary.skip("other_type")
        return None
    comment_id = text(element, "comment_id")
    if not comment_id:
        summary.skip("no_id")
        return None
    meta = _meta(element, "commentmeta")
    approved = text(element, "comment_approved").lower()
    status = APPROVED.get(approved)
    if meta.get("discuss_status") in set(Status):
        status = Status(meta["discuss_status"])
    elif status is None:
        summary.note("unknown_status")
        status = Status.PENDING
    created = parse_time(meta.get("discuss_created_at"), summary)
    if created is None:
        # comment_date_gmt is UTC by definition; WordPress leaves it 0000-00-00 at times, and
        # comment_date is then the blog's local time, whose zone the file does not give.
        created = (parse_time(text(element, "comment_date_gmt"), summary, zone_known=True)
                   or parse_time(text(element, "comment_date"), summary))
    parent = text(element, "comment_parent")
    body = meta.get("discuss_markdown")
    if body is None:
        body = html_to_markdown(text_of(element, "comment_content"), newlines=True)
    return SourceComment(
        source_id=f"{base}#{comment_id}", thread_ref=thread_ref,
        parent_ref=f"{base}#{parent}" if parent not in ("", "0") else None, body=body,
        name=text(element, "comment_author"), email=text(element, "comment_author_email"),
        status=status, created_at=created,
        edited_at=parse_time(meta.get("discuss_edited_at"), summary),
        pinned=meta.get("discuss_pinned") == "1")


def text_of(element: Element, name: str) -> str:
    """An element's text as it is (content keeps its leading and trailing line breaks)."""
    for item in element:
        if local(item.tag) == name:
            return item.text or ""
    return ""


def read(stream: BinaryIO, summary: Summary, name: str) -> Iterator[SourceThread | SourceComment]:
    base = ""
    for element in records(stream, root="rss", depth=2, name=name):
        kind = local(element.tag)
        if kind in ("link", "base_blog_url") and not base:
            # The blog's address tells its comment ids from another blog's in the same site.
            base = (element.text or "").strip()
            continue
        if kind != "item":
            continue
        post_id = text(element, "post_id")
        link = text(element, "link")
        key = _meta(element, "postmeta").get(META_KEY) or None
        found = [item for item in element if local(item.tag) == "comment"]
        if not found and key is None:
            continue  # attachments, menus, drafts: not discussions
        ref = post_id or link
        yield SourceThread(ref=ref, link=link, ident=post_id, title=text(element, "title"),
                           closed=text(element, "comment_status") == "closed", key=key)
        for item in found:
            comment = _comment(item, ref, base, summary)
            if comment is not None:
                yield comment
