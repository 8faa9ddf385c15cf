"""A request id on every log line and response: honour X-Request-ID from the proxy, else make one.

nginx (``proxy_set_header X-Request-ID $request_id``) or any load balancer can pass its id in, so
one id follows a request through the proxy's log, gunicorn's access log and ours.
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
# Accept the proxy's id only when it is short and plain, so it cannot forge log lines.
INCOMING_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def request_id() -> str:
    """This request's id ("-" outside a request), made when first asked for: by a log line or,
    at the latest, by the response header."""
    if not has_request_context():
        return "-"
    rid = g.get("request_id")
    if rid is None:
        # The WSGI environ key of X-Request-ID: read directly, it is cheaper than the headers.
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if INCOMING_RE.match(incoming) else secrets.token_hex(8)
        g.request_id = rid
    return rid


def _install_record_factory() -> None:
    """Give every log record a ``request_id`` attribute, whichever logger or handler emits it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _use_format() -> None:
    formatter = logging.Formatter(LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def _add_header(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    return response


def init_app(app: Flask) -> None:
    """Give every request an id in its log lines and its X-Request-ID answer header."""
    _install_record_factory()
    _use_format()
    app.after_request(_add_header)
