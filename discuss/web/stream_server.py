"""The stream server: ``GET /api/v1/threads/stream`` from one asyncio process (Starlette under
uvicorn), so that a thousand open streams hold no gunicorn worker and no database connection.

deploy/gunicorn.conf.py starts it beside the workers (``python -m discuss.web.stream_server
--bind 127.0.0.1:8001``) and nginx sends the stream URL to it (docs/live.md). It builds the same
Flask app for its reads: checking the request, and what a reconnecting stream missed, each in a
worker thread. New messages come from Redis pub/sub (DISCUSS_REDIS_URL), or, without Redis, from
reading the events table once a second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis
import uvicorn
from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from discuss import create_app
from discuss.errors import DiscussError
from discuss.extensions import db
from discuss.models import Comment, Event
from discuss.web import live
from discuss.web.errors import error_response

log = logging.getLogger(__name__)

STREAM_PATH = "/api/v1/threads/stream"
POLL_SECONDS = 1.0
INBOX_SIZE = 256  # a stream this far behind is closed; the browser reconnects and catches up


class Streams:
    """The open streams of this process, per thread, and what feeds them."""

    def __init__(self, flask_app: Flask, keepalive: float = live.KEEPALIVE_SECONDS) -> None:
        self.flask_app = flask_app
        self.keepalive = keepalive
        self.inboxes: dict[int, set[asyncio.Queue]] = defaultdict(set)

    # ------------------------------------------------------------ fan-out

    def subscribe(self, thread_id: int) -> asyncio.Queue:
        inbox: asyncio.Queue = asyncio.Queue(INBOX_SIZE)
        self.inboxes[thread_id].add(inbox)
        return inbox

    def unsubscribe(self, thread_id: int, inbox: asyncio.Queue) -> None:
        waiting = self.inboxes.get(thread_id)
        if waiting is not None:
            waiting.discard(inbox)
            if not waiting:
                del self.inboxes[thread_id]

    def deliver(self, sent: Iterable[Mapping[str, Any]]) -> None:
        for message in sent:
            for inbox in list(self.inboxes.get(message["thread"], ())):
                try:
                    inbox.put_nowait(message)
                except asyncio.QueueFull:
                    while not inbox.empty():
                        inbox.get_nowait()
                    inbox.put_nowait(None)  # ends the stream

    # ------------------------------------------------------------ feeding

    async def follow_redis(self, url: str) -> None:
        """Deliver what the app processes publish, for as long as the server runs."""
        while True:
            client = aioredis.Redis.from_url(url)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(live.channel(url))
                    async for item in pubsub.listen():
                        self.deliver(json.loads(item["data"]))
            except (RedisError, OSError, ValueError):
                log.warning("stream server: Redis subscription lost, retrying", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                await client.aclose()

    def _with_app(self, work, *args):
        with self.flask_app.app_context():
            try:
                return work(*args)
            finally:
                db.session.remove()

    def _latest_id(self) -> int:
        return db.session.scalar(select(func.max(Event.id))) or 0

    def _public_after(self, after_id: int) -> tuple[int, list[dict[str, Any]]]:
        found = list(db.session.scalars(
            select(Event).options(joinedload(Event.comment).joinedload(Comment.author))
            .where(Event.id > after_id).order_by(Event.id).limit(500)))
        if not found:
            return after_id, []
        wanted = [e for e in found if e.public and e.thread_id in self.inboxes]
        return found[-1].id, live.messages(wanted)

    async def poll_events(self) -> None:
        """Without Redis: read the events table once a second (one query for the process)."""
        last = None
        while True:
            try:
                if last is None:
                    last = await asyncio.to_thread(self._with_app, self._latest_id)
                else:
                    last, sent = await asyncio.to_thread(self._with_app, self._public_after,
                                                         last)
                    self.deliver(sent)
            except SQLAlchemyError:
                log.warning("stream server: reading events failed, retrying", exc_info=True)
            await asyncio.sleep(POLL_SECONDS)

    # ------------------------------------------------------------ one stream

    def _check(self, query_string: str, headers: Mapping[str, str]
               ) -> tuple[int, int] | Response:
        with self.flask_app.test_request_context(STREAM_PATH, query_string=query_string,
                                                 headers=dict(headers)):
            try:
                return live.check_stream_request()
            except DiscussError as exc:
                answer = error_response(exc.status, exc.code, exc.message, exc.fields)
                return Response(answer.get_data(), answer.status_code,
                                media_type=answer.mimetype)

    async def _follow(self, thread_id: int, inbox: asyncio.Queue,
                      backlog: list[dict[str, Any]], last_id: int) -> AsyncIterator[str]:
        try:
            yield f"retry: {live.RETRY_MILLISECONDS}\n\n"
            for message in backlog:
                last_id = max(last_id, message["id"])
                yield live.sse(message)
            while True:
                try:
                    message = await asyncio.wait_for(inbox.get(), self.keepalive)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if message is None:
                    return
                if message["id"] > last_id:
                    last_id = message["id"]
                    yield live.sse(message)
        finally:
            self.unsubscribe(thread_id, inbox)

    async def stream(self, request: Request) -> Response:
        checked = await asyncio.to_thread(self._with_app, self._check,
                                          request.url.query, request.headers)
        if isinstance(checked, Response):
            return checked
        thread_id, last_id = checked
        inbox = self.subscribe(thread_id)  # listen first, then read what was missed
        try:
            backlog = await asyncio.to_thread(self._with_app, live.missed, thread_id, last_id)
        except BaseException:
            self.unsubscribe(thread_id, inbox)
            raise
        return StreamingResponse(self._follow(thread_id, inbox, backlog, last_id),
                                 media_type="text/event-stream", headers=live.STREAM_HEADERS)


def make_app(flask_app: Flask | None = None, *, keepalive: float = live.KEEPALIVE_SECONDS
             ) -> Starlette:
    """The ASGI app: the stream URL, and a feeder task for as long as it runs."""
    flask_app = flask_app or create_app()
    streams = Streams(flask_app, keepalive)
    redis_url = flask_app.config.get("DISCUSS_REDIS_URL")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        feeder = asyncio.create_task(streams.follow_redis(redis_url) if redis_url
                                     else streams.poll_events())
        try:
            yield
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder

    async def healthz(request: Request) -> Response:
        return Response('{"status":"ok"}', media_type="application/json")

    app = Starlette(routes=[Route(STREAM_PATH, streams.stream, methods=["GET"]),
                            Route("/healthz", healthz, methods=["GET"])],
                    lifespan=lifespan)
    app.state.streams = streams
    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m discuss.web.stream_server --bind HOST:PORT``."""
    parser = argparse.ArgumentParser(description="discuss's live-update stream server")
    parser.add_argument("--bind", default="127.0.0.1:8001", help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    uvicorn.run(make_app(), host=host or "127.0.0.1", port=int(port), log_level="info",
                proxy_headers=True, forwarded_allow_ips="127.0.0.1", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
