"""gzip for text responses (JSON, HTML, CSS, JS, SVG) when the client accepts it.

Twenty lines of the standard library instead of a dependency: flask-compress would add Brotli
and zstd bindings for no gain behind nginx, which compresses too (see deploy/nginx.conf). Level
5 is measured by `make bench` to cost little CPU; bodies under 500 bytes are left alone, since
gzip would barely shrink them. ETags stay weak (W/"…"), which is what RFC 9110 §8.8.1 allows for
content-coding variants.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

MIN_SIZE = 500
LEVEL = 5
COMPRESSIBLE = ("application/json", "text/", "application/javascript", "image/svg+xml")


def accepts_gzip() -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _compress(response: Response) -> Response:
    if (
        response.status_code < 200 or response.status_code in (204, 206, 304)
        or response.direct_passthrough or response.is_streamed
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(COMPRESSIBLE)
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_compress)
