"""The discussion page inside the iframe: ``/embed/<site>`` and its plain HTML form posts.

Works without JavaScript (forms post here, answers are 303 redirects back to the thread, errors
re-render the page with the form message and the typed text); ``static/discuss.js`` enhances
the same markup through the JSON API and ``…/fragment``. Views parse, call one domain function,
commit once and render; a GET never writes (a thread is created by its first comment) and the
page answers a reader who holds it already with a 304 (``_page_etag``). Posting, editing,
voting and reporting share their rate limits with the JSON API; a breach re-renders the page
with the message at the form (429, Retry-After).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload

from discuss import comments, reading, reports, threads, votes
from discuss.errors import DiscussError, InvalidInput, NotFound
from discuss.extensions import db, reads_first
from discuss.i18n import N_, _
from discuss.ids import parse_id
from discuss.models import Comment, Site, Thread, User, utcnow
from discuss.permissions import ANONYMOUS, Actor, edit_window
from discuss.reading import Node
from discuss.text import check_text
from discuss.web import guest_fields
from discuss.web.antispam import checked_form, rendered_at_token
from discuss.web.errors import error_response
from discuss.web.infra.caching import (
    bodies,
    cache_headers,
    not_modified,
    page_etag,
    session_is_settled,
    shared_list_key,
    viewer_key,
)
from discuss.web.infra.compression import add_vary
from discuss.web.language import use_site_language
from discuss.web.limits import limit_posting, limit_reporting, limit_voting
from discuss.web.present import author_role, avatar_url, iso, iter_nodes
from discuss.web.security import current_actor, refuse_ended_sign_in
from discuss.web.sessions import pending_sign_up
from discuss.web.thread_view import (
    MAX_INDENT,
    CommentView,
    Context,
    FormError,
    exact_time,
    has_endpoint,
    relative_time,
)

bp = Blueprint("embed", __name__, url_prefix="/embed")

THEMES = ("light", "dark", "auto")
LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$")
# A site that lists no origins may be embedded on any web page (CSP source "http:"/"https:").
ANY_WEB_ORIGIN = ["http:", "https:"]
# Form fields the views read themselves; every other field goes to the spam rules as `form`.
OWN_FIELDS = frozenset({"csrf_token", "body", "name", "email", "notify", "parent_id", "key",
                        "url", "title", "sort", "theme", "lang"})


# The names discuss itself signs a comment with (an account deleted, a guest who gave none):
# stored in English, shown in the reader's language.
STAND_IN_NAMES = frozenset({N_("deleted user"), N_("Anonymous")})


def shown_name(name: str) -> str:
    """A comment's signature as the page shows it: discuss's own stand-in names translated."""
    return _(name) if name in STAND_IN_NAMES else name


def shown_author_name(comment) -> str:
    """The name a comment is signed with, in the reader's language where discuss chose it."""
    return shown_name(reading.author_name(comment))


@bp.record_once
def _register_template_helpers(state) -> None:
    env = state.app.jinja_env
    env.globals.update(has_endpoint=has_endpoint, avatar_url=avatar_url, author_role=author_role,
                       author_name=shown_author_name, MAX_INDENT=MAX_INDENT,
                       MAX_BODY_LENGTH=comments.MAX_BODY_LENGTH)
    env.filters.update(relative_time=relative_time, exact_time=exact_time, iso=iso,
                       shown_name=shown_name)


@bp.url_value_preprocessor
def _frame_anywhere_until_site_known(endpoint: str | None, values: dict | None) -> None:
    # Error pages (unknown site, expired form) carry no actions, so they may show in any
    # frame; every view narrows this to the site's origins once the site is known.
    g.frame_ancestors = ANY_WEB_ORIGIN


# ---------------------------------------------------------------- parsing


def _site(slug: str) -> Site:
    site = threads.get_site(slug)
    use_site_language(site.language)
    g.frame_ancestors = list(site.origins) or ANY_WEB_ORIGIN
    return site


