"""A site's threads and comments as WordPress eXtended RSS (WXR) 1.2, the file WordPress's
importer reads (Tools → Import → WordPress) and so does ours (discuss.importers.wordpress).

Each thread is a post (its url, title, open or closed); each comment a ``wp:comment`` with its
parent, author name and email, UTC time, rendered HTML and status (approved → 1, pending → 0,
spam → spam, deleted and rejected → trash). What WXR cannot say goes into post and comment meta
that WordPress keeps and ignores: the thread key, the Markdown source, the exact times, the
rejected status and pinning, so an export imported into an empty site gives the same threads.
Reads only; knows nothing of Flask.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from typing import TextIO

from discuss import reading, transfer
from discuss.models import Comment, Site, Status, Thread, utcnow

WXR_VERSION = "1.2"
APPROVED = {Status.APPROVED: "1", Status.PENDING: "0", Status.SPAM: "spam",
            Status.DELETED: "trash", Status.REJECTED: "trash"}
# Characters XML 1.0 cannot carry at all (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SLUG = re.compile(r"[^a-z0-9]+")


def cdata(value: str) -> str:
    value = _NOT_XML.sub("", value)
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _wp_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _meta(tag: str, key: str, value: str) -> str:
    return (f"\t\t\t<wp:{tag}>\n\t\t\t\t<wp:meta_key>{cdata(key)}</wp:meta_key>\n"
            f"\t\t\t\t<wp:meta_value>{cdata(value)}</wp:meta_value>\n\t\t\t</wp:{tag}>\n")


def _comment(c: Comment) -> str:
    meta = [("discuss_markdown", c.body), ("discuss_created_at", c.created_at.isoformat())]
    if c.edited_at is not None:
        meta.append(("discuss_edited_at", c.edited_at.isoformat()))
    if c.status == Status.REJECTED:
        meta.append(("discuss_status", str(c.status)))
    if c.pinned:
        meta.append(("discuss_pinned", "1"))
    return (
        "\t\t<wp:comment>\n"
        f"\t\t\t<wp:comment_id>{c.id}</wp:comment_id>\n"
        f"\t\t\t<wp:comment_author>{cdata(reading.author_name(c))}</wp:comment_author>\n"
        "\t\t\t<wp:comment_author_email>"
        f"{cdata(transfer.author_email(c))}</wp:comment_author_email>\n"
        "\t\t\t<wp:comment_author_url></wp:comment_author_url>\n"
        "\t\t\t<wp:comment_author_IP></wp:comment_author_IP>\n"
        f"\t\t\t<wp:comment_date>{cdata(_wp_time(c.created_at))}</wp:comment_date>\n"
        f"\t\t\t<wp:comment_date_gmt>{cdata(_wp_time(c.created_at))}</wp:comment_date_gmt>\n"
        f"\t\t\t<wp:comment_content>{cdata(c.html)}</wp:comment_content>\n"
        f"\t\t\t<wp:comment_approved>{cdata(APPROVED[c.status])}</wp:comment_approved>\n"
        f"\t\t\t<wp:comment_type>{cdata('comment')}</wp:comment_type>\n"
        f"\t\t\t<wp:comment_parent>{c.parent_id or 0}</wp:comment_parent>\n"
        "\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n"
        + "".join(_meta("commentmeta", key, value) for key, value in meta)
        + "\t\t</wp:comment>\n"
    )


def _item(thread: Thread, rows: list[Comment], base_url: str) -> str:
    created = thread.created_at
    guid = thread.url or f"{base_url.rstrip('/')}/?discuss-thread={thread.id}"
    name = _SLUG.sub("-", thread.key.lower()).strip("-")[:200] or f"thread-{thread.id}"
    fields = [
        f"<title>{cdata(thread.title)}</title>",
        f"<link>{cdata(thread.url)}</link>",
        f"<pubDate>{format_datetime(created)}</pubDate>",
        f"<dc:creator>{cdata('discuss')}</dc:creator>",
        f"<guid isPermaLink=\"false\">{cdata(guid)}</guid>",
        "<description></description>",
        f"<content:encoded>{cdata('')}</content:encoded>",
        f"<excerpt:encoded>{cdata('')}</excerpt:encoded>",
        f"<wp:post_id>{thread.id}</wp:post_id>",
        f"<wp:post_date>{cdata(_wp_time(created))}</wp:post_date>",
        f"<wp:post_date_gmt>{cdata(_wp_time(created))}</wp:post_date_gmt>",
        f"<wp:comment_status>{cdata('closed' if thread.closed else 'open')}</wp:comment_status>",
        f"<wp:ping_status>{cdata('closed')}</wp:ping_status>",
        f"<wp:post_name>{cdata(name)}</wp:post_name>",
        f"<wp:status>{cdata('publish')}</wp:status>",
        "<wp:post_parent>0</wp:post_parent>",
        "<wp:menu_order>0</wp:menu_order>",
        f"<wp:post_type>{cdata('post')}</wp:post_type>",
        f"<wp:post_password>{cdata('')}</wp:post_password>",
        "<wp:is_sticky>0</wp:is_sticky>",
    ]
    return ("\t<item>\n" + "".join(f"\t\t{field}\n" for field in fields)
            + _meta("postmeta", "discuss_thread_key", thread.key).replace("\t\t\t", "\t\t", 1)
            + "".join(_comment(c) for c in rows) + "\t</item>\n")


def write_wxr(site: Site, out: TextIO, *, base_url: str,
              on_thread: Callable[[], None] = lambda: None) -> None:
    """Write the site as WXR 1.2 to ``out``, one thread at a time."""
    out.write(
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        f"<!-- A WordPress eXtended RSS (WXR {WXR_VERSION}) file: the discussions of the "
        "discuss site ")
    out.write(site.slug + ", for WordPress's importer or discuss's. -->\n")
    out.write(
        '<rss version="2.0"\n'
        '\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\txmlns:wp="http://wordpress.org/export/1.2/"\n>\n<channel>\n'
        f"\t<title>{cdata(site.name or site.slug)}</title>\n"
        f"\t<link>{cdata(base_url)}</link>\n"
        "\t<description></description>\n"
        f"\t<pubDate>{format_datetime(utcnow())}</pubDate>\n"
        "\t<language>en</language>\n"
        f"\t<wp:wxr_version>{WXR_VERSION}</wp:wxr_version>\n"
        f"\t<wp:base_site_url>{cdata(base_url)}</wp:base_site_url>\n"
        f"\t<wp:base_blog_url>{cdata(base_url)}</wp:base_blog_url>\n"
        # The posts' author, for WordPress's importer to map to one of its users.
        f"\t<wp:author><wp:author_id>1</wp:author_id><wp:author_login>{cdata('discuss')}"
        f"</wp:author_login><wp:author_email>{cdata('')}</wp:author_email>"
        f"<wp:author_display_name>{cdata('discuss')}</wp:author_display_name>"
        f"<wp:author_first_name>{cdata('')}</wp:author_first_name>"
        f"<wp:author_last_name>{cdata('')}</wp:author_last_name></wp:author>\n"
        "\t<generator>discuss</generator>\n")
    for thread, rows in transfer.thread_rows(site):
        out.write(_item(thread, rows, base_url))
        on_thread()
    out.write("</channel>\n</rss>\n")
