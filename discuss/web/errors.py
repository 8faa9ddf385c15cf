"""Error answers: the spec's JSON for the API, a readable page elsewhere, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from discuss.errors import DiscussError
from discuss.extensions import db, release_reader
from discuss.i18n import _

log = logging.getLogger(__name__)

_CODES = {
    400: "invalid", 401: "not_signed_in", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "invalid",
    429: "rate_limited", 500: "server_error", 503: "unavailable",
}


def rollback_quietly() -> None:
    """Roll back the request's transaction; if the database is gone, drop the connection."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.warning("rollback failed; discarding the connection", exc_info=True)
        db.session().invalidate()


def _close_session(exc: BaseException | None) -> None:
    # Runs before Flask-SQLAlchemy's own teardown. Its ROLLBACK on a connection the database
    # has just dropped (a restart) would raise after the response was built, and the WSGI
    # server would answer 500 instead of the response; invalidate the connection instead.
    try:
        db.session.remove()
    except SQLAlchemyError:
        log.warning("closing the session failed; discarding the connection", exc_info=True)
        db.session().invalidate()
        db.session.registry.clear()


def wants_json() -> bool:
    """Whether this request is answered in JSON (the API, or a JSON request)."""
    return request.path.startswith("/api/") or request.is_json


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   retry_after: int | None = None) -> Response:
    """An error as the SPEC's JSON or as a readable page, with its status."""
    if wants_json():
        error: dict = {"code": code, "message": message}
        if fields:
            error["fields"] = fields
        response = jsonify({"error": error})
    else:
        response = Response(render_template("error.html", status=status, message=message),
                            mimetype="text/html")
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _discuss_error(exc: DiscussError) -> Response:
    rollback_quietly()
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.retry_after)


def _csrf_error(exc: CSRFError) -> Response:
    return error_response(400, "csrf", _("The form expired or did not come from this service. "
                          "Reload the page and try again."))


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    retry_after = None
    if status == 429:
        limit = getattr(exc, "limit", None)
        retry_after = 60
        if limit is not None:
            retry_after = int(limit.limit.get_expiry())
        message = _("Too many requests. Please wait a little and try again.")
    elif status == 413:
        message = _("The request is too large.")
    elif status == 404 and request.path.startswith("/api/"):
        # Routing found nothing (a path that matches with another method is a 405 instead).
        return error_response(404, "unknown_endpoint", _("No such API endpoint."))
    elif status == 404:
        message = _("Not found.")
    elif status == 405:
        message = _("That method is not allowed here.")
    else:
        message = _("The request could not be handled.") if status < 500 else \
            _("Something went wrong on our side.")
    response = error_response(status, _CODES.get(status, "error"), message,
                              retry_after=retry_after)
    if status == 405 and exc.response is None and hasattr(exc, "valid_methods"):
        response.headers["Allow"] = ", ".join(exc.valid_methods or [])
    return response


def _out_of_range(exc: Exception) -> Response:
    # A number the database cannot hold reached a query (an id past discuss.ids.MAX_ID that no check
    # caught): bad input, not a server error. SQLite's driver raises OverflowError, PostgreSQL
    # a DataError ("value out of range").
    rollback_quietly()
    log.warning("out-of-range value on %s %s: %s", request.method, request.path,
                type(exc).__name__)
    return error_response(400, "invalid", "A number in the request is out of range.")


def _database_unavailable(exc: Exception) -> Response:
    rollback_quietly()
    log.warning("database unavailable: %s", type(exc).__name__)
    return error_response(503, "unavailable",
                          _("The service is briefly unavailable. Please try again."),
                          retry_after=5)


def _unexpected(exc: Exception) -> Response:
    rollback_quietly()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "server_error", _("Something went wrong on our side."))


def init_app(app: Flask) -> None:
    """Answer every error the same way: domain errors, HTTP errors, a database outage."""
    app.teardown_appcontext(_close_session)
    app.teardown_request(release_reader)
    app.register_error_handler(DiscussError, _discuss_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(PoolTimeout, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)
