"""What the thread page shows: its context (article and display), a refused form, the
per-comment view the ``_comment.html`` macro reads, and the time helpers of its templates.

Pure presentation: no queries, no writes; ``discuss.web.embed`` builds these and renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for
from markupsafe import Markup

from discuss.i18n import format_exact_time, format_relative_time
from discuss.models import Comment, Site, Status, utcnow
from discuss.permissions import Actor, can
from discuss.reading import Node

# Characters left as they are in a query string, as werkzeug's url_for leaves them.
_QUERY_SAFE = "!$'()*,/:;?@"
# Replies indent up to this depth; deeper ones keep their place and say whom they answer.
MAX_INDENT = 4


@dataclass
class Context:
    """What every link and form of a thread page carries back: the article and the display."""

    site: Site
    key: str
    url: str = ""
    title: str = ""
    sort: str = "oldest"
    theme: str = "auto"
    lang: str = ""
    # The page's own URL once built (page_url), for the request that renders it.
    _base_url: str | None = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, str]:
        values = {"key": self.key, "url": self.url, "title": self.title}
        if self.sort != "oldest":
            values["sort"] = self.sort
        if self.theme != "auto":
            values["theme"] = self.theme
        if self.lang:
            values["lang"] = self.lang
        return {name: value for name, value in values.items() if value}

    def page_url(self, **extra: Any) -> str:
        """This thread page, with extra query parameters (reply, edit, cursor, sort…)."""
        params = self.params()
        if extra.keys().isdisjoint(params):
            # A page links to itself a few times per comment (reply, report…): build the URL
            # once and append the comment's own parameters, in the order url_for would.
            if self._base_url is None:
                self._base_url = self._build(params)
            base = self._base_url
            added = {k: v for k, v in extra.items() if v not in (None, "")}
            if not added:
                return base
            return base + ("&" if "?" in base else "?") + urlencode(added, safe=_QUERY_SAFE)
        params.update(extra)
        return self._build(params)

    def _build(self, values: dict[str, Any]) -> str:
        return url_for("embed.thread_page", site_slug=self.site.slug,
                       **{k: v for k, v in values.items() if v not in (None, "")})


@dataclass
class FormError:
    """A refused form: where its message goes and what the reader had typed."""

    target: str  # "new", "reply", "edit", "vote", "report" or "page" (not on the page)
    message: str
    target_id: int | None = None
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class CommentView:
    """What ``_comment.html`` needs beyond the comment: who looks, and which form is open.

    Other pages (the moderation queue) may pass ``view=None`` to the macro for a read-only
    rendering."""

    ctx: Context
    actor: Actor
    now: datetime
    window: Any
    closed: bool = False
    reply_id: int | None = None
    edit_id: int | None = None
    report_id: int | None = None
    reported_id: int | None = None
    error: FormError | None = None
    max_indent: int = MAX_INDENT
    guest_name: str = ""
    guest_email: str = ""
    # The signed-in reader's votes on the comments shown: comment id → 1 or -1.
    my_votes: dict[int, int] = field(default_factory=dict)
    # While a list many readers share is rendered (discuss.web.embed), each comment's article
    # is marked (an HTML comment with this process's random nonce) so that one reader's own
    # version can take its place; ``marked`` keeps what re-rendering it needs.
    marker: str | None = None
    marked: dict[int, tuple[bool, str, bool]] = field(default_factory=dict)

    def mark(self, node: Node, flattened: bool) -> Markup:
        """Where a comment's article begins (nothing unless a shared list is rendered)."""
        if self.marker is None:
            return Markup("")
        comment_id = node.comment.id
        self.marked[comment_id] = (flattened, node.reply_to, node.placeholder)
        return Markup("<!--{}:{}-->").format(self.marker, comment_id)

    def end_mark(self) -> Markup:
        """Where the comment's article ends."""
        if self.marker is None:
            return Markup("")
        return Markup("<!--{}-->").format(self.marker)

    @property
    def site(self) -> Site:
        return self.ctx.site

    @property
    def signed_in(self) -> bool:
        return self.actor.user is not None

    def can_edit(self, comment: Comment) -> bool:
        return not self.closed and can(self.actor, "edit_comment", comment, now=self.now,
                                       window=self.window)

    def can_delete(self, comment: Comment) -> bool:
        return can(self.actor, "delete_comment", comment, now=self.now, window=self.window)

    def can_vote(self, comment: Comment) -> bool:
        return (not self.closed and comment.status == Status.APPROVED
                and can(self.actor, "vote", comment))

    def my_vote(self, comment: Comment) -> int:
        return self.my_votes.get(comment.id, 0)

    def can_report(self, node: Node) -> bool:
        return (not node.mine and not node.placeholder
                and node.comment.status == Status.APPROVED)

    def can_reply(self, node: Node) -> bool:
        may_post = self.signed_in or self.site.allow_guests
        return (may_post and not self.closed and not node.placeholder
                and node.comment.status == Status.APPROVED)

    def error_for(self, target: str, target_id: int | None = None) -> FormError | None:
        error = self.error
        if error is not None and error.target == target and error.target_id == target_id:
            return error
        return None


# ---------------------------------------------------------------- template helpers


def has_endpoint(name: str) -> bool:
    """True when another area (auth, reports) has registered the endpoint a link needs."""
    return name in current_app.view_functions


def relative_time(then: datetime | None, now: datetime | None = None) -> str:
    """'3 hours ago' in the reader's language; discuss.js keeps it fresh in the browser."""
    return format_relative_time(then, now or utcnow()) if then is not None else ""


def exact_time(value: datetime | None) -> str:
    """A time as shown in a tooltip, in the reader's language: 3 Dec 2026, 09:30:00 UTC."""
    return format_exact_time(value) if value is not None else ""
