"""Atom feeds (RFC 4287) of a site's and a thread's latest published comments.

``GET /feeds/<site>/latest.atom`` and ``GET /feeds/<site>/thread.atom?key=K``: the 50 newest
approved comments, each with its id, title, times, author name (never an email), a link to the
comment on its article and the sanitised HTML as ``content type="html"``. Built with feedgen
(lxml escapes everything); text that XML 1.0 cannot carry at all (control characters, lone
surrogates, from an old import for instance) is dropped first. A weak ETag (a digest of the
XML) and Last-Modified answer conditional GETs with 304.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale

from discuss import feeds, threads
from discuss.errors import DiscussError
from discuss.i18n import _
from discuss.models import Comment, Site, Thread
from discuss.reading import author_name
from discuss.web.mail_links import mail_link, thread_link

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

# Characters outside XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_AGE = 60  # seconds a feed reader may reuse a copy before asking again


def xml_text(value: str) -> str:
    """``value`` without the characters no XML document may hold."""
    return _NOT_XML.sub("", value)


def _site(slug: str) -> Site:
    try:
        return threads.get_site(slug)
    except DiscussError:
        abort(404)


def _comment_url(comment: Comment) -> str:
    thread = comment.thread
    return f"{thread.url or thread_link(thread)}#comment-{comment.id}"


def _entry_id(comment: Comment) -> str:
    # A tag URI (RFC 4151): stays the comment's id when the article moves.
    host = urlsplit(current_app.config["DISCUSS_PUBLIC_URL"]).hostname or "localhost"
    return f"tag:{host},{comment.created_at:%Y-%m-%d}:comment-{comment.id}"


def _feed(site: Site, thread: Thread | None, comments: list[Comment], self_url: str) -> bytes:
    feed = FeedGenerator()
    feed.id(self_url)
    with force_locale(site.language):
        if thread is None:
            feed.title(xml_text(_("Comments on %(title)s", title=site.name or site.slug)))
        else:
            feed.title(xml_text(_("Comments on %(title)s", title=thread.title or thread.key)))
            feed.link(href=xml_text(thread.url or thread_link(thread)), rel="alternate")
        feed.link(href=self_url, rel="self")
        feed.language(site.language)
        feed.updated(max((c.edited_at or c.created_at for c in comments),
                         default=(thread or site).created_at))
        for comment in reversed(comments):  # feedgen prepends: the newest ends up first
            entry = feed.add_entry()
            entry.id(_entry_id(comment))
            entry.title(xml_text(_("%(name)s on “%(title)s”", name=author_name(comment),
                                   title=comment.thread.title or comment.thread.key)))
            entry.author({"name": xml_text(author_name(comment))})
            entry.published(comment.created_at)
            entry.updated(comment.edited_at or comment.created_at)
            entry.link(href=xml_text(_comment_url(comment)), rel="alternate")
            entry.content(xml_text(comment.html), type="html")
    return feed.atom_str(pretty=False)


def _answer(site: Site, thread: Thread | None, self_url: str) -> Response:
    comments = feeds.latest_comments(site, thread)
    body = _feed(site, thread, comments, self_url)
    response = Response(body, mimetype="application/atom+xml")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32], weak=True)
    response.last_modified = max((c.edited_at or c.created_at for c in comments),
                                 default=(thread or site).created_at)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response.make_conditional(request)


@bp.get("/<site_slug>/latest.atom")
def site_feed(site_slug: str) -> Response:
    """GET /feeds/<site>/latest.atom: the site's 50 latest published comments."""
    site = _site(site_slug)
    return _answer(site, None, mail_link("feeds.site_feed", site_slug=site.slug))


@bp.get("/<site_slug>/thread.atom")
def thread_feed(site_slug: str) -> Response:
    """GET /feeds/<site>/thread.atom?key=K: a thread's 50 latest published comments."""
    site = _site(site_slug)
    try:
        thread = threads.get_thread(site, request.args.get("key"))
    except DiscussError:
        abort(404)
    return _answer(site, thread,
                   mail_link("feeds.thread_feed", site_slug=site.slug, key=thread.key))

