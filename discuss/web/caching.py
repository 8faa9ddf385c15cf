"""Conditional GETs for thread listings: a weak ETag per (thread state, listing, viewer).

The ETag is computed from the thread row alone (``version`` is bumped by every visible change,
``comment_count`` by every approval), so a 304 costs the two look-ups that name the thread and
never loads a comment. The body differs per viewer (their own held comments, ``mine``, their
votes), so the viewer is part of the tag and such answers are ``private``.

Readers without a guest key or account (most of a viral story's traffic) all get the same body,
so each process keeps the last bodies it built for them, keyed by that tag. The key comes from
the thread row read in this request, so a cached body is never older than the thread's state
when the request began, in whichever process and for whichever writer.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Response, current_app, request

from discuss.comments import ThreadState
from discuss.models import Thread
from discuss.permissions import Actor
from discuss.web.compression import LEVEL, MIN_SIZE, accepts_gzip

# Bump when the JSON or HTML shape of a thread changes, so old tags stop matching.
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


def cache_headers(response: Response, etag: str, actor: Actor) -> Response:
    """ETag, revalidate-every-time caching, private unless the answer is the same for all."""
    response.set_etag(etag, weak=True)
    scope = "public" if viewer_key(actor) == "anyone" else "private"
    response.headers["Cache-Control"] = f"{scope}, no-cache"
    for header in VARY:
        response.vary.add(header)
    return response


def not_modified(etag: str, actor: Actor) -> Response | None:
    """A 304 when the client already holds this listing, else None."""
    if not request.if_none_match.contains_weak(etag):
        return None
    return cache_headers(Response(status=304), etag, actor)


class BodyCache:
    """A small per-process LRU of response bodies, bounded by total bytes."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size -= len(old) if old is not None else 0
            self._items[key] = body
            self.size += len(body)
            while self.size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)


def _bodies() -> BodyCache:
    """This app's cache (one per app, so apps sharing a process never share bodies)."""
    cache = current_app.extensions.get("discuss.bodies")
    if cache is None:
        cache = current_app.extensions.setdefault("discuss.bodies", BodyCache())
    return cache


def json_for_viewer(etag: str, actor: Actor, build: Callable[[], object]) -> Response:
    """The JSON body for this tag: from the cache for anyone-viewers, else ``build()``.

    The cache keeps the gzip-compressed body beside the plain one, so a popular thread is
    compressed once per change rather than once per reader.
    """
    shared = viewer_key(actor) == "anyone"
    cache = _bodies()
    gzipped = accepts_gzip()
    cache_key = etag + (".gz" if gzipped else "")
    body = cache.get(cache_key) if shared else None
    if body is None:
        body = json.dumps(build(), separators=(",", ":"), ensure_ascii=False).encode()
        if gzipped and len(body) >= MIN_SIZE:
            body = gzip.compress(body, compresslevel=LEVEL, mtime=0)
        else:
            gzipped = False
            cache_key = etag
        if shared:
            cache.put(cache_key, body)
    response = Response(body, mimetype="application/json")
    response.vary.add("Accept-Encoding")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return cache_headers(response, etag, actor)