def _context(site: Site, values, key: str | None = None) -> Context:
    """The thread page's parameters from a query string or a form, checked like the API does."""
    key = threads.check_key(values.get("key") if key is None else key)
    url = threads.check_url(site, values.get("url") or "")
    title = check_text(values.get("title"), threads.MAX_TITLE_LENGTH, "title",
                       one_line=True)
    sort = values.get("sort") or "oldest"
    theme = values.get("theme") or "auto"
    lang = values.get("lang") or ""
    return Context(
        site=site, key=key, url=url, title=title,
        sort=sort if sort in reading.SORTS else "oldest",
        theme=theme if theme in THEMES else "auto",
        lang=lang if LANG_RE.match(lang) else "",
    )


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name, ""))


def _parent_id(raw: str | None) -> int | None:
    if not raw:
        return None
    parent_id = parse_id(raw)
    if parent_id is None:
        raise InvalidInput("The comment you reply to is not in this thread.",
                           {"parent_id": "invalid"})
    return parent_id


def _typed_values() -> dict[str, Any]:
    form = request.form
    return {"body": form.get("body", ""), "name": form.get("name", ""),
            "email": form.get("email", ""), "notify": bool(form.get("notify"))}


def _spam_form() -> dict[str, str]:
    """Fields the views do not read themselves (honeypot, timing…), for the spam rules."""
    return {k: v for k, v in request.form.items() if k not in OWN_FIELDS}


def _comment_of(site: Site, comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id, options=[joinedload(Comment.author)])
    if comment is None or comment.site_id != site.id:
        raise NotFound("No such comment.", code="unknown_comment")
    return comment


def _edit_window(site: Site):
    return edit_window(site, current_app.config["DISCUSS_EDIT_WINDOW"])


def _view(ctx: Context, *, closed: bool, **kwargs: Any) -> CommentView:
    actor = current_actor()
    return CommentView(
        ctx=ctx, actor=actor, now=utcnow(), window=_edit_window(ctx.site), closed=closed,
        guest_name=guest_fields.recalled()[0] if actor.user is None else "",
        guest_email=guest_fields.recalled()[1] if actor.user is None else "",
        **kwargs,
    )


def _no_store(response: Response) -> Response:
    # Every page holds a CSRF token and the viewer's own held comments: never shared-cached.
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- the page


def render_thread(ctx: Context, *, status: int = 200, error: FormError | None = None,
                  reply_id: int | None = None, edit_id: int | None = None,
                  report_id: int | None = None, cursor: str | None = None,
                  posted_id: int | None = None, reported_id: int | None = None,
                  comment_id: int | None = None) -> Response:
    """The thread page (or its empty state when the thread does not exist yet); with
    ``comment_id`` (a deep link) the page of the thread that holds that comment."""
    thread = threads.find_thread(ctx.site, ctx.key)
    actor = current_actor()
    if thread is not None and comment_id is not None and cursor is None:
        cursor = reading.page_cursor_for(
            thread, actor, comment_id, sort=ctx.sort,
            page_size=current_app.config["DISCUSS_PAGE_SIZE"],
            secret=current_app.config["SECRET_KEY"])
    closed = thread is not None and thread.closed
    view = _view(ctx, closed=closed, reply_id=reply_id, edit_id=edit_id, report_id=report_id,
                 reported_id=reported_id)
    # The plain page (no form open, no message) is the list many readers share, with what is
    # one reader's own put in its place; any other is built for the one reader.
    plain = (thread is not None and error is None
             and not any((reply_id, edit_id, report_id, posted_id, reported_id, comment_id)))
    kind = _list_kind(actor, ctx.site) if plain else None
    sliver = None
    if kind is not None and viewer_key(actor) != "anyone":
        sliver = reading.viewer_sliver(thread.id, actor)
        if sliver.held:  # a comment only they see, which the shared list lacks
            kind = None

    posted = frame = None
    if kind is not None:
        shared = _shared_list(ctx, thread, view, kind, cursor)
        list_html = _personal_list(shared, view, sliver)
        if not pending_sign_up():  # "Continue as …": that page is the reader's alone
            frame = _shared_frame(ctx, thread, view, shared.key)
    else:
        page = (reading.load_thread_page(
            thread, actor, sort=ctx.sort, cursor=cursor,
            page_size=current_app.config["DISCUSS_PAGE_SIZE"],
            secret=current_app.config["SECRET_KEY"],
        ) if thread is not None else None)
        nodes = page.nodes if page is not None else []
        shown = {n.comment.id: n for n in iter_nodes(nodes) if not n.placeholder}
        if error is not None and not _form_is_shown(error, view, shown):
            error.target, error.target_id = "page", None
        view.error = error
        if posted_id is not None and posted_id not in shown:
            posted = _own_node(ctx.site, posted_id, actor)
        view.my_votes = votes.my_votes(
            actor.user, [*shown, *([posted.comment.id] if posted else [])])
        list_html = render_template(
            "embed/_list.html", ctx=ctx, view=view, nodes=nodes,
            next_cursor=page.next_cursor if page is not None else None, cursor=cursor)

    if frame is not None:
        html = frame.fill(list_html, view)
    else:
        html = _render_page(ctx, view, thread, list_html, posted)
    return _no_store(Response(html, status=status, mimetype="text/html"))


