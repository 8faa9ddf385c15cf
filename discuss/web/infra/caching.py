"""Conditional GETs for thread listings: a weak ETag per (thread state, listing, viewer).

The ETag is computed from the thread row alone (``version`` is bumped by every visible change,
``comment_count`` by every approval), so a 304 costs the two look-ups that name the thread and
never loads a comment. The body differs per viewer (their own held comments, ``mine``, their
votes), so the viewer is part of the tag and such answers are ``private``.

Readers without a guest key or account (most of a viral story's traffic) all get the same body,
so each process keeps the last bodies it built for them, keyed by that tag. The key comes from
the thread row read in this request, so a cached body is never older than the thread's state
when the request began, in whichever process and for whichever writer.

The HTML thread page (``/embed/<site>``) is tagged the same way, from more: it is rendered for
one session (its CSRF token, a guest's remembered name) and one minute (relative times, edit
windows), so ``page_etag`` adds those, the site's settings, the query string and the release.
The page's comment list, as every reader without an account or guest key sees it, is kept in
the same cache under ``shared_list_key``: those parts without the viewer and the session.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Response, current_app, g, request, session

from discuss.i18n import current_language
from discuss.models import Site, Thread
from discuss.permissions import Actor, can
from discuss.reading import ThreadState
from discuss.web.infra.assets import content_hash
from discuss.web.infra.compression import LEVEL, MIN_SIZE, accepts_gzip, add_vary

# Bump when the JSON shape of a thread changes, so old tags stop matching (the HTML page's tag
# holds a digest of the code and templates too, see release_digest).
FORMAT = "1"
VARY = ("Cookie", "Authorization", "X-Discuss-Guest")


def viewer_key(actor: Actor) -> str:
    """Who the answer is for: a user, a guest browser, or anyone."""
    if actor.user is not None:
        return f"u{actor.user.id}"
    if actor.guest_key:
        return "g" + actor.guest_key_hash[:24]
    return "anyone"


def thread_etag(thread: Thread | ThreadState, actor: Actor, *listing: object) -> str:
    """The tag of one listing (sort, cursor, page size, …) of a thread, as one viewer sees it."""
    # created_at tells apart a thread that reuses the id of a deleted one (or a restored
    # database): a tag must never match a different thread's state.
    parts = [FORMAT, thread.id, thread.created_at.isoformat(), thread.version,
             thread.comment_count, int(thread.closed),
             thread.title, thread.url, viewer_key(actor), *listing]
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]


def cache_headers(response: Response, etag: str, actor: Actor, *,
                  private: bool = False) -> Response:
    """ETag, revalidate-every-time caching, private unless the answer is the same for all."""
    response.set_etag(etag, weak=True)
    scope = "public" if viewer_key(actor) == "anyone" and not private else "private"
    response.headers["Cache-Control"] = f"{scope}, no-cache"
    add_vary(response, *VARY)
    return response


def not_modified(etag: str, actor: Actor, *, private: bool = False) -> Response | None:
    """A 304 when the client already holds this listing, else None."""
    if not request.if_none_match.contains_weak(etag):
        return None
    return cache_headers(Response(status=304), etag, actor, private=private)


class BodyCache:
    """A small per-process LRU of response bodies (or other built parts of answers, with
    their size given), bounded by total bytes."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, body: Any, size: int | None = None) -> None:
        size = len(body) if size is None else size
        if size > self.max_bytes // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size -= old[1] if old is not None else 0
            self._items[key] = (body, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped


def bodies() -> BodyCache:
    """This app's cache (one per app, so apps sharing a process never share bodies)."""
    cache = current_app.extensions.get("discuss.bodies")
    if cache is None:
        cache = current_app.extensions.setdefault("discuss.bodies", BodyCache())
    return cache


def json_bytes(value: object) -> bytes:
    """JSON as every thread answer is written: compact, UTF-8 (present.personal_json reads it)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def shared_json(etag: str, build: Callable[[], object]) -> bytes:
    """The plain JSON body every reader without an account or guest key gets for ``etag``
    (the tag as such a reader's): from the cache, else built and kept. The same entry as
    ``json_for_viewer`` keeps for them uncompressed."""
    cache = bodies()
    body = cache.get(etag)
    if body is None:
        body = json_bytes(build())
        cache.put(etag, body)
    return body


def json_for_viewer(etag: str, actor: Actor, build: Callable[[], object | bytes], *,
                    everyones: str | None = None) -> Response:
    """The JSON body for this tag: from the cache for anyone-viewers, else ``build()``.
    ``everyones``: the tag of the same body as readers without a key get it (a reader whose
    page holds nothing of their own), whose cached bodies serve this reader too.

    The cache keeps the gzip-compressed body beside the plain one, so a popular thread is
    compressed once per change rather than once per reader.
    """
    shared = viewer_key(actor) == "anyone" or everyones is not None
    key = everyones or etag
    cache = bodies()
    gzipped = accepts_gzip()
    cache_key = key + (".gz" if gzipped else "")
    body = cache.get(cache_key) if shared else None
    if body is None:
        built = build()
        body = built if isinstance(built, bytes) else json_bytes(built)
        if gzipped and len(body) >= MIN_SIZE:
            body = gzip.compress(body, compresslevel=LEVEL, mtime=0)
        else:
            gzipped = False
            cache_key = key
        if shared:
            cache.put(cache_key, body)
    response = Response(body, mimetype="application/json")
    add_vary(response, "Accept-Encoding")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return cache_headers(response, etag, actor)


# ---------------------------------------------------------------- the HTML thread page

# The thread page's stylesheet and scripts: their hashed URLs are part of its HTML.
PAGE_ASSETS = ("discuss.css", "discuss.js", "comment-actions.js", "account.js", "live.js")
# Page settings that are read while rendering (the page size, the default edit window, avatars).
PAGE_SETTINGS = ("DISCUSS_PAGE_SIZE", "DISCUSS_EDIT_WINDOW", "DISCUSS_GRAVATAR")
_SITE_COLUMNS = tuple(attr.key for attr in Site.__mapper__.column_attrs)


def minute_of(now: datetime) -> str:
    """The page's time bucket: relative times ("5 minutes ago") and edit windows are rendered
    on the server, so a page is reused only within the minute it was built in."""
    return now.strftime("%Y-%m-%dT%H:%M")


def release_digest() -> str:
    """What this deployment renders with: the package's Python sources and every template.

    A deploy changes it, so no reader keeps markup an older release built. It is read once per
    app, or per request while templates reload from disk (debug)."""
    env = current_app.jinja_env
    cached = current_app.extensions.get("discuss.release")
    if cached is not None and not env.auto_reload:
        return cached
    digest = hashlib.sha256(FORMAT.encode())
    for path in sorted(Path(__file__).resolve().parent.parent.rglob("*.py")):
        digest.update(path.read_bytes())
    if env.loader is not None:
        for name in sorted(env.list_templates()):
            digest.update(name.encode() + b"\0" + env.loader.get_source(env, name)[0].encode())
    cached = current_app.extensions["discuss.release"] = digest.hexdigest()
    return cached


def session_is_settled() -> bool:
    """True when rendering the page will not write the session, so the next request sends the
    same cookie: it holds its CSRF token already (Flask-WTF stores one on the first page a
    browser gets) and nothing in this request has changed it."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return not session.modified and field in session


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _page_parts(site: Site, state: Thread | ThreadState | None, now: datetime) -> list:
    """What the thread page is built from whoever reads it: the release and the assets'
    hashes, the minute, the site's settings, the page's language, the thread row, the whole
    query string (article, sort, cursor, theme, lang, reply/edit/report targets, ``posted``…)
    and the page settings."""
    return [
        FORMAT, release_digest(), [content_hash(name) for name in PAGE_ASSETS],
        minute_of(now),
        [getattr(site, key) for key in _SITE_COLUMNS],
        None if state is None else [state.id, state.created_at, state.version,
                                    state.comment_count, state.closed, state.title, state.url],
        sorted(request.args.items(multi=True)),
        current_language(),  # from lang=, else Accept-Language, else the site's language
        [current_app.config[name] for name in PAGE_SETTINGS],
    ]


def _page_digest(site: Site, state: Thread | ThreadState | None, now: datetime) -> str:
    """``_page_parts`` digested, once per request (the page's tag and its shared list's key
    are both made from it)."""
    thread = None if state is None else (state.id, state.created_at, state.version,
                                         state.comment_count, state.closed, state.title,
                                         state.url)
    memo_key = (repr([getattr(site, key) for key in _SITE_COLUMNS]), thread, minute_of(now))
    memo = g.get("page_digest")
    if memo is None or memo[0] != memo_key:
        memo = g.page_digest = (memo_key, _digest(_page_parts(site, state, now)))
    return memo[1]


def page_etag(site: Site, state: ThreadState | None, actor: Actor, now: datetime) -> str:
    """The tag of the thread page as this request renders it (``state`` None: no thread yet).

    It holds everything the HTML is built from that may change between two requests: what
    ``_page_parts`` names, the viewer (and the signed-in user's name and role), the session's
    contents (the CSRF token, the guest's remembered name and email) and the Authorization
    header. The session is digested by its contents, not its cookie: a "remember me" cookie is
    signed again on every answer while holding the same session."""
    user = actor.user
    parts = [
        _page_digest(site, state, now),
        viewer_key(actor),
        None if user is None else [user.name, user.email_key, can(actor, "moderate", site)],
        _digest(dict(session)),
        _digest(request.headers.get("Authorization", "")),
    ]
    return _digest(parts)[:24]


def shared_list_key(site: Site, thread: Thread, now: datetime) -> str:
    """The key of the thread page's comment list as every reader without an account or guest
    key sees it, built in this minute: the page's own parts without the viewer or session."""
    return "list:" + _digest(["list", _page_digest(site, thread, now)])
