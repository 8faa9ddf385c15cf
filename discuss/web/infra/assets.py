"""Static files as served: minified, gzip-compressed once, with content hashes in their URLs.

Scripts and stylesheets stay readable in ``discuss/static``; the first request for one (in each
process, and again after the file changes on disk) minifies it with rjsmin or rcssmin, gzips it
at the highest level and keeps both in memory, so no request pays for either. Minifying only
removes comments and white space (names are kept), so error messages stay readable without
source maps; ``/*! … */`` comments, the usual way to carry a licence, are kept.

``asset_url('discuss.css')`` → /static/discuss.css?v=<hash of the served bytes>. A versioned URL
changes whenever what is served does, so browsers and proxies may keep it for a year
(``Cache-Control: public, max-age=31536000, immutable``); other requests revalidate by ETag.
embed.js and count.js keep stable URLs for publishers' pages (see ``web/demo.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin
from flask import Flask, Response, current_app, request, url_for
from werkzeug.security import safe_join

from discuss.web.infra.compression import accepts_gzip, add_vary

LONG_CACHE = "public, max-age=31536000, immutable"
MIMETYPES = {".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    """One static file as served: the minified body, its gzip form and their version."""

    body: bytes
    gzipped: bytes
    digest: str
    mimetype: str


# static folder/name → (the file's mtime, when it was looked at, what is served)
_built: dict[str, tuple[float, float, Asset]] = {}
RECHECK_SECONDS = 1.0
WORDS_MARK = b'/*@words*/""'
# app.extensions key: () -> the version of embed.js's words (discuss.web.language)
WORDS_VERSION_PROVIDER = "discuss.embed_words_version"


def minify(name: str, source: bytes) -> bytes:
    """Comments and white space out of a script or stylesheet; licence comments (/*!) stay."""
    if name.endswith(".js"):
        return rjsmin.jsmin(source, keep_bang_comments=True)
    return rcssmin.cssmin(source, keep_bang_comments=True)


def build_asset(name: str, source: bytes) -> Asset:
    """A static file as served: minified, gzipped once, with its content hash."""
    body = minify(name, source)
    return Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        digest=hashlib.sha256(body).hexdigest()[:12],
        mimetype=MIMETYPES[Path(name).suffix],
    )


def served_asset(name: str) -> Asset:
    """The built form of static/<name> (a .js or .css file), rebuilt when the file changes.

    A page names a dozen assets by their hash: the file is looked at again at most once a
    second (a deploy or an edit shows within that), not on every mention."""
    key = f"{current_app.static_folder}/{name}"
    cached = _built.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[1] < RECHECK_SECONDS:
        return cached[2]
    path = Path(current_app.static_folder or "") / name
    mtime = path.stat().st_mtime
    if cached is None or cached[0] != mtime:
        asset = build_asset(name, _with_texts(path.read_bytes()))
    else:
        asset = cached[2]
    _built[key] = (mtime, now, asset)
    return asset


def _with_texts(source: bytes) -> bytes:
    """A script that says ``/*@words*/""`` gets there the version of the words it fetches
    (embed.js: its placeholder's words in the page's language, cached for a year under it),
    from the app's WORDS_VERSION_PROVIDER, which discuss.web.language installs."""
    provider = current_app.extensions.get(WORDS_VERSION_PROVIDER)
    if WORDS_MARK not in source or provider is None:
        return source
    return source.replace(WORDS_MARK, json.dumps(provider()).encode())


def content_hash(name: str) -> str:
    """The first 12 hex digits of the SHA-256 of what is served for static/<name>."""
    return served_asset(name).digest


def asset_url(name: str) -> str:
    """URL of a static file that changes whenever its content does."""
    return url_for("static", filename=name, v=content_hash(name))


def asset_response(name: str) -> Response:
    """static/<name> minified, gzip-compressed for browsers that accept it; ETag revalidation."""
    asset = served_asset(name)
    compressed = accepts_gzip()
    response = Response(asset.gzipped if compressed else asset.body, mimetype=asset.mimetype)
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    add_vary(response, "Accept-Encoding")
    # One weak tag for both codings of the same bytes (RFC 9110 §8.8.1).
    response.set_etag(asset.digest, weak=True)
    response.headers["Cache-Control"] = "no-cache"
    return conditional(response)


# What makes a GET conditional (Range is not offered: no Accept-Ranges).
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
               "HTTP_IF_UNMODIFIED_SINCE")


def conditional(response: Response) -> Response:
    """``response.make_conditional(request)`` (304, 412) for a request that sends a condition.
    Others are answered as they are: werkzeug would parse the absent headers and add a Date
    header, which the WSGI server writes anyway."""
    environ = request.environ
    if any(name in environ for name in _CONDITIONS):
        return response.make_conditional(request)
    return response


def _is_built(filename: str) -> bool:
    """Whether static/<filename> is a script or stylesheet that exists (else Flask answers)."""
    if Path(filename).suffix not in MIMETYPES:
        return False
    path = safe_join(current_app.static_folder or "", filename)
    return path is not None and Path(path).is_file()


def _static_view(send_static_file: Callable[[str], Response]) -> Callable[[str], Response]:
    def static(filename: str) -> Response:
        if not _is_built(filename):
            return send_static_file(filename=filename)  # Flask's view takes keywords
        response = asset_response(filename)
        # Only the current version is pinned: during a rolling deploy, a server still holding
        # the old file must not let a year of caching bind it to the new URL.
        if request.args.get("v") == served_asset(filename).digest:
            response.headers["Cache-Control"] = LONG_CACHE
        return response

    return static


def favicon() -> Response:
    """The service's icon at the address every browser asks for (an SVG; no 404 in consoles)."""
    path = Path(current_app.static_folder or "") / "favicon.svg"
    response = Response(path.read_bytes(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def init_app(app: Flask) -> None:
    """Serve the built assets and give templates asset_url()."""
    app.jinja_env.globals["asset_url"] = asset_url
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.view_functions["static"] = _static_view(app.view_functions["static"])