def _render_page(ctx: Context, view: CommentView, thread: Thread | None, list_html: str,
                 posted: Node | None, **slots: Any) -> str:
    return render_template(
        "embed/thread.html", ctx=ctx, view=view, thread=thread, list_html=list_html,
        posted=posted, theme=ctx.theme,
        title=(thread.title if thread is not None and thread.title else ctx.title),
        comment_count=thread.comment_count if thread is not None else 0, **slots,
    )


# ---------------------------------------------------------------- the shared list

# Marks each comment's article in a shared list, and stands for the CSRF token in its forms
# and for what else is one reader's own in a shared page: random per process (the lists are
# kept per process), so no comment's text can hold it.
_NONCE = secrets.token_hex(8)
_SLOTS = ("csrf", "list", "user", "guest-name", "guest-email", "rendered-at")
_SLOT = {name: f"discuss-{name}-{_NONCE}" for name in _SLOTS}
_SLOT_RE = re.compile(f"discuss-({'|'.join(_SLOTS)})-{_NONCE}")
_CSRF_SLOT = _SLOT["csrf"]
_SEPARATOR = Markup("<!--{}-->").format(_NONCE)
_MARK = re.compile(f"<!--{_NONCE}(?::(\\d+))?-->")


@dataclass
class SharedList:
    """A thread page's comment list as every reader of one kind sees it, cut at each
    comment's article: ``parts`` joined is the list (``html``), ``slots`` says which part is
    which comment's article, ``marked`` what re-rendering it for one reader needs
    (flattened, whom it replies to, placeholder)."""

    parts: list[str]
    slots: dict[int, int]
    marked: dict[int, tuple[bool, str, bool]]
    html: str
    key: str  # in the cache; its readers' own articles are kept under it too

    @classmethod
    def cut(cls, html: str, marked: dict[int, tuple[bool, str, bool]], key: str) -> SharedList:
        pieces = _MARK.split(html)  # text, id or None, text, id or None, …, text
        parts, slots = [pieces[0]], {}
        for n in range(1, len(pieces), 2):
            if pieces[n] is not None:
                slots[int(pieces[n])] = len(parts)
            parts.append(pieces[n + 1])
        return cls(parts, slots, marked, "".join(parts), key)


def _list_kind(actor: Actor, site: Site) -> str | None:
    """Which shared list a reader's page starts from: "anyone" (no account: a guest's list
    differs from it only in their own comments), "reader" (signed in: vote forms), or None
    when the page is theirs throughout (a moderator's delete links, or an account of another
    site, who may not vote here)."""
    user = actor.user
    if user is None:
        return "anyone"
    if user.site_id not in (None, site.id) or actor.moderates(site):
        return None
    return "reader"


