"""gzip for text responses (JSON, HTML, CSS, JS, SVG) when the client accepts it.

Twenty lines of the standard library instead of a dependency: flask-compress would add Brotli
and zstd bindings for no gain behind nginx, which compresses too (see deploy/nginx.conf). Level
5 is measured by `make bench` to cost little CPU; bodies under 500 bytes are left alone, since
gzip would barely shrink them. ETags stay weak (W/"…"), which is what RFC 9110 §8.8.1 allows for
content-coding variants.
"""

from __future__ import annotations

import gzip
import re

from flask import Flask, Response, request

MIN_SIZE = 500
LEVEL = 5
COMPRESSIBLE = ("application/json", "text/", "application/javascript", "image/svg+xml")
# A Vary header as werkzeug writes it: header names joined by ", ".
_PLAIN_VARY = re.compile(r"^[A-Za-z0-9-]+(?:, [A-Za-z0-9-]+)*$")


def accepts_gzip() -> bool:
    # The WSGI environ key of Accept-Encoding: read directly, it is cheaper than the headers.
    """Whether the client said it takes gzip."""
    for part in request.environ.get("HTTP_ACCEPT_ENCODING", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def add_vary(response: Response, *names: str) -> None:
    """``response.vary.update(names)``, the same header for less: werkzeug parses and rebuilds
    the Vary header through its HeaderSet; a header absent, or a plain list of names, needs
    neither."""
    current = next((value for key, value in response.headers.items()
                    if key.lower() == "vary"), None)
    if current is not None and not _PLAIN_VARY.match(current):
        response.vary.update(names)
        return
    present = current.lower().split(", ") if current else []
    added = [name for name in dict.fromkeys(names) if name.lower() not in present]
    if not added:
        return
    value = ", ".join(added)
    if current is None:
        response.headers.add("Vary", value)
    else:
        response.headers["Vary"] = f"{current}, {value}"


def _compress(response: Response) -> Response:
    if (
        response.status_code < 200 or response.status_code in (204, 206, 304)
        or response.direct_passthrough or response.is_streamed
    ):
        return response
    # One pass over the headers: a lookup of an absent header raises and catches a KeyError.
    present: dict[str, str] = {}
    for key, value in response.headers.items():
        present.setdefault(key.lower(), value)
    mimetype = present.get("content-type", "").partition(";")[0].strip()
    if "content-encoding" in present or not mimetype.startswith(COMPRESSIBLE):
        return response
    add_vary(response, "Accept-Encoding")
    if not accepts_gzip():
        return response
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def init_app(app: Flask) -> None:
    """Compress text answers for clients that accept gzip."""
    app.after_request(_compress)
