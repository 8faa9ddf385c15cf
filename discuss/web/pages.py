"""Service pages that belong to no area: generated avatars and the health check."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort

from discuss.avatars import identicon_svg

bp = Blueprint("pages", __name__)

SEED_RE = re.compile(r"^[0-9a-f]{8,64}$")


@bp.get("/avatars/<seed>.svg")
def avatar(seed: str) -> Response:
    """GET /avatars/<seed>.svg: a generated identicon, cached for a year."""
    if not SEED_RE.match(seed):
        abort(404)
    response = Response(identicon_svg(seed), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