def _shared_list(ctx: Context, thread: Thread, view: CommentView, kind: str,
                 cursor: str | None) -> SharedList:
    """The list every reader of ``kind`` sees on this page, kept per process for the minute
    it was built in (keyed by what the page is built from, without the viewer or session)."""
    key = shared_list_key(ctx.site, thread, view.now) + ":" + kind
    cache = bodies()
    shared = cache.get(key)
    if shared is not None:
        return shared
    page = reading.load_thread_page(
        thread, ANONYMOUS, sort=ctx.sort, cursor=cursor,
        page_size=current_app.config["DISCUSS_PAGE_SIZE"],
        secret=current_app.config["SECRET_KEY"],
    )
    # A signed-in reader who wrote none of it and voted on none of it: their forms hold a
    # stand-in for the CSRF token, which each page replaces with its reader's.
    reader = ANONYMOUS if kind == "anyone" else Actor(user=User(id=0, is_admin=False))
    shared_view = dataclasses.replace(view, actor=reader, my_votes={}, marker=_NONCE,
                                      marked={})
    html = render_template("embed/_list.html", ctx=ctx, view=shared_view, nodes=page.nodes,
                           next_cursor=page.next_cursor, cursor=cursor,
                           csrf_token=lambda: _CSRF_SLOT)
    shared = SharedList.cut(html, shared_view.marked, key)
    if generate_csrf() not in html:  # never one reader's token in what others get
        cache.put(key, shared, size=2 * len(html))
    return shared


def _personal_list(shared: SharedList, view: CommentView, sliver: reading.Sliver | None) -> str:
    """The shared list with the articles of the comments the reader wrote or voted on
    rendered for them. An article depends on the reader only through their vote on it and
    whether they wrote it: each version is kept beside the shared list (with the stand-in
    for the CSRF token), so readers who voted alike share it, and only the missing ones are
    read (one query) and rendered."""
    html = shared.html
    ids = [i for i in (sliver.ids if sliver is not None else ())
           if i in shared.slots and not shared.marked[i][2]]
    if ids:
        votes = sliver.votes or {}
        keys = {i: f"{shared.key}:{i}:{votes.get(i, 0)}:{int(i in sliver.own)}" for i in ids}
        cache = bodies()
        articles = {i: cache.get(key) for i, key in keys.items()}
        missing = [i for i, article in articles.items() if article is None]
        if missing:
            view.my_votes = votes
            items = [(Node(comment, mine=comment.id in sliver.own,
                           reply_to=shared.marked[comment.id][1]),
                      shared.marked[comment.id][0])
                     for comment in reading.comments_with_authors(missing)]
            rendered = render_template("embed/_articles.html", items=items, view=view,
                                       separator=_SEPARATOR,
                                       csrf_token=lambda: _CSRF_SLOT).split(_SEPARATOR)
            token = generate_csrf()
            for (node, _), article in zip(items, rendered, strict=False):
                articles[node.comment.id] = article
                if token not in article:  # never one reader's token in what others get
                    cache.put(keys[node.comment.id], article)
        parts = list(shared.parts)
        for comment_id, article in articles.items():
            if article is not None:
                parts[shared.slots[comment_id]] = article
        html = "".join(parts)
    return html.replace(_CSRF_SLOT, generate_csrf()) if _CSRF_SLOT in html else html


@dataclass
class SharedFrame:
    """A thread page around its comment list as every reader of one kind sees it, cut at the
    slots where one reader's own values go (``_SLOTS``): ``parts`` alternates text and slot
    names."""

    parts: list[str]

    def fill(self, list_html: str, view: CommentView) -> str:
        user = view.actor.user
        values = {
            "list": list_html,
            "csrf": generate_csrf(),
            "user": escape(user.name) if user is not None else "",
            "guest-name": escape(view.guest_name),
            "guest-email": escape(view.guest_email),
            "rendered-at": escape(rendered_at_token(view.site.slug, view.ctx.key)),
        }
        parts = self.parts
        pieces = [parts[0]]
        for n in range(1, len(parts), 2):
            pieces.append(values[parts[n]])
            pieces.append(parts[n + 1])
        return "".join(pieces)


