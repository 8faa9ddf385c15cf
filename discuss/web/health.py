"""GET /healthz: 200 when the database answers a trivial query, 503 when it does not.

Load balancers and systemd watchdogs poll it; it never touches Redis (rate limits fall back to
memory when Redis is gone, so the service is still healthy) and never caches.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from discuss.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """GET /healthz: 200 when the database answers, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except (OperationalError, DBAPIError, PoolTimeout) as exc:
        db.session.rollback()
        log.warning("health check: database unavailable (%s)", type(exc).__name__)
        response, status = jsonify({"status": "unavailable", "database": "down"}), 503
    else:
        response, status = jsonify({"status": "ok"}), 200
    response.headers["Cache-Control"] = "no-store"
    return response, status
