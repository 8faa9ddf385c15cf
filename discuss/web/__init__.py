"""The web edge: blueprints, the per-request Actor, security headers and error answers."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from discuss.web import api, errors, pages, security

    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