def _shared_frame(ctx: Context, thread: Thread, view: CommentView,
                  list_key: str) -> SharedFrame:
    """The page around the shared list kept under ``list_key``, for every reader of its kind
    (and of one ``data-viewer``), rendered with stand-ins for what is theirs and kept beside
    that list: the reader's name, their remembered guest name and email, the CSRF token and
    the form's timing token."""
    actor = view.actor
    viewer = "user" if actor.user is not None else ("guest" if actor.guest_key else "anyone")
    key = f"{list_key}:frame:{viewer}"
    cache = bodies()
    frame = cache.get(key)
    if frame is not None:
        return frame
    if actor.user is not None:
        stand_in = Actor(user=User(id=0, is_admin=False, display_name=_SLOT["user"]))
    else:
        stand_in = Actor(guest_key=_NONCE) if actor.guest_key else ANONYMOUS
    shared_view = dataclasses.replace(view, actor=stand_in, guest_name=_SLOT["guest-name"],
                                      guest_email=_SLOT["guest-email"], my_votes={})
    html = _render_page(ctx, shared_view, thread, _SLOT["list"], None,
                        csrf_token=lambda: _CSRF_SLOT,
                        rendered_at_token=lambda *_: _SLOT["rendered-at"])
    frame = SharedFrame(_SLOT_RE.split(html))
    if generate_csrf() not in html:  # never one reader's token in what others get
        cache.put(key, frame, size=2 * len(html))
    return frame


def _form_is_shown(error: FormError, view: CommentView, shown: dict[int, Node]) -> bool:
    if view.closed or not (view.signed_in or view.site.allow_guests):
        return False
    if error.target == "new":
        return True
    node = shown.get(error.target_id or 0)
    if error.target == "reply":
        return node is not None and view.can_reply(node)
    if error.target == "edit":
        return node is not None and view.can_edit(node.comment)
    if error.target == "vote":
        return node is not None
    if error.target == "report":
        return node is not None and view.can_report(node)
    return False


def _own_node(site: Site, comment_id: int, actor: Actor) -> Node | None:
    """The reader's just-posted comment when it is not on the page they are sent back to."""
    comment = db.session.get(Comment, comment_id, options=[joinedload(Comment.author)])
    if comment is None or comment.site_id != site.id or not actor.owns(comment):
        return None
    if not reading.is_visible(comment, actor):
        return None
    return Node(comment, mine=True)


@bp.get("/<site_slug>")
def thread_page(site_slug: str) -> Response:
    """The page, or a 304 when the reader holds it already (see ``_page_etag``)."""
    site = _site(site_slug)
    ctx = _context(site, request.args)
    actor = current_actor()
    # A browser waiting for its sign-up's mailed link is offered "Continue as …" (a POST):
    # that page is not revalidated, it changes when the link is opened.
    etag = None if pending_sign_up() else _page_etag(ctx, actor)
    if etag is not None:
        unchanged = not_modified(etag, actor, private=True)
        if unchanged is not None:
            add_vary(unchanged, "Accept-Encoding")  # as the 200 it stands for
            return unchanged
    response = render_thread(
        ctx, reply_id=_int_arg("reply"), edit_id=_int_arg("edit"),
        report_id=_int_arg("report"), cursor=request.args.get("cursor") or None,
        posted_id=_int_arg("posted"), reported_id=_int_arg("reported"),
        comment_id=_int_arg("comment"),
    )
    # Tagged only when the render left the session as it was: then the next request brings
    # the same session and computes this same tag. Otherwise the answer stays no-store.
    if etag is not None and not session.modified:
        cache_headers(response, etag, actor, private=True)
    return response


def _page_etag(ctx: Context, actor: Actor) -> str | None:
    """The page's weak ETag, from the site already loaded and one light query for the thread
    row (no comment is read), or None when rendering will write the session: a browser's first
    page stores its CSRF token there, so that answer sets a cookie, and a page made for a
    cookie the browser does not hold yet must never be revalidated."""
    if not session_is_settled():
        return None
    try:
        state = reading.thread_state(ctx.site.slug, ctx.key)
    except NotFound as exc:
        if exc.code != "unknown_thread":
            raise
        state = None  # the empty page that invites the first comment
    return page_etag(ctx.site, state, actor, utcnow())


