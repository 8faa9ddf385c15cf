"""Static files with content hashes: ``asset_url('discuss.css')`` → /static/discuss.css?v=<hash>.

A versioned URL changes whenever the file does, so browsers and proxies may keep it for a year
(``Cache-Control: public, max-age=31536000, immutable``); unversioned requests keep Flask's
default revalidation. Templates call ``asset_url(name)``; embed.js and count.js keep stable
URLs for publishers' pages.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for

LONG_CACHE = "public, max-age=31536000, immutable"
_hashes: dict[tuple[str, float], str] = {}


def content_hash(name: str) -> str:
    """The first 12 hex digits of the file's SHA-256 (kept per modification time)."""
    path = Path(current_app.static_folder or "") / name
    mtime = path.stat().st_mtime
    digest = _hashes.get((str(path), mtime))
    if digest is None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        _hashes[(str(path), mtime)] = digest
    return digest


def asset_url(name: str) -> str:
    """URL of a static file that changes whenever its content does."""
    return url_for("static", filename=name, v=content_hash(name))


def _long_cache(response: Response) -> Response:
    if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
        response.headers["Cache-Control"] = LONG_CACHE
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset_url"] = asset_url
    app.after_request(_long_cache)
