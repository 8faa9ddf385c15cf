"""Live updates: comments that become public, sent to open Server-Sent Events streams.

``dispatch`` turns a commit's public events into messages (``messages``) and publishes them
after the commit (``publish``): through Redis pub/sub when DISCUSS_REDIS_URL is set (every
process, the stream server included, hears them), else to the streams of this process.

``GET /api/v1/threads/stream?site=S&key=K`` here is the plain Flask stream, one thread per open
stream: right for ``make run``. In production the stream server (``discuss.stream_server``, an
asyncio process) answers the same URL without holding a worker (docs/live.md).

A message: ``{"id": event id, "thread": thread id, "comment": comment JSON without replies}``;
on the wire ``id: <event id>``, ``event: comment``, ``data: <comment JSON>``. A stream that
reconnects with ``Last-Event-ID`` (or ``?last_event_id=``) first gets what it missed.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Response, current_app, has_request_context, request

from discuss import events, reading
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Event
from discuss.web.present import comment_json

log = logging.getLogger(__name__)

bp = Blueprint("live", __name__, url_prefix="/api/v1")

KEEPALIVE_SECONDS = 25.0  # below common proxies' 60 s idle timeouts
RETRY_MILLISECONDS = 3000  # how soon a browser reconnects after the stream ends
STREAM_HEADERS = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}
MAX_EVENT_ID = 2**63 - 1


# ---------------------------------------------------------------- messages


def _present(recorded: list[Event]) -> list[dict[str, Any]]:
    out = []
    for event in recorded:
        if not events.is_public(event.comment):
            continue  # held or deleted again later in the same transaction
        data = comment_json(event.comment)
        del data["replies"]
        out.append({"id": event.id, "thread": event.thread_id, "comment": data})
    return out


def messages(recorded: list[Event]) -> list[dict[str, Any]]:
    """The live messages of public events, as every reader sees the comment now (each event's
    ``comment`` loaded: ``events.take_recorded`` or ``public_since`` did)."""
    if not recorded:
        return []
    if has_request_context():
        return _present(recorded)
    # A command or a stream server: the comment's links are built as in any request.
    with current_app.test_request_context("/"):
        return _present(recorded)


def sse(message: Mapping[str, Any]) -> str:
    """One message as a Server-Sent Event."""
    data = json.dumps(message["comment"], separators=(",", ":"), ensure_ascii=False)
    return f"id: {message['id']}\nevent: comment\ndata: {data}\n\n"


def parse_last_event_id(header: str | None, query: str | None) -> int | None:
    """The id a reconnecting stream last saw (header first, then ``?last_event_id=``); None
    for a new stream. Anything but a whole number is a 400."""
    raw = header if header not in (None, "") else query
    if raw in (None, ""):
        return None
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_EVENT_ID:
        raise InvalidInput("Last-Event-ID must be an event id.", {"last_event_id": "invalid"})
    return int(raw)


# ---------------------------------------------------------------- in-process fan-out


class Hub:
    """Queues of the streams open in this process, per thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[int, set[queue.SimpleQueue]] = defaultdict(set)

    def subscribe(self, thread_id: int) -> queue.SimpleQueue:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._queues[thread_id].add(inbox)
        return inbox

    def unsubscribe(self, thread_id: int, inbox: queue.SimpleQueue) -> None:
        with self._lock:
            waiting = self._queues.get(thread_id)
            if waiting is not None:
                waiting.discard(inbox)
                if not waiting:
                    del self._queues[thread_id]

    def deliver(self, sent: Iterable[Mapping[str, Any]]) -> None:
        for message in sent:
            with self._lock:
                inboxes = list(self._queues.get(message["thread"], ()))
            for inbox in inboxes:
                inbox.put(message)


hub = Hub()


# ---------------------------------------------------------------- between processes


def channel(redis_url: str) -> str:
    """The pub/sub channel of one installation (pub/sub ignores Redis database numbers, so the
    database's number is part of the name)."""
    number = urlsplit(redis_url).path.strip("/") or "0"
    return f"discuss:live:{number}"


_clients: dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5,
                                                      socket_connect_timeout=5)
    return client


def publish(config: Mapping[str, Any], sent: list[dict[str, Any]]) -> None:
    """Send committed messages to every open stream (never raises: a live update is a bonus,
    a reconnecting stream catches up from the database)."""
    url = config.get("DISCUSS_REDIS_URL")
    if not url:
        hub.deliver(sent)
        return
    try:
        _client(url).publish(channel(url), json.dumps(sent, separators=(",", ":")))
    except redis.RedisError:
        log.warning("live update not published (Redis unreachable); streams catch up on "
                    "reconnect", exc_info=True)


_listening: set[str] = set()
_listening_lock = threading.Lock()


def _listen(url: str) -> None:
    while True:
        try:
            pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel(url))
            for item in pubsub.listen():
                hub.deliver(json.loads(item["data"]))
        except (redis.RedisError, ValueError):
            log.warning("live updates: Redis subscription lost, retrying", exc_info=True)
            threading.Event().wait(1.0)


def _ensure_listening(url: str | None) -> None:
    # With Redis, one thread per process hears the channel and feeds this process's streams.
    if not url:
        return
    with _listening_lock:
        if url in _listening:
            return
        _listening.add(url)
    threading.Thread(target=_listen, args=(url,), name="discuss-live", daemon=True).start()


# ---------------------------------------------------------------- the plain Flask stream


def _follow(thread_id: int, inbox: queue.SimpleQueue, backlog: list[dict[str, Any]],
            last_id: int, keepalive: float) -> Iterator[str]:
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        for message in backlog:
            last_id = max(last_id, message["id"])
            yield sse(message)
        while True:
            try:
                message = inbox.get(timeout=keepalive)
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            if message["id"] > last_id:
                last_id = message["id"]
                yield sse(message)
    finally:
        hub.unsubscribe(thread_id, inbox)


def check_stream_request() -> tuple[int, int]:
    """(thread id, event id to follow from) of the stream the current request asks for: the
    Last-Event-ID of a reconnecting stream, else the thread's latest event (a new stream gets
    what happens from now on). NotFound for an unknown site or thread, InvalidInput for a bad
    Last-Event-ID."""
    last_id = parse_last_event_id(request.headers.get("Last-Event-ID"),
                                  request.args.get("last_event_id"))
    state = reading.thread_state(request.args.get("site"), request.args.get("key"))
    return state.id, events.latest_id(state.id) if last_id is None else last_id


def missed(thread_id: int, last_id: int) -> list[dict[str, Any]]:
    """The messages of the thread after ``last_id``, oldest first (read after subscribing, so
    that nothing committed in between is lost)."""
    return messages(events.public_since(thread_id, last_id))


@bp.get("/threads/stream")
def stream() -> Response:
    """GET /threads/stream?site=S&key=K: the thread's comments as they become public (SSE)."""
    thread_id, last_id = check_stream_request()
    _ensure_listening(current_app.config.get("DISCUSS_REDIS_URL"))
    # Listen first, then read what was missed: nothing committed in between is lost (the
    # stream skips ids it already sent).
    inbox = hub.subscribe(thread_id)
    try:
        backlog = missed(thread_id, last_id)
    except BaseException:
        hub.unsubscribe(thread_id, inbox)
        raise
    db.session.remove()  # the stream holds no database connection while it waits
    keepalive = float(current_app.config.get("LIVE_KEEPALIVE_SECONDS", KEEPALIVE_SECONDS))
    return Response(_follow(thread_id, inbox, backlog, last_id, keepalive),
                    mimetype="text/event-stream", headers=STREAM_HEADERS)