@bp.get("/<site_slug>/comments/<int:comment_id>/fragment")
def comment_fragment(site_slug: str, comment_id: int) -> Response:
    """One comment as an ``<li>`` (no replies), for discuss.js after a post or an edit.

    ``?edit=1`` opens its edit form. The query carries the page's context (key, url, …)."""
    site = _site(site_slug)
    comment = _comment_of(site, comment_id)
    thread = threads.thread_of(comment)
    ctx = _context(site, request.args, key=thread.key)
    actor = current_actor()
    if not reading.is_visible(comment, actor):
        raise NotFound("No such comment.", code="unknown_comment")
    reply_to = ""
    if comment.parent_id is not None and comment.depth > MAX_INDENT:
        parent = _comment_of(site, comment.parent_id)
        if reading.is_visible(parent, actor):
            reply_to = reading.author_name(parent)
    view = _view(ctx, closed=thread.closed,
                 edit_id=comment.id if request.args.get("edit") == "1" else None,
                 report_id=comment.id if request.args.get("report") == "1" else None,
                 my_votes=votes.my_votes(actor.user, [comment.id]))
    node = Node(comment, mine=actor.owns(comment), reply_to=reply_to)
    html = render_template("embed/fragment.html", node=node, view=view, depth=comment.depth)
    return _no_store(Response(html, mimetype="text/html"))


# ---------------------------------------------------------------- form posts


def _back_to(ctx: Context, anchor: str, **extra: Any) -> Response:
    return redirect(ctx.page_url(**extra) + "#" + anchor, code=303)


@bp.post("/<site_slug>/comments")
@limit_posting
def post_comment(site_slug: str) -> Response:
    """A new comment or reply from the plain form; 303 back to it, or the page with a message."""
    site = _site(site_slug)
    ctx = _context(site, request.form)
    actor = current_actor()
    values = _typed_values()
    raw_parent = request.form.get("parent_id") or None
    try:
        if actor.user is None:
            refuse_ended_sign_in()
        reads_first()  # as the API: on SQLite the write lock waits for the checks' end
        comment_id = comments.post_comment(
            site.slug, ctx.key, actor, values["body"], _parent_id(raw_parent), url=ctx.url,
            title=ctx.title, name=values["name"], email=values["email"],
            notify=values["notify"],
            form=checked_form(_spam_form(), site_slug=site.slug, key=ctx.key),
        ).id
        db.session.commit()
    except DiscussError as exc:
        db.session.rollback()
        target_id = parse_id(raw_parent)
        error = FormError("reply" if target_id else "new", exc.message, target_id,
                          exc.fields, values)
        return render_thread(ctx, status=exc.status, error=error, reply_id=target_id)
    if actor.user is None:
        guest_fields.remember(values["name"], values["email"])  # for the next comment
    return _back_to(ctx, f"comment-{comment_id}", posted=comment_id)


@bp.post("/<site_slug>/comments/<int:comment_id>/edit")
@limit_posting
def edit_comment(site_slug: str, comment_id: int) -> Response:
    """A changed comment from the plain form; 303 back to it, or the page with a message."""
    site = _site(site_slug)
    comment = _comment_of(site, comment_id)
    ctx = _context(site, request.form, key=threads.thread_of(comment).key)
    values = _typed_values()
    try:
        refuse_ended_sign_in(posting=False)
        comments.edit_comment(comment, current_actor(), values["body"],
                              default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
        db.session.commit()
    except DiscussError as exc:
        db.session.rollback()
        error = FormError("edit", exc.message, comment_id, exc.fields, values)
        return render_thread(ctx, status=exc.status, error=error, edit_id=comment_id)
    return _back_to(ctx, f"comment-{comment_id}")


@bp.post("/<site_slug>/comments/<int:comment_id>/delete")
def delete_comment(site_slug: str, comment_id: int) -> Response:
    """A deletion from the plain form; 303 back to where the comment was."""
    site = _site(site_slug)
    comment = _comment_of(site, comment_id)
    ctx = _context(site, request.form, key=threads.thread_of(comment).key)
    parent_id = comment.parent_id
    try:
        refuse_ended_sign_in(posting=False)
        comments.delete_comment(comment, current_actor(),
                                default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
        db.session.commit()
    except DiscussError as exc:
        db.session.rollback()
        return render_thread(ctx, status=exc.status, error=FormError("page", exc.message))
    return _back_to(ctx, f"comment-{parent_id}" if parent_id else "discuss-comments")


def _vote_value(raw: str | None) -> object:
    """The form's value as the number the domain checks ("1", "-1", "0"); anything else as is."""
    return int(raw) if raw in ("1", "-1", "0") else raw


@bp.post("/<site_slug>/comments/<int:comment_id>/vote")
@limit_voting
def vote(site_slug: str, comment_id: int) -> Response:
    """A vote from the plain form (``value`` 1, -1, or 0 to take it back); 303 back to it."""
    site = _site(site_slug)
    comment = _comment_of(site, comment_id)
    ctx = _context(site, request.form, key=threads.thread_of(comment).key)
    try:
        refuse_ended_sign_in(posting=False)
        votes.vote(comment, current_actor(), _vote_value(request.form.get("value")))
        db.session.commit()
    except DiscussError as exc:
        db.session.rollback()
        return render_thread(ctx, status=exc.status,
                             error=FormError("vote", exc.message, comment_id, exc.fields))
    return _back_to(ctx, f"comment-{comment_id}")


@bp.post("/<site_slug>/comments/<int:comment_id>/report")
@limit_reporting
def report(site_slug: str, comment_id: int) -> Response:
    """A report from the plain form (``reason``, ``note``); guests may report too."""
    site = _site(site_slug)
    comment = _comment_of(site, comment_id)
    ctx = _context(site, request.form, key=threads.thread_of(comment).key)
    values = {"reason": request.form.get("reason", ""), "note": request.form.get("note", "")}
    try:
        refuse_ended_sign_in(posting=False)
        reports.report_comment(comment, current_actor(), values["reason"], values["note"],
                               default_threshold=current_app.config["DISCUSS_REPORT_THRESHOLD"])
        db.session.commit()
    except DiscussError as exc:
        db.session.rollback()
        error = FormError("report", _report_message(exc), comment_id, exc.fields, values)
        return render_thread(ctx, status=exc.status, error=error, report_id=comment_id)
    return _back_to(ctx, f"comment-{comment_id}", reported=comment_id)


def _report_message(exc: DiscussError) -> str:
    if exc.code == "already_reported":
        return _("You already reported this comment.")
    if exc.fields.get("reason") == "invalid":
        return _("Choose why a moderator should look at this comment.")
    return exc.message


# Where a refused form's message goes when the form was over the rate limit.
_LIMITED_FORMS = {"embed.post_comment": "new", "embed.edit_comment": "edit",
                  "embed.vote": "vote", "embed.report": "report"}


@bp.errorhandler(429)
def _too_many(exc) -> Response:
    """Over a rate limit: the thread page again with the message at the form and the typed
    text kept (429 with Retry-After), or the plain error page when the form made no sense."""
    limit = getattr(exc, "limit", None)
    retry_after = int(limit.limit.get_expiry()) if limit is not None else 60
    message = _("Too many requests. Please wait a little and try again.")
    try:
        site = _site(request.view_args.get("site_slug", "") if request.view_args else "")
        comment_id = (request.view_args or {}).get("comment_id")
        key = threads.thread_of(_comment_of(site, comment_id)).key if comment_id else None
        ctx = _context(site, request.form, key=key)
    except DiscussError:
        db.session.rollback()
        return error_response(429, "rate_limited", message, retry_after=retry_after)
    target = _LIMITED_FORMS.get(request.endpoint or "", "page")
    values = _typed_values() if target in ("new", "edit") else {}
    raw_parent = request.form.get("parent_id") or ""
    if target == "new" and parse_id(raw_parent) is not None:
        target, comment_id = "reply", parse_id(raw_parent)
    response = render_thread(
        ctx, status=429, error=FormError(target, message, comment_id, {}, values),
        reply_id=comment_id if target == "reply" else None,
        edit_id=comment_id if target == "edit" else None,
        report_id=comment_id if target == "report" else None)
    response.headers["Retry-After"] = str(retry_after)
    return response
